"""Mistakes a new user made when trying the verbs: each ends in one clear line and exit 1,
before any work starts, and leaves nothing behind."""

import pytest

from conftest import screenpilot, write_episode


@pytest.fixture
def afile(tmp_path):
    path = tmp_path / "afile"
    path.write_text("not a folder\n")
    return path


@pytest.fixture
def run_dir(tmp_path):
    """A folder that already holds a run (its resolved config is there)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "train_config.json").write_text("{}\n")
    return run


def _one_line_error(out, message):
    assert out.returncode == 1, out.stdout
    assert message in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_an_output_path_that_is_a_file(tmp_path, afile):
    data = tmp_path / "ds"
    write_episode(data)
    _one_line_error(screenpilot("dataset", "merge", data, "--out", afile), str(afile))
    _one_line_error(screenpilot("run", "--agent", "random", "--env", "miniwob.click-test",
                                "--video", tmp_path), "is a folder")  # fmt: skip


def test_train_refuses_to_start_over_a_run_and_checks_model_fields(tmp_path, run_dir):
    data = tmp_path / "ds"
    write_episode(data)
    _one_line_error(screenpilot("train", "--data", data, "--out", run_dir, "--steps", 1),
                    "already holds a run")  # fmt: skip
    fresh = tmp_path / "fresh"
    _one_line_error(screenpilot("train", "--data", data, "--out", fresh, "--set", "model.nope=3"),
                    "unknown model field 'nope'")  # fmt: skip
    _one_line_error(screenpilot("train", "--data", data, "--out", fresh,
                                "--set", "model.hidden_size=abc"), "must be an int")  # fmt: skip
    assert not fresh.exists()


def test_eval_of_the_expert_on_a_task_without_one(tmp_path):
    out = screenpilot("eval", "--agent", "expert", "--tasks", "web",
                      "--episodes", 1, "--out", tmp_path / "ev")  # fmt: skip
    _one_line_error(out, "no scripted expert for web")
    assert not (tmp_path / "ev").exists()


def test_a_lerobot_dataset_is_named_for_what_it_is(tmp_path):
    (tmp_path / "lr" / "meta").mkdir(parents=True)
    (tmp_path / "lr" / "meta" / "info.json").write_text('{"codebase_version": "v3.0"}')
    _one_line_error(screenpilot("dataset", "info", tmp_path / "lr"), "--format lerobot")
