"""The model itself: shapes and loss, save -> load, predictions on any screen size."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from screenpilot.dataset.actions import Action
from screenpilot.model.checkpoint import load_model
from screenpilot.model.configuration import VLAConfig
from screenpilot.model.errors import CheckpointError
from screenpilot.model.modeling import VLAModel
from screenpilot.model.preprocess import Preprocessor, collate

TINY = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "stem_channels": 8}
TASK = 'Enter the username "vina" and the password "US" into the text fields and press login.'


def screen(seed=0, h=210, w=160):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def sample(action, history=(), seed=0):
    return {"image": screen(seed), "task": TASK, "history": list(history), "action": action,
            "screen": (160, 210)}  # fmt: skip


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return VLAModel(VLAConfig(**TINY))


def test_forward_gives_a_finite_loss_and_gradients_for_every_head_in_use():
    model = tiny_model()
    pre = Preprocessor(model.config)
    actions = [Action("click", x=71, y=88), Action("type", text="vina"), Action("key", key="Tab"),
               Action("drag", x=1, y=2, x2=100, y2=150), Action("scroll", x=5, y=5, dx=0, dy=100),
               Action("done")]  # fmt: skip
    batch = collate([pre(sample(a, seed=i)) for i, a in enumerate(actions)])
    loss, logs = model(batch)
    assert torch.isfinite(loss)
    loss.backward()
    for name in ("point.q.weight", "cell.out.1.weight", "span_end.k.weight", "key_head.weight",
                 "point2.q.weight", "scroll_head.weight", "stem.cell.weight"):  # fmt: skip
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    assert logs["loss_span_start"] > 0 and logs["loss_key"] > 0


def test_save_then_load_gives_identical_predictions(tmp_path):
    model = tiny_model(1).eval()
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").exists()
    loaded = load_model(tmp_path / "m")
    history = [Action("click", x=71, y=88), Action("type", text="vina")]
    pre = Preprocessor(model.config)
    batch = collate([pre(sample(Action("done"), history, seed=s)) for s in range(8)])
    a, b = model.predict_batch(batch), loaded.predict_batch(batch)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    obs = {"screenshot": screen(3), "task": TASK}
    assert model.predict(obs, history) == loaded.predict(obs, history)


@pytest.mark.parametrize("size", [(210, 160), (720, 1280), (97, 411)])
def test_predict_returns_an_action_inside_any_screen(size):
    model = tiny_model().eval()
    h, w = size
    for seed in range(5):
        action = model.predict({"screenshot": screen(seed, h, w), "task": TASK})
        assert isinstance(action, Action)
        if action.point:
            assert 0 <= action.x < w and 0 <= action.y < h


def test_typed_text_is_copied_from_the_task():
    model = tiny_model().eval()
    pre = Preprocessor(model.config)
    batch = collate([pre(sample(Action("done")))])
    pred = {k: int(v[0]) for k, v in model.predict_batch(batch).items()}
    pred["type"] = 8  # type
    action = model.codec.decode_action(pred, TASK, (160, 210))
    assert action.text in TASK and pred["span_end"] >= pred["span_start"]


def test_predict_at_the_default_size_gives_an_action_on_screen():
    # Its latency is measured in bench/train_bench.py (BENCHMARKS.md), not asserted here.
    model = VLAModel(VLAConfig()).eval()  # the default size, as the agent runs it
    obs = {"screenshot": screen(), "task": TASK}
    action = model.predict(obs, [Action("click", x=71, y=88)])
    assert isinstance(action, Action)
    if action.x is not None:
        assert 0 <= action.x < 160 and 0 <= action.y < 210


def test_loading_another_model_format_version_is_one_clear_error(tmp_path):
    tiny_model().save_pretrained(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["format_version"] = 99
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_model(tmp_path / "m")
    with pytest.raises(CheckpointError, match="no model here"):
        load_model(tmp_path / "nothing")
