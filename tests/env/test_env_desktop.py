"""DesktopEnv on a private Xvfb display with a headed Chromium page: a click lands on
the button at its screen position, and typed text arrives."""

import time
from pathlib import Path

import numpy as np
import pytest

from screenpilot.dataset.actions import Action

pytestmark = pytest.mark.integration
PAGE = (Path(__file__).parent / "pages" / "desktop.html").as_uri()


# `shared_xvfb` (a private 1280x720 Xvfb, stopped by its PID) comes from tests/conftest.py.


def _centre_of_colour(frame: np.ndarray, rgb) -> tuple[int, int]:
    ys, xs = np.nonzero(np.all(frame == np.array(rgb, np.uint8), axis=-1))
    assert len(xs) > 100, f"colour {rgb} not on screen"
    return int(xs.mean()), int(ys.mean())


def test_click_and_type_reach_a_headed_browser(shared_xvfb, monkeypatch):
    xvfb = shared_xvfb
    from screenpilot.env.browser_env import BrowserEnv
    from screenpilot.env.desktop_env import DesktopEnv

    monkeypatch.setenv("DISPLAY", xvfb)
    browser = BrowserEnv("web", headless=False, viewport=(400, 300))
    desktop = DesktopEnv("click the pink button, then type", display=xvfb)
    try:
        browser.reset(options={"url": PAGE, "task": "desktop"})
        obs, info = desktop.reset()
        assert obs["screenshot"].shape == (720, 1280, 3) and obs["task"].startswith("click")
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


def test_the_failsafe_corner_stops_an_episode(shared_xvfb):
    xvfb = shared_xvfb
    import subprocess

    from screenpilot.env.desktop_env import DesktopEnv

    desktop = DesktopEnv("anything", display=xvfb)
    try:
        desktop.reset()
        subprocess.run(["xdotool", "mousemove", "0", "0"], check=True, env={"DISPLAY": xvfb})
        _, _, terminated, truncated, info = desktop.step(Action("click", x=300, y=300))
        assert truncated and not terminated and info["failsafe"]
        assert "fail-safe" in info["last_action_error"]
    finally:
        desktop.close()


def test_recorder_and_desktop_env_share_one_capture_area(shared_xvfb):
    """A model trained on desktop recordings must act on the area it was shown."""
    import mss

    from screenpilot.dataset.errors import UserError
    from screenpilot.env.desktop_env import DesktopEnv
    from screenpilot.env.screen_area import capture_area

    grabber = mss.MSS(display=shared_xvfb)
    desktop = DesktopEnv("look", display=shared_xvfb)
    try:
        assert desktop.region == capture_area(grabber) == (0, 0, 1280, 720)
        assert capture_area(grabber, (100, 50, 400, 300)) == (100, 50, 400, 300)
        with pytest.raises(UserError, match="does not fit"):
            capture_area(grabber, (1000, 0, 400, 300))
        with pytest.raises(UserError, match="does not fit"):
            DesktopEnv("look", display=shared_xvfb, region=(0, 0, 0, 10))
    finally:
        desktop.close()
        grabber.close()


def test_every_pyautogui_name_is_a_key_pyautogui_knows(shared_xvfb):
    from screenpilot.env.os_input import bind_pyautogui
    from screenpilot.env.pyautogui_keys import PYAUTOGUI_NAMES

    known = set(bind_pyautogui(shared_xvfb).KEYBOARD_KEYS)
    assert sorted(set(PYAUTOGUI_NAMES.values()) - known) == []
