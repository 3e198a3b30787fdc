"""Reading: grounding queries ("where is W?"), the augmentation that moves labels with the
pixels, and task-balanced sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from screenpilot.dataset.actions import Action
from screenpilot.model.augment import Augment, shift_sample
from screenpilot.model.codec import encode_grounding
from screenpilot.model.configuration import VLAConfig
from screenpilot.model.data import global_batch_indices, task_weights
from screenpilot.model.modeling import VLAModel, box_patches
from screenpilot.model.preprocess import Preprocessor, collate

TINY = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "stem_channels": 8}


def item(text, x0, y0, x1, y1, kind="link"):
    return {"text": text, "kind": kind, "x0": x0, "y0": y0, "x1": x1, "y1": y1}


def word_screen(words, seed=0):
    """A white 160x210 screen with a dark block per word (a stand-in for its glyphs: the
    objective's test needs pixels that differ per word, not a browser) and its items."""
    rng = np.random.default_rng(seed)
    image = np.full((210, 160, 3), 255, np.uint8)
    items = []
    for i, word in enumerate(words):
        x0, y0 = int(rng.integers(0, 120)), 60 + 30 * i
        pattern = np.frombuffer(word.encode().ljust(8, b"."), np.uint8)[:8]
        image[y0 : y0 + 10, x0 : x0 + 32] = np.repeat(pattern[None, :, None], 4, 1).reshape(
            1, 32, 1
        )
        items.append(item(word, x0, y0, x0 + 32, y0 + 10))
    return image, items


def test_grounding_queries_skip_repeated_and_long_words_and_scale_boxes():
    items = [item("alpha", 10, 20, 40, 30), item("beta", 50, 20, 70, 30),
             item("beta", 90, 20, 110, 30), item("x" * 20, 0, 0, 5, 5)]  # fmt: skip
    rng = np.random.default_rng(0)
    g = encode_grounding(items, (320, 420), (160, 210), queries=4, max_bytes=16, rng=rng)
    assert g["g_len"].tolist() == [5, 0, 0, 0]  # "beta" twice has no single answer
    assert g["g_box"][0].tolist() == [5.0, 10.0, 20.0, 15.0]  # halved: 320x420 -> 160x210
    assert bytes((g["g_ids"][0, :5] - 3).tolist()) == b"alpha"


def test_box_patches_marks_the_patches_that_show_the_word():
    boxes = torch.tensor([[[16.0, 15.0, 32.0, 30.0], [30.0, 15.0, 50.0, 25.0]]])  # (1, 2, 4)
    pos = box_patches(boxes, rows=14, cols=10, ph=15, pw=16)[0]
    assert pos[0].nonzero().flatten().tolist() == [11]  # exactly patch (row 1, col 1)
    # 30..50 spans columns 1 (2 px: grazed, not counted), 2 (16 px) and 3 (2 px)
    assert pos[1].nonzero().flatten().tolist() == [12]


def test_grounding_tokens_change_nothing_the_action_heads_compute():
    torch.manual_seed(0)
    model = VLAModel(VLAConfig(**TINY)).eval()
    image, items = word_screen(["alpha", "bravo", "charlie"])
    sample = {"image": image, "task": 'Click on "bravo".', "history": [],
              "action": Action("click", x=10, y=95), "screen": (160, 210), "grounding": items}  # fmt: skip
    batch = collate([Preprocessor(model.config)(sample)])
    with torch.no_grad():
        plain, grounded = model.encode(batch), model.encode(batch, ground=True)
    for key in ("act", "end", "patches", "text"):
        torch.testing.assert_close(plain[key], grounded[key], rtol=1e-5, atol=1e-5)
    assert grounded["ground"].shape[1] == model.config.grounding_queries


def test_the_objective_trains_a_tiny_model_to_point_at_words_on_a_few_screens():
    torch.manual_seed(0)
    model = VLAModel(VLAConfig(**TINY, grounding_weight=1.0))
    pre = Preprocessor(model.config)
    words = ["alpha", "bravo", "charlie", "delta"]
    samples = []
    for seed in range(4):
        image, items = word_screen(words, seed)
        samples.append(pre({"image": image, "task": "Click.", "history": [], "screen": (160, 210),
                            "action": Action("done"), "grounding": items}))  # fmt: skip
    batch = collate(samples)
    hits_before, valid = model.ground_hits(batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        loss, logs = model(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    hits, valid = model.ground_hits(batch)
    assert int(valid.sum()) == 16
    assert int(hits.sum()) == 16 > int(hits_before.sum())
    assert logs["ground_acc"] == 1.0


def test_a_shift_moves_the_pixels_the_action_history_and_boxes_together():
    image, items = word_screen(["alpha", "bravo"])
    sample = {"image": image, "task": "t", "screen": (160, 210), "grounding": items,
              "action": Action("click", x=20, y=65), "history": [Action("click", x=158, y=5)]}  # fmt: skip
    moved = shift_sample(sample, 5, -3)
    a = moved["action"]
    assert (a.x, a.y) == (25, 62)
    assert (moved["image"][a.y, a.x] == image[65, 20]).all()
    assert (moved["history"][0].x, moved["history"][0].y) == (159, 2)  # kept on screen
    box = moved["grounding"][0]
    src = image[items[0]["y0"] : items[0]["y1"], items[0]["x0"] : items[0]["x1"]]
    np.testing.assert_array_equal(moved["image"][box["y0"] : box["y1"], box["x0"] : box["x1"]], src)
    # The strip the content left is the edge's colour, not black.
    assert (moved["image"][:, :5] == 255).all()


def test_augment_is_a_function_of_its_generator():
    image, items = word_screen(["alpha"])
    sample = {"image": image, "task": "t", "screen": (160, 210), "grounding": items,
              "action": Action("click", x=20, y=65), "history": []}  # fmt: skip
    a = Augment()(sample, np.random.default_rng([0, 7, 3]))
    b = Augment()(sample, np.random.default_rng([0, 7, 3]))
    np.testing.assert_array_equal(a["image"], b["image"])
    assert a["action"] == b["action"]


@pytest.mark.parametrize("balance", [0.0, 0.5, 1.0])
def test_task_balance_sets_each_task_share(balance):
    tasks = ["link"] * 10 + ["login"] * 90
    weights = task_weights(tasks, balance)
    if balance == 0:
        assert weights is None
        return
    link_share = weights[:10].sum()
    expected = {0.5: 10**0.5 / (10**0.5 + 90**0.5), 1.0: 0.5}[balance]
    assert link_share == pytest.approx(expected)
    draws = np.concatenate([global_batch_indices(100, 64, 0, s, weights) for s in range(200)])
    assert (draws < 10).mean() == pytest.approx(expected, abs=0.03)
    assert list(global_batch_indices(100, 8, 1, 5, weights)) == list(
        global_batch_indices(100, 8, 1, 5, weights)
    )


def test_task_words_are_split_from_the_task_and_find_their_box_when_shown_once():
    from screenpilot.model.codec import task_word_boxes, task_words

    words = task_words('Click on the link "Eget".', words=8, max_bytes=16)
    assert words["w_len"].tolist() == [5, 2, 3, 4, 4, 0, 0, 0]
    assert bytes((words["w_ids"][4, :4] - 3).tolist()) == b"Eget"
    items = [item('"Eget".', 80, 3, 110, 14, "text"), item("Eget", 20, 90, 44, 101),
             item("link", 50, 3, 66, 14, "text"), item("link", 10, 150, 26, 160)]  # fmt: skip
    boxes = task_word_boxes('Click on the link "Eget".', items, (160, 210), (160, 210), 8, 16)
    assert boxes[4].tolist() == [20, 90, 44, 101]  # the link, not the quoted query text
    assert (boxes[3] == -1).all()  # "link" is shown twice: no single answer
    assert (boxes[0] == -1).all()  # "Click" is not shown at all


def test_a_model_with_task_words_reads_them_at_inference_and_learns_their_places():
    torch.manual_seed(0)
    model = VLAModel(VLAConfig(**TINY, task_words=6))
    image, items = word_screen(["alpha", "bravo"])
    sample = {"image": image, "task": 'Click on "bravo".', "history": [], "screen": (160, 210),
              "action": Action("click", x=10, y=95), "grounding": items}  # fmt: skip
    batch = collate([Preprocessor(model.config)(sample)])
    b = items[1]
    assert batch["w_box"][0, 2].tolist() == [b["x0"], b["y0"], b["x1"], b["y1"]]
    logits, positives, valid = model.ground(batch)
    assert valid.shape[1] == model.config.grounding_queries + 6
    assert int(valid[0, -6:].sum()) == 1  # "bravo" is the one task word on the screen
    model.eval().predict({"screenshot": image, "task": sample["task"]})  # inputs only
