"""The two screenshot sources of BrowserEnv (env/frames.py) against real browsers: the
headless shell under frame control (the default headless) and Playwright's screenshots
(any other Chromium), and the pickers that would stall frames under frame control."""

import time
from pathlib import Path

import numpy as np
import pytest

from screenpilot.dataset.actions import Action
from screenpilot.env.browser_env import BrowserEnv
from screenpilot.env.frames import PumpedFrames, ScreenshotFrames

pytestmark = pytest.mark.integration
PICKERS = (Path(__file__).parent / "pages" / "pickers.html").as_uri()


@pytest.fixture(scope="module")
def pickers():
    e = BrowserEnv("web", viewport=(200, 300))
    yield e
    e.close()


def _reset(e):
    obs, _ = e.reset(options={"url": PICKERS, "task": "pick"})
    return obs


def _step(e, line: str):
    """The step's observation and info, and whether a frame stalled during it (the pump
    then pressed Escape, or gave up): the env's own count, not a wall-clock guess."""
    frames = e._session.frames
    closed_before = frames.popups_closed
    obs, _, _, _, info = e.step(Action.from_text(line))
    return obs, info, frames.popups_closed > closed_before or frames.stalled


def test_headless_runs_under_frame_control(pickers):
    _reset(pickers)
    assert isinstance(pickers._session.frames, PumpedFrames)


def test_a_select_draws_its_list_in_the_page(pickers):
    closed = _reset(pickers)["screenshot"]
    opened, info, stalled = _step(pickers, "click 60 20")
    assert info["last_action_error"] is None and not stalled
    # The list opens below the box: rows 40..120 were empty and now show options.
    opened = opened["screenshot"]
    changed = np.abs(opened[40:120].astype(int) - closed[40:120]).sum(axis=2) > 0
    assert changed.mean() > 0.05
    _step(pickers, "key ArrowDown")
    _step(pickers, "key Enter")
    assert pickers.page.evaluate("() => document.getElementById('fruit').value") == "banana"
    assert pickers._session.frames.popups_closed == 0


@pytest.mark.parametrize("field", ["date", "time", "colour"])
def test_other_pickers_stay_shut(pickers, field):
    _reset(pickers)
    box = pickers.page.evaluate(
        f"() => {{ const r = document.getElementById('{field}').getBoundingClientRect();"
        " return [Math.floor(r.right - 8), Math.floor(r.top + r.height / 2)]; }"
    )
    for line in (
        f"click {box[0]} {box[1]}",
        "key alt+ArrowDown",
        "key F4",
        "key space",
        "key Enter",
    ):
        _, info, stalled = _step(pickers, line)
        assert info["last_action_error"] is None and not stalled, (field, line, info)
    assert pickers._session.frames.popups_closed == 0


def test_a_popup_nothing_keeps_shut_is_closed_and_reported(pickers):
    _reset(pickers)
    _, info, stalled = _step(pickers, "click 60 260")  # the native select's popup
    if info["last_action_error"] is None:
        # On a busy machine the list can open after the step's screenshot: the pump
        # then closes it between steps, and the next step reports it.
        assert not stalled
        _, info, stalled = _step(pickers, "wait")
    assert "popup" in (info["last_action_error"] or "") and stalled
    assert pickers._session.frames.popups_closed == 1
    _, info, stalled = _step(pickers, "click 60 20")  # and the page goes on drawing
    assert info["last_action_error"] is None and not stalled


def _frame_counter(tmp_path, name: str, each_frame: str = "") -> str:
    """A page that counts its requestAnimationFrame ticks in ``window.FRAMES`` (and runs
    ``each_frame`` on each): its file URI."""
    page = tmp_path / f"{name}.html"
    page.write_text(
        f"<div id=d>0</div><script>window.FRAMES = 0; (function tick() {{ window.FRAMES++;"
        f" {each_frame} requestAnimationFrame(tick); }})();</script>"
    )
    return page.as_uri()


def test_frames_keep_running_between_actions(tmp_path):
    """The pump draws 60 frames a second, so requestAnimationFrame runs during a wait
    the way it does in a browser on a display."""
    e = BrowserEnv("web", viewport=(100, 100), wait_ms=500)
    try:
        e.reset(options={"url": _frame_counter(tmp_path, "raf"), "task": "wait"})
        before = e.page.evaluate("() => window.FRAMES")
        e.step(Action(type="wait"))
        # ~30 at 60 Hz (fewer on a busy machine); none at all if nothing drew frames
        # between actions, and never more than 60 Hz allows
        assert 0 < e.page.evaluate("() => window.FRAMES") - before <= 45
    finally:
        e.close()


