"""`screenpilot dataset ...` as a user runs it: real subprocesses, real exit codes."""

import json
import shutil

import pytest

from conftest import screenpilot
from screenpilot.dataset.format import FORMAT_VERSION, episode_paths
from screenpilot.dataset.reader import open_dataset

pytestmark = pytest.mark.integration


def test_help_lists_the_dataset_verbs():
    out = screenpilot("dataset", "--help")
    assert out.returncode == 0
    for verb in ("info", "check", "repair", "merge", "render", "view"):
        assert verb in out.stdout


def test_info_json_and_text(small_dataset):
    out = screenpilot("dataset", "info", small_dataset, "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["episodes"] == 2 and info["steps"] == 9 and info["frames"] == 20
    assert info["screen_sizes"] == ["160x210"] and info["format_version"] == FORMAT_VERSION
    assert info["action_types"]["click"] == 2 and info["grounded"] == 0
    text = screenpilot("dataset", "info", small_dataset).stdout
    assert "episodes       2" in text and "click 2" in text


def test_check_passes_then_names_each_problem(small_dataset):
    assert screenpilot("dataset", "check", small_dataset).returncode == 0
    assert screenpilot("dataset", "check", small_dataset, "--deep").returncode == 0
    p0, p1 = episode_paths(small_dataset, 0), episode_paths(small_dataset, 1)
    p0["video"].write_bytes(p0["video"].read_bytes()[: p0["video"].stat().st_size // 2])
    p1["events"].unlink()
    out = screenpilot("dataset", "check", small_dataset)
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert any(
        "episode_000000.mp4" in line and "episodes.jsonl says 12" in line for line in lines
    ), lines
    assert any("events/episode_000001.parquet: missing" in line for line in lines), lines


def test_check_refuses_an_unknown_version(small_dataset):
    info = small_dataset / "meta/info.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "format_version": 7}))
    out = screenpilot("dataset", "check", small_dataset)
    assert out.returncode == 1 and "version 7 is not supported" in out.stdout


def test_merge(small_dataset, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(small_dataset, other)
    out = screenpilot("dataset", "merge", small_dataset, other, "--out", tmp_path / "merged")
    assert out.returncode == 0, out.stderr
    merged = open_dataset(tmp_path / "merged")
    assert len(merged) == 4
    assert [ep.task for ep in merged] == ["Click the button", "Type hello"] * 2
    assert merged[3].meta["merged_from"]["index"] == 1
    assert screenpilot("dataset", "check", tmp_path / "merged").returncode == 0
    again = screenpilot("dataset", "merge", small_dataset, "--out", tmp_path / "merged")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_merge_of_a_damaged_dataset_writes_nothing(small_dataset, tmp_path):
    episode_paths(small_dataset, 1)["frames"].unlink()
    out = screenpilot("dataset", "merge", small_dataset, "--out", tmp_path / "m")
    assert out.returncode == 1 and "frames/episode_000001.parquet: missing" in out.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["dataset", "info", "/nonexistent/ds"], "no such dataset directory"),
        (["dataset", "render", "{ds}", "--episode", "9", "--out", "{tmp}/x.mp4"], "no episode 9"),
        (["dataset", "repair", "{tmp}"], "not a screenpilot dataset"),
    ],
)
def test_user_errors_are_one_line(small_dataset, tmp_path, args, message):
    args = [a.format(ds=small_dataset, tmp=tmp_path) for a in args]
    out = screenpilot(*args)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_repair_with_nothing_to_do(small_dataset):
    out = screenpilot("dataset", "repair", small_dataset)
    assert out.returncode == 0 and "nothing to repair" in out.stdout
