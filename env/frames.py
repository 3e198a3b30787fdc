"""Where a BrowserEnv's screenshots come from. Two sources, one interface:

``capture(width, height)`` returns the top-left ``width x height`` of the page as RGB;
``settle()`` lets the next frames happen (a scroll lands on them); ``wait(seconds)`` lets
the page run as on a display meanwhile; ``hold()`` marks a stretch of env work that ends
in a capture; ``close()`` stops what the source started.

- ``ScreenshotFrames``: Playwright's ``page.screenshot``. Works with any Chromium, headed
  or not, but a screenshot waits for the display's next two frames: ~33 ms at 60 Hz.
- ``PumpedFrames``: the headless shell under BeginFrame control
  (``--enable-begin-frame-control``), where the page draws a frame only when we ask. A
  thread of ours asks whenever the page has gone 1/60 s without one, so between steps
  the page runs as on a 60 Hz display (``requestAnimationFrame``, CSS animations); 10 Hz
  once it has drawn nothing new for half a second, or while a reset or step is working
  towards its own screenshot (``hold``). Input (env/mouse.py, env/keyboard.py) goes out
  in one batch followed by the frames that process it (the browser acknowledges a mouse
  move or a wheel only after a frame has); and a screenshot comes from a frame drawn on
  the spot instead of waiting for the display's: ~2 ms instead of ~33
  (bench/env_bench.py).

The two render text with slightly different anti-aliasing (different builds), so a
model should be trained and run on the same source; every headless env uses
``PumpedFrames``.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time

import numpy as np

from screenpilot.dataset.errors import UserError

from .cdp import CDPConnection, CDPError

FRAME_INTERVAL_S = 1 / 60
# While the env works towards a screenshot of its own (``hold``), a pump frame would only
# draw the page half-way and delay that screenshot behind it (4 ms a click-dialog reset);
# the pump still draws one after this long, so a task waiting on requestAnimationFrame
# during its set-up is slowed, never stuck.
HELD_FRAME_INTERVAL_S = 0.1
# A page that has drawn nothing new for QUIET_FRAMES frames is idle: the pump slows to
# IDLE_FRAME_INTERVAL_S (an idle env took 12% of a core at 60 Hz, 2% at 10 Hz). Any
# input, screenshot or ``wait``, and any frame that shows a change, bring back 60 Hz.
QUIET_FRAMES = 30
IDLE_FRAME_INTERVAL_S = 0.1
CLOSE_TIMEOUT_S = 10.0
MAX_FRAMES_PER_INPUT = 100
MAX_FRAMES_PER_SCREENSHOT = 10
# Key events are answered in well under a millisecond; one not answered after this long
# waits for a frame (a key that scrolls the page).
INPUT_WITHOUT_FRAME_S = 0.05
# A frame takes milliseconds; one that has not come after this long is held up by a page
# popup our frames cannot draw (env/frame_control_page.js keeps the known ones shut).
POPUP_TIMEOUT_S = 3.0
_ESCAPE = {"key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}
_SCREENSHOT = {"screenshot": {"format": "png", "optimizeForSpeed": True}}


def decode_png(png: bytes) -> np.ndarray:
    import cv2  # imported here: only stepping an env needs it

    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UserError("the browser returned a screenshot that is not a PNG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class ScreenshotFrames:
    alive = True  # the page's own state says the rest (BrowserSession.alive)
    popups_closed = 0  # a headed browser draws its popups itself

    def __init__(self, page, window_size: tuple[int, int]):
        self._page = page
        self._window_size = tuple(window_size)

    def capture(self, width: int, height: int) -> np.ndarray:
        clip = None
        if (width, height) != self._window_size:
            clip = {"x": 0, "y": 0, "width": width, "height": height}
        return decode_png(self._page.screenshot(type="png", clip=clip))

    def settle(self, frames: int = 2) -> None:
        """Wait for the page's next frames: what reacts on them (a scroll) has ended."""
        self._page.evaluate(
            "n => new Promise(done => { const next = k => k ? requestAnimationFrame("
            "() => next(k - 1)) : done(); next(n); })",
            frames,
        )

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)  # the browser draws its own frames meanwhile

    def hold(self):
        return contextlib.nullcontext()

    def close(self) -> None:
        pass


