"""The one rollout loop: any policy in a real BrowserEnv, its episode written as it goes
(record_to), and the pool runner's results and failures."""

import numpy as np
import pytest

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import UserError
from screenpilot.dataset.maintenance import check_dataset
from screenpilot.dataset.reader import open_dataset
from screenpilot.env.browser_env import BrowserEnv
from screenpilot.env.experts import ExpertPolicy
from screenpilot.env.parallel import run_episodes
from screenpilot.env.rollout import Policy, RandomPolicy, run_episode

pytestmark = pytest.mark.integration


class BreaksAtStep(Policy):
    """Clicks the top-left corner, then raises at step ``k`` (a model that crashes)."""

    def __init__(self, k: int = 0):
        self.k = k

    def act(self, observation, history, env=None):
        if len(history) == self.k:
            raise RuntimeError("policy broke\nsecond line")
        return Action("click", x=1, y=1)


class CannotLoad(Policy):
    """A policy that fails to build (a model that will not load)."""

    def __init__(self):
        raise UserError("no model here")


@pytest.fixture(scope="module")
def enter_text():
    env = BrowserEnv("miniwob.enter-text")
    yield env
    env.close()


def test_record_to_writes_the_episode_the_way_the_model_reads_it(enter_text, tmp_path):
    rollout = run_episode(enter_text, ExpertPolicy(), seed=3, record_to=tmp_path / "ds")
    assert rollout.success and rollout.recorded[0] == str(tmp_path / "ds")
    assert check_dataset(tmp_path / "ds") == []
    ep = open_dataset(tmp_path / "ds")[0]
    assert ep.meta["metadata"] == {"env": "miniwob.enter-text", "seed": 3, "policy": "expert"}
    assert ep.meta["source"] == "expert" and ep.success and ep.task == rollout.task
    assert [a.to_text() for a in ep.actions] == [a.to_text() for a in rollout.actions]
    # Frame k is the screen action k was chosen on; then the screen the last one left.
    assert [a.frame for a in ep.actions] == list(range(len(rollout.steps)))
    assert ep.num_frames == len(rollout.screenshots) == len(rollout.steps) + 1
    for k, shot in enumerate(rollout.screenshots):
        diff = np.abs(ep.frame(k).astype(int) - shot.astype(int)).mean()
        assert diff < 2, (k, diff)  # H.264 4:4:4 at crf 10: close, not exact


def test_any_policy_can_be_recorded_and_a_broken_episode_stays_readable(enter_text, tmp_path):
    rollout = run_episode(enter_text, RandomPolicy(), seed=5, max_steps=2, record_to=tmp_path)
    assert len(rollout.steps) <= 2
    with pytest.raises(RuntimeError, match="policy broke"):
        run_episode(enter_text, BreaksAtStep(1), seed=6, record_to=tmp_path)
    assert check_dataset(tmp_path) == []
    random_ep, broken = open_dataset(tmp_path)
    assert random_ep.meta["source"] == "agent"
    assert random_ep.meta["metadata"]["policy"] == "random"
    assert random_ep.actions == rollout.actions
    assert broken.success is False and len(broken.actions) == 1
    assert broken.meta["outcome"]["error"] == "RuntimeError: policy broke"
    assert not list((tmp_path / "journal").glob("*.jsonl"))


def test_random_policy_acts_on_screen_and_repeats_itself_per_task_and_seed():
    shot = {"screenshot": np.zeros((210, 160, 3), np.uint8), "task": "Type apple then press"}
    policy = RandomPolicy()

    def actions(task, seed):
        policy.reset(task, seed)
        return [policy.act(shot, []) for _ in range(40)]

    first = actions("miniwob.click-test", 1)
    assert first == actions("miniwob.click-test", 1)
    assert first != actions("miniwob.click-test", 2)
    assert all(a.x < 160 and a.y < 210 for a in first if a.type == "click")
    assert {a.type for a in first} == {"click", "type", "key"}


def test_the_runner_turns_a_broken_episode_into_a_result_and_goes_on():
    first, second = run_episodes(["miniwob.click-test"], [0, 1], policy=BreaksAtStep)
    assert not first.success and first.error == "RuntimeError: policy broke"
    assert second.error == first.error and second.seed == 1


def test_record_shards_keep_every_episode_in_the_workers_dataset(tmp_path):
    results = run_episodes(
        ["miniwob.click-test"], [0, 1, 2], policy="expert", workers=2, record_shards=tmp_path
    )
    assert all(r.success and r.recorded for r in results)
    shards = {shard for shard, _ in (r.recorded for r in results)}
    assert 1 <= len(shards) <= 2 and all(s.startswith(str(tmp_path / "worker_")) for s in shards)
    for r in results:
        shard, meta = r.recorded
        assert meta["metadata"]["seed"] == r.seed
        assert open_dataset(shard)[meta["index"]].meta["metadata"]["seed"] == r.seed


def test_a_policy_that_cannot_load_in_a_worker_is_its_own_error():
    with pytest.raises(UserError, match="no model here"):
        run_episodes(["miniwob.click-test"], [0, 1], policy=CannotLoad, workers=2)
