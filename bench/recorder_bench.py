"""Benchmark: the desktop recorder against a naive one, x264 presets, expert recording.

    .venv/bin/python bench/recorder_bench.py [--quick] [--json PATH] [--nice N] [--no-experts]
    .venv/bin/python bench/recorder_bench.py --long 600 [--json PATH] [--nice N]

Everything runs on private Xvfb servers (1280x720 and 1920x1080, 24 bit) started here and
stopped by PID at the end. A small python-xlib program animates each screen at 30 Hz,
deterministically (a function of the tick number): a static UI (menu bar, sidebar of
labels, a grid of buttons), a scrolling text panel on the right third and a box moving
across the middle, so every frame differs the way a busy desktop does ("scrolling").
A "still" screen is the same UI with nothing moving.

1. Our recorder: `screenpilot record desktop --duration S` in a subprocess, at 30 and
   10 fps; at 1920x1080 and 30 fps also with `--no-skip` (every frame written, as before
   unchanged frames were skipped) and on the still screen, both ways. "fps got" = frames
   in the episode / S; "unchanged" = frames grabbed but not written because they equal
   the last one written; "dropped" is what the recorder reports; "max gap" the largest
   step between two frame times. CPU: "rec cores" is the child's utime+stime
   (/proc/PID/stat, every thread) over the recording window only, "CPU ms/frame" the
   same divided by the frames it grabbed, written or unchanged (what a frame costs,
   however much CPU a shared machine gave it) and "cores @asked" that times the requested
   rate; "life cores" is the child's whole rusage (interpreter start, imports, the
   tables written at the end) over its whole life; "X cores" is the Xvfb server's CPU in
   the window (a row "none" shows it with nothing recording); "load" the 1-minute load
   average (`uptime`) when the recording ended.
   Input: xdotool sends mousemove, mousedown and mouseup, one xdotool call each, stamped
   with time.monotonic() right before the call; latency = the episode's clock_origin +
   event.t - that stamp, so it includes xdotool's own start-up (its median call time is
   shown beside it); "dropped" = sent - recorded (matched by kind and position).
2. A naive recorder in a subprocess, the usual first attempt: mss grab, np.array per
   frame, cvtColor, cv2.VideoWriter (mp4v), sleep(1/fps - elapsed). Same columns; its
   "dropped" is requested frames - frames written (it has no notion of dropping).
3. One 1920x1080 frame stage by stage (process CPU from getrusage, all threads), on a
   few seconds of frames captured into memory: the mss grab (ours and the X server's
   side), the unchanged-frame check on two equal frames (the worst case: a memcmp of
   the whole frame), the BGRA->RGB conversion the capture loop did before, swscale's
   RGB->yuv444p and BGRA->yuv444p (one reformatter for all frames, as inside the
   encoder), and dataset.video.VideoWriter (crf 10 zerolatency, conversion included) at
   presets ultrafast / superfast / veryfast, three ways: libx264 yuv444p fed RGB (session
   7's recorder), the same fed BGRA (session 8's, one MP4 fragment a frame), and the
   recorder's settings now (recorder.desktop.screen_video_options: libx264rgb on the BGRA
   bytes, one thread, a keyframe a second). "cores @30" = CPU seconds per frame x 30.
4. Expert recording: record_experts(["miniwob.click-test"], N, workers=2). Full: 100 and
   1000 episodes, a line t = a + b N through the two, and 10,000 for real when that line
   says it fits in 10 minutes; else the line's figure for 10,000, and an idle-machine
   estimate (the marginal CPU per episode of the workers and everything they start,
   Chromium included, sampled from /proc, spread over 2 cores), both labelled as such.
   --quick: 100 and 500.
5. --long S: one S-second recording of the scrolling 1920x1080 screen at 30 fps (our
   recorder, a click every 10 s), part 1's columns and part 2's, and nothing else.

"busy" columns are the whole machine's busy cores (/proc/stat) during the measurement:
on a shared machine they say how much else was running. --nice N (root; e.g. -10) runs
parts 1-3 at that niceness, for this process's session too (the kernel's autogroup
otherwise shares CPU between sessions, not processes); part 4 runs at the usual priority.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from screenpilot.env.browser import kill_pids
from screenpilot.env.virtual_display import VirtualDisplay

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
EXPERT_TASK = "miniwob.click-test"
EXPERT_TARGET_S = 600.0


@dataclass
class Config:
    sizes: tuple[tuple[int, int], ...]
    rates: tuple[float, ...]
    duration: float
    clicks: int  # mousemove + mousedown + mouseup triples sent per recording
    preset_frames: int
    expert_counts: tuple[int, ...]
    expert_full: int


FULL = Config(
    sizes=((1280, 720), (1920, 1080)), rates=(30, 10), duration=10.0, clicks=20,
    preset_frames=90, expert_counts=(100, 1000), expert_full=10_000,
)  # fmt: skip
QUICK = Config(
    sizes=((1280, 720), (1920, 1080)), rates=(30,), duration=4.0, clicks=6,
    preset_frames=30, expert_counts=(100, 500), expert_full=0,
)  # fmt: skip


# ---- the screen: Xvfb and something moving on it ------------------------------------------
ANIMATOR = r"""
import sys, time
from Xlib import X, display

