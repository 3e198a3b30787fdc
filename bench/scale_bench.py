"""Benchmark: datasets of 1,000 and 100,000 episodes, sealed into chunks (format v3).

    .venv/bin/python bench/scale_bench.py [--sizes 1000 100000] [--work DIR] [--json PATH]

Each dataset is built the way bulk recording builds one: a few real episodes
(bench/dataset_bench.py's UI-like 160x210 screens, 5 steps, written by EpisodeWriter)
are appended again and again with ``adopt_episodes`` (copy the files, one commit, seal
every full chunk of 1,000), so every chunk goes through the real sealing path. Then:

- files, disk: every file of the dataset;
- info, check: ``screenpilot dataset info`` and ``screenpilot dataset check`` as a user
  runs them (a new process each, median of 3);
- open one: ``open_dataset(DIR)[i]``, its actions and its first frame, for random ``i``,
  a fresh Dataset each time (median of 20);
- first batch: what training does before its first step, on the data side: open the
  dataset, split the episodes, index every sample, name each sample's task, then read
  a batch of 32 random samples (frames decoded).

``--unsealed`` adds the same 1,000 episodes in the version-2 layout (five files an
episode) for comparison. Datasets are kept under ``--work`` and reused by the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from dataset_bench import disk_bytes, make_episode, write_ours

from screenpilot.console import progress_bar
from screenpilot.dataset.format import init_dataset, read_info
from screenpilot.dataset.maintenance import adopt_episodes
from screenpilot.dataset.reader import open_dataset

SOURCES = 8  # distinct real episodes, appended again and again
BATCH = 32
SCREENPILOT = [sys.executable, "-m", "screenpilot.agent.cli"]


def build(root: Path, episodes: int, *, seal: bool = True) -> float:
    """Write ``root`` with ``episodes`` episodes; returns the seconds it took."""
    if root.exists() and (root / "meta" / "info.json").exists():
        if read_info(root)["episodes"] == episodes:
            return float("nan")  # kept from an earlier run
        shutil.rmtree(root)
    start = time.perf_counter()
    sources = root.with_name(root.name + "-sources")
    shutil.rmtree(sources, ignore_errors=True)
    for seed in range(SOURCES):
        task, frames, actions = make_episode(seed, 160, 210, steps=5)
        write_ours(sources, task, frames, actions, 160, 210, lossless=False)
    originals = list(open_dataset(sources))
    init_dataset(root)
    if not seal:  # the version-2 layout: no chunk ever fills
        info = read_info(root)
        (root / "meta" / "info.json").write_text(json.dumps({**info, "chunk_episodes": 10**9}))
    bar = progress_bar(total=episodes, desc=f"build {root.name}", unit="ep")
    for first in range(0, episodes, 1000):
        count = min(1000, episodes - first)
        adopt_episodes([originals[i % SOURCES] for i in range(count)], root, note_source=False)
        bar.update(count)
    bar.close()
    shutil.rmtree(sources)
    return time.perf_counter() - start


def cli_seconds(*args) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run([*SCREENPILOT, *map(str, args)], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, args))} failed: {done.stdout}{done.stderr}")
    return statistics.median(times)


def open_one_ms(root: Path, rng: np.random.Generator) -> float:
    times = []
    n = read_info(root)["episodes"]
    for i in rng.integers(0, n, 20):
        start = time.perf_counter()
        episode = open_dataset(root)[int(i)]
        assert episode.actions and episode.frame(0).shape == (210, 160, 3)
        times.append(time.perf_counter() - start)
        episode.close()
    return statistics.median(times) * 1000


def first_batch_seconds(root: Path, rng: np.random.Generator) -> float:
    from screenpilot.dataset.samples import StepSamples
    from screenpilot.model.data import open_datasets, sample_tasks, split_episodes

    start = time.perf_counter()
    datasets = open_datasets([str(root)])
    train_keys, _ = split_episodes(datasets, 0.05, seed=0)
    samples = StepSamples(datasets, episodes=train_keys)
    tasks = sample_tasks(samples)
    batch = [samples[int(i)] for i in rng.integers(0, len(samples), BATCH)]
    assert len(tasks) == len(samples) and len(batch) == BATCH
    return time.perf_counter() - start


def measure(root: Path, layout: str, built_s: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    files = sum(1 for p in root.rglob("*") if p.is_file())
    row = {
        "episodes": read_info(root)["episodes"],
        "layout": layout,
        "chunks": len(read_info(root).get("chunks", [])),
        "files": files,
        "disk_mb": disk_bytes(root) / 2**20,
        "build_s": built_s,
        "info_s": cli_seconds("dataset", "info", root),
        "check_s": cli_seconds("dataset", "check", root),
        "open_one_ms": open_one_ms(root, rng),
        "first_batch_s": first_batch_seconds(root, rng),
    }
    print(json.dumps(row), file=sys.stderr)
    return row


COLUMNS = (
    ("episodes", "{:,}"), ("layout", "{}"), ("chunks", "{}"), ("files", "{:,}"),
    ("disk_mb", "{:.1f}"), ("build_s", "{:.0f}"), ("info_s", "{:.2f}"), ("check_s", "{:.2f}"),
    ("open_one_ms", "{:.1f}"), ("first_batch_s", "{:.2f}"),
)  # fmt: skip


def format_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(name for name, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]  # fmt: skip
    for row in rows:
        lines.append("| " + " | ".join(fmt.format(row[name]) for name, fmt in COLUMNS) + " |")
    sealed = [r for r in rows if r["layout"] == "chunks"]
    if len(sealed) >= 2:
        small, big = sealed[0], sealed[-1]
        ratios = ", ".join(f"{name} x{big[name] / small[name]:.2f}"
                           for name in ("info_s", "check_s", "open_one_ms", "first_batch_s"))  # fmt: skip
        lines.append(f"\n{big['episodes']:,} against {small['episodes']:,} episodes: {ratios}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000], metavar="N")
    parser.add_argument("--work", type=Path, help="keep the datasets here (default: a temp dir)")
    parser.add_argument("--unsealed", action="store_true", help="also the version-2 layout")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows here")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="scale-bench-"))
    rows = []
    try:
        for size in args.sizes:
            root = work / f"sealed-{size}"
            rows.append(measure(root, "chunks", build(root, size), seed=size))
        if args.unsealed:
            root = work / f"files-{args.sizes[0]}"
            rows.append(measure(root, "files", build(root, args.sizes[0], seal=False), seed=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
