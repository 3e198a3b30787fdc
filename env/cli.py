"""The sandbox's verbs: ``screenpilot tasks [--json]``."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tasks",
        help="list every sandbox task (miniwob.*, synthetic.*, web)",
        description="List every task name, one a line; --json adds the suite, gym id, "
        "default step limit and whether a scripted expert exists.",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per task, as a list")
    p.set_defaults(func=cmd_tasks)


def cmd_tasks(args) -> int:
    from .experts.base import expert_tasks
    from .registration import task_infos

    infos = task_infos()
    if not args.json:
        print("\n".join(info.name for info in infos))
        return 0
    with_expert = set(expert_tasks())
    rows = [
        {
            "name": info.name,
            "suite": info.suite,
            "gym_id": info.gym_id,
            "max_steps": info.default_max_steps,
            "expert": info.name in with_expert,
        }
        for info in infos
    ]
    print(json.dumps(rows, indent=1))
    return 0
