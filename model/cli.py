"""`screenpilot train`: the model's verb. Torch is imported only when the verb runs."""

from __future__ import annotations

import argparse
import subprocess
import sys


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
    parser.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .errors import TrainConfigError
    from .train_config import config_from_args

    # Bad flags and paths fail here, in one line, before anything is spawned.
    config = config_from_args(args)
    if args.nproc < 1:
        raise TrainConfigError(f"--nproc must be at least 1, got {args.nproc}")
    if args.nproc == 1:
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
    launch.write_text(config.to_json())
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={args.nproc}", "-m", "screenpilot.model.train",
           "--config", str(launch), "--out", str(run)]  # fmt: skip
    if args.resume:
        cmd.append("--resume")
    return subprocess.call(cmd)
