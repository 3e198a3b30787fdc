"""BrowserEnv: a Gymnasium environment around one Playwright Chromium page.

Headless, the page runs in the headless shell under frame control: screenshots, mouse
and keyboard go over our own DevTools connection (env/frames.py, env/mouse.py,
env/keyboard.py); headed, or with another Chromium, through Playwright.

Observation ``{"screenshot": uint8 (H, W, 3), "task": str}``; ``step`` takes an Action,
its dict form, its text form or an ``action_space`` sample. Reward 1.0 when the episode
ends in success, else 0.0; the task's own rewards go in ``info``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import ActionError

from . import execute, spaces
from .browser import BrowserCrashedError, BrowserSession
from .tasks.base import Task, TaskResult

PARK_POINT = (-1, -1)  # outside the viewport: no element starts an episode hovered
SEED_BOUND = 2**31 - 1


class BrowserEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    display: str | None = None  # where a headed browser opens (None: $DISPLAY)

    def __init__(
        self,
        task: str | Task,
        *,
        max_steps: int | None = None,
        headless: bool = True,
        render_mode: str | None = None,
        wait_ms: int = 100,
        viewport: tuple[int, int] | None = None,
    ):
        from .registration import make_task  # the table of suites

        self.task: Task = make_task(task, viewport=viewport) if isinstance(task, str) else task
        self.max_steps = int(max_steps or self.task.default_max_steps)
        self.headless = headless
        self.render_mode = render_mode
        self.wait_ms = wait_ms
        width, height = self.task.viewport
        self.observation_space = spaces.observation_space(width, height)
        self.action_space = spaces.action_space(width, height)
        self._session: BrowserSession | None = None
        self._pointer = execute.PointerState()
        self._task_text = ""
        self._steps = 0
        self._episode_max_steps = self.max_steps
        self._seed = None
        self._ended = False
        self._last_screenshot = np.zeros((height, width, 3), np.uint8)
        self._grounding: list[dict] | None = None  # of the last observation, once asked for

    def switch_task(self, task: str) -> bool:
        """Play ``task`` from the next reset on, in the browser already running: its first
        reset loads the task's page (tens of ms) where a new env would launch a browser
        (about a second, many on a busy machine). False, and nothing changes, where
        ``task`` lays out in another window (viewport or window size)."""
        from .registration import make_task

        new = make_task(task)
        if (new.viewport, new.window_size) != (self.task.viewport, self.task.window_size):
            return False
        self.task = new
        self.max_steps = self._episode_max_steps = new.default_max_steps
        return True

    # ---- privileged access, for experts and tests (never the model) -----------------
    @property
    def page(self):
        """The live Playwright page. Experts read the DOM through it."""
        if self._session is None or self._session.page is None:
            raise RuntimeError("no page yet: call reset() first")
        return self._session.page

    def grounding(self) -> list[dict]:
        """The visible text items of the page the last observation shows (text, kind,
        box in screenshot pixels: env/grounding.py); read once per observation. Labels
        for training, never the model's input. A page that cannot be read (the browser
        died, a navigation is under way) has none: labels never stop an episode."""
        if self._grounding is None:
            from .grounding import text_items

            page = self.page
            try:
                self._grounding = text_items(page, *self.task.viewport)
            except Exception:  # noqa: BLE001 - Playwright's and DevTools' errors alike
                self._grounding = []
        return [dict(item) for item in self._grounding]

    @property
    def blocked_urls(self) -> list[str]:
        return [] if self._session is None else list(self._session.blocked_urls)

    @property
    def browser_pids(self) -> set[int]:
        """The browser's processes still running (some end early: the launch's first
        blank page)."""
        return set() if self._session is None else self._session.live_pids()

    # ---- Gymnasium API ------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        # The page's seed: the caller's own when given (so "seed 7" means the same task
        # instance as in miniwob's env), else drawn from the env's seeded generator.
        self._seed = int(seed) if seed is not None else int(self.np_random.integers(SEED_BOUND))
        # A step limit given in options holds for this episode only.
        self._episode_max_steps = int(options.pop("max_steps", self.max_steps))
        if hasattr(self.task, "configure"):
            self.task.configure(options)
        self._ensure_browser()
        try:
            obs = self._start_episode(options)
        except Exception as first_error:
            if self._session.alive:
                raise
            # The browser died (or its frames stopped) between episodes: one fresh
            # start, then give up loudly.
            self._restart_browser()
            try:
                obs = self._start_episode(options)
            except Exception:
                raise BrowserCrashedError(
                    f"browser failed to start an episode: {first_error}"
                ) from None
        self._steps = 0
        self._ended = False
        self._popups_reported = self._session.frames.popups_closed
        return obs, self._info(TaskResult(False), error=None)

    def step(self, action):
        if self._ended:
            raise RuntimeError("the episode has ended: call reset() before step()")
        self._steps += 1
        session = self._session
        with session.frames.hold():  # the step ends in a screenshot of its own
            obs, result, error, browser_error = self._act(action)
        # Counted since the last step, not during this one: on a busy machine a popup can
        # open only after the step's screenshot, and the pump closes it between steps.
        popups_closed = session.frames.popups_closed
        if error is None and popups_closed > self._popups_reported:
            error = "the action opened a popup the sandbox cannot draw; it was closed (Escape)"
        self._popups_reported = popups_closed
        if browser_error is not None:
            # Nothing more can happen in this episode; reset() brings a new browser.
            obs = {"screenshot": self._last_screenshot.copy(), "task": self._task_text}
            result = TaskResult(False)
        terminated = result.done
        truncated = not terminated and (
            browser_error is not None or self._steps >= self._episode_max_steps
        )
        self._ended = terminated or truncated
        reward = 1.0 if result.success else 0.0
        info = self._info(result, error)
        if browser_error is not None:
            info["browser_error"] = browser_error
        return obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "rgb_array":
            return self._last_screenshot.copy()
        return None

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None
        super().close()

    # ---- internals ----------------------------------------------------------------
    def _ensure_browser(self) -> None:
        wanted = frozenset(self.task.allowed_hosts)
        if self._session is None or not self._session.alive:
            self._restart_browser()
        self._session.allowed_hosts = wanted  # the route handler reads it per request

    def _restart_browser(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = BrowserSession(
            viewport=self.task.window_size or self.task.viewport,
            screen_size=self.task.viewport,
            headless=self.headless,
            display=self.display,
            allowed_hosts=frozenset(self.task.allowed_hosts),
        )
        self._pointer = execute.PointerState()
        self._session.start()

    def _act(self, action):
        """Run the action, judge the page, take the screenshot: (obs, result, error,
        browser_error). An error means the action could not run; a
        browser error, that the browser died (obs is then None)."""
        error = browser_error = parsed = obs = None
        try:
            parsed = to_action(action)
            execute.check_on_screen(parsed, *self.task.viewport)
            self._perform(parsed)
        except ActionError as e:
            error = str(e)
        except Exception as e:  # Playwright's errors, from a timeout to a dead browser
            if self._session.alive:
                error = f"{type(e).__name__}: {_first_line(e)}"
            else:
                browser_error = f"browser died: {_first_line(e)}"
        result = TaskResult(False)
        if browser_error is None:
            try:
                try:
                    result = self.task.validate(self.page)
                    if parsed is not None and parsed.type == "done" and not result.done:
                        result = self.task.finish(self.page)
                except Exception as e:
                    if not self._session.alive:
                        raise
                    # The action took the page away from the task (a reload, a link):
                    # the episode goes on, judged unfinished; the next reset reloads.
                    error = error or f"the task page cannot be judged: {_first_line(e)}"
                obs = self._observe()
            except Exception as e:
                if self._session.alive:
                    raise
                browser_error = f"browser died: {_first_line(e)}"
        return obs, result, error, browser_error

    def _start_episode(self, options: dict) -> dict:
        """Set the task up for this episode; its first observation."""
        with self._session.frames.hold():
            execute.release_all(self._session.mouse, self._pointer)
            self._task_text = self.task.setup(self.page, self._seed, options)
            # After setup, which may load the page anew: the move lands on the new page.
            self._park_pointer()
            return self._observe()

    def _perform(self, action: Action) -> None:
        execute.perform(self._session, action, self._pointer, self.wait_ms)

    def _park_pointer(self) -> None:
        self._session.park_pointer(*PARK_POINT)

    def _observe(self) -> dict:
        self._last_screenshot = self._session.frames.capture(*self.task.viewport)
        self._grounding = None
        return {"screenshot": self._last_screenshot.copy(), "task": self._task_text}

    def _info(self, result: TaskResult, error: str | None) -> dict:
        return {
            "task_name": self.task.name,
            "seed": self._seed,
            "steps": self._steps,
            "success": result.success,
            "raw_reward": result.raw_reward,
            "task_reward": result.task_reward,
            "reason": result.reason,
            "last_action_error": error,
        }


def to_action(action) -> Action:
    """An Action from any of the forms ``step`` accepts; ActionError otherwise."""
    if isinstance(action, Action):
        return action
    if spaces.is_space_sample(action):
        return spaces.action_from_sample(action)
    if isinstance(action, dict):
        return Action.from_dict(action)
    if isinstance(action, str):
        return Action.from_text(action)
    raise ActionError(
        f"an action is an Action, a dict or a line of text, got {type(action).__name__}"
    )


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
