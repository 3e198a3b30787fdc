"""Task suites: what a page is, how an episode of it starts, and how it is judged.
The env owns the browser; a task only sets up and validates its page (BrowserGym's split)."""

from .base import Task, TaskResult

__all__ = ["Task", "TaskResult"]
