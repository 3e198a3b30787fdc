"""A/B: a model trained on desktop recordings against one trained on step logs.

    .venv/bin/python bench/recordings_ab.py --work DIR [--tasks T,...] [--episodes N]
        [--steps S] [--eval-episodes E] [--workers K]

The same scripted experts play the same tasks on the same seeds (0..N-1) twice:

- A, step logs (`record expert`): the env's own screenshot before each action and the
  action the expert chose, as every model so far was trained;
- B, recordings (`record expert --via desktop`): the experts act through OS input at a
  person's pace in Chromium windows on private X displays, the desktop recorder films the
  task's screen area at 20 fps and listens to the input; the steps are what segmentation
  finds in those events and the frames before them, nothing from the expert's log.

Both models train with one config for the same number of steps (not minutes: the machine
may be shared) and are evaluated in the sandbox (headless, as every eval) on the same
unseen seeds from 1,000,000. The table: success per task, A, B and B / A; the issue's
target is B >= 95% of A on the mean. Everything lands in --work; a stage whose output is
there is not run again (delete it to redo it). The figures in BENCHMARKS.md, each
command for --train-seed 0 and 1 (two arms side by side, one torch thread each):

    bench/recordings_ab.py --work W --steps 600 --threads 1 --only steplogs &
    bench/recordings_ab.py --work W --steps 600 --threads 1 --only recordings; wait
    bench/recordings_ab.py --work W --steps 600 --threads 1 --only steplogs --no-grounding
    bench/recordings_ab.py --work W --steps 600 [--no-grounding]      # the table
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DEFAULT_TASKS = "miniwob.click-test,miniwob.click-button,miniwob.focus-text,miniwob.enter-text"


def ab_table(tasks: list[str], a: dict, b: dict, headers: tuple[str, str, str]) -> str:
    """Two evals' results.json side by side: success per task and the mean, and B / A."""
    rows = [("task", *headers)]
    for task in tasks:
        ra, rb = a["tasks"][task]["success_rate"], b["tasks"][task]["success_rate"]
        rows.append((task, f"{ra:.0%}", f"{rb:.0%}", f"{rb / ra:.2f}" if ra else "-"))
    ma, mb = a["mean_success"], b["mean_success"]
    rows.append(("mean", f"{ma:.1%}", f"{mb:.1%}", f"{mb / ma:.2f}" if ma else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from screenpilot.agent.evaluate import EvalSpec, evaluate
    from screenpilot.env.desktop_sandbox import DesktopOptions
    from screenpilot.env.registration import parse_task_list
    from screenpilot.model.train import train
    from screenpilot.model.train_config import TrainConfig
    from screenpilot.recorder.expert import record_experts

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, metavar="DIR")
    parser.add_argument("--tasks", default=DEFAULT_TASKS)
    parser.add_argument("--episodes", type=int, default=100, help="demonstrations a task (100)")
    parser.add_argument("--steps", type=int, default=1000, help="training steps, each arm (1000)")
    parser.add_argument("--eval-episodes", type=int, default=50, help="eval episodes a task (50)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=0,
        help="torch threads for training (0: torch's choice; 1 where another job shares the cores)",
    )  # fmt: skip
    parser.add_argument(
        "--train-seed", type=int, default=0,
        help="training's seed (runs and evals of seeds other than 0 get a suffix): repeats "
        "measure how much two trainings on the same data differ",
    )  # fmt: skip
    parser.add_argument(
        "--no-grounding", action="store_true",
        help="train the step-log arm without the grounding objective (model grounding_weight "
        "0): step logs carry the page's text items as extra labels, recordings do not",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=("steplogs", "recordings"),
        help="run one arm only (two processes can run the arms side by side); a run without "
        "it then finds both done and prints the table",
    )  # fmt: skip
    args = parser.parse_args(argv)
    tasks = parse_task_list(args.tasks)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    arms = {
        "step logs": (work / "steplogs", None),
        "recordings": (work / "recordings", DesktopOptions(human_pace=True, record_fps=20)),
    }
    results = {}
    for name, (data, desktop) in arms.items():
        if args.only and args.only != data.name:
            continue
        start = time.perf_counter()
        if not (data / "meta" / "info.json").exists():
            record_experts(tasks, args.episodes, data, workers=args.workers, desktop=desktop)
        timings[f"record {name} s"] = round(time.perf_counter() - start, 1)
        suffix = f"_seed{args.train_seed}" if args.train_seed else ""
        # Recordings have no text items: the objective has nothing to train on there.
        ungrounded = args.no_grounding and desktop is None
        suffix += "_nogrounding" if ungrounded else ""
        run = work / f"run_{data.name}{suffix}"
        start = time.perf_counter()
        if not (run / "model").exists():
            config = TrainConfig(
                data=[str(data)], out=str(run), steps=args.steps, batch_size=32, device="cpu",
                checkpoint_every=10**9, val_every=10**9, seed=args.train_seed,
                threads=args.threads, model={"grounding_weight": 0.0} if ungrounded else {},
                val_fraction=0.0,  # every episode trains: the two arms see the same seeds
            )  # fmt: skip
            config.validate()
            train(config)
        timings[f"train {name} s"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        done = work / f"eval_{data.name}{suffix}" / "results.json"
        if done.exists():
            results[name] = json.loads(done.read_text())
        else:
            spec = EvalSpec(tasks, args.eval_episodes, workers=args.workers, model=str(run))
            results[name] = evaluate(spec, done.parent)
        timings[f"eval {name} s"] = round(time.perf_counter() - start, 1)
    if args.only:
        return 0

    a, b = results["step logs"], results["recordings"]
    print(ab_table(tasks, a, b, ("step logs", "recordings", "B / A")))
    ma, mb = a["mean_success"], b["mean_success"]
    print(json.dumps(timings))
    summary = {"tasks": tasks, "episodes": args.episodes, "steps": args.steps,
               "eval_episodes": args.eval_episodes, "timings": timings,
               "mean_success": {"step logs": ma, "recordings": mb}}  # fmt: skip
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
