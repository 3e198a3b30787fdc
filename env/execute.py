"""Run one Action on a Playwright page: the mouse and keyboard a person would use.
Actions are data; nothing here evaluates anything the action carries."""

from __future__ import annotations

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import ActionError

from .keyboard import combo_to_playwright

DRAG_STEPS = 8  # intermediate mousemoves, so drag handlers (jQuery UI) see a real drag


class PointerState:
    """Which mouse buttons are held, so a reset can release them."""

    def __init__(self) -> None:
        self.held: set[str] = set()


def check_on_screen(action: Action, width: int, height: int) -> None:
    points = [(action.x, action.y)]
    if action.type == "drag":
        points.append((action.x2, action.y2))
    for x, y in points:
        if x is not None and not (0 <= x < width and 0 <= y < height):
            raise ActionError(f"{action.type} at ({x}, {y}) is outside the {width}x{height} screen")


def perform(session, action: Action, pointer: PointerState, wait_ms: int) -> None:
    """Raises ActionError for what cannot run; Playwright errors pass through.
    ``session`` (env/browser.py) holds the mouse and keyboard: Playwright's, or ones with
    their interface (env/mouse.py, env/keyboard.py); and its ``frames`` (env/frames.py)."""
    mouse, keyboard = session.mouse, session.keyboard
    kind = action.type
    if kind == "click":
        mouse.click(action.x, action.y)
    elif kind == "double_click":
        mouse.dblclick(action.x, action.y)
    elif kind == "right_click":
        mouse.click(action.x, action.y, button="right")
    elif kind == "mouse_down":
        mouse.move(action.x, action.y)
        mouse.down()
        pointer.held.add("left")
    elif kind == "mouse_up":
        mouse.move(action.x, action.y)
        mouse.up()
        pointer.held.discard("left")
    elif kind == "move":
        mouse.move(action.x, action.y)
    elif kind == "drag":
        mouse.move(action.x, action.y)
        mouse.down()
        mouse.move(action.x2, action.y2, steps=DRAG_STEPS)
        mouse.up()
    elif kind == "scroll":
        mouse.move(action.x, action.y)
        mouse.wheel(action.dx, action.dy)
        session.frames.settle()
    elif kind == "type":
        keyboard.type(action.text)
    elif kind == "key":
        keyboard.press(combo_to_playwright(action.key))
    elif kind == "wait":
        session.frames.wait(wait_ms / 1000)
    elif kind == "done":
        pass
    else:  # the schema rejects unknown types, so this is a bug here, not the caller's
        raise ActionError(f"no executor for action type {kind!r}")


def release_all(mouse, pointer: PointerState) -> None:
    for button in sorted(pointer.held):
        mouse.up(button=button)
    pointer.held.clear()
