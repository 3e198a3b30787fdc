"""The scripted experts as one policy, the table of tasks that have one, and a helper
that plays a whole expert episode."""

from __future__ import annotations

from pathlib import Path

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import UserError

from ..rollout import Policy, Rollout, run_episode

# Shared JavaScript helpers (visible points, text lookups), prepended to every expert.
_LIBRARY_JS = (Path(__file__).with_name("library.js")).read_text()


class NoExpertError(UserError):
    """A task without a scripted expert."""


class ExpertPolicy(Policy):
    """The scripted expert of whichever sandbox task the episode is on: the ceiling a
    model is measured against, and the source of demonstrations. Privileged: it reads
    the page through ``env`` (a BrowserEnv), never the screenshot.

    Each task's expert is one JavaScript function run in the page: it reads the DOM and
    returns the next action as a dict (``{type: "click", x, y}``); whatever it needs to
    remember lives in ``M``, a per-episode object kept on the page."""

    name = "expert"
    source = "expert"

    def __init__(self):
        self._scripts: dict[str, str] = {}
        self._script: str | None = None

    def reset(self, task_name: str | None = None, seed: int | None = None) -> None:
        if task_name is None:
            raise UserError("the scripted expert plays sandbox tasks only (--env or --tasks)")
        if task_name not in self._scripts:
            self._scripts[task_name] = _page_script(task_name)
        self._script = self._scripts[task_name]

    def act(self, observation: dict, history: list[Action], env=None) -> Action:
        if env is None:
            raise UserError("the scripted expert reads the page: it needs the sandbox env")
        env = env.unwrapped
        # W, H: the screenshot's size; a point outside it is not on screen.
        return Action.from_dict(env.page.evaluate(self._script, list(env.task.viewport)))


def _modules() -> dict[str, list]:
    """Suite -> the modules its experts live in (MiniWoB++'s: one per family of task)."""
    from . import miniwob_drag as drag
    from . import miniwob_email as email
    from . import miniwob_experts as basic
    from . import miniwob_flows as flows
    from . import miniwob_reading as reading
    from . import miniwob_timing as timing
    from . import miniwob_widgets as widgets
    from . import synthetic_experts

    return {
        "miniwob": [basic, widgets, drag, email, flows, reading, timing],
        "synthetic": [synthetic_experts],
    }


def _merged(table: str) -> dict[str, object]:
    """Full task name -> entry, from every module's dict called ``table``."""
    merged: dict[str, object] = {}
    for suite, modules in _modules().items():
        for module in modules:
            for task_id, entry in getattr(module, table, {}).items():
                name = f"{suite}.{task_id}"
                assert name not in merged, f"two entries for {name} in {table}"
                merged[name] = entry
    return merged


def _registry() -> dict[str, str]:
    """Full task name -> the expert's JavaScript."""
    return _merged("POLICIES")


def expert_limits() -> dict[str, dict[str, str]]:
    """Where the page itself bounds its expert, with the reason: ``"ceiling"``, tasks
    no player can solve every time (BENCHMARKS.md has the measured rate), and
    ``"from_start_only"``, tasks whose page keeps no record of something it showed
    once, so that a player who did not watch from the start cannot finish. Each
    module lists its own in ``CEILINGS`` and ``FROM_START_ONLY``."""
    return {"ceiling": _merged("CEILINGS"), "from_start_only": _merged("FROM_START_ONLY")}


def expert_tasks() -> list[str]:
    """Task names that have a scripted expert."""
    return sorted(_registry())


def _page_script(task_name: str) -> str:
    policies = _registry()
    if task_name not in policies:
        raise NoExpertError(
            f"no scripted expert for {task_name!r}; `screenpilot tasks --json` says which have one"
        )
    return f"([W, H]) => {{\n{_LIBRARY_JS}\nreturn SP.finish(({policies[task_name]})());\n}}"


def run_expert_episode(task_name: str, seed: int, **env_kwargs) -> Rollout:
    """Play one expert episode in a BrowserEnv of its own; on an env you keep open,
    ``run_episode(env, ExpertPolicy(), seed=seed)``."""
    from ..browser_env import BrowserEnv

    env = BrowserEnv(task_name, **env_kwargs)
    try:
        return run_episode(env, ExpertPolicy(), seed=seed)
    finally:
        env.close()
