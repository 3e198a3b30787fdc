"""Episodes played in a DesktopSandboxEnv, recorded the way a person's are: the desktop
recorder films the task's screen area and listens to the OS input while the episode is
played, and the episode's steps come from segmenting those events (dataset/segment.py),
never from the player's own log of what it did.

It has EpisodeRecorder's interface (env/rollout.py), so ``run_episode`` and the worker
pool drive it unchanged; the frames and steps it is handed are ignored on purpose.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from screenpilot.dataset.errors import UserError

# After the last action: the screen it left is filmed before the recording stops.
TAIL_S = 0.3
START_TIMEOUT_S = 30.0


class DesktopEpisodeRecorder:
    def __init__(self, root: str | Path, *, fps: float = 20, draw_pointer: bool = False):
        self.root = Path(root)
        self.fps = fps
        self.draw_pointer = draw_pointer
        self._thread: threading.Thread | None = None

    def start(self, rollout, screenshot, policy, env=None) -> None:
        from .desktop import record_desktop

        if env is None or getattr(env, "screen_region", None) is None:
            raise UserError("a desktop recording needs a DesktopSandboxEnv (--via desktop)")
        self._stop = threading.Event()
        self._outcome: dict = {}
        self._result = self._error = None
        started = threading.Event()
        metadata = {"env": rollout.task_name, "seed": rollout.seed, "policy": policy.name,
                    "via": "desktop"}  # fmt: skip

        def record() -> None:
            try:
                self._result = record_desktop(
                    self.root, rollout.task, fps=self.fps, region=env.screen_region,
                    display=env.display, stop_event=self._stop,
                    announce=lambda _line: started.set(), metadata=metadata,
                    outcome=lambda: self._outcome, draw_pointer=self.draw_pointer,
                )  # fmt: skip
            except BaseException as e:  # noqa: BLE001 - raised again in the playing thread
                self._error = e
            finally:
                started.set()

        self._thread = threading.Thread(target=record, name="desktop-recorder", daemon=True)
        self._thread.start()
        if not started.wait(START_TIMEOUT_S):
            raise RuntimeError("the desktop recorder did not start")
        if self._error is not None:
            raise self._error

    def add_frame(self, k, screenshot, grounding=None) -> None:
        pass  # the recorder films the screen itself

    def add_action(self, k, action) -> None:
        pass  # the steps are what segmentation finds in the OS input

    def _stop_recording(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join()
        if self._error is not None:
            raise self._error

    def finish(self, rollout) -> dict:
        time.sleep(TAIL_S)
        self._outcome = {"success": rollout.success, "raw_reward": rollout.raw_reward,
                         "action_errors": rollout.action_errors}  # fmt: skip
        if rollout.error:
            self._outcome["error"] = rollout.error
        self._stop_recording()
        return self._result.meta

    def abandon(self, error: BaseException) -> None:
        from screenpilot.env.rollout import describe_error

        self._outcome = {"success": False, "raw_reward": 0.0, "error": describe_error(error)}
        with contextlib.suppress(Exception):
            self._stop_recording()
