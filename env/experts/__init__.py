"""Scripted experts: privileged players that read the page (through ``env.page``) and
answer with the same Actions a person would use. The model never sees what they read."""

from .base import ExpertPolicy, NoExpertError, expert_tasks, run_expert_episode

__all__ = ["ExpertPolicy", "NoExpertError", "expert_tasks", "run_expert_episode"]
