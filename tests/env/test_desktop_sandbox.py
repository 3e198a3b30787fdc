"""Sandbox tasks played through OS input in a headed Chromium on Xvfb (DesktopSandboxEnv):
the screen it observes is the task's screen, the experts win through it, their episodes
recorded by the desktop recorder segment into exactly the actions they performed, and
`eval --desktop` scores them."""

import json

import numpy as np
import pytest

from tests.conftest import screenpilot

pytestmark = pytest.mark.integration

# `shared_xvfb`: pyautogui binds one display per process, so in-process tests share one.


def test_the_observed_screen_is_the_task_screen(shared_xvfb):
    from screenpilot.env.browser_env import BrowserEnv
    from screenpilot.env.desktop_sandbox import DesktopSandboxEnv

    desktop = DesktopSandboxEnv("miniwob.click-button", display=shared_xvfb)
    headless = BrowserEnv("miniwob.click-button")
    try:
        seen = desktop.reset(seed=5)[0]["screenshot"].astype(int)
        truth = headless.reset(seed=5)[0]["screenshot"].astype(int)
        assert seen.shape == truth.shape == (210, 160, 3)
        # Same page, same place: only text anti-aliasing differs between a headed window
        # and the headless shell; a row off would raise the difference by half.
        same = np.abs(seen - truth).mean()
        shifted = np.abs(seen[1:] - truth[:-1]).mean()
        assert same < 15 and shifted > 1.3 * same, (same, shifted)
        # The task's yellow instruction box sits on the same rows to the pixel.
        yellow = [np.all(img == (255, 255, 0), axis=-1).any(axis=1) for img in (seen, truth)]
        assert (yellow[0] == yellow[1]).all()
    finally:
        desktop.close()
        headless.close()


def test_expert_recorded_through_the_desktop_is_segmented_into_its_own_actions(
    shared_xvfb, tmp_path
):
    from screenpilot.dataset.reader import open_dataset
    from screenpilot.env.desktop_sandbox import DesktopSandboxEnv
    from screenpilot.env.experts import ExpertPolicy
    from screenpilot.env.rollout import run_episode
    from screenpilot.recorder.desktop_episodes import DesktopEpisodeRecorder

    played = []
    env = DesktopSandboxEnv("miniwob.enter-text", display=shared_xvfb, human_pace=True)
    recorder = DesktopEpisodeRecorder(tmp_path / "ds", fps=20)
    try:
        for task, seed in (("miniwob.enter-text", 3), ("miniwob.click-checkboxes", 4)):
            assert env.switch_task(task)
            rollout = run_episode(env, ExpertPolicy(), seed=seed, record_to=recorder)
            assert rollout.success, rollout.outcome()
            played.append(rollout)
    finally:
        env.close()
    ds = open_dataset(tmp_path / "ds")
    assert len(ds) == 2
    for episode, rollout in zip(ds, played, strict=True):
        performed = [a.to_text() for a in rollout.actions if a.type != "done"]
        assert [a.to_text() for a in episode.actions] == performed
        assert episode.meta["source"] == "desktop"
        assert episode.meta["metadata"]["env"] == rollout.task_name
        assert episode.meta["outcome"]["success"] is True
        # Each step's frame is from before the step: the screen the expert acted on.
        times = episode.frame_times
        for action in episode.actions:
            assert times[action.frame] <= action.t


def test_record_expert_via_desktop_and_eval_desktop(tmp_path):
    out = tmp_path / "recorded"
    r = screenpilot(
        "record", "expert", "--via", "desktop", "--tasks", "miniwob.click-button",
        "--episodes", "2", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    info = screenpilot("dataset", "info", str(out))
    assert '"desktop": 2' in info.stdout
    r = screenpilot(
        "eval", "--agent", "expert", "--desktop", "--tasks",
        "miniwob.click-button,miniwob.enter-text", "--episodes", "10", "--workers", "2",
        "--out", str(tmp_path / "eval"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["desktop"] is True
    for task in ("miniwob.click-button", "miniwob.enter-text"):
        assert results["tasks"][task]["success_rate"] >= 0.95, results["tasks"][task]


def test_desktop_flags_are_checked():
    r = screenpilot("record", "expert", "--tasks", "miniwob.click-test", "--display", ":5",
                    "--out", "unused")  # fmt: skip
    assert r.returncode != 0 and "--via desktop" in r.stderr.strip().splitlines()[-1]
    r = screenpilot("eval", "--agent", "expert", "--tasks", "miniwob.click-test", "--display",
                    ":5", "--out", "unused")  # fmt: skip
    assert r.returncode != 0 and "--desktop" in r.stderr.strip().splitlines()[-1]


def test_a_virtual_display_goes_with_the_process_that_started_it():
    import os
    import subprocess
    import sys

    code = (
        "from screenpilot.env.virtual_display import VirtualDisplay\n"
        "v = VirtualDisplay((640, 480)); v.start(); print(v.pid, flush=True)\n"
        "raise SystemExit(3)  # no stop()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(int(done.stdout), 0)  # the server is gone (and was reaped)
