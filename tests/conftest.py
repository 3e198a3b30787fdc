"""Shared fixtures: small real datasets written with the real writer and encoder."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from screenpilot.dataset.actions import Action
from screenpilot.dataset.format import EpisodeWriter

# The suite shares 2 cores with browsers and a trainer: a slow draw is the machine being
# busy, not a property that fails (seen once: 2.2 s for one draw under load).
settings.register_profile("screenpilot", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("screenpilot")


# The `screenpilot` command as a user runs it, in a subprocess of this interpreter.
SCREENPILOT = [sys.executable, "-m", "screenpilot.agent.cli"]


def screenpilot(*args, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run ``screenpilot ARGS``; its output captured as text, no terminal on stdin."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([*SCREENPILOT, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kwargs)  # fmt: skip


def ui_frame(i: int, width: int = 160, height: int = 210) -> np.ndarray:
    """A UI-like frame that changes with ``i``: flat background, a coloured button whose
    position moves, a dark text-like stripe."""
    import cv2

    img = np.full((height, width, 3), 245, np.uint8)
    x = (i * 7) % max(1, width - 40)
    cv2.rectangle(img, (x, 40), (x + 36, 60), (30, 110, 220), -1)
    cv2.putText(img, f"step {i}", (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (20, 20, 20), 1)
    return img


def write_episode(root, task="Click the button", n_frames=12, actions=None, **kwargs):
    """One episode: a frame every 0.1 s, and an explicit action after every other frame."""
    actions = actions or [
        Action("click", x=40, y=50),
        Action("type", text="hello"),
        Action("drag", x=10, y=100, x2=120, y2=100),
        Action("key", key="Enter"),
        Action("done"),
    ]
    with EpisodeWriter(root, task, kwargs.pop("width", 160), kwargs.pop("height", 210),
                       clock=lambda: 0.0, source="test", **kwargs) as ep:  # fmt: skip
        for i in range(n_frames):
            ep.add_frame(ui_frame(i, ep.header["width"], ep.header["height"]), t=i * 0.1)
            if i % 2 == 1 and i // 2 < len(actions):
                ep.add_action(actions[i // 2], t=i * 0.1 + 0.05)
        ep.set_outcome(success=True, reward=0.9)
    return ep


@pytest.fixture
def small_dataset(tmp_path):
    root = tmp_path / "ds"
    write_episode(root, "Click the button")
    write_episode(root, "Type hello", n_frames=8)
    return root


@contextlib.contextmanager
def xvfb_server():
    """A private Xvfb at 1280x720 (env/virtual_display.py); yields its DISPLAY string,
    stops it by its PID. The server picks its own free number: pytest-xdist workers
    starting servers at once do not race."""
    from screenpilot.dataset.errors import UserError
    from screenpilot.env.virtual_display import VirtualDisplay

    display = VirtualDisplay((1280, 720))
    try:
        name = display.start()
    except UserError as e:
        pytest.fail(str(e))
    try:
        yield name
    finally:
        display.stop()


@pytest.fixture
def xvfb():
    """A fresh display for each test (the recorders' tests want no leftover state)."""
    with xvfb_server() as display:
        yield display


@pytest.fixture(scope="session")
def shared_xvfb():
    """One display for every test that drives pyautogui in this process: pyautogui binds
    to the first display it opens, for the life of the process."""
    with xvfb_server() as display:
        yield display


@pytest.fixture
def chromium_launch():
    """``chromium_launch(**kwargs)`` -> a Playwright Browser on Debian's Chromium with the
    sandbox's flags (env.browser); closed, with Playwright, after the test."""
    from playwright.sync_api import sync_playwright

    from screenpilot.env.browser import CHROMIUM_ARGS, find_chromium

    playwright = sync_playwright().start()
    browsers = []

    def launch(args=(), **kwargs):
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), args=[*CHROMIUM_ARGS, *args], **kwargs
        )
        browsers.append(browser)
        return browser

    try:
        yield launch
    finally:
        for browser in browsers:
            browser.close()
        playwright.stop()
