"""BrowserEnv against a real headless Chromium: the Gymnasium contract, seeding, every
action type, errors that must not raise, a browser that dies, and the network fence."""

import http.server
import os
import signal
import threading
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from screenpilot import env
from screenpilot.dataset.actions import Action
from screenpilot.env.browser import descendant_pids
from screenpilot.env.browser_env import BrowserEnv

pytestmark = pytest.mark.integration
PAGES = Path(__file__).parent / "pages"


def _page(name: str, query: str = "") -> str:
    return (PAGES / name).as_uri() + query


@pytest.mark.parametrize(
    "task", ["miniwob.click-button", "miniwob.enter-text", "miniwob.click-collapsible", "web"]
)
def test_check_env_passes(task):
    from gymnasium.utils.env_checker import check_env

    e = gym.make(env.gym_id(task))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any checker warning fails the test
            check_env(e.unwrapped)
    finally:
        e.close()


@pytest.fixture(scope="module")
def click_button():
    e = BrowserEnv("miniwob.click-button")
    yield e
    e.close()


def test_same_seed_same_task_instance(click_button):
    e = click_button
    first, _ = e.reset(seed=5)
    other, _ = e.reset(seed=6)
    again, info = e.reset(seed=5)
    assert info["seed"] == 5 and info["steps"] == 0
    assert first["task"] == again["task"]
    np.testing.assert_array_equal(first["screenshot"], again["screenshot"])
    assert other["task"] != first["task"] or not np.array_equal(
        other["screenshot"], first["screenshot"]
    )
    assert first["screenshot"].shape == (210, 160, 3) and first["screenshot"].dtype == np.uint8


def test_an_env_moves_on_to_another_task_in_the_same_browser():
    e = BrowserEnv("miniwob.click-button")
    fresh = BrowserEnv("miniwob.enter-text")
    try:
        e.reset(seed=5)
        pids = e.browser_pids
        assert e.switch_task("miniwob.enter-text")
        assert (e.task.name, e.max_steps) == ("miniwob.enter-text", fresh.max_steps)
        moved, info = e.reset(seed=5)
        assert e.browser_pids == pids and info["task_name"] == "miniwob.enter-text"
        # The same episode a fresh env's browser gives.
        first, _ = fresh.reset(seed=5)
        assert moved["task"] == first["task"]
        np.testing.assert_array_equal(moved["screenshot"], first["screenshot"])
        # The open web task lays out in another window: a browser of its own.
        assert not e.switch_task("web") and e.task.name == "miniwob.enter-text"
    finally:
        e.close()
        fresh.close()


def test_nothing_carries_over_between_episodes(click_button):
    e = click_button
    clean, _ = e.reset(seed=11)
    button = e.page.evaluate(
        "() => { const r = document.querySelector('#area button').getBoundingClientRect();"
        " return [Math.floor(r.left + r.width / 2), Math.floor(r.top + r.height / 2)]; }"
    )
    e.step(Action(type="mouse_down", x=button[0], y=button[1]))  # hovered and pressed
    e.step(Action(type="key", key="F5"))  # and the page reloaded under the task
    again, _ = e.reset(seed=11)
    np.testing.assert_array_equal(clean["screenshot"], again["screenshot"])


def test_success_reward_and_step_limit(click_button):
    e = click_button
    e.reset(seed=3)
    target = e.page.evaluate(
        '() => { const want = /"(.*)"/.exec(core.getUtterance())[1];'
        " const b = [...document.querySelectorAll('#area button')].find(b => b.textContent === want);"
        " const r = b.getBoundingClientRect(); return [Math.floor(r.left + 3), Math.floor(r.top + 3)]; }"
    )
    obs, reward, terminated, truncated, info = e.step(
        Action(type="click", x=target[0], y=target[1])
    )
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["success"] and info["raw_reward"] == 1.0 and 0 < info["task_reward"] <= 1.0

    e.reset(seed=3, options={"max_steps": 2})
    _, reward, terminated, truncated, info = e.step(Action(type="wait"))
    assert not terminated and not truncated
    _, reward, terminated, truncated, info = e.step(Action(type="wait"))
    assert (reward, terminated, truncated, info["steps"]) == (0.0, False, True, 2)


def test_actions_that_cannot_run_set_an_error_and_do_not_raise(click_button):
    e = click_button
    e.reset(seed=1)
    for bad in (Action(type="click", x=500, y=10), {"type": "click"}, "teleport 1 2", None):
        obs, reward, terminated, truncated, info = e.step(bad)
        assert info["last_action_error"], bad
        assert obs["screenshot"].shape == (210, 160, 3)
    assert e.step(Action(type="move", x=1, y=1))[4]["last_action_error"] is None


@pytest.fixture(scope="module")
def log_page():
    e = BrowserEnv("web", viewport=(320, 240), wait_ms=10)
    yield e
    e.close()


def _events(e, kind):
    return [ev for ev in e.page.evaluate("() => window.LOG") if ev["type"] == kind]


