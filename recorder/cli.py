"""`screenpilot record ...`: demonstrations into a dataset."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record demonstrations (desktop, browser, scripted experts) into a dataset",
        description="Record demonstrations into a dataset of episodes.",
    )
    verbs = parser.add_subparsers(dest="record_verb", metavar="SOURCE", required=True)
    for add in (_add_desktop, _add_browser, _add_expert):
        add(verbs)


def _add_expert(verbs) -> None:
    from screenpilot.env.pool import add_pool_arguments
    from screenpilot.env.registration import TASKS_HELP

    p = verbs.add_parser(
        "expert",
        help="scripted sandbox experts, many episodes across K browsers",
        description="Run the scripted experts of sandbox tasks and record every step: the "
        "screenshot the expert acted on and the action, as the model will see them.",
    )
    p.add_argument("--tasks", required=True, help=TASKS_HELP)
    p.add_argument("--episodes", type=int, default=100, metavar="N", help="episodes per task (100)")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset to create or append to")
    add_pool_arguments(p)
    p.add_argument(
        "--seed", type=int, default=0, metavar="S", help="first task seed; seeds S..S+N-1 (0)"
    )
    p.add_argument(
        "--keep-failures", action="store_true", help="also keep episodes the expert failed"
    )
    p.add_argument(
        "--via", choices=("page", "desktop"), default="page",
        help="page: step logs, the screenshot before each action (default); desktop: the "
        "experts act through OS input (pointer paths, key presses, a person's pace) in "
        "browser windows on X displays, recorded by the desktop recorder as video + input "
        "events, steps found by segmentation",
    )  # fmt: skip
    p.add_argument(
        "--display", metavar=":N",
        help="--via desktop: an X display to use (one worker); default: a private Xvfb per worker",
    )  # fmt: skip
    p.add_argument(
        "--fps", type=float, default=20, help="--via desktop: frames per second recorded (20)"
    )
    p.add_argument(
        "--draw-pointer", action="store_true",
        help="--via desktop: draw the mouse pointer into the frames (what an inverse dynamics "
        "model learns clicks from)",
    )  # fmt: skip
    p.set_defaults(func=cmd_expert)


def cmd_expert(args: argparse.Namespace) -> int:
    import time

    from screenpilot.dataset.errors import UserError
    from screenpilot.env.registration import parse_task_list

    from .expert import record_experts

    tasks = parse_task_list(args.tasks)
    desktop = None
    if args.via == "desktop":
        from screenpilot.env.desktop_sandbox import DesktopOptions

        if args.display and args.workers > 1:
            raise UserError("--display is one screen: it takes --workers 1")
        desktop = DesktopOptions(display=args.display, human_pace=True, record_fps=args.fps,
                                 draw_pointer=args.draw_pointer)  # fmt: skip
    elif args.display or args.draw_pointer:
        raise UserError("--display and --draw-pointer are for --via desktop")
    start = time.perf_counter()
    summary = record_experts(
        tasks, args.episodes, args.out, workers=args.workers, seed=args.seed,
        keep_failures=args.keep_failures, backend=args.backend, address=args.address,
        desktop=desktop,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    for task, counts in summary.per_task.items():
        print(f"{task:40s} {counts['success']:5d}/{counts['run']:<5d} successful")
    print(
        f"{summary.out}: kept {summary.episodes_kept} of {summary.episodes_run} episodes, "
        f"{summary.steps} steps, in {elapsed:.1f} s ({summary.episodes_run / elapsed:.1f} episodes/s)"
    )
    return 0


def _add_desktop(verbs) -> None:
    from .desktop import add_arguments

    p = verbs.add_parser(
        "desktop",
        help="the X display: screen video (mss) + every mouse and keyboard event (pynput)",
        description="Record what a person does on the X desktop: frames at a steady rate "
        "(a frame identical to the last one written is not written; a still screen gets "
        "one a second) and every input event, on one clock. Stops on Ctrl+C, SIGTERM, "
        "--duration or the stop hotkey.",
    )
    add_arguments(p)


def _add_browser(verbs) -> None:
    from .browser import add_arguments

    p = verbs.add_parser(
        "browser",
        help="a person demonstrating in a real Chromium window (a URL or sandbox tasks)",
        description="Open a headed Chromium on $DISPLAY and record a person's clicks, keys, "
        "scrolls and drags in page coordinates, with frames from the page itself.",
    )
    add_arguments(p)
