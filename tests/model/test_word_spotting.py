"""Word spotting: the task's words rendered and found on the screenshot, and the model
reading the maps.

Unit tests draw screens with the same font the sandbox's Chromium uses; the integration
test checks, on real MiniWoB pages, that the word the task names is found where the
page shows it (the font and sizes are a guess about Chromium that only Chromium can
confirm)."""

import re

import numpy as np
import pytest
import torch

from screenpilot.model.configuration import VLAConfig
from screenpilot.model.modeling import VLAModel
from screenpilot.model.word_spotting import render_word, spot_words, spotted_words

PATCH = (15, 16)


def draw_screen(words_at: dict[str, tuple[int, int]], size=10, shape=(210, 160)):
    """A white (H, W, 3) screen with each word's ink pasted with its top-left at (x, y)."""
    screen = np.full((*shape, 3), 255, np.uint8)
    for word, (x, y) in words_at.items():
        ink = render_word(word, size)
        h, w = ink.shape
        screen[y : y + h, x : x + w] = np.minimum(screen[y : y + h, x : x + w], ink[..., None])
    return screen


def centre_patch(word, x, y, size=10):
    h, w = render_word(word, size).shape
    return (y + h // 2) // PATCH[0], (x + w // 2) // PATCH[1]


def test_the_task_words_are_listed_once_with_where_they_start_in_bytes():
    task = 'Click "café" then "go", a b, then café: Go'
    assert spotted_words(task, slots=8, max_bytes=128) == [
        ("Click", 0), ("café", 7), ("then", 14), ("go", 20), ("Go", 42),  # two é before it: +2 bytes
    ]  # fmt: skip
    assert spotted_words(task, slots=2, max_bytes=128) == [("Click", 0), ("café", 7)]
    # A word starting past what the model reads of the task is not looked for.
    assert spotted_words(task, slots=8, max_bytes=14) == [("Click", 0), ("café", 7)]


def test_each_word_is_found_in_the_patch_it_is_shown_in_and_a_missing_one_is_not():
    rng = np.random.default_rng(0)
    for trial in range(5):
        placed = {"submit": (int(rng.integers(0, 100)), int(rng.integers(60, 90))),
                  "cancel": (int(rng.integers(0, 100)), int(rng.integers(110, 140))),
                  "Okay": (int(rng.integers(0, 100)), int(rng.integers(160, 190)))}  # fmt: skip
        task = 'Press "submit", not "cancel" or "Okay"; never "previous".'
        out = spot_words(
            draw_screen(placed), task, (1.0, 1.0), slots=12, max_bytes=128, patch=PATCH
        )
        words = [w for w, _ in spotted_words(task, 12, 128)]
        assert out["spot"].shape == (12, 14, 10) and out["spot"].dtype == np.float16
        assert out["spot_pos"][len(words) :].tolist() == [-1] * (12 - len(words))
        assert out["spot_pos"][: len(words)].tolist() == [task.index(w) for w in words]
        for word, (x, y) in placed.items():
            scores = out["spot"][words.index(word)].astype(np.float32)
            best = np.unravel_index(scores.argmax(), scores.shape)
            assert best == centre_patch(word, x, y), (trial, word)
            assert scores.max() > 0.95
        assert out["spot"][words.index("previous")].max() < 0.7  # not on the screen


def test_a_larger_screen_shrunk_to_the_models_size_still_shows_its_words():
    # A 420x320 screen is shrunk to the model's 210x160, its 13 px text with it: the words
    # are drawn at the screen's size and shrunk alike. The word's centre lands mid-patch
    # (6, 4), at (72, 97) in the model's pixels.
    h, w = render_word("Submit", 13).shape
    big = draw_screen({"Submit": (144 - w // 2, 194 - h // 2)}, size=13, shape=(420, 320))
    from screenpilot.model.preprocess import Preprocessor

    pre = Preprocessor(VLAConfig())
    out = pre.inputs(big, 'Click "Submit".', history=())
    scores = out["spot"][1].astype(np.float32)  # words: Click, Submit
    assert np.unravel_index(scores.argmax(), scores.shape) == (6, 4)
    assert scores.max() > 0.8


def tiny_config(**kw):
    return VLAConfig(hidden_size=32, num_layers=1, num_heads=2, stem_channels=8,
                     max_task_bytes=32, grounding_queries=0, **kw)  # fmt: skip


def test_the_model_reads_the_maps_and_without_them_has_no_spotting_weights():
    torch.manual_seed(0)
    model = VLAModel(tiny_config()).eval()
    pre = model.preprocessor()
    screen = draw_screen({"ONE": (20, 80), "TWO": (100, 150)})
    inputs = pre.inputs(screen, "Click button ONE.", history=())
    batch = {k: torch.from_numpy(np.asarray(v))[None] for k, v in inputs.items()}
    with torch.no_grad():
        before = model.encode(batch)["patches"]
        batch["spot"] = torch.full_like(batch["spot"], -1.0)  # nothing found anywhere
        after = model.encode(batch)["patches"]
    assert not torch.allclose(before, after)
    off = VLAModel(tiny_config(spot_words=0))
    assert not any("spot" in name for name, _ in off.named_parameters())
    assert "spot" not in off.preprocessor().inputs(screen, "Click button ONE.", history=())


def test_a_tiny_model_learns_to_click_the_named_word_from_the_maps():
    """Two words at random places, the task names one: the maps are what tells them apart
    (the model has no time to learn glyphs in 150 steps), so the pointer must use them."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cfg = tiny_config(click_subdivisions=1)
    model = VLAModel(cfg)
    pre = model.preprocessor()
    from screenpilot.dataset.actions import Action

    def sample(seed):
        r = np.random.default_rng(seed)
        a, b = (int(r.integers(0, 120)), int(r.integers(50, 95))), (
            int(r.integers(0, 120)), int(r.integers(120, 190)))  # fmt: skip
        target = "ONE" if r.random() < 0.5 else "TWO"
        placed = {"ONE": a, "TWO": b} if r.random() < 0.5 else {"ONE": b, "TWO": a}
        h, w = render_word(target, 10).shape
        x, y = placed[target][0] + w // 2, placed[target][1] + h // 2
        return pre({"image": draw_screen(placed), "task": f"Click button {target}.",
                    "history": [], "action": Action("click", x=x, y=y)})  # fmt: skip

    from screenpilot.model.preprocess import collate

    train = [sample(s) for s in range(64)]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        idx = rng.choice(len(train), 16)
        loss, _ = model(collate([train[i] for i in idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    test = collate([sample(1000 + s) for s in range(40)])
    with torch.no_grad():
        pred = model.predict_batch(test)
    right = (pred["patch"] == test["t_patch"]).float().mean().item()
    assert right >= 0.9, right


@pytest.mark.integration
@pytest.mark.parametrize(
    "task", ["miniwob.click-test-2", "miniwob.click-button", "miniwob.click-link"]
)
def test_on_real_pages_the_named_word_is_found_where_chromium_draws_it(task):
    from screenpilot.env.browser_env import BrowserEnv

    env = BrowserEnv(task)
    try:
        for seed in range(4):
            obs, _ = env.reset(seed=seed)
            screen, text = obs["screenshot"], obs["task"]
            (target,) = re.findall(r'"([^"]+)"', text) or re.findall(r"button (\w+)\.", text)
            out = spot_words(screen, text, (1.0, 1.0), slots=12, max_bytes=128, patch=PATCH)
            words = [w for w, _ in spotted_words(text, 12, 128)]
            scores = out["spot"][words.index(target)].astype(np.float32)
            scores[:4] = -1  # the yellow query strip above y=50 shows the task itself
            row, col = np.unravel_index(scores.argmax(), scores.shape)
            # The best match is a patch showing the word on the page (a link's word may
            # also stand in the plain text around it: any copy counts).
            shown = [it for it in env.grounding() if it["text"] == target and it["y0"] >= 50]
            assert shown, (seed, target)
            assert any(it["x0"] - 8 <= col * 16 + 8 <= it["x1"] + 8
                       and it["y0"] - 8 <= row * 15 + 7 <= it["y1"] + 8 for it in shown), (
                seed, target, (row, col), shown)  # fmt: skip
            assert scores.max() > 0.6, (seed, target, scores.max())
    finally:
        env.close()


@pytest.mark.integration
def test_spotting_alone_points_at_the_words_of_recorded_synthetic_screens(tmp_path):
    """bench/reading_bench.py's spotting column on a few real screens: nearly every word
    of 3+ letters is found where Chromium drew it."""
    from screenpilot.model.reading import spotting_accuracy
    from screenpilot.recorder.expert import record_experts

    record_experts(["synthetic.click-word"], 6, tmp_path / "ds", seed=1_000_000, progress=False)
    table = spotting_accuracy(VLAConfig(), [str(tmp_path / "ds")])
    assert table["3+"]["n"] >= 30
    assert table["3+"]["accuracy"] >= 0.85, table
