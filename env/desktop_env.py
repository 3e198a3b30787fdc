"""DesktopEnv: the BrowserEnv contract on a real X display. Screenshots through mss,
actions through pyautogui (PAUSE 0; FAILSAFE left on on purpose: a person can stop a
runaway agent by throwing the pointer into a screen corner).

There is no task page to judge here: a task is its text plus, optionally, a validator
``env -> float | bool``. Without one there is no reward; episodes end on ``done`` or at
the step limit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from screenpilot.dataset.errors import ActionError, UserError

from . import spaces
from .browser_env import to_action
from .execute import check_on_screen
from .os_input import OSInput
from .screen_area import as_monitor, capture_area, grab_rgb


class DesktopEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        task: str = "",
        *,
        display: str | None = None,
        region: tuple[int, int, int, int] | None = None,
        validator: Callable | None = None,
        max_steps: int = 50,
        wait_ms: int = 100,
        render_mode: str | None = None,
    ):
        """``region`` = (left, top, width, height) of the screen to observe and act in
        (default: the whole first monitor); action coordinates are relative to it."""
        import mss

        self.display = display or os.environ.get("DISPLAY")
        if not self.display:
            raise UserError("DesktopEnv needs an X display: pass display=':99' or set $DISPLAY")
        self.task_text = task
        self.validator = validator
        self.max_steps = max_steps
        self.wait_ms = wait_ms
        self.render_mode = render_mode
        try:
            self._mss = mss.MSS(display=self.display)
        except Exception as e:
            raise UserError(f"cannot open X display {self.display}: {e}") from None
        self.region = capture_area(self._mss, region)
        left, top, width, height = self.region
        self._monitor = as_monitor(self.region)
        self.observation_space = spaces.observation_space(width, height)
        self.action_space = spaces.action_space(width, height)
        self._input = OSInput(self.display, origin=(left, top))
        # One buffer reused for every grab: a fresh array per frame costs ~5 ms at 720p.
        self._frame = np.empty((height, width, 3), np.uint8)
        self._steps = 0

    @property
    def screen_size(self) -> tuple[int, int]:
        return self.region[2], self.region[3]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        self.task_text = options.get("task", self.task_text)
        self.validator = options.get("validator", self.validator)
        self._steps = 0
        return self._observe(), self._info(0.0, False, None)

    def step(self, action):
        self._steps += 1
        error = None
        parsed = None
        failsafe = False
        try:
            parsed = to_action(action)
            check_on_screen(parsed, *self.screen_size)
            if parsed.type == "wait":
                time.sleep(self.wait_ms / 1000)
            else:
                self._input.perform(parsed)
        except ActionError as e:
            error = str(e)
        except self._input.gui.FailSafeException:
            # The person pulled the pointer into a corner: that always stops the episode.
            error = "pyautogui fail-safe: the pointer is in a screen corner; stopped"
            failsafe = True
        score = float(self.validator(self) or 0.0) if self.validator else 0.0
        success = score > 0
        terminated = success or (parsed is not None and parsed.type == "done")
        truncated = not terminated and (failsafe or self._steps >= self.max_steps)
        reward = 1.0 if success else 0.0
        info = self._info(score, success, error)
        info["failsafe"] = failsafe
        return self._observe(), reward, terminated, truncated, info

    def render(self):
        return self._frame.copy() if self.render_mode == "rgb_array" else None

    def close(self):
        if getattr(self, "_mss", None) is not None:
            self._mss.close()
            self._mss = None
        super().close()

    def _observe(self) -> dict:
        grab_rgb(self._mss, self._monitor, out=self._frame)
        return {"screenshot": self._frame.copy(), "task": self.task_text}

    def _info(self, score: float, success: bool, error: str | None) -> dict:
        return {
            "steps": self._steps,
            "success": success,
            "raw_reward": score,
            "last_action_error": error,
        }
