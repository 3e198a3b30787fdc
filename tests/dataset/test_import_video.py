"""`screenpilot dataset import-video`: real video files written with PyAV (H.264 in MP4 and
Matroska, VP9 or VP8 in WebM), imported and compared with the source as PyAV decodes it."""

from __future__ import annotations

import hashlib
import json
import re
from fractions import Fraction

import numpy as np
import pytest

from conftest import screenpilot, write_episode
from screenpilot.dataset.errors import UserError
from screenpilot.dataset.import_video import import_video, on_grid, scaled_size
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.samples import StepSamples

W, H = 96, 64
# Source frame i shows pattern SHOWN[i]: the repeats test skipping.
SHOWN = [0, 1, 1, 1, 2, 3, 3, 4, 5, 6, 6, 7]
# Irregular presentation times (ms) for the variable-frame-rate files.
VFR_MS = [0, 40, 170, 190, 600, 610, 1500, 1530, 2000, 2330, 2340, 2900]


def pattern(n: int) -> np.ndarray:
    """Pattern n: its own solid colour and a white block at its own place."""
    img = np.empty((H, W, 3), np.uint8)
    img[:] = (n * 37 % 256, n * 91 % 256, 255 - n * 53 % 256)
    x = n * 9 % (W - 16)
    img[8:24, x : x + 16] = 255
    return img


def webm_codec() -> str:
    import av

    return next(c for c in ("libvpx-vp9", "libvpx") if c in av.codecs_available)


# file suffix -> (container format, encoder, pixel format)
KINDS = {
    "mp4": ("mp4", "libx264", "yuv420p"),
    "webm": ("webm", None, "yuv420p"),  # the encoder this PyAV build has
    "mkv": ("matroska", "libx264", "yuv444p"),
}