w, h, fps = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
d = display.Display()
s = d.screen()
win = s.root.create_window(0, 0, w, h, 0, s.root_depth, X.InputOutput, X.CopyFromParent,
                           background_pixel=0xF2F2F2, override_redirect=True)
win.map()
gcs = {}
def gc(rgb):
    if rgb not in gcs:
        gcs[rgb] = win.create_gc(foreground=rgb)
    return gcs[rgb]
def rect(x, y, rw, rh, rgb):
    win.fill_rectangle(gc(rgb), x, y, rw, rh)
def text(x, y, t, rgb=0x202020):
    win.draw_text(gc(rgb), x, y, t.encode())
WORDS = ("File Edit View Search Submit Cancel Login Username Password Settings Profile Inbox "
         "Compose Reply Delete Archive Results Next Previous Save Open Close Order Total").split()
side, panel = 220, w * 2 // 3
def static():
    rect(0, 0, w, h, 0xF2F2F2)
    rect(0, 0, w, 26, 0x2F3A44)
    for i, word in enumerate(WORDS[:12]):
        text(10 + 70 * i, 18, word, 0xFFFFFF)
    rect(0, 26, side, h - 26, 0xE1E6EB)
    for i in range((h - 40) // 22):
        text(14, 50 + 22 * i, f"{WORDS[i % len(WORDS)]} folder {i}", 0x303030)
    for r in range(6):
        for c in range((panel - side - 40) // 130):
            x, y = side + 20 + 130 * c, 50 + 44 * r
            rect(x, y, 116, 30, (0x3366CC, 0x2E9E5B, 0xCC5533)[(r + c) % 3])
            text(x + 10, y + 19, WORDS[(3 * r + c) % len(WORDS)], 0xFFFFFF)
static()
if sys.argv[4:] == ["still"]:  # the UI alone, nothing moving
    d.flush()
    while True:
        time.sleep(3600)
lane_y, line_h = 50 + 44 * 6 + 20, 18
t0, k, box_x = time.monotonic(), 0, side
while True:
    # the scrolling panel: 3 px a tick, alternate rows shaded
    rect(panel, 26, w - panel, h - 26, 0xFFFFFF)
    first, off = (3 * k) // line_h, (3 * k) % line_h
    for i in range((h - 26) // line_h + 1):
        n, y = first + i, 26 + i * line_h - off
        if n % 2:
            rect(panel, y, w - panel, line_h, 0xEEF2F8)
        text(panel + 8, y + 13, f"{n:06d}  {WORDS[n % len(WORDS)]} message from user{n % 97}: "
             f"{' '.join(WORDS[(n + j) % len(WORDS)] for j in range(5))}")
    # the moving box and a ticking counter
    rect(box_x, lane_y, 120, 60, 0xF2F2F2)
    box_x = side + (9 * k) % max(1, panel - side - 130)
    rect(box_x, lane_y, 120, 60, 0xD04A7A)
    text(box_x + 12, lane_y + 34, f"tick {k}", 0xFFFFFF)
    rect(side + 10, h - 40, 300, 24, 0xF2F2F2)
    text(side + 16, h - 24, f"status: frame {k}, {k / fps:8.2f} s")
    d.flush()
    k += 1
    time.sleep(max(0.0, t0 + k / fps - time.monotonic()))
"""


class Screen:
    """A private Xvfb at one size, animated (or ``still``); stopped by PID."""

    def __init__(self, width: int, height: int, fps: float = 30, still: bool = False):
        self.width, self.height = width, height
        self.kind = "still" if still else "scrolling"
        self.xvfb = VirtualDisplay((width, height))
        self.display = self.xvfb.start()
        self.env = {**os.environ, "DISPLAY": self.display}
        self.animator = subprocess.Popen(
            [sys.executable, "-c", ANIMATOR, str(width), str(height), str(fps)]
            + (["still"] if still else []),
            env=self.env,
        )
        time.sleep(1.0)  # first paint

    def stop(self) -> None:
        animator = getattr(self, "animator", None)
        if animator is not None:
            kill_pids({animator.pid})
            animator.wait()
        self.xvfb.stop()

    def __enter__(self) -> Screen:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- CPU accounting ---------------------------------------------------------------------------
def proc_cpu_s(pid: int) -> float:
    """utime + stime of a live process, all its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


class Window:
    """Machine-wide busy cores over a span of wall time."""

    def __init__(self):
        self.t, self.busy = time.monotonic(), machine_busy_s()

    def cores(self) -> float:
        return (machine_busy_s() - self.busy) / (time.monotonic() - self.t)


# ---- our recorder ---------------------------------------------------------------------------
def screenpilot_cmd() -> list[str]:
    script = Path(sys.executable).parent / "screenpilot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "screenpilot.agent.cli"]


def xdotool(env: dict, *args: str) -> float:
    """Runs xdotool; returns the monotonic time stamped right before the call."""
    t = time.monotonic()
    subprocess.run(["xdotool", *args], check=True, env=env)
    return t


def send_inputs(screen: Screen, clicks: int, until: float) -> tuple[list[tuple], list[float]]:
    """mousemove / mousedown / mouseup at distinct points, spread evenly until ``until``.
    Returns the sent events (kind, x, y, t) and each xdotool call's duration."""
    sent, calls = [], []
    slot = (until - time.monotonic()) / clicks
    for i in range(clicks):
        start = time.monotonic()
        x = 240 + (97 * i) % (screen.width - 480)
        y = 120 + (61 * i) % (screen.height - 240)
        for kind, args, pause in (
            ("mouse_move", ("mousemove", str(x), str(y)), 0.08),
            ("mouse_down", ("mousedown", "1"), 0.05),
            ("mouse_up", ("mouseup", "1"), 0.0),
        ):
            t = xdotool(screen.env, *args)
            calls.append(time.monotonic() - t)
            sent.append((kind, x, y, t))
            time.sleep(pause)
        time.sleep(max(0.0, start + slot - time.monotonic()))
    return sent, calls


def frame_cost(
    cpu_s: float, times: np.ndarray, window_s: float, fps: float, unchanged: float = 0
) -> dict:
    """CPU ms per frame grabbed in the measured window, written (``times``) or found
    unchanged (what a frame costs, however much CPU the recorder was given on a shared
    machine) and the cores that makes at ``fps``."""
    frames = int((times <= window_s).sum()) + unchanged
    ms = cpu_s / frames * 1000 if frames else None
    return {"cpu_ms_per_frame": ms, "cores_at_asked": ms * fps / 1000 if ms else None}


def screen_name(screen: Screen) -> str:
    return f"{screen.width}x{screen.height} {screen.kind}"


def run_idle(screen: Screen, seconds: float = 3.0) -> dict:
    """The screen alone (Xvfb + animator), nothing recording: the X server's baseline."""
    x0, busy = proc_cpu_s(screen.xvfb.pid), Window()
    time.sleep(seconds)
    return {
        "recorder": "none (screen only)",
        "size": screen_name(screen),
        "fps_requested": None, "frames": None, "fps_achieved": None, "dropped_frames": None,
        "unchanged_frames": None, "max_gap_ms": None, "rec_cores": None,
        "cpu_ms_per_frame": None, "cores_at_asked": None,
        "x_cores": (proc_cpu_s(screen.xvfb.pid) - x0) / seconds,
        "life_cores": None, "busy_cores": busy.cores(), "load_avg": os.getloadavg()[0],
    }  # fmt: skip


def match_latencies(sent: list[tuple], events, origin: float) -> list[float | None]:
    """For each sent event, the delay to the first later recorded event of its kind at its
    point (None: never recorded)."""
    recorded = sorted(((e.kind, e.x, e.y, origin + e.t) for e in events), key=lambda e: e[3])
    used = [False] * len(recorded)
    out = []
    for kind, x, y, t in sent:
        for j, (k2, x2, y2, t2) in enumerate(recorded):
            if not used[j] and (k2, x2, y2) == (kind, x, y) and t2 >= t - 0.002:
                used[j] = True
                out.append(t2 - t)
                break
        else:
            out.append(None)
    return out


def run_ours(screen: Screen, fps: float, cfg: Config, work: Path, skip: bool = True) -> dict:
    """Our recorder; ``skip=False`` writes every frame (`--no-skip`), as it did before."""
    from screenpilot.dataset.reader import open_dataset

    flags = [] if skip else ["--no-skip"]
    out = work / f"ours_{screen.width}x{screen.height}_{screen.kind}_{fps:g}_{len(flags)}"
    err_path = work / "ours.err"
    life_start = time.monotonic()
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [*screenpilot_cmd(), "record", "desktop", "--out", str(out), "--task", "benchmark",
             "--fps", f"{fps:g}", "--duration", f"{cfg.duration:g}", "--display", screen.display,
             *flags],
            stdout=subprocess.PIPE, stderr=err, text=True, env=screen.env, cwd=REPO,
        )  # fmt: skip
    line = proc.stdout.readline()
    if not line.startswith("recording"):
        proc.kill()
        raise RuntimeError(f"recorder did not start: {line}{err_path.read_text()}")
    rec_start, cpu0, busy = time.monotonic(), proc_cpu_s(proc.pid), Window()
    x0 = proc_cpu_s(screen.xvfb.pid)
    end = rec_start + cfg.duration
    time.sleep(0.3)
    sent, calls = send_inputs(screen, cfg.clicks, end - 0.6)
    time.sleep(max(0.0, end - 0.05 - time.monotonic()))
    cpu1, rec_wall, busy_cores = proc_cpu_s(proc.pid), time.monotonic() - rec_start, busy.cores()
    x_cores = (proc_cpu_s(screen.xvfb.pid) - x0) / rec_wall
    proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    life_wall = time.monotonic() - life_start
    if proc.returncode != 0:
        raise RuntimeError(f"recorder failed: {err_path.read_text()}")

    ep = open_dataset(out)[0]
    times = np.asarray(ep.frame_times)
    lat = match_latencies(sent, ep.events, ep.meta["clock_origin"])
    got = [v * 1000 for v in lat if v is not None]
    unchanged = int(ep.meta["metadata"]["unchanged_frames"])
    return {
        "recorder": "ours" if skip else "ours --no-skip",
        "size": screen_name(screen),
        "fps_requested": fps,
        "frames": int(ep.num_frames),
        "fps_achieved": ep.num_frames / cfg.duration,
        "dropped_frames": int(ep.meta["metadata"]["dropped_frames"]),
        "unchanged_frames": unchanged,
        "max_gap_ms": float(np.diff(times).max() * 1000) if len(times) > 1 else None,
        "rec_cores": (cpu1 - cpu0) / rec_wall,
        # the window ends 50 ms before the recording: the unchanged frames in it, about
        **frame_cost(
            cpu1 - cpu0, times, rec_wall, fps, unchanged * min(1, rec_wall / cfg.duration)
        ),
        "x_cores": x_cores,
        "life_cores": (usage.ru_utime + usage.ru_stime) / life_wall,
        "life_s": life_wall,
        "busy_cores": busy_cores,
        "load_avg": os.getloadavg()[0],
        "video_mb": sum(f.stat().st_size for f in (out / "videos").glob("*.mp4")) / 1e6,
        "events_sent": len(sent),
        "events_recorded": len(got),
        "latency_ms_median": statistics.median(got) if got else None,
        "latency_ms_p95": float(np.percentile(got, 95)) if got else None,
        "latency_ms_max": max(got) if got else None,
        "xdotool_call_ms_median": statistics.median(calls) * 1000,
    }


# ---- the naive recorder -------------------------------------------------------------------
def naive_child(display: str, fps: float, duration: float, path: str) -> None:
    """The usual first attempt, run as `recorder_bench.py --naive-child ...`."""
    import cv2
    import mss

    sct = mss.MSS(display=display)
    mon = sct.monitors[0]
    writer = cv2.VideoWriter(
        path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (mon["width"], mon["height"])
    )
    print("recording", flush=True)
    start, times = time.monotonic(), []
    while time.monotonic() - start < duration:
        t = time.monotonic()
        frame = cv2.cvtColor(np.array(sct.grab(mon)), cv2.COLOR_BGRA2BGR)
        writer.write(frame)
        times.append(t - start)
        time.sleep(max(0.0, 1 / fps - (time.monotonic() - t)))
    writer.release()
    print(json.dumps({"times": times}), flush=True)


def run_naive(screen: Screen, fps: float, cfg: Config, work: Path) -> dict:
    path = work / f"naive_{screen.width}x{screen.height}_{fps:g}.mp4"
    life_start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--naive-child", screen.display, f"{fps:g}",
         f"{cfg.duration:g}", str(path)],
        stdout=subprocess.PIPE, text=True, env=screen.env,
    )  # fmt: skip
    line = proc.stdout.readline()
    if not line.startswith("recording"):
        proc.kill()
        raise RuntimeError(f"naive recorder did not start: {line}")
    rec_start, cpu0, busy = time.monotonic(), proc_cpu_s(proc.pid), Window()
    x0 = proc_cpu_s(screen.xvfb.pid)
    time.sleep(max(0.0, rec_start + cfg.duration - 0.05 - time.monotonic()))
    cpu1, rec_wall, busy_cores = proc_cpu_s(proc.pid), time.monotonic() - rec_start, busy.cores()
    x_cores = (proc_cpu_s(screen.xvfb.pid) - x0) / rec_wall
    result = json.loads(proc.stdout.read().strip().splitlines()[-1])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    life_wall = time.monotonic() - life_start
    times = np.asarray(result["times"])
    return {
        "recorder": "naive",
        "size": screen_name(screen),
        "fps_requested": fps,
        "frames": len(times),
        "fps_achieved": len(times) / cfg.duration,
        "dropped_frames": max(0, round(cfg.duration * fps) - len(times)),
        "unchanged_frames": None,
        "max_gap_ms": float(np.diff(times).max() * 1000) if len(times) > 1 else None,
        "rec_cores": (cpu1 - cpu0) / rec_wall,
        **frame_cost(cpu1 - cpu0, times, rec_wall, fps),
        "x_cores": x_cores,
        "life_cores": (usage.ru_utime + usage.ru_stime) / life_wall,
        "life_s": life_wall,
        "busy_cores": busy_cores,
        "load_avg": os.getloadavg()[0],
    }


