"""`screenpilot record browser`: a person demonstrates in a headed Chromium window.

Listeners injected into the page report every mouse, wheel and key event with page
coordinates and the browser's own high-resolution timestamp; frames are screenshots of
the page itself. So the dataset's coordinates and the model's screenshots are the same
pixels, whatever the window's position or decorations on the desktop.

The browser is a sandbox BrowserEnv: with ``--url`` the open-ended web task (requests
limited to the page's host), with ``--env`` one task instance per episode, judged by the
task when it ends.

Grounding: every frame's visible text items are read as it is captured (one evaluate,
env/grounding.py), and those of the frame before each action are kept: the frame an
input event (a press, a key, a wheel) follows. Actions are only derived from the events
when the episode ends, so which frames they start on is known only as events arrive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from screenpilot.dataset.actions import normalize_key_name
from screenpilot.dataset.errors import ActionError, UserError
from screenpilot.dataset.events import Event
from screenpilot.dataset.segment import frame_before

from .stop_signals import restore_signals, stop_on_signals

# Input events that start an action: the frame before one is a frame the model learns from.
ACTION_STARTS = frozenset({"mouse_down", "key_down", "scroll"})
# Frames whose text items wait for an event (a few seconds' worth at 10 fps is plenty:
# an event arrives within milliseconds of its frame).
RECENT_FRAMES = 8

# Runs in every document of the page. Capture phase, so a page that stops propagation
# still reports; password fields report "*" instead of the character typed.
LISTENER_JS = r"""
(() => {
  if (window.__spRecording) return;
  window.__spRecording = true;
  const send = (o) => { try { window.__spEvent(o); } catch (e) {} };
  const when = (e) => performance.timeOrigin + e.timeStamp;
  const buttons = ['left', 'middle', 'right'];
  const mouse = (kind) => (e) => send({kind, t: when(e), x: Math.round(e.clientX),
      y: Math.round(e.clientY), button: kind === 'mouse_move' ? null : buttons[e.button],
      sx: e.screenX, sy: e.screenY});
  addEventListener('mousemove', mouse('mouse_move'), true);
  addEventListener('mousedown', mouse('mouse_down'), true);
  addEventListener('mouseup', mouse('mouse_up'), true);
  const px = (e, d) => Math.round(d * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1));
  addEventListener('wheel', (e) => send({kind: 'scroll', t: when(e), x: Math.round(e.clientX),
      y: Math.round(e.clientY), dx: px(e, e.deltaX), dy: px(e, e.deltaY)}),
      {capture: true, passive: true});
  const secret = (e) => !!(e.target && e.target.type === 'password');
  const key = (kind) => (e) => {
    let k = e.key, text = (kind === 'key_down' && e.key.length === 1) ? e.key : null;
    if (secret(e) && e.key.length === 1) { k = '*'; text = kind === 'key_down' ? '*' : null; }
    send({kind, t: when(e), key: k, text, secret: secret(e)});
  };
  addEventListener('keydown', key('key_down'), true);
  addEventListener('keyup', key('key_up'), true);
})();
"""


@dataclass
class BrowserEpisode:
    index: int
    task: str
    frames: int
    events: int
    actions: list
    success: bool | None
    masked_keys: int


def add_arguments(p) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="any page: the person does --task on it")
    source.add_argument("--env", metavar="TASK", help="a sandbox task, e.g. miniwob.click-button")
    p.add_argument("--task", help="what the person is doing (required with --url)")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset to create or append to")
    p.add_argument("--episodes", type=int, default=1, metavar="N", help="task instances (--env)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="first task seed (--env)")
    p.add_argument("--fps", type=float, default=10, help="frames per second (10)")
    p.add_argument("--duration", type=float, metavar="S", help="stop each episode after S seconds")
    p.add_argument("--viewport", default="1280x720", metavar="WxH", help="page size (--url)")
    p.set_defaults(func=cmd_browser)


def cmd_browser(args) -> int:
    if args.url and not args.task:
        raise UserError("--url needs --task: what the person is doing on the page")
    try:
        width, height = (int(v) for v in args.viewport.lower().split("x"))
    except ValueError:
        raise UserError(f"--viewport wants WxH such as 1280x720, got {args.viewport!r}") from None
    episodes = record_browser(
        args.out, url=args.url, task=args.task, env_task=args.env, episodes=args.episodes,
        seed=args.seed, fps=args.fps, duration=args.duration, viewport=(width, height),
    )  # fmt: skip
    for ep in episodes:
        outcome = "" if ep.success is None else ("  success" if ep.success else "  failed")
        print(f"episode {ep.index}: {ep.task!r}: {ep.frames} frames, {ep.events} events{outcome}")
        for i, action in enumerate(ep.actions, 1):
            print(f"  {i:3d}  {action.t:7.2f} s  {action.to_text()}")
    return 0


class _EventSink:
    """Receives the page's events (on Playwright's dispatch, i.e. the main thread)."""

    def __init__(self, announce):
        self.writer = None
        self.masked = 0
        self.announce = announce
        # Where the page's (0, 0) is on the X screen: known exactly from the first mouse
        # event (screen minus client coordinates); lines the page up with the desktop.
        self.page_origin: tuple[int, int] | None = None
        # Browser timestamps are wall-clock milliseconds; the episode clock is monotonic.
        self.wall_minus_mono = time.time() - time.monotonic()
        self.recent_items: dict[int, list[dict]] = {}  # frame -> its text items
        self.claimed: set[int] = set()  # frames an action starts on

    def start(self, writer) -> None:
        self.writer, self.masked, self.recent_items, self.claimed = writer, 0, {}, set()

    def frame_read(self, frame: int, items: list[dict]) -> None:
        """The text items of a frame just captured, kept until an event may claim them
        (one may have already: events arrive while the items are being read)."""
        self.recent_items[frame] = items
        self.recent_items.pop(frame - RECENT_FRAMES, None)
        self._store(frame)

    def _store(self, frame: int) -> None:
        stored = self.writer.grounding or {}
        if frame in self.claimed and frame in self.recent_items and frame not in stored:
            self.writer.add_grounding(frame, self.recent_items[frame])

    def __call__(self, source, payload: dict) -> None:
        if self.writer is None:
            return
        if self.page_origin is None and payload.get("sx") is not None:
            self.page_origin = (payload["sx"] - payload["x"], payload["sy"] - payload["y"])
            self.announce(f"page origin on screen: {self.page_origin[0]},{self.page_origin[1]}")
        fields = {
            k: payload.get(k) for k in ("kind", "x", "y", "button", "key", "text", "dx", "dy")
        }
        if fields["key"] is not None:
            if fields["key"] == "*":
                self.masked += payload["kind"] == "key_down"
            else:
                try:
                    fields["key"] = normalize_key_name(fields["key"])
                except ActionError:
                    return  # dead keys, media keys: nothing a demonstration can use
        t = payload["t"] / 1000 - self.wall_minus_mono
        self.writer.add_event(Event(t=t, **{k: v for k, v in fields.items() if v is not None}))
        if fields["kind"] in ACTION_STARTS and self.writer.frame_times:
            frame = frame_before(self.writer.frame_times, t - self.writer.t0)
            self.claimed.add(frame)
            self._store(frame)


def record_browser(
    out: str | Path,
    *,
    url: str | None = None,
    task: str | None = None,
    env_task: str | None = None,
    episodes: int = 1,
    seed: int = 0,
    fps: float = 10,
    duration: float | None = None,
    viewport: tuple[int, int] = (1280, 720),
    stop_event: threading.Event | None = None,
    announce=print,
) -> list[BrowserEpisode]:
    from screenpilot.dataset.format import EpisodeWriter
    from screenpilot.dataset.reader import open_dataset
    from screenpilot.env.browser_env import BrowserEnv

    if not os.environ.get("DISPLAY"):
        raise UserError("record browser opens a window: it needs an X display ($DISPLAY)")
    if fps <= 0 or fps > 60:
        raise UserError(f"--fps must be in (0, 60], got {fps}")
    stop = stop_event or threading.Event()
    previous = stop_on_signals(stop, (signal.SIGINT, signal.SIGTERM))
    env = BrowserEnv(env_task or "web", headless=False, viewport=None if env_task else viewport)
    sink = _EventSink(announce)
    results = []
    try:
        for k in range(episodes if env_task else 1):
            if stop.is_set():
                break
            options = {} if env_task else {"url": url, "task": task}
            obs, info = env.reset(seed=seed + k, options=options)
            page = env.page
            if k == 0:
                page.expose_binding("__spEvent", sink)
                page.context.add_init_script(LISTENER_JS)
            page.evaluate(LISTENER_JS)
            width, height = env.task.viewport
            metadata = {"env": env_task, "seed": seed + k} if env_task else {"url": url}
            writer = EpisodeWriter(
                out, obs["task"], width, height, fps=fps, source="browser", metadata=metadata
            )
            sink.start(writer)
            announce(
                f"episode {writer.index}: {obs['task']!r}; close the window or press Ctrl+C to stop"
            )
            outcome = _record_episode(env, writer, sink, fps, duration, stop, bool(env_task))
            sink.writer = None
            writer.header["metadata"]["masked_keys"] = sink.masked
            writer.header["metadata"]["page_origin_on_screen"] = sink.page_origin
            if outcome is not None:
                writer.set_outcome(success=outcome.success, raw_reward=outcome.raw_reward)
            meta = writer.finish()
            ep = open_dataset(out)[meta["index"]]
            results.append(
                BrowserEpisode(
                    meta["index"], ep.task, meta["num_frames"], meta["num_events"], ep.actions,
                    meta["success"], sink.masked,
                )
            )  # fmt: skip
            if not _window_open(env):
                break  # the person closed the window
    finally:
        env.close()
        restore_signals(previous)
    return results


def _record_episode(env, writer, sink: _EventSink, fps, duration, stop, judged: bool):
    """Frames until the task ends (judged), the window closes, time is up or stop."""
    from screenpilot.env.frames import decode_png
    from screenpilot.env.grounding import text_items

    page = env.page
    width, height = env.task.viewport
    clip = {"x": 0, "y": 0, "width": width, "height": height}
    start = time.monotonic()
    next_frame = start
    next_check = start
    outcome = None
    while not stop.is_set():
        now = time.monotonic()
        if duration is not None and now - start >= duration:
            break
        try:
            if now >= next_frame:
                png = page.screenshot(type="png", clip=clip)
                # Stamped when the screenshot is back: an event during the capture then
                # counts as after the previous frame, never before its own effect.
                frame = writer.add_frame(decode_png(png), t=time.monotonic())
                with contextlib.suppress(Exception):  # a page navigating away has none
                    sink.frame_read(frame, text_items(page, width, height))
                next_frame = max(next_frame + 1 / fps, time.monotonic())
            if judged and now >= next_check:
                result = env.task.validate(page)
                next_check = now + 0.2
                if result.done:
                    outcome = result
                    png = page.screenshot(type="png", clip=clip)
                    writer.add_frame(decode_png(png), t=time.monotonic())
                    break
            # Waiting inside Playwright lets it deliver the page's events meanwhile.
            page.wait_for_timeout(max(1, int((next_frame - time.monotonic()) * 1000)))
        except Exception:  # noqa: BLE001 - the window was closed: end the recording cleanly
            if not _window_open(env):
                break
            raise
    return outcome


def _window_open(env) -> bool:
    try:
        return not env.page.is_closed() and env.page.context.browser.is_connected()
    except Exception:  # noqa: BLE001 - no page at all
        return False
