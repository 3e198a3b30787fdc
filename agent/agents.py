"""Agents: observation (+ the episode's previous actions) -> the next Action.

Three kinds, usable wherever one is, all ``Policy``s of the one rollout loop
(``screenpilot.env.rollout``): the trained model (here: it needs torch, which env/ never
imports), the random baseline and the scripted expert (sandbox tasks only: it reads the
page, which a model never does).
"""

from __future__ import annotations

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import UserError
from screenpilot.env.experts import ExpertPolicy
from screenpilot.env.rollout import Policy, RandomPolicy


class ModelAgent(Policy):
    """The trained vision-language-action model: pixels and task text only."""

    def __init__(self, run: str, device: str = "cpu"):
        from screenpilot.model.checkpoint import load_model, resolve_model_dir

        self.model_dir = resolve_model_dir(run)
        self.model = load_model(self.model_dir, device=device)
        self.name = f"model {run}"

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        return self.model.predict(observation, history)


def make_agent(
    kind: str | None, model: str | None, *, device: str = "cpu", seed: int = 0
) -> Policy:
    """The agent the CLI asked for: ``--model RUN`` or ``--agent random|expert``."""
    if model and kind not in (None, "model"):
        raise UserError("give either --model RUN or --agent random|expert, not both")
    if model:
        return ModelAgent(model, device=device)
    if kind == "random":
        return RandomPolicy(seed)
    if kind == "expert":
        return ExpertPolicy()
    raise UserError("which agent? give --model RUN (a trained run) or --agent random|expert")
