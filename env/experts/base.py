"""The expert interface, the lookup table, and one helper that plays a whole episode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import UserError

# Shared JavaScript helpers (visible points, text lookups), prepended to every expert.
_LIBRARY_JS = (Path(__file__).with_name("library.js")).read_text()


class NoExpertError(UserError):
    """A task without a scripted expert."""


class Expert:
    """``reset()`` before each episode, then ``act(env) -> Action`` once per step.
    ``env`` is an unwrapped BrowserEnv; experts read ``env.page``, never the screenshot."""

    task_name: str = ""

    def reset(self) -> None:
        pass

    def act(self, env) -> Action:
        raise NotImplementedError


class JSExpert(Expert):
    """An expert whose policy is one JavaScript function run in the page: it reads the
    DOM and returns the next action as a dict (``{type: "click", x, y}``). Whatever it
    needs to remember lives in ``M``, a per-episode object kept on the page."""

    def __init__(self, task_name: str, policy_js: str):
        self.task_name = task_name
        self._script = f"([W, H]) => {{\n{_LIBRARY_JS}\nreturn SP.finish(({policy_js})());\n}}"

    def act(self, env) -> Action:
        # W, H: the screenshot's size; a point outside it is not on screen.
        return Action.from_dict(env.page.evaluate(self._script, list(env.task.viewport)))


def _registry() -> dict[str, str]:
    from .miniwob_experts import POLICIES

    return {f"miniwob.{task_id}": js for task_id, js in POLICIES.items()}


def expert_tasks() -> list[str]:
    """Task names that have a scripted expert."""
    return sorted(_registry())


def get_expert(task_name: str) -> Expert:
    policies = _registry()
    if task_name not in policies:
        raise NoExpertError(
            f"no scripted expert for {task_name!r}; `screenpilot tasks --json` says which have one"
        )
    return JSExpert(task_name, policies[task_name])


@dataclass
class Episode:
    """One expert episode: the screenshot the expert's action was chosen on, the action,
    and how it ended. ``screenshots[i]`` is what was on screen before ``actions[i]``."""

    task_name: str
    seed: int
    task_text: str
    screenshots: list[np.ndarray] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    success: bool = False
    raw_reward: float = 0.0
    final_screenshot: np.ndarray | None = None
    errors: list[str] = field(default_factory=list)


def play_expert_episode(env, expert: Expert, seed: int, keep_screenshots: bool = True) -> Episode:
    """Reset ``env`` (an unwrapped BrowserEnv) with ``seed`` and let ``expert`` play."""
    obs, info = env.reset(seed=seed)
    expert.reset()
    episode = Episode(env.task.name, seed, obs["task"])
    while True:
        action = expert.act(env)
        if keep_screenshots:
            episode.screenshots.append(obs["screenshot"])
        episode.actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        if info["last_action_error"]:
            episode.errors.append(info["last_action_error"])
        if terminated or truncated:
            break
    episode.success = bool(info["success"])
    episode.raw_reward = float(info["raw_reward"])
    if keep_screenshots:
        episode.final_screenshot = obs["screenshot"]
    return episode


def run_expert_episode(task_name: str, seed: int, env=None, **env_kwargs) -> Episode:
    """Play one expert episode; opens (and closes) a BrowserEnv unless one is given."""
    from ..browser_env import BrowserEnv

    expert = get_expert(task_name)
    own = env is None
    env = BrowserEnv(task_name, **env_kwargs) if own else env.unwrapped
    try:
        return play_expert_episode(env, expert, seed)
    finally:
        if own:
            env.close()
