"""The interface between a BrowserEnv and the task it runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskResult:
    """How the task judges the page right now."""

    done: bool
    raw_reward: float = 0.0  # the task's own reward, before any time scaling
    task_reward: float = 0.0  # the task's reward as it reports it (MiniWoB++ scales by time)
    reason: str | None = None

    @property
    def success(self) -> bool:
        return self.done and self.raw_reward > 0


class Task:
    """One kind of episode. Subclasses set the class attributes and implement
    ``setup`` and ``validate``; ``page`` is a Playwright page owned by the env."""

    name: str = ""  # "SUITE.TASK"
    suite: str = ""
    viewport: tuple[int, int] = (1280, 720)  # (width, height) of the screenshot
    # The browser window, when larger than the screenshot: pages lay out differently in
    # a small window, and the screenshot is then the top-left ``viewport`` of it.
    window_size: tuple[int, int] | None = None
    default_max_steps: int = 20
    # Hosts the page may reach; every other request is blocked by the browser session.
    allowed_hosts: frozenset[str] = frozenset()
    # Animations or clocks make the same seed and action give different pixels.
    nondeterministic: bool = False

    def setup(self, page, seed: int, options: dict) -> str:
        """Start a fresh episode on ``page``; return the task text."""
        raise NotImplementedError

    def validate(self, page) -> TaskResult:
        """Judge the page after an action."""
        raise NotImplementedError

    def finish(self, page) -> TaskResult:
        """The agent said ``done``: the final judgement. An unfinished task has failed."""
        result = self.validate(page)
        return (
            result
            if result.done
            else TaskResult(True, result.raw_reward, result.task_reward, "agent said done")
        )