def test_every_action_type_reaches_the_page(log_page):
    e = log_page
    obs, info = e.reset(options={"url": _page("action_log.html"), "task": "log what you get"})
    assert obs["task"] == "log what you get" and obs["screenshot"].shape == (240, 320, 3)

    def run(line):
        result = e.step(Action.from_text(line))
        assert result[4]["last_action_error"] is None, (line, result[4])
        return result

    # Presses and drags first: after a double click the page holds a selection, and a
    # press on a selection starts a native drag-and-drop that swallows the mouseup.
    run("mouse_down 70 80")
    run("mouse_up 90 100")
    downs, ups = _events(e, "mousedown"), _events(e, "mouseup")
    assert (downs[-1]["x"], downs[-1]["y"], ups[-1]["x"], ups[-1]["y"]) == (70, 80, 90, 100)
    run("move 110 120")
    assert (_events(e, "mousemove")[-1]["x"], _events(e, "mousemove")[-1]["y"]) == (110, 120)
    run("drag 10 10 100 150")
    downs, ups = _events(e, "mousedown"), _events(e, "mouseup")
    assert (downs[-1]["x"], downs[-1]["y"], ups[-1]["x"], ups[-1]["y"]) == (10, 10, 100, 150)
    assert len(_events(e, "mousemove")) > 3  # the drag passes through points on the way
    clicks_before = len(_events(e, "click"))
    run("click 10 20")
    assert [(c["x"], c["y"], c["button"]) for c in _events(e, "click")[clicks_before:]] == [
        (10, 20, 0)
    ]
    run("double_click 30 40")
    assert [(d["x"], d["y"]) for d in _events(e, "dblclick")] == [(30, 40)]
    run("right_click 50 60")
    assert [(c["x"], c["y"], c["button"]) for c in _events(e, "contextmenu")] == [(50, 60, 2)]
    run("scroll 250 70 0 120")
    wheel = _events(e, "wheel")[-1]
    assert (wheel["x"], wheel["y"], wheel["dy"]) == (250, 70, 120)
    e.page.wait_for_function("() => document.getElementById('scroller').scrollTop > 0")
    run("click 50 200")
    run('type "héllo wörld"')
    assert e.page.evaluate("() => document.getElementById('box').value") == "héllo wörld"
    run("key ctrl+a")
    # Typed text is keystrokes, never code: this arrives verbatim and runs nothing.
    assert (
        e.step(Action(type="type", text='"); window.PWNED = 1; //'))[4]["last_action_error"] is None
    )
    assert e.page.evaluate("() => [document.getElementById('box').value, window.PWNED]") == [
        '"); window.PWNED = 1; //',
        None,
    ]
    run("key ctrl+a")
    run('type "x"')
    assert e.page.evaluate("() => document.getElementById('box').value") == "x"
    run("key Enter")
    assert _events(e, "keydown")[-1]["key"] == "Enter"
    run("wait")
    _, reward, terminated, truncated, info = run("done")
    assert (reward, terminated, truncated, info["success"]) == (0.0, True, False, False)


def test_web_task_with_a_validator(log_page):
    e = log_page
    e.reset(
        options={
            "url": _page("action_log.html"),
            "task": "type ok",
            "validator": "document.getElementById('box').value === 'ok'",
        }
    )
    e.step(Action(type="click", x=50, y=200))
    _, reward, terminated, _, _ = e.step(Action(type="type", text="no"))
    assert (reward, terminated) == (0.0, False)
    e.step(Action(type="key", key="ctrl+a"))
    _, reward, terminated, _, info = e.step(Action(type="type", text="ok"))
    assert (reward, terminated, info["success"]) == (1.0, True, True)


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        _CountingHandler.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def outside_server():
    _CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_sandbox_blocks_hosts_the_task_does_not_allow(log_page, outside_server):
    e = log_page
    url = _page("fetch_outside.html", f"?target={outside_server}")
    e.reset(options={"url": url, "task": "probe"})  # a file:// page: no host allowed
    e.page.wait_for_function("() => Object.keys(window.RESULTS).length === 2")
    assert e.page.evaluate("() => window.RESULTS") == {"fetch": "error", "image": "error"}
    assert _CountingHandler.hits == []
    assert {outside_server + "fetch", outside_server + "image.png"} <= set(e.blocked_urls)

    # The same page with that host allowed does reach it: the block above was the sandbox.
    e.reset(options={"url": url, "task": "probe", "allowed_hosts": ["127.0.0.1"]})
    e.page.wait_for_function("() => Object.keys(window.RESULTS).length === 2")
    # (The fetch itself still fails: a file:// page gets no CORS pass. It left the browser.)
    assert sorted(_CountingHandler.hits) == ["/fetch", "/image.png"]


def test_miniwob_pages_make_no_network_requests(click_button):
    click_button.reset(seed=0)
    assert click_button.blocked_urls == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _browser_processes() -> list[int]:
    out = []
    for pid in descendant_pids():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "chrom" in cmd or "playwright" in cmd:
            out.append(pid)
    return out


def test_browser_death_is_reported_and_the_next_reset_recovers():
    e = BrowserEnv("miniwob.click-test")
    try:
        e.reset(seed=0)
        for pid in e.browser_pids:
            os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        obs, reward, terminated, truncated, info = e.step(Action(type="click", x=5, y=100))
        assert time.monotonic() - start < 10
        assert "browser died" in info["browser_error"]
        assert truncated and not terminated and reward == 0.0
        assert obs["screenshot"].shape == (210, 160, 3)
        obs, info = e.reset(seed=0)  # a new browser
        assert obs["task"] == "Click the button."
        assert e.step(Action(type="wait"))[4].get("browser_error") is None
    finally:
        e.close()


def test_close_leaves_no_process_behind():
    before = set(_browser_processes())
    e = BrowserEnv("miniwob.click-test")
    e.reset(seed=0)
    pids = e.browser_pids
    assert pids and all(_alive(p) for p in pids)
    e.close()
    e.close()  # twice is fine
    assert not any(_alive(p) for p in pids)
    assert set(_browser_processes()) <= before
