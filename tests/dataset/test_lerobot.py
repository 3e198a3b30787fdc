"""LeRobotDataset export and import: the row mapping, the stats, and the round trip
export -> LeRobot's own loader (in its own venv) -> import."""

import json
import math
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import screenpilot, ui_frame, write_episode
from screenpilot.dataset.actions import ACTION_TYPES, Action
from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.events import Event
from screenpilot.dataset.format import EpisodeWriter
from screenpilot.dataset.lerobot import (
    ACTION_VECTOR_NAMES,
    LEROBOT_VERSION,
    action_columns,
    action_from_columns,
    aggregate_stats,
    episode_rows,
    export_lerobot,
    feature_stats,
    image_stats,
    import_lerobot,
)
from screenpilot.dataset.reader import open_dataset

REPO = Path(__file__).resolve().parents[2]
LEROBOT_VENV = REPO / ".venv-lerobot"
PROBE = Path(__file__).with_name("lerobot_probe.py")

EVERY_KIND = [
    Action("click", x=40, y=50),
    Action("double_click", x=1, y=2),
    Action("right_click", x=159, y=209),
    Action("mouse_down", x=3, y=4),
    Action("mouse_up", x=5, y=6),
    Action("move", x=7, y=8),
    Action("drag", x=10, y=100, x2=120, y2=100),
    Action("scroll", x=80, y=100, dx=0, dy=-120),
    Action("type", text='héllo "world"\nnext'),
    Action("key", key="ctrl+shift+t"),
    Action("wait"),
    Action("done"),
]


# ---- the mapping -------------------------------------------------------------------------
def test_every_action_type_round_trips_through_its_columns():
    assert {a.type for a in EVERY_KIND} == set(ACTION_TYPES)
    for action in EVERY_KIND:
        columns = action_columns(action.with_time(1.25, 3))
        vector = columns["action"]
        assert len(vector) == len(ACTION_VECTOR_NAMES)
        type_part = vector[: len(ACTION_TYPES)]
        assert (
            sum(type_part) == 1 and ACTION_VECTOR_NAMES[type_part.index(1)] == f"type.{action.type}"
        )
        assert columns["action.type"] == action.type and columns["action.time"] == 1.25
        assert action_from_columns(columns) == action


def test_a_frame_without_action_is_a_row_without_one():
    columns = action_columns(None)
    assert columns["action.type"] == "" and not any(columns["action"])
    assert math.isnan(columns["action.time"])
    assert action_from_columns(columns) is None


def test_rows_repeat_a_frame_seen_before_several_actions_and_keep_real_times():
    # Frames at uneven times (a recorder dropped some); two actions seen on frame 1.
    click = Action("click", x=1, y=2).with_time(0.31, 1)
    typed = Action("type", text="ab").with_time(0.35, 1)
    enter = Action("key", key="Enter").with_time(0.93, 3)
    episode = SimpleNamespace(frame_times=[0.0, 0.3, 0.45, 0.9], num_frames=4,
                              actions=[click, typed, enter], paths={"data": "x"})  # fmt: skip
    rows = episode_rows(episode, episode_index=2, task_index=1, first_index=100, fps=10)
    assert [r["observation.frame"] for r in rows] == [0, 1, 1, 2, 3]
    assert [r["observation.capture_time"] for r in rows] == [0.0, 0.3, 0.3, 0.45, 0.9]
    assert [r["action.type"] for r in rows] == ["", "click", "type", "", "key"]
    assert [r["action.time"] for r in rows][1:3] == [0.31, 0.35]
    # LeRobot's grid: row i at i / fps, indices counted on from the episodes before.
    assert [r["frame_index"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["timestamp"] for r in rows] == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert [r["index"] for r in rows] == [100, 101, 102, 103, 104]
    assert {(r["episode_index"], r["task_index"]) for r in rows} == {(2, 1)}


def test_rows_refuse_an_action_outside_the_frames():
    episode = SimpleNamespace(frame_times=[0.0], num_frames=1, paths={"data": "ep.parquet"},
                              actions=[Action("done").with_time(0.5, 4)])  # fmt: skip
    with pytest.raises(DatasetError, match="frames \\[4\\] outside"):
        episode_rows(episode, 0, 0, 0, 10)


def test_aggregated_stats_match_the_stats_of_all_rows():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 3)), rng.normal(loc=2.0, size=(70, 3))
    whole = feature_stats(np.concatenate([a, b]))
    agg = aggregate_stats([{"v": feature_stats(a)}, {"v": feature_stats(b)}])["v"]
    for key in ("min", "max", "mean", "std"):
        np.testing.assert_allclose(agg[key], whole[key], rtol=1e-9)
    assert agg["count"].tolist() == [100]