class PumpedFrames:
    """Owns one page's frames under BeginFrame control, over a DevTools connection of its
    own. A daemon thread draws a frame when the page has gone 1/60 s without one (see
    ``_pump_interval`` for when it waits longer); ``capture`` and ``dispatch`` draw
    theirs at once. One lock keeps the connection's commands one at a time."""

    def __init__(
        self, websocket_url: str, window_size: tuple[int, int], screen_size: tuple[int, int]
    ):
        self._cdp = CDPConnection(websocket_url)
        if tuple(screen_size) != tuple(window_size):
            # The page lays out in the whole window but draws only the part screenshots
            # show (the page does not see this): a smaller frame to draw and encode.
            width, height = window_size
            self._cdp.send(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": width,
                    "height": height,
                    "deviceScaleFactor": 1,
                    "mobile": False,
                    "viewport": {
                        "x": 0,
                        "y": 0,
                        "width": screen_size[0],
                        "height": screen_size[1],
                        "scale": 1,
                    },
                },
            )
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.popups_closed = 0  # how many times a stuck frame was freed with Escape
        self.stalled = False  # a frame never came, even after Escape
        self._last_frame_at = 0.0
        self._held = 0  # nested ``hold()``s under way
        self._quiet_frames = 0  # pump frames in a row that drew no change
        self._waiting = False  # in ``wait``: 60 Hz, whatever the page draws
        self._unanswered: set[int] = set()  # input sent with wait=False, not yet answered
        self._thread = threading.Thread(target=self._run, name="frame-pump", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._cdp.lost and not self.stalled

    def capture(self, width: int, height: int) -> np.ndarray:
        """A screenshot from a frame drawn now, so it shows everything done so far."""
        with self._lock:
            self._active()
            for _ in range(MAX_FRAMES_PER_SCREENSHOT):
                data = self._frame(_SCREENSHOT).get("screenshotData")
                if self._unanswered:
                    # Input sent without waiting (a pointer move) is dispatched at the
                    # start of a frame, before it paints; answered before this frame
                    # was, it is in the picture. Not answered yet: it came too late for
                    # this frame, so let frames take it and draw again.
                    self._take_answers(self._unanswered, needs_frame=True)
                    continue
                # Right after a navigation the first frame may have nothing to show yet
                # (no screenshot in the answer); the next one does.
                if data:
                    break
            else:
                raise RuntimeError("the browser drew no frame to capture")
        image = decode_png(base64.b64decode(data))
        return np.ascontiguousarray(image[:height, :width])

    def dispatch(
        self, commands: list[tuple[str, dict]], needs_frame: bool = True, wait: bool = True
    ) -> None:
        """Input commands (``Input.dispatchMouseEvent``...), sent at once; returns when
        the browser has acknowledged every one. It acknowledges a mouse move or a wheel
        only once a frame has processed it, so those are followed by frames at once
        (``needs_frame``); key events are answered without one, unless they scroll.
        A click waits for a frame too, although its events are answered without one:
        a script run right after the answers could still miss what the click did (a
        step judged before its submit click, seen on enter-password), while the frame's
        main-thread work comes after it.
        ``wait=False`` returns at once: the next screenshot's frame takes the input."""
        with self._lock:
            self._active()
            pending = {self._cdp.post(method, params) for method, params in commands}
            if not wait:
                self._unanswered |= pending
                return
            self._take_answers(pending, needs_frame)

    def _take_answers(self, pending: set[int], needs_frame: bool) -> None:
        """Read answers until every command in ``pending`` has one, drawing frames for
        input that waits for one (at once when ``needs_frame``). Holds the lock."""
        frames_drawn = 0
        while pending:
            if not needs_frame:
                try:
                    answer_id, _ = self._cdp.receive(timeout_s=INPUT_WITHOUT_FRAME_S)
                    pending.discard(answer_id)
                    self._unanswered.discard(answer_id)
                    continue
                except TimeoutError:
                    needs_frame = True  # this input waits for a frame after all
            if frames_drawn == MAX_FRAMES_PER_INPUT:
                raise RuntimeError(
                    f"the browser did not take the input after {frames_drawn} frames"
                )
            self._frame(answered=pending)
            frames_drawn += 1

    def settle(self, frames: int = 2) -> None:
        """Draw a few frames now: what reacts on the next frames (a scroll) has ended."""
        with self._lock:
            self._active()
            for _ in range(frames):
                self._frame()

    @contextlib.contextmanager
    def hold(self):
        """The env's own work (an episode's start, an action, the judging) ends in a
        ``capture``: until then the pump draws only after HELD_FRAME_INTERVAL_S."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            self._wake.set()  # the pump may be sleeping out the longer interval

    def wait(self, seconds: float) -> None:
        """Let the page run as on a 60 Hz display for ``seconds``, even inside a hold
        (a ``wait`` action lets animations play)."""
        self._waiting = True
        self._wake.set()
        try:
            time.sleep(seconds)
        finally:
            self._waiting = False

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=CLOSE_TIMEOUT_S)
        self._cdp.close()

    def _frame(self, params: dict | None = None, answered: set[int] | None = None) -> dict:
        """Draw one frame (the caller holds the lock). Answers to earlier commands that
        arrive meanwhile are taken out of ``answered``. A frame stuck behind a popup is
        freed once by pressing Escape, which closes it."""
        self._last_frame_at = time.monotonic()
        frame_id = self._cdp.post("HeadlessExperimental.beginFrame", params)
        escaped = False
        retries = 0
        while True:
            try:
                answer_id, result = self._cdp.receive(timeout_s=POPUP_TIMEOUT_S)
            except CDPError as e:
                # The compositor can still be finishing the last frame after answering
                # it (seen once in 131 check_env runs, on a scrolling page): ask again.
                if e.command_id != frame_id or "pending" not in str(e) or retries == 50:
                    raise
                retries += 1
                time.sleep(0.001)
                frame_id = self._cdp.post("HeadlessExperimental.beginFrame", params)
                continue
            except TimeoutError:
                if escaped:
                    # The browser is no use any more: alive turns False, so the step
                    # reports it and the next reset starts a new browser.
                    self.stalled = True
                    raise RuntimeError("the page has stopped drawing frames") from None
                for kind in ("rawKeyDown", "keyUp"):
                    self._cdp.post("Input.dispatchKeyEvent", {"type": kind, **_ESCAPE})
                self.popups_closed += 1
                escaped = True
                continue
            if answer_id == frame_id:
                return result
            self._unanswered.discard(answer_id)
            if answered is not None:
                answered.discard(answer_id)

    def _active(self) -> None:
        """The env is using the page: the pump goes back to 60 Hz (input may start an
        animation), waking if it was sleeping out the idle interval (a hold's end wakes
        it from the held one). The caller holds the lock, as the pump does when it counts
        quiet frames."""
        if self._quiet_frames >= QUIET_FRAMES:
            self._wake.set()
        self._quiet_frames = 0

    def _pump_interval(self) -> float:
        if self._waiting:
            return FRAME_INTERVAL_S
        if self._held:
            return HELD_FRAME_INTERVAL_S
        if self._quiet_frames >= QUIET_FRAMES:
            return IDLE_FRAME_INTERVAL_S
        return FRAME_INTERVAL_S

    def _run(self) -> None:
        """A frame whenever the page has gone 1/60 s without one: an env that steps fast
        draws its own, and the pump stays out of its way."""
        try:
            while not self._stopping:
                due = self._last_frame_at + self._pump_interval() - time.monotonic()
                if due > 0:
                    self._wake.wait(due)
                    self._wake.clear()
                    continue
                with self._lock:
                    drew = self._frame().get("hasDamage", True)
                    self._quiet_frames = 0 if drew else self._quiet_frames + 1
        except Exception:
            # The browser went away: the pump ends, ``alive`` turns False, and the env's
            # next step or reset reports it (and a reset starts a new browser).
            return
