"""How good the scripted experts are: each task's success from its start on N seeds, and
from states that 1-K random actions left (what DAgger asks of an expert), with mean steps
and the action types each expert uses.

    python bench/expert_bench.py [--tasks experts] [--seeds 200] [--seed-offset 1000000]
        [--handover 3] [--handover-seeds 50] [--workers 2] [--write]

``--tasks`` takes task names as everywhere (``experts``: every MiniWoB++ task with an
expert; a bare id means miniwob.ID). ``--write`` keeps the table in
env/experts/measured.json, which ``screenpilot tasks --json`` reports. Prints markdown
for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screenpilot.agent.evaluate import wilson_interval  # noqa: E402
from screenpilot.console import progress_bar  # noqa: E402
from screenpilot.env.experts.measure import MEASURED_PATH, measure_experts  # noqa: E402
from screenpilot.env.registration import check_task_names, parse_task_list  # noqa: E402


def measure(tasks, seeds, workers, max_random, label):
    with progress_bar(total=len(tasks) * len(seeds), desc=label, unit="ep") as bar:
        start = time.perf_counter()
        rows = measure_experts(
            tasks, seeds, workers=workers, max_random=max_random, on_episode=lambda _: bar.update()
        )
    return rows, time.perf_counter() - start


def percent(row) -> str:
    if not row.episodes:
        return "-"
    low, high = wilson_interval(row.successes, row.episodes)
    return f"{100 * row.success_rate:.1f}% ({100 * low:.0f}-{100 * high:.0f}, n={row.episodes})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default="experts")
    p.add_argument("--seeds", type=int, default=200, help="episodes per task from the start")
    p.add_argument("--seed-offset", type=int, default=1_000_000, help="first seed (1000000)")
    p.add_argument("--handover", type=int, default=3, metavar="K",
                   help="then from states 1..K random actions left (0: skip)")  # fmt: skip
    p.add_argument("--handover-seeds", type=int, default=50, help="episodes per task after them")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--write", action="store_true", help=f"keep the table in {MEASURED_PATH.name}")
    args = p.parse_args(argv)

    names = [
        t if "." in t or t in ("experts", "web") else f"miniwob.{t}" for t in args.tasks.split(",")
    ]
    tasks = parse_task_list(",".join(names))
    check_task_names(tasks, need_expert=True)
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    rows, start_s = measure(tasks, seeds, args.workers, 0, "from the start")
    after, after_s = {}, 0.0
    if args.handover:
        # Other seeds than the first run's: the states are new either way.
        first = args.seed_offset + args.seeds
        handover_seeds = list(range(first, first + args.handover_seeds))
        after, after_s = measure(tasks, handover_seeds, args.workers, args.handover, "after random")

    print(f"| task | from the start ({args.seeds} seeds) | mean steps | after 1-{args.handover} "
          "random actions | action types | failed seeds |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for task in sorted(tasks, key=lambda t: (rows[t].success_rate, t)):
        row = rows[task]
        failed = ", ".join(map(str, row.failed_seeds[:5])) + (
            " ..." if len(row.failed_seeds) > 5 else ""
        )
        handover = percent(after[task]) if task in after else "-"
        print(f"| {task} | {percent(row)} | {row.mean_steps:.1f} | {handover} | "
              f"{', '.join(sorted(row.action_types))} | {failed} |")  # fmt: skip
    mean = sum(r.success_rate for r in rows.values()) / len(rows)
    print(f"\n{len(tasks)} tasks, mean {100 * mean:.1f}% from the start; "
          f"{sum(r.episodes for r in rows.values())} episodes in {start_s:.0f} s "
          f"({args.workers} workers, {os.cpu_count()} cores)")  # fmt: skip
    handed_over = [r for r in after.values() if r.episodes]
    if handed_over:
        mean_after = sum(r.success_rate for r in handed_over) / len(handed_over)
        print(f"after random actions: mean {100 * mean_after:.1f}% over the handed-over "
              f"episodes of {len(handed_over)} tasks, {after_s:.0f} s")  # fmt: skip
    elif after:
        print("after random actions: the random actions ended every episode")
    if args.write:
        command = "python bench/expert_bench.py " + " ".join(argv or sys.argv[1:])
        table = {
            "tasks": {
                task: {
                    "success": round(rows[task].success_rate, 4),
                    "episodes": rows[task].episodes,
                    "mean_steps": round(rows[task].mean_steps, 2),
                    "action_types": sorted(rows[task].action_types),
                    "success_after_random": round(after[task].success_rate, 4)
                    if task in after and after[task].episodes else None,
                    "episodes_after_random": after[task].episodes if task in after else 0,
                    "first_seed": seeds[0],
                    "measured": datetime.date.today().isoformat(),
                    "command": command,
                }
                for task in tasks
            },
        }  # fmt: skip
        kept = json.loads(MEASURED_PATH.read_text()) if MEASURED_PATH.exists() else {}
        kept_tasks = kept.get("tasks", {})
        kept_tasks.update(table["tasks"])  # a run on some tasks updates just those
        table["tasks"] = dict(sorted(kept_tasks.items()))
        MEASURED_PATH.write_text(json.dumps(table, indent=1) + "\n")
        print(f"wrote {MEASURED_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
