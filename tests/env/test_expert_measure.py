"""Measuring the experts (env/experts/measure.py): which episodes count, the hand-over
policy, and the table `screenpilot tasks --json` reports."""

import json

import numpy as np
import pytest

from screenpilot.agent.cli import main as screenpilot
from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import UserError
from screenpilot.env.experts import expert_tasks
from screenpilot.env.experts.base import expert_limits
from screenpilot.env.experts.measure import (
    ExpertAfterRandom,
    ExpertRow,
    load_measured,
    random_steps,
    summarize,
)
from screenpilot.env.rollout import Rollout, Step


def rollout(task, seed, actions, success):
    steps = [Step(Action.from_text(a), ms=1.0) for a in actions]
    return Rollout(task, seed, "the task", steps=steps, success=success)


def test_random_steps_are_drawn_by_seed_within_bounds():
    drawn = [random_steps(seed, 3) for seed in range(200)]
    assert set(drawn) == {1, 2, 3}
    assert drawn == [random_steps(seed, 3) for seed in range(200)]


def test_the_hand_over_policy_plays_k_random_steps_then_the_expert():
    policy = ExpertAfterRandom(4)
    policy.reset("miniwob.click-test", 7)
    assert policy.k == random_steps(7, 4)
    observation = {"screenshot": np.zeros((10, 10, 3), np.uint8), "task": "x"}
    history = [Action("wait")] * (policy.k - 1)
    assert policy.act(observation, history).type in ("click", "type", "key")  # random's
    # The k-th step is the expert's, which reads the page: without one it says so.
    with pytest.raises(UserError, match="sandbox env"):
        policy.act(observation, [Action("wait")] * policy.k, env=None)


def test_an_episode_counts_only_where_the_expert_got_to_act():
    row = ExpertRow("miniwob.x")
    # Random actions ended the episode before the hand-over: says nothing of the expert.
    row.add(summarize(rollout("miniwob.x", 1, ["click 1 2"], True), random_steps_played=1))
    assert row.episodes == 0
    row.add(summarize(rollout("miniwob.x", 2, ["click 1 2", 'type "a"', "key Enter"], True), 1))
    row.add(summarize(rollout("miniwob.x", 3, ["click 1 2", "click 3 4"], False), 1))
    assert (row.episodes, row.successes, row.failed_seeds) == (2, 1, [3])
    assert row.action_types == {"type", "key", "click"}  # the expert's own, not random's
    assert row.success_rate == 0.5 and row.mean_steps == 2.5


def test_tasks_json_reports_the_measured_experts(capsys):
    measured = load_measured()["tasks"]
    assert screenpilot(["tasks", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    for name in expert_tasks():
        if name not in measured:
            continue
        row, figures = rows[name], measured[name]
        assert row["expert_success"] == figures["success"]
        assert row["expert_mean_steps"] == figures["mean_steps"]
        assert row["expert_action_types"] == figures["action_types"]
    without = [row for row in rows.values() if not row["expert"]]
    assert all(row["expert_success"] is None for row in without)
    # Every MiniWoB++ expert has been measured (bench/expert_bench.py --write).
    assert {t for t in expert_tasks() if t.startswith("miniwob.")} <= set(measured)


def test_every_listed_limit_is_a_task_with_an_expert_and_a_reason():
    limits = expert_limits()
    assert set(limits) == {"ceiling", "from_start_only"}
    for table in limits.values():
        for name, reason in table.items():
            assert name in expert_tasks() and len(reason.split()) >= 8, name


def test_an_episode_that_breaks_before_any_step_is_a_failure():
    row = ExpertRow("miniwob.x")
    broken = Rollout("miniwob.x", 4, "", error="browser died")
    row.add(summarize(broken))
    assert (row.episodes, row.successes, row.failed_seeds) == (1, 0, [4])
