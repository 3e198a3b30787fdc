"""Write -> read round trips through the real encoder, and what bad input does."""

import json

import numpy as np
import pytest

from conftest import ui_frame, write_episode
from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import DatasetError, FrameIndexError
from screenpilot.dataset.events import Event
from screenpilot.dataset.format import EpisodeWriter, episode_paths
from screenpilot.dataset.reader import open_dataset

pytestmark = pytest.mark.integration  # real video files


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def test_round_trip_frames_actions_and_meta(tmp_path):
    write_episode(tmp_path / "ds", "Click the button", n_frames=25)
    ds = open_dataset(tmp_path / "ds")
    assert len(ds) == 1
    ep = ds[0]
    assert ep.task == "Click the button"
    assert ep.num_frames == 25 and ep.success is True
    assert [a.to_text() for a in ep.actions] == [
        "click 40 50",
        'type "hello"',
        "drag 10 100 120 100",
        "key Enter",
        "done",
    ]
    for a in ep.actions:  # each step points at the frame captured just before it
        assert ep.frame_times[a.frame] <= a.t < ep.frame_times[a.frame] + 0.1
    worst = min(psnr(ep.frame(i), ui_frame(i)) for i in range(25))
    assert worst >= 45, worst
    assert psnr(ep.frame_at(0.57), ui_frame(5)) >= 45
    assert [e.kind for e in ep.events][:3] == ["mouse_move", "mouse_down", "mouse_up"]
    assert ep.meta["outcome"] == {"success": True, "reward": 0.9}


def text_heavy_frame(i: int) -> np.ndarray:
    """Small coloured text on white, like a MiniWoB++ task: the hardest case for a codec."""
    import cv2

    img = np.full((210, 160, 3), 255, np.uint8)
    colours = [(0, 0, 0), (200, 30, 30), (30, 30, 200), (20, 130, 20)]
    for row in range(14):
        text = f"item {i + row} click me"
        cv2.putText(
            img, text, (2, 14 + row * 14), cv2.FONT_HERSHEY_SIMPLEX, 0.33, colours[row % 4], 1
        )
    return img


def test_text_heavy_frames_stay_above_45_db(tmp_path):
    with EpisodeWriter(tmp_path / "ds", "read me", 160, 210, clock=lambda: 0.0) as ep:
        for i in range(12):
            ep.add_frame(text_heavy_frame(i), t=i * 0.1)
    ep = open_dataset(tmp_path / "ds")[0]
    worst = min(psnr(ep.frame(i), text_heavy_frame(i)) for i in range(12))
    assert worst >= 45, worst


def test_the_desktop_recorders_bgra_frames_come_back_as_rgb(tmp_path):
    """The screen settings hand BGRA grabs to libx264rgb as they are: the colours must come
    back in their places (red text red) and sharper than the 4:4:4 default."""
    import cv2

    from screenpilot.recorder.desktop import screen_video_options

    frames = [text_heavy_frame(i) for i in range(12)]
    with EpisodeWriter(
        tmp_path / "ds", "read me", 160, 210, clock=lambda: 0.0,
        video_options=screen_video_options(fps=4),
    ) as ep:  # fmt: skip
        for i, frame in enumerate(frames):
            ep.add_frame(cv2.cvtColor(frame, cv2.COLOR_RGB2BGRA), t=i * 0.25)
    ep = open_dataset(tmp_path / "ds")[0]
    worst = min(psnr(ep.frame(i), frames[i]) for i in range(12))
    assert worst >= 50, worst
    assert min(psnr(ep.frame(i)[..., ::-1], frames[i]) for i in range(12)) < 30


def test_random_access_in_any_order_matches_sequential_decode(tmp_path):
    write_episode(tmp_path / "ds", n_frames=40)
    ep = open_dataset(tmp_path / "ds")[0]
    sequential = list(ep.frames())
    assert len(sequential) == 40
    for i in [39, 0, 17, 18, 3, 25, 25]:
        assert np.array_equal(ep.frame(i), sequential[i])


def test_lossless_mode_is_bit_exact(tmp_path):
    write_episode(tmp_path / "ds", n_frames=12, lossless=True)
    ep = open_dataset(tmp_path / "ds")[0]
    for i in range(12):
        assert np.array_equal(ep.frame(i), ui_frame(i))


