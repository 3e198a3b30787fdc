"""The `screenpilot` command: git-style verbs, each owned by its package's ``cli.py``.

Every package module that defines verbs exposes ``register(subparsers)``; this root mounts
them. Heavy libraries (torch, playwright, av) are imported inside the verb handlers, so
``screenpilot --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from screenpilot import __version__
from screenpilot.console import set_quiet
from screenpilot.dataset.errors import UserError

# Packages whose cli.py adds verbs, in the order their verbs appear in --help.
VERB_MODULES = (
    "screenpilot.recorder.cli",
    "screenpilot.dataset.cli",
    "screenpilot.model.cli",
    "screenpilot.model.label",
    "screenpilot.agent.dagger",
    "screenpilot.agent.run_cli",
    "screenpilot.agent.eval_cli",
    "screenpilot.env.cli",
    "screenpilot.agent.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screenpilot",
        description="A computer-use agent that learns from screen recordings: "
        "record demonstrations, train a model, run it on a task, evaluate it.",
    )
    parser.add_argument("--version", action="version", version=f"screenpilot {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module_name in VERB_MODULES:
        importlib.import_module(module_name).register(subparsers)
    _add_quiet_flag(parser, default=False)
    return parser


def _add_quiet_flag(parser: argparse.ArgumentParser, default) -> None:
    """``-q/--quiet`` on the root and on every verb, so it works wherever it is typed; a
    verb's flag defaults to SUPPRESS so that it never undoes ``screenpilot -q VERB``."""
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bars"
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for verb_parser in action.choices.values():
                _add_quiet_flag(verb_parser, default=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_quiet(args.quiet)
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"screenpilot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("screenpilot: interrupted", file=sys.stderr)
        return 130
    except (FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError) as e:
        # A path the user gave that cannot be written where they asked (an --out that is
        # a file, a folder without write access): their mistake, in one line.
        print(f"screenpilot: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`screenpilot tasks | head`): stop quietly, as a command
        # killed by SIGPIPE would. Python would otherwise complain again when it flushes
        # stdout at exit, so stdout points at /dev/null from here on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
