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

Scripted experts (privileged: they read the page through ``env.page``; the model never does):

    expert = env.get_expert("miniwob.click-button")   # env.expert_tasks() lists them
    expert.reset()                                     # before each episode
    action = expert.act(e.unwrapped)                   # -> dataset.actions.Action
    episode = env.run_expert_episode("miniwob.enter-text", seed=3)   # opens its own env
    # -> Episode(task_name, seed, task_text, screenshots[i] = the screen before actions[i],
    #    actions, success, raw_reward, final_screenshot, errors)
    # on an env you keep open: env.experts.base.play_expert_episode(env, expert, seed)

Many episodes on K browsers, results independent of K:

    results = env.run_episodes(["miniwob.click-test"], seeds=range(200), workers=2)
    # -> [EpisodeResult(task_name, seed, success, raw_reward, steps, seconds, error)], in
    #    (task, seed) order; policy="expert" | "random" | a function (env, obs, rng) -> Action
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
    "get_expert": "screenpilot.env.experts",
    "expert_tasks": "screenpilot.env.experts",
    "run_expert_episode": "screenpilot.env.experts",
    "Episode": "screenpilot.env.experts",
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