def test_the_pump_holds_back_while_the_env_works_but_not_in_a_wait(tmp_path):
    """Inside ``hold()`` (a reset or a step, which end in a screenshot of their own) the
    pump draws only every HELD_FRAME_INTERVAL_S; ``wait`` inside it runs at 60 Hz."""
    e = BrowserEnv("web", viewport=(100, 100))
    try:
        e.reset(options={"url": _frame_counter(tmp_path, "raf"), "task": "wait"})
        frames = e.unwrapped._session.frames
        assert isinstance(frames, PumpedFrames)
        ticks = lambda: e.page.evaluate("() => window.FRAMES")  # noqa: E731
        with frames.hold():
            before = ticks()
            time.sleep(0.4)
            held = ticks() - before
            before = ticks()
            frames.wait(0.8)
            waited = ticks() - before
        assert held <= 6  # ~4 at 10 Hz; ~24 if the pump ignored the hold
        assert waited >= 12  # ~48 at 60 Hz; ~8 if the wait kept the hold
    finally:
        e.close()


def test_the_pump_slows_down_on_a_page_that_draws_nothing_new(tmp_path):
    """An idle page gets 10 frames a second instead of 60 (CPU for everything else); one
    that keeps changing what it draws keeps 60."""
    pages = {
        "still": _frame_counter(tmp_path, "still"),
        "moving": _frame_counter(tmp_path, "moving", "d.textContent = window.FRAMES;"),
    }
    e = BrowserEnv("web", viewport=(100, 100))
    try:
        rates = {}
        for name, url in pages.items():
            e.reset(options={"url": url, "task": "idle"})
            time.sleep(1.0)  # 30 quiet frames make a page idle
            before = e.page.evaluate("() => window.FRAMES")
            time.sleep(1.0)
            rates[name] = e.page.evaluate("() => window.FRAMES") - before
        # ~10 against ~60 on a quiet machine (BENCHMARKS.md); a busy one slows both, and
        # the still page's pump is a timer that load can only slow, never speed up
        assert rates["still"] <= 15 and rates["moving"] >= 2 * rates["still"]
    finally:
        e.close()


def test_any_other_chromium_uses_playwright_screenshots(monkeypatch):
    monkeypatch.setenv("SCREENPILOT_CHROMIUM", "/usr/bin/chromium")
    e = BrowserEnv("miniwob.click-test")
    try:
        obs, _ = e.reset(seed=2)
        assert isinstance(e._session.frames, ScreenshotFrames)
        assert obs["screenshot"].shape == (210, 160, 3)
        button = e.page.evaluate(
            "() => { const r = document.querySelector('#subbtn').getBoundingClientRect();"
            " return [Math.floor(r.left + r.width / 2), Math.floor(r.top + r.height / 2)]; }"
        )
        _, reward, terminated, _, _ = e.step(Action(type="click", x=button[0], y=button[1]))
        assert (reward, terminated) == (1.0, True)
    finally:
        e.close()


def test_the_devtools_port_refuses_a_web_page(pickers):
    """The frame pump's DevTools port listens on 127.0.0.1; a connection that carries a
    page's Origin (what a page's WebSocket would send) is turned away."""
    import websocket

    from screenpilot.env.browser import _devtools_port

    _reset(pickers)
    port = _devtools_port(Path(pickers._session._profile_dir))
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(
            f"ws://127.0.0.1:{port}/devtools/browser", origin="http://example.com", timeout=5
        )


def test_a_wheel_scrolls_without_stalling_the_frames():
    """The browser's own wheel stalled every frame after it on MiniWoB++'s email-inbox
    pages under frame control; the wheel now goes through the page (env/wheel.js)."""
    e = BrowserEnv("miniwob.email-inbox-forward-nl-turk")
    try:
        e.reset(seed=5)
        _, info, stalled = _step(e, "scroll 100 150 0 100")
        assert info["last_action_error"] is None and not stalled
    finally:
        e.close()
