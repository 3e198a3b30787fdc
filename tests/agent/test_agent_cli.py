"""`screenpilot run` and `screenpilot eval` end to end: real Chromium, real videos, and a
small model trained inside the test."""

import json
import os
import subprocess

import av
import pytest

from conftest import screenpilot

pytestmark = pytest.mark.integration


def frames_in(path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small model trained here on expert demos of click-test (seeds 0..29)."""
    from screenpilot.model.train import train
    from screenpilot.model.train_config import TrainConfig
    from screenpilot.recorder.expert import record_experts

    root = tmp_path_factory.mktemp("model")
    record_experts(["miniwob.click-test"], 30, root / "demos", workers=1, progress=False)
    config = TrainConfig(
        data=[str(root / "demos")], out=str(root / "run"), steps=60, batch_size=16,
        device="cpu", val_every=60, checkpoint_every=60, tensorboard=False,
        model={"hidden_size": 64, "num_layers": 2},
    )  # fmt: skip
    train(config)
    return root / "run"


def test_run_prints_each_step_and_films_it(tmp_path):
    out = screenpilot("run", "--agent", "expert", "--env", "miniwob.enter-text", "--seed", 4,
                      "--video", tmp_path / "run.mp4")  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("step 1: click ") and lines[0].endswith("ms)")
    assert lines[1].startswith('step 2: type "')
    assert "outcome: success" in out.stdout
    assert frames_in(tmp_path / "run.mp4") == 4  # 3 steps, then the screen left behind


def test_run_a_model_on_a_sandbox_task(tiny_model, tmp_path):
    out = screenpilot("run", "--model", tiny_model, "--env", "miniwob.click-test", "--seed", 123,
                      "--max-steps", 3, "--video", tmp_path / "m.mp4")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("step 1: ") and "outcome:" in out.stdout
    assert frames_in(tmp_path / "m.mp4") >= 2


def test_run_on_any_page(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<button style='width:100%;height:100%'>OK</button>")
    out = screenpilot("run", "--agent", "random", "--url", page.as_uri(), "--task", "Click OK",
                      "--max-steps", 2, "--viewport", "320x240")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "step 2:" in out.stdout and "stopped at the step limit" in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--agent", "random", "--env", "miniwob.no-such-task"],
            "unknown task 'miniwob.no-such-task'",
        ),
        (["--model", "/nonexistent/run", "--env", "miniwob.click-test"], "no model here"),
        (
            ["--agent", "random", "--url", "http://127.0.0.1:9/", "--task", "x"],
            "cannot run on http://127.0.0.1:9/",
        ),
        (["--env", "miniwob.click-test"], "which agent?"),
    ],
)
def test_user_errors_are_one_line(args, message):
    out = screenpilot("run", *args)
    assert out.returncode == 1, out.stdout
    assert message in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_eval_writes_results_and_a_report_that_plays(tmp_path, chromium_launch):
    out = screenpilot("eval", "--agent", "expert", "--tasks", "miniwob.click-test,miniwob.focus-text",
                      "--episodes", 3, "--workers", 2, "--out", tmp_path / "ev")  # fmt: skip
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "ev/results.json").read_text())
    task = results["tasks"]["miniwob.click-test"]
    assert {"success_rate", "episodes", "ci95", "mean_steps", "mean_action_ms"} <= set(task)
    assert task["episodes"] == 3 and task["success_rate"] == 1.0
    assert results["mean_success"] == 1.0 and results["seeds"]["offset"] == 1_000_000
    rand = screenpilot("eval", "--agent", "random", "--tasks", "miniwob.click-test", "--episodes", 2,
                       "--out", tmp_path / "rnd", "--compare", tmp_path / "ev/results.json")  # fmt: skip
    assert rand.returncode == 0, rand.stderr
    assert "expert" in rand.stdout.splitlines()[0]

    page = chromium_launch().new_page()
    page.goto((tmp_path / "ev/report.html").as_uri())
    assert page.locator("table tbody tr").count() == 3  # two tasks and the mean
    videos = page.locator("video")
    assert videos.count() == 4  # two successes of each task (no failures to show)
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 1 && v.duration > 0)",
        timeout=15000,
    )


def test_eval_refuses_training_seeds(tiny_model, tmp_path):
    out = screenpilot("eval", "--model", tiny_model, "--tasks", "miniwob.click-test",
                      "--episodes", 5, "--seed-offset", 20, "--out", tmp_path / "ev")  # fmt: skip
    assert out.returncode == 1
    assert "overlap the model's training seeds" in out.stderr and out.stderr.count("\n") == 1


def test_eval_a_model_on_unseen_seeds(tiny_model, tmp_path):
    out = screenpilot("eval", "--model", tiny_model, "--tasks", "miniwob.click-test",
                      "--episodes", 4, "--out", tmp_path / "ev")  # fmt: skip
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "ev/results.json").read_text())
    assert results["model"] == str(tiny_model)
    assert results["tasks"]["miniwob.click-test"]["mean_action_ms"] > 0


def test_desktop_without_yes_and_without_a_terminal_refuses(xvfb):
    out = screenpilot("run", "--agent", "random", "--desktop", "--task", "x",
                      env={**os.environ, "DISPLAY": xvfb})  # fmt: skip
    assert out.returncode == 1 and "pass --yes" in out.stderr


def test_desktop_dry_run_executes_nothing(xvfb, tmp_path):
    """xdotool reads the pointer before and after: a dry run must not move it."""
    env = {**os.environ, "DISPLAY": xvfb}
    subprocess.run(["xdotool", "mousemove", "5", "7"], check=True, env=env)
    out = screenpilot("run", "--agent", "random", "--desktop", "--dry-run", "--task", "Click OK",
                      "--video", tmp_path / "dry.mp4", env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "dry run, not executed" in out.stdout
    where = subprocess.run(["xdotool", "getmouselocation"], capture_output=True, text=True, env=env)
    assert where.stdout.startswith("x:5 y:7 ")
    assert frames_in(tmp_path / "dry.mp4") == 2


def test_desktop_dry_run_sees_only_its_region(xvfb, tmp_path):
    import av

    env = {**os.environ, "DISPLAY": xvfb}
    out = screenpilot("run", "--agent", "random", "--desktop", "--dry-run", "--task", "Click OK",
                      "--region", "100,50,160,210", "--video", tmp_path / "dry.mp4", env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    with av.open(str(tmp_path / "dry.mp4")) as video:
        stream = video.streams.video[0]
        # the annotated video scales the screenshot up: the region's shape, not the screen's
        assert stream.width * 210 == stream.height * 160, (stream.width, stream.height)
    out = screenpilot("run", "--agent", "random", "--env", "miniwob.click-test", "--region",
                      "0,0,10,10")  # fmt: skip
    assert out.returncode != 0 and "are for --desktop" in out.stderr.strip().splitlines()[-1]
