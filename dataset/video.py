"""Episode videos through PyAV: a crash-tolerant writer and a seeking reader.

Why these settings (measured on real MiniWoB++ screenshots):
- libx264 in yuv444p at crf 10: yuv420p halves the colour resolution and blurs coloured
  UI text. On real MiniWoB++ screenshots crf 18 fell to 40.6 dB on the worst frame (thin
  text edges); crf 10 keeps every frame above 49 dB for 27% more bytes and about the
  same encoding time. ``lossless=True`` switches to libx264rgb at qp 0: bit-exact.
- a keyframe every ``gop`` frames: a random seek decodes at most ``gop`` frames.
- fragmented MP4 with one fragment a second, flushed per packet, and x264's zero-latency
  tuning (no lookahead, no B-frames): a writer killed mid-episode leaves a file whose
  fragments up to the last second still decode. A fragment reaches the disk only when
  the next one starts, so a writer whose frames come sparsely (the desktop recorder
  skips unchanged frames) asks for ``fragment_every_frame``: every frame but the last is
  then on disk, however long ago it was written (a reader opens such a file slower:
  ~0.3 s for 18,000 frames against 0.03 s).
- presentation time = frame index / fps: frame ``i`` is found without a table. The real
  capture times live beside the video (frames/episode_*.parquet); a desktop recording
  that skips unchanged frames has gaps there, never in the indices.
- the defaults suit small frames (expert episodes are 160x210). The desktop recorder
  films 1080p screens with ``preset="ultrafast"``, one encoder thread and ``rgb=True``:
  libx264rgb at the same crf encodes the BGRA grab's own planes (``input_format="bgra"``),
  with no colour conversion at all, and keeps more detail than 4:4:4 YUV (63 dB against
  52 on a 1080p desktop) in files of the same size. ultrafast buys its speed with bigger
  files, not lower quality (BENCHMARKS.md, "Recorder: unchanged frames, the preset").
  Browsers decode RGB-plane H.264 with wrong colours (Chromium: a mean error of 38
  levels), so the episode's header says ``rgb_video`` and `dataset view` plays a 4:4:4
  YUV copy of such videos.
"""

from __future__ import annotations

import io
import os
import weakref
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import DatasetError, FrameIndexError


@dataclass(frozen=True)
class ByteRange:
    """A whole MP4 stored inside a larger file (a chunk's videos): ``length`` bytes from
    ``offset``. ``open()`` gives a file object that sees only those bytes."""

    path: Path
    offset: int
    length: int

    def open(self) -> io.BufferedReader:
        return io.BufferedReader(_RangeFile(self))

    def __str__(self) -> str:
        return f"{self.path} (bytes {self.offset}..{self.offset + self.length})"


class _RangeFile(io.RawIOBase):
    def __init__(self, where: ByteRange):
        self._file = open(where.path, "rb")  # noqa: SIM115 - closed with this object
        self._start, self._length, self._pos = where.offset, where.length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self._length - self._pos))
        self._file.seek(self._start + self._pos)
        got = self._file.readinto(memoryview(buffer)[:n])
        self._pos += got
        return got

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._file.close()
        super().close()


def open_container(source: str | Path | ByteRange):
    """av.open on a video file or on a ByteRange of one."""
    import av

    return av.open(source.open() if isinstance(source, ByteRange) else str(source))


