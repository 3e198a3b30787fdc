"""DAgger: the learner acts, the expert's action on each visited state is recorded;
`screenpilot dagger` end to end; training that starts from another run's weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import screenpilot, write_episode
from screenpilot.agent.dagger import DaggerPolicy
from screenpilot.dataset.actions import Action
from screenpilot.dataset.maintenance import check_dataset
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.samples import StepSamples
from screenpilot.env.rollout import Policy, run_episode

TINY = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "stem_channels": 8}
TINY_FLAGS = [a for k, v in TINY.items() for a in ("--set", f"model.{k}={v}")]

# The first checkbox's box, and whether the task leaves it unticked.
_FIRST_BOX = """() => {
  const q = document.querySelector('#query').textContent.replace(/\\s+/g, ' ').trim();
  const m = /^Select (.*) and click Submit\\.$/.exec(q);
  const wanted = m[1] === 'nothing' ? [] : m[1].split(', ');
  const label = document.querySelector('#area label');
  const r = label.querySelector('input').getBoundingClientRect();
  const l = label.getBoundingClientRect();
  return { unwanted: !wanted.includes(label.textContent.trim()),
           box: [r.left, r.top, r.right, r.bottom], label: [l.left, l.top, l.right, l.bottom] };
}"""


class Scripted(Policy):
    """Stands in for the model: plays ``actions`` in turn, then waits."""

    name = "scripted"

    def __init__(self, actions: list[Action]):
        self.actions = actions

    def act(self, observation, history, env=None):
        return self.actions[len(history)] if len(history) < len(self.actions) else Action("wait")


def _pixels_close(a: np.ndarray, b: np.ndarray) -> bool:
    return np.abs(a.astype(int) - b.astype(int)).mean() < 2  # H.264 4:4:4 at crf 10


@pytest.mark.integration
def test_the_state_the_learner_reached_is_labelled_with_the_experts_action(tmp_path):
    from screenpilot.env.browser_env import BrowserEnv
    from screenpilot.env.experts import ExpertPolicy

    env = BrowserEnv("miniwob.click-checkboxes")
    try:
        # A task instance whose first box must stay unticked: the learner ticks it.
        for seed in range(50):
            env.reset(seed=seed)
            first = env.page.evaluate(_FIRST_BOX)
            if first["unwanted"]:
                break
        x0, y0, x1, y1 = first["box"]
        wrong = Action("click", x=int((x0 + x1) / 2), y=int((y0 + y1) / 2))
        obs, _ = env.reset(seed=seed)
        expert = ExpertPolicy()
        expert.reset("miniwob.click-checkboxes", seed)
        experts_first = expert.act(obs, [], env)

        policy = DaggerPolicy(Scripted([wrong]), ExpertPolicy())
        rollout = run_episode(env, policy, seed=seed, max_steps=3, record_to=tmp_path / "ds")
    finally:
        env.close()

    assert rollout.actions == [wrong, Action("wait"), Action("wait")]  # what ran
    assert check_dataset(tmp_path / "ds") == []
    ep = open_dataset(tmp_path / "ds")[0]
    labels = ep.actions
    assert [a.frame for a in labels] == [0, 1, 2] and ep.num_frames == 4
    assert labels[0] == experts_first != wrong
    # Frame 1 is the state the wrong tick produced; its label: untick that very box (the
    # expert clicks a box's label, on its word).
    assert _pixels_close(ep.frame(1), rollout.screenshots[1])
    box = np.s_[int(y0) : int(y1), int(x0) : int(x1)]
    assert np.abs(ep.frame(1)[box].astype(int) - ep.frame(0)[box]).mean() > 20  # now ticked
    lx0, ly0, lx1, ly1 = first["label"]
    assert labels[1].type == "click" and x1 <= labels[1].x < lx1 and ly0 <= labels[1].y < ly1
    assert [s.label for s in rollout.steps] == labels
    assert ep.meta["source"] == "dagger"
    assert ep.meta["metadata"]["policy"] == "scripted acting, expert labelling"
    assert ep.meta["outcome"]["executed"] == [a.to_text() for a in rollout.actions]
    # Training reads the label as the target and what was played as the history.
    sample = StepSamples(tmp_path / "ds", history=2)[1]
    assert sample["action"] == labels[1] and sample["history"] == [wrong]


class SaysDoneAt(Policy):
    name = "labeller"

    def __init__(self, k: int):
        self.k = k

    def act(self, observation, history, env=None):
        return Action("done") if len(history) == self.k else Action("wait")


@pytest.mark.integration
def test_labelling_stops_when_the_expert_says_done_and_the_episode_plays_on(tmp_path):
    from screenpilot.env.browser_env import BrowserEnv

    env = BrowserEnv("miniwob.enter-text")
    try:
        policy = DaggerPolicy(Scripted([]), SaysDoneAt(1))
        rollout = run_episode(env, policy, seed=1, max_steps=4, record_to=tmp_path)
    finally:
        env.close()
    assert len(rollout.steps) == 4
    assert check_dataset(tmp_path) == []
    ep = open_dataset(tmp_path)[0]
    assert [a.type for a in ep.actions] == ["wait", "done"]
    assert ep.num_frames == 3 and _pixels_close(ep.frame(2), rollout.screenshots[1])


@pytest.mark.integration
def test_dagger_end_to_end_one_round(tmp_path):
    import torch

    from screenpilot.model.checkpoint import load_model
    from screenpilot.model.configuration import VLAConfig
    from screenpilot.model.modeling import VLAModel

    demos, run = tmp_path / "demos", tmp_path / "run"
    tasks = "miniwob.click-test,miniwob.focus-text"
    done = screenpilot("record", "expert", "--tasks", tasks, "--episodes", 4, "--out", demos)
    assert done.returncode == 0, done.stderr
    done = screenpilot(
        "dagger", "--data", demos, "--out", run, "--rounds", 1, "--episodes", 2,
        "--steps", 20, "--steps-per-round", 5, "--batch-size", 8, *TINY_FLAGS,
        "--set", "num_workers=0", "--set", "tensorboard=false", "--set", "threads=1",
        "--set", "log_every=1", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "round 1: model success" in done.stdout

    round_1 = run / "dagger" / "round_1"
    checked = screenpilot("dataset", "check", round_1)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    summary = json.loads((run / "dagger" / "summary.json").read_text())
    assert summary["tasks"] == tasks.split(",")
    zero, one = summary["rounds"]
    assert (zero["round"], zero["train_steps"], one["round"], one["train_steps"]) == (0, 20, 1, 5)
    assert one["episodes"] == 4 and one["seeds"] == [500_000, 500_001]
    assert one["successes"] == sum(t["successes"] for t in one["per_task"].values())
    episodes = open_dataset(round_1)
    assert len(episodes) == 4
    assert one["labelled_steps"] == sum(len(ep.actions) for ep in episodes) > 0
    for ep in episodes:
        assert ep.meta["source"] == "dagger" and ep.meta["metadata"]["seed"] >= 500_000
        assert "model" in ep.meta["metadata"]["policy"]
        assert "expert labelling" in ep.meta["metadata"]["policy"]

    # Round 1 trained on the demos and the round's episodes, from round 0's weights.
    config = json.loads((run / "train" / "round_1" / "train_config.json").read_text())
    assert config["data"] == [str(demos), str(round_1)]
    assert config["init"] == str(run / "train" / "round_0" / "model")
    final = load_model(run).state_dict()
    before = load_model(run / "train" / "round_0").state_dict()
    torch.manual_seed(0)  # the seed a fresh round would have drawn its weights with
    fresh = VLAModel(VLAConfig(**config["model"])).state_dict()

    def distance(a, b):
        return sum(float((a[k].float() - b[k].float()).norm()) for k in a)

    near, far = distance(final, before), distance(final, fresh)
    assert near < far / 4, (near, far)


def test_init_starts_training_from_another_runs_weights(tmp_path):
    from screenpilot.model.train import build_model, train
    from screenpilot.model.train_config import TrainConfig

    for word in ("alpha", "bravo", "charlie"):
        actions = [Action("click", x=30, y=50), Action("type", text=word)]
        write_episode(tmp_path / "ds", f'Type "{word}".', n_frames=5, actions=actions)
    base = dict(data=[str(tmp_path / "ds")], steps=3, batch_size=4, warmup_steps=1,
                num_workers=0, tensorboard=False, threads=1, model=dict(TINY))  # fmt: skip
    train(TrainConfig(out=str(tmp_path / "a"), **base))
    trained = build_model(TrainConfig(out="x", init=str(tmp_path / "a"), **base), None)
    fresh = build_model(TrainConfig(out="x", **base), None)
    from screenpilot.model.checkpoint import load_model

    saved = load_model(tmp_path / "a").state_dict()
    assert all(bool((v == saved[k]).all()) for k, v in trained.state_dict().items())
    assert not all(bool((v == saved[k]).all()) for k, v in fresh.state_dict().items())


def test_user_mistakes_are_one_line(tmp_path, small_dataset):
    def one_line_error(done, needle):
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], done.stderr

    data = ["--data", small_dataset]
    one_line_error(screenpilot("train", *data, "--out", tmp_path / "a", "--init", tmp_path / "no"),
                   "no such model or run directory")  # fmt: skip
    one_line_error(screenpilot("train", *data, "--out", tmp_path / "a", "--init", small_dataset),
                   "init: ")  # fmt: skip
    one_line_error(screenpilot("dagger", *data, "--out", tmp_path / "d", "--rounds", 30_000),
                   "reach evaluation's seeds")  # fmt: skip
    one_line_error(screenpilot("dagger", *data, "--out", tmp_path / "d"),
                   "no episode names a task")  # fmt: skip
    one_line_error(screenpilot("dagger", *data, "--out", tmp_path / "d", "--tasks",
                               "miniwob.click-menu"), "remembers its own moves")  # fmt: skip
    one_line_error(screenpilot("dagger", *data, "--out", tmp_path / "d", "--resume"),
                   "cannot --resume")  # fmt: skip
    assert not (tmp_path / "d").exists()
