"""Benchmark: `screenpilot dataset view` on thousands of episodes.

    .venv/bin/python bench/viewer_bench.py [--episodes 2000 10000] [--work DIR] [--json PATH]

For each size it writes a dataset of tiny episodes (32x24, 3 frames, one click; each its
own video, written by EpisodeWriter in one process a core and merged in order, as the
expert recorder does), then measures:

- build: ``write_viewer`` into a new folder (reads meta/episodes.jsonl and every
  episode's step table; renders nothing), the size of what it writes, and the same
  build again (step tables unchanged since: their actions files are kept);
- open: headless Chromium (Debian's, as the tests launch it) from ``goto`` of the page's
  file:// URL until the episode list is laid out;
- last episode: from asking for the last episode (its ``#episode-N`` link) until its
  video has enough data to play (readyState 4).

Datasets are written under ``--work`` (kept, and reused by the next run) or a
temporary directory (removed).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from screenpilot.dataset.actions import Action
from screenpilot.dataset.format import EpisodeWriter, init_dataset
from screenpilot.dataset.maintenance import adopt_episodes
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.viewer import write_viewer

_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


# ---- the dataset -------------------------------------------------------------------------------
def write_shard(args: tuple[Path, int, int]) -> Path:
    """Episodes first .. first + count - 1, into a dataset of their own."""
    root, first, count = args
    for i in range(first, first + count):
        metadata = {"env": f"miniwob.task-{i % 8}", "seed": i} if i % 5 else {}
        with EpisodeWriter(
            root, f"task {i % 50}", 32, 24, fps=5, source=("expert", "browser")[i % 2],
            metadata=metadata, clock=lambda: 0.0, durable=False,
        ) as ep:  # fmt: skip
            for f in range(3):
                ep.add_frame(np.full((24, 32, 3), (i % 200 + f * 20,) * 3, np.uint8), t=f / 5)
            ep.add_action(Action("click", x=i % 32, y=i % 24), t=0.1)
            ep.set_outcome(success=(True, False, None)[i % 3])
    return root


def make_dataset(root: Path, episodes: int) -> float:
    """Write ``root`` unless it already holds ``episodes`` episodes; returns seconds spent."""
    if root.exists() and len(open_dataset(root)) == episodes:
        return 0.0
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    workers = os.cpu_count() or 1
    share = -(-episodes // workers)
    jobs = [
        (root.with_name(f"{root.name}-shard{k}"), k * share, min(share, episodes - k * share))
        for k in range(workers)
        if k * share < episodes
    ]
    with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        shards = list(pool.map(write_shard, jobs))
    init_dataset(root)
    for shard in shards:
        adopt_episodes(list(open_dataset(shard)), root, move=True)
        shutil.rmtree(shard)
    return time.perf_counter() - start


# ---- measuring ---------------------------------------------------------------------------------
def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def open_in_chromium(page_path: Path, last_index: int) -> dict:
    from playwright.sync_api import sync_playwright

    from screenpilot.env.browser import CHROMIUM_ARGS, find_chromium

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), args=list(CHROMIUM_ARGS)
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        page.goto(page_path.as_uri())
        page.wait_for_selector("body[data-ready=yes]", timeout=120_000)
        opened = time.perf_counter() - start
        start = time.perf_counter()
        page.evaluate(f"location.hash = '#episode-{last_index}'")
        page.wait_for_function(
            "name => video.src.endsWith(name) && video.readyState === 4",
            arg=f"episode_{last_index:06d}.mp4",
            timeout=60_000,
        )
        last = time.perf_counter() - start
        players = page.evaluate("document.querySelectorAll('video').length")
        browser.close()
    return {"open_s": opened, "last_episode_s": last, "players": players}


def run(episodes: int, work: Path) -> dict:
    root = work / f"ds-{episodes}"
    written = make_dataset(root, episodes)
    if written:
        log(f"{episodes} episodes written in {written:.1f} s")
    view = work / f"view-{episodes}"
    shutil.rmtree(view, ignore_errors=True)
    start, cpu = time.perf_counter(), time.process_time()
    page = write_viewer(root, view)
    build, build_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    write_viewer(root, view)
    rebuild = time.perf_counter() - start
    log(f"{episodes} episodes: view built in {build:.2f} s, again in {rebuild:.2f} s")
    return {
        "episodes": episodes,
        "write_dataset_s": written or None,
        "build_s": build,
        "build_cpu_s": build_cpu,
        "rebuild_s": rebuild,
        "index_kb": (view / "index.js").stat().st_size / 1e3,
        "view_kb": folder_bytes(view) / 1e3,
        **open_in_chromium(page, open_dataset(root)[-1].index),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--work", metavar="DIR", help="keep (and reuse) the datasets here")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="viewer_bench_") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = [run(n, work) for n in args.episodes]
    print(f"{'episodes':>9} {'build (s)':>10} {'build CPU (s)':>14} {'again (s)':>10} "
          f"{'open (s)':>9} {'last ep. (s)':>13} {'index.js (kB)':>14} {'view (kB)':>10} "
          f"{'players':>8}")  # fmt: skip
    for r in results:
        print(
            f"{r['episodes']:>9,} {r['build_s']:>10.2f} {r['build_cpu_s']:>14.2f} "
            f"{r['rebuild_s']:>10.2f} {r['open_s']:>9.2f} "
            f"{r['last_episode_s']:>13.2f} {r['index_kb']:>14.0f} {r['view_kb']:>10.0f} "
            f"{r['players']:>8}"
        )
    load = (load_before, os.getloadavg()[0])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    # Other work on the machine skews every number: say how busy it was.
    print(f"\n{machine}; 1-min load average {load[0]:.1f} at start, {load[1]:.1f} at end")
    if args.json:
        report = {"machine": machine, "load_average": load, "results": results}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
