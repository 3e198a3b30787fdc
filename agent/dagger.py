"""`screenpilot dagger`: DAgger (Ross, Gordon and Bagnell 2011) with the scripted experts.

Behaviour cloning only ever sees the expert's own states; one wrong click puts the model
somewhere no demonstration went. DAgger lets the model play and has the expert say what
it should have done there:

    round 0    train on DEMOS, as `screenpilot train` would
    round k    (a) the model of round k-1 plays N new seeds of each task; on every state
                   it reaches, the expert's action is recorded as the label
               (b) training goes on from round k-1's weights, on DEMOS and every DAgger
                   set so far, for S steps (a fresh optimizer and schedule)

    RUN/train/round_K/       each round's training run (config, checkpoints, model)
    RUN/dagger/round_K/      the states round K's model reached, labelled (source "dagger")
    RUN/dagger/summary.json  per round: the model's success on those episodes (on-policy:
                             a learning curve for free), episodes, labelled steps, seconds
    RUN/model/               the last round's model (`screenpilot eval --model RUN`)

What a DAgger episode holds: frame k is the screen the model's own actions led to, and
action k is the expert's label for it, not what the model did there (that is kept in
the episode's outcome, ``executed``). The episode goes on while the env lets it (the
model's outcome is its success); labelling stops early if the expert says ``done``.

A sample's ``history`` (the episode's previous actions) is what was played
(``Episode.played`` reads ``executed``), as at run time, when the model sees its own
actions: a wrong box ticked is in the history as well as on the screen.

Experts that keep a memory across steps (``M`` in env/experts/library.js: a menu they
hovered, a date they typed) assume their own actions ran; on the model's states their
labels would be wrong, so their tasks are left out. Seeds come from a range of their
own: round k plays 500,000 + (k-1)N .. 500,000 + kN - 1, far from the expert
recorder's (0 up) and evaluation's (1,000,000 up).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import UserError
from screenpilot.env.experts import ExpertPolicy
from screenpilot.env.rollout import Policy

from .evaluate import DEFAULT_SEED_OFFSET

DAGGER_SEED_OFFSET = 500_000


class DaggerPolicy(Policy):
    """The learner acts (what the env runs); the expert labels the same state (what is
    recorded, through ``Policy.label``). The expert is asked first: it reads the page
    before the learner's action changes it."""

    source = "dagger"

    def __init__(self, learner: Policy, expert: Policy | None = None):
        self.learner = learner
        self.expert = expert or ExpertPolicy()
        self.name = f"{learner.name} acting, {self.expert.name} labelling"

    def reset(self, task_name: str | None = None, seed: int | None = None) -> None:
        self.learner.reset(task_name, seed)
        self.expert.reset(task_name, seed)

    def label(self, observation: dict, history: list[Action], env=None) -> Action:
        return self.expert.act(observation, history, env)

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        return self.learner.act(observation, history, env)


def model_dagger_policy(model_dir: str, torch_threads: int | None = None) -> DaggerPolicy:
    """The trained model acting, the expert labelling: built once in each pool worker."""
    from .agents import ModelAgent

    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    return DaggerPolicy(ModelAgent(model_dir))


def expert_keeps_memory(task: str) -> bool:
    """Whether the task's expert remembers its own earlier moves (see the docstring)."""
    from screenpilot.env.experts.base import _registry  # the experts' own scripts

    return re.search(r"\bM\.", _registry()[task]) is not None


def dagger_tasks(demos: list[str], named: list[str] | None) -> list[str]:
    """``named`` (checked), else the tasks DEMOS were recorded on that have an expert
    able to label any state, in the order they first appear."""
    from screenpilot.dataset.chunks import all_episode_metas
    from screenpilot.dataset.format import read_info
    from screenpilot.env.experts import expert_tasks
    from screenpilot.env.registration import check_task_names

    if named:
        check_task_names(named, need_expert=True)
        remembering = [t for t in named if expert_keeps_memory(t)]
        if remembering:
            raise UserError(
                f"{remembering[0]}: its expert remembers its own moves, so it cannot label "
                "the model's states"
            )
        return named
    with_expert = set(expert_tasks())
    tasks: list[str] = []
    for root in demos:
        read_info(Path(root))  # another format version, or no dataset: one clear line
        for meta in all_episode_metas(Path(root)):
            task = (meta.get("metadata") or {}).get("env")
            if task in with_expert and task not in tasks and not expert_keeps_memory(task):
                tasks.append(task)
    if not tasks:
        raise UserError(
            f"{', '.join(demos)}: no episode names a task whose expert can label it; give --tasks"
        )
    return tasks


