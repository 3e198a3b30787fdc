"""Action <-> model targets: points through resizing and bins, spans, keys, history."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenpilot.dataset.actions import Action, pixel_to_bin
from screenpilot.model.codec import (
    DEFAULT_KEYS,
    IGNORE,
    NO_ACTION,
    ActionCodec,
    encode_task,
    find_span,
)
from screenpilot.model.preprocess import resize_screenshot

CODEC = ActionCodec(rows=14, cols=10, sub=4, max_task_bytes=128, key_vocab=DEFAULT_KEYS,
                    scroll_step=100, max_scroll_steps=5)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    w=st.integers(40, 1920),
    h=st.integers(40, 1200),
    fx=st.floats(0, 1, exclude_max=True),
    fy=st.floats(0, 1, exclude_max=True),
)
def test_click_survives_resize_and_bin_round_trip_within_one_bin(w, h, fx, fy):
    x, y = int(fx * w), int(fy * h)
    patch, cell = CODEC.encode_point(x, y, (w, h))
    x2, y2 = CODEC.decode_point(patch, cell, (w, h))
    xbins, ybins = CODEC.cols * CODEC.sub, CODEC.rows * CODEC.sub
    assert abs(pixel_to_bin(x2, w, xbins) - pixel_to_bin(x, w, xbins)) <= 1
    assert abs(pixel_to_bin(y2, h, ybins) - pixel_to_bin(y, h, ybins)) <= 1
    assert abs(x2 - x) <= w / xbins + 1 and abs(y2 - y) <= h / ybins + 1


@pytest.mark.parametrize("screen", [(160, 210), (1280, 720), (333, 517)])
def test_a_marked_pixel_lands_in_the_patch_the_model_sees_after_resizing(screen):
    """The pointer's patch is the patch of the resized image where the mark ends up."""
    w, h = screen
    rng = np.random.default_rng(w)
    for _ in range(20):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        img = np.zeros((h, w, 3), np.uint8)
        img[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = 255
        small = resize_screenshot(img, 210, 160).max(axis=2)
        ys, xs = np.nonzero(small)
        cy, cx = ys.mean(), xs.mean()  # the mark's centre on the model's 210x160 image
        patch, _ = CODEC.encode_point(x, y, (w, h))
        row, col = divmod(patch, CODEC.cols)
        # Within one 4-px bin of the patch the model is asked to point at.
        assert row * 15 - 4 <= cy <= (row + 1) * 15 + 4
        assert col * 16 - 4 <= cx <= (col + 1) * 16 + 4


def test_resize_keeps_native_size_untouched():
    img = np.random.default_rng(0).integers(0, 255, (210, 160, 3), dtype=np.uint8)
    assert resize_screenshot(img, 210, 160) is img


@pytest.mark.parametrize(
    "action",
    [
        Action("click", x=80, y=105),
        Action("double_click", x=3, y=200),
        Action("drag", x=10, y=20, x2=150, y2=20),
        Action("scroll", x=80, y=100, dx=0, dy=-200),
        Action("type", text="vina"),
        Action("key", key="ctrl+a"),
        Action("key", key="Enter"),
        Action("done"),
        Action("wait"),
    ],
)
def test_encode_then_decode_gives_the_action_back(action):
    task = 'Enter the username "vina" and the password "US" into the text fields.'
    t = CODEC.encode_action(action, task, (160, 210))
    pred = {k: (0 if v == IGNORE else v) for k, v in t.items()}
    back = CODEC.decode_action(pred, task, (160, 210))
    assert back.type == action.type
    if action.point:
        assert abs(back.x - action.x) <= 2 and abs(back.y - action.y) <= 2
    if action.type == "scroll":
        assert (back.dx, back.dy) == (action.dx, action.dy)
    if action.type in ("type", "key"):
        assert back == action


def test_span_prefers_quoted_then_whole_words():
    task = 'Enter the username "us" and the password "US" into the USA fields.'
    start, end = find_span("US", task, 128)
    assert task.encode()[start - 1 : end + 2] == b'"US"'
    assert find_span("zzz", task, 128) is None
    # Cut by max_task_bytes: text past the end cannot be copied.
    assert find_span("fields", task, 20) is None


def test_task_bytes_are_byt5_style_with_padding():
    ids, n = encode_task("hé", 8)
    assert n == 3 and list(ids[:3]) == [ord("h") + 3, 0xC3 + 3, 0xA9 + 3] and ids[3:].sum() == 0


def test_history_is_right_aligned_and_marks_typed_bytes():
    task = 'Enter "Jerald" into the text field.'
    hist = [Action("click", x=69, y=66), Action("type", text="Jerald")]
    h = CODEC.encode_history(hist, task, (160, 210), slots=4)
    assert list(h["hist_type"][:2]) == [NO_ACTION, NO_ACTION]
    assert h["hist_patch"][2] == CODEC.encode_point(69, 66, (160, 210))[0]
    assert h["hist_patch"][3] == CODEC.num_patches  # type has no point
    typed = np.nonzero(h["typed"])[0]
    assert task.encode()[typed[0] : typed[-1] + 1] == b"Jerald"


def test_unknown_key_maps_to_unk_and_decodes_to_a_valid_action():
    t = CODEC.encode_action(Action("key", key="F7"), "task", (160, 210))
    assert t["key"] == 0
    assert CODEC.decode_action({"type": t["type"], "key": 0}, "task", (160, 210)).type == "key"
