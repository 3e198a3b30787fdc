"""Experts finish from states they did not make: after the usual mistakes (a wrong box
ticked, text in the wrong field, a field half filled). DAgger (agent/dagger.py) relies
on it: the expert labels the model's states. Every expert after random actions:
tests/env/test_env_experts.py (and bench/expert_bench.py on more seeds)."""

import pytest

from screenpilot.dataset.actions import Action
from screenpilot.env.browser_env import BrowserEnv
from screenpilot.env.experts import ExpertPolicy
from screenpilot.env.rollout import Policy, run_episode

pytestmark = pytest.mark.integration


class FirstThenExpert(Policy):
    """``first`` plays the first ``k`` steps, then the expert takes over; ``handover``
    is what ``probe`` (JavaScript) read on the page when it did."""

    def __init__(self, first: Policy, k: int, probe: str = "() => null"):
        self.first, self.k, self.probe = first, k, probe
        self.expert = ExpertPolicy()
        self.handover = None

    def reset(self, task_name=None, seed=None):
        self.first.reset(task_name, seed)
        self.expert.reset(task_name, seed)
        self.handover = None

    def act(self, observation, history, env=None):
        if len(history) < self.k:
            return self.first.act(observation, history, env)
        if len(history) == self.k:
            self.handover = env.unwrapped.page.evaluate(self.probe)
        return self.expert.act(observation, history, env)


class Scripted(Policy):
    """Plays the actions ``script`` (JavaScript) returns at the episode's first step:
    mistakes placed with the page's own boxes."""

    def __init__(self, script: str):
        self.script = script
        self.actions: list[Action] = []

    def act(self, observation, history, env=None):
        if not history:
            self.actions = [Action.from_dict(a) for a in env.unwrapped.page.evaluate(self.script)]
        return self.actions[len(history)]


def finish_after(env, first: Policy, k: int, seed: int, probe: str = "() => null"):
    """(rollout, page state at the hand-over or None): ``first`` plays ``k`` steps, the
    expert the rest, with ``k`` more steps than the task allows so that it has room."""
    policy = FirstThenExpert(first, k, probe)
    limit = env.max_steps + k
    rollout = run_episode(env, policy, seed=seed, options={"max_steps": limit}, max_steps=limit)
    return rollout, policy.handover


_CENTRE = """const centre = (el) => { const r = el.getBoundingClientRect();
  return { type: 'click', x: Math.floor(r.left + r.width / 2), y: Math.floor(r.top + r.height / 2) }; };
const bold = () => document.querySelector('#query .bold').textContent;"""

MISTAKES = {
    # Every box ticked: the expert must untick the ones the task does not name.
    "tick every box": (
        "miniwob.click-checkboxes",
        f"() => {{ {_CENTRE} return Array.from(document.querySelectorAll('#area input')).map(centre); }}",
        "() => Array.from(document.querySelectorAll('#area input')).every((b) => b.checked)",
    ),
    "half filled": (
        "miniwob.enter-text",
        f"() => {{ {_CENTRE} const want = bold();"
        " return [centre(document.querySelector('#tt')),"
        " { type: 'type', text: want.slice(0, Math.ceil(want.length / 2)) }]; }",
        "() => document.querySelector('#tt').value.length > 0",
    ),
    # The username in the password field, half of it in the username field.
    "wrong field": (
        "miniwob.login-user",
        f'() => {{ {_CENTRE} const user = /username "(.*)" and/.exec('
        "document.querySelector('#query').textContent)[1];"
        " return [centre(document.querySelector('#password')), { type: 'type', text: user },"
        " centre(document.querySelector('#username')),"
        " { type: 'type', text: user.slice(0, Math.ceil(user.length / 2)) }]; }",
        "() => document.querySelector('#password').value.length > 0"
        " && document.querySelector('#username').value.length > 0",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_the_expert_undoes_a_mistake(mistake):
    task, script, made_it = MISTAKES[mistake]
    env = BrowserEnv(task)
    try:
        for seed in range(3):
            # How many steps the mistake takes depends on the page (a click per box).
            env.reset(seed=seed)
            steps = len(env.unwrapped.page.evaluate(script))
            rollout, handover = finish_after(env, Scripted(script), steps, seed, made_it)
            assert handover is True, (seed, "the mistake did not land")
            assert rollout.success, (seed, [a.to_text() for a in rollout.actions])
    finally:
        env.close()
