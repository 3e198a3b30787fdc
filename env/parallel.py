"""Many episodes on several browsers at once: the one pool runner over ``run_episode``.

``run_episodes(tasks, seeds, policy=..., workers=K)`` plays every (task, seed) pair, each
in its own freshly reset episode, and returns the results in the order of the pairs.
An episode depends only on its task, its seed and the policy, never on which worker ran
it or what ran before, so the results do not depend on K. Workers are spawned processes
(env/pool.py), one browser each; each closes its browser before it exits.

Evaluation films each episode through ``make_result``; the expert recorder has each
worker write its episodes into a dataset of its own (``record_shards``). On Ray
(``backend="ray"``) a worker may be another machine: it records into a scratch dataset
of its own and ships each finished episode back as bytes with its result, and this
process lands it in a shard under ``record_shards``, so the callers adopt the episodes
exactly as from local workers.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from screenpilot.dataset.errors import UserError

from .pool import run_jobs
from .rollout import EpisodeRecorder, Policy, Rollout, describe_error, run_episode

if TYPE_CHECKING:
    from .desktop_sandbox import DesktopOptions


@dataclass(frozen=True)
class EpisodeResult:
    task_name: str
    seed: int
    success: bool
    raw_reward: float
    steps: int
    seconds: float
    error: str | None = None  # an exception that ended the episode early
    # With record_shards: (shard, episode meta line); while shipped from a Ray worker, the
    # episode itself as pack_episode bytes instead of the shard, until land_episode.
    recorded: tuple[str | bytes, dict] | None = None

    @classmethod
    def from_rollout(cls, rollout: Rollout) -> EpisodeResult:
        return cls(
            rollout.task_name, rollout.seed, rollout.success, rollout.raw_reward,
            len(rollout.steps), rollout.seconds, rollout.error, rollout.recorded,
        )  # fmt: skip

    def to_dict(self) -> dict:
        return asdict(self)


def _named_policy(name: str) -> Callable[[], Policy]:
    from .experts import ExpertPolicy
    from .rollout import RandomPolicy

    factories = {"expert": ExpertPolicy, "random": RandomPolicy}
    if name not in factories:
        raise ValueError(f"policy must be one of {sorted(factories)} or a factory, got {name!r}")
    return factories[name]


def run_episodes(
    tasks: Iterable[str],
    seeds: Iterable[int],
    *,
    policy: str | Callable[[], Policy] = "expert",
    workers: int = 1,
    max_steps: int | None = None,
    extra_steps: int = 0,
    env_kwargs: dict | None = None,
    keep_screenshots: bool = False,
    record_shards: str | Path | None = None,
    make_result: Callable[[Rollout], object] | None = None,
    on_result: Callable[[object], None] | None = None,
    backend: str = "local",
    address: str | None = None,
    desktop: DesktopOptions | None = None,
) -> list:
    """Play each task on each seed. ``policy``: ``"expert"``, ``"random"`` or a picklable
    factory of a Policy (a class, a ``functools.partial``), called once per worker.
    ``extra_steps``: that many more steps than each task's limit (or ``max_steps``), room
    for steps that are not the policy's own (random actions before a hand-over).
    ``record_shards``: a folder in which each worker writes its episodes into a dataset
    of its own. ``make_result(rollout)`` (picklable; runs in the worker) turns each
    episode into its result, by default an EpisodeResult; ``on_result`` sees each result
    as it arrives (in completion order). ``backend``, ``address``: env/pool.py's; the
    returned list's ``retried`` names the (task, seed) jobs whose Ray worker died once.
    ``desktop``: play each episode in a window on an X display through OS input
    (env/desktop_sandbox.py), recorded as a screen recording where recording."""
    make_policy = _named_policy(policy) if isinstance(policy, str) else policy
    jobs = [(task, seed) for task in tasks for seed in seeds]
    ship = backend == "ray" and record_shards is not None
    runner = functools.partial(
        EpisodeRunner, make_policy, max_steps=max_steps, extra_steps=extra_steps,
        env_kwargs=env_kwargs, keep_screenshots=keep_screenshots, record_shards=record_shards,
        ship_episodes=ship, make_result=make_result, desktop=desktop,
    )  # fmt: skip
    # Shipped episodes land in one shard of their own as they arrive.
    receive = functools.partial(land_episode, Path(record_shards) / "landed") if ship else None
    return run_jobs(
        runner, jobs, workers=workers, on_result=on_result, receive=receive, backend=backend,
        address=address,
    )  # fmt: skip


def land_episode(shard: Path, result):
    """In the driver: the episode a worker shipped (``recorded`` holds its bytes) joins
    the local ``shard``, and ``recorded`` points there."""
    recorded = getattr(result, "recorded", None)
    if recorded is None or not isinstance(recorded[0], bytes):
        return result
    from screenpilot.dataset.transfer import unpack_episode

    meta = unpack_episode(recorded[0], shard)  # scratch, adopted right after: no fsync
    return replace(result, recorded=(str(shard), meta))


class EpisodeRunner:
    """Lives in one worker: one BrowserEnv, which moves on to the next task in the same
    browser where the window allows (a new browser otherwise), one policy built once. ``run((task, seed))`` plays the episode and
    returns ``make_result(rollout)``. An episode that breaks (a dead browser) is a
    failed rollout with its ``error``, and the next one starts on a fresh browser; a
    user's mistake (a task without an expert) stops everything. ``ship_episodes``: the
    worker may not see ``record_shards`` (another machine), so it records into a scratch
    dataset of its own and each result carries its episode as bytes (land_episode)."""

    def __init__(
        self,
        make_policy: Callable[[], Policy],
        *,
        max_steps: int | None = None,
        extra_steps: int = 0,
        env_kwargs: dict | None = None,
        keep_screenshots: bool = False,
        record_shards: str | Path | None = None,
        ship_episodes: bool = False,
        make_result: Callable[[Rollout], object] | None = None,
        desktop: DesktopOptions | None = None,
    ):
        """``desktop``: play in a DesktopSandboxEnv (a window on an X display, OS input)
        and record episodes the way a person's are recorded (recorder/desktop_episodes.py)
        rather than as step logs."""
        self.policy = make_policy()
        self.desktop = desktop
        self.max_steps = max_steps
        self.extra_steps = extra_steps
        self.env_kwargs = env_kwargs or {}
        self.keep_screenshots = keep_screenshots
        self.make_result = make_result or EpisodeResult.from_rollout
        self.recorder = None
        self.scratch = None  # this worker's own folder for episodes it ships
        if record_shards is not None:
            if ship_episodes:
                self.scratch = Path(tempfile.mkdtemp(prefix="screenpilot-shipping-"))
            # A shard nothing else writes to: workers never contend for an episode index.
            # Scratch data (a crash loses the whole recording anyway), so no fsync.
            shard = (self.scratch or Path(record_shards)) / f"worker_{os.getpid()}"
            if desktop is not None:
                from screenpilot.recorder.desktop_episodes import DesktopEpisodeRecorder

                self.recorder = DesktopEpisodeRecorder(
                    shard, fps=desktop.record_fps, draw_pointer=desktop.draw_pointer
                )
            else:
                self.recorder = EpisodeRecorder(shard, durable=False)
        self.env = None

    def _env_for(self, task: str):
        from .browser_env import BrowserEnv

        if self.env is not None and self.env.task.name != task and not self.env.switch_task(task):
            self._close_env()
        if self.env is None and self.desktop is not None:
            from .desktop_sandbox import DesktopSandboxEnv

            self.env = DesktopSandboxEnv(
                task, display=self.desktop.display, human_pace=self.desktop.human_pace,
                **self.env_kwargs,
            )  # fmt: skip
        elif self.env is None:
            self.env = BrowserEnv(task, **self.env_kwargs)
        # Each reset reads the env's limit; extra steps make room for a hand-over.
        self.env.max_steps = (self.max_steps or self.env.task.default_max_steps) + self.extra_steps
        return self.env

    def run(self, job: tuple[str, int]):
        task, seed = job
        start = time.perf_counter()
        try:
            rollout = run_episode(
                self._env_for(task), self.policy, seed=seed, record_to=self.recorder,
                keep_screenshots=self.keep_screenshots,
            )  # fmt: skip
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - one broken episode is a failure, not a crash
            self._close_env()  # start the next episode on a clean browser
            rollout = Rollout(task, seed, "", error=describe_error(e))
            rollout.seconds = time.perf_counter() - start
        if self.scratch is not None and rollout.recorded is not None:
            from screenpilot.dataset.transfer import pack_episode

            shard, meta = rollout.recorded
            rollout.recorded = (pack_episode(shard, meta, remove=True), meta)
        return self.make_result(rollout)

    def close(self) -> None:
        self._close_env()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _close_env(self) -> None:
        if self.env is not None:
            self.env.close()
        self.env = None
