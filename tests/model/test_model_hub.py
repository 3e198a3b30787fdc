"""The model's doors to the ecosystem: transformers' AutoConfig/AutoModel after
``import screenpilot``, and the model card beside every saved model, with eval results."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import torch
from test_model_modeling import sample
from test_model_trainer import config, synthetic_dataset

from screenpilot.dataset.actions import Action
from screenpilot.model.card import record_eval_results
from screenpilot.model.checkpoint import load_model
from screenpilot.model.preprocess import Preprocessor, collate
from screenpilot.model.train import train


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 4-step run with checkpoints and validation at steps 2 and 4."""
    root = tmp_path_factory.mktemp("hub")
    data = synthetic_dataset(root / "ds")
    train(config(root, data, root / "run", steps=4, val_every=2, checkpoint_every=2))
    return root / "run"


def results(rate: float) -> dict:
    """An eval's results.json, as agent/evaluate.py writes it (the fields the card reads)."""
    task = {"success_rate": rate, "ci95": [rate / 2, 1.0], "mean_steps": 2.5, "episodes": 4}
    return {"tasks": {"miniwob.click-test": task}, "mean_success": rate,
            "seeds": {"offset": 1_000_000, "count": 4}}  # fmt: skip


LOAD_AND_PREDICT = """
import sys, torch
import screenpilot
from transformers import AutoConfig, AutoModel
model_dir, batch_file, out_file = sys.argv[1:]
config = AutoConfig.from_pretrained(model_dir)
model = AutoModel.from_pretrained(model_dir).eval()
batch = torch.load(batch_file)
with torch.no_grad():
    loss, _ = model(batch)
    pred = model.predict_batch(batch)
torch.save({"classes": [type(config).__name__, type(model).__name__], "loss": loss,
            "pred": pred}, out_file)
"""


# A fresh interpreter: transformers' Auto classes know only what it registered. screenpilot
# comes first, so the post-import hook is what registers (the at-once path, for a module
# already imported, is the one Gymnasium's tests take: tests/env/test_env_units.py).
@pytest.mark.integration
def test_auto_model_loads_a_saved_run_in_a_fresh_interpreter(tiny_run, tmp_path):
    model = load_model(tiny_run)
    pre = Preprocessor(model.config)
    batch = collate([pre(sample(Action("click", x=20 + 9 * i, y=50), seed=i)) for i in range(4)])
    torch.save(batch, tmp_path / "batch.pt")
    out = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, str(tiny_run / "model"), str(tmp_path / "batch.pt"),
         str(tmp_path / "out.pt")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    theirs = torch.load(tmp_path / "out.pt")
    assert theirs["classes"] == ["VLAConfig", "VLAModel"]
    with torch.no_grad():
        loss, _ = model(batch)
        pred = model.predict_batch(batch)
    assert torch.allclose(theirs["loss"], loss, rtol=1e-5)
    for k in pred:
        assert torch.equal(theirs["pred"][k], pred[k]), k


def test_a_card_is_written_beside_every_saved_model(tiny_run):
    params = sum(p.numel() for p in load_model(tiny_run).parameters())
    data = tiny_run.parent / "ds"
    for model_dir, step in [(tiny_run / "checkpoints/step_000002", 2),
                            (tiny_run / "checkpoints/step_000004", 4),
                            (tiny_run / "model", 4)]:  # fmt: skip
        card = (model_dir / "README.md").read_text()
        assert f"| {data} | 6 | 24 | 6 | test 6 | 6 |" in card  # episodes, steps, successes
        trained, held_out = map(
            int, re.search(r"Trained on (\d+) episodes; (\d+) held", card).groups()
        )
        assert trained + held_out == 6 and held_out >= 1
        assert f"- steps: {step} of 4\n" in card
        assert f"- parameters: {params:,} " in card
        assert f"- validation at step {step}: action_acc " in card
        assert '"hidden_size": 32' in card and '"key_vocab": ["<unk>", "Enter"' in card
        assert f'AutoModel.from_pretrained("{model_dir}")' in card
        assert "Not evaluated yet" in card


def test_eval_results_replace_the_cards_evaluation_section(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = (run / "model/README.md").read_text()
    assert record_eval_results(str(run), results(0.75)) == run / "model/README.md"
    card = (run / "model/README.md").read_text()
    assert "Not evaluated yet" not in card
    assert "| miniwob.click-test | 75.0% | 37.5-100.0% | 2.5 |" in card
    assert "seeds 1000000..1000003" in card and "mean success **75.0%**" in card
    # The next eval replaces the last; the rest of the card stays as it was.
    record_eval_results(run / "model", results(0.5))
    card = (run / "model/README.md").read_text()
    assert "75.0%" not in card and "| miniwob.click-test | 50.0% |" in card
    assert card.count("## Evaluation") == 1
    assert (
        card.split("<!-- screenpilot:eval -->")[0] == before.split("<!-- screenpilot:eval -->")[0]
    )
    # A baseline agent has no model; a model saved without a card gets none.
    assert record_eval_results(None, results(0.5)) is None
    (run / "checkpoints/step_000002/README.md").unlink()
    assert record_eval_results(run / "checkpoints/step_000002", results(0.5)) is None
    assert not (run / "checkpoints/step_000002/README.md").exists()
