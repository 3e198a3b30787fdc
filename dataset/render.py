"""An episode as an annotated video: every action drawn on the frames it happened on.

The output is H.264 in yuv420p (``VideoWriter(browser_playable=True)``), which browsers
play, unlike the dataset's own yuv444p videos. Small screens are upscaled first so that
captions stay readable (see ``annotate.upscale_for_viewing``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .annotate import HOLD_SECONDS, annotate_frames, upscale_factor
from .errors import DatasetError


def render_episode(
    episode, out_path: str | Path, *, progress: bool = False, hold_seconds: float = HOLD_SECONDS
) -> Path:
    """Write ``episode`` (a ``reader.Episode``) with its actions drawn to the MP4
    ``out_path``, one output frame per captured frame at the episode's fps; returns the
    path. The file appears whole or not at all."""
    from tqdm import tqdm

    from .video import VideoWriter

    if episode.num_frames == 0:
        raise DatasetError(f"episode {episode.index} has no frames to render")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    factor = upscale_factor(episode.width, episode.height)
    # Written beside the target and renamed: a killed render never leaves half a video
    # where a viewer page expects a playable one.
    partial = out.with_name(out.name + ".part")
    frames = tqdm(
        episode.frames(),
        total=episode.num_frames,
        desc=f"render episode {episode.index}",
        unit="frame",
        disable=not progress,
        leave=False,
    )
    annotated = annotate_frames(frames, episode.actions, fps=episode.fps, hold_seconds=hold_seconds)
    try:
        with VideoWriter(
            partial,
            episode.width * factor,
            episode.height * factor,
            episode.fps,
            browser_playable=True,
        ) as writer:
            for frame in annotated:
                writer.write(frame)
        if writer.count == 0:
            raise DatasetError(f"{episode.paths['video']}: no frame decodes; nothing to render")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