class VideoWriter:
    """H.264 in fragmented MP4, one frame at a time (the module's docstring says why).
    ``rgb``: encode the RGB planes at ``crf`` (libx264rgb) instead of 4:4:4 YUV;
    ``threads``: x264's threads, 0 for its own choice (one is cheapest in CPU a frame)."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float = 10,
        *,
        lossless: bool = False,
        crf: int = 10,
        gop: int = 10,
        preset: str = "veryfast",
        browser_playable: bool = False,
        input_format: str = "rgb24",
        fragment_every_frame: bool = False,
        rgb: bool = False,
        threads: int = 0,
    ):
        import av

        if input_format not in INPUT_CHANNELS:
            raise DatasetError(f"input_format {input_format!r}: one of {sorted(INPUT_CHANNELS)}")
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        self.fps = fps
        self.count = 0
        self.input_format = input_format
        self._frame_format = input_format
        self._rate = Fraction(fps).limit_denominator(1000)
        self._container = av.open(
            str(self.path),
            "w",
            format="mp4",
            options={
                "movflags": ("frag_every_frame" if fragment_every_frame else "frag_keyframe")
                + "+empty_moov+default_base_moof",
                "frag_duration": "1000000",
                "flush_packets": "1",
            },
        )
        if browser_playable:
            # Browsers decode H.264 only in 4:2:0, which needs even sizes.
            codec, opts, pix = "libx264", {"crf": "20", "preset": preset}, "yuv420p"
            self._pad = (self.height % 2, self.width % 2)
        elif lossless or rgb:
            quality = {"qp": "0"} if lossless else {"crf": str(crf)}
            # A BGRA grab is bgr0 to this encoder (the fourth byte ignored): no conversion.
            pix = "bgr0" if input_format == "bgra" else "rgb24"
            codec, opts = "libx264rgb", quality | {"preset": preset}
            self._pad = (0, 0)
        else:
            codec, opts, pix = "libx264", {"crf": str(crf), "preset": preset}, "yuv444p"
            self._pad = (0, 0)
        opts |= {"g": str(gop), "tune": "zerolatency"}
        if threads:
            opts["threads"] = str(threads)
        self._stream = self._container.add_stream(codec, rate=self._rate, options=opts)
        self._stream.width = self.width + self._pad[1]
        self._stream.height = self.height + self._pad[0]
        self._stream.pix_fmt = pix
        if pix == "bgr0":
            self._frame_format = "bgr0"  # the same bytes as the BGRA frames given
        self._stream.time_base = 1 / self._rate

    def write(self, frame: np.ndarray) -> int:
        """Append one uint8 frame, (H, W, 3) RGB or as ``input_format`` says; returns its
        index."""
        shape = (self.height, self.width, INPUT_CHANNELS[self.input_format])
        if frame.shape != shape or frame.dtype != np.uint8:
            raise DatasetError(
                f"frame of shape {frame.shape} {frame.dtype} does not match the video's "
                f"{shape} uint8 ({self.input_format})"
            )
        if any(self._pad):
            frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        vf = _video_frame(frame, self._frame_format)
        vf.pts = self.count
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self.count += 1
        return self.count - 1

    def close(self) -> None:
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# What VideoWriter.write takes: pixel format -> channels of its (H, W, C) arrays.
INPUT_CHANNELS = {"rgb24": 3, "bgra": 4}


def _video_frame(array: np.ndarray, pixel_format: str):
    """A packed (H, W, C) array as an av.VideoFrame, copied row by row into the frame's
    plane: PyAV's from_ndarray took 18 ms for a 1080p BGRA frame (its 4-byte path), this
    takes ~1.5 ms."""
    import av

    height, width, channels = array.shape
    frame = av.VideoFrame(width, height, pixel_format)
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)
    rows[:, : width * channels] = array.reshape(height, width * channels)
    return frame


# Every reader with an open container. A forked child (a DataLoader worker) must not
# inherit one: freeing an inherited decoder can hang in avcodec_free_context, and two
# processes sharing one file position read each other's packets. So every reader is
# closed before a fork; each reopens by itself on its next read.
#
# Decoding is single-threaded everywhere, on purpose: once FFmpeg's threaded H.264
# decoder has run in a process, a child forked from it hangs in its first av.open
# (measured here with PyAV 18; a DataLoader with workers forks). Our frames are small
# and read one GOP at a time, where decoder threads bought little.
_OPEN_READERS: weakref.WeakSet = weakref.WeakSet()


def close_all_readers() -> None:
    for reader in list(_OPEN_READERS):
        reader.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=close_all_readers)


class VideoReader:
    """Random access to frames by index: seek to the keyframe before, decode forward.
    Decoded frames of the last GOP are kept, so reading neighbours costs nothing more.
    The file opens on first use and reopens after ``close()``."""

    def __init__(
        self,
        path: str | Path | ByteRange,
        fps: float,
        width: int | None = None,
        height: int | None = None,
    ):
        self.path = path if isinstance(path, ByteRange) else Path(path)
        self.fps = fps
        # Cropping undoes the padding that browser-playable videos may carry.
        self.width, self.height = width, height
        self._container = None
        self._cache: dict[int, np.ndarray] = {}
        self._open()

    def _open(self) -> None:
        import av

        if self._container is not None:
            return
        try:
            self._container = open_container(self.path)
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, IndexError, OSError) as e:
            self._container = None
            raise DatasetError(f"{self.path}: cannot open video ({_reason(e)})") from None
        _single_threaded(self._stream)
        self._time_base = self._stream.time_base
        _OPEN_READERS.add(self)

    def _index_of(self, frame) -> int:
        return round(float(frame.pts * self._time_base) * self.fps)

    def _to_array(self, frame) -> np.ndarray:
        img = frame.to_ndarray(format="rgb24")
        if self.width is not None:
            img = img[: self.height, : self.width]
        return img

    def read(self, index: int) -> np.ndarray:
        import av

        if index in self._cache:
            return self._cache[index]
        self._open()
        target_pts = int(round(index / self.fps / self._time_base))
        self._cache.clear()
        try:
            self._container.seek(target_pts, stream=self._stream, backward=True, any_frame=False)
            for frame in self._container.decode(self._stream):
                i = self._index_of(frame)
                if i > index:
                    break
                self._cache[i] = self._to_array(frame)
                if i == index:
                    return self._cache[i]
        except av.FFmpegError as e:
            raise DatasetError(f"{self.path}: cannot decode frame {index} ({_reason(e)})") from None
        raise FrameIndexError(f"{self.path}: no frame {index} in the video")

    def __iter__(self):
        import av

        self._open()
        try:
            self._container.seek(0, stream=self._stream)
            for frame in self._container.decode(self._stream):
                yield self._to_array(frame)
        except av.FFmpegError as e:
            raise DatasetError(f"{self.path}: cannot decode ({_reason(e)})") from None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            _OPEN_READERS.discard(self)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def count_decodable_frames(path: str | Path | ByteRange) -> int:
    """How many frames of a (possibly truncated) video decode cleanly, from the start."""
    import av

    n = 0
    try:
        with open_container(path) as container:
            stream = container.streams.video[0]
            _single_threaded(stream)
            for _ in container.decode(stream):
                n += 1
    except (av.FFmpegError, OSError, IndexError):
        pass
    return n


def count_packets(path: str | Path | ByteRange) -> int:
    """Frames in a video by demuxing only (no decode): cheap enough for `dataset check`."""
    import av

    try:
        with open_container(path) as container:
            return sum(1 for p in container.demux(video=0) if p.size > 0)
    except (av.FFmpegError, OSError, IndexError) as e:
        raise DatasetError(f"{path}: cannot read video ({_reason(e)})") from None


def _single_threaded(stream) -> None:
    stream.codec_context.thread_count = 1
    stream.thread_type = "NONE"


def _reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e).splitlines()[0]
