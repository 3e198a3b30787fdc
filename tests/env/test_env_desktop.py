"""DesktopEnv on a private Xvfb display with a headed Chromium page: a click lands on
the button at its screen position, and typed text arrives."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from dataset.actions import Action

pytestmark = pytest.mark.integration
PAGE = (Path(__file__).parent / "pages" / "desktop.html").as_uri()


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="module")
def xvfb():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    n = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.05)
        yield f":{n}"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def _centre_of_colour(frame: np.ndarray, rgb) -> tuple[int, int]:
    ys, xs = np.nonzero(np.all(frame == np.array(rgb, np.uint8), axis=-1))
    assert len(xs) > 100, f"colour {rgb} not on screen"
    return int(xs.mean()), int(ys.mean())


def test_click_and_type_reach_a_headed_browser(xvfb, monkeypatch):
    from env.browser_env import BrowserEnv
    from env.desktop_env import DesktopEnv

    monkeypatch.setenv("DISPLAY", xvfb)
    browser = BrowserEnv("web", headless=False, viewport=(400, 300))
    desktop = DesktopEnv("click the pink button, then type", display=xvfb)
    try:
        browser.reset(options={"url": PAGE, "task": "desktop"})
        obs, info = desktop.reset()
        assert obs["screenshot"].shape == (600, 800, 3) and obs["task"].startswith("click")
        # Wait until the window is drawn, then find the targets by colour on the screen.
        deadline = time.monotonic() + 10
        while not np.any(np.all(obs["screenshot"] == (255, 0, 255), axis=-1)):
            assert time.monotonic() < deadline, "the browser window never appeared"
            time.sleep(0.2)
            obs, *_ = desktop.step(Action(type="wait"))
        x, y = _centre_of_colour(obs["screenshot"], (255, 0, 255))
        _, _, _, _, info = desktop.step(Action(type="click", x=x, y=y))
        assert info["last_action_error"] is None
        browser.page.wait_for_function("() => window.CLICKS === 1", timeout=5000)

        x, y = _centre_of_colour(obs["screenshot"], (0, 255, 0))
        desktop.step(Action(type="click", x=x, y=y))
        desktop.step(Action(type="type", text="hello, desk"))
        desktop.step(Action(type="key", key="shift+a"))
        browser.page.wait_for_function(
            "() => document.getElementById('field').value === 'hello, deskA'", timeout=5000
        )
        _, _, _, _, info = desktop.step(Action(type="type", text="ünïcode"))
        assert "ASCII" in info["last_action_error"]
        _, _, _, _, info = desktop.step(Action(type="click", x=5000, y=5))
        assert "outside" in info["last_action_error"]
        _, reward, terminated, _, _ = desktop.step(Action(type="done"))
        assert terminated and reward == 0.0
    finally:
        desktop.close()
        browser.close()
