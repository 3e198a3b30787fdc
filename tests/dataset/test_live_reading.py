"""Reading never writes: every reader runs in a loop against an episode that another
process is recording, and afterwards that episode holds every frame and event its
writer wrote, listed once. A writer is known to be alive by the lock on its journal."""

import json
import os

import numpy as np
import pytest
from crash_writer import spawn

from conftest import screenpilot, ui_frame, write_episode
from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.events import Event
from screenpilot.dataset.format import EpisodeWriter, episode_paths, read_episode_lines
from screenpilot.dataset.maintenance import check_dataset, format_summary, summarize
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.repair import recover_unfinished
from screenpilot.dataset.samples import StepSamples
from screenpilot.dataset.video import count_decodable_frames
from screenpilot.dataset.viewer import write_viewer

pytestmark = pytest.mark.integration  # a writer process, real video files

FRAMES = 60  # 3 s at the writer's 20 fps, an event with every frame


def read_everything(root, view_dir) -> dict:
    """One round of every reader: what `dataset info`, `check`, `view` and training's
    loader do. Returns the summary, which says what was being recorded."""
    ds = open_dataset(root)
    for ep in ds:
        assert ep.actions and ep.events and len(ep.frame_times) == ep.num_frames
        ep.frame(ep.num_frames - 1)
        ep.close()
    summary = summarize(root)
    format_summary(summary)
    assert check_dataset(root) == []
    write_viewer(ds, view_dir)
    samples = StepSamples(root)
    for i in range(len(samples)):
        samples[i]
    return summary


def files_of(root) -> dict:
    """Every file under ``root`` and its bytes: what a reader must leave as it found."""
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_readers_during_a_recording_lose_nothing(tmp_path):
    root = tmp_path / "ds"
    write_episode(root, "Already here")  # episode 0: something finished for the readers
    proc = spawn(root, "--frames", str(FRAMES))
    assert proc.stdout.readline().startswith("frame 0")
    rounds_while_live = 0
    while proc.poll() is None:
        summary = read_everything(root, tmp_path / "view")
        # Episode 1 is being recorded or listed, never both; nothing else ever shows.
        assert summary["episodes"] + summary["recording"] <= 2 and summary["episodes"] >= 1
        rounds_while_live += summary["recording"]
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "finished episode 1" in out
    # The loop must have read while the journal was live, else it proved nothing.
    assert rounds_while_live >= 1

    assert [m["index"] for m in read_episode_lines(root)] == [0, 1]
    assert not list((root / "journal").iterdir())
    assert check_dataset(root, deep=True) == []
    ep = open_dataset(root)[1]
    assert not ep.meta.get("recovered")
    assert ep.num_frames == FRAMES == len(ep.frame_times)
    assert count_decodable_frames(ep.paths["video"]) == FRAMES
    assert len(ep.events) == FRAMES
    assert len(ep.actions) == FRAMES // 2  # each mouse_down/mouse_up pair is a click
    assert all(0 <= a.frame < FRAMES for a in ep.actions)
    assert np.abs(ep.frame(FRAMES - 1).astype(int) - ui_frame(FRAMES - 1)).mean() < 3


def live_writer(root, frames: int = 10) -> EpisodeWriter:
    writer = EpisodeWriter(root, "Still recording", 160, 210, fps=20, source="test")
    for i in range(frames):
        writer.add_frame(ui_frame(i), t=writer.t0 + i * 0.05)
        kind = "mouse_down" if i % 2 == 0 else "mouse_up"
        writer.add_event(Event(writer.t0 + i * 0.05 + 0.01, kind, x=30, y=40, button="left"))
    return writer


def test_readers_and_repair_leave_a_live_episode_alone(small_dataset):
    writer = live_writer(small_dataset)
    before = files_of(small_dataset)

    ds = open_dataset(small_dataset)
    assert len(ds) == 2 and [u.index for u in ds.recording] == [2] and ds.needs_repair == []
    assert ds.recording[0].writer["pid"] > 0
    assert summarize(small_dataset)["recording"] == 1
    assert check_dataset(small_dataset) == []
    report = recover_unfinished(small_dataset)
    assert report.recovered == [] and [u.index for u in report.live] == [2]
    assert files_of(small_dataset) == before

    writer.add_frame(ui_frame(10), t=writer.t0 + 0.5)
    meta = writer.finish()
    assert meta["index"] == 2 and meta["num_frames"] == 11 and meta["num_events"] == 10
    assert [m["index"] for m in read_episode_lines(small_dataset)] == [0, 1, 2]
    assert open_dataset(small_dataset).recording == []
    assert check_dataset(small_dataset, deep=True) == []


def test_repair_force_finishes_a_live_episode_and_its_writer_then_stops(small_dataset):
    writer = live_writer(small_dataset)
    report = recover_unfinished(small_dataset, force=True)
    assert [m["index"] for m in report.recovered] == [2]
    assert [u.index for u in report.forced] == [2]
    writer.add_frame(ui_frame(10), t=writer.t0 + 0.5)
    with pytest.raises(DatasetError, match="repair --force"):
        writer.finish()
    assert [m["index"] for m in read_episode_lines(small_dataset)] == [0, 1, 2]
    assert check_dataset(small_dataset, deep=True) == []
    assert len(open_dataset(small_dataset)[2].events) == 10


def test_the_verbs_say_what_is_being_recorded(small_dataset):
    writer = live_writer(small_dataset)
    info = screenpilot("dataset", "info", small_dataset)
    assert info.returncode == 0 and "1 episode being recorded, not shown" in info.stdout
    assert (
        json.loads(screenpilot("dataset", "info", small_dataset, "--json").stdout)["recording"] == 1
    )
    check = screenpilot("dataset", "check", small_dataset)
    assert check.returncode == 0 and "1 episode being recorded, not checked" in check.stdout
    repair = screenpilot("dataset", "repair", small_dataset)
    assert repair.returncode == 0
    assert repair.stdout.startswith(f"episode 2 (pid {os.getpid()} on ")
    assert "is being recorded: left alone" in repair.stdout
    assert episode_paths(small_dataset, 2)["journal"].exists()

    forced = screenpilot("dataset", "repair", small_dataset, "--force")
    assert forced.returncode == 0 and "recovered episode 2" in forced.stdout
    assert "warning" in forced.stderr and "still" in forced.stderr
    with pytest.raises(DatasetError):
        writer.finish()
    assert screenpilot("dataset", "check", small_dataset).returncode == 0