def round_seeds(round_k: int, episodes: int) -> list[int]:
    first = DAGGER_SEED_OFFSET + (round_k - 1) * episodes
    return list(range(first, first + episodes))


def collect_round(
    model_dir: Path,
    tasks: list[str],
    seeds: list[int],
    out: Path,
    *,
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
) -> dict:
    """Round k's part (a): the model plays every (task, seed), the expert labels every
    state it reaches; the episodes go into the dataset ``out``, in (task, seed) order
    whatever the number of workers. Returns the round's bookkeeping."""
    from screenpilot.console import progress_bar
    from screenpilot.dataset.format import init_dataset
    from screenpilot.dataset.maintenance import adopt_episodes
    from screenpilot.dataset.reader import Episode
    from screenpilot.env.parallel import run_episodes

    start = time.perf_counter()
    init_dataset(out)
    total = len(tasks) * len(seeds)
    workers = max(1, min(workers, total))
    bar = progress_bar(total=total, unit="ep", desc=f"dagger {out.name}")
    wins = 0

    def on_result(result) -> None:
        nonlocal wins
        wins += result.success
        bar.update(1)
        bar.set_postfix(success=f"{wins}/{bar.n}", refresh=False)

    # Several workers on few cores: one torch thread each, or they fight for the cores.
    policy = partial(model_dagger_policy, str(model_dir), 1 if workers > 1 else None)
    shard_root = Path(tempfile.mkdtemp(prefix=".shards-", dir=out))
    try:
        results = run_episodes(tasks, seeds, policy=policy, workers=workers,
                               record_shards=shard_root, on_result=on_result,
                               backend=backend, address=address)  # fmt: skip
        bar.close()
        # Failures too: the states a failing model reaches are the ones it must learn.
        entries = [Episode(Path(r.recorded[0]), r.recorded[1]) for r in results if r.recorded]
        metas = adopt_episodes(entries, out, move=True, note_source=False)
    finally:
        bar.close()
        shutil.rmtree(shard_root, ignore_errors=True)
    per_task = {}
    for task in tasks:
        mine = [r for r in results if r.task_name == task]
        per_task[task] = {"episodes": len(mine), "successes": sum(r.success for r in mine)}
    successes = sum(r.success for r in results)
    return {
        "model": str(model_dir),
        "data": str(out),
        "seeds": [seeds[0], seeds[-1]],
        "episodes": len(results),
        "successes": successes,
        "success_rate": round(successes / max(1, len(results)), 4),
        "per_task": per_task,
        "labelled_steps": sum(m["length"] for m in metas),
        "broken_episodes": sum(r.error is not None for r in results),
        "collect_s": round(time.perf_counter() - start, 1),
    }


