"""screenpilot's sandbox: Gymnasium environments, task suites and scripted experts.

    import gymnasium as gym
    from screenpilot import env                  # registers screenpilot/* ids

    e = gym.make("screenpilot/miniwob.click-button-v0")   # or env.BrowserEnv("miniwob.click-button")
    obs, info = e.reset(seed=7)                  # obs = {"screenshot": uint8 (H, W, 3), "task": str}
    obs, reward, terminated, truncated, info = e.step(Action(type="click", x=80, y=105))
    # reward 1.0 on success at the end; info: raw_reward, task_reward, success, steps,
    # seed, last_action_error (an action that cannot run sets it; step never raises for it)

    web = env.BrowserEnv("web")                  # gym id screenpilot/web-v0
    web.reset(options={"url": "file:///...", "task": "...", "validator": "JS expr or callable"})

One rollout loop for any policy (``reset(task_name, seed)``, ``act(obs, history, env)``):

    from screenpilot.env import ExpertPolicy, RandomPolicy, run_episode
    rollout = run_episode(e, ExpertPolicy(), seed=3, record_to="demos")  # record_to: optional
    # -> Rollout(task_name, seed, task, steps (action, ms, error), screenshots: before each
    #    action and the last, success, raw_reward, terminated, truncated, error, recorded)
    rollout = env.run_expert_episode("miniwob.enter-text", seed=3)   # opens its own env
    # Scripted experts are privileged: ExpertPolicy reads the page through ``env.page``,
    # the model never does. env.expert_tasks() lists the tasks that have one.

Many episodes on K browsers, results independent of K:

    results = env.run_episodes(["miniwob.click-test"], seeds=range(200), workers=2)
    # -> [EpisodeResult(task_name, seed, success, raw_reward, steps, seconds, error)], in
    #    (task, seed) order; policy="expert" | "random" | a picklable factory of a Policy
    env.run_jobs(make_runner, jobs, workers=K)   # the same pool for any per-browser job

Other pieces: ``env.DesktopEnv(task, display=":99", region=None, validator=None)``, the same
contract on an X display (mss + pyautogui); ``env.task_names()``, ``env.gym_id(name)``.
Playwright is imported only when a browser starts.
"""

from __future__ import annotations

import importlib

from .registration import gym_id, register_envs, task_infos, task_names

# Lazy re-exports: the name -> the module that defines it. Importing ``env`` stays cheap.
_LAZY = {
    "BrowserEnv": "screenpilot.env.browser_env",
    "DesktopEnv": "screenpilot.env.desktop_env",
    "Policy": "screenpilot.env.rollout",
    "RandomPolicy": "screenpilot.env.rollout",
    "Rollout": "screenpilot.env.rollout",
    "run_episode": "screenpilot.env.rollout",
    "ExpertPolicy": "screenpilot.env.experts",
    "expert_tasks": "screenpilot.env.experts",
    "run_expert_episode": "screenpilot.env.experts",
    "run_episodes": "screenpilot.env.parallel",
    "EpisodeResult": "screenpilot.env.parallel",
    "run_jobs": "screenpilot.env.pool",
}

__all__ = ["gym_id", "register_envs", "task_infos", "task_names", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'env' has no attribute {name!r}")


register_envs()
