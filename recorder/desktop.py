"""`screenpilot record desktop`: the X screen through mss and every input event through
pynput, stamped with one monotonic clock, into an episode.

Threads and why:
- the capture loop (main thread) grabs a frame at each tick of a steady schedule. A frame
  identical to the last one written is not written (screens are mostly still; see
  ``record_desktop``); when the encoder already has ``QUEUED_FRAMES`` waiting or a tick
  was missed, the frame is counted as dropped, never silently skipped;
- pynput's listener threads stamp each event the moment it arrives and queue it;
- one writer thread encodes frames and journals events in arrival order. Input events
  are never dropped: their queue is unbounded, and they are flushed as they come.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from screenpilot.dataset.actions import normalize_combo
from screenpilot.dataset.errors import UserError
from screenpilot.dataset.events import Event
from screenpilot.env.screen_area import as_monitor, capture_area

from .pynput_keys import key_from_pynput
from .stop_signals import restore_signals, stop_on_signals

# pynput reports wheel notches; Chromium on X11 scrolls about this many pixels a notch.
SCROLL_PX_PER_NOTCH = 100
DEFAULT_STOP_KEY = "ctrl+alt+q"
REDACTED = "*"
# Frames grabbed but not yet encoded, at most: a bound on memory (8 MB a 1080p frame) that
# turns an encoder falling behind into counted drops.
QUEUED_FRAMES = 8
# A still screen still gets a frame this often. The MP4 holds the last frame written
# until the next one comes (each frame is its own fragment, whose length is known only
# then), so without it a SIGKILL after a long still stretch would lose the last change
# before it; with it, a crash loses at most the last second, as at a steady rate.
HEARTBEAT_S = 1.0
# The encoder for screens, chosen by measuring a scrolling 1920x1080 desktop
# (bench/recorder_bench.py, BENCHMARKS.md "Recorder: unchanged frames, the preset"):
# x264 ultrafast (superfast and veryfast cost 10-13 ms more a frame); the RGB planes
# encoded as grabbed (libx264rgb takes BGRA as bgr0: no colour conversion, which cost
# 7 ms a frame); one encoder thread (x264's own threads cost 25% more CPU a frame on
# idle cores); and a keyframe a second rather than every 10 frames (keyframes are most
# of the bytes; a seek then decodes at most a second of frames).
SCREEN_VIDEO = {
    "preset": "ultrafast", "input_format": "bgra", "rgb": True, "threads": 1,
    "fragment_every_frame": True,
}  # fmt: skip


def screen_video_options(fps: float) -> dict:
    """VideoWriter's settings for a screen filmed at ``fps``: a keyframe a second."""
    return SCREEN_VIDEO | {"gop": max(1, round(fps))}


