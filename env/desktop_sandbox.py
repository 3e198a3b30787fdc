"""DesktopSandboxEnv: a sandbox task in a real Chromium window on an X display, acted on
only through OS input (pyautogui's XTEST, as a person's hands) and observed only through
the screen (mss), while the task's page still judges the reward.

It is the sandbox seen the way a screen recording sees it: the scripted experts record
through it (`record expert --via desktop`) and the agent is evaluated in it (`eval
--desktop`). The observation is the task's screen area of the window (``screen_region``,
the same pixels as BrowserEnv's screenshot: same Chromium, fonts and layout), found by
moving the real pointer onto the page and reading where the page saw it.

Without ``display`` the env starts a private Xvfb of its own, sized to the window.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

import numpy as np

from screenpilot.dataset.actions import Action

from .browser_env import BrowserEnv
from .os_input import HumanPace, OSInput
from .screen_area import as_monitor, grab_rgb
from .virtual_display import VirtualDisplay

# Counts the input events the page receives, so a step waits until the OS has delivered
# its action (XTEST -> X server -> Chromium is asynchronous) before the screen is read.
# Capture phase on window: seen even by pages that stop propagation.
INPUT_COUNTER_JS = """(() => {
  if (window.__spInput) return;
  const s = window.__spInput = {doc: Math.random(), mousemove: 0, mousedown: 0, mouseup: 0,
                                keyup: 0, wheel: 0, x: null, y: null};
  for (const kind of ["mousemove", "mousedown", "mouseup", "keyup", "wheel"])
    window.addEventListener(kind, e => {
      s[kind]++;
      if (kind === "mousemove") { s.x = e.clientX; s.y = e.clientY; }
    }, true);
})()"""
READ_COUNTS_JS = "() => window.__spInput || null"
NEXT_FRAMES_JS = (
    "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
)
DELIVERY_TIMEOUT_S = 2.0
LOCATE_TRIES = 5
# After the page has drawn: time for the compositor's frame to reach the X screen.
PRESENT_S = 0.02


@dataclass(frozen=True)
class DesktopOptions:
    """How episodes are played (and recorded) on the desktop."""

    display: str | None = None  # None: each worker starts a private Xvfb
    human_pace: bool = False  # a person's pace (recording experts), else at once (the agent)
    record_fps: float = 20  # the desktop recorder's frame rate, where recording
    draw_pointer: bool = False  # the pointer drawn into recorded frames


def _expected_events(action: Action) -> tuple[str, int] | None:
    """The page event that shows the action has arrived, and how many more of it."""
    return {
        "click": ("mouseup", 1), "right_click": ("mouseup", 1), "double_click": ("mouseup", 2),
        "drag": ("mouseup", 1), "mouse_up": ("mouseup", 1), "mouse_down": ("mousedown", 1),
        "scroll": ("wheel", 1), "key": ("keyup", 1),
        "type": ("keyup", len(action.text or "")),
    }.get(action.type)  # fmt: skip


class DesktopSandboxEnv(BrowserEnv):
    def __init__(
        self,
        task,
        *,
        display: str | None = None,
        human_pace: bool = False,
        pace_seed: int = 0,
        **kwargs,
    ):
        """``human_pace``: act at a person's pace (env/os_input.py's HumanPace, seeded
        with ``pace_seed`` + the episode's seed), as recordings of experts want; else at
        once, as the agent does."""
        kwargs.pop("headless", None)
        super().__init__(task, headless=False, **kwargs)
        self._virtual = None
        if display is None:
            width, height = self.task.window_size or self.task.viewport
            self._virtual = VirtualDisplay((max(640, width + 64), max(480, height + 160)))
            display = self._virtual.start()
        self.display = display
        self.human_pace = human_pace
        self.pace_seed = pace_seed
        self._input: OSInput | None = None
        self._grabber = None
        self._monitor: dict | None = None
        self.screen_region: tuple[int, int, int, int] | None = None  # left, top, w, h

    # ---- the window on the screen ----------------------------------------------------
    def _restart_browser(self) -> None:
        super()._restart_browser()
        self._session.page.context.add_init_script(script=INPUT_COUNTER_JS)
        self.screen_region = None  # a new window: found again on the next page

    def _counts(self) -> dict:
        page = self.page
        counts = page.evaluate(READ_COUNTS_JS)
        if counts is None:  # a page loaded before the init script was added
            page.evaluate(INPUT_COUNTER_JS)
            counts = page.evaluate(READ_COUNTS_JS)
        return counts

    def _locate_window(self) -> None:
        """Where the page's (0, 0) is on the screen: move the real pointer onto the page
        and read the page's coordinates of it. Then give the window the keyboard focus
        (no window manager does it on a bare X server)."""
        import mss

        if self._input is None:
            self._input = OSInput(self.display)
            self._grabber = mss.MSS(display=self.display)
        gui = self._input.gui
        left, top, chrome_w, chrome_h = self.page.evaluate(
            "[window.screenX, window.screenY, window.outerWidth - window.innerWidth,"
            " window.outerHeight - window.innerHeight]"
        )
        # Inside the page, whatever the window's chrome.
        probe = (left + chrome_w // 2 + 20, top + chrome_h + 20)
        origin = None
        # Two probes must agree (the page saw our pointer, not a stale one); a window still
        # being mapped on a busy machine gets a few tries.
        for _ in range(LOCATE_TRIES):
            found = []
            for dx in (0, 7):
                before = self._counts()
                gui.moveTo(probe[0] + dx, probe[1] + dx)
                seen = self._wait_for(before, ("mousemove", 1))
                if seen is not None and seen["x"] is not None:
                    found.append((probe[0] + dx - seen["x"], probe[1] + dx - seen["y"]))
            if len(found) == 2 and found[0] == found[1]:
                origin = found[0]
                break
            gui.moveTo(probe[0] + 40, probe[1] + 40)  # from elsewhere next time
        if origin is None:  # this episode fails; the next starts on a new browser
            raise RuntimeError(f"the page never saw the pointer on display {self.display}")
        width, height = self.task.viewport
        self.screen_region = (origin[0], origin[1], width, height)
        self._input.origin = origin
        self._monitor = as_monitor(self.screen_region)
        window = subprocess.run(
            ["xdotool", "getmouselocation", "--shell"], capture_output=True, text=True,
            env={**os.environ, "DISPLAY": self.display}, check=False,
        ).stdout  # fmt: skip
        for line in window.splitlines():
            if line.startswith("WINDOW="):
                subprocess.run(["xdotool", "windowfocus", line[7:]], check=False,
                               env={**os.environ, "DISPLAY": self.display})  # fmt: skip

    def _wait_for(self, before: dict, expected: tuple[str, int]) -> dict | None:
        """The page's counts once ``expected`` more events of a kind have arrived (or the
        page changed: a navigation starts a new count); None after the timeout."""
        kind, more = expected
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while True:
            now = self._counts()
            if now["doc"] != before["doc"] or now[kind] >= before[kind] + more:
                return now
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)

    # ---- BrowserEnv's hooks ----------------------------------------------------------
    def _park_pointer(self) -> None:
        """The pointer rests outside the task's area (inside the window where the window
        is larger, so that the keyboard focus and hover stay with the page)."""
        if self.screen_region is None:
            self._locate_window()
        # A pace of its own for each episode: the same seed moves the same way.
        self._input.human = (
            HumanPace(self.pace_seed + (self._seed or 0)) if self.human_pace else None
        )
        left, top, width, height = self.screen_region
        window_w, window_h = self.task.window_size or (width + 8, height + 8)
        self._input.gui.moveTo(left + window_w - 4, top + window_h - 4)

    def _perform(self, action: Action) -> None:
        expected = _expected_events(action)
        before = self._counts() if expected and expected[1] > 0 else None
        if action.type == "wait":
            time.sleep(self.wait_ms / 1000)
        elif action.type != "done":
            self._input.perform(action)
        if before is not None:
            self._wait_for(before, expected)

    def _observe(self) -> dict:
        # The page has drawn what the action did, then the frame reaches the screen.
        self.page.evaluate(NEXT_FRAMES_JS)
        time.sleep(PRESENT_S)
        if self._monitor is None:
            self._locate_window()
        width, height = self.task.viewport
        frame = np.empty((height, width, 3), np.uint8)
        grab_rgb(self._grabber, self._monitor, out=frame)
        self._last_screenshot = frame
        self._grounding = None
        return {"screenshot": frame.copy(), "task": self._task_text}

    def close(self):
        super().close()
        if self._grabber is not None:
            self._grabber.close()
            self._grabber = None
        if self._virtual is not None:
            self._virtual.stop()
            self._virtual = None
