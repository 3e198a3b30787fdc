"""Grounding labels: the text items of every recorded screenshot (episode format v2).

The boxes line up with the pixels of real pages, recorded expert episodes carry them to
training samples, version-1 datasets still read, and a killed writer's labels survive."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from crash_writer import spawn
from crash_writer import text_items as crash_writer_items

from conftest import write_episode
from screenpilot.dataset import format as episode_format
from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.format import (
    FORMAT_VERSION,
    GROUNDING_COLUMNS,
    GROUNDING_KINDS,
    EpisodeWriter,
    episode_paths,
    read_info,
    write_table,
)
from screenpilot.dataset.maintenance import check_dataset, merge_datasets, summarize
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.repair import recover_unfinished
from screenpilot.dataset.samples import StepSamples

W, H = 160, 210
ITEM_KEYS = {"text", "kind", "x0", "y0", "x1", "y1"}
# Items read from the text itself (a Range): their boxes hug the glyphs. Form fields
# (input, select, checkbox, radio) give the field's own box instead.
TEXT_KINDS = {"text", "link", "label", "button", "heading", "option"}


def item(text, x0, y0, x1, y1, kind="text"):
    return {"text": text, "kind": kind, "x0": x0, "y0": y0, "x1": x1, "y1": y1}


def every_sample(samples: StepSamples) -> list[dict]:
    return [samples[i] for i in range(len(samples))]


# ---- the format: writing, reading, checking -----------------------------------------------
def test_writer_stores_the_items_of_each_frame_and_samples_get_them(tmp_path):
    root = tmp_path / "ds"
    with EpisodeWriter(root, "Click OK", W, H, clock=lambda: 0.0) as ep:
        for k in range(3):
            ep.add_frame(np.full((H, W, 3), 250, np.uint8), t=k * 0.5)
            ep.add_grounding(
                k, [item("OK", 10, 20, 30, 32, "button"), item(f"frame {k}", 0, 0, 9, 9)]
            )
            if k < 2:
                ep.add_action(Action("click", x=20, y=26), t=k * 0.5 + 0.01)
        ep.add_grounding(2, [item("later", 1, 2, 3, 4)])  # given again: the last wins
    ds = open_dataset(root)
    assert ds.info["format_version"] == FORMAT_VERSION and check_dataset(root) == []
    grounding = ds[0].grounding
    assert sorted(grounding) == [0, 1, 2]
    assert grounding[1] == [item("OK", 10, 20, 30, 32, "button"), item("frame 1", 0, 0, 9, 9)]
    assert grounding[2] == [item("later", 1, 2, 3, 4)]
    samples = StepSamples(root)
    assert [s["grounding"] for s in every_sample(samples)] == [grounding[0], grounding[1]]
    samples[0]["grounding"][0]["x0"] = 99  # a transform moving boxes changes its copy only
    assert samples[0]["grounding"][0]["x0"] == 10
    assert summarize(root)["grounded"] == 1


def test_episodes_without_grounding_write_no_dom_table(tmp_path):
    write_episode(tmp_path / "ds")
    ds = open_dataset(tmp_path / "ds")
    assert not episode_paths(tmp_path / "ds", 0)["dom"].exists()
    assert ds[0].grounding == {}
    assert all(s["grounding"] == [] for s in every_sample(StepSamples(ds)))


def test_writer_refuses_items_of_frames_not_yet_added_and_malformed_items(tmp_path):
    ep = EpisodeWriter(tmp_path / "ds", "t", W, H, clock=lambda: 0.0)
    ep.add_frame(np.zeros((H, W, 3), np.uint8), t=0.0)
    with pytest.raises(DatasetError, match="frame 1, but the episode has 1 frames"):
        ep.add_grounding(1, [])
    with pytest.raises(DatasetError, match="a grounding item has text, kind"):
        ep.add_grounding(0, [{"text": "no box", "kind": "text"}])
    ep.finish()


def test_check_names_a_dom_table_with_frames_outside_the_video(tmp_path):
    root = tmp_path / "ds"
    write_episode(root, n_frames=4)
    dom = episode_paths(root, 0)["dom"]
    write_table(dom, [{"frame": 7, **item("x", 0, 0, 1, 1)}], GROUNDING_COLUMNS)
    assert check_dataset(root) == [f"{dom}: text items of frames [7] outside the video"]
    dom.write_bytes(b"not parquet")
    assert "unreadable parquet" in check_dataset(root)[0]


def write_version_1_dataset(root, monkeypatch):
    """A dataset as the screenpilot before grounding wrote it: version 1, no dom/."""
    with monkeypatch.context() as m:
        m.setattr(episode_format, "FORMAT_VERSION", 1)
        write_episode(root, "old one")
        write_episode(root, "old two", n_frames=6)
    assert read_info(root)["format_version"] == 1 and not (root / "dom").exists()


def test_a_version_1_dataset_opens_checks_merges_and_yields_samples(tmp_path, monkeypatch):
    old = tmp_path / "old"
    write_version_1_dataset(old, monkeypatch)
    ds = open_dataset(old)
    assert len(ds) == 2 and ds[0].grounding == {}
    assert check_dataset(old) == [] and summarize(old)["format_version"] == 1
    samples = StepSamples(old)
    assert len(samples) == 8 and all(s["grounding"] == [] for s in every_sample(samples))

    new = tmp_path / "new"
    with EpisodeWriter(new, "new", W, H, clock=lambda: 0.0) as ep:
        ep.add_frame(np.zeros((H, W, 3), np.uint8), t=0.0)
        ep.add_grounding(0, [item("hello", 1, 2, 30, 14)])
        ep.add_action(Action("click", x=5, y=5), t=0.01)
    merged = merge_datasets([old, new], tmp_path / "merged")
    assert merged["format_version"] == FORMAT_VERSION and merged["episodes"] == 3
    ds = open_dataset(tmp_path / "merged")
    assert [bool(e.grounding) for e in ds] == [False, False, True]
    assert StepSamples(ds)[8]["grounding"] == [item("hello", 1, 2, 30, 14)]
    assert check_dataset(tmp_path / "merged") == []


def test_appending_to_a_version_1_dataset_makes_it_the_current_version(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    write_version_1_dataset(root, monkeypatch)
    write_episode(root, "new one")
    assert read_info(root)["format_version"] == FORMAT_VERSION
    assert len(open_dataset(root)) == 3 and check_dataset(root) == []


@pytest.mark.integration
def test_a_killed_writers_items_survive_repair(tmp_path):
    root = tmp_path / "ds"
    proc = spawn(root, "--grounding")
    for line in proc.stdout:
        if int(line.split()[1]) + 1 >= 30:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert recover_unfinished(root).recovered[0]["recovered"] is True
    assert check_dataset(root, deep=True) == []
    ep = open_dataset(root)[0]
    # Every frame that survived keeps its items; none of a frame that did not.
    assert sorted(ep.grounding) == list(range(ep.num_frames)) and ep.num_frames >= 8
    assert all(ep.grounding[i] == crash_writer_items(i) for i in range(ep.num_frames))


# ---- real pages: the boxes cover the rendered words ------------------------------------------
def ink(screenshot: np.ndarray) -> np.ndarray:
    """Pixels of glyphs: dark on MiniWoB's light backgrounds (black text, blue links)."""
    return screenshot.astype(int).mean(axis=2) < 160