@dataclass
class DesktopRecording:
    out: Path
    episode: int
    duration: float
    frames: int
    dropped_frames: int
    events: int
    actions: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # the episode's meta line
    unchanged_frames: int = 0  # grabbed, identical to the last frame written, not written


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="dataset to create or append to")
    p.add_argument("--task", required=True, help="what the person is doing, in words")
    p.add_argument("--fps", type=float, default=10, help="frames per second (10)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    area = p.add_mutually_exclusive_group()
    area.add_argument("--region", metavar="X,Y,W,H", help="record only this part of the screen")
    area.add_argument(
        "--window", metavar="NAME",
        help="record only the window whose title contains NAME (any case), where it is "
        "when the recording starts",
    )  # fmt: skip
    p.add_argument("--display", metavar=":N", help="X display (default $DISPLAY)")
    p.add_argument(
        "--draw-pointer", action="store_true",
        help="draw the mouse pointer into the frames (off: the agent's own screenshots "
        "have none)",
    )  # fmt: skip
    # Writes every frame, changed or not, as the recorder did before it skipped unchanged
    # ones: for benchmarks (bench/recorder_bench.py), not for users.
    p.add_argument("--no-skip", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--redact-typing", action="store_true",
        help="mask typed characters (passwords); Enter, Tab and other keys stay",
    )  # fmt: skip
    p.add_argument(
        "--stop-key", default=DEFAULT_STOP_KEY, metavar="COMBO",
        help=f"hotkey that stops the recording ({DEFAULT_STOP_KEY})",
    )  # fmt: skip
    p.set_defaults(func=cmd_desktop)


def cmd_desktop(args) -> int:
    region = parse_region(args.region) if args.region else None
    rec = record_desktop(
        args.out, args.task, fps=args.fps, duration=args.duration, region=region,
        window=args.window, display=args.display, redact_typing=args.redact_typing,
        stop_key=args.stop_key, draw_pointer=args.draw_pointer,
        skip_unchanged=not args.no_skip,
    )  # fmt: skip
    print(
        f"episode {rec.episode} in {rec.out}: {rec.duration:.1f} s, {rec.frames} frames "
        f"({rec.unchanged_frames} unchanged, not written; {rec.dropped_frames} dropped), "
        f"{rec.events} events, {len(rec.actions)} actions"
    )
    for i, action in enumerate(rec.actions, 1):
        print(f"  {i:3d}  {action.t:7.2f} s  {action.to_text()}")
    return 0


def parse_region(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--region wants X,Y,W,H in pixels, got {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise UserError(f"--region {text!r}: width and height must be positive, x and y >= 0")
    return x, y, w, h


def require_display(display: str | None) -> str:
    """The X display to record, or one clear line saying why there is none."""
    display = display or os.environ.get("DISPLAY")
    if not display:
        kind = os.environ.get("XDG_SESSION_TYPE", "")
        why = "this is a Wayland session" if kind == "wayland" else "no X display is set"
        raise UserError(
            f"cannot record the desktop: {why}; run under X11 and set $DISPLAY or pass --display"
        )
    os.environ["DISPLAY"] = display
    return display


class _StopKey:
    """Watches held keys for the stop combo."""

    def __init__(self, combo: str):
        parts = normalize_combo(combo).split("+")
        self.mods, self.key = set(parts[:-1]), parts[-1]
        self.held: set[str] = set()

    def pressed(self, name: str) -> bool:
        self.held.add(name)
        return name.lower() == self.key.lower() and self.mods <= self.held

    def released(self, name: str) -> None:
        self.held.discard(name)


def record_desktop(
    out: str | Path,
    task: str,
    *,
    fps: float = 10,
    duration: float | None = None,
    region: tuple[int, int, int, int] | None = None,
    window: str | None = None,
    display: str | None = None,
    redact_typing: bool = False,
    stop_key: str = DEFAULT_STOP_KEY,
    stop_event: threading.Event | None = None,
    announce=print,
    metadata: dict | None = None,
    outcome: Callable[[], dict] | None = None,
    draw_pointer: bool = False,
    skip_unchanged: bool = True,
) -> DesktopRecording:
    """``metadata``: more of the episode's metadata (a scripted expert's env and seed);
    ``outcome()``: called once the recording stops, its dict kept as the episode's
    outcome (``success`` ...), for recordings of tasks that judge themselves.
    ``window``: film the window whose title contains it (recorder/windows.py) instead of
    a ``region``. ``draw_pointer``: the mouse pointer drawn into the frames (for an
    inverse dynamics model; the agent's own screenshots have none).

    A frame identical to the last one written is not written (``skip_unchanged``): it
    gets no video frame and no frames-table row, so indices stay consecutive and the
    capture times say when each image appeared; ``frame_before(t)`` then finds the last
    change, which is what was on screen at ``t``. A frame is written at least every
    ``HEARTBEAT_S``. The episode's metadata counts ``unchanged_frames`` beside
    ``dropped_frames``."""
    import mss

    from screenpilot.dataset.format import EpisodeWriter
    from screenpilot.dataset.reader import open_dataset

    if fps <= 0 or fps > 120:
        raise UserError(f"--fps must be in (0, 120], got {fps}")
    display = require_display(display)
    if window is not None:
        if region is not None:
            raise UserError("--window and --region both choose the area: give one")
        from .windows import window_region

        region = window_region(window, display)
    try:
        grabber = mss.MSS(display=display, with_cursor=draw_pointer)
    except Exception as e:  # noqa: BLE001 - mss raises its own error types per platform
        raise UserError(f"cannot open X display {display}: {e}") from None
    region = capture_area(grabber, region)
    x0, y0, width, height = region
    monitor = as_monitor(region)

    stop = stop_event or threading.Event()
    stopper = _StopKey(stop_key)
    items: queue.SimpleQueue = queue.SimpleQueue()  # frames and events for the writer thread
    slots = threading.Semaphore(QUEUED_FRAMES)  # taken by a frame queued, given back once written

    def on_event(**fields) -> None:
        items.put(("event", Event(t=time.monotonic(), **fields), None))

    listeners = _start_listeners(on_event, stopper, stop, x0, y0, redact_typing)
    writer = EpisodeWriter(
        out, task, width, height, fps=fps, source="desktop",
        metadata={"display": display, "region": list(region), "redacted_typing": redact_typing,
                  "window": window, "draw_pointer": draw_pointer, **(metadata or {})},
        video_options=screen_video_options(fps),
    )  # fmt: skip
    writer_thread = threading.Thread(
        target=_write_items, args=(writer, items, slots, (height, width, 4)), daemon=True
    )
    writer_thread.start()

    # SIGTERM stops cleanly like Ctrl+C (which raises KeyboardInterrupt, caught below).
    previous = stop_on_signals(stop, (signal.SIGTERM,))
    announce(
        f"recording {width}x{height} of display {display} at {fps:g} fps into {out}; "
        f"stop with Ctrl+C or {stop_key}"
        + ("; typed characters are masked" if redact_typing else "; typing is recorded as typed")
    )
    dropped = unchanged = 0
    last_frame, last_written = None, 0.0
    start = time.monotonic()
    tick = 0
    try:
        while not stop.is_set():
            now = time.monotonic()
            if duration is not None and now - start >= duration:
                break
            due = start + tick / fps
            if now < due:
                stop.wait(due - now)
                continue
            late_ticks = int((now - due) * fps)
            if late_ticks:  # ticks we slept through: those frames were never captured
                dropped += late_ticks
                tick += late_ticks
            tick += 1
            t = time.monotonic()
            frame = grabber.grab(monitor).raw  # BGRA, a fresh bytearray every grab
            # Screens are mostly still. Comparing bytes is one memcmp (~1 ms at 1080p when
            # equal, less when not: it stops at the first difference); encoding is ~20.
            if skip_unchanged and frame == last_frame and t - last_written < HEARTBEAT_S:
                unchanged += 1
                continue
            if not slots.acquire(blocking=False):
                dropped += 1  # the encoder is behind; say so rather than block the clock
                continue
            items.put(("frame", frame, t))
            last_frame, last_written = frame, t
    except KeyboardInterrupt:
        pass
    finally:
        recorded_s = time.monotonic() - start
        _stop_listeners(listeners, display)
        restore_signals(previous)
        items.put(("stop", None, None))
        writer_thread.join()
        grabber.close()
    writer.header["metadata"]["dropped_frames"] = dropped
    writer.header["metadata"]["unchanged_frames"] = unchanged
    if outcome is not None:
        writer.set_outcome(**outcome())
    meta = writer.finish()
    episode = open_dataset(out)[meta["index"]]
    return DesktopRecording(
        out=Path(out), episode=meta["index"], duration=recorded_s,
        frames=meta["num_frames"], dropped_frames=dropped, events=meta["num_events"],
        actions=episode.actions, meta=meta, unchanged_frames=unchanged,
    )  # fmt: skip


def _stop_listeners(listeners, display: str) -> None:
    """Stop pynput's listeners and wait until they are gone (before the display may be).
    On X a listener leaves its RECORD context only when one more event of its kind
    arrives, so one of each is sent: a press and release of a keycode no key is mapped to
    (no window acts on it) and the pointer moved by one pixel and back."""
    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    for listener in listeners:
        listener.stop()
    conn = xdisplay.Display(display)
    try:
        mapped = {c for c in range(8, 256) if conn.keycode_to_keysym(c, 0) != XK.NoSymbol}
        unmapped = next((c for c in range(255, 7, -1) if c not in mapped), None)
        for _ in range(10):
            if not any(listener.is_alive() for listener in listeners):
                break
            if unmapped is not None:
                xtest.fake_input(conn, X.KeyPress, unmapped)
                xtest.fake_input(conn, X.KeyRelease, unmapped)
            pointer = conn.screen().root.query_pointer()
            for dx in (1, 0):
                xtest.fake_input(conn, X.MotionNotify, x=pointer.root_x + dx, y=pointer.root_y)
            conn.sync()
            for listener in listeners:
                listener.join(timeout=0.1)
    finally:
        conn.close()


def _write_items(writer, items: queue.SimpleQueue, slots: threading.Semaphore, shape) -> None:
    while True:
        kind, payload, t = items.get()
        if kind == "stop":
            return
        if kind == "frame":
            writer.add_frame(np.frombuffer(payload, np.uint8).reshape(shape), t=t)
            slots.release()
        else:
            writer.add_event(payload)


def _start_listeners(
    on_event, stopper: _StopKey, stop: threading.Event, x0: int, y0: int, redact: bool
):
    from pynput import keyboard, mouse

    buttons = {
        mouse.Button.left: "left",
        mouse.Button.right: "right",
        mouse.Button.middle: "middle",
    }

    # pynput passes an extra `injected` argument on some back ends: accept and ignore it.
    def on_move(x, y, *_):
        on_event(kind="mouse_move", x=x - x0, y=y - y0)

    def on_click(x, y, button, pressed, *_):
        name = buttons.get(button)
        if name:
            on_event(kind="mouse_down" if pressed else "mouse_up", x=x - x0, y=y - y0, button=name)

    def on_scroll(x, y, dx, dy, *_):
        on_event(
            kind="scroll", x=x - x0, y=y - y0,
            dx=int(dx * SCROLL_PX_PER_NOTCH), dy=int(-dy * SCROLL_PX_PER_NOTCH),
        )  # fmt: skip

    def key_name(key):
        try:
            return key_from_pynput(key)
        except UserError:
            return None  # a key without a name of ours (media keys ...)

    def on_press(key, *_):
        name = key_name(key)
        if name is None:
            return
        if stopper.pressed(name):
            stop.set()
            return
        text = getattr(key, "char", None)
        if redact and text and text.isprintable():
            name, text = REDACTED, REDACTED
        on_event(kind="key_down", key=name, text=text)

    def on_release(key, *_):
        name = key_name(key)
        if name is None:
            return
        stopper.released(name)
        if redact and len(name) == 1:
            name = REDACTED
        on_event(kind="key_up", key=name)

    listeners = [
        mouse.Listener(on_move=on_move, on_click=on_click, on_scroll=on_scroll),
        keyboard.Listener(on_press=on_press, on_release=on_release),
    ]
    for listener in listeners:
        listener.start()
        listener.wait()  # events from here on are seen
    return listeners
