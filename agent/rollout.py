"""The video of a rollout (``screenpilot.env.rollout``): what the agent saw and did.
The loop itself lives in env/, where the expert recorder can run it too."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from screenpilot.env.rollout import Rollout


def write_rollout_video(rollout: Rollout, path: str | Path, fps: float = 2.0) -> Path:
    """What the agent saw and did: each screenshot with the action chosen on it drawn
    (a ring where it clicked, an arrow where it dragged, typed text and keys as a
    caption, the step number), then the screen it left behind."""
    from screenpilot.dataset.render import write_annotated_video

    if not rollout.screenshots:
        raise ValueError("this rollout kept no screenshots")
    height, width = rollout.screenshots[0].shape[:2]
    # Sizes can change mid-episode on a desktop; the video keeps the first frame's.
    frames = (
        s if s.shape[:2] == (height, width) else _fit(s, width, height) for s in rollout.screenshots
    )
    return write_annotated_video(
        frames, rollout.actions, path, fps=fps, width=width, height=height, hold_seconds=1 / fps
    )


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