def assert_boxes_cover_their_words(screenshot: np.ndarray, items: list[dict]) -> int:
    """Every item lies inside the screenshot; every single-word item of page text has its
    glyphs inside its box: ink across most of the box's width, and no glyph cut by the
    box's edge (a dark pixel just outside next to a dark one just inside; a line drawn
    beside the box, a button's border, is no cut). Returns how many words were checked."""
    height, width = screenshot.shape[:2]
    dark = ink(screenshot)
    words = 0
    for it in items:
        assert set(it) == ITEM_KEYS and it["kind"] in GROUNDING_KINDS, it
        assert 0 <= it["x0"] < it["x1"] <= width and 0 <= it["y0"] < it["y1"] <= height, it
        if it["kind"] not in TEXT_KINDS or " " in it["text"]:
            continue
        x0, y0, x1, y1 = it["x0"], it["y0"], it["x1"], it["y1"]
        columns = np.flatnonzero(dark[y0:y1, x0:x1].any(axis=0))
        assert len(columns) and columns[-1] - columns[0] + 1 >= 0.6 * (x1 - x0), it
        cuts = 0
        if x0 > 0:
            cuts += int((dark[y0:y1, x0 - 1] & dark[y0:y1, x0]).sum())
        if x1 < width:
            cuts += int((dark[y0:y1, x1] & dark[y0:y1, x1 - 1]).sum())
        if y0 > 0:
            cuts += int((dark[y0 - 1, x0:x1] & dark[y0, x0:x1]).sum())
        if y1 < height:
            cuts += int((dark[y1, x0:x1] & dark[y1 - 1, x0:x1]).sum())
        assert cuts <= 2, (it, cuts)  # an underline running on under a space: 1 a side
        words += 1
    return words