def encode(path, pts=None, time_base=Fraction(1, 10), shown=SHOWN):
    """Write pattern ``shown[i]`` at ``pts[i]`` (in ``time_base``; default 0, 1, 2, ...)."""
    import av

    fmt, codec, pix = KINDS[path.suffix[1:]]
    pts = list(range(len(shown))) if pts is None else pts
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec or webm_codec(), rate=10)
        stream.codec_context.time_base = time_base
        stream.width, stream.height, stream.pix_fmt = W, H, pix
        stream.time_base = time_base
        for n, p in zip(shown, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(pattern(n), format="rgb24")
            frame.pts, frame.time_base = p, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def decode(path) -> list[tuple[float, np.ndarray]]:
    """The source as PyAV decodes it: (presentation time in s, RGB) per frame."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        return [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24"))
                for f in container.decode(stream)]  # fmt: skip


def changes(frames: list[tuple[float, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
    """The decoded frames that differ from the one before."""
    return [f for i, f in enumerate(frames) if i == 0 or not np.array_equal(f[1], frames[i - 1][1])]


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def assert_same_frames(episode, expected: list[tuple[float, np.ndarray]], tolerance=2.0):
    assert episode.frame_times == pytest.approx([t for t, _ in expected], abs=1e-9)
    frames = list(episode.frames())
    assert len(frames) == len(expected) == episode.num_frames
    worst = max(mean_diff(got, want) for got, (_, want) in zip(frames, expected, strict=True))
    assert worst < tolerance, worst


# ---- unit: the frame grid and sizes -----------------------------------------------------------
def test_on_grid_takes_the_last_frame_at_or_before_each_tick():
    frames = [(0.0, 0.1, "a"), (0.1, 0.25, "b"), (0.25, 0.7, "c"), (0.7, 0.8, "d")]
    ticks, images = zip(*on_grid(frames, 5), strict=True)
    assert ticks == pytest.approx((0.0, 0.2, 0.4, 0.6)) and images == tuple("abcc")
    # a tick on a frame's own time is that frame's; ticks run while the last one shows
    assert [img for _, img in on_grid(frames, 10)] == list("abbccccd")
    assert [img for _, img in on_grid(frames, 1)] == ["a"]
    assert list(on_grid([], 5)) == []


def test_on_grid_starts_at_the_first_frame_and_keeps_a_last_frame_without_duration():
    frames = [(2.0, 2.5, "a"), (3.0, 3.0, "b")]
    assert list(on_grid(frames, 2)) == [(2.0, "a"), (2.5, "a"), (3.0, "b")]


@pytest.mark.parametrize(
    "size, max_size, expected",
    [
        ((1920, 1080), 960, (960, 540)),
        ((1080, 1920), 960, (540, 960)),  # the longer side is bounded, whichever it is
        ((96, 64), 47, (47, 31)),  # odd sizes are fine in our 4:4:4 video
        ((96, 64), 96, (96, 64)),
        ((96, 64), None, (96, 64)),
        ((4000, 2), 100, (100, 1)),
    ],
)
def test_scaled_size_keeps_the_aspect(size, max_size, expected):
    assert scaled_size(*size, max_size) == expected


# ---- real files -------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("suffix", list(KINDS))
def test_every_frame_round_trips_at_its_presentation_time(tmp_path, suffix):
    source = encode(tmp_path / f"screen.{suffix}")
    meta = import_video(source, "watch", tmp_path / "ds", skip_unchanged=False, progress=False)
    episode = open_dataset(tmp_path / "ds")[meta["index"]]
    assert_same_frames(episode, decode(source))
    assert episode.actions == [] and episode.events == [] and meta["length"] == 0
    assert (meta["source"], meta["width"], meta["height"], meta["fps"]) == ("video", W, H, 10.0)
    info = meta["metadata"]
    assert info["source_file"] == source.name and info["source_size"] == [W, H]
    assert info["codec"] in ("h264", "vp8", "vp9") and info["source_fps"] == 10.0
    assert info["frames_read"] == info["frames_kept"] == len(SHOWN)


@pytest.mark.integration
@pytest.mark.parametrize("suffix", list(KINDS))
def test_frames_identical_to_the_one_before_are_dropped(tmp_path, suffix):
    source = encode(tmp_path / f"screen.{suffix}")
    decoded = decode(source)
    kept = changes(decoded)
    # A lossy codec may refine a repeated frame once before it decodes identically: what
    # counts as unchanged is the decoded picture, never the pattern we encoded.
    assert len(kept) <= len(decoded) - 2, "the file must have repeats to drop"
    meta = import_video(source, "watch", tmp_path / "ds", progress=False)
    assert_same_frames(open_dataset(tmp_path / "ds")[meta["index"]], kept)
    assert (meta["metadata"]["frames_read"], meta["metadata"]["frames_kept"]) == (
        len(decoded), len(kept),
    )  # fmt: skip


@pytest.mark.integration
@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_variable_frame_rate_keeps_the_real_times(tmp_path, suffix):
    source = encode(tmp_path / f"vfr.{suffix}", pts=VFR_MS, time_base=Fraction(1, 1000))
    meta = import_video(source, "watch", tmp_path / "ds", skip_unchanged=False, progress=False)
    episode = open_dataset(tmp_path / "ds")[meta["index"]]
    assert episode.frame_times == pytest.approx([ms / 1000 for ms in VFR_MS], abs=1e-9)
    assert_same_frames(episode, decode(source))
    assert meta["duration"] == pytest.approx(2.9)


@pytest.mark.integration
def test_fps_resamples_to_the_last_frame_at_or_before_each_tick(tmp_path):
    source = encode(tmp_path / "vfr.mkv", pts=VFR_MS, time_base=Fraction(1, 1000))
    decoded = decode(source)
    # Matroska stores each frame's duration: the last (at 2.9 s) shows until 3.0 s.
    ticks = [k / 4 for k in range(12)]  # 0, 0.25, ... 2.75: every tick before 3.0 s
    expected = [(tick, [img for t, img in decoded if t <= tick][-1]) for tick in ticks]
    meta = import_video(source, "watch", tmp_path / "ds", fps=4, skip_unchanged=False,
                        progress=False)  # fmt: skip
    episode = open_dataset(tmp_path / "ds")[meta["index"]]
    assert_same_frames(episode, expected)
    assert meta["fps"] == 4.0 and meta["metadata"]["resampled_fps"] == 4
    # Skipping then drops the ticks that saw no change.
    meta = import_video(source, "watch", tmp_path / "ds", fps=4, progress=False)
    assert_same_frames(open_dataset(tmp_path / "ds")[meta["index"]], changes(expected))
    assert meta["num_frames"] < len(ticks)


@pytest.mark.integration
def test_max_size_scales_down_keeping_the_aspect(tmp_path):
    import cv2

    source = encode(tmp_path / "screen.mkv")
    meta = import_video(source, "watch", tmp_path / "ds", max_size=47, skip_unchanged=False,
                        progress=False)  # fmt: skip
    assert (meta["width"], meta["height"]) == (47, 31)
    small = [(t, cv2.resize(img, (47, 31), interpolation=cv2.INTER_AREA))
             for t, img in decode(source)]  # fmt: skip
    assert_same_frames(open_dataset(tmp_path / "ds")[meta["index"]], small, tolerance=4.0)


@pytest.mark.integration
def test_a_stream_without_timestamps_counts_on_by_frame_duration(tmp_path):
    import av

    path = tmp_path / "raw.h264"  # a bare H.264 stream: no container, no pts
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(pattern(i), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    meta = import_video(path, "watch", tmp_path / "ds", progress=False)
    times = open_dataset(tmp_path / "ds")[meta["index"]].frame_times
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.integration
def test_a_cut_off_file_keeps_the_frames_that_decode(tmp_path):
    whole = encode(tmp_path / "screen.mkv")
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 3 // 4])
    decoded = decode(cut)
    assert 0 < len(decoded) < len(SHOWN)
    meta = import_video(cut, "watch", tmp_path / "ds", skip_unchanged=False, progress=False)
    assert_same_frames(open_dataset(tmp_path / "ds")[meta["index"]], decoded)


@pytest.mark.integration
def test_reading_never_changes_the_source(tmp_path):
    source = encode(tmp_path / "screen.webm")
    before = (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns)
    import_video(source, "watch", tmp_path / "ds", progress=False)
    assert (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "screen.webm"]


# ---- mistakes: one line, nothing written ----------------------------------------------------
def not_videos(tmp_path) -> dict[str, str]:
    import av
    import cv2

    (tmp_path / "notes.mp4").write_text("not a video\n" * 20)
    cv2.imwrite(str(tmp_path / "shot.png"), pattern(1))
    with av.open(str(tmp_path / "sound.wav"), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16",
                                           layout="mono")  # fmt: skip
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return {
        "notes.mp4": "not a video file",
        "shot.png": "an image (png_pipe), not a video",
        "sound.wav": "has no video stream",
        "missing.mp4": "no such file",
        ".": "not a file",
    }


@pytest.mark.integration
def test_what_is_not_a_video_is_one_clear_error(tmp_path):
    for name, message in not_videos(tmp_path).items():
        with pytest.raises(UserError, match=re.escape(message)):
            import_video(tmp_path / name, "watch", tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds").exists()


@pytest.mark.integration
@pytest.mark.parametrize(
    "args, message",
    [
        (["notes.mp4"], "notes.mp4: not a video file (Invalid data found"),
        (["sound.wav"], "sound.wav: has no video stream"),
        (["missing.mp4"], "missing.mp4: no such file"),
        (["screen.mp4", "--fps", "0"], "--fps must be above 0"),
        (["screen.mp4", "--max-size", "0"], "--max-size must be at least 1 pixel"),
    ],
)
def test_cli_errors_are_one_line_and_a_nonzero_exit(tmp_path, args, message):
    not_videos(tmp_path)
    encode(tmp_path / "screen.mp4")
    out = screenpilot("dataset", "import-video", tmp_path / args[0], *args[1:], "--task", "t",
                      "--out", tmp_path / "ds")  # fmt: skip
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert not (tmp_path / "ds").exists()


# ---- the rest of the toolchain on an episode with no steps ----------------------------------
@pytest.mark.integration
def test_cli_end_to_end_and_the_toolchain_on_a_0_step_episode(tmp_path):
    source = encode(tmp_path / "vfr.mp4", pts=VFR_MS, time_base=Fraction(1, 1000))
    ds = tmp_path / "ds"
    write_episode(ds, "Click the button")  # an episode with steps beside it
    out = screenpilot("-q", "dataset", "import-video", source, "--task", "a screen video",
                      "--out", ds)  # fmt: skip
    assert out.returncode == 0, out.stderr
    kept = len(changes(decode(source)))
    assert out.stdout == f"{ds}: episode 1, {kept} of 12 frames kept, 2.9 s, 96x64\n"

    info = json.loads(screenpilot("dataset", "info", ds, "--json").stdout)
    assert (info["episodes"], info["steps"], info["sources"]) == (2, 5, {"test": 1, "video": 1})
    assert info["frames"] == 12 + kept and info["screen_sizes"] == ["160x210", "96x64"]
    assert screenpilot("dataset", "check", ds, "--deep").returncode == 0
    samples = StepSamples(ds)
    assert len(samples) == 5 and {samples[i]["episode"] for i in range(5)} == {(0, 0)}

    out = screenpilot("dataset", "compact", ds)  # sealed into a chunk, read from it
    assert out.returncode == 0, out.stderr
    assert screenpilot("dataset", "check", ds, "--deep").returncode == 0
    episode = open_dataset(ds)[1]
    assert episode.location is not None and episode.actions == [] and episode.events == []
    assert_same_frames(episode, changes(decode(source)))
    assert len(StepSamples(ds)) == 5
    assert screenpilot("dataset", "view", ds, "--out", tmp_path / "view").returncode == 0


@pytest.mark.integration
def test_the_viewer_plays_an_imported_episode_with_no_actions(tmp_path, chromium_launch):
    from screenpilot.dataset.viewer import write_viewer

    source = encode(tmp_path / "screen.mp4")
    import_video(source, "a screen video", tmp_path / "ds", progress=False)
    page_path = write_viewer(tmp_path / "ds")
    page = chromium_launch().new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.as_uri())
    page.wait_for_selector("body[data-ready=yes]")
    page.wait_for_function("document.getElementById('video').readyState >= 1", timeout=10_000)
    assert page.evaluate("video.videoWidth") == W and page.evaluate("video.error") is None
    page.wait_for_selector("#timeline .note")
    assert page.locator("#timeline").inner_text() == "no actions"
    assert "0 steps" in page.locator("#episode-facts").inner_text()
    assert errors == []
