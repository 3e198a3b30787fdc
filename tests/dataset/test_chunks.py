"""Chunks (format version 3): sealed episodes read exactly as they were written, a crash
mid-seal loses nothing, `dataset check` finds damaged chunks, and older layouts still read."""

from __future__ import annotations

import json

import pytest

from conftest import screenpilot, ui_frame, write_episode
from screenpilot.dataset import chunks as chunk_module
from screenpilot.dataset.actions import Action
from screenpilot.dataset.chunks import all_episode_metas, chunk_paths, seal_chunks
from screenpilot.dataset.format import EpisodeWriter, episode_paths, read_info
from screenpilot.dataset.maintenance import check_dataset, merge_datasets, summarize
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.samples import StepSamples


def everything(ds) -> list:
    """All an episode can tell, for each episode, in order."""
    return [
        (ep.meta, ep.actions, ep.events, ep.frame_times, ep.grounding,
         [int(f.sum()) for f in ep.frames()], int(ep.frame(ep.num_frames - 1).sum()))
        for ep in ds
    ]  # fmt: skip


@pytest.fixture
def seven(tmp_path):
    """Seven episodes of different lengths, some with grounding."""
    root = tmp_path / "ds"
    for i in range(7):
        with EpisodeWriter(root, f"task {i}", 160, 210, clock=lambda: 0.0, source="test") as ep:
            for f in range(4 + i):
                ep.add_frame(ui_frame(f), t=f * 0.1)
                if f % 2:
                    ep.add_action(Action("click", x=10 * f, y=20), t=f * 0.1 + 0.05)
                if i % 2:
                    ep.add_grounding(f, [{"text": f"w{i}.{f}", "kind": "button", "x0": 1,
                                          "y0": 2, "x1": 30, "y1": 14}])  # fmt: skip
            ep.set_outcome(success=i % 3 > 0)
    return root


def test_sealed_episodes_read_exactly_as_written(seven):
    before = everything(open_dataset(seven))
    summary_before = summarize(seven)
    assert seal_chunks(seven, size=3) == 2  # two full chunks; one episode left in the tail
    ds = open_dataset(seven)
    assert ds.chunks.sizes == [3, 3] and len(ds) == 7 and ds[6].location is None
    assert everything(ds) == before
    assert not episode_paths(seven, 0)["data"].exists(), "a sealed episode's own files go"
    assert seal_chunks(seven, partial=True) == 1 and read_info(seven)["chunks"] == [3, 3, 1]
    assert everything(open_dataset(seven)) == before
    after = summarize(seven)
    assert {k: v for k, v in after.items() if k not in ("chunks", "sealed")} == {
        k: v for k, v in summary_before.items() if k not in ("chunks", "sealed")
    }
    assert after["chunks"] == 3 and after["grounded"] == 3
    assert check_dataset(seven) == [] and check_dataset(seven, deep=True) == []
    samples = StepSamples(seven)
    assert len(samples) == sum(m["length"] for m in all_episode_metas(seven))
    assert samples[len(samples) - 1]["task"] == "task 6"


def test_writing_goes_on_after_a_seal_and_the_next_chunk_follows(seven):
    seal_chunks(seven, partial=True)
    for i in range(3):
        write_episode(seven, f"later {i}")
    ds = open_dataset(seven)
    assert [ep.task for ep in ds][-3:] == ["later 0", "later 1", "later 2"]
    assert [m["index"] for m in all_episode_metas(seven)] == list(range(10))
    seal_chunks(seven, partial=True)
    assert read_info(seven)["chunks"] == [7, 3] and check_dataset(seven) == []


def test_a_crash_before_the_seal_commits_loses_nothing(seven, monkeypatch):
    before = everything(open_dataset(seven))

    def crash(*args):
        raise KeyboardInterrupt  # the sealer dies after writing the chunk, before the commit

    monkeypatch.setattr(chunk_module, "write_info", crash)
    with pytest.raises(KeyboardInterrupt):
        seal_chunks(seven, partial=True)
    assert chunk_paths(seven, 0)["index"].exists(), "the chunk's files were written"
    assert read_info(seven)["chunks"] == [] and everything(open_dataset(seven)) == before
    problems = check_dataset(seven)
    assert len(problems) == 1 and "interrupted seal" in problems[0]
    monkeypatch.undo()
    assert seal_chunks(seven, partial=True) == 1  # the next seal writes chunk 0 over them
    assert everything(open_dataset(seven)) == before and check_dataset(seven) == []


