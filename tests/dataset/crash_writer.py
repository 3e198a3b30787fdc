"""A writer in its own process for the crash and live-reading tests: records frames at
20 fps and an event every 50 ms, printing each item after it is written, until it is
killed (or, with ``--frames N``, until it has written N frames and finished the episode).
With ``--grounding`` each frame also gets its text items (the "step i" it shows).

The tests start it with ``spawn(root, *args)``."""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def spawn(root: Path, *args: str) -> subprocess.Popen:
    """This script in a subprocess, its progress lines on ``proc.stdout``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE.parents[1])])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "crash_writer.py"), str(root), *args],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def text_items(i: int) -> list[dict]:
    """What ``ui_frame(i)`` shows as text: "step i" drawn at (5, 20)."""
    return [{"text": f"step {i}", "kind": "text", "x0": 5, "y0": 10, "x1": 60, "y1": 23}]


def record(root: str, lossless: bool, frames: int | None, grounding: bool = False) -> None:
    from conftest import ui_frame
    from screenpilot.dataset.events import Event
    from screenpilot.dataset.format import EpisodeWriter

    ep = EpisodeWriter(root, "Crash me", 160, 210, fps=20, source="test", lossless=lossless)
    start = time.monotonic()
    for i in range(frames or 100_000):
        now = time.monotonic()
        ep.add_frame(ui_frame(i), t=now)
        if grounding:
            ep.add_grounding(i, text_items(i))
        x = 10 + (i // 2) % 7 * 20  # consecutive clicks far apart: no double clicks
        kind = "mouse_down" if i % 2 == 0 else "mouse_up"
        ep.add_event(Event(now + 0.001, kind, x=x, y=20, button="left"))
        print(f"frame {i} event {i}", flush=True)
        time.sleep(max(0.0, start + (i + 1) * 0.05 - time.monotonic()))
    meta = ep.finish()
    print(f"finished episode {meta['index']}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("mode", nargs="?", default="lossy", choices=["lossy", "lossless"])
    parser.add_argument("--frames", type=int, help="finish after N frames (default: never)")
    parser.add_argument("--grounding", action="store_true", help="text items with each frame")
    args = parser.parse_args()
    record(args.root, args.mode == "lossless", args.frames, args.grounding)
