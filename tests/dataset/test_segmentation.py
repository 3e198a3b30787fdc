"""Raw events -> actions: property tests against the actions that made the events,
and hand-written streams of what real people do (shifted keys, edits, double clicks)."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from screenpilot.dataset.actions import Action
from screenpilot.dataset.events import Event
from screenpilot.dataset.segment import (
    SegmentConfig,
    actions_to_events,
    frame_before,
    segment_events,
)

SLOP = SegmentConfig().click_slop_px
coord = st.integers(0, 1000)
printable = st.characters(
    blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"), blacklist_characters="\n\t\r"
).filter(str.isprintable)


@st.composite
def actions(draw):
    kind = draw(
        st.sampled_from(
            ["click", "double_click", "right_click", "move", "drag", "scroll", "type", "key"]
        )
    )
    x, y = draw(coord), draw(coord)
    if kind in ("click", "double_click", "right_click", "move"):
        return Action(kind, x=x, y=y)
    if kind == "drag":
        x2 = draw(coord.filter(lambda v: abs(v - x) > SLOP))
        return Action(kind, x=x, y=y, x2=x2, y2=draw(coord))
    if kind == "scroll":
        dx, dy = draw(st.sampled_from([(0, 120), (0, -120), (0, 360), (-53, 0), (40, -80)]))
        return Action(kind, x=x, y=y, dx=dx, dy=dy)
    if kind == "type":
        return Action(kind, text=draw(st.text(printable, min_size=1, max_size=12)))
    special = draw(
        st.sampled_from(
            ["Enter", "Tab", "Escape", "ArrowUp", "ArrowLeft", "Backspace", "F5", "Delete"]
        )
    )
    chord = draw(
        st.sampled_from(["ctrl+a", "ctrl+c", "ctrl+shift+t", "alt+f", "meta+v", "ctrl+Enter"])
    )
    shifted = draw(st.sampled_from(["shift+Tab", "shift+ArrowDown"]))
    return Action("key", key=draw(st.sampled_from([special, chord, shifted])))


def _near(a, b):
    return a is not None and b is not None and abs(a[0] - b[0]) <= SLOP and abs(a[1] - b[1]) <= SLOP


def expected(actions):
    """What a careful person would call the steps: typing runs merge, Backspace inside a
    run edits it, and a move to where the pointer already is moves nothing."""
    out, typed, pointer = [], None, None
    for a in actions:
        if a.type == "type":
            typed = (typed or "") + a.text
            continue
        if a.type == "key" and a.key in ("Backspace", "shift+Backspace") and typed:
            typed = typed[:-1]
            continue
        if a.type == "move" and _near(pointer, (a.x, a.y)):
            continue  # no event at all, so it does not end a typing run either
        if typed:
            out.append(Action("type", text=typed))
        typed = None
        out.append(a)
        if a.type == "drag":
            pointer = (a.x2, a.y2)
        elif a.x is not None:
            pointer = (a.x, a.y)
    if typed:
        out.append(Action("type", text=typed))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(actions(), max_size=12))
@example([Action("click", x=0, y=0), Action("type", text="0"), Action("move", x=0, y=0),
          Action("type", text="0")])  # fmt: skip
def test_segmentation_gives_the_actions_back(acts):
    assert segment_events(actions_to_events(acts)) == expected(acts)


@settings(max_examples=100, deadline=None)
@given(st.lists(actions(), min_size=1, max_size=8))
def test_each_action_points_at_the_last_frame_before_it(acts):
    frame_times = [i * 0.25 - 0.1 for i in range(60)]  # 4 fps, one frame before the first action
    for a in segment_events(actions_to_events(acts), frame_times):
        assert frame_times[a.frame] <= a.t
        assert a.frame == len(frame_times) - 1 or frame_times[a.frame + 1] > a.t


def _keys(*pairs, t=0.0):
    """key_down/key_up events; each item is a key name or (key, text)."""
    events = []
    for item in pairs:
        key, text = item if isinstance(item, tuple) else (item, None)
        events += [Event(t, "key_down", key=key, text=text), Event(t + 0.01, "key_up", key=key)]
        t += 0.05
    return events


def test_shift_is_applied_when_the_recorder_has_no_text():
    events = [Event(0.0, "key_down", key="shift"), *_keys("h", "1", t=0.01)]
    events += [Event(0.2, "key_up", key="shift"), *_keys("i", t=0.3)]
    assert segment_events(events) == [Action("type", text="H!i")]


def test_backspace_edits_are_resolved_and_extra_ones_kept():
    events = _keys("c", "a", "t", "Backspace", "r", t=0.0)
    events += [
        Event(2.0, "mouse_down", x=5, y=5, button="left"),
        Event(2.05, "mouse_up", x=5, y=5, button="left"),
    ]
    events += _keys("Backspace", t=3.0)
    assert segment_events(events) == [
        Action("type", text="car"),
        Action("click", x=5, y=5),
        Action("key", key="Backspace"),
    ]


def test_double_click_needs_the_interval_and_the_spot():
    def click(t, x):
        return [
            Event(t, "mouse_down", x=x, y=10, button="left"),
            Event(t + 0.05, "mouse_up", x=x, y=10, button="left"),
        ]

    assert segment_events(click(0, 10) + click(0.2, 11)) == [Action("double_click", x=10, y=10)]
    assert segment_events(click(0, 10) + click(0.9, 10)) == [Action("click", x=10, y=10)] * 2
    assert segment_events(click(0, 10) + click(0.2, 60)) == [
        Action("click", x=10, y=10),
        Action("click", x=60, y=10),
    ]


def test_jittery_press_is_still_a_click_and_a_long_one_a_drag():
    jitter = [
        Event(0, "mouse_down", x=50, y=50, button="left"),
        Event(0.02, "mouse_move", x=52, y=51),
        Event(0.05, "mouse_up", x=51, y=50, button="left"),
    ]
    assert segment_events(jitter) == [Action("click", x=50, y=50)]
    drag = [
        Event(0, "mouse_down", x=50, y=50, button="left"),
        Event(0.1, "mouse_move", x=90, y=60),
        Event(0.2, "mouse_up", x=90, y=60, button="left"),
    ]
    assert segment_events(drag) == [Action("drag", x=50, y=50, x2=90, y2=60)]


def test_wheel_notches_sum_into_one_scroll():
    events = [Event(0.1 * i, "scroll", x=30, y=40, dx=0, dy=100) for i in range(3)]
    assert segment_events(events) == [Action("scroll", x=30, y=40, dx=0, dy=300)]


def test_hover_then_click_elsewhere_keeps_the_hover():
    events = [
        Event(0.0, "mouse_move", x=10, y=10),
        Event(0.1, "mouse_move", x=20, y=20),  # rests on a menu for 0.9 s
        Event(1.0, "mouse_move", x=40, y=60),
        Event(1.05, "mouse_down", x=40, y=60, button="left"),
        Event(1.1, "mouse_up", x=40, y=60, button="left"),
    ]
    actions = segment_events(events)
    assert actions == [Action("move", x=20, y=20), Action("click", x=40, y=60)]
    assert actions[0].t == 0.0 and actions[1].t == 1.05


def test_pointer_resting_where_it_then_clicks_is_no_move():
    events = [
        Event(0.0, "mouse_move", x=20, y=20),
        Event(2.0, "mouse_down", x=20, y=20, button="left"),
        Event(2.1, "mouse_up", x=20, y=20, button="left"),
    ]
    assert segment_events(events) == [Action("click", x=20, y=20)]


def test_held_button_at_the_end_is_a_mouse_down():
    events = [Event(0.0, "mouse_down", x=3, y=4, button="left")]
    assert segment_events(events) == [Action("mouse_down", x=3, y=4)]


def test_frame_before():
    times = [0.0, 0.1, 0.2]
    assert frame_before(times, -1) == 0
    assert frame_before(times, 0.1) == 1
    assert frame_before(times, 0.15) == 1
    assert frame_before(times, 9) == 2


def test_a_pointer_action_is_seen_on_the_screen_before_the_pointer_set_off():
    frames = [i / 10 for i in range(30)]  # 10 fps from t = 0
    approach = [Event(t=1.50 + 0.02 * i, kind="mouse_move", x=10 + 5 * i, y=10) for i in range(9)]
    events = [
        *approach,
        Event(t=1.70, kind="mouse_down", x=50, y=10, button="left"),
        Event(t=1.75, kind="mouse_up", x=50, y=10, button="left"),
        # a second click where the pointer already is: no approach
        Event(t=2.40, kind="mouse_down", x=50, y=10, button="left"),
        Event(t=2.45, kind="mouse_up", x=50, y=10, button="left"),
    ]
    first, second = segment_events(events, frames)
    assert first.to_text() == second.to_text() == "click 50 10"
    assert first.t == 1.70 and first.frame == 14  # t = 1.4: before the move at 1.50
    assert second.frame == 24  # t = 2.4, the press itself: the pointer did not move


def test_typing_is_seen_on_the_screen_before_its_first_key():
    frames = [i / 10 for i in range(30)]
    events = [
        Event(t=1.0, kind="mouse_move", x=5, y=5),
        Event(t=1.05, kind="key_down", key="a", text="a"),
        Event(t=1.10, kind="key_up", key="a"),
    ]
    (typed,) = [a for a in segment_events(events, frames) if a.type == "type"]
    assert typed.frame == 10  # the move before it does not move a key's frame
