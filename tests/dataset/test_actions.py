"""The Action schema: round trips, validation, the pixel <-> bin pair, key names."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screenpilot.dataset.actions import (
    Action,
    bin_to_pixel,
    normalize_combo,
    pixel_to_bin,
)
from screenpilot.dataset.errors import ActionError

coord = st.integers(0, 4000)
delta = st.integers(-2000, 2000).filter(lambda v: v != 0)
texts = st.text(min_size=1, max_size=30)
keys = st.sampled_from(["Enter", "Tab", "Escape", "ArrowLeft", "F5", "Backspace", "a", "z", "1"])
mods = st.lists(st.sampled_from(["ctrl", "alt", "shift", "meta"]), unique=True, max_size=3)


@st.composite
def actions(draw):
    kind = draw(
        st.sampled_from(
            ["click", "double_click", "right_click", "mouse_down", "mouse_up", "move", "drag",
             "scroll", "type", "key", "wait", "done"]
        )
    )  # fmt: skip
    if kind in ("click", "double_click", "right_click", "mouse_down", "mouse_up", "move"):
        return Action(kind, x=draw(coord), y=draw(coord))
    if kind == "drag":
        return Action(kind, x=draw(coord), y=draw(coord), x2=draw(coord), y2=draw(coord))
    if kind == "scroll":
        return Action(kind, x=draw(coord), y=draw(coord), dx=0, dy=draw(delta))
    if kind == "type":
        return Action(kind, text=draw(texts))
    if kind == "key":
        return Action(kind, key="+".join([*draw(mods), draw(keys)]))
    return Action(kind)


@given(actions())
def test_text_round_trip(action):
    assert Action.from_text(action.to_text()) == action


@given(actions())
def test_dict_round_trip(action):
    assert Action.from_dict(action.to_dict()) == action


def test_examples_from_the_design():
    for line in [
        "click 80 105",
        "drag 10 20 90 20",
        "scroll 80 100 0 -120",
        'type "hello world"',
        "key ctrl+a",
        "done",
        "wait",
    ]:
        assert Action.from_text(line).to_text() == line
    assert Action.from_text("click 80 105").to_dict() == {"type": "click", "x": 80, "y": 105}


def test_text_with_quotes_and_newlines_survives():
    a = Action("type", text='say "hi"\nthen \\ leave')
    assert Action.from_text(a.to_text()) == a
    assert "\n" not in a.to_text()


def test_time_and_frame_travel_but_do_not_change_identity():
    a = Action("click", x=1, y=2, t=0.5, frame=3)
    assert a == Action("click", x=1, y=2)
    b = Action.from_dict(a.to_dict())
    assert (b.t, b.frame) == (0.5, 3)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("clik 1 2", "unknown action"),
        ("click 1", "needs 2 numbers"),
        ("click a b", "integers"),
        ("click -1 5", ">= 0"),
        ("type hello world", "quoted string"),
        ("type", "quoted string"),
        ("key", "one combo"),
        ("key ctrl+a+b", "one non-modifier"),
        ("key hyper+q", "unknown key"),
        ("scroll 1 2 0 0", "non-zero"),
    ],
)
def test_bad_text_gives_a_clear_error(bad, message):
    with pytest.raises(ActionError) as err:
        Action.from_text(bad)
    if message:
        assert message in str(err.value)


def test_bad_dicts():
    with pytest.raises(ActionError, match="needs x"):
        Action.from_dict({"type": "click", "y": 3})
    with pytest.raises(ActionError, match="takes no text"):
        Action.from_dict({"type": "click", "x": 1, "y": 3, "text": "a"})
    with pytest.raises(ActionError, match="unknown action field"):
        Action.from_dict({"type": "done", "colour": "red"})
    with pytest.raises(ActionError, match="needs a 'type'"):
        Action.from_dict({"x": 1})


def test_key_combos_are_canonical():
    assert normalize_combo("Control+Shift+T") == "ctrl+shift+t"
    assert normalize_combo("shift+ctrl+t") == "ctrl+shift+t"
    assert normalize_combo("return") == "Enter"
    assert normalize_combo("esc") == "Escape"
    assert normalize_combo("cmd+c") == "meta+c"
    assert normalize_combo("+") == "+"
    assert normalize_combo("ctrl++") == "ctrl+="  # the plus key, named by its unshifted face
    with pytest.raises(ActionError, match="malformed"):
        normalize_combo("ctrl++a")


@given(st.integers(1, 4000), st.integers(1, 256), st.data())
def test_pixel_bin_round_trip_within_one_bin(size, bins, data):
    pixel = data.draw(st.integers(0, size - 1))
    b = pixel_to_bin(pixel, size, bins)
    assert 0 <= b < bins
    back = bin_to_pixel(b, size, bins)
    assert 0 <= back < size
    assert abs(back - pixel) <= size / bins + 1
    assert pixel_to_bin(back, size, bins) == b or size < bins
