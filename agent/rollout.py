"""One episode of an agent in an env: the loop, what it saw and did, and its video."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from screenpilot.dataset.actions import Action


@dataclass
class Step:
    action: Action  # .frame is the index of the screenshot it was chosen on
    ms: float  # how long the agent took to choose it
    error: str | None = None  # the env could not run it (info["last_action_error"])


@dataclass
class Rollout:
    task_name: str | None
    seed: int | None
    task: str
    steps: list[Step] = field(default_factory=list)
    screenshots: list[np.ndarray] = field(default_factory=list)  # before each step, + the last
    success: bool = False
    raw_reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    error: str | None = None  # the episode could not go on (a dead browser ...)

    @property
    def actions(self) -> list[Action]:
        return [s.action for s in self.steps]

    @property
    def mean_action_ms(self) -> float:
        return float(np.mean([s.ms for s in self.steps])) if self.steps else 0.0

    def outcome(self) -> str:
        if self.error:
            return f"stopped: {self.error}"
        if self.success:
            return f"success (reward {self.raw_reward:.2f})"
        if self.terminated:
            return f"failed (reward {self.raw_reward:.2f})"
        return "stopped at the step limit"


def run_episode(
    env,
    agent,
    *,
    seed: int | None = None,
    options: dict | None = None,
    max_steps: int | None = None,
    keep_screenshots: bool = True,
    on_step: Callable[[int, Step], None] | None = None,
) -> Rollout:
    """Reset ``env`` and let ``agent`` act until the episode ends or ``max_steps``."""
    task_name = getattr(getattr(env.unwrapped, "task", None), "name", None)
    obs, info = env.reset(seed=seed, options=options)
    agent.reset(task_name, seed)
    rollout = Rollout(task_name, seed, obs["task"])
    limit = max_steps or getattr(env.unwrapped, "max_steps", 30)
    history: list[Action] = []
    for k in range(limit):
        if keep_screenshots:
            rollout.screenshots.append(obs["screenshot"])
        start = time.perf_counter()
        action = agent.act(obs, history, env=env).with_time(None, k)
        step = Step(action, (time.perf_counter() - start) * 1000)
        obs, reward, terminated, truncated, info = env.step(action)
        step.error = info.get("last_action_error")
        rollout.steps.append(step)
        history.append(action)
        if on_step is not None:
            on_step(k, step)
        rollout.success = bool(info.get("success"))
        rollout.raw_reward = float(info.get("raw_reward") or 0.0)
        rollout.terminated, rollout.truncated = terminated, truncated
        if info.get("browser_error"):
            rollout.error = info["browser_error"]
        if info.get("failsafe"):
            rollout.error = step.error  # the pointer in a screen corner stops it, always
        if terminated or truncated:
            break
    if keep_screenshots:
        rollout.screenshots.append(obs["screenshot"])
    return rollout


def write_rollout_video(rollout: Rollout, path: str | Path, fps: float = 2.0) -> Path:
    """What the agent saw and did: each screenshot with the action chosen on it drawn
    (a ring where it clicked, an arrow where it dragged, typed text and keys as a
    caption, the step number), then the screen it left behind."""
    from screenpilot.dataset.render import write_annotated_video

    if not rollout.screenshots:
        raise ValueError("this rollout kept no screenshots")
    height, width = rollout.screenshots[0].shape[:2]
    # Sizes can change mid-episode on a desktop; the video keeps the first frame's.
    frames = (
        s if s.shape[:2] == (height, width) else _fit(s, width, height) for s in rollout.screenshots
    )
    return write_annotated_video(
        frames, rollout.actions, path, fps=fps, width=width, height=height, hold_seconds=1 / fps
    )


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