def test_odd_screen_sizes_and_large_screens(tmp_path):
    write_episode(tmp_path / "ds", n_frames=4, width=333, height=201)
    write_episode(tmp_path / "ds", n_frames=3, width=1280, height=720)
    ds = open_dataset(tmp_path / "ds")
    assert ds[0].frame(3).shape == (201, 333, 3)
    assert psnr(ds[1].frame(2), ui_frame(2, 1280, 720)) >= 45
    assert json.loads((tmp_path / "ds/meta/info.json").read_text())["screen_sizes"] == [
        [333, 201],
        [1280, 720],
    ]


def test_steps_are_derived_from_raw_events_when_none_are_given(tmp_path):
    with EpisodeWriter(tmp_path / "ds", "Fill the form", 160, 210, clock=lambda: 100.0) as ep:
        for i in range(10):
            ep.add_frame(ui_frame(i), t=100.0 + i * 0.1)
        ep.add_event(Event(100.32, "mouse_down", x=20, y=30, button="left"))
        ep.add_event(Event(100.35, "mouse_up", x=20, y=30, button="left"))
        for j, ch in enumerate("Hi"):
            ep.add_event(Event(100.5 + j * 0.05, "key_down", key=ch, text=ch))
            ep.add_event(Event(100.52 + j * 0.05, "key_up", key=ch))
    ep = open_dataset(tmp_path / "ds")[0]
    assert [str(a) for a in ep.actions] == ["click 20 30", 'type "Hi"']
    assert [a.frame for a in ep.actions] == [3, 5]
    assert ep.actions[0].t == pytest.approx(0.32)


def test_frame_index_out_of_range_names_the_file(small_dataset):
    ep = open_dataset(small_dataset)[0]
    with pytest.raises(FrameIndexError, match=r"episode_000000\.mp4: frame 99 out of range"):
        ep.frame(99)
    with pytest.raises(FrameIndexError):
        ep.frame(-1)


def test_unknown_format_version_is_refused(small_dataset):
    info = small_dataset / "meta/info.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "format_version": 99}))
    with pytest.raises(DatasetError, match="version 99 is not supported"):
        open_dataset(small_dataset)


def test_missing_and_corrupt_files_name_the_file(small_dataset):
    paths = episode_paths(small_dataset, 0)
    paths["data"].write_bytes(paths["data"].read_bytes()[:40])
    ds = open_dataset(small_dataset)
    with pytest.raises(DatasetError, match=r"data/episode_000000\.parquet: unreadable parquet"):
        _ = ds[0].actions
    paths["events"].unlink()
    with pytest.raises(DatasetError, match=r"events/episode_000000\.parquet: missing"):
        _ = ds[0].events
    video = episode_paths(small_dataset, 1)["video"]
    video.write_bytes(b"not a video at all")
    with pytest.raises(DatasetError, match=r"episode_000001\.mp4"):
        ds[1].frame(0)
    assert ds[1].actions  # the rest of the episode is still there


def test_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset"):
        open_dataset(tmp_path / "nothing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other/file.txt").write_text("x")
    with pytest.raises(DatasetError, match="not a screenpilot dataset"):
        open_dataset(tmp_path / "other")
    with pytest.raises(DatasetError, match="is not a screenpilot dataset"):
        EpisodeWriter(tmp_path / "other", "t", 10, 10)


def test_a_frame_of_the_wrong_size_is_refused(tmp_path):
    with (
        EpisodeWriter(tmp_path / "ds", "t", 160, 210) as ep,
        pytest.raises(DatasetError, match="does not match"),
    ):
        ep.add_frame(np.zeros((100, 100, 3), np.uint8))


def test_episodes_append_and_keep_their_indices(tmp_path):
    write_episode(tmp_path / "ds", "a", n_frames=2, actions=[Action("done")])
    write_episode(tmp_path / "ds", "b", n_frames=2, actions=[Action("done")])
    ds = open_dataset(tmp_path / "ds")
    assert [(ep.index, ep.task) for ep in ds] == [(0, "a"), (1, "b")]
    assert ds.info["episodes"] == 2 and ds.info["steps"] == 2
