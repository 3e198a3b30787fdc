"""Actions through the operating system's input: the pointer and keys of an X display,
driven with pyautogui (XTEST), as a person's hands would.

Two paces. ``human=None``: the pointer jumps and keys go at once (the agent on a live
desktop). ``human=HumanPace(seed)``: a pause to look before each action, a curved pointer
path whose duration grows with the distance (Fitts's law), a held button, keys at a typist's
uneven intervals. A desktop recorder watching either sees real X input; with the human pace
it sees what a person's recording looks like (the pointer travelling, frames between
actions), which is what the scripted experts record through (`record expert --via desktop`).
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import ActionError, UserError

from .pyautogui_keys import combo_to_pyautogui

SCROLL_PX_PER_CLICK = 100  # a wheel notch; our dx/dy are pixels (DOM convention)
DRAG_STEPS = 8

# pyautogui opens the X display named by $DISPLAY when it is first imported, and keeps it.
_BOUND_DISPLAY: str | None = None


def bind_pyautogui(display: str):
    """pyautogui on ``display``; one process drives one display (pyautogui's own limit)."""
    global _BOUND_DISPLAY
    if _BOUND_DISPLAY is not None and display != _BOUND_DISPLAY:
        raise UserError(
            f"pyautogui is bound to display {_BOUND_DISPLAY}; one process drives one display"
        )
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    os.environ.setdefault("XDG_SESSION_TYPE", "x11")
    try:
        import pyautogui
    finally:
        if previous is not None:
            os.environ["DISPLAY"] = previous
    pyautogui.PAUSE = 0
    # Left on on purpose: a person can stop a runaway agent by throwing the pointer into a
    # screen corner (pyautogui raises FailSafeException at the next call).
    pyautogui.FAILSAFE = True
    _BOUND_DISPLAY = display
    return pyautogui


@dataclass
class HumanPace:
    """The timing of a person's hands, drawn from a seeded generator (same seed, same
    pauses and paths)."""

    seed: int = 0
    look_s: tuple[float, float] = (0.15, 0.35)  # before each action: reading the screen
    press_s: tuple[float, float] = (0.04, 0.09)  # a button held down
    key_gap_s: tuple[float, float] = (0.04, 0.12)  # between typed characters
    path_hz: float = 60.0  # pointer positions a second along a path

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def pause(self, span: tuple[float, float]) -> None:
        time.sleep(self.rng.uniform(*span))

    def path(self, start: tuple[int, int], end: tuple[int, int]) -> list[tuple[float, int, int]]:
        """(delay, x, y) points from ``start`` to ``end`` along a gentle curve, the last
        exactly at ``end``: a quadratic Bezier whose control point sits off the straight
        line, at ease-in-out speed, over 0.1-0.5 s (longer for farther and smaller moves
        by Fitts's law, with a 20 px target)."""
        (x0, y0), (x1, y1) = start, end
        distance = math.hypot(x1 - x0, y1 - y0)
        if distance < 1:
            return []
        duration = min(0.5, 0.08 + 0.06 * math.log2(1 + distance / 20))
        steps = max(2, int(duration * self.path_hz))
        bend = self.rng.uniform(-0.2, 0.2) * distance
        cx = (x0 + x1) / 2 - bend * (y1 - y0) / distance
        cy = (y0 + y1) / 2 + bend * (x1 - x0) / distance
        points = []
        for i in range(1, steps + 1):
            s = i / steps
            s = s * s * (3 - 2 * s)  # ease in and out: slow start, slow landing
            x = (1 - s) ** 2 * x0 + 2 * (1 - s) * s * cx + s * s * x1
            y = (1 - s) ** 2 * y0 + 2 * (1 - s) * s * cy + s * s * y1
            points.append((duration / steps, round(x), round(y)))
        points[-1] = (duration / steps, x1, y1)
        return points


class OSInput:
    """Performs Actions on ``display`` with ``origin`` (the screen position of the
    action coordinates' 0, 0) through pyautogui."""

    def __init__(
        self, display: str, origin: tuple[int, int] = (0, 0), human: HumanPace | None = None
    ):
        self.gui = bind_pyautogui(display)
        self.origin = origin
        self.human = human

    def move_to(self, x: int, y: int) -> None:
        """The pointer to screen position (x, y): along a path at the human pace, else at once."""
        if self.human is None:
            self.gui.moveTo(x, y)
            return
        for delay, px, py in self.human.path(tuple(self.gui.position()), (x, y)):
            self.gui.moveTo(px, py)
            time.sleep(delay)

    def _press(self, button: str = "left") -> None:
        self.gui.mouseDown(button=button)
        if self.human is not None:
            self.human.pause(self.human.press_s)
        self.gui.mouseUp(button=button)

    def perform(self, action: Action) -> None:
        """Raises ActionError for what cannot be typed; pyautogui's FailSafeException
        passes through (the caller stops the episode)."""
        gui, human = self.gui, self.human
        left, top = self.origin
        kind = action.type
        x = None if action.x is None else action.x + left
        y = None if action.y is None else action.y + top
        if kind == "type" and not action.text.isascii():
            raise ActionError("OS input types ASCII text only (pyautogui's limit)")
        if human is not None and kind not in ("wait", "done"):
            human.pause(human.look_s)
        if x is not None:
            self.move_to(x, y)
        if kind == "click":
            self._press()
        elif kind == "double_click":
            self._press()
            if human is not None:
                time.sleep(0.08)
            self._press()
        elif kind == "right_click":
            self._press("right")
        elif kind == "mouse_down":
            gui.mouseDown()
        elif kind == "mouse_up":
            gui.mouseUp()
        elif kind == "drag":
            gui.mouseDown()
            x2, y2 = action.x2 + left, action.y2 + top
            if human is not None:
                self.move_to(x2, y2)
            else:
                for i in range(1, DRAG_STEPS + 1):
                    gui.moveTo(x + (x2 - x) * i // DRAG_STEPS, y + (y2 - y) * i // DRAG_STEPS)
            gui.mouseUp()
        elif kind == "scroll":
            if action.dy:  # pyautogui: positive clicks scroll up
                gui.scroll(-_clicks(action.dy))
            if action.dx:
                gui.hscroll(_clicks(action.dx))
        elif kind == "type":
            if human is None:
                gui.write(action.text)
            else:
                for ch in action.text:
                    gui.write(ch)
                    human.pause(human.key_gap_s)
        elif kind == "key":
            gui.hotkey(*combo_to_pyautogui(action.key))


def _clicks(pixels: int) -> int:
    """Wheel notches for a pixel delta, keeping its sign and moving at least one notch."""
    notches = max(1, round(abs(pixels) / SCROLL_PX_PER_CLICK))
    return notches if pixels > 0 else -notches
