"""Expert demonstrations at scale: scripted experts play sandbox tasks in K browsers and
every step is written exactly as the model will see it (the screenshot before the
action, then the action).

Each worker process owns its browsers and writes its episodes into a shard of its own
(encoding runs in parallel too); the shards are then appended to the output in
(task, seed) order, so the dataset is the same whatever the number of workers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from screenpilot.dataset.errors import UserError

# Expert episodes have no real clock: step k's screenshot is stamped k * STEP_S and its
# action just after, so frame k is exactly what action k was chosen on.
STEP_S = 0.5
ACTION_DELAY_S = 0.01


@dataclass(frozen=True)
class Job:
    order: int  # position in the final dataset's (task, seed) order
    task: str
    seed: int


@dataclass
class RecordingSummary:
    out: Path
    episodes_run: int = 0
    episodes_kept: int = 0
    successes: int = 0
    steps: int = 0
    per_task: dict = field(default_factory=dict)  # task -> {"run", "success"}


def plan_jobs(tasks: list[str], episodes: int, seed: int) -> list[Job]:
    """Seeds seed .. seed+episodes-1 for every task: they are recorded per episode, and
    evaluation refuses to use them."""
    return [
        Job(order=i * episodes + k, task=task, seed=seed + k)
        for i, task in enumerate(tasks)
        for k in range(episodes)
    ]


def write_expert_episode(root: Path, episode, task_name: str, *, durable: bool = True) -> dict:
    """One expert Episode (env.experts.Episode) into the dataset at ``root``."""
    from screenpilot.dataset.format import EpisodeWriter

    height, width = episode.screenshots[0].shape[:2]
    metadata = {"env": task_name, "seed": episode.seed, "expert": True, "errors": episode.errors}
    with EpisodeWriter(
        root, episode.task_text, width, height, fps=1 / STEP_S, source="expert",
        metadata=metadata, clock=lambda: 0.0, durable=durable,
    ) as writer:  # fmt: skip
        for k, (shot, action) in enumerate(zip(episode.screenshots, episode.actions, strict=True)):
            writer.add_frame(shot, t=k * STEP_S)
            writer.add_action(action, t=k * STEP_S + ACTION_DELAY_S)
        if episode.final_screenshot is not None:
            writer.add_frame(episode.final_screenshot, t=len(episode.actions) * STEP_S)
        writer.set_outcome(success=episode.success, raw_reward=episode.raw_reward)
    return writer.header


@dataclass(frozen=True)
class Played:
    """What a worker reports of one job: the outcome, and where the episode was kept."""

    job: Job
    success: bool
    steps: int
    shard: str | None  # None: not kept (a failure without --keep-failures)
    index: int | None


class ExpertRunner:
    """Lives in one worker: a browser per task in turn, and a scratch dataset (its shard)
    that nothing else writes to, so workers never contend for an episode index."""

    def __init__(self, shard_root: str, keep_failures: bool, env_kwargs: dict):
        self.shard = str(Path(shard_root) / f"worker_{os.getpid()}")
        self.keep_failures = keep_failures
        self.env_kwargs = env_kwargs
        self.env = None

    def run(self, job: Job) -> Played:
        from screenpilot.env.browser_env import BrowserEnv
        from screenpilot.env.experts import get_expert
        from screenpilot.env.experts.base import play_expert_episode

        if self.env is None or self.env.task.name != job.task:
            self.close()
            self.env = BrowserEnv(job.task, **self.env_kwargs)
        episode = play_expert_episode(self.env, get_expert(job.task), job.seed)
        if not (episode.success or self.keep_failures):
            return Played(job, False, len(episode.actions), None, None)
        # A scratch shard: a crash loses the whole recording anyway, so no fsync.
        header = write_expert_episode(Path(self.shard), episode, job.task, durable=False)
        return Played(job, episode.success, len(episode.actions), self.shard, header["index"])

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


def record_experts(
    tasks: list[str],
    episodes: int,
    out: str | Path,
    *,
    workers: int = 1,
    seed: int = 0,
    keep_failures: bool = False,
    progress: bool = True,
    env_kwargs: dict | None = None,
) -> RecordingSummary:
    from screenpilot.console import progress
    from screenpilot.dataset.format import init_dataset, read_episode_lines
    from screenpilot.dataset.maintenance import adopt_episodes
    from screenpilot.env import task_names
    from screenpilot.env.experts import expert_tasks
    from screenpilot.env.pool import run_jobs

    known, experts = set(task_names()), set(expert_tasks())
    for task in tasks:
        if task not in known:
            raise UserError(f"unknown task {task!r} (`screenpilot tasks` lists them)")
        if task not in experts:
            raise UserError(
                f"no scripted expert for {task!r} (`screenpilot tasks --json` says which)"
            )
    if episodes < 1 or workers < 1:
        raise UserError("--episodes and --workers must be at least 1")
    out = Path(out)
    init_dataset(out)
    jobs = plan_jobs(tasks, episodes, seed)
    summary = RecordingSummary(out=out, per_task={t: {"run": 0, "success": 0} for t in tasks})
    bar = progress(total=len(jobs), unit="ep", disable=not progress, desc="expert episodes")

    def on_result(played: Played) -> None:
        summary.episodes_run += 1
        summary.per_task[played.job.task]["run"] += 1
        summary.successes += played.success
        summary.per_task[played.job.task]["success"] += played.success
        bar.update(1)
        bar.set_postfix(success=f"{summary.successes}/{summary.episodes_run}")

    # Shards live inside the output: the final step renames files, never copies them.
    shard_root = Path(tempfile.mkdtemp(prefix=".shards-", dir=out))
    try:
        runner = partial(ExpertRunner, str(shard_root), keep_failures, env_kwargs or {})
        played = run_jobs(runner, jobs, workers=workers, on_result=on_result)
        bar.close()
        # Results come back in job order, (task, seed): the same dataset for any K.
        metas: dict[str, dict[int, dict]] = {}
        entries = []
        for p in played:
            if p.shard is None:
                continue
            if p.shard not in metas:
                metas[p.shard] = {m["index"]: m for m in read_episode_lines(Path(p.shard))}
            entries.append((Path(p.shard), metas[p.shard][p.index]))
            summary.steps += p.steps
        summary.episodes_kept = len(adopt_episodes(entries, out, move=True, note_source=False))
    finally:
        bar.close()
        shutil.rmtree(shard_root, ignore_errors=True)
    return summary