def test_repair_removes_what_a_seal_that_died_after_its_commit_left(seven, monkeypatch):
    before = everything(open_dataset(seven))
    monkeypatch.setattr(chunk_module, "_remove_episode_files", lambda *a: None)  # dies first
    # 7 episodes' data, events, frames and video, and the dom tables of the 3 with text
    seal_chunks(seven, partial=True)
    monkeypatch.undo()
    assert episode_paths(seven, 0)["data"].exists() and everything(open_dataset(seven)) == before
    assert "interrupted seal" in check_dataset(seven)[0]
    out = screenpilot("dataset", "repair", seven)
    assert out.returncode == 0 and "removed 31 file(s)" in out.stdout, out.stdout + out.stderr
    assert not episode_paths(seven, 0)["data"].exists() and check_dataset(seven) == []
    assert everything(open_dataset(seven)) == before


def test_check_finds_a_damaged_chunk(seven):
    seal_chunks(seven, partial=True)
    video = chunk_paths(seven, 0)["video"]
    with open(video, "r+b") as f:
        f.truncate(video.stat().st_size - 100)
    problems = check_dataset(seven)
    assert len(problems) == 1 and "bytes, its index says" in problems[0]
    chunk_paths(seven, 0)["events"].unlink()
    assert any("events/chunk_000000.parquet" in p for p in check_dataset(seven))
    info = read_info(seven)
    (seven / "meta" / "info.json").write_text(json.dumps({**info, "chunks": [8]}))
    assert "meta/info.json says 8" in check_dataset(seven)[0]


def test_merge_copies_sealed_episodes(seven, tmp_path):
    seal_chunks(seven, size=3)  # six sealed, one in the tail
    before = everything(open_dataset(seven))
    merge_datasets([seven], tmp_path / "merged")
    merged = open_dataset(tmp_path / "merged")
    assert [e[1:] for e in everything(merged)] == [e[1:] for e in before]
    assert check_dataset(tmp_path / "merged") == []


def test_compact_verb_seals_and_a_version_2_dataset_still_reads(seven):
    # A version-2 dataset is the tail alone, and its info.json lacks the chunk fields.
    info = read_info(seven)
    legacy = {k: v for k, v in info.items() if k not in ("chunks", "tail_offset")}
    (seven / "meta" / "info.json").write_text(json.dumps({**legacy, "format_version": 2}))
    before = everything(open_dataset(seven))
    assert check_dataset(seven) == []
    out = screenpilot("dataset", "compact", seven, "--chunk-episodes", "4")
    assert out.returncode == 0, out.stderr
    assert "2 chunk(s) written" in out.stdout and read_info(seven)["chunks"] == [4, 3]
    assert everything(open_dataset(seven)) == before
    files = [p for p in seven.rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert len(files) == 2 * 6 + 2  # six files a chunk, info.json and episodes.jsonl
    bad = screenpilot("dataset", "compact", seven, "--chunk-episodes", "0")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1


def test_reading_never_writes(seven):
    seal_chunks(seven, size=3)
    stamp = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in seven.rglob("*")}
    everything(open_dataset(seven))
    summarize(seven)
    check_dataset(seven, deep=True)
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in seven.rglob("*")} == stamp


def test_a_reader_opened_before_a_seal_follows_its_episodes_into_the_chunk(seven):
    before = open_dataset(seven)  # all seven are tail episodes with files of their own
    expected = everything(open_dataset(seven))
    seal_chunks(seven, size=3)  # a bulk writer seals six of them meanwhile
    assert not episode_paths(seven, 0)["data"].exists()
    assert everything(before) == expected
    assert before[0].location is not None and before[6].location is None
