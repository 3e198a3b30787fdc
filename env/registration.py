"""Task names and Gymnasium ids: every task of every suite, registered in one loop with
string entry points (nothing heavy is imported to register).

Task names are ``SUITE.TASK`` (``miniwob.click-button``); gym ids are
``screenpilot/SUITE.TASK-v0``; the open-ended web task is ``screenpilot/web-v0``.
"""

from __future__ import annotations

from dataclasses import dataclass

from screenpilot.dataset.errors import UserError

from .tasks import miniwob, synthetic
from .tasks.base import Task

NAMESPACE = "screenpilot"
VERSION = 0
ENTRY_POINT = "screenpilot.env.browser_env:BrowserEnv"
WEB_TASK = "web"


class UnknownTaskError(UserError):
    """A task name that no suite has."""


@dataclass(frozen=True)
class TaskInfo:
    name: str
    suite: str
    gym_id: str
    default_max_steps: int
    nondeterministic: bool


def gym_id(task_name: str) -> str:
    return f"{NAMESPACE}/{task_name}-v{VERSION}"


def task_infos() -> list[TaskInfo]:
    """Every task, suite by suite."""
    infos = []
    for task_id in miniwob.task_ids():
        name = f"{miniwob.SUITE}.{task_id}"
        infos.append(
            TaskInfo(
                name,
                miniwob.SUITE,
                gym_id(name),
                miniwob.MAX_STEPS.get(task_id, miniwob.DEFAULT_MAX_STEPS),
                task_id in miniwob.NONDETERMINISTIC,
            )
        )
    for task_id in synthetic.TASK_IDS:
        name = f"{synthetic.SUITE}.{task_id}"
        infos.append(TaskInfo(name, synthetic.SUITE, gym_id(name), synthetic.MAX_STEPS, False))
    from .tasks.web import WebTask

    infos.append(TaskInfo(WEB_TASK, "web", gym_id(WEB_TASK), WebTask.default_max_steps, True))
    return infos


def task_names() -> list[str]:
    return [info.name for info in task_infos()]


# In a list of tasks, this word stands for the benchmark: every MiniWoB++ task that has a
# scripted expert (the synthetic tasks are training aids, not part of it).
EXPERT_TASKS_WORD = "experts"
TASKS_HELP = (
    "comma-separated task names (`screenpilot tasks`); "
    f"{EXPERT_TASKS_WORD!r} stands for every MiniWoB++ task with a scripted expert"
)


def parse_task_list(text: str) -> list[str]:
    """A ``--tasks`` value: comma-separated task names, where ``experts`` stands for every
    MiniWoB++ task that has a scripted expert; each task once, in the order given. The
    verbs check the names (``check_task_names``) before any browser starts."""
    tasks: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if item == EXPERT_TASKS_WORD:
            from .experts.base import expert_tasks

            expanded = [t for t in expert_tasks() if t.startswith(f"{miniwob.SUITE}.")]
        else:
            expanded = [item] if item else []
        tasks.extend(t for t in expanded if t not in tasks)
    if not tasks:
        raise UserError(f"no tasks in {text!r}; `screenpilot tasks` lists them")
    return tasks


def _unknown_task(name: str) -> UnknownTaskError:
    return UnknownTaskError(
        f"unknown task {name!r}; `screenpilot tasks` lists them (e.g. miniwob.click-button)"
    )


def check_task_names(names, *, need_expert: bool = False) -> None:
    """Every name is a sandbox task, with a scripted expert when ``need_expert``: one
    clear error before any browser starts or any folder is made."""
    known = set(task_names())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise _unknown_task(unknown[0])
    if need_expert:
        from .experts.base import NoExpertError, expert_tasks

        missing = sorted(set(names) - set(expert_tasks()))
        if missing:
            raise NoExpertError(
                f"no scripted expert for {', '.join(missing)}; `screenpilot tasks --json` says "
                "which have one"
            )


def make_task(name: str, viewport: tuple[int, int] | None = None) -> Task:
    """A Task object from its name (``miniwob.click-button``, ``web``)."""
    if name == WEB_TASK:
        from .tasks.web import WebTask

        return WebTask(viewport) if viewport else WebTask()
    suite, _, task_id = name.partition(".")
    if suite == miniwob.SUITE and task_id in miniwob.task_ids():
        return miniwob.MiniWoBTask(task_id)
    if suite == synthetic.SUITE and task_id in synthetic.TASK_IDS:
        return synthetic.ClickWordTask()
    raise _unknown_task(name)


def register_envs() -> None:
    """Register every task with Gymnasium; safe to call twice. ``import screenpilot`` calls
    this once Gymnasium is imported, so ``gymnasium.make("screenpilot/...")`` needs nothing
    else (a fresh interpreter: ``gymnasium.make("screenpilot:screenpilot/...")``)."""
    from gymnasium.envs.registration import register, registry

    for info in task_infos():
        if info.gym_id in registry:
            continue
        register(
            id=info.gym_id,
            entry_point=ENTRY_POINT,
            kwargs={"task": info.name},
            nondeterministic=info.nondeterministic,
            # the task's own step limit, which BrowserEnv also truncates at
            max_episode_steps=info.default_max_steps,
        )
