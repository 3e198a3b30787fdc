"""The part of an X screen that the desktop recorder films and DesktopEnv acts in.

One definition for both, so that a model trained on desktop recordings acts on the very
area it was shown: by default the first monitor (mss's ``monitors[1]``; ``monitors[0]``
spans every monitor at once), or a ``region`` checked against the whole screen.
"""

from __future__ import annotations

from screenpilot.dataset.errors import UserError

Area = tuple[int, int, int, int]  # left, top, width, height in X screen pixels


def capture_area(grabber, region: Area | None = None) -> Area:
    """``region`` if it fits the screen, else the first monitor; ``grabber`` is an open
    ``mss.MSS``."""
    if region is None:
        first = grabber.monitors[1]
        return (first["left"], first["top"], first["width"], first["height"])
    left, top, width, height = (int(v) for v in region)
    screen = grabber.monitors[0]
    fits = (
        width > 0
        and height > 0
        and left >= screen["left"]
        and top >= screen["top"]
        and left + width <= screen["left"] + screen["width"]
        and top + height <= screen["top"] + screen["height"]
    )
    if not fits:
        raise UserError(
            f"region {tuple(region)} does not fit the {screen['width']}x{screen['height']} screen"
        )
    return (left, top, width, height)


def as_monitor(area: Area) -> dict:
    """The area as the dict ``mss.grab`` takes."""
    left, top, width, height = area
    return {"left": left, "top": top, "width": width, "height": height}


def grab_rgb(grabber, monitor: dict, out=None):
    """The area as (H, W, 3) uint8 RGB, into ``out`` when given (a buffer reused for
    every grab: a fresh array per frame costs ~5 ms at 720p)."""
    import cv2
    import numpy as np

    shot = grabber.grab(monitor)
    bgra = np.frombuffer(shot.raw, np.uint8).reshape(shot.height, shot.width, 4)
    # cv2 converts in ~1 ms at 1080p; a strided numpy copy takes ~18 ms (BENCHMARKS.md).
    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGB, dst=out)
