"""`screenpilot train`: the model's verb. Torch is imported only when the verb runs."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

# Both machines of a run must name the same rendezvous; one default spares them the typing.
DEFAULT_RDZV_ID = "screenpilot"


def register(subparsers) -> None:
    from .train_config import add_train_arguments

    parser = subparsers.add_parser(
        "train",
        help="train the vision-language-action model on recorded datasets",
        description="Train the model on one or more datasets. Flags override --config FILE; "
        "the resolved config, checkpoints, TensorBoard logs (RUN/tb) and the final model "
        "(RUN/model) go to --out RUN.",
    )
    add_train_arguments(parser)
    parser.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="data-parallel processes on this machine (runs torchrun; one per GPU)",
    )
    parser.add_argument(
        "--nnodes",
        type=int,
        default=1,
        metavar="N",
        help="machines in the run: each runs this same command (needs --rdzv-endpoint)",
    )
    parser.add_argument(
        "--rdzv-endpoint",
        metavar="HOST:PORT",
        help="with --nnodes > 1: a free port on one of the machines, reachable from all",
    )
    parser.add_argument(
        "--rdzv-id",
        metavar="ID",
        help=f"with --nnodes > 1: the run's name at the rendezvous, the same on every machine "
        f"(default {DEFAULT_RDZV_ID})",
    )
    parser.set_defaults(func=cmd_train)


def check_launch_flags(args: argparse.Namespace) -> None:
    """Process and machine counts, and the rendezvous a multi-machine run meets at."""
    from .errors import TrainConfigError

    if args.nproc < 1:
        raise TrainConfigError(f"--nproc must be at least 1, got {args.nproc}")
    if args.nnodes < 1:
        raise TrainConfigError(f"--nnodes must be at least 1, got {args.nnodes}")
    if args.nnodes == 1:
        # torchrun would silently ignore them (--standalone): a mistake worth saying.
        for flag, value in (("--rdzv-endpoint", args.rdzv_endpoint), ("--rdzv-id", args.rdzv_id)):
            if value is not None:
                raise TrainConfigError(f"{flag} is for --nnodes > 1 (one machine needs none)")
        return
    if not args.rdzv_endpoint:
        raise TrainConfigError(
            f"--nnodes {args.nnodes} needs --rdzv-endpoint HOST:PORT (the same on every machine)"
        )
    host, colon, port = args.rdzv_endpoint.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TrainConfigError(
            f"--rdzv-endpoint must be HOST:PORT (e.g. node-a:29400), got {args.rdzv_endpoint!r}"
        )
    if args.rdzv_id is not None and not args.rdzv_id.strip():
        raise TrainConfigError("--rdzv-id must not be empty")


def torchrun_command(args: argparse.Namespace, config_file: Path, run: Path) -> list[str]:
    """torchrun for this machine: standalone on one, a c10d rendezvous across several (it
    assigns the node ranks, so no machine needs to be told its own)."""
    if args.nnodes == 1:
        nodes = ["--standalone"]
    else:
        nodes = [f"--nnodes={args.nnodes}", "--rdzv_backend=c10d",
                 f"--rdzv_endpoint={args.rdzv_endpoint}",
                 f"--rdzv_id={args.rdzv_id or DEFAULT_RDZV_ID}"]  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", *nodes,
           f"--nproc_per_node={args.nproc}", "-m", "screenpilot.model.train",
           "--config", str(config_file), "--out", str(run)]  # fmt: skip
    if args.resume:
        cmd.append("--resume")
    return cmd


def cmd_train(args: argparse.Namespace) -> int:
    from .train_config import config_from_args

    # Bad flags and paths fail here, in one line, before anything is spawned.
    check_launch_flags(args)
    config = config_from_args(args)
    if args.nproc == 1 and args.nnodes == 1:
        from .train import train

        metrics = train(config, resume=args.resume)
        for split, values in metrics.items():
            accs = ", ".join(f"{k} {v:.3f}" for k, v in values.items() if k.endswith("acc"))
            print(f"{split}: {accs}")
        print(f"model: {Path(config.out) / 'model'}")
        return 0
    # The workers read the resolved config from a file: one source, no flag re-parsing.
    run = Path(config.out)
    run.mkdir(parents=True, exist_ok=True)
    launch = run / "launch_config.json"
    # Written whole, then renamed: machines that share --out (or two "nodes" on one host)
    # each write it, and a worker must never read another one's half-written copy.
    partial = run / f"launch_config.json.{os.getpid()}.tmp"
    partial.write_text(config.to_json())
    os.replace(partial, launch)
    return subprocess.call(torchrun_command(args, launch, run))