# ---- x264 presets ---------------------------------------------------------------------------
def capture_frames(screen: Screen, count: int, fps: float = 30) -> tuple[list, dict]:
    """``count`` raw BGRA frames of the animated screen at ``fps``, grabbed as the recorder
    grabs them, and what the grab costs: this thread's CPU and the X server's."""
    import mss

    h, w = screen.height, screen.width
    frames = [np.empty((h, w, 4), np.uint8) for _ in range(count)]
    client = server = 0.0
    with mss.MSS(display=screen.display) as sct:
        mon = sct.monitors[0]
        start = time.monotonic()
        for i, buf in enumerate(frames):
            time.sleep(max(0.0, start + i / fps - time.monotonic()))
            t, x = cpu_self_s(), proc_cpu_s(screen.xvfb.pid)
            shot = sct.grab(mon)
            client += cpu_self_s() - t
            server += proc_cpu_s(screen.xvfb.pid) - x
            np.copyto(buf, np.frombuffer(shot.bgra, np.uint8).reshape(h, w, 4))
    return frames, {"client_ms": client / count * 1000, "server_ms": server / count * 1000}


def cpu_self_s() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def stage_row(stage: str, frames: int, wall: float | None, cpu: float, mb=None) -> dict:
    return {
        "stage": stage,
        "frames": frames,
        "fps": frames / wall if wall else None,
        "cores": cpu / wall if wall else None,
        "ms_per_frame_cpu": cpu / frames * 1000,
        "cores_at_30fps": cpu / frames * 30,
        "mb": mb,
    }


