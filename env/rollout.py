"""The rollout loop: a policy plays one episode of an env.

    rollout = run_episode(env, policy, seed=7, record_to="demos")
    rollout.actions, rollout.success, rollout.screenshots  # before each action, then the last

One loop for every use: evaluation, the expert recorder, DAgger-style collection (any
policy, its episodes written with ``record_to``), ``run_episodes`` over K browsers
(env/parallel.py) and the benches. It lives in env/ rather than agent/ because the
recorder runs it too and may not import agent/; policies that need torch (the trained
model, agent/agents.py) plug in from above through ``Policy``.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from screenpilot.dataset.actions import Action

DEFAULT_MAX_STEPS = 30  # for an env that sets no limit of its own
# Recorded episodes have no real clock: step k's screenshot is stamped k * STEP_S and its
# action just after, so frame k is exactly what action k was chosen on.
STEP_S = 0.5
ACTION_DELAY_S = 0.01


class Policy:
    """Chooses the actions of an episode: ``reset(task_name, seed)`` before it, then
    ``act(observation, history, env) -> Action`` once a step. ``history`` holds the
    episode's earlier actions. ``env`` is there for privileged policies (the scripted
    experts read the page through it); a model never touches it."""

    name = "policy"  # in reports, and in the metadata of recorded episodes
    source = "agent"  # the dataset source kind of the episodes it plays

    def reset(self, task_name: str | None = None, seed: int | None = None) -> None:
        pass

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        raise NotImplementedError

    def label(self, observation: dict, history: list[Action], env=None) -> Action | None:
        """The action to record for this state instead of the one played (DAgger: the
        expert's, agent/dagger.py), asked before ``act``; None records the one played."""
        return None


class RandomPolicy(Policy):
    """The floor: clicks anywhere on screen, now and then types a word of the task or
    presses Enter. Seeded per (task, seed), so a baseline run is reproducible."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.base_seed = seed
        self.rng = random.Random(seed)

    def reset(self, task_name: str | None = None, seed: int | None = None) -> None:
        self.rng = random.Random(f"{self.base_seed}/{task_name}/{seed}")

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        height, width = observation["screenshot"].shape[:2]
        roll = self.rng.random()
        words = re.findall(r"\w+", observation.get("task", ""))
        if roll < 0.15 and words:
            return Action("type", text=self.rng.choice(words))
        if roll < 0.2:
            return Action("key", key="Enter")
        return Action("click", x=self.rng.randrange(width), y=self.rng.randrange(height))


@dataclass
class Step:
    action: Action  # .frame is the index of the screenshot it was chosen on
    ms: float  # how long the policy took to choose it
    error: str | None = None  # the env could not run it (info["last_action_error"])
    label: Action | None = None  # recorded instead of ``action`` (Policy.label)


@dataclass
class Rollout:
    task_name: str | None
    seed: int | None
    task: str
    steps: list[Step] = field(default_factory=list)
    # before each step, then the last screen; left out of repr (hundreds of lines of pixels)
    screenshots: list[np.ndarray] = field(default_factory=list, repr=False)
    success: bool = False
    raw_reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    error: str | None = None  # the episode could not go on (a dead browser ...)
    seconds: float = 0.0  # wall time, reset included
    # with record_to: (dataset, episode meta line); while a shipped episode travels from a
    # remote worker, (its bytes, meta line) until the driver lands it (env/parallel.py)
    recorded: tuple[str | bytes, dict] | None = None

    @property
    def actions(self) -> list[Action]:
        return [s.action for s in self.steps]

    @property
    def action_errors(self) -> list[str]:
        return [s.error for s in self.steps if s.error]

    @property
    def mean_action_ms(self) -> float:
        return float(np.mean([s.ms for s in self.steps])) if self.steps else 0.0

    def outcome(self) -> str:
        if self.error:
            return f"stopped: {self.error}"
        if self.success:
            return f"success (reward {self.raw_reward:.2f})"
        if self.terminated:
            return f"failed (reward {self.raw_reward:.2f})"
        return "stopped at the step limit"


class EpisodeRecorder:
    """Writes the episodes ``run_episode`` plays into the dataset at ``root``, as the
    model reads them: frame k is the screen action k was chosen on, then the screen the
    last action left; the outcome; ``metadata`` env, seed and policy (evaluation reads
    env and seed to refuse training seeds). ``durable=False`` skips the fsync that keeps
    a finished episode through a power cut: for scratch datasets (the expert recorder's
    shards), where it is most of the cost of a small episode."""

    def __init__(self, root: str | Path, *, durable: bool = True):
        self.root = Path(root)
        self.durable = durable
        self._writer = None

    def start(self, rollout: Rollout, screenshot: np.ndarray, policy: Policy, env=None) -> None:
        from screenpilot.dataset.format import EpisodeWriter

        height, width = screenshot.shape[:2]
        metadata = {"env": rollout.task_name, "seed": rollout.seed, "policy": policy.name}
        self._writer = EpisodeWriter(
            self.root, rollout.task, width, height, fps=1 / STEP_S, source=policy.source,
            metadata=metadata, clock=lambda: 0.0, durable=self.durable,
        )  # fmt: skip

    def add_frame(
        self, k: int, screenshot: np.ndarray, grounding: list[dict] | None = None
    ) -> None:
        """Frame k, with the text items it shows (env.grounding()) where the env reads them."""
        index = self._writer.add_frame(screenshot, t=k * STEP_S)
        if grounding is not None:
            self._writer.add_grounding(index, grounding)

    def add_action(self, k: int, action: Action) -> None:
        self._writer.add_action(action, t=k * STEP_S + ACTION_DELAY_S)

    def finish(self, rollout: Rollout) -> dict:
        outcome = {"success": rollout.success, "raw_reward": rollout.raw_reward,
                   "action_errors": rollout.action_errors}  # fmt: skip
        if any(s.label is not None for s in rollout.steps):  # the steps hold the labels
            outcome["executed"] = [s.action.to_text() for s in rollout.steps]
        if rollout.error:
            outcome["error"] = rollout.error
        self._writer.set_outcome(**outcome)
        writer, self._writer = self._writer, None
        return writer.finish()

    def abandon(self, error: BaseException) -> None:
        """The episode broke off: keep what was played as a failure. Should even that
        fail, the journal stays behind for ``dataset repair``."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.set_outcome(success=False, raw_reward=0.0, error=describe_error(error))
                writer.finish()


def run_episode(
    env,
    policy: Policy,
    *,
    seed: int | None = None,
    options: dict | None = None,
    max_steps: int | None = None,
    record_to: str | Path | EpisodeRecorder | None = None,
    keep_screenshots: bool = True,
    on_step: Callable[[int, Step], None] | None = None,
) -> Rollout:
    """Reset ``env`` and let ``policy`` act until the episode ends or ``max_steps``.
    ``record_to``: a dataset directory (or an EpisodeRecorder) the episode is written
    into as it goes, each step as ``policy.label`` (else the action played) until a label
    says ``done``. ``on_step(k, step)`` sees each step once the env has run it."""
    start = time.perf_counter()
    task_name = getattr(getattr(env.unwrapped, "task", None), "name", None)
    obs, info = env.reset(seed=seed, options=options)
    policy.reset(task_name, seed)
    # A BrowserEnv reports the seed its page drew when none was given.
    rollout = Rollout(task_name, info.get("seed", seed), obs["task"])
    recorder = EpisodeRecorder(record_to) if isinstance(record_to, str | Path) else record_to
    limit = max_steps or getattr(env.unwrapped, "max_steps", DEFAULT_MAX_STEPS)
    # Recorded frames keep the text items they show, where the env can read its page.
    read_grounding = getattr(env.unwrapped, "grounding", lambda: None)
    history: list[Action] = []
    labelling = True  # until a label says the task is done
    try:
        if recorder is not None:
            recorder.start(rollout, obs["screenshot"], policy, env.unwrapped)
        for k in range(limit):
            if keep_screenshots:
                rollout.screenshots.append(obs["screenshot"])
            if recorder is not None and labelling:
                recorder.add_frame(k, obs["screenshot"], read_grounding())
            label = policy.label(obs, history, env) if labelling else None
            chose = time.perf_counter()
            action = policy.act(obs, history, env).with_time(None, k)
            step = Step(action, (time.perf_counter() - chose) * 1000)
            if label is not None:
                step.label = label.with_time(None, k)
            if recorder is not None and labelling:
                recorder.add_action(k, action if label is None else step.label)
            if label is not None and label.type == "done":
                labelling = False
                if recorder is not None:  # "done" leaves the screen it was said on
                    recorder.add_frame(k + 1, obs["screenshot"], read_grounding())
            obs, reward, terminated, truncated, info = env.step(action)
            step.error = info.get("last_action_error")
            rollout.steps.append(step)
            history.append(action)
            if on_step is not None:
                on_step(k, step)
            rollout.success = bool(info.get("success"))
            rollout.raw_reward = float(info.get("raw_reward") or 0.0)
            rollout.terminated, rollout.truncated = terminated, truncated
            if info.get("browser_error"):
                rollout.error = info["browser_error"]
            if info.get("failsafe"):
                rollout.error = step.error  # the pointer in a screen corner stops it, always
            if terminated or truncated:
                break
        if keep_screenshots:
            rollout.screenshots.append(obs["screenshot"])
        if recorder is not None:
            if labelling:
                recorder.add_frame(len(rollout.steps), obs["screenshot"], read_grounding())
            rollout.recorded = (str(recorder.root), recorder.finish(rollout))
    except BaseException as e:
        if recorder is not None:
            recorder.abandon(e)
        raise
    rollout.seconds = time.perf_counter() - start
    return rollout


def describe_error(error: BaseException) -> str:
    """An exception in one line: its type and the first line of its message."""
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
