"""`screenpilot record desktop` on a private Xvfb, driven by xdotool: what was done is
what the dataset holds, on the same clock as the video."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from screenpilot.dataset.maintenance import check_dataset
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.repair import recover_unfinished

pytestmark = pytest.mark.integration
FPS = 10


class Recorder:
    """`screenpilot record desktop` in a subprocess, started and ready to record."""

    def __init__(self, display, out, *extra):
        env = {**os.environ, "DISPLAY": display}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "screenpilot.agent.cli", "record", "desktop", "--out", str(out),
             "--task", "a test demonstration", "--fps", str(FPS), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        line = self.proc.stdout.readline()
        assert line.startswith("recording"), line + self.proc.stderr.read()
        time.sleep(0.3)  # a few frames before anything happens

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err


def xdotool(display, *args):
    subprocess.run(["xdotool", *args], check=True, env={**os.environ, "DISPLAY": display})


def test_clicks_typing_and_combos_arrive_on_one_clock(xvfb, tmp_path):
    rec = Recorder(xvfb, tmp_path / "ds")
    sent = []
    for x, y in [(100, 200), (640, 360)]:
        xdotool(xvfb, "mousemove", str(x), str(y))
        time.sleep(0.15)
        sent.append(time.monotonic())
        xdotool(xvfb, "mousedown", "1", "mouseup", "1")  # `click` arrives ~100 ms late
        time.sleep(0.4)
    sent.append(time.monotonic())
    xdotool(xvfb, "type", "--delay", "20", "Hello, World!")
    time.sleep(0.2)
    sent.append(time.monotonic())
    xdotool(xvfb, "key", "ctrl+shift+t")
    time.sleep(0.3)
    code, out, err = rec.stop()
    assert code == 0, err
    assert "dropped" in out and "actions" in out

    ep = open_dataset(tmp_path / "ds")[0]
    assert [a.to_text() for a in ep.actions] == [
        "click 100 200",
        "click 640 360",
        'type "Hello, World!"',
        "key ctrl+shift+t",
    ]
    origin = ep.meta["clock_origin"]
    for action, t_sent in zip(ep.actions, sent, strict=True):
        # One clock: each action at the moment xdotool sent it, give or take how late a
        # busy machine delivers the event (clocks of another origin differ by hours).
        assert abs(action.t + origin - t_sent) < 1.0, (action, t_sent - origin)
        assert ep.frame_times[action.frame] <= action.t
    assert ep.meta["metadata"]["dropped_frames"] >= 0
    assert check_dataset(tmp_path / "ds") == []


def test_redacted_typing_keeps_length_and_keys_but_not_characters(xvfb, tmp_path):
    rec = Recorder(xvfb, tmp_path / "ds", "--redact-typing")
    xdotool(xvfb, "type", "--delay", "20", "hunter2")
    xdotool(xvfb, "key", "Return")
    time.sleep(0.3)
    assert rec.stop()[0] == 0
    ep = open_dataset(tmp_path / "ds")[0]
    assert [a.to_text() for a in ep.actions] == ['type "*******"', "key Enter"]
    assert not any(e.text and e.text not in "*" for e in ep.events)
    assert ep.meta["metadata"]["redacted_typing"] is True


def test_sigkill_loses_at_most_the_last_second(xvfb, tmp_path):
    rec = Recorder(xvfb, tmp_path / "ds")
    xdotool(xvfb, "mousemove", "50", "60", "mousedown", "1", "mouseup", "1")
    time.sleep(1.5)
    rec.stop(signal.SIGKILL)
    recover_unfinished(tmp_path / "ds")
    assert check_dataset(tmp_path / "ds", deep=True) == []
    ep = open_dataset(tmp_path / "ds")[0]
    assert [a.to_text() for a in ep.actions] == ["click 50 60"]
    assert ep.num_frames >= (1.5 - 1.0) * FPS


def test_no_display_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    out = subprocess.run(
        [sys.executable, "-m", "screenpilot.agent.cli", "record", "desktop", "--out", str(tmp_path / "d"),
         "--task", "x"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "no X display" in out.stderr


def test_first_frame_after_a_click_shows_its_effect(xvfb, tmp_path, chromium_launch):
    """A headed Chromium on the same display paints a square red on mousedown."""
    page_html = tmp_path / "red.html"
    page_html.write_text(
        "<body style='margin:0;background:#fff'>"
        "<div id=box style='position:absolute;left:0;top:0;width:1280px;height:720px'></div>"
        "<script>addEventListener('mousedown',()=>box.style.background='red')</script></body>"
    )
    browser = chromium_launch(
        args=["--kiosk", "--window-position=0,0", "--window-size=1280,720"],
        headless=False,
        env={**os.environ, "DISPLAY": xvfb},
    )
    page = browser.new_page(viewport=None)
    page.goto(page_html.as_uri())
    time.sleep(1.0)  # first paint
    rec = Recorder(xvfb, tmp_path / "ds")
    xdotool(xvfb, "mousemove", "640", "360")
    time.sleep(0.35)
    xdotool(xvfb, "mousedown", "1", "mouseup", "1")
    time.sleep(0.5)
    assert rec.stop()[0] == 0
    ep = open_dataset(tmp_path / "ds")[0]
    (click,) = [a for a in ep.actions if a.type == "click"]

    def red(i):
        r, g, b = ep.frame(i)[300:420, 560:720].reshape(-1, 3).mean(axis=0)
        return r > 200 and g < 60 and b < 60

    before = click.frame
    assert not red(before), "the frame before the click already shows its effect"
    # Chromium repaints a few ms after the press; a frame grabbed in that gap is allowed.
    after = [red(i) for i in range(before + 1, min(before + 3, ep.num_frames))]
    assert any(after), "no red within two frames of the click"
    assert np.isclose(ep.frame_times[before + 1] - ep.frame_times[before], 1 / FPS, atol=0.05)


def test_the_stop_hotkey_ends_the_recording_cleanly(xvfb, tmp_path):
    rec = Recorder(xvfb, tmp_path / "ds")
    xdotool(xvfb, "mousemove", "10", "10", "mousedown", "1", "mouseup", "1")
    xdotool(xvfb, "key", "ctrl+alt+q")
    out, err = rec.proc.communicate(timeout=30)  # no signal: the hotkey alone stops it
    assert rec.proc.returncode == 0, err
    ep = open_dataset(tmp_path / "ds")[0]
    assert [a.to_text() for a in ep.actions] == ["click 10 10"]  # the hotkey is no action
