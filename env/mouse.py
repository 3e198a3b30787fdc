"""A mouse with Playwright's ``page.mouse`` interface (move, down, up, click, dblclick,
wheel) for pages under frame control (env/frames.py): the browser acknowledges a mouse
event only once a frame has processed it, so Playwright's event-by-event round trips
would each wait for a frame of the pump; here all the events of one action go out at
once, followed by the frames that process them (one round trip, ~1.5 ms a click)."""

from __future__ import annotations

from pathlib import Path

_BUTTON_BITS = {"left": 1, "right": 2, "middle": 4}


_WHEEL_JS = (Path(__file__).with_name("wheel.js")).read_text()


class CDPMouse:
    def __init__(self, frames, run_script):
        self._frames = frames  # env.frames.PumpedFrames: sends the events, draws the frames
        self._run_script = run_script  # (function_js, arg) -> value, in the page
        self._x = 0.0
        self._y = 0.0
        self._buttons: set[str] = set()

    def move(self, x: float, y: float, steps: int = 1, wait: bool = True) -> None:
        """``wait=False``: return at once; the next screenshot's frame takes the move."""
        # A frame after each step: moves queued for the same frame would be coalesced
        # into one, and a drag handler would see a jump instead of a path.
        for event in self._moves(x, y, steps):
            self._send([event], wait=wait)

    def down(self, button: str = "left", click_count: int = 1) -> None:
        self._send([self._press("mousePressed", button, click_count)])

    def up(self, button: str = "left", click_count: int = 1) -> None:
        self._send([self._press("mouseReleased", button, click_count)])

    def click(self, x: float, y: float, button: str = "left", click_count: int = 1) -> None:
        events = self._moves(x, y, 1)
        for count in range(1, click_count + 1):
            events.append(self._press("mousePressed", button, count))
            events.append(self._press("mouseReleased", button, count))
        self._send(events)

    def dblclick(self, x: float, y: float, button: str = "left") -> None:
        self.click(x, y, button=button, click_count=2)

    def wheel(self, delta_x: float, delta_y: float) -> None:
        """Through the page (env/wheel.js): the browser's own wheel can stall the frames
        for good on some pages. The pointer is where the last move put it."""
        self._run_script(_WHEEL_JS, [self._x, self._y, delta_x, delta_y])

    # ---- the events -----------------------------------------------------------------
    def _moves(self, x: float, y: float, steps: int) -> list[dict]:
        """Like Playwright: ``steps`` evenly spaced moves ending at (x, y)."""
        start_x, start_y = self._x, self._y
        events = []
        for i in range(1, max(1, steps) + 1):
            self._x = start_x + (x - start_x) * i / max(1, steps)
            self._y = start_y + (y - start_y) * i / max(1, steps)
            events.append(self._event("mouseMoved"))
        return events

    def _press(self, kind: str, button: str, click_count: int) -> dict:
        # `buttons` is the state after the event, as a browser reports it.
        if kind == "mousePressed":
            self._buttons.add(button)
        else:
            self._buttons.discard(button)
        return self._event(kind, button=button, clickCount=click_count)

    def _event(self, kind: str, **fields) -> dict:
        held = sum(_BUTTON_BITS[b] for b in self._buttons)
        pressed = next(iter(sorted(self._buttons)), "none")
        event = {"type": kind, "x": self._x, "y": self._y, "buttons": held, "button": pressed}
        event.update(fields)
        return event

    def _send(self, events: list[dict], wait: bool = True) -> None:
        self._frames.dispatch([("Input.dispatchMouseEvent", e) for e in events], wait=wait)