@pytest.mark.integration
@pytest.mark.parametrize(
    "task", ["miniwob.click-link", "miniwob.click-button", "miniwob.click-checkboxes"]
)
def test_word_boxes_cover_the_rendered_words_on_miniwob_pages(task):
    from screenpilot.env.browser_env import BrowserEnv

    env = BrowserEnv(task)
    try:
        for seed in range(3):
            obs, _ = env.reset(seed=seed)
            items = env.grounding()
            assert env.grounding() == items  # read once per observation
            assert assert_boxes_cover_their_words(obs["screenshot"], items) >= 4
            # The task's own words are on screen, each with a box of its own.
            for word in re.findall(r'"([^"]+)"', obs["task"]):
                assert any(i["text"] == word and i["kind"] != "text" for i in items), word
    finally:
        env.close()


PAGE = """<!doctype html><body style="margin:0;font:16px sans-serif">
<h1 style="font-size:20px;margin:4px">Title here</h1>
<p style="margin:4px">alpha beta <a href="#x">gamma link</a> delta</p>
<button style="text-transform:uppercase">Send it</button>
<label><input type=checkbox> Remember me</label>
<input placeholder="Your name"> <input type=password value="abc">
<select><option>One</option><option selected>Two</option></select>
<span style="display:none">hiddenA</span><span style="visibility:hidden">hiddenB</span>
<span style="opacity:0">hiddenC</span>
<div style="position:relative;width:200px"><span>coveredD</span>
  <div style="position:absolute;inset:0;background:white"></div></div>
<div style="position:absolute;top:2000px">faraway</div>
<div style="position:absolute;left:370px;top:270px;white-space:nowrap">edgeword</div>
</body>"""


@pytest.mark.integration
def test_any_page_lists_visible_text_fields_and_nothing_hidden(tmp_path):
    from screenpilot.env.browser_env import BrowserEnv

    page = tmp_path / "page.html"
    page.write_text(PAGE)
    env = BrowserEnv("web", viewport=(400, 300))
    try:
        obs, _ = env.reset(options={"url": page.as_uri(), "task": "read"})
        items = env.grounding()
    finally:
        env.close()
    found = {(i["text"], i["kind"]) for i in items}
    assert {
        ("Title here", "heading"), ("Title", "heading"), ("alpha", "text"),
        ("gamma link", "link"), ("gamma", "link"), ("SEND IT", "button"), ("SEND", "button"),
        ("Remember me", "checkbox"), ("Remember me", "label"), ("Your name", "input"),
        ("•••", "input"), ("Two", "select"), ("edgeword", "text"),
    } <= found  # fmt: skip
    texts = {i["text"] for i in items}
    assert not texts & {"hiddenA", "hiddenB", "hiddenC", "coveredD", "faraway", "One", "abc"}
    edge = next(i for i in items if i["text"] == "edgeword")
    assert edge["x0"] >= 370 and edge["x1"] == 400  # clipped to the screenshot
    assert_boxes_cover_their_words(obs["screenshot"], [i for i in items if i is not edge])


# ---- recordings carry them ------------------------------------------------------------------
@pytest.mark.integration
def test_recorded_expert_episodes_carry_items_to_samples_and_clicks_hit_them(tmp_path):
    from screenpilot.recorder.expert import record_experts

    tasks = ["miniwob.click-link", "miniwob.click-button", "miniwob.click-checkboxes"]
    record_experts(tasks, 3, tmp_path / "ds", progress=False)
    assert check_dataset(tmp_path / "ds") == []
    ds = open_dataset(tmp_path / "ds")
    assert ds.info["format_version"] == FORMAT_VERSION and len(ds) == 9
    for ep in ds:
        assert sorted(ep.grounding) == list(range(ep.num_frames)), "one set of items a frame"
    clicks = 0
    for sample in every_sample(StepSamples(ds)):
        ep = ds[sample["episode"][1]]
        action = sample["action"]
        assert sample["grounding"] == ep.grounding[action.frame] != []
        if action.type != "click":
            continue
        hit = [
            i for i in sample["grounding"]
            if i["x0"] <= action.x < i["x1"] and i["y0"] <= action.y < i["y1"]
        ]  # fmt: skip
        env = ep.meta["metadata"]["env"]
        if env == "miniwob.click-link":  # the expert clicks the quoted link's word
            word = re.search(r'"([^"]+)"', ep.task)[1]
            assert ("link", word) in {(i["kind"], i["text"]) for i in hit}, (ep.task, hit)
        elif env == "miniwob.click-button":
            word = re.search(r'"([^"]+)"', ep.task)[1]
            assert ("button", word) in {(i["kind"], i["text"]) for i in hit}, (ep.task, hit)
        else:  # the word of a box's label the task names (the expert clicks it), or Submit
            assert any(
                (i["kind"] == "label" and i["text"] in ep.task) or i["text"] == "Submit"
                for i in hit
            ), (ep.task, hit)  # fmt: skip
        clicks += 1
    assert clicks >= 9


