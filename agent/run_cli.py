"""`screenpilot run`: an agent does one task, in the sandbox, on a web page or on the
X desktop, printing each action as it goes and filming what it saw and did."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from screenpilot.dataset.errors import UserError

DESKTOP_MAX_STEPS = 20  # a live desktop gets a short leash unless --max-steps says otherwise


def add_agent_arguments(p: argparse.ArgumentParser) -> None:
    """--model / --agent / --device: shared by run and eval."""
    p.add_argument(
        "--model", metavar="RUN", help="a trained run directory (screenpilot train --out)"
    )
    p.add_argument(
        "--agent",
        choices=("random", "expert"),
        help="a baseline instead of a model (expert: sandbox only)",
    )
    p.add_argument("--device", default="cpu", help="torch device for the model (cpu)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run an agent on a task: a sandbox task, any web page, or the X desktop",
        description="Run an agent on one task and print each action. Where: --env (a sandbox "
        "task instance), --url (any page, in the sandboxed browser) or --desktop (the live X "
        "display; needs --yes, or --dry-run to only draw what it would do).",
    )
    add_agent_arguments(p)
    p.add_argument("--task", help="the task in words (required with --url and --desktop)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--env", metavar="TASK", help="a sandbox task, e.g. miniwob.click-button")
    where.add_argument("--url", help="any page, opened in the sandboxed browser")
    where.add_argument("--desktop", action="store_true", help="the live X display ($DISPLAY)")
    p.add_argument("--seed", type=int, help="task instance (--env)")
    p.add_argument(
        "--allow-host", action="append", default=[], metavar="HOST",
        help="with --url: another host the page may reach (repeatable)",
    )  # fmt: skip
    p.add_argument("--viewport", default="1280x720", metavar="WxH", help="page size for --url")
    p.add_argument("--video", metavar="FILE", help="write an annotated video of the run (.mp4)")
    p.add_argument("--max-steps", type=int, metavar="N", help="stop after N actions")
    p.add_argument("--yes", action="store_true", help="--desktop: act without asking")
    area = p.add_mutually_exclusive_group()
    area.add_argument(
        "--region", metavar="X,Y,W,H",
        help="--desktop: see and act in this part of the screen only (as `record desktop`)",
    )  # fmt: skip
    area.add_argument(
        "--window", metavar="NAME",
        help="--desktop: see and act in the window whose title contains NAME",
    )  # fmt: skip
    p.add_argument(
        "--dry-run", action="store_true",
        help="--desktop: draw the intended action on the screenshot, execute nothing",
    )  # fmt: skip
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from .agents import make_agent

    if (args.url or args.desktop) and not args.task:
        raise UserError("--url and --desktop need --task: the task in words")
    if (args.yes or args.dry_run or args.region or args.window) and not args.desktop:
        raise UserError("--yes, --dry-run, --region and --window are for --desktop")
    if args.max_steps is not None and args.max_steps < 1:
        raise UserError("--max-steps must be at least 1")
    if args.video:
        _check_video_path(Path(args.video))  # before the run, not after it is lost
    agent = make_agent(args.agent, args.model, device=args.device, seed=args.seed or 0)
    if args.desktop:
        return _run_desktop(args, agent)
    env, options = _sandbox_env(args)
    try:
        rollout = _run_and_print(env, agent, args, options)
    finally:
        env.close()
    return _finish(rollout, args)


def _sandbox_env(args):
    from screenpilot.env.browser_env import BrowserEnv
    from screenpilot.env.registration import check_task_names

    if args.env:
        check_task_names([args.env])
        return BrowserEnv(args.env, max_steps=args.max_steps), None
    try:
        width, height = (int(v) for v in args.viewport.lower().split("x"))
    except ValueError:
        raise UserError(f"--viewport wants WxH such as 1280x720, got {args.viewport!r}") from None
    options = {"url": args.url, "task": args.task}
    if args.allow_host:
        from urllib.parse import urlsplit

        options["allowed_hosts"] = [urlsplit(args.url).hostname or "", *args.allow_host]
    return BrowserEnv("web", max_steps=args.max_steps, viewport=(width, height)), options


def _run_and_print(env, agent, args, options):
    from screenpilot.env.rollout import run_episode

    def show(k, step):
        error = f"  [could not run: {step.error}]" if step.error else ""
        print(f"step {k + 1}: {step.action.to_text()}  ({step.ms:.0f} ms){error}", flush=True)

    try:
        return run_episode(
            env, agent, seed=args.seed, options=options, max_steps=args.max_steps, on_step=show,
            keep_screenshots=bool(args.video),
        )  # fmt: skip
    except UserError:
        raise
    except Exception as e:  # an unreachable page, a browser that cannot start
        where = args.url or args.env
        raise UserError(f"cannot run on {where}: {str(e).splitlines()[0]}") from None


def _finish(rollout, args) -> int:
    from .rollout import write_rollout_video

    print(f"task: {rollout.task!r}")
    steps = len(rollout.steps)
    print(f"outcome: {rollout.outcome()} after {steps} step{'' if steps == 1 else 's'}")
    if args.video:
        print(f"video: {write_rollout_video(rollout, args.video)}")
    return 0


def _run_desktop(args, agent) -> int:
    from screenpilot.env.desktop_env import DesktopEnv

    # The area a model trained on `record desktop --region/--window` recordings was shown.
    region = None
    if args.region:
        from screenpilot.recorder.desktop import parse_region

        region = parse_region(args.region)
    elif args.window:
        from screenpilot.recorder.windows import window_region

        region = window_region(args.window)
    if not args.yes and not args.dry_run:
        if not sys.stdin.isatty():
            raise UserError(
                "--desktop acts on your real screen: pass --yes to allow it (or --dry-run)"
            )
        answer = input("screenpilot will move your mouse and type on this display. Go? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing done")
            return 1
    env = DesktopEnv(task=args.task, region=region, max_steps=args.max_steps or DESKTOP_MAX_STEPS)
    try:
        if args.dry_run:
            return _dry_run(env, agent, args)
        rollout = _run_and_print(env, agent, args, None)
    finally:
        env.close()
    return _finish(rollout, args)


def _dry_run(env, agent, args) -> int:
    """One look and one decision, drawn, never executed."""
    import time

    from screenpilot.env.rollout import Rollout, Step

    obs, _ = env.reset()
    agent.reset(None, None)
    start = time.perf_counter()
    action = agent.act(obs, [], env=None).with_time(None, 0)
    step = Step(action, (time.perf_counter() - start) * 1000)
    print(f"step 1 (dry run, not executed): {action.to_text()}  ({step.ms:.0f} ms)")
    rollout = Rollout(None, None, obs["task"], [step], [obs["screenshot"], obs["screenshot"]])
    if args.video:
        from .rollout import write_rollout_video

        print(f"video: {write_rollout_video(rollout, args.video)}")
    return 0


def _check_video_path(path: Path) -> None:
    """The video can be written there: its folder exists or can be made, and the name is
    not a folder."""
    if path.is_dir():
        raise UserError(f"--video {path}: is a folder; give a file name such as run.mp4")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--video {path}: cannot make its folder ({e.strerror})") from None
