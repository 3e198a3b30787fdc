"""A writer killed with SIGKILL mid-episode: readers leave its episode alone, and after
`dataset repair` nothing it flushed is lost but the last second of video, and the
dataset checks sound."""

import signal
from pathlib import Path

import numpy as np
import pytest
from crash_writer import spawn

from conftest import ui_frame
from screenpilot.dataset.maintenance import check_dataset, format_summary, summarize
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.repair import recover_unfinished
from screenpilot.dataset.samples import StepSamples

pytestmark = pytest.mark.integration


def run_and_kill(root: Path, after_frames: int, *extra: str) -> tuple[int, int]:
    """Start the writer, SIGKILL it once it reports ``after_frames`` frames; returns
    (frames written, events written) as it reported them."""
    proc = spawn(root, *extra)
    last = None
    for line in proc.stdout:
        last = line.split()
        if int(last[1]) + 1 >= after_frames:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert last is not None, "the writer never started"
    return int(last[1]) + 1, int(last[3]) + 1


@pytest.mark.parametrize("mode", ["lossy", "lossless"])
def test_sigkill_loses_at_most_the_last_second(tmp_path, mode):
    root = tmp_path / "ds"
    frames_written, events_written = run_and_kill(root, 60, mode)
    assert (root / "journal/episode_000000.jsonl").exists()
    assert check_dataset(root), "an unfinished episode is a problem until repaired"

    recovered = recover_unfinished(root).recovered
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


def files_of(root: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_readers_leave_a_dead_writers_episode_to_repair(tmp_path):
    root = tmp_path / "ds"
    run_and_kill(root, 25)
    before = files_of(root)
    ds = open_dataset(root)
    assert len(ds) == 0 and ds.recording == [] and [u.index for u in ds.needs_repair] == [0]
    assert "1 episode needs `screenpilot dataset repair" in format_summary(summarize(root))
    assert any("repair" in line for line in check_dataset(root))
    assert len(StepSamples(root)) == 0
    assert files_of(root) == before, "a reader changed the dataset"

    assert recover_unfinished(root).recovered[0]["recovered"] is True
    run_and_kill(root, 5)  # later writers continue after the repaired episode
    assert [u.index for u in open_dataset(root).needs_repair] == [1]
    assert [m["index"] for m in recover_unfinished(root).recovered] == [1]
    assert len(open_dataset(root)) == 2
    assert check_dataset(root) == []
