"""``web``: any page, with a task text and, optionally, a validator that says when it is
solved. Without a validator there is no reward: the episode ends on ``done`` or at the
step limit."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from screenpilot.dataset.errors import UserError

from .base import Task, TaskResult

SUITE = "web"


class WebTask(Task):
    """``options``: ``url`` (default ``about:blank``), ``task`` (the text shown to the agent),
    ``allowed_hosts`` (default: the url's own host), ``validator``: a callable
    ``page -> float | bool`` or a JavaScript expression evaluated in the page, whose
    truthy/positive value means success."""

    name = "web"
    suite = SUITE
    default_max_steps = 30

    def __init__(self, viewport: tuple[int, int] = (1280, 720)):
        self.viewport = viewport
        self._validator: Callable | str | None = None
        self.allowed_hosts = frozenset()

    def configure(self, options: dict) -> None:
        """Read the episode's options before the browser is set up for it."""
        # A blank page by default, so that reset() without options works (check_env).
        url = options.get("url", "about:blank")
        if not isinstance(url, str) or not url:
            raise UserError('web-v0 takes options={"url": ..., "task": ...}')
        self.url = url
        self.text = str(options.get("task", ""))
        self._validator = options.get("validator")
        hosts = options.get("allowed_hosts")
        if hosts is None:
            host = urlsplit(url).hostname
            hosts = [host] if host else []
        self.allowed_hosts = frozenset(h.lower() for h in hosts)

    def setup(self, page, seed: int, options: dict) -> str:
        page.goto(self.url, wait_until="load")
        return self.text

    def validate(self, page) -> TaskResult:
        if self._validator is None:
            return TaskResult(False)
        if callable(self._validator):
            value = self._validator(page)
        else:
            value = page.evaluate(f"() => ({self._validator})")
        score = float(value or 0.0)
        return TaskResult(score > 0, score, score, "validator" if score > 0 else None)

    def finish(self, page) -> TaskResult:
        result = self.validate(page)
        return TaskResult(True, result.raw_reward, result.task_reward, result.reason or "done")
