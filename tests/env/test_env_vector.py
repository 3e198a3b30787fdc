"""Gymnasium's own AsyncVectorEnv over two BrowserEnvs: each sub-env is the same env as a
single one (same seed, same task and screen), and actions reach the right browser."""

import gymnasium as gym
import numpy as np
import pytest

from screenpilot.dataset.actions import ACTION_TYPES
from screenpilot.env import ExpertPolicy, gym_id

pytestmark = pytest.mark.integration
TASK = "miniwob.click-test"
SEEDS = [11, 12]


def _make():
    return gym.make(gym_id(TASK))


def _expert_first_clicks() -> list[tuple[str, np.ndarray, tuple[int, int]]]:
    """Per seed, from a single env: the task text, the screen and the expert's click."""
    env = _make()
    expert = ExpertPolicy()
    try:
        out = []
        for seed in SEEDS:
            obs, _ = env.reset(seed=seed)
            expert.reset(TASK, seed)
            action = expert.act(obs, [], env)
            out.append((obs["task"], obs["screenshot"], (action.x, action.y)))
        return out
    finally:
        env.close()


def test_async_vector_env_of_two_browser_envs():
    singles = _expert_first_clicks()
    # shared_memory=False: Gymnasium 1.4 decodes a Text space's shared memory once, when
    # the vector env is built, so every task text would read back empty.
    vec = gym.vector.AsyncVectorEnv([_make, _make], context="spawn", shared_memory=False)
    try:
        obs, info = vec.reset(seed=SEEDS)
        assert list(obs["task"]) == [task for task, _, _ in singles]
        for i, (_, screen, _) in enumerate(singles):
            assert np.array_equal(obs["screenshot"][i], screen)
        actions = vec.action_space.sample()
        actions["type"][:] = ACTION_TYPES.index("click")
        actions["x"][:] = [x for _, _, (x, _) in singles]
        actions["y"][:] = [y for _, _, (_, y) in singles]
        # The first env clicks its button; the second clicks a corner with no button.
        actions["x"][1], actions["y"][1] = 0, 0
        obs, reward, terminated, truncated, info = vec.step(actions)
        assert reward[0] == 1.0 and terminated[0] and bool(info["success"][0])
        assert reward[1] == 0.0 and not info["success"][1]
        assert info["last_action_error"][1] is None
    finally:
        vec.close()
