"""Benchmark: our episode format against the naive layout (one PNG per frame + JSON).

    .venv/bin/python bench/dataset_bench.py [--quick] [--json PATH]

For each screen size (1280x720 desktop, 160x210 MiniWoB) it writes the same synthetic,
UI-like episodes three ways and measures:

- write speed (frames/s): EpisodeWriter (fragmented MP4, libx264 yuv444p crf 18), the
  same with ``lossless=True`` (libx264rgb qp 0), and cv2.imwrite of one PNG per frame
  plus a JSON of actions. Only the writing is timed, not the drawing of the frames.
- disk size (MB, bytes per frame): every file each layout leaves behind.
- training-sample loading (samples/s): one shuffled epoch through a torch DataLoader
  (2 workers, batch 32, collate_samples) over StepSamples, against a torch Dataset that
  cv2.imreads the PNG of each sample. Worker start-up is inside the timing.
- random access (ms per sample): single samples in a random order, no workers, a fresh
  dataset object (nothing cached).

Files are written to a temporary directory (page cache warm for every layout alike)
and removed at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from screenpilot.dataset.actions import Action
from screenpilot.dataset.format import EpisodeWriter
from screenpilot.dataset.samples import StepSamples, collate_samples

FPS = 10
# At 10 fps, one action every 0.2 s: a fast demonstration. Slower ones have more frames
# per step, which costs our format little (near-identical frames) and PNG a file each.
FRAMES_PER_STEP = 2
BATCH = 32
WORKERS = 2
LAYOUTS = ("ours", "lossless", "png")
LAYOUT_TITLES = {
    "ours": "ours (x264 444)",
    "lossless": "ours lossless",
    "png": "PNG per frame",
}


@dataclass
class Config:
    name: str
    width: int
    height: int
    episodes: int
    steps: int
    random_access: int  # how many single samples to time


FULL = [
    Config("1280x720", 1280, 720, episodes=16, steps=30, random_access=30),
    Config("160x210", 160, 210, episodes=200, steps=10, random_access=150),
]
QUICK = [
    Config("1280x720", 1280, 720, episodes=2, steps=10, random_access=10),
    Config("160x210", 160, 210, episodes=20, steps=5, random_access=30),
]

# fmt: off
WORDS = (
    "File", "Edit", "View", "Search", "Submit", "Cancel", "OK", "Login", "Username", "Password",
    "Settings", "Profile", "Inbox", "Compose", "Reply", "Delete", "Archive", "Search", "Results",
    "Next", "Previous", "Save", "Open", "Close", "Name", "Email", "Address", "Phone", "Order",
    "Total", "Checkout", "Cart", "Help", "About", "Home", "Terms",
)
# fmt: on
KEYS = ("Enter", "Tab", "Escape", "ctrl+a", "ctrl+c", "ArrowDown")


# ---- synthetic UI frames ----------------------------------------------------------------
def _words(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, size=n))


def _color(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(lo, hi, size=3))


class Scene:
    """A window with a title bar, coloured buttons, a text field and lines of text.
    Each step changes a little of it (typed text grows, a button lights up, the list
    scrolls); the cursor moves every frame."""

    def __init__(self, rng: np.random.Generator, width: int, height: int):
        self.rng = rng
        self.w, self.h = width, height
        # Font scale and layout grid: ~11 px text on a desktop, ~8 px on MiniWoB.
        self.s = 0.5 * width / 1280 if width > 400 else 0.35
        self.unit = max(7.0, width / 64)
        u = self.unit
        self.bg = _color(rng, 225, 256)
        self.title_bg = _color(rng, 20, 90)
        self.title = _words(rng, 3)
        self.buttons = []
        for _ in range(int(rng.integers(4, 12 if width > 400 else 7))):
            x = int(rng.integers(0, max(1, width - 6 * u)))
            y = int(rng.integers(int(4 * u), max(int(4 * u) + 1, height - 2 * u)))
            bw, bh = int(rng.integers(int(3 * u), int(6 * u))), int(1.5 * u)
            self.buttons.append(((x, y, bw, bh), _color(rng, 40, 220), str(rng.choice(WORDS))))
        self.lines = [_words(rng, int(rng.integers(3, 9))) for _ in range(40)]
        self.field = (int(u), int(2.5 * u), int(min(width - 2 * u, 20 * u)), int(1.3 * u))
        self.typed = ""
        self.scroll = 0
        self.hot = -1

    def advance(self, action: Action) -> None:
        if action.type == "type":
            self.typed = (self.typed + " " + action.text).strip()[-40:]
        elif action.type == "click":
            self.hot = int(self.rng.integers(len(self.buttons)))
        elif action.type == "scroll":
            self.scroll = (self.scroll + 1) % 20

    def draw(self) -> np.ndarray:
        w, h, u, s = self.w, self.h, self.unit, self.s
        font = cv2.FONT_HERSHEY_SIMPLEX
        img = np.empty((h, w, 3), np.uint8)
        img[:] = self.bg
        cv2.rectangle(img, (0, 0), (w, int(1.6 * u)), self.title_bg, -1)
        cv2.putText(
            img, self.title, (int(0.5 * u), int(1.1 * u)), font, s, (255, 255, 255), 1, cv2.LINE_AA
        )
        fx, fy, fw, fh = self.field
        cv2.rectangle(img, (fx, fy), (fx + fw, fy + fh), (255, 255, 255), -1)
        cv2.rectangle(img, (fx, fy), (fx + fw, fy + fh), (120, 120, 120), 1)
        cv2.putText(
            img, self.typed, (fx + 3, fy + int(0.9 * fh)), font, s, (20, 20, 20), 1, cv2.LINE_AA
        )
        line_h = max(8, int(0.9 * u))
        # Two columns of text on a desktop, one on MiniWoB.
        for x0 in (int(u), w // 2 + int(u)) if w > 400 else (int(u),):
            y = int(5 * u)
            for line in self.lines[self.scroll + (x0 > u) * 7 :]:
                if y > h - 4:
                    break
                cv2.putText(img, line, (x0, y), font, 0.85 * s, (40, 40, 40), 1, cv2.LINE_AA)
                y += line_h
        for n, ((x, by, bw, bh), color, label) in enumerate(self.buttons):
            fill = (255, 200, 0) if n == self.hot else color
            cv2.rectangle(img, (x, by), (x + bw, by + bh), fill, -1)
            cv2.putText(
                img, label, (x + 3, by + int(0.75 * bh)), font, s, (255, 255, 255), 1, cv2.LINE_AA
            )
        return img


def draw_cursor(img: np.ndarray, x: int, y: int, size: int) -> None:
    pts = np.array(
        [
            [x, y],
            [x, y + size],
            [x + size * 3 // 10, y + size * 7 // 10],
            [x + size * 7 // 10, y + size * 7 // 10],
        ],
        np.int32,
    )
    cv2.fillPoly(img, [pts], (0, 0, 0))
    cv2.polylines(img, [pts], True, (255, 255, 255), 1)


def random_action(rng: np.random.Generator, width: int, height: int) -> Action:
    kind = rng.choice(["click", "click", "type", "key", "scroll"])
    x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
    if kind == "click":
        return Action(type="click", x=x, y=y)
    if kind == "type":
        return Action(type="type", text=_words(rng, int(rng.integers(1, 3))))
    if kind == "key":
        return Action(type="key", key=str(rng.choice(KEYS)))
    return Action(type="scroll", x=x, y=y, dx=0, dy=-120)


def make_episode(seed: int, width: int, height: int, steps: int):
    """(task, frames, [(action, t)]): FRAMES_PER_STEP frames per step plus a last one;
    each action happens just before a frame, so it sees the frame before."""
    rng = np.random.default_rng(seed)
    scene = Scene(rng, width, height)
    task = f"{rng.choice(['Click', 'Open', 'Fill in', 'Find'])} {_words(rng, 3)}"
    cursor_size = max(8, height // 30)
    cx, cy = width // 2, height // 2
    frames, actions = [], []
    for step in range(steps):
        action = random_action(rng, width, height)
        tx, ty = (action.x, action.y) if action.x is not None else (cx, cy)
        base = scene.draw()
        for k in range(FRAMES_PER_STEP):
            f = (k + 1) / FRAMES_PER_STEP
            img = base.copy()
            draw_cursor(img, int(cx + (tx - cx) * f), int(cy + (ty - cy) * f), cursor_size)
            frames.append(img)
        cx, cy = tx, ty
        n = (step + 1) * FRAMES_PER_STEP  # the action lands between frame n-1 and frame n
        actions.append((action, (n - 0.5) / FPS))
        scene.advance(action)
    img = scene.draw()
    draw_cursor(img, cx, cy, cursor_size)
    frames.append(img)
    return task, frames, actions


# ---- the three layouts: writing ------------------------------------------------------------
def write_ours(root: Path, task, frames, actions, width, height, lossless: bool) -> None:
    writer = EpisodeWriter(
        root,
        task=task,
        width=width,
        height=height,
        fps=FPS,
        source="bench",
        lossless=lossless,
        clock=lambda: 0.0,
    )
    for i, img in enumerate(frames):
        writer.add_frame(img, t=i / FPS)
    for action, t in actions:
        writer.add_action(action, t=t)
    writer.finish()


def write_png(root: Path, index: int, task, frames, actions) -> None:
    ep = root / f"episode_{index:06d}"
    ep.mkdir(parents=True)
    for i, img in enumerate(frames):
        cv2.imwrite(str(ep / f"frame_{i:06d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    steps = []
    for action, t in actions:
        frame = int(t * FPS)  # the last frame at or before t
        steps.append(action.with_time(t, frame).to_dict())
    (ep / "episode.json").write_text(
        json.dumps(
            {
                "task": task,
                "width": frames[0].shape[1],
                "height": frames[0].shape[0],
                "steps": steps,
            }
        )
    )


class PngSamples:
    """The naive reader: the same sample dicts as StepSamples, from a PNG per frame."""

    def __init__(self, root: Path, history: int = 3):
        self.history = history
        self.episodes = []
        for ep in sorted(root.iterdir()):
            meta = json.loads((ep / "episode.json").read_text())
            meta["actions"] = [Action.from_dict(d) for d in meta["steps"]]
            self.episodes.append((ep, meta))
        self.index = [
            (e, s) for e, (_, m) in enumerate(self.episodes) for s in range(len(m["actions"]))
        ]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        e, step = self.index[i]
        ep, meta = self.episodes[e]
        action = meta["actions"][step]
        img = cv2.imread(str(ep / f"frame_{action.frame:06d}.png"), cv2.IMREAD_COLOR)
        return {
            "image": cv2.cvtColor(img, cv2.COLOR_BGR2RGB),
            "task": meta["task"],
            "history": meta["actions"][max(0, step - self.history) : step],
            "action": action,
            "episode": (0, e),
            "step": step,
            "screen": (meta["width"], meta["height"]),
        }


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# ---- the three layouts: reading ------------------------------------------------------------
def open_samples(layout: str, root: Path):
    return PngSamples(root) if layout == "png" else StepSamples(root)


def close_samples(samples) -> None:
    """Close every video a StepSamples opened in this process, and collect the garbage.

    Needed before forking DataLoader workers: a worker that inherits an open video
    (even one only waiting for the garbage collector) hangs freeing it or reads it
    through a file offset shared with its sibling. See the report in BENCHMARKS.md.
    """
    for ds in getattr(samples, "datasets", ()):
        for ep in ds:
            ep.close()
    gc.collect()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def finite_or_none(x: float) -> float | None:
    return x if np.isfinite(x) else None


def check_same_samples(roots: dict[str, Path], count: int = 20) -> dict[str, list[float]]:
    """The layouts must serve the same samples, or the comparison means nothing.
    Returns the PSNR of each layout's images against the PNGs (the exact frames) for
    ``count`` samples spread over the dataset."""
    sets = {name: open_samples(name, root) for name, root in roots.items()}
    n = {name: len(s) for name, s in sets.items()}
    assert len(set(n.values())) == 1, f"sample counts differ: {n}"
    total = len(sets["png"])
    quality: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    for i in np.linspace(0, total - 1, min(count, total)).astype(int).tolist():
        ref = sets["png"][i]
        for name in LAYOUTS:
            got = sets[name][i]
            assert got["action"] == ref["action"] and got["task"] == ref["task"], (name, i)
            assert got["action"].frame == ref["action"].frame, (name, i)
            quality[name].append(psnr(got["image"], ref["image"]))
    assert min(quality["lossless"]) == float("inf"), "lossless mode is not bit-exact"
    for samples in sets.values():
        close_samples(samples)
    return quality


def loader_throughput(layout: str, root: Path, seed: int) -> float:
    import torch
    from torch.utils.data import DataLoader

    samples = open_samples(layout, root)
    loader = DataLoader(
        samples,
        batch_size=BATCH,
        shuffle=True,
        num_workers=WORKERS,
        collate_fn=collate_samples,
        generator=torch.Generator().manual_seed(seed),
        timeout=300,
    )
    start = time.perf_counter()
    count = 0
    for batch in loader:
        count += len(batch["action"])
    elapsed = time.perf_counter() - start
    assert count == len(samples)
    return count / elapsed


def random_access_ms(layout: str, root: Path, count: int, seed: int) -> list[float]:
    samples = open_samples(layout, root)
    order = np.random.default_rng(seed).choice(len(samples), size=count, replace=False)
    times = []
    for i in order:
        start = time.perf_counter()
        samples[int(i)]
        times.append((time.perf_counter() - start) * 1000)
    close_samples(samples)
    return times


# ---- running ---------------------------------------------------------------------------------
_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def run_config(cfg: Config, work: Path, seed: int) -> dict:
    roots = {name: work / cfg.name / name for name in LAYOUTS}
    write_s = dict.fromkeys(LAYOUTS, 0.0)
    frames_total = 0
    for e in range(cfg.episodes):
        task, frames, actions = make_episode(seed * 100_000 + e, cfg.width, cfg.height, cfg.steps)
        frames_total += len(frames)
        for name in LAYOUTS:
            start = time.perf_counter()
            if name == "png":
                write_png(roots[name], e, task, frames, actions)
            else:
                write_ours(
                    roots[name],
                    task,
                    frames,
                    actions,
                    cfg.width,
                    cfg.height,
                    lossless=name == "lossless",
                )
            write_s[name] += time.perf_counter() - start
    log(f"{cfg.name}: wrote {frames_total} frames x {len(LAYOUTS)} layouts")
    quality = check_same_samples(roots)
    out = {
        "width": cfg.width,
        "height": cfg.height,
        "episodes": cfg.episodes,
        "steps_per_episode": cfg.steps,
        "frames": frames_total,
        "samples": cfg.episodes * cfg.steps,
        "layouts": {},
    }
    for name in LAYOUTS:
        size = disk_bytes(roots[name])
        ra = random_access_ms(name, roots[name], min(cfg.random_access, out["samples"]), seed)
        out["layouts"][name] = {
            "write_frames_per_s": frames_total / write_s[name],
            "disk_mb": size / 1e6,
            "bytes_per_frame": size / frames_total,
            "load_samples_per_s": loader_throughput(name, roots[name], seed),
            "random_access_ms_median": statistics.median(ra),
            "random_access_ms_p90": float(np.percentile(ra, 90)),
            # None: bit-exact (an infinite PSNR has no JSON form)
            "psnr_db_min": finite_or_none(min(quality[name])),
            "psnr_db_median": finite_or_none(statistics.median(quality[name])),
        }
        log(f"{cfg.name}: read {name}")
    shutil.rmtree(work / cfg.name)
    return out


ROWS = (
    ("write (frames/s)", "write_frames_per_s", "{:.0f}"),
    ("disk (MB)", "disk_mb", "{:.1f}"),
    ("disk (bytes/frame)", "bytes_per_frame", "{:,.0f}"),
    (f"load, DataLoader {WORKERS} workers (samples/s)", "load_samples_per_s", "{:.0f}"),
    ("random access, median (ms)", "random_access_ms_median", "{:.1f}"),
    ("random access, p90 (ms)", "random_access_ms_p90", "{:.1f}"),
    ("image PSNR vs source, min (dB)", "psnr_db_min", "{:.1f}"),
    ("image PSNR vs source, median (dB)", "psnr_db_median", "{:.1f}"),
)


def format_table(results: list[dict]) -> str:
    label_w = max(len(r[0]) for r in ROWS)
    col_w = max(len(t) for t in LAYOUT_TITLES.values()) + 2
    lines = []
    for res in results:
        lines.append(
            f"{res['width']}x{res['height']}: {res['episodes']} episodes x "
            f"{res['steps_per_episode']} steps, {res['frames']} frames, "
            f"{res['samples']} samples"
        )
        lines.append(" " * label_w + "".join(LAYOUT_TITLES[n].rjust(col_w) for n in LAYOUTS))
        for label, key, fmt in ROWS:
            values = [res["layouts"][n][key] for n in LAYOUTS]
            cells = "".join(("exact" if v is None else fmt.format(v)).rjust(col_w) for v in values)
            lines.append(label.ljust(label_w) + cells)
        lines.append("")
    return "\n".join(lines).rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (< 30 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    configs = QUICK if args.quick else FULL
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="dataset_bench_") as tmp:
        for cfg in configs:
            results.append(run_config(cfg, Path(tmp), args.seed))
    elapsed = time.perf_counter() - started
    print(format_table(results))
    load = (load_before, os.getloadavg()[0])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    # Other work on the machine skews every number: say how busy it was.
    print(
        f"\n{machine}; {elapsed:.0f} s in all; "
        f"1-min load average {load[0]:.1f} at start, {load[1]:.1f} at end"
    )
    if args.json:
        report = {
            "quick": args.quick,
            "seed": args.seed,
            "machine": machine,
            "seconds": elapsed,
            "load_average": load,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
