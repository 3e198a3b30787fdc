"""Many episodes on several browsers at once.

``run_episodes(tasks, seeds, workers=K)`` plays every (task, seed) pair, each in its own
freshly reset episode, and returns the results in the order of the pairs. An episode
depends only on its task, its seed and the policy, never on which worker ran it or
what ran before, so the results do not depend on K. Workers are spawned processes,
one browser each (``screenpilot.env.pool``); each closes its browser before it exits.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np

from .pool import run_jobs

POLICIES = ("expert", "random")


@dataclass(frozen=True)
class EpisodeResult:
    task_name: str
    seed: int
    success: bool
    raw_reward: float
    steps: int
    seconds: float
    error: str | None = None  # an exception that ended the episode early

    def to_dict(self) -> dict:
        return asdict(self)


def run_episodes(
    tasks: Iterable[str],
    seeds: Iterable[int],
    *,
    workers: int = 1,
    policy: str | Callable = "expert",
    max_steps: int | None = None,
    on_result: Callable[[EpisodeResult], None] | None = None,
) -> list[EpisodeResult]:
    """Play each task on each seed. ``policy``: ``"expert"`` (the task's scripted
    expert), ``"random"`` (``action_space`` samples, seeded by the episode's seed), or a
    picklable function ``(env, obs, rng) -> Action``. ``on_result`` sees each result as
    it arrives (in completion order)."""
    seeds = list(seeds)
    jobs = [(task, seed) for task in tasks for seed in seeds]
    if isinstance(policy, str) and policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES} or a function, got {policy!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    make_runner = functools.partial(_EpisodeRunner, policy, max_steps)
    return run_jobs(make_runner, jobs, workers=workers, on_result=on_result)


class _EpisodeRunner:
    """Keeps one env open while consecutive jobs share a task."""

    def __init__(self, policy, max_steps):
        self.policy = policy
        self.max_steps = max_steps
        self.env = None
        self.expert = None

    def _env_for(self, task: str):
        from .browser_env import BrowserEnv

        if self.env is None or self.env.task.name != task:
            self.close()
            self.env = BrowserEnv(task, max_steps=self.max_steps)
            if self.policy == "expert":
                from .experts import get_expert

                self.expert = get_expert(task)
        return self.env

    def run(self, job: tuple[str, int]) -> EpisodeResult:
        task, seed = job
        start = time.perf_counter()
        steps = 0
        try:
            env = self._env_for(task)
            obs, info = env.reset(seed=seed)
            rng = np.random.default_rng(seed)
            env.action_space.seed(seed)
            if self.expert is not None:
                self.expert.reset()
            while True:
                action = self._next_action(env, obs, rng)
                obs, reward, terminated, truncated, info = env.step(action)
                steps += 1
                if terminated or truncated:
                    break
            return EpisodeResult(
                task,
                seed,
                bool(info["success"]),
                float(info["raw_reward"]),
                steps,
                time.perf_counter() - start,
                info.get("browser_error"),
            )
        except Exception as e:
            if self.env is not None:  # start the next episode on a clean browser
                self.close()
            first_line = (str(e).splitlines() or [""])[0]
            return EpisodeResult(
                task,
                seed,
                False,
                0.0,
                steps,
                time.perf_counter() - start,
                f"{type(e).__name__}: {first_line}",
            )

    def _next_action(self, env, obs, rng):
        if self.policy == "expert":
            return self.expert.act(env)
        if self.policy == "random":
            return env.action_space.sample()
        return self.policy(env, obs, rng)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
        self.env = self.expert = None