def test_image_stats_are_per_channel_in_0_1():
    images = np.random.default_rng(1).integers(0, 200, size=(4, 60, 50, 3), dtype=np.uint8)
    images[..., 2] = 255 - images[..., 2]
    stats = image_stats(images)
    pixels = images.reshape(-1, 3) / 255.0
    assert stats["mean"].shape == (3, 1, 1) and stats["count"].tolist() == [4]
    for key, want in (("min", pixels.min(0)), ("max", pixels.max(0)),
                      ("mean", pixels.mean(0)), ("std", pixels.std(0))):  # fmt: skip
        np.testing.assert_allclose(stats[key][:, 0, 0], want, rtol=1e-9)
    for key, q in (("q01", 0.01), ("q50", 0.5), ("q99", 0.99)):
        # a quantile lands on a level: within one level (1/255) of numpy's interpolated one
        gap = stats[key][:, 0, 0] - np.quantile(pixels, q, axis=0)
        assert np.all(np.abs(gap) <= 1 / 255 + 1e-9), (key, gap)


# ---- files -------------------------------------------------------------------------------
def uneven_episode(root):
    """Frames at uneven times, several actions on one frame, raw events of its own."""
    times = [0.0, 0.13, 0.21, 0.5, 0.52, 1.1]
    with EpisodeWriter(root, "Fill the form", 160, 210, fps=7.5, clock=lambda: 0.0,
                       source="browser", metadata={"url": "file:///form.html"}) as ep:  # fmt: skip
        for i, t in enumerate(times):
            ep.add_frame(ui_frame(i), t=t)
            if i == 1:
                for k, action in enumerate(EVERY_KIND[6:10]):
                    ep.add_action(action, t=0.14 + k * 0.01, with_events=False)
            if i == 4:
                ep.add_action(Action("double_click", x=30, y=40), t=0.6, with_events=False)
        ep.add_event(Event(t=0.14, kind="mouse_down", x=10, y=100, button="left"))
        ep.add_event(Event(t=0.15, kind="mouse_up", x=120, y=100, button="left"))
        ep.add_event(Event(t=0.17, kind="key_down", key="a", text="a"))
        ep.set_outcome(success=False, reward=0.0, raw_reward=-0.4)


@pytest.fixture
def varied_dataset(tmp_path):
    root = tmp_path / "ds"
    write_episode(root, "Click the button")
    uneven_episode(root)
    write_episode(root, "Type hello", n_frames=8)
    return root


def assert_same_episodes(ours, back):
    assert len(back) == len(ours)
    for a, b in zip(ours, back, strict=True):
        assert (b.task, b.success, b.meta["source"], b.fps) == (
            a.task,
            a.success,
            a.meta["source"],
            a.fps,
        )
        assert b.meta["outcome"] == a.meta["outcome"]
        assert b.actions == a.actions
        assert [(s.t, s.frame) for s in b.actions] == [(s.t, s.frame) for s in a.actions]
        assert b.frame_times == a.frame_times
        assert b.events == a.events
        for i in range(a.num_frames):
            diff = np.abs(a.frame(i).astype(int) - b.frame(i).astype(int))
            assert diff.mean() < 1.0 and diff.max() <= 40, (a.index, i, diff.mean(), diff.max())


@pytest.mark.integration
def test_export_then_import_gives_back_every_action_time_and_frame(varied_dataset, tmp_path):
    info = export_lerobot(open_dataset(varied_dataset), tmp_path / "lr")
    # 12 + 8 frames with at most one action each; the uneven episode: 6 frames, 4 actions on one
    assert info["total_frames"] == 12 + (6 + 3) + 8 and info["total_episodes"] == 3
    assert info["fps"] == 10 and info["features"]["action"]["names"] == list(ACTION_VECTOR_NAMES)
    import_lerobot(tmp_path / "lr", tmp_path / "back")
    back = open_dataset(tmp_path / "back")
    assert_same_episodes(open_dataset(varied_dataset), back)
    assert back[1].meta["metadata"]["url"] == "file:///form.html"
    assert back[1].meta["metadata"]["imported_from"]["episode_index"] == 1


@pytest.mark.integration
def test_a_new_video_file_starts_when_one_is_full(varied_dataset, tmp_path, monkeypatch):
    import screenpilot.dataset.lerobot as lerobot

    monkeypatch.setattr(lerobot, "VIDEO_FILE_MB", 1e-6)  # every episode fills a file
    export_lerobot(open_dataset(varied_dataset), tmp_path / "lr")
    assert len(list((tmp_path / "lr/videos").rglob("*.mp4"))) == 3
    assert len(list((tmp_path / "lr/data").rglob("*.parquet"))) == 3
    import_lerobot(tmp_path / "lr", tmp_path / "back")
    assert_same_episodes(open_dataset(varied_dataset), open_dataset(tmp_path / "back"))


