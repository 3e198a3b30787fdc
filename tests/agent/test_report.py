"""The eval report draws the evaluated model's training curves from its run's metrics."""

import re
import xml.etree.ElementTree as ET

from screenpilot.agent.report import write_report
from screenpilot.model.train import RunLog


def results(model=None) -> dict:
    task = {"success_rate": 0.5, "ci95": [0.2, 0.8], "mean_steps": 2.0, "mean_action_ms": 9.0}
    return {"tasks": {"miniwob.click-test": task}, "mean_success": 0.5, "model": model,
            "label": f"model {model}" if model else "random", "seeds": {"offset": 1_000_000, "count": 4},
            "wall_s": 1.0, "workers": 1, "episodes": []}  # fmt: skip


def charts(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r'<svg class="chart".*?</svg>', page)]


def test_the_report_shows_the_training_curves_of_the_evaluated_run(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    log = RunLog(run, enabled=True, tensorboard=False)  # the trainer's own writer
    for step in range(10, 110, 10):
        log.scalars(step, "train", {"loss": 5.0 / step, "lr": 1e-3})
        if step % 50 == 0:
            log.scalars(step, "val", {"action_acc": step / 100, "click_acc": 0.5, "samples": 8})
            log.scalars(step, "train_eval", {"action_acc": step / 90, "samples": 8})
    log.close()
    # The report finds the run from any of the paths `screenpilot eval --model` takes.
    for model in (run, run / "model", run / "checkpoints" / "step_000100"):
        out = tmp_path / "report"
        out.mkdir(exist_ok=True)
        page = write_report(out, results(str(model))).read_text()
        loss, accuracy = charts(page)  # well-formed SVG, inline in the page
        (line,) = loss.iter("polyline")
        assert len(line.get("points").split()) == 10  # one point per logged step
        lines = list(accuracy.iter("polyline"))
        assert [len(p.get("points").split()) for p in lines] == [
            2,
            2,
            2,
        ]  # val action, click; train
        assert "val action" in page and "train loss" in page


def test_a_baseline_or_a_run_without_metrics_has_no_curves(tmp_path):
    assert charts(write_report(tmp_path, results()).read_text()) == []
    (tmp_path / "run" / "model").mkdir(parents=True)
    page = write_report(tmp_path, results(str(tmp_path / "run" / "model"))).read_text()
    assert charts(page) == [] and "<h2>Training</h2>" not in page
