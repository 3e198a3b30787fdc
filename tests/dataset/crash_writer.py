"""A writer for the crash test: records frames at 20 fps and an event every 50 ms,
printing each item after it is written, until it is killed."""

import sys
import time

from conftest import ui_frame
from screenpilot.dataset.events import Event
from screenpilot.dataset.format import EpisodeWriter

root = sys.argv[1]
lossless = len(sys.argv) > 2 and sys.argv[2] == "lossless"
ep = EpisodeWriter(root, "Crash me", 160, 210, fps=20, source="test", lossless=lossless)
start = time.monotonic()
for i in range(100_000):
    now = time.monotonic()
    ep.add_frame(ui_frame(i), t=now)
    x = 10 + (i // 2) % 7 * 20  # consecutive clicks far apart: no double clicks
    kind = "mouse_down" if i % 2 == 0 else "mouse_up"
    ep.add_event(Event(now + 0.001, kind, x=x, y=20, button="left"))
    print(f"frame {i} event {i}", flush=True)
    time.sleep(max(0.0, start + (i + 1) * 0.05 - time.monotonic()))
