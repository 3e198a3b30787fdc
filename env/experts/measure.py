"""How good each scripted expert is, measured: success from the task's start and from
states that random actions left (DAgger asks the expert in states a model reached, so it
must finish from anywhere), mean steps, and the action types it uses.

``bench/expert_bench.py`` runs the measurement; ``--write`` keeps the table beside this
module (``measured.json``), where ``screenpilot tasks --json`` reads it.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from ..rollout import Policy, RandomPolicy, Rollout
from .base import ExpertPolicy

MEASURED_PATH = Path(__file__).with_name("measured.json")


class ExpertAfterRandom(Policy):
    """Random actions for the first ``k`` steps, then the scripted expert. ``k`` is drawn
    from 1..max_random by the episode's seed, so a run is reproducible."""

    name = "expert-after-random"
    source = "expert"

    def __init__(self, max_random: int):
        self.max_random = max_random
        self.random = RandomPolicy()
        self.expert = ExpertPolicy()
        self.k = 1

    def reset(self, task_name: str | None = None, seed: int | None = None) -> None:
        self.k = random_steps(seed, self.max_random)
        self.random.reset(task_name, seed)
        self.expert.reset(task_name, seed)

    def act(self, observation: dict, history: list, env=None):
        if len(history) < self.k:
            return self.random.act(observation, history, env)
        return self.expert.act(observation, history, env)


def random_steps(seed: int | None, max_random: int) -> int:
    return random.Random(f"handover/{seed}").randint(1, max_random)


@dataclass(frozen=True)
class ExpertEpisode:
    """One measured episode. ``handed_over``: the expert got to act (random actions did
    not end the episode first); an episode it never played says nothing about it."""

    task_name: str
    seed: int
    success: bool
    steps: int
    action_types: tuple[str, ...]
    handed_over: bool
    error: str | None


def summarize(rollout: Rollout, random_steps_played: int = 0) -> ExpertEpisode:
    expert_actions = rollout.actions[random_steps_played:]
    return ExpertEpisode(
        rollout.task_name, rollout.seed, rollout.success, len(rollout.steps),
        tuple(a.type for a in expert_actions),
        # From the start, the expert always plays (an episode that breaks is a failure).
        random_steps_played == 0 or len(rollout.steps) > random_steps_played,
        rollout.error,
    )  # fmt: skip


def _summarize_handover(max_random: int, rollout: Rollout) -> ExpertEpisode:
    return summarize(rollout, random_steps(rollout.seed, max_random))


@dataclass
class ExpertRow:
    """One task's figures over its measured episodes."""

    task_name: str
    episodes: int = 0
    successes: int = 0
    steps: int = 0
    action_types: set[str] = field(default_factory=set)
    failed_seeds: list[int] = field(default_factory=list)

    def add(self, episode: ExpertEpisode) -> None:
        if not episode.handed_over:
            return
        self.episodes += 1
        self.successes += episode.success
        self.steps += episode.steps
        self.action_types.update(episode.action_types)
        if not episode.success:
            self.failed_seeds.append(episode.seed)

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0

    @property
    def mean_steps(self) -> float:
        return self.steps / self.episodes if self.episodes else 0.0


def measure_experts(
    tasks: list[str],
    seeds: list[int],
    *,
    workers: int = 1,
    max_random: int = 0,
    on_episode=None,
) -> dict[str, ExpertRow]:
    """Every task's expert on every seed: from the start (``max_random`` 0), or after
    1..max_random random actions, with that many more steps than the task allows."""
    from ..parallel import run_episodes

    rows = {task: ExpertRow(task) for task in tasks}

    def collect(episode: ExpertEpisode) -> None:
        rows[episode.task_name].add(episode)
        if on_episode is not None:
            on_episode(episode)

    if max_random:
        policy = functools.partial(ExpertAfterRandom, max_random)
        make_result = functools.partial(_summarize_handover, max_random)
    else:
        policy, make_result = "expert", summarize
    run_episodes(
        tasks, seeds, policy=policy, workers=workers, extra_steps=max_random,
        make_result=make_result, on_result=collect,
    )  # fmt: skip
    return rows


def load_measured() -> dict:
    """The kept table: {"tasks": {name: figures}, and how it was measured}; {} if none."""
    try:
        return json.loads(MEASURED_PATH.read_text())
    except FileNotFoundError:
        return {}