def run_presets(screen: Screen, cfg: Config, work: Path) -> list[dict]:
    """What one 1920x1080 frame costs at each stage of the recorder's path, before and now."""
    import av
    import cv2
    from av.video.reformatter import VideoReformatter

    from screenpilot.dataset.video import VideoWriter
    from screenpilot.recorder.desktop import screen_video_options

    bgra, grab = capture_frames(screen, cfg.preset_frames)
    n = len(bgra)
    rows = [
        stage_row("mss grab (recorder process)", n, None, grab["client_ms"] * n / 1000),
        stage_row("mss grab (X server side)", n, None, grab["server_ms"] * n / 1000),
    ]
    grabs = [bytearray(f.tobytes()) for f in bgra]
    twins = [bytearray(g) for g in grabs]
    t = cpu_self_s()
    for a, b in zip(grabs, twins, strict=True):
        assert a == b
    rows.append(stage_row("unchanged check, equal frames (now)", n, None, cpu_self_s() - t))
    t = cpu_self_s()
    rgb = [cv2.cvtColor(f, cv2.COLOR_BGRA2RGB) for f in bgra]
    rows.append(stage_row("BGRA->RGB cv2.cvtColor (before)", n, None, cpu_self_s() - t))
    for name, frames, pixels in (("RGB", rgb, "rgb24"), ("BGRA", bgra, "bgra")):
        reformatter = VideoReformatter()
        inputs = [av.VideoFrame.from_ndarray(f, format=pixels) for f in frames]
        t = cpu_self_s()
        for frame in inputs:
            reformatter.reformat(frame, format="yuv444p")
        rows.append(stage_row(f"{name}->yuv444p swscale", n, None, cpu_self_s() - t))
    for preset in ("ultrafast", "superfast", "veryfast"):
        for name, frames, options in (
            ("RGB in (session 7)", rgb, {}),
            (
                "BGRA in, 4:4:4 (session 8)",
                bgra,
                {"input_format": "bgra", "fragment_every_frame": True},
            ),
            ("BGRA in, RGB planes, 1 thread, g 30 (now)", bgra, screen_video_options(30)),
        ):
            path = work / f"preset_{preset}_{len(rows)}.mp4"
            t, c = time.perf_counter(), cpu_self_s()
            options = options | {"preset": preset}
            with VideoWriter(path, screen.width, screen.height, 30, **options) as w:
                for frame in frames:
                    w.write(frame)
            wall, cpu = time.perf_counter() - t, cpu_self_s() - c
            mb = path.stat().st_size / 1e6
            rows.append(stage_row(f"VideoWriter x264 {preset}, {name}", n, wall, cpu, mb))
    return rows


