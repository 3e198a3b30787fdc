"""Agents: observation (+ the episode's previous actions) -> the next Action.

Three kinds, usable wherever one is: the trained model, a random baseline, and the
scripted expert (sandbox tasks only: it reads the page, which a model never does).
"""

from __future__ import annotations

import random
import re

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import UserError

AGENT_KINDS = ("model", "random", "expert")


class Agent:
    """``reset(task_name)`` before each episode, then ``act(observation, history, env)``."""

    name = "agent"

    def reset(self, task_name: str | None = None, seed: int | None = None) -> None:
        pass

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        raise NotImplementedError


class ModelAgent(Agent):
    """The trained vision-language-action model: pixels and task text only."""

    def __init__(self, run: str, device: str = "cpu"):
        from screenpilot.model.checkpoint import load_model, resolve_model_dir

        self.model_dir = resolve_model_dir(run)
        self.model = load_model(self.model_dir, device=device)
        self.name = f"model {run}"

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        return self.model.predict(observation, history)


class RandomAgent(Agent):
    """The floor: clicks anywhere on screen, now and then types a word of the task or
    presses Enter. Seeded per episode, so a baseline run is reproducible."""

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


class ExpertAgent(Agent):
    """The scripted expert of a sandbox task: the ceiling a model is measured against."""

    name = "expert"

    def __init__(self):
        self.expert = None

    def reset(self, task_name: str | None = None, seed: int | None = None) -> None:
        from screenpilot.env import get_expert

        if task_name is None:
            raise UserError("--agent expert runs only on sandbox tasks (--env or --tasks)")
        self.expert = get_expert(task_name)
        self.expert.reset()

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        if env is None:
            raise UserError("the expert agent needs the sandbox env it reads the page of")
        return self.expert.act(env.unwrapped)


def make_agent(kind: str | None, model: str | None, *, device: str = "cpu", seed: int = 0) -> Agent:
    """The agent the CLI asked for: ``--model RUN`` or ``--agent random|expert``."""
    if model and kind not in (None, "model"):
        raise UserError("give either --model RUN or --agent random|expert, not both")
    if model:
        return ModelAgent(model, device=device)
    if kind == "random":
        return RandomAgent(seed)
    if kind == "expert":
        return ExpertAgent()
    raise UserError("which agent? give --model RUN (a trained run) or --agent random|expert")
