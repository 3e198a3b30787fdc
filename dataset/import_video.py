"""A plain screen video (mp4, webm, mkv, ...) as an episode: frames only, no input events.

Most screen recordings have no events; an inverse dynamics model labels them later, so
until then such an episode has 0 steps and trains nothing. Its frames keep their
presentation times (pts x time_base, not index / rate: screen recorders write variable
frame rates), on the source's own clock: the episode's t = 0 is its first frame, and
its meta line's ``clock_origin`` is that frame's time in the source.

A frame identical to the one before (as decoded) is dropped unless asked: it shows
nothing new, and the times of the frames kept still say how long each was shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .errors import UserError

# Seconds within which a frame's time counts as on a tick: times are floats of exact
# rationals, ticks sums of 1 / fps.
TICK_EPS = 1e-6


def import_video(
    path: str | Path,
    task: str,
    out: str | Path,
    *,
    fps: float | None = None,
    max_size: int | None = None,
    skip_unchanged: bool = True,
    progress: bool = True,
) -> dict:
    """Append the video at ``path`` to the dataset ``out`` (created if needed) as one
    episode with task text ``task``; returns its meta line. ``fps`` resamples to a
    regular grid of ticks (the last frame at or before each); ``max_size`` scales frames
    down, keeping their aspect, so that neither side exceeds it; ``skip_unchanged=False``
    keeps frames identical to the one before. The source file is only read."""
    import av

    from screenpilot.console import progress_bar

    from .video import _reason, _single_threaded

    path = Path(path)
    if fps is not None and not fps > 0:
        raise UserError(f"--fps must be above 0, got {fps:g}")
    if max_size is not None and max_size < 1:
        raise UserError(f"--max-size must be at least 1 pixel, got {max_size}")
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as e:
        raise UserError(f"{path}: not a video file ({_reason(e)})") from None
    with container:
        kind = container.format.name
        if kind == "image2" or kind.endswith("_pipe"):  # FFmpeg's demuxers of still images
            raise UserError(f"{path}: an image ({kind}), not a video")
        if not container.streams.video:
            raise UserError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        # Single-threaded like every decoder of ours: a process that has run FFmpeg's
        # threaded H.264 decoder hangs in the first av.open of a child it forks (video.py).
        _single_threaded(stream)
        rate = stream.average_rate or stream.guessed_rate
        stats = {"frames_read": 0, "decode_error": None}
        decoded = progress_bar(
            _decode(container, stream, max_size, stats),
            total=_estimated_frames(container, stream),
            desc=f"import {path.name}",
            unit="frame",
            disable=not progress,
        )
        timed = on_grid(decoded, fps) if fps else ((t, image) for t, _, image in decoded)
        metadata = {
            "source_file": path.name,
            "container": kind,
            "codec": stream.codec_context.name,
            "source_size": [stream.codec_context.width, stream.codec_context.height],
            "source_fps": round(float(rate), 3) if rate else None,
            "resampled_fps": fps,
            "skip_unchanged": skip_unchanged,
        }
        writer, previous, kept = None, None, 0
        try:
            for t, image in timed:
                if skip_unchanged and previous is not None and np.array_equal(image, previous):
                    continue
                if writer is None:
                    writer = _writer(out, task, image, t, fps or rate, metadata)
                writer.add_frame(image, t=t)
                previous, kept = image, kept + 1
        except BaseException:
            if writer is not None:  # an interrupted import still ends in a sound episode
                writer.header["metadata"]["incomplete"] = True
            raise
        finally:
            decoded.close()
            if writer is not None:
                writer.header["metadata"].update(
                    frames_read=stats["frames_read"], frames_kept=kept,
                    decode_error=stats["decode_error"],
                )  # fmt: skip
                meta = writer.finish()
    if writer is None:
        why = f" ({stats['decode_error']})" if stats["decode_error"] else ""
        raise UserError(f"{path}: no frame of its video stream decodes{why}")
    return meta


def _writer(out, task: str, first: np.ndarray, t0: float, fps, metadata: dict):
    from .format import EpisodeWriter

    height, width = first.shape[:2]
    # The source's clock, stopped at its first frame: frames are stamped with their own
    # times, and the episode's t = 0 (its clock_origin) is that first frame.
    return EpisodeWriter(out, task, width, height, fps=round(float(fps or 30), 3),
                         source="video", metadata=metadata, clock=lambda: t0)  # fmt: skip


def _decode(container, stream, max_size: int | None, stats: dict) -> Iterator[tuple]:
    """(t, end, image) for every frame of ``stream`` in presentation order: its time and
    when the next is due, in seconds of the source, and (H, W, 3) uint8 RGB, scaled down
    to ``max_size``. Every frame gets the first frame's size (a recording may change
    size midway). A decode error ends the frames; ``stats`` says why, and counts them."""
    import av

    from .video import _reason

    size, t_last, end = None, None, 0.0
    period = 1 / float(stream.guessed_rate) if stream.guessed_rate else 0.0
    try:
        for frame in container.decode(stream):
            stats["frames_read"] += 1
            if size is None:
                size = scaled_size(frame.width, frame.height, max_size)
            # A stream without timestamps (a raw .h264 file) counts on from the last frame.
            t = float(frame.pts * frame.time_base) if frame.pts is not None else end
            t = t if t_last is None else max(t, t_last)  # never back in time
            duration = float(frame.duration * frame.time_base) if frame.duration else period
            t_last, end = t, t + duration
            image = frame.to_ndarray(
                format="rgb24", width=size[0], height=size[1], interpolation="AREA"
            )
            yield t, end, image
    except av.FFmpegError as e:
        stats["decode_error"] = _reason(e)


def _estimated_frames(container, stream) -> int | None:
    """For the progress bar: the stream's frame count, or its duration x rate (WebM and
    Matroska do not store a count)."""
    if stream.frames:
        return stream.frames
    rate = stream.average_rate or stream.guessed_rate
    if container.duration and rate:
        return round(container.duration / 1_000_000 * float(rate))
    return None


def scaled_size(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """(width, height) scaled down, aspect kept, so that neither side exceeds
    ``max_size``; unchanged when it fits. Odd sizes are fine: our video is 4:4:4."""
    if max_size is None or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def on_grid(frames: Iterable[tuple], fps: float) -> Iterator[tuple]:
    """Resample (t, end, image) frames to ticks every 1 / ``fps`` s from the first
    frame's time while the video shows a frame (before the last one's ``end``): at
    each tick, the last frame at or before it. Yields (tick, image)."""
    start, k, shown, end = None, 0, None, 0.0
    for t, frame_end, image in frames:
        if start is None:
            start = t
        while shown is not None and start + k / fps < t - TICK_EPS:
            yield start + k / fps, shown
            k += 1
        # A frame shown for no time at all still owns the tick at its own time.
        shown, end = image, max(frame_end, t + 2 * TICK_EPS)
    while shown is not None and start + k / fps < end - TICK_EPS:
        yield start + k / fps, shown
        k += 1
