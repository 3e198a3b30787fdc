"""Raw input events -> Actions, and Actions -> the events a person would have made.

``segment_events`` is how a recording becomes training steps:

- press and release at one spot -> ``click`` (right button: ``right_click``); two clicks at
  one spot within the double-click interval -> ``double_click``; press, move, release ->
  ``drag``; a press with no release before the end -> ``mouse_down`` (and the reverse).
- wheel events at one spot in quick succession -> one ``scroll`` with the summed deltas.
- the pointer coming to rest somewhere other than where the next press happens -> ``move``
  (hovering opens menus and tooltips, so it is an action of its own).
- runs of printable keys -> one ``type``, with shift applied and Backspace edits resolved;
  a key with ctrl, alt or meta held -> ``key ctrl+c``; Enter, Tab, Escape, arrows and
  other non-character keys -> ``key``.

Each action gets ``t`` (when it began) and ``frame``: the last frame captured at or
before ``t``, which is what the person was looking at when they acted.

``actions_to_events`` is the inverse used by the expert recorder (so expert episodes
carry raw events like human ones) and by the property tests.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .actions import MODIFIERS, SHIFTED, UNSHIFTED, Action, normalize_combo
from .events import Event


@dataclass(frozen=True)
class SegmentConfig:
    # Pointer travel (px) under which a press and release count as one spot.
    click_slop_px: int = 4
    # X and GTK default to 400 ms between the presses of a double click.
    double_click_s: float = 0.4
    # How long the pointer must rest for the rest to count as a hover (a `move`).
    hover_dwell_s: float = 0.3
    # Wheel notches closer than this in time (at one spot) sum into one scroll.
    scroll_merge_s: float = 0.3


def _near(ax: int, ay: int, bx: int, by: int, slop: int) -> bool:
    return abs(ax - bx) <= slop and abs(ay - by) <= slop


def frame_before(frame_times: Sequence[float], t: float) -> int:
    """Index of the last frame captured at or before ``t`` (0 if none was)."""
    return max(0, bisect.bisect_right(frame_times, t) - 1)


class _Segmenter:
    def __init__(self, config: SegmentConfig):
        self.cfg = config
        self.out: list[Action] = []  # finished actions, each with t set
        self.held_mods: set[str] = set()
        self.typed: list[str] = []
        self.typed_t: float | None = None
        self.press: dict | None = None  # the button held now: button, x, y, t, moved
        self.last_click_press_t: float | None = None
        self.last_scroll_t: float | None = None
        # Where the pointer is moving to, and when the current motion began / last moved.
        self.motion: dict | None = None
        self.last_mouse_action_at: tuple[int, int] | None = None

    # -- output helpers ------------------------------------------------------------
    def emit(self, t: float, **fields) -> None:
        coords = [fields.get(k) for k in ("x", "y", "x2", "y2")]
        if any(c is not None and c < 0 for c in coords):
            return  # outside the recorded screen (left or above it): kept as raw events only
        action = Action(**fields)
        if action.type != "type":
            self.flush_typing()
        self.out.append(action.with_time(t, None))
        if action.type != "scroll":
            self.last_scroll_t = None
        if action.type != "click":
            self.last_click_press_t = None

    def flush_typing(self) -> None:
        if self.typed:
            text = "".join(self.typed)
            self.typed, t = [], self.typed_t
            self.out.append(Action(type="type", text=text, t=t))
            self.last_click_press_t = None
            self.last_scroll_t = None
        self.typed_t = None

    # -- hover ---------------------------------------------------------------------
    def settle_motion(self, e: Event | None) -> None:
        """Decide, at event ``e`` (None: end of stream), whether the pointer's last
        motion ended in a hover worth its own ``move`` action."""
        m = self.motion
        if m is None:
            return
        rested = e is None or e.t - m["last_t"] >= self.cfg.hover_dwell_s
        if not rested:
            if e.kind != "mouse_move":
                self.motion = None  # the motion led straight into this press or key
            return
        self.motion = None
        slop = self.cfg.click_slop_px
        at_next = (
            e is not None
            and e.kind in ("mouse_down", "scroll", "mouse_up")
            and _near(e.x, e.y, m["x"], m["y"], slop)
        )
        already_there = self.last_mouse_action_at is not None and _near(
            *self.last_mouse_action_at, m["x"], m["y"], slop
        )
        if not at_next and not already_there:
            self.emit(m["start_t"], type="move", x=m["x"], y=m["y"])
            self.last_mouse_action_at = (m["x"], m["y"])

    # -- events --------------------------------------------------------------------
    def feed(self, e: Event) -> None:
        self.settle_motion(e)
        getattr(self, f"on_{e.kind}")(e)

    def on_mouse_move(self, e: Event) -> None:
        if self.press is not None:
            p = self.press
            if not _near(e.x, e.y, p["x"], p["y"], self.cfg.click_slop_px):
                p["moved"] = True
            return
        if self.motion is None:
            self.motion = {"start_t": e.t, "last_t": e.t, "x": e.x, "y": e.y}
        else:
            self.motion.update(last_t=e.t, x=e.x, y=e.y)

    def on_mouse_down(self, e: Event) -> None:
        if self.press is not None or e.button == "middle":
            return  # a second button while one is held, or middle: kept as raw events only
        self.flush_typing()
        self.press = {"button": e.button, "x": e.x, "y": e.y, "t": e.t, "moved": False}

    def on_mouse_up(self, e: Event) -> None:
        p = self.press
        if p is None:
            if e.button == "left":
                self.emit(e.t, type="mouse_up", x=e.x, y=e.y)
                self.last_mouse_action_at = (e.x, e.y)
            return
        if e.button != p["button"]:
            return
        self.press = None
        slop = self.cfg.click_slop_px
        moved = p["moved"] or not _near(e.x, e.y, p["x"], p["y"], slop)
        if p["button"] == "right":
            self.emit(p["t"], type="right_click", x=p["x"], y=p["y"])
        elif moved:
            self.emit(p["t"], type="drag", x=p["x"], y=p["y"], x2=e.x, y2=e.y)
        else:
            prev = self.out[-1] if self.out else None
            if (
                prev is not None
                and prev.type == "click"
                and self.last_click_press_t is not None
                and p["t"] - self.last_click_press_t <= self.cfg.double_click_s
                and _near(prev.x, prev.y, p["x"], p["y"], slop)
                and not self.typed
            ):
                self.out[-1] = Action(type="double_click", x=prev.x, y=prev.y, t=prev.t)
                self.last_click_press_t = None
            else:
                self.emit(p["t"], type="click", x=p["x"], y=p["y"])
                self.last_click_press_t = p["t"]
        self.last_mouse_action_at = (e.x, e.y)

    def on_scroll(self, e: Event) -> None:
        prev = self.out[-1] if self.out else None
        if (
            prev is not None
            and prev.type == "scroll"
            and not self.typed
            and self.last_scroll_t is not None
            and e.t - self.last_scroll_t <= self.cfg.scroll_merge_s
            and _near(prev.x, prev.y, e.x, e.y, self.cfg.click_slop_px)
        ):
            dx, dy = prev.dx + (e.dx or 0), prev.dy + (e.dy or 0)
            if dx == 0 and dy == 0:
                self.out.pop()  # notches that cancel out did nothing
            else:
                self.out[-1] = Action(type="scroll", x=prev.x, y=prev.y, dx=dx, dy=dy, t=prev.t)
        elif (e.dx or 0) != 0 or (e.dy or 0) != 0:
            self.emit(e.t, type="scroll", x=e.x, y=e.y, dx=e.dx or 0, dy=e.dy or 0)
        self.last_scroll_t = e.t
        self.last_mouse_action_at = (e.x, e.y)

    def on_key_down(self, e: Event) -> None:
        key = e.key
        if key in MODIFIERS:
            self.held_mods.add(key)
            return
        chord = self.held_mods & {"ctrl", "alt", "meta"}
        char = _typed_char(e, "shift" in self.held_mods)
        if not chord and char is not None:
            if not self.typed:
                self.typed_t = e.t
            self.typed.append(char)
            return
        if key == "Backspace" and not chord and self.typed:
            self.typed.pop()  # an edit of what is being typed, not an action of its own
            if not self.typed:
                self.typed_t = None
            return
        combo = normalize_combo("+".join([*sorted(self.held_mods), key]))
        self.emit(e.t, type="key", key=combo)

    def on_key_up(self, e: Event) -> None:
        self.held_mods.discard(e.key)

    def finish(self) -> list[Action]:
        self.settle_motion(None)
        if self.press is not None and self.press["button"] == "left":
            p, self.press = self.press, None
            self.emit(p["t"], type="mouse_down", x=p["x"], y=p["y"])
        self.flush_typing()
        return sorted(self.out, key=lambda a: a.t)


def _typed_char(e: Event, shift: bool) -> str | None:
    """The printable character a key press produced, or None for a non-character key."""
    if e.text is not None and len(e.text) == 1 and e.text.isprintable():
        return e.text
    if e.key == "Space":
        return " "
    if len(e.key) == 1 and e.key.isprintable():
        return SHIFTED.get(e.key, e.key.upper()) if shift else e.key
    return None


def segment_events(
    events: Iterable[Event],
    frame_times: Sequence[float] | None = None,
    config: SegmentConfig | None = None,
) -> list[Action]:
    """Turn raw events (in time order) into Actions with ``t`` and ``frame`` set."""
    seg = _Segmenter(config or SegmentConfig())
    for e in sorted(events, key=lambda ev: ev.t):
        seg.feed(e)
    actions = seg.finish()
    if frame_times is None:
        return actions
    moves = [e.t for e in sorted(events, key=lambda ev: ev.t) if e.kind == "mouse_move"]
    others = [e.t for e in events if e.kind != "mouse_move"]
    others.sort()
    dwell = seg.cfg.hover_dwell_s
    return [
        a.with_time(a.t, frame_before(frame_times, _set_off_time(a, moves, others, dwell)))
        for a in actions
    ]


# The screen a pointer action was chosen on is the one before the pointer set off toward
# its target: once it is on its way, or there, the frames show the target hovered (and,
# where the pointer is drawn, the pointer on it), an answer a policy must not be shown.
POINTER_ACTIONS = ("click", "double_click", "right_click", "drag", "mouse_down", "mouse_up")


def _set_off_time(a: Action, moves: list[float], others: list[float], dwell: float) -> float:
    """When the pointer set off toward ``a``: the first move of the run of moves that
    leads into it without a pause of ``dwell`` or another event; ``a.t`` if none does."""
    if a.type not in POINTER_ACTIONS:
        return a.t
    start = a.t
    previous_other = (
        others[bisect.bisect_left(others, a.t) - 1] if others and others[0] < a.t else None
    )
    i = bisect.bisect_left(moves, a.t) - 1
    while i >= 0 and start - moves[i] < dwell:
        if previous_other is not None and moves[i] <= previous_other:
            break
        start = moves[i]
        i -= 1
    # Just before the first move: the frame captured at that instant may show it.
    return start if start == a.t else start - 1e-6


def actions_to_events(
    actions: Iterable[Action], start_t: float = 0.0, gap_s: float = 1.0
) -> list[Event]:
    """The raw events a person would make to perform ``actions``. An action with ``t``
    happens then; one without happens ``gap_s`` after the previous one."""
    events: list[Event] = []
    t = start_t - gap_s
    for a in actions:
        t = a.t if a.t is not None else t + gap_s
        events.extend(_events_of(a, t))
    return events


def _events_of(a: Action, t: float) -> list[Event]:
    def mouse(kind, x, y, dt=0.0, button=None):
        return Event(t=t + dt, kind=kind, x=x, y=y, button=button)

    def press_release(button, dt=0.0):
        return [
            mouse("mouse_down", a.x, a.y, dt, button),
            mouse("mouse_up", a.x, a.y, dt + 0.02, button),
        ]

    if a.type in ("click", "right_click"):
        button = "right" if a.type == "right_click" else "left"
        return [mouse("mouse_move", a.x, a.y), *press_release(button)]
    if a.type == "double_click":
        return [mouse("mouse_move", a.x, a.y), *press_release("left"), *press_release("left", 0.1)]
    if a.type in ("mouse_down", "mouse_up"):
        return [mouse("mouse_move", a.x, a.y), mouse(a.type, a.x, a.y, button="left")]
    if a.type == "move":
        return [mouse("mouse_move", a.x, a.y)]
    if a.type == "drag":
        steps = 5
        path = [
            mouse(
                "mouse_move",
                round(a.x + (a.x2 - a.x) * i / steps),
                round(a.y + (a.y2 - a.y) * i / steps),
                0.01 * i,
            )
            for i in range(1, steps + 1)
        ]
        return [
            mouse("mouse_move", a.x, a.y),
            mouse("mouse_down", a.x, a.y, button="left"),
            *path,
            mouse("mouse_up", a.x2, a.y2, 0.01 * steps + 0.01, "left"),
        ]
    if a.type == "scroll":
        return [
            mouse("mouse_move", a.x, a.y),
            Event(t=t, kind="scroll", x=a.x, y=a.y, dx=a.dx, dy=a.dy),
        ]
    if a.type == "type":
        return _typing_events(a.text, t)
    if a.type == "key":
        parts = a.key.split("+") if not a.key.endswith("++") else [*a.key[:-2].split("+"), "+"]
        mods, key = parts[:-1], parts[-1]
        dt = 0.005
        evs = [Event(t=t + i * dt, kind="key_down", key=m) for i, m in enumerate(mods)]
        tk = t + len(mods) * dt
        evs += [Event(t=tk, kind="key_down", key=key), Event(t=tk + dt, kind="key_up", key=key)]
        evs += [Event(t=tk + 2 * dt, kind="key_up", key=m) for m in reversed(mods)]
        return evs
    return []  # wait and done leave no trace in the input stream


def _typing_events(text: str, t: float) -> list[Event]:
    evs: list[Event] = []
    dt = 0.01
    for ch in text:
        if ch == "\n":
            key, produced, shifted = "Enter", None, False
        elif ch == "\t":
            key, produced, shifted = "Tab", None, False
        else:
            key = "Space" if ch == " " else ch
            produced, shifted = ch, ch in UNSHIFTED or (ch.isalpha() and ch.isupper())
        if shifted:
            evs.append(Event(t=t, kind="key_down", key="shift"))
        evs.append(Event(t=t, kind="key_down", key=key, text=produced))
        evs.append(Event(t=t + dt / 2, kind="key_up", key=key))
        if shifted:
            evs.append(Event(t=t + dt / 2, kind="key_up", key="shift"))
        t += dt
    return evs
