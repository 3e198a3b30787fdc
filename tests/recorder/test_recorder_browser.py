"""`screenpilot record browser`: xdotool plays the person at a headed Chromium on Xvfb;
the dataset holds page coordinates and the page's own screenshots."""

import os
import signal
import subprocess
import sys
import time

import pytest

from screenpilot.dataset.maintenance import check_dataset
from screenpilot.dataset.reader import open_dataset

pytestmark = pytest.mark.integration

FORM = """<body style="margin:0">
<input id=name style="position:absolute;left:20px;top:30px;width:150px;height:24px">
<input id=pw type=password style="position:absolute;left:20px;top:80px;width:150px;height:24px">
<button style="position:absolute;left:20px;top:130px;width:80px;height:30px">OK</button></body>"""


class BrowserRecorder:
    def __init__(self, display, *args):
        self.display = display
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "screenpilot.agent.cli", "record", "browser", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "DISPLAY": display},
        )  # fmt: skip
        self.lines = []
        self.wait_for("episode 0")

    def wait_for(self, text):
        for line in self.proc.stdout:
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"never printed {text!r}: {self.lines} {self.proc.stderr.read()}")

    def origin(self):
        """Move onto the page; the recorder then knows (and prints) where the page is."""
        self.xdotool("mousemove", "300", "300")
        line = self.wait_for("page origin on screen")
        x, y = line.rsplit(" ", 1)[1].split(",")
        return int(x), int(y)

    def xdotool(self, *args):
        subprocess.run(["xdotool", *args], check=True, env={**os.environ, "DISPLAY": self.display})

    def click(self, x, y):
        self.xdotool("mousemove", str(x), str(y), "mousedown", "1", "mouseup", "1")
        time.sleep(0.3)

    def finish(self, sig=None):
        if sig is not None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=90)
        assert self.proc.returncode == 0, err
        return "".join(self.lines) + out


def test_page_coordinates_typing_and_password_masking(xvfb, tmp_path):
    page = tmp_path / "form.html"
    page.write_text(FORM)
    rec = BrowserRecorder(
        xvfb, "--url", page.as_uri(), "--task", "Fill the form", "--out", tmp_path / "ds",
        "--viewport", "600x500",
    )  # fmt: skip
    ox, oy = rec.origin()
    # The pointer rests where origin() put it for longer than the hover dwell, on any
    # machine: a rest is a `move` action by design, so the test makes it certain.
    time.sleep(0.6)
    rec.click(ox + 60, oy + 40)
    rec.xdotool("type", "--delay", "30", "Ann Lee")
    rec.click(ox + 60, oy + 90)
    rec.xdotool("type", "--delay", "30", "s3cret")
    rec.click(ox + 50, oy + 145)
    rec.finish(signal.SIGINT)  # Ctrl+C ends the recording cleanly

    ep = open_dataset(tmp_path / "ds")[0]
    assert ep.task == "Fill the form"
    assert [a.to_text() for a in ep.actions] == [
        f"move {300 - ox} {300 - oy}", "click 60 40", 'type "Ann Lee"', "click 60 90", 'type "******"', "click 50 145",
    ]  # fmt: skip
    typed_pw = [e for e in ep.events if ep.actions[4].t <= e.t < ep.actions[5].t and e.key]
    assert len(typed_pw) == 12 and all(e.key == "*" for e in typed_pw)
    assert ep.meta["metadata"]["masked_keys"] == 6
    assert (ep.width, ep.height) == (600, 500)
    # The frames are the page: the text typed shows in the last frame's name field.
    last = ep.frame(ep.num_frames - 1)
    assert last[30:54, 22:168].min() < 100  # dark glyphs in the field
    assert check_dataset(tmp_path / "ds") == []


def test_a_sandbox_task_ends_when_solved_and_keeps_its_outcome(xvfb, tmp_path):
    from screenpilot import env

    # Where the button is for seed 5, from the scripted expert (headless, privileged).
    target = env.run_expert_episode("miniwob.click-test", seed=5).actions[0]
    rec = BrowserRecorder(
        xvfb, "--env", "miniwob.click-test", "--seed", "5", "--out", tmp_path / "ds",
        "--duration", "20",
    )  # fmt: skip
    ox, oy = rec.origin()
    start = time.monotonic()
    rec.click(ox + target.x, oy + target.y)
    rec.finish()
    assert time.monotonic() - start < 15, "the episode did not end when the task was solved"
    ep = open_dataset(tmp_path / "ds")[0]
    assert ep.success is True and ep.meta["metadata"]["seed"] == 5
    assert ep.actions[-1].to_text() == target.to_text()
    assert ep.meta["outcome"]["raw_reward"] > 0
