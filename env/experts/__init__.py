"""Scripted experts: privileged players that read the page (through ``env.page``) and
answer with the same Actions a person would use. The model never sees what they read."""

from .base import Episode, Expert, expert_tasks, get_expert, run_expert_episode

__all__ = ["Episode", "Expert", "expert_tasks", "get_expert", "run_expert_episode"]
