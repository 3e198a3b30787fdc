"""`screenpilot eval`: an agent on sandbox tasks, on seeds training never saw.

Every (task, seed) episode is independent of the worker that plays it, so results do
not depend on ``--workers``. Each worker films every episode; the report keeps the first
few successes and failures of each task (by seed), the rest are deleted.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from screenpilot.dataset.errors import UserError

DEFAULT_SEED_OFFSET = 1_000_000  # far above the expert recorder's default seeds 0..N-1
VIDEOS_PER_OUTCOME = 2


@dataclass
class EvalSpec:
    tasks: list[str]
    episodes: int = 50
    seed_offset: int = DEFAULT_SEED_OFFSET
    workers: int = 1
    backend: str = "local"  # or "ray" (env/pool.py)
    address: str | None = None  # a Ray cluster's head; None: a Ray instance on this machine
    max_steps: int | None = None
    agent: str | None = None  # "random" | "expert" (or None with a model)
    model: str | None = None
    device: str = "cpu"
    keep_videos: int = VIDEOS_PER_OUTCOME
    # Play in browser windows on X displays through OS input (env/desktop_sandbox.py)
    desktop: bool = False
    display: str | None = None  # with desktop: this display (one worker), else a private Xvfb each

    @property
    def seeds(self) -> list[int]:
        return list(range(self.seed_offset, self.seed_offset + self.episodes))

    @property
    def agent_label(self) -> str:
        return f"model {self.model}" if self.model else str(self.agent)


@dataclass
class EpisodeOutcome:
    task: str
    seed: int
    success: bool
    raw_reward: float
    steps: int
    mean_action_ms: float
    error: str | None = None
    video: str | None = None
    actions: list[str] = field(default_factory=list)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% confidence interval of a success rate (Wilson: sane at 0% and 100%)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def training_seeds(model_run: str) -> dict[str, set[int]] | None:
    """The (task -> seeds) a model was trained on, from the datasets its run names;
    None when the run does not say or its data is gone."""
    from screenpilot.dataset.chunks import all_episode_metas
    from screenpilot.dataset.errors import DatasetError
    from screenpilot.dataset.format import read_info
    from screenpilot.model.checkpoint import resolve_model_dir

    # The trainer saves its resolved config beside every model and checkpoint it writes.
    config_path = resolve_model_dir(model_run) / "train_config.json"
    if not config_path.exists():
        return None
    paths = json.loads(config_path.read_text()).get("data") or []
    seen: dict[str, set[int]] = {}
    for p in paths:
        try:
            read_info(Path(p))
        except DatasetError:
            return None
        for meta in all_episode_metas(Path(p)):
            env_name, seed = meta["metadata"].get("env"), meta["metadata"].get("seed")
            if env_name is not None and seed is not None:
                seen.setdefault(env_name, set()).add(int(seed))
    return seen


def check_seed_overlap(spec: EvalSpec, warn=print) -> None:
    """Refuse to evaluate a model on seeds it was trained on."""
    if not spec.model:
        return
    seen = training_seeds(spec.model)
    if seen is None:
        warn(f"note: cannot tell which seeds {spec.model} was trained on (its data is not here)")
        return
    eval_seeds = set(spec.seeds)
    for task in spec.tasks:
        overlap = sorted(eval_seeds & seen.get(task, set()))
        if overlap:
            raise UserError(
                f"{task}: eval seeds {overlap[0]}..{overlap[-1]} overlap the model's training "
                f"seeds ({len(overlap)} shared); pick another --seed-offset"
            )


def eval_policy(spec: EvalSpec, torch_threads: int | None):
    """The agent under evaluation, built once in each worker."""
    from .agents import make_agent

    if torch_threads and spec.model:
        import torch

        torch.set_num_threads(torch_threads)
    return make_agent(spec.agent, spec.model, device=spec.device)


def film_episode(video_dir: Path, rollout) -> EpisodeOutcome:
    """In the worker: an episode's outcome, and its annotated video (every episode is
    filmed; the report keeps a few)."""
    from .rollout import write_rollout_video

    outcome = EpisodeOutcome(
        rollout.task_name, rollout.seed, rollout.success, rollout.raw_reward, len(rollout.steps),
        rollout.mean_action_ms, rollout.error, None, [a.to_text() for a in rollout.actions],
    )  # fmt: skip
    if rollout.screenshots:  # none when the episode broke off
        video = video_dir / rollout.task_name / f"seed_{rollout.seed}.mp4"
        outcome.video = str(write_rollout_video(rollout, video))
    return outcome


def evaluate(spec: EvalSpec, out: str | Path, *, progress: bool = True, compare=()) -> dict:
    """Play every (task, seed); write results.json and report.html in ``out``."""
    from screenpilot.console import progress_bar
    from screenpilot.env.parallel import run_episodes
    from screenpilot.env.registration import check_task_names

    from .report import write_report

    check_task_names(spec.tasks, need_expert=spec.agent == "expert")
    if spec.episodes < 1 or spec.workers < 1:
        raise UserError("--episodes and --workers must be at least 1")
    desktop = _desktop_options(spec)
    if spec.model:
        from screenpilot.model.checkpoint import resolve_model_dir

        resolve_model_dir(spec.model)  # a missing model is one clear line, before any browser
    check_seed_overlap(spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    video_dir = out / "videos"
    shutil.rmtree(video_dir, ignore_errors=True)
    total = len(spec.tasks) * len(spec.seeds)
    workers = min(spec.workers, total)
    # Several workers on few cores: one torch thread each, or they fight for the cores.
    threads = 1 if workers > 1 else None
    bar = progress_bar(
        total=total, unit="ep", disable=not progress, desc=f"eval {spec.agent_label}"
    )
    wins = 0

    def on_result(outcome: EpisodeOutcome) -> None:
        nonlocal wins
        wins += outcome.success
        bar.update(1)
        bar.set_postfix(success=f"{wins}/{bar.n}", refresh=False)

    start = time.perf_counter()
    outcomes = run_episodes(
        spec.tasks, spec.seeds, policy=partial(eval_policy, spec, threads), workers=workers,
        max_steps=spec.max_steps, keep_screenshots=True,
        make_result=partial(film_episode, video_dir), on_result=on_result,
        backend=spec.backend, address=spec.address, desktop=desktop,
    )  # fmt: skip
    bar.close()
    _keep_some_videos(outcomes, spec.keep_videos, out)
    results = summarize(spec, outcomes, time.perf_counter() - start)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(out, results, compare=compare)
    from screenpilot.model.card import record_eval_results  # no torch: fine for baselines

    record_eval_results(spec.model, results)  # the model's card shows its latest eval
    return results


def _desktop_options(spec: EvalSpec):
    if not spec.desktop:
        if spec.display:
            raise UserError("--display is for --desktop")
        return None
    from screenpilot.env.desktop_sandbox import DesktopOptions

    if spec.display and spec.workers > 1:
        raise UserError("--display is one screen: it takes --workers 1")
    return DesktopOptions(display=spec.display)


def summarize(spec: EvalSpec, outcomes: list[EpisodeOutcome], wall_s: float) -> dict:
    tasks = {}
    for task in spec.tasks:
        mine = [o for o in outcomes if o.task == task]
        wins = sum(o.success for o in mine)
        timed = [o.mean_action_ms for o in mine if o.steps]
        tasks[task] = {
            "success_rate": round(wins / len(mine), 4),
            "episodes": len(mine),
            "successes": wins,
            "ci95": list(wilson_interval(wins, len(mine))),
            "mean_steps": round(sum(o.steps for o in mine) / len(mine), 3),
            "mean_action_ms": round(sum(timed) / len(timed), 3) if timed else None,
            "errors": sum(1 for o in mine if o.error),
        }
    return {
        "tasks": tasks,
        "mean_success": round(sum(t["success_rate"] for t in tasks.values()) / len(tasks), 4),
        "model": spec.model,
        "agent": spec.agent or "model",
        "label": spec.agent_label,
        "seeds": {"offset": spec.seed_offset, "count": spec.episodes},
        "max_steps": spec.max_steps,
        "workers": spec.workers,
        "backend": spec.backend,
        "desktop": spec.desktop,  # played through OS input on an X display
        "wall_s": round(wall_s, 2),
        "episodes": [asdict(o) for o in outcomes],
    }


def _keep_some_videos(outcomes: list[EpisodeOutcome], keep: int, out: Path) -> None:
    """The first ``keep`` successes and failures of each task by seed; delete the rest."""
    kept: dict[tuple[str, bool], int] = {}
    for o in sorted(outcomes, key=lambda o: (o.task, o.seed)):
        if o.video is None:
            continue
        n = kept.get((o.task, o.success), 0)
        if n < keep:
            kept[(o.task, o.success)] = n + 1
            o.video = str(Path(o.video).relative_to(out))
        else:
            Path(o.video).unlink(missing_ok=True)
            o.video = None