@pytest.mark.integration
def test_browser_recording_keeps_the_items_of_the_frame_before_each_action(xvfb, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '<body style="margin:0;font:16px sans-serif"><p style="margin:8px">Press the button</p>'
        '<button style="position:absolute;left:20px;top:60px;width:90px;height:30px">Go on</button>'
    )
    cmd = [sys.executable, "-u", "-m", "screenpilot.agent.cli", "record", "browser", "--url",
           page.as_uri(), "--task", "Press Go on", "--out", str(tmp_path / "ds"),
           "--viewport", "400x300", "--duration", "8"]  # fmt: skip
    env = {**os.environ, "DISPLAY": xvfb}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    xdotool = lambda *a: subprocess.run(["xdotool", *a], check=True, env=env)  # noqa: E731
    for line in proc.stdout:
        if "episode 0" in line:
            break
    xdotool("mousemove", "300", "300")
    for line in proc.stdout:
        if "page origin on screen" in line:
            ox, oy = map(int, line.rsplit(" ", 1)[1].split(","))
            break
    time.sleep(0.5)
    xdotool("mousemove", str(ox + 65), str(oy + 75), "click", "1")
    proc.communicate(timeout=60)
    assert proc.returncode == 0

    ep = open_dataset(tmp_path / "ds")[0]
    click = next(a for a in ep.actions if a.type == "click")
    assert (click.x, click.y) == (65, 75)
    items = ep.grounding[click.frame]
    button = next(i for i in items if i["kind"] == "button")
    assert button["text"] == "Go on" and button["x0"] <= 65 < button["x1"]
    assert ("Press the button", "text") in {(i["text"], i["kind"]) for i in items}
    assert_boxes_cover_their_words(ep.frame(click.frame), items)
    assert check_dataset(tmp_path / "ds") == []


# ---- the viewer draws them ------------------------------------------------------------------
def grounded_dataset(root):
    with EpisodeWriter(root, "Click OK", W, H, fps=5, clock=lambda: 0.0) as ep:
        for k in range(3):
            ep.add_frame(np.full((H, W, 3), 255, np.uint8), t=k / 5)
            ep.add_grounding(k, [item("OK", 40, 50, 100, 80, "button")])
        ep.add_action(Action("click", x=60, y=60), t=0.05)
    write_episode(root, "no grounding")
    return root


def test_viewer_writes_the_items_apart_for_the_episodes_that_have_them(tmp_path):
    from screenpilot.dataset.viewer import write_viewer

    write_viewer(grounded_dataset(tmp_path / "ds"), tmp_path / "view")
    index = json.loads(
        (tmp_path / "view/index.js").read_text().removeprefix("window.SCREENPILOT_VIEW = ")[:-2]
    )
    column = index["columns"].index("grounding")
    assert [row[column] for row in index["episodes"]] == [1, 0]
    text = (tmp_path / "view/grounding/00000.js").read_text()
    call = re.search(r"^SCREENPILOT_VIEW_GROUNDING\(0, (.*)\);$", text, re.M)
    assert json.loads(call[1]) == [[[k, 40, 50, 100, 80, "button", "OK"] for k in range(3)], None]


@pytest.mark.integration
def test_viewer_draws_the_boxes_when_asked_and_names_the_one_under_the_pointer(
    tmp_path, chromium_launch
):
    from screenpilot.dataset.viewer import write_viewer

    page_path = write_viewer(grounded_dataset(tmp_path / "ds"))
    page = chromium_launch().new_page(viewport={"width": 1400, "height": 1000})
    page.goto(page_path.as_uri())
    page.wait_for_function("document.body.dataset.ready === 'yes'")
    page.wait_for_function("document.getElementById('video').readyState >= 2")
    screen = page.locator("#screen")

    def orange_on_box_edge() -> int:
        import cv2

        png = cv2.imdecode(np.frombuffer(screen.screenshot(), np.uint8), cv2.IMREAD_COLOR)
        scale = png.shape[1] / W
        edge = png[int(50 * scale) - 2 : int(50 * scale) + 3, int(45 * scale) : int(95 * scale)]
        b, g, r = (edge[..., i].astype(int) for i in range(3))
        return int(((r > 200) & (g > 100) & (g < 180) & (b < 80)).sum())

    assert not page.locator("#boxes-toggle").is_hidden()
    assert orange_on_box_edge() == 0, "boxes are off by default"
    page.locator("#show-boxes").check()
    page.wait_for_function("boxes !== null")  # the page's own state: its items arrived
    assert orange_on_box_edge() > 20
    box = screen.bounding_box()
    scale = box["width"] / W
    page.mouse.move(box["x"] + 70 * scale, box["y"] + 65 * scale)
    assert page.locator("#box-label").inner_text() == "OK  · button"
    page.evaluate("location.hash = '#episode-1'")  # an episode without items: no toggle
    page.wait_for_function("document.getElementById('boxes-toggle').hidden")
