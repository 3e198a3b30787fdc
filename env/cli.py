"""The sandbox's verbs: ``screenpilot tasks [--json]``."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tasks",
        help="list every sandbox task (miniwob.*, synthetic.*, web)",
        description="List every task name, one a line; --json adds the suite, gym id, "
        "default step limit, whether a scripted expert exists and, where it was measured "
        "(bench/expert_bench.py), its success rate, mean steps and the action types it uses.",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per task, as a list")
    p.set_defaults(func=cmd_tasks)


def cmd_tasks(args) -> int:
    from .experts.base import expert_limits, expert_tasks
    from .experts.measure import load_measured
    from .registration import task_infos

    infos = task_infos()
    if not args.json:
        print("\n".join(info.name for info in infos))
        return 0
    with_expert = set(expert_tasks())
    measured = load_measured().get("tasks", {})
    limits = expert_limits()
    rows = []
    for info in infos:
        figures = measured.get(info.name, {}) if info.name in with_expert else {}
        rows.append(
            {
                "name": info.name,
                "suite": info.suite,
                "gym_id": info.gym_id,
                "max_steps": info.default_max_steps,
                "expert": info.name in with_expert,
                # null where the expert was not measured (or there is none)
                "expert_success": figures.get("success"),
                "expert_success_after_random": figures.get("success_after_random"),
                "expert_mean_steps": figures.get("mean_steps"),
                "expert_action_types": figures.get("action_types"),
                # where the page itself bounds every player, why (else null)
                "expert_ceiling": limits["ceiling"].get(info.name),
                "expert_from_start_only": limits["from_start_only"].get(info.name),
            }
        )
    print(json.dumps(rows, indent=1))
    return 0