# ---- expert recording -----------------------------------------------------------------------
class TreeCPU:
    """CPU seconds of every descendant of this process, sampled from /proc on a thread:
    rusage of children misses the browsers that are not reaped up the chain. Each
    process's last sample counts, so a short-lived one's final moments are missed."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.seen, self.stopped = interval, {}, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        root = os.getpid()
        while not self.stopped:
            parents, cpu = {}, {}
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                try:
                    with open(f"/proc/{name}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                pid = int(name)
                parents[pid] = int(fields[1])
                cpu[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
            tree, frontier = set(), {root}
            while frontier:
                frontier = {p for p, pp in parents.items() if pp in frontier and p not in tree}
                tree |= frontier
            for pid in tree:
                self.seen[pid] = max(self.seen.get(pid, 0.0), cpu[pid])
            time.sleep(self.interval)

    def stop(self) -> float:
        self.stopped = True
        self.thread.join()
        return sum(self.seen.values())


def run_experts_once(episodes: int, work: Path) -> dict:
    from screenpilot.recorder.expert import record_experts

    out = work / f"experts_{episodes}"
    busy, tree = Window(), TreeCPU()
    t = time.perf_counter()
    summary = record_experts([EXPERT_TASK], episodes, out, workers=2, progress=False)
    wall = time.perf_counter() - t
    cpu = tree.stop()  # workers, their Playwright drivers and Chromiums
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    shutil.rmtree(out, ignore_errors=True)
    return {
        "episodes": episodes,
        "measured": "yes",
        "wall_s": wall,
        "episodes_per_s": episodes / wall,
        "kept": summary.episodes_kept,
        "successes": summary.successes,
        "worker_cores": cpu / wall,
        "cpu_ms_per_episode": cpu / episodes * 1000,
        "busy_cores": busy.cores(),
        "mb": size / 1e6,
    }


def run_experts(cfg: Config, work: Path) -> list[dict]:
    rows = [run_experts_once(n, work) for n in cfg.expert_counts]
    (n1, t1, c1), (n2, t2, c2) = (
        (r["episodes"], r["wall_s"], r["cpu_ms_per_episode"] * r["episodes"] / 1000)
        for r in rows[-2:]
    )
    per_episode = (t2 - t1) / (n2 - n1)
    fixed = t1 - per_episode * n1
    target = cfg.expert_full or 10_000
    projected = fixed + per_episode * target
    if cfg.expert_full and projected <= EXPERT_TARGET_S:
        rows.append(run_experts_once(cfg.expert_full, work))
        return rows
    cpu_per_episode = (c2 - c1) / (n2 - n1)
    idle = target * cpu_per_episode / 2
    rows += [
        {"episodes": target, "measured": "line through the two", "wall_s": projected,
         "episodes_per_s": target / projected, "fixed_s": fixed,
         "per_episode_ms": per_episode * 1000},
        {"episodes": target, "measured": "CPU / 2 idle cores", "wall_s": idle,
         "episodes_per_s": target / idle, "cpu_ms_per_episode": cpu_per_episode * 1000},
    ]  # fmt: skip
    return rows


# ---- tables ---------------------------------------------------------------------------------
def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths))
    return "\n".join([line(headers), rule + "|", *(line(r) for r in rows)])


def recording_table(results: list[dict]) -> str:
    headers = ["recorder", "screen", "fps asked", "fps got", "frames", "unchanged", "dropped",
               "max gap ms", "rec cores", "CPU ms/frame", "cores @asked", "X cores",
               "life cores", "busy", "load", "video MB"]  # fmt: skip
    rows = [
        [r["recorder"], r["size"], fmt(r["fps_requested"], 0), fmt(r["fps_achieved"]),
         fmt(r["frames"]), fmt(r["unchanged_frames"]), fmt(r["dropped_frames"]),
         fmt(r["max_gap_ms"], 0), fmt(r["rec_cores"], 2), fmt(r["cpu_ms_per_frame"]),
         fmt(r["cores_at_asked"], 2), fmt(r["x_cores"], 2), fmt(r["life_cores"], 2),
         fmt(r["busy_cores"], 2), fmt(r["load_avg"]), fmt(r.get("video_mb"))]
        for r in results
    ]  # fmt: skip
    return table(headers, rows)


def latency_table(results: list[dict]) -> str:
    headers = ["screen", "fps", "sent", "recorded", "dropped", "median ms", "p95 ms", "max ms",
               "xdotool call ms"]  # fmt: skip
    rows = [
        [r["size"], fmt(r["fps_requested"], 0), fmt(r["events_sent"]), fmt(r["events_recorded"]),
         fmt(r["events_sent"] - r["events_recorded"]), fmt(r["latency_ms_median"]),
         fmt(r["latency_ms_p95"]), fmt(r["latency_ms_max"]), fmt(r["xdotool_call_ms_median"])]
        for r in results if r["recorder"].startswith("ours")
    ]  # fmt: skip
    return table(headers, rows)


def preset_table(rows: list[dict]) -> str:
    headers = ["1920x1080 stage", "frames", "fps (wall)", "cores", "CPU ms/frame",
               "cores @30", "MB"]  # fmt: skip
    return table(
        headers,
        [
            [r["stage"], fmt(r["frames"]), fmt(r["fps"]), fmt(r["cores"], 2),
             fmt(r["ms_per_frame_cpu"]), fmt(r["cores_at_30fps"], 2), fmt(r["mb"], 2)]
            for r in rows
        ],
    )  # fmt: skip


def expert_table(rows: list[dict]) -> str:
    headers = ["episodes", "how", "wall s", "episodes/s", "kept", "worker cores",
               "CPU ms/episode", "busy", "MB"]  # fmt: skip
    return table(
        headers,
        [
            [fmt(r["episodes"]), r["measured"],
             fmt(r["wall_s"]), fmt(r["episodes_per_s"]), fmt(r.get("kept")),
             fmt(r.get("worker_cores"), 2), fmt(r.get("cpu_ms_per_episode")),
             fmt(r.get("busy_cores"), 2), fmt(r.get("mb"))]
            for r in rows
        ],
    )  # fmt: skip


def run_screens(cfg: Config, work: Path) -> tuple[list[dict], list[dict]]:
    """Parts 1-3: every recording on every screen, and the stages of one 1080p frame."""
    recordings, presets = [], []
    for width, height in cfg.sizes:
        full_hd = (width, height) == (1920, 1080)
        with Screen(width, height) as screen:
            recordings.append(run_idle(screen))
            for fps in cfg.rates:
                recordings.append(run_ours(screen, fps, cfg, work))
                if full_hd and fps == 30:
                    recordings.append(run_ours(screen, fps, cfg, work, skip=False))
                recordings.append(run_naive(screen, fps, cfg, work))
                print(f"  {width}x{height} @ {fps:g} fps done", flush=True)
            if full_hd:
                presets = run_presets(screen, cfg, work)
        if full_hd:
            with Screen(width, height, still=True) as screen:
                recordings.append(run_idle(screen))
                for skip in (True, False):
                    recordings.append(run_ours(screen, 30, cfg, work, skip=skip))
                print(f"  {width}x{height} still @ 30 fps done", flush=True)
    return recordings, presets


def set_priority(nice: int) -> None:
    """This process's niceness and, where the kernel groups tasks by session (autogroup,
    where niceness only ranks tasks inside one session), the session's too."""
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(nice))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--naive-child"]:
        display, fps, duration, path = argv[1:5]
        naive_child(display, float(fps), float(duration), path)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short recordings, fewer episodes")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--no-experts", action="store_true", help="skip part 4")
    parser.add_argument(
        "--long", type=float, metavar="S",
        help="only part 5: one S-second recording of the scrolling 1920x1080 screen at 30 fps",
    )  # fmt: skip
    parser.add_argument(
        "--nice", type=int, default=0, metavar="N",
        help="niceness for the screen and recording parts (1-3), e.g. -10 on a busy shared "
        "machine (root); the expert part runs at the usual priority",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for tool in ("Xvfb", "xdotool"):
        if not shutil.which(tool):
            print(f"{tool} is not installed (make setup installs it)", file=sys.stderr)
            return 1
    cfg = QUICK if args.quick else FULL
    if args.long:
        # a click (3 events) every 10 s, as in the short runs
        cfg = dataclasses.replace(cfg, duration=args.long, clicks=max(1, round(args.long / 10)))
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_avg_start": os.getloadavg(),
        "quick": args.quick,
        "nice": args.nice,
        "duration_s": cfg.duration,
    }
    print(
        f"{report['date']}  {report['machine']}  load avg {report['load_avg_start'][0]:.1f}  "
        f"nice {args.nice} for parts 1-3"
    )
    work = Path(tempfile.mkdtemp(prefix="recorder_bench-"))
    usual = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        set_priority(args.nice)  # children (Xvfb, recorders) inherit it
        if args.long:
            with Screen(1920, 1080) as screen:
                report["recordings"] = [run_ours(screen, 30, cfg, work)]
            set_priority(usual)
            print(f"\n5. one {args.long:g} s recording\n" + recording_table(report["recordings"]))
            print("\ninput events (xdotool -> episode)\n" + latency_table(report["recordings"]))
        else:
            recordings, presets = run_screens(cfg, work)
            set_priority(usual)
            report |= {"recordings": recordings, "presets": presets}
            print("\n1. recording: ours vs naive (fps, drops, CPU)\n" + recording_table(recordings))
            print("\n2. input events, ours (xdotool -> episode)\n" + latency_table(recordings))
            print("\n3. one 1920x1080 frame, stage by stage (VideoWriter rows include the swscale)")
            print(preset_table(presets))
        if not (args.no_experts or args.long):
            experts = run_experts(cfg, work)
            report["experts"] = experts
            print(f"\n4. expert recording: {EXPERT_TASK}, 2 workers\n" + expert_table(experts))
    finally:
        set_priority(usual)
        shutil.rmtree(work, ignore_errors=True)
    report["load_avg_end"] = os.getloadavg()
    print("load avg at the end: " + " ".join(f"{v:.2f}" for v in report["load_avg_end"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
