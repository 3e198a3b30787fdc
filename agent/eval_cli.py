"""`screenpilot eval`: success rates on unseen seeds, a report, and videos."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from screenpilot.dataset.errors import UserError

from .evaluate import DEFAULT_SEED_OFFSET


def register(subparsers) -> None:
    from screenpilot.env.pool import add_pool_arguments
    from screenpilot.env.registration import TASKS_HELP

    from .run_cli import add_agent_arguments

    p = subparsers.add_parser(
        "eval",
        help="evaluate an agent on sandbox tasks, on seeds training never saw",
        description="Play N episodes of each task with an agent; write DIR/results.json and "
        "DIR/report.html (the table beside any --compare results, and annotated videos).",
    )
    add_agent_arguments(p)
    p.add_argument("--tasks", required=True, help=TASKS_HELP)
    p.add_argument("--episodes", type=int, default=50, metavar="N", help="episodes per task (50)")
    p.add_argument(
        "--seed-offset", type=int, default=DEFAULT_SEED_OFFSET, metavar="S",
        help=f"first eval seed ({DEFAULT_SEED_OFFSET}); must not overlap training seeds",
    )  # fmt: skip
    add_pool_arguments(p)
    p.add_argument("--max-steps", type=int, metavar="M", help="step limit (default: the task's)")
    p.add_argument(
        "--desktop", action="store_true",
        help="play each task in a Chromium window on an X display, the agent acting only "
        "through OS input and seeing only the screen (reward still read from the page)",
    )  # fmt: skip
    p.add_argument(
        "--display", metavar=":N",
        help="--desktop: an X display to use (one worker); default: a private Xvfb per worker",
    )  # fmt: skip
    p.add_argument("--out", required=True, metavar="DIR", help="where results and report go")
    p.add_argument(
        "--compare", action="append", default=[], metavar="RESULTS",
        help="another results.json to show beside (e.g. a random baseline); repeatable",
    )  # fmt: skip
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from screenpilot.env.registration import parse_task_list

    from .evaluate import EvalSpec, evaluate
    from .report import format_table

    if not args.model and not args.agent:
        raise UserError("which agent? give --model RUN or --agent random|expert")
    if args.model and args.agent:
        raise UserError("give either --model RUN or --agent random|expert, not both")
    tasks = parse_task_list(args.tasks)
    compare = [_load_results(p) for p in args.compare]
    spec = EvalSpec(
        tasks=tasks, episodes=args.episodes, seed_offset=args.seed_offset, workers=args.workers,
        backend=args.backend, address=args.address, max_steps=args.max_steps, agent=args.agent,
        model=args.model, device=args.device, desktop=args.desktop, display=args.display,
    )  # fmt: skip
    results = evaluate(spec, args.out, compare=compare)
    print(format_table(results, compare))
    print(f"wrote {Path(args.out) / 'results.json'} and {Path(args.out) / 'report.html'}")
    return 0


def _load_results(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: not a results.json ({e})") from None
