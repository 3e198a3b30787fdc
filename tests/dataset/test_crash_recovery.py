"""A writer killed with SIGKILL mid-episode: after recovery nothing it flushed is lost
but the last second of video, and the dataset checks sound."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ui_frame
from screenpilot.dataset.maintenance import check_dataset
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.repair import recover_unfinished

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent


def run_and_kill(root: Path, after_frames: int, *extra: str) -> tuple[int, int]:
    """Start the writer, SIGKILL it once it reports ``after_frames`` frames; returns
    (frames written, events written) as it reported them."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE.parents[1])])}
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "crash_writer.py"), str(root), *extra],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    last = None
    for line in proc.stdout:
        last = line.split()
        if int(last[1]) + 1 >= after_frames:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert last is not None, "the writer never started"
    return int(last[1]) + 1, int(last[3]) + 1


@pytest.mark.parametrize("mode", ["lossy", "lossless"])
def test_sigkill_loses_at_most_the_last_second(tmp_path, mode):
    root = tmp_path / "ds"
    frames_written, events_written = run_and_kill(root, 60, mode)
    assert (root / "journal/episode_000000.jsonl").exists()
    assert check_dataset(root), "an unfinished episode is a problem until repaired"

    recovered = recover_unfinished(root)
    assert len(recovered) == 1 and recovered[0]["recovered"] is True
    assert check_dataset(root, deep=True) == []

    ep = open_dataset(root)[0]
    assert len(ep.events) >= events_written  # every event flushed before the kill
    assert ep.num_frames >= frames_written - 20 - 2  # 20 fps: at most the last second
    last = ep.num_frames - 1
    frame = ep.frame(last)
    if mode == "lossless":
        assert np.array_equal(frame, ui_frame(last))
    else:
        assert np.abs(frame.astype(int) - ui_frame(last)).mean() < 3
    assert all(a.frame <= last for a in ep.actions)
    assert [a.type for a in ep.actions[:2]] == ["click", "click"]


def test_open_recovers_and_later_writers_continue(tmp_path):
    root = tmp_path / "ds"
    run_and_kill(root, 25)
    ds = open_dataset(root)  # recovery on open
    assert len(ds) == 1 and ds[0].meta["recovered"]
    run_and_kill(root, 5)
    assert len(open_dataset(root)) == 2
    assert check_dataset(root) == []
