"""The `screenpilot` command: git-style verbs, each owned by its package's ``cli.py``.

Every package module that defines verbs exposes ``register(subparsers)``; this root mounts
them. Heavy libraries (torch, playwright, av) are imported inside the verb handlers, so
``screenpilot --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dataset.errors import UserError

# Packages whose cli.py adds verbs, in the order their verbs appear in --help.
VERB_MODULES = (
    "recorder.cli",
    "dataset.cli",
    "model.cli",
    "agent.run_cli",
    "agent.eval_cli",
    "env.cli",
    "agent.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screenpilot",
        description="A computer-use agent that learns from screen recordings: "
        "record demonstrations, train a model, run it on a task, evaluate it.",
    )
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module_name in VERB_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"screenpilot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("screenpilot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