@pytest.mark.integration
def test_export_and_import_refuse_what_they_cannot_do(tmp_path, small_dataset):
    mixed = tmp_path / "mixed"
    write_episode(mixed, "small")
    write_episode(mixed, "wide", width=200, height=100)
    with pytest.raises(DatasetError, match="one image shape"):
        export_lerobot(open_dataset(mixed), tmp_path / "a")
    (tmp_path / "full").mkdir()
    (tmp_path / "full/x").write_text("")
    with pytest.raises(DatasetError, match="already exists"):
        export_lerobot(open_dataset(small_dataset), tmp_path / "full")
    with pytest.raises(DatasetError, match="not a LeRobotDataset"):
        import_lerobot(small_dataset, tmp_path / "b")
    export_lerobot(open_dataset(small_dataset), tmp_path / "lr")
    info_path = tmp_path / "lr/meta/info.json"
    info = json.loads(info_path.read_text())
    info_path.write_text(json.dumps({**info, "codebase_version": "v2.1"}))
    with pytest.raises(DatasetError, match="v2.1 is not supported"):
        import_lerobot(tmp_path / "lr", tmp_path / "b")


# ---- the round trip through LeRobot's own loader -----------------------------------------
def lerobot_probe(root: Path, out: Path, indices: list[int]) -> tuple[dict, np.ndarray]:
    """LeRobot's `LeRobotDataset` opens ``root`` in the LeRobot venv and reads ``indices``."""
    python = LEROBOT_VENV / "bin" / "python"
    if not python.exists():
        message = f"no {LEROBOT_VENV.name}/: `make lerobot-venv` builds it (`make test` does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "LD_LIBRARY_PATH": str(LEROBOT_VENV / "ffmpeg"),
           "HF_HUB_OFFLINE": "1", "HF_HOME": str(out / "hf")}  # fmt: skip
    done = subprocess.run(
        [str(python), str(PROBE), str(root), str(out), *map(str, indices)],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "probe.json").read_text()), np.load(out / "frames.npy")


@pytest.mark.integration
def test_lerobot_loads_the_export_and_import_brings_it_back(varied_dataset, tmp_path):
    out = screenpilot("dataset", "export", varied_dataset, "--format", "lerobot",
                      "--out", tmp_path / "lr")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "3 episodes, 29 frames at 10 fps" in out.stdout

    ours = open_dataset(varied_dataset)
    rows = [r for n, ep in enumerate(ours)
            for r in episode_rows(ep, n, 0, 0, 10)]  # fmt: skip
    # the first row, a click, the repeated frame of the uneven episode, the very last row
    picks = [0, 1, 13, 14, 15, 16, 20, len(rows) - 1]
    report, frames = lerobot_probe(tmp_path / "lr", tmp_path / "probe", picks)

    assert report["len"] == len(rows) == 29 and report["num_episodes"] == 3
    assert report["fps"] == 10
    assert report["tasks"] == ["Click the button", "Fill the form", "Type hello"]
    assert report["features"]["action"]["names"] == list(ACTION_VECTOR_NAMES)
    assert {"action", "observation.images.screen"} <= set(report["stats_keys"])
    for i, got, image in zip(picks, report["rows"], frames, strict=True):
        want = rows[i]
        assert got["action"] == pytest.approx(want["action"])
        for key in ("action.type", "action.text", "action.key", "observation.frame"):
            assert got[key] == want[key], (i, key)
        assert got["task"] == ours[got["episode_index"]].task
        assert got["index"] == i
        expected = ours[got["episode_index"]].frame(want["observation.frame"])
        diff = np.abs(image.astype(int) - expected.astype(int))
        assert diff.mean() < 1.0 and diff.max() <= 40, (i, diff.mean(), diff.max())
    # four actions seen on one frame: four rows that show it
    seen_on_one = report["rows"][2:6]
    assert [r["action.type"] for r in seen_on_one] == ["drag", "scroll", "type", "key"]
    assert {r["observation.frame"] for r in seen_on_one} == {1}

    out = screenpilot("dataset", "import", tmp_path / "lr", "--format", "lerobot",
                      "--out", tmp_path / "back")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert_same_episodes(ours, open_dataset(tmp_path / "back"))


def test_the_readme_names_the_lerobot_version_the_test_runs():
    assert f"LeRobot {LEROBOT_VERSION}" in (REPO / "README.md").read_text()
    assert f"LEROBOT_VERSION := {LEROBOT_VERSION}" in (REPO / "Makefile").read_text()
