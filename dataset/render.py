"""An episode as an annotated video: every action drawn on the frames it happened on.

The output is H.264 in yuv420p (``VideoWriter(browser_playable=True)``), which browsers
play, unlike the dataset's own yuv444p videos. Small screens are upscaled first so that
captions stay readable (see ``annotate.upscale_factor``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .actions import Action
from .annotate import HOLD_SECONDS, annotate_frames, upscale_factor
from .errors import DatasetError


def render_episode(
    episode, out_path: str | Path, *, progress: bool = False, hold_seconds: float = HOLD_SECONDS
) -> Path:
    """Write ``episode`` (a ``reader.Episode``) with its actions drawn to the MP4
    ``out_path``, one output frame per captured frame at the episode's fps; returns the
    path. The file appears whole or not at all."""
    from screenpilot.console import progress_bar

    if episode.num_frames == 0:
        raise DatasetError(f"episode {episode.index} has no frames to render")
    frames = progress_bar(
        episode.frames(),
        total=episode.num_frames,
        desc=f"render episode {episode.index}",
        unit="frame",
        disable=not progress,
        leave=False,
    )
    return write_annotated_video(
        frames, episode.actions, out_path, fps=episode.fps, width=episode.width,
        height=episode.height, hold_seconds=hold_seconds, source=episode.video_source,
    )  # fmt: skip


def write_annotated_video(
    frames: Iterable[np.ndarray],
    actions: Sequence[Action],
    out_path: str | Path,
    *,
    fps: float,
    width: int,
    height: int,
    hold_seconds: float = HOLD_SECONDS,
    source: str | Path = "the frames",
) -> Path:
    """Frames (H, W, 3 RGB, each ``action.frame`` naming the one it was taken on) with the
    actions drawn, as a browser-playable MP4. Also how the agent films its own runs."""
    from .video import VideoWriter

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    factor = upscale_factor(width, height)
    # Written beside the target and renamed: a killed render never leaves half a video
    # where a viewer page expects a playable one.
    partial = out.with_name(out.name + ".part")
    annotated = annotate_frames(frames, actions, fps=fps, hold_seconds=hold_seconds)
    try:
        with VideoWriter(
            partial, width * factor, height * factor, fps, browser_playable=True
        ) as writer:
            for frame in annotated:
                writer.write(frame)
        if writer.count == 0:
            raise DatasetError(f"{source}: no frame decodes; nothing to render")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
