"""`screenpilot demo`: the whole pipeline on a fresh machine, on the CPU.

expert demonstrations of the default tasks -> train the model -> evaluate it on seeds
training never saw, beside the random and expert baselines -> the table, a report and
annotated videos.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from screenpilot.dataset.errors import UserError

# Single- and multi-step tasks; reading words, typing into one and into two fields.
DEFAULT_TASKS = (
    "miniwob.click-test",
    "miniwob.click-test-2",
    "miniwob.click-button",
    "miniwob.click-link",
    "miniwob.focus-text",
    "miniwob.enter-text",
    "miniwob.click-checkboxes",
    "miniwob.login-user",
)


@dataclass(frozen=True)
class DemoRecipe:
    episodes_per_task: int  # expert demonstrations of each task (training seeds 0..N-1)
    train_minutes: float  # wall clock: a slower CPU trains fewer steps, not longer
    eval_episodes: int  # per task, on seeds from 1,000,000 up
    # The random and expert baselines are a frame of reference; fewer episodes keep the
    # demo inside its 20 minutes (the random agent plays every episode to the step limit).
    baseline_episodes: int = 20
    batch_size: int = 32


# Sized for 20 minutes on 2 cores, set-up included: training gets about half of it.
# BENCHMARKS.md has what each stage took.
FULL = DemoRecipe(episodes_per_task=250, train_minutes=11, eval_episodes=50)
QUICK = DemoRecipe(episodes_per_task=40, train_minutes=2, eval_episodes=10, baseline_episodes=10)


def recipe_for(minutes: float | None, quick: bool) -> DemoRecipe:
    """The recipe, with data sized from a training budget of ``minutes`` when given: the
    default's episodes per training minute, so a longer run does not just repeat epochs."""
    base = QUICK if quick else FULL
    if minutes is None:
        return base
    scale = minutes / base.train_minutes
    return replace(base, train_minutes=minutes,
                   episodes_per_task=max(20, round(base.episodes_per_task * scale)))  # fmt: skip


def register(subparsers) -> None:
    from screenpilot.env.registration import TASKS_HELP

    p = subparsers.add_parser(
        "demo",
        help="the whole pipeline: expert demos -> train -> evaluate on unseen seeds -> report",
        description="Record expert demonstrations of the default MiniWoB++ tasks, train the "
        "model on the CPU, evaluate it on seeds training never saw beside the random and "
        "expert baselines, and write the report with annotated videos.",
    )
    p.add_argument(
        "--out", default="demo_out", metavar="DIR", help="where everything goes (demo_out)"
    )
    p.add_argument(
        "--quick", action="store_true", help="a few-minute version (less data, training)"
    )
    p.add_argument(
        "--minutes", type=float, metavar="M",
        help=f"training budget in minutes of wall clock ({FULL.train_minutes:g}; "
        f"{QUICK.train_minutes:g} with --quick); the demonstrations are sized from it",
    )  # fmt: skip
    p.add_argument("--workers", type=int, default=2, metavar="K", help="browsers in parallel (2)")
    p.add_argument("--tasks", help=f"instead of the default eight: {TASKS_HELP}")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from screenpilot.env.registration import parse_task_list

    tasks = parse_task_list(args.tasks) if args.tasks else list(DEFAULT_TASKS)
    if args.minutes is not None and args.minutes <= 0:
        raise UserError(f"--minutes must be positive, got {args.minutes:g}")
    run_demo(Path(args.out), tasks, recipe_for(args.minutes, args.quick), workers=args.workers)
    return 0


def run_demo(out: Path, tasks: list[str], recipe: DemoRecipe, *, workers: int = 2) -> dict:
    from screenpilot.model.train import train
    from screenpilot.model.train_config import TrainConfig
    from screenpilot.recorder.expert import record_experts

    from .evaluate import EvalSpec, evaluate
    from .report import format_table, write_report

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    data, run = out / "demos", out / "run"

    start = time.perf_counter()
    if not (data / "meta" / "info.json").exists():
        print(f"1/4 recording {recipe.episodes_per_task} expert episodes of {len(tasks)} tasks")
        record_experts(tasks, recipe.episodes_per_task, data, workers=workers, seed=0)
    else:
        print(f"1/4 expert demonstrations already in {data}")
    timings["record_s"] = time.perf_counter() - start

    start = time.perf_counter()
    print(f"2/4 training for {recipe.train_minutes:g} minutes on the CPU")
    shutil.rmtree(run, ignore_errors=True)  # a new demo trains a new model, never on top
    config = TrainConfig(
        data=[str(data)], out=str(run), minutes=recipe.train_minutes, batch_size=recipe.batch_size,
        device="cpu", checkpoint_every=10**9, val_every=10**9,  # one evaluation, at the end
    )  # fmt: skip
    config.validate()
    train(config)
    timings["train_s"] = time.perf_counter() - start

    results = {}
    for name, spec in (
        ("model", EvalSpec(tasks, recipe.eval_episodes, workers=workers, model=str(run))),
        ("random", EvalSpec(tasks, recipe.baseline_episodes, workers=workers, agent="random")),
        ("expert", EvalSpec(tasks, recipe.baseline_episodes, workers=workers, agent="expert")),
    ):
        start = time.perf_counter()
        print(f"3/4 evaluating the {name} agent on {spec.episodes} unseen seeds a task")
        results[name] = evaluate(spec, out / f"eval_{name}")
        timings[f"eval_{name}_s"] = time.perf_counter() - start

    compare = [results["random"], results["expert"]]
    report = write_report(out / "eval_model", results["model"], compare=compare)
    summary = {"tasks": tasks, "recipe": recipe.__dict__, "timings": timings,
               "mean_success": {k: r["mean_success"] for k, r in results.items()}}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("4/4 results on unseen seeds")
    print(format_table(results["model"], compare))
    print(f"report: {report}")
    print("time: " + ", ".join(f"{k[:-2]} {v:.0f} s" for k, v in timings.items()))
    return summary
