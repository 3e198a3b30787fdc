"""`screenpilot record expert`: the same seed gives the same dataset, for any K."""

import subprocess
import sys

import numpy as np
import pytest

from screenpilot.dataset.maintenance import check_dataset
from screenpilot.dataset.reader import open_dataset

pytestmark = pytest.mark.integration
TASKS = "miniwob.click-test,miniwob.enter-text"


def record(out, workers, seed=3):
    cmd = [sys.executable, "-m", "screenpilot.agent.cli", "record", "expert", "--tasks", TASKS,
           "--episodes", "3", "--out", str(out), "--workers", str(workers), "--seed", str(seed)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_same_seed_same_dataset_for_any_number_of_workers(tmp_path):
    out = record(tmp_path / "one", workers=1)
    assert "miniwob.click-test" in out and "kept 6 of 6 episodes" in out
    record(tmp_path / "two", workers=2)
    one, two = open_dataset(tmp_path / "one"), open_dataset(tmp_path / "two")
    assert len(one) == len(two) == 6
    for a, b in zip(one, two, strict=True):
        assert (a.task, a.meta["metadata"]["seed"], a.meta["metadata"]["env"]) == (
            b.task, b.meta["metadata"]["seed"], b.meta["metadata"]["env"],
        )  # fmt: skip
        assert [x.to_text() for x in a.actions] == [x.to_text() for x in b.actions]
        assert np.array_equal(a.frame(0), b.frame(0))
    assert [ep.meta["metadata"]["seed"] for ep in one] == [3, 4, 5] * 2
    assert check_dataset(tmp_path / "two") == []


def test_each_step_is_the_screenshot_then_the_action(tmp_path):
    record(tmp_path / "ds", workers=1)
    ep = open_dataset(tmp_path / "ds")[3]  # enter-text: click the field, type, submit
    assert ep.success and ep.num_frames == len(ep.actions) + 1
    assert [a.frame for a in ep.actions] == list(range(len(ep.actions)))
    assert [a.type for a in ep.actions] == ["click", "type", "click"]
    assert ep.actions[1].text in ep.task
    assert ep.meta["metadata"] == {"env": "miniwob.enter-text", "seed": 3, "policy": "expert"}
    assert ep.meta["source"] == "expert" and ep.meta["outcome"]["action_errors"] == []


def test_unknown_task_is_one_line(tmp_path):
    cmd = [sys.executable, "-m", "screenpilot.agent.cli", "record", "expert", "--tasks", "miniwob.nope",
           "--out", str(tmp_path / "x")]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "unknown task 'miniwob.nope'" in done.stderr