def run_dagger(
    base,
    *,
    rounds: int,
    episodes: int,
    steps_per_round: int,
    tasks: list[str] | None = None,
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
) -> dict:
    """The whole loop; ``base`` is round 0's TrainConfig with ``out`` the DAgger run
    directory. Returns the summary (also in RUN/dagger/summary.json)."""
    run = Path(base.out)
    if rounds < 0 or episodes < 1 or steps_per_round < 1 or workers < 1:
        raise UserError("--rounds must be >= 0, --episodes, --steps-per-round and --workers >= 1")
    if DAGGER_SEED_OFFSET + rounds * episodes > DEFAULT_SEED_OFFSET:
        raise UserError(
            f"{rounds} rounds of {episodes} episodes reach evaluation's seeds "
            f"({DEFAULT_SEED_OFFSET:,} up): fewer rounds or episodes"
        )
    if (run / "dagger").exists() or (run / "train").exists():
        raise UserError(f"{run} already holds a DAgger run; pick another --out")
    tasks = dagger_tasks(base.data, tasks)
    demos = list(base.data)
    summary = {"demos": demos, "tasks": tasks, "episodes_per_task": episodes,
               "steps_per_round": steps_per_round, "rounds": []}  # fmt: skip

    def save_summary() -> None:
        (run / "dagger").mkdir(parents=True, exist_ok=True)
        (run / "dagger" / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    def train_round(cfg) -> dict:
        from screenpilot.model.checkpoint import latest_checkpoint
        from screenpilot.model.train import train  # torch: only once the flags are known good

        start = time.perf_counter()
        metrics = train(cfg)
        # The steps trained: --minutes sizes round 0 by the clock; the last step is checkpointed.
        steps = int(latest_checkpoint(cfg.out).name.removeprefix("step_"))
        return {"train_run": cfg.out, "train_steps": steps,
                "train_s": round(time.perf_counter() - start, 1), "train_metrics": metrics}  # fmt: skip

    cfg = replace(base, out=str(run / "train" / "round_0"))
    summary["rounds"].append({"round": 0, **train_round(cfg)})
    save_summary()
    collected: list[str] = []
    for k in range(1, rounds + 1):
        model_dir = Path(cfg.out) / "model"
        row = {"round": k, **collect_round(model_dir, tasks, round_seeds(k, episodes),
                                           run / "dagger" / f"round_{k}", workers=workers,
                                           backend=backend, address=address)}  # fmt: skip
        summary["rounds"].append(row)
        save_summary()
        collected.append(row["data"])
        # minutes=0: a round is sized in steps, whatever budget round 0 had.
        cfg = replace(cfg, data=demos + collected, out=str(run / "train" / f"round_{k}"),
                      steps=steps_per_round, minutes=0.0, init=str(model_dir))  # fmt: skip
        cfg.validate()
        row.update(train_round(cfg))
        save_summary()
    final = run / "model"
    shutil.rmtree(final, ignore_errors=True)
    shutil.copytree(Path(cfg.out) / "model", final)
    summary["model"] = str(final)
    save_summary()
    return summary


# ---- the verb -----------------------------------------------------------------------------
def register(subparsers) -> None:
    from screenpilot.env.pool import add_pool_arguments
    from screenpilot.model.train_config import add_train_arguments

    p = subparsers.add_parser(
        "dagger",
        help="DAgger: the model plays, the scripted expert labels what it sees, train again",
        description="Train on DEMOS (round 0, as `screenpilot train`); then each round the "
        "model plays new seeds of each task while the scripted expert labels every state "
        "it reaches (RUN/dagger/round_K), and training continues from its weights on DEMOS "
        "and every DAgger set so far. RUN/dagger/summary.json has each round's success, "
        "episodes, labelled steps and seconds; RUN/model the last model. The training flags "
        "are `screenpilot train`'s; --out is the DAgger run.",
    )
    add_train_arguments(p)
    p.add_argument("--rounds", type=int, default=2, metavar="R", help="DAgger rounds (2)")
    p.add_argument(
        "--episodes", type=int, default=20, metavar="N", help="episodes per task a round (20)"
    )
    p.add_argument("--tasks", help="comma-separated tasks (default: those DEMOS were recorded on)")
    add_pool_arguments(p)
    p.add_argument(
        "--steps-per-round", type=int, metavar="S",
        help="training steps of each round after the first (default: half of --steps)",
    )  # fmt: skip
    p.set_defaults(func=cmd_dagger)


def cmd_dagger(args: argparse.Namespace) -> int:
    from screenpilot.env.registration import parse_task_list
    from screenpilot.model.train_config import config_from_args

    if args.resume:
        raise UserError("dagger cannot --resume: start it again with another --out")
    base = config_from_args(args)
    tasks = parse_task_list(args.tasks) if args.tasks else None
    steps = args.steps_per_round or max(1, base.steps // 2)
    summary = run_dagger(base, rounds=args.rounds, episodes=args.episodes,
                         steps_per_round=steps, tasks=tasks, workers=args.workers,
                         backend=args.backend, address=args.address)  # fmt: skip
    for row in summary["rounds"]:
        line = f"round {row['round']}: trained {row['train_steps']} steps in {row['train_s']} s"
        if row["round"] > 0:
            line = (f"round {row['round']}: model success {row['successes']}/{row['episodes']} "
                    f"on its own states, {row['labelled_steps']} labelled steps in "
                    f"{row['collect_s']} s; " + line.split(": ", 1)[1])  # fmt: skip
        print(line)
    print(f"summary: {Path(args.out) / 'dagger' / 'summary.json'}")
    print(f"model: {summary['model']}")
    return 0
