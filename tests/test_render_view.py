"""Rendering episodes: drawing actions, the annotated MP4, and the HTML viewer in Chromium."""

from __future__ import annotations

import numpy as np
import pytest

from screenpilot.dataset.actions import Action
from screenpilot.dataset.annotate import annotate_frames, draw_action, upscale_for_viewing
from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.format import EpisodeWriter
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.render import render_episode
from screenpilot.dataset.viewer import write_viewer

W, H, FPS, FRAMES = 160, 210, 5, 8
CLICK = (40, 50)
TASK = 'Click <b>OK</b> & "go"'


def white_screen() -> np.ndarray:
    frame = np.full((H, W, 3), 255, np.uint8)
    frame[150:170, 20:140] = (0, 110, 230)  # a button, so frames are not all one colour
    return frame


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """One episode of 8 frames (5 fps) with a click, a drag and typing; one with none."""
    root = tmp_path_factory.mktemp("render") / "ds"
    with EpisodeWriter(root, task=TASK, width=W, height=H, fps=FPS, clock=lambda: 0.0) as ep:
        for i in range(FRAMES):
            ep.add_frame(white_screen(), t=i / FPS)
        ep.add_action(Action("click", x=CLICK[0], y=CLICK[1]), t=0.25)  # frame 1
        ep.add_action(Action("drag", x=20, y=100, x2=140, y2=120), t=0.65)  # frame 3
        ep.add_action(Action("type", text="hello <world>"), t=1.05)  # frame 5
        ep.set_outcome(success=True)
    with EpisodeWriter(
        root, task="nothing seen", width=W, height=H, fps=FPS, clock=lambda: 0.0
    ) as ep:
        ep.add_action(Action("done"), t=0.1)
    return root


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30


# ---- annotate -------------------------------------------------------------------------------
def test_click_ring_is_drawn_at_the_click_and_nowhere_far_away():
    frame = white_screen()
    out = draw_action(frame, Action("click", x=CLICK[0], y=CLICK[1]), step=1)
    assert out.shape == frame.shape and out is not frame
    assert np.array_equal(frame, white_screen()), "the input frame must not be modified"
    diff = changed(out, frame)
    x, y = CLICK
    assert diff[y - 12 : y + 13, x - 12 : x + 13].any()
    assert not diff[H - 40 :, :].any() and not diff[:, W - 40 :].any()


@pytest.mark.parametrize(
    "action",
    [
        Action("double_click", x=80, y=80),
        Action("right_click", x=80, y=80),
        Action("move", x=80, y=80),
        Action("drag", x=10, y=10, x2=150, y2=200),
        Action("scroll", x=80, y=80, dx=0, dy=-120),
        Action("type", text="ünïcode and a very long line " * 5),
        Action("key", key="ctrl+a"),
        Action("wait"),
        Action("done"),
    ],
)
def test_every_action_type_draws_something(action):
    frame, factor = upscale_for_viewing(white_screen())
    assert changed(draw_action(frame, action, step=12, scale=factor), frame).any()


def test_captions_go_in_a_bar_at_the_top_or_bottom_edge():
    frame = white_screen()
    top = changed(draw_action(frame, Action("key", key="Enter"), step=3), frame)
    assert top[:10, :].any() and not top[-100:, :].any()
    bottom = changed(draw_action(frame, Action("key", key="Enter"), caption_at="bottom"), frame)
    assert bottom[-10:, :].any() and not bottom[:100, :].any()


def test_upscale_brings_small_screens_to_a_readable_size():
    big, factor = upscale_for_viewing(white_screen())
    assert factor == 3 and big.shape == (H * 3, W * 3, 3)
    hd = np.zeros((720, 1280, 3), np.uint8)
    same, factor = upscale_for_viewing(hd)
    assert factor == 1 and same is hd


def test_annotate_frames_holds_each_action_for_a_while():
    frames = [white_screen() for _ in range(10)]
    actions = [Action("key", key="Enter").with_time(0.2, 2)]
    out = list(annotate_frames(frames, actions, fps=5, hold_seconds=0.6, upscale=False))
    drawn = [changed(o, white_screen()).any() for o in out]
    assert drawn == [False, False, True, True, True, False, False, False, False, False]
    # At 1 fps a 0.7 s hold still shows the action on its own frame.
    out = list(annotate_frames(frames[:4], actions, fps=1, upscale=False))
    assert [changed(o, white_screen()).any() for o in out] == [False, False, True, False]


# ---- render -------------------------------------------------------------------------------------
def test_render_episode_writes_a_video_with_one_frame_per_captured_frame(dataset_dir, tmp_path):
    import av

    episode = open_dataset(dataset_dir)[0]
    out = render_episode(episode, tmp_path / "ep.mp4")
    assert out == tmp_path / "ep.mp4" and not list(tmp_path.glob("*.part"))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(frames) == FRAMES
    assert frames[0].shape == (H * 3, W * 3, 3)
    # The click (frame 1) shows a ring around its point; frame 0 shows nothing there.
    x, y = CLICK[0] * 3 + 1, CLICK[1] * 3 + 1
    near = (slice(y - 40, y + 41), slice(x - 40, x + 41))
    assert changed(frames[1][near], frames[0][near]).sum() > 50


def test_render_refuses_an_episode_without_frames(dataset_dir, tmp_path):
    empty = open_dataset(dataset_dir)[1]
    with pytest.raises(DatasetError, match="no frames"):
        render_episode(empty, tmp_path / "empty.mp4")
    assert not (tmp_path / "empty.mp4").exists()


# ---- viewer -------------------------------------------------------------------------------------
def test_viewer_page_lists_episodes_and_escapes_text(dataset_dir, tmp_path):
    page = write_viewer(dataset_dir, tmp_path / "view")
    assert page == tmp_path / "view" / "index.html"
    text = page.read_text()
    assert "Click &lt;b&gt;OK&lt;/b&gt; &amp; &quot;go&quot;" in text and "<b>OK" not in text
    assert "hello &lt;world&gt;" in text
    assert (tmp_path / "view" / "episode_000000.mp4").exists()
    assert not (tmp_path / "view" / "episode_000001.mp4").exists()  # no frames: no video
    assert "no frames" in text
    assert "http://" not in text and "https://" not in text  # nothing to fetch


@pytest.mark.integration
def test_viewer_plays_and_seeks_in_chromium(dataset_dir, chromium_launch):
    page_path = write_viewer(dataset_dir)
    assert page_path == dataset_dir / "view" / "index.html"
    browser = chromium_launch()
    page = browser.new_page()
    page.goto(page_path.as_uri())
    rows = page.locator("#episodes tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td.task").inner_text() == TASK
    video = page.locator("#episode-0 video")
    assert video.count() == 1
    page.wait_for_function(
        "document.querySelector('#episode-0 video').readyState >= 1", timeout=10_000
    )
    state = video.evaluate("v => ({duration: v.duration, error: v.error, w: v.videoWidth})")
    assert state["error"] is None and state["w"] == W * 3
    assert state["duration"] == pytest.approx(FRAMES / FPS, abs=0.05)

    items = page.locator("#episode-0 .timeline button")
    assert items.count() == 3
    items.nth(1).click()  # the drag, on frame 3
    page.wait_for_function(
        "Math.abs(document.querySelector('#episode-0 video').currentTime - 0.7) < 0.01",
        timeout=5_000,
    )
    assert "current" in (items.nth(1).get_attribute("class") or "")
    items.nth(0).click()  # the click, on frame 1
    page.wait_for_function(
        "Math.abs(document.querySelector('#episode-0 video').currentTime - 0.3) < 0.01",
        timeout=5_000,
    )
