"""Scripted experts solve their tasks, and many episodes run alike on 1 or 2 workers."""

import pytest

from screenpilot.env.experts import expert_tasks, run_expert_episode
from screenpilot.env.experts.base import NoExpertError, expert_limits
from screenpilot.env.experts.measure import measure_experts
from screenpilot.env.parallel import run_episodes

pytestmark = pytest.mark.integration

# One seed per task from the start and one after random actions in CI; BENCHMARKS.md
# has 200 and 50 (bench/expert_bench.py).
SEED = 2


def test_every_expert_solves_its_task():
    # A task whose page bounds every player (a ceiling) may lose a game, never break.
    ceilings = expert_limits()["ceiling"]
    results = run_episodes(expert_tasks(), [SEED], workers=2)
    failed = [
        (r.task_name, r.raw_reward, r.error)
        for r in results
        if r.error or not (r.success or r.task_name in ceilings)
    ]
    assert failed == []


# Gaps of an expert (not of its page), found here and not fixed yet: each is a failure
# this test allows (a gap that passes by chance is no failure).
KNOWN_GAPS = {
    # Random clicks toggled underline at the caret (Quill's pending-format cursor); from
    # there Quill keeps its stale range whatever the expert selects (ctrl+a or a drag).
    ("miniwob.text-editor", SEED + 1),
}


def test_every_expert_finishes_from_the_state_random_actions_left():
    """DAgger asks the expert in states a model reached, not only at the task's start."""
    limits = expert_limits()
    tasks = [t for t in expert_tasks() if t not in limits["from_start_only"]]
    rows = measure_experts(tasks, [SEED + 1], workers=2, max_random=2)
    failed = {
        (t, seed) for t, row in rows.items() if t not in limits["ceiling"]
        for seed in row.failed_seeds
    }  # fmt: skip
    # A known gap may pass: where random clicks leave Quill's cursor depends on timing.
    assert failed <= KNOWN_GAPS, failed - KNOWN_GAPS
    handed_over = sum(row.episodes for row in rows.values())
    assert handed_over >= 0.8 * len(rows)  # else random actions ended most episodes


def test_expert_episode_records_a_screenshot_before_each_action_and_the_last():
    episode = run_expert_episode("miniwob.login-user", seed=4)
    assert episode.success and episode.raw_reward == 1.0
    assert len(episode.screenshots) == len(episode.actions) + 1 == 6
    assert [a.type for a in episode.actions] == ["click", "type", "click", "type", "click"]
    assert [a.frame for a in episode.actions] == list(range(5))
    assert episode.screenshots[0].shape == (210, 160, 3)
    assert episode.task.startswith("Enter the username")
    assert (episode.task_name, episode.seed, episode.action_errors) == ("miniwob.login-user", 4, [])


def test_results_do_not_depend_on_the_number_of_workers():
    tasks = ["miniwob.click-checkboxes", "miniwob.enter-password"]
    one = run_episodes(tasks, range(3), workers=1)
    two = run_episodes(tasks, range(3), workers=2)
    key = [(r.task_name, r.seed, r.success, r.raw_reward, r.steps) for r in one]
    assert key == [(r.task_name, r.seed, r.success, r.raw_reward, r.steps) for r in two]
    assert [(r.task_name, r.seed) for r in one] == [(t, s) for t in tasks for s in range(3)]


def test_random_policy_is_seeded():
    first = run_episodes(["miniwob.click-test"], [0, 1], policy="random")
    again = run_episodes(["miniwob.click-test"], [0, 1], policy="random")
    assert [(r.steps, r.raw_reward) for r in first] == [(r.steps, r.raw_reward) for r in again]


def test_a_task_without_an_expert_stops_the_run():
    with pytest.raises(NoExpertError, match="web"):
        run_episodes(["miniwob.click-test", "web"], [0], workers=2)
