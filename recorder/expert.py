"""Expert demonstrations at scale: scripted experts play sandbox tasks in K browsers and
every step is written exactly as the model will see it (the screenshot before the
action, then the action). ``--via desktop``: the same experts act through OS input in
browser windows on X displays, recorded as a person's screen recording is.

Each worker process owns its browsers and writes its episodes into a shard of its own
(encoding runs in parallel too); the shards are then appended to the output in
(task, seed) order, so the dataset is the same whatever the number of workers.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from screenpilot.dataset.errors import UserError


@dataclass
class RecordingSummary:
    out: Path
    episodes_run: int = 0
    episodes_kept: int = 0
    successes: int = 0
    steps: int = 0
    per_task: dict = field(default_factory=dict)  # task -> {"run", "success"}


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
    backend: str = "local",
    address: str | None = None,
    desktop=None,
) -> RecordingSummary:
    """``desktop`` (env.desktop_sandbox.DesktopOptions): the experts play in browser
    windows on X displays through OS input at a person's pace, filmed and listened to by
    the desktop recorder: screen recordings, whose steps come from segmentation."""
    from screenpilot.console import progress_bar
    from screenpilot.dataset.format import init_dataset
    from screenpilot.dataset.maintenance import adopt_episodes
    from screenpilot.dataset.reader import Episode
    from screenpilot.env.experts import ExpertPolicy
    from screenpilot.env.parallel import EpisodeResult, run_episodes
    from screenpilot.env.registration import check_task_names

    check_task_names(tasks, need_expert=True)
    if episodes < 1 or workers < 1:
        raise UserError("--episodes and --workers must be at least 1")
    out = Path(out)
    init_dataset(out)
    summary = RecordingSummary(out=out, per_task={t: {"run": 0, "success": 0} for t in tasks})
    total = len(tasks) * episodes
    bar = progress_bar(total=total, unit="ep", disable=not progress, desc="expert episodes")

    def on_result(result: EpisodeResult) -> None:
        summary.episodes_run += 1
        summary.per_task[result.task_name]["run"] += 1
        summary.successes += result.success
        summary.per_task[result.task_name]["success"] += result.success
        bar.update(1)
        bar.set_postfix(success=f"{summary.successes}/{summary.episodes_run}", refresh=False)

    # Shards live inside the output: the final step renames files, never copies them.
    shard_root = Path(tempfile.mkdtemp(prefix=".shards-", dir=out))
    try:
        # Seeds seed .. seed+episodes-1 for every task: they are recorded per episode,
        # and evaluation refuses to use them.
        results = run_episodes(
            tasks, range(seed, seed + episodes), policy=ExpertPolicy, workers=workers,
            env_kwargs=env_kwargs, record_shards=shard_root, on_result=on_result,
            backend=backend, address=address, desktop=desktop,
        )  # fmt: skip
        bar.close()
        # Results come back in (task, seed) order: the same dataset for any K.
        entries = []
        for result in results:
            if result.recorded is not None and (result.success or keep_failures):
                shard, meta = result.recorded
                entries.append(Episode(Path(shard), meta))
                summary.steps += result.steps
        summary.episodes_kept = len(adopt_episodes(entries, out, move=True, note_source=False))
    finally:
        bar.close()
        shutil.rmtree(shard_root, ignore_errors=True)
    return summary
