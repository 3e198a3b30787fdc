"""Benchmark: expert recording on the local process pool against the Ray backend, and
what the driver pays for each episode a remote worker sends back.

    .venv/bin/python bench/pool_bench.py [--tasks miniwob.click-test,miniwob.enter-text]
        [--episodes 60] [--workers 2] [--json PATH]

1. ``screenpilot record expert`` with the same tasks, seeds and workers, on
   ``--backend local`` and ``--backend ray`` (a local Ray instance, started and stopped
   by the command, as a user without a cluster runs it): wall seconds, episodes/s.
2. The driver's share of a remote recording, per episode, on the episodes just recorded:
   ``unpack_episode`` (the bytes a worker sent land in a local shard) and
   ``adopt_episodes`` (moved into the output, one commit, full chunks sealed), plus
   ``seal_chunks`` per episode from a chunk of 1,000 of them. Everything else runs on the
   workers; the driver's cost bounds how many workers one driver can keep busy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from screenpilot.dataset.chunks import seal_chunks
from screenpilot.dataset.format import init_dataset
from screenpilot.dataset.maintenance import adopt_episodes
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.transfer import pack_episode, unpack_episode

SCREENPILOT = [sys.executable, "-m", "screenpilot.agent.cli"]


def record(backend: str, tasks: str, episodes: int, workers: int, out: Path) -> dict:
    start = time.perf_counter()
    done = subprocess.run(
        [*SCREENPILOT, "-q", "record", "expert", "--tasks", tasks, "--episodes", str(episodes),
         "--workers", str(workers), "--backend", backend, "--out", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"record expert --backend {backend} failed: {done.stderr[-2000:]}")
    kept = len(open_dataset(out))
    return {"backend": backend, "episodes": kept, "seconds": seconds, "eps_per_s": kept / seconds}


def driver_costs(source: Path, work: Path, copies: int = 1000) -> dict:
    """Milliseconds per episode of what the driver does with episodes sent back."""
    episodes = list(open_dataset(source))
    blobs = [pack_episode(source, ep.meta) for ep in episodes]
    shard, out = work / "shard", work / "out"
    start = time.perf_counter()
    landed = [unpack_episode(blobs[i % len(blobs)], shard) for i in range(copies)]
    unpack = time.perf_counter() - start
    init_dataset(out)
    (out / "meta" / "info.json").write_text(
        json.dumps({**json.loads((out / "meta" / "info.json").read_text()),
                    "chunk_episodes": 10**9})  # time the adoption apart from the seal
    )  # fmt: skip
    start = time.perf_counter()
    adopt_episodes(list(open_dataset(shard)), out, move=True, note_source=False)
    adopt = time.perf_counter() - start
    start = time.perf_counter()
    seal_chunks(out, size=copies)
    seal = time.perf_counter() - start
    blob_kb = sum(len(b) for b in blobs) / len(blobs) / 1024
    return {"episodes": len(landed), "blob_kb": blob_kb, "unpack_ms": unpack / copies * 1000,
            "adopt_ms": adopt / copies * 1000, "seal_ms": seal / copies * 1000}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="miniwob.click-test,miniwob.enter-text")
    parser.add_argument("--episodes", type=int, default=60, help="a task (60)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pool-bench-"))
    try:
        rows = [record(b, args.tasks, args.episodes, args.workers, work / b)
                for b in ("local", "ray")]  # fmt: skip
        costs = driver_costs(work / "local", work / "driver")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"{args.tasks}, {args.episodes} episodes a task, {args.workers} workers")  # fmt: skip
    print("| backend | episodes | wall (s) | episodes/s |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['backend']} | {row['episodes']} | {row['seconds']:.1f} | "
              f"{row['eps_per_s']:.2f} |")  # fmt: skip
    print(f"\ndriver, per episode sent back ({costs['blob_kb']:.1f} kB): unpack "
          f"{costs['unpack_ms']:.2f} ms, adopt {costs['adopt_ms']:.2f} ms, seal "
          f"{costs['seal_ms']:.2f} ms -> at most "
          f"{1000 / (costs['unpack_ms'] + costs['adopt_ms'] + costs['seal_ms']):.0f} episodes/s "
          "through one driver")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "driver": costs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
