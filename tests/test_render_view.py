"""Rendering episodes: drawing actions, the annotated MP4, and the HTML viewer in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import write_episode
from screenpilot.dataset.actions import Action
from screenpilot.dataset.annotate import annotate_frames, draw_action, upscale_factor
from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.format import EpisodeWriter
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.render import render_episode
from screenpilot.dataset.viewer import write_viewer

W, H, FPS, FRAMES = 160, 210, 5, 8
CLICK = (40, 50)
TASK = 'Click <b>OK</b> & "go"'


def white_screen() -> np.ndarray:
    frame = np.full((H, W, 3), 255, np.uint8)
    frame[150:170, 20:140] = (0, 110, 230)  # a button, so frames are not all one colour
    return frame


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """One episode of 8 frames (5 fps) with a click, a drag and typing; one with none."""
    root = tmp_path_factory.mktemp("render") / "ds"
    with EpisodeWriter(root, task=TASK, width=W, height=H, fps=FPS, clock=lambda: 0.0) as ep:
        for i in range(FRAMES):
            ep.add_frame(white_screen(), t=i / FPS)
        ep.add_action(Action("click", x=CLICK[0], y=CLICK[1]), t=0.25)  # frame 1
        ep.add_action(Action("drag", x=20, y=100, x2=140, y2=120), t=0.65)  # frame 3
        ep.add_action(Action("type", text="hello <world>"), t=1.05)  # frame 5
        ep.set_outcome(success=True)
    with EpisodeWriter(
        root, task="nothing seen", width=W, height=H, fps=FPS, clock=lambda: 0.0
    ) as ep:
        ep.add_action(Action("done"), t=0.1)
    return root


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30


# ---- annotate -------------------------------------------------------------------------------
def test_click_ring_is_drawn_at_the_click_and_nowhere_far_away():
    frame = white_screen()
    out = draw_action(frame, Action("click", x=CLICK[0], y=CLICK[1]), step=1)
    assert out.shape == frame.shape and out is not frame
    assert np.array_equal(frame, white_screen()), "the input frame must not be modified"
    diff = changed(out, frame)
    x, y = CLICK
    assert diff[y - 12 : y + 13, x - 12 : x + 13].any()
    assert not diff[H - 40 :, :].any() and not diff[:, W - 40 :].any()


@pytest.mark.parametrize(
    "action",
    [
        Action("double_click", x=80, y=80),
        Action("right_click", x=80, y=80),
        Action("move", x=80, y=80),
        Action("drag", x=10, y=10, x2=150, y2=200),
        Action("scroll", x=80, y=80, dx=0, dy=-120),
        Action("type", text="ünïcode and a very long line " * 5),
        Action("key", key="ctrl+a"),
        Action("wait"),
        Action("done"),
    ],
)
def test_every_action_type_draws_something(action):
    factor = upscale_factor(W, H)
    frame = white_screen().repeat(factor, axis=0).repeat(factor, axis=1)
    assert changed(draw_action(frame, action, step=12, scale=factor), frame).any()


def test_captions_go_in_a_bar_at_the_top_or_bottom_edge():
    frame = white_screen()
    top = changed(draw_action(frame, Action("key", key="Enter"), step=3), frame)
    assert top[:10, :].any() and not top[-100:, :].any()
    bottom = changed(draw_action(frame, Action("key", key="Enter"), caption_at="bottom"), frame)
    assert bottom[-10:, :].any() and not bottom[:100, :].any()


def test_upscale_brings_small_screens_to_a_readable_size():
    assert upscale_factor(W, H) == 3  # 160x210 -> 480x630
    assert upscale_factor(1280, 720) == 1
    frames = [white_screen()] * 2
    out = list(annotate_frames(frames, [Action("click", x=1, y=2).with_time(0.1, 0)], fps=5))
    assert out[0].shape == (H * 3, W * 3, 3)


def test_annotate_frames_holds_each_action_for_a_while():
    frames = [white_screen() for _ in range(10)]
    actions = [Action("key", key="Enter").with_time(0.2, 2)]
    out = list(annotate_frames(frames, actions, fps=5, hold_seconds=0.6, upscale=False))
    drawn = [changed(o, white_screen()).any() for o in out]
    assert drawn == [False, False, True, True, True, False, False, False, False, False]
    # At 1 fps a 0.7 s hold still shows the action on its own frame.
    out = list(annotate_frames(frames[:4], actions, fps=1, upscale=False))
    assert [changed(o, white_screen()).any() for o in out] == [False, False, True, False]


# ---- render -------------------------------------------------------------------------------------
def test_render_episode_writes_a_video_with_one_frame_per_captured_frame(dataset_dir, tmp_path):
    import av

    episode = open_dataset(dataset_dir)[0]
    out = render_episode(episode, tmp_path / "ep.mp4")
    assert out == tmp_path / "ep.mp4" and not list(tmp_path.glob("*.part"))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(frames) == FRAMES
    assert frames[0].shape == (H * 3, W * 3, 3)
    # The click (frame 1) shows a ring around its point; frame 0 shows nothing there.
    x, y = CLICK[0] * 3 + 1, CLICK[1] * 3 + 1
    near = (slice(y - 40, y + 41), slice(x - 40, x + 41))
    assert changed(frames[1][near], frames[0][near]).sum() > 50


def test_render_refuses_an_episode_without_frames(dataset_dir, tmp_path):
    empty = open_dataset(dataset_dir)[1]
    with pytest.raises(DatasetError, match="no frames"):
        render_episode(empty, tmp_path / "empty.mp4")
    assert not (tmp_path / "empty.mp4").exists()


# ---- viewer -------------------------------------------------------------------------------------
def read_view(view: Path) -> tuple[dict, list]:
    """The page's episode list and every episode's actions, as the page receives them."""
    index = json.loads(
        (view / "index.js").read_text().removeprefix("window.SCREENPILOT_VIEW = ").rstrip(";\n")
    )
    actions = []
    for n, chunk in enumerate(sorted((view / "actions").glob("*.js"))):
        call = re.search(r"^SCREENPILOT_VIEW_ACTIONS\((\d+), (.*)\);$", chunk.read_text(), re.M)
        assert int(call[1]) == n
        actions += json.loads(call[2])
    return index, actions


def dataset_files(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file of the dataset outside its view: size, modification time, content."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and "view" not in p.relative_to(root).parts
    }


def test_viewer_writes_a_static_page_an_episode_list_and_actions_apart(dataset_dir, tmp_path):
    page = write_viewer(dataset_dir, tmp_path / "view")
    view = tmp_path / "view"
    assert page == view / "index.html"
    assert {p.name for p in view.iterdir()} == {
        "index.html", "viewer.js", "viewer.css", "index.js", "actions",
    }  # fmt: skip
    assert not list(view.rglob("*.mp4")), "nothing is rendered unless asked"
    index, actions = read_view(view)
    rows = [dict(zip(index["columns"], row, strict=True)) for row in index["episodes"]]
    assert [index["tasks"][r["task"]] for r in rows] == [TASK, "nothing seen"]
    assert [(r["index"], r["success"], r["steps"], r["frames"]) for r in rows] == [
        (0, True, 3, FRAMES), (1, None, 1, 0),
    ]  # fmt: skip
    assert index["groups"] == ["no sandbox task"]
    # The page plays the dataset's own videos, by a path relative to itself.
    assert (view / index["videos"] / "episode_000000.mp4").resolve() == (
        dataset_dir / "videos" / "episode_000000.mp4"
    ).resolve()
    assert actions[0] == [
        [1, 0.25, f"click {CLICK[0]} {CLICK[1]}", "click", *CLICK],
        [3, 0.65, "drag 20 100 140 120", "drag", 20, 100, 140, 120],
        [5, 1.05, 'type "hello <world>"', "type"],
    ]
    assert actions[1] == [[0, 0.1, "done", "done"]]
    # Data reach the page only as script data, never as HTML, so none needs escaping.
    assert TASK not in (view / "index.html").read_text()
    for path in view.rglob("*"):
        if path.is_file():
            assert "http://" not in path.read_text() and "https://" not in path.read_text()


def test_viewer_changes_nothing_in_the_dataset_and_leaves_a_live_episode_alone(tmp_path):
    root = tmp_path / "ds"
    write_episode(root, "finished")
    live = EpisodeWriter(root, "being recorded", W, H, fps=FPS, clock=lambda: 0.0)
    for i in range(3):
        live.add_frame(white_screen(), t=i / FPS)
    before = dataset_files(root)
    assert "journal/episode_000001.jsonl" in before

    page = write_viewer(root)  # the default place: DIR/view
    assert page == root / "view" / "index.html"
    assert dataset_files(root) == before
    index, _ = read_view(root / "view")
    assert [row[0] for row in index["episodes"]] == [0]  # the live episode is not shown yet

    live.add_frame(white_screen(), t=0.6)
    live.add_action(Action("click", x=5, y=5), t=0.65)
    assert live.finish()["num_frames"] == 4  # its writer never noticed
    write_viewer(root)
    index, actions = read_view(root / "view")
    assert [row[0] for row in index["episodes"]] == [0, 1] and actions[1][0][2] == "click 5 5"


def test_viewer_renders_only_the_episodes_asked_for(dataset_dir, tmp_path):
    write_viewer(dataset_dir, tmp_path / "view", render=[0])
    assert [p.name for p in (tmp_path / "view").rglob("*.mp4")] == ["episode_000000.mp4"]
    index, _ = read_view(tmp_path / "view")
    assert [row[index["columns"].index("render")] for row in index["episodes"]] == [1, 0]
    with pytest.raises(DatasetError, match="no episode 7"):
        write_viewer(dataset_dir, tmp_path / "view", render=[7])
    with pytest.raises(DatasetError, match="no frames"):
        write_viewer(dataset_dir, tmp_path / "view", render=[1])


def test_viewer_rebuilt_for_fewer_episodes_drops_stale_action_files(tmp_path):
    root = tmp_path / "ds"
    write_episode(root, "one", n_frames=2)
    view = tmp_path / "view"
    (view / "actions").mkdir(parents=True)
    (view / "actions" / "00007.js").write_text("SCREENPILOT_VIEW_ACTIONS(7, []);\n")
    write_viewer(root, view)
    assert [p.name for p in (view / "actions").iterdir()] == ["00000.js"]


def test_viewer_rebuilt_reads_again_only_the_step_tables_that_changed(tmp_path):
    from screenpilot.dataset.format import STEP_COLUMNS, episode_paths, step_row, write_table

    root = tmp_path / "ds"
    write_episode(root, "one", n_frames=2)
    chunk = root / "view" / "actions" / "00000.js"
    write_viewer(root)
    made = chunk.stat().st_mtime_ns
    write_viewer(root)
    assert chunk.stat().st_mtime_ns == made, "nothing changed: the actions file is kept"

    changed = Action("click", x=99, y=98).with_time(0.15, 1)
    write_table(episode_paths(root, 0)["data"], [step_row(0, changed)], STEP_COLUMNS)
    write_viewer(root)
    assert read_view(root / "view")[1] == [[[1, 0.15, "click 99 98", "click", 99, 98]]]

    write_episode(root, "two", n_frames=2)  # a new episode: listed, with its actions
    write_viewer(root)
    index, actions = read_view(root / "view")
    assert len(index["episodes"]) == len(actions) == 2


def test_view_verb_writes_where_told_and_names_the_page(dataset_dir, tmp_path, capsys):
    from screenpilot.agent.cli import main

    assert main(["-q", "dataset", "view", str(dataset_dir), "--out", str(tmp_path / "v")]) == 0
    assert str(tmp_path / "v" / "index.html") in capsys.readouterr().out
    assert main(["dataset", "view", str(tmp_path / "nowhere")]) == 1
    assert "no such dataset directory" in capsys.readouterr().err

    root = tmp_path / "ds"
    write_episode(root, "one", n_frames=2)
    (root / "view").write_text("not a folder")  # as unwritable as a read-only dataset
    assert main(["-q", "dataset", "view", str(root)]) == 1
    assert "cannot write the view here" in capsys.readouterr().err
    assert (
        main(["-q", "dataset", "view", str(root), "--out", str(tmp_path / "v2"), "--render", "3"])
        == 1
    )
    assert "no episode 3 to render (episodes: 0 to 0)" in capsys.readouterr().err


def screen_pixels(page) -> np.ndarray:
    """What the player shows, video and overlay, as (H, W, 3) RGB."""
    import cv2

    png = page.locator("#screen").screenshot()
    return cv2.cvtColor(
        cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
    )


def amber_near(pixels: np.ndarray, x: float, y: float, radius: int = 25) -> int:
    """How many pixels around (x, y) have the click ring's amber."""
    near = pixels[int(y) - radius : int(y) + radius, int(x) - radius : int(x) + radius].astype(int)
    r, g, b = near[..., 0], near[..., 1], near[..., 2]
    return int(((r > 200) & (g > 150) & (g < 240) & (b < 100)).sum())


@pytest.mark.integration
def test_viewer_plays_seeks_and_draws_actions_in_chromium(dataset_dir, chromium_launch):
    page_path = write_viewer(dataset_dir)
    page = chromium_launch().new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.as_uri())
    page.wait_for_selector("body[data-ready=yes]")
    assert page.locator(".episode-row").count() == 2
    assert page.locator(".episode-row .task").first.inner_text() == TASK
    assert page.locator("#episode-title").inner_text() == f"Episode 0: {TASK}"
    page.wait_for_function("document.getElementById('video').readyState >= 1", timeout=10_000)
    state = page.evaluate("({duration: video.duration, error: video.error, w: video.videoWidth})")
    assert state["error"] is None and state["w"] == W
    assert state["duration"] == pytest.approx(FRAMES / FPS, abs=0.05)

    steps = page.locator("#timeline button")
    assert steps.count() == 3
    steps.nth(1).click()  # the drag, on frame 3
    page.wait_for_function("Math.abs(video.currentTime - 0.7) < 0.01", timeout=5_000)
    assert "current" in (steps.nth(1).get_attribute("class") or "")
    steps.nth(0).click()  # the click, on frame 1: its ring is drawn over the video
    page.wait_for_function("Math.abs(video.currentTime - 0.3) < 0.01", timeout=5_000)
    page.wait_for_function("document.querySelector('#timeline .current') !== null")
    scale = page.evaluate("document.getElementById('screen').clientWidth") / W
    at_click = ((CLICK[0] + 0.5) * scale, (CLICK[1] + 0.5) * scale)
    assert amber_near(screen_pixels(page), *at_click) > 30
    steps.nth(2).click()  # the typing, on frame 5: the click's hold (4 frames) is over
    page.wait_for_function("Math.abs(video.currentTime - 1.1) < 0.01", timeout=5_000)
    assert amber_near(screen_pixels(page), *at_click) == 0

    page.locator(".episode-row").nth(1).click()  # no frames: nothing to play, said so
    assert "no frames" in page.locator("#problem").inner_text()
    assert page.locator("#timeline code").all_inner_texts() == ["done"]

    write_viewer(dataset_dir, render=[0])  # an annotated copy plays instead of the raw video
    page.goto(page_path.as_uri() + "#episode-0")
    page.reload()
    page.wait_for_function("video.readyState >= 2", timeout=10_000)
    assert page.evaluate("video.src").endswith("/view/renders/episode_000000.mp4")
    assert page.evaluate("video.videoWidth") == W * 3
    assert errors == []


@pytest.mark.integration
def test_viewer_shows_a_desktop_recordings_colours_in_chromium(tmp_path, chromium_launch):
    """The desktop recorder's videos code the RGB planes (the cheapest to encode), which
    Chromium decodes with wrong colours (a mean error of 38 levels): the viewer plays a
    4:4:4 YUV copy, whose colours are right."""
    import cv2

    from screenpilot.recorder.desktop import screen_video_options

    root = tmp_path / "ds"
    bgra = cv2.cvtColor(white_screen(), cv2.COLOR_RGB2BGRA)
    with EpisodeWriter(root, "a button", W, H, fps=FPS, clock=lambda: 0.0,
                       video_options=screen_video_options(FPS)) as ep:  # fmt: skip
        for i in range(FRAMES):
            ep.add_frame(bgra, t=i / FPS)
    page = chromium_launch().new_page(viewport={"width": 1400, "height": 900})
    page.goto(write_viewer(root).as_uri())
    page.wait_for_function("document.getElementById('video').readyState >= 2", timeout=10_000)
    scale = page.evaluate("document.getElementById('screen').clientWidth") / W
    button = screen_pixels(page)[
        int(155 * scale) : int(165 * scale), int(40 * scale) : int(120 * scale)
    ]
    assert np.abs(button.reshape(-1, 3).mean(0) - (0, 110, 230)).max() < 8, button.mean((0, 1))
    assert page.evaluate("video.src").endswith("/view/playable/episode_000000.mp4")


# ---- a viewer for thousands of episodes -------------------------------------------------------
MANY = 2_001
LAST_TASK = "the very last one"
LAST_COLOUR = (220, 30, 30)


def write_shard(args: tuple[Path, int, int]) -> Path:
    """Episodes first .. first + count - 1 of the big dataset, into a dataset of their own
    (a worker process's share; merged in order afterwards)."""
    root, first, count = args
    for i in range(first, first + count):
        last = i == MANY - 1
        metadata = {"env": f"miniwob.task-{i % 4}"} if i % 5 else {}
        with EpisodeWriter(
            root, LAST_TASK if last else f"task {i % 7}", 32, 24, fps=5,
            source=("expert", "browser")[i % 2], metadata=metadata, clock=lambda: 0.0, durable=False,
        ) as ep:  # fmt: skip
            for f in range(3):
                colour = LAST_COLOUR if last else (i % 200 + f * 20,) * 3
                ep.add_frame(np.full((24, 32, 3), colour, np.uint8), t=f / 5)
            ep.add_action(Action("click", x=i % 32, y=i % 24), t=0.1)
            ep.set_outcome(success=(True, False, None)[i % 3])
    return root


@pytest.fixture(scope="module")
def many_episodes(tmp_path_factory):
    """2,001 episodes, each with its own video, written by the real writer in two processes
    and merged in order, as the expert recorder does (about 15 s on 2 idle cores)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from screenpilot.dataset.format import init_dataset
    from screenpilot.dataset.maintenance import adopt_episodes

    work = tmp_path_factory.mktemp("many")
    half = MANY // 2
    jobs = [(work / "a", 0, half), (work / "b", half, MANY - half)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        shards = list(pool.map(write_shard, jobs))
    root = work / "ds"
    init_dataset(root)
    for shard in shards:
        adopt_episodes(list(open_dataset(shard)), root, move=True)
    return root


@pytest.mark.integration
def test_viewer_of_2001_episodes_filters_and_plays_the_last_one(many_episodes, chromium_launch):
    dataset = open_dataset(many_episodes)
    metas = dataset.episode_meta
    assert len(metas) == MANY and metas[-1]["task"] == LAST_TASK
    assert dataset.chunks.sizes == [1000, 1000], "merging sealed the full chunks"
    page_path = write_viewer(many_episodes)
    page = chromium_launch().new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_path.as_uri())
    page.wait_for_selector("body[data-ready=yes]")
    count = page.locator("#count")
    assert count.inner_text() == "2,001 of 2,001 episodes in 5 groups"
    assert page.locator("details.group").count() == 5

    def shown(**expected) -> int:
        def keep(m):
            outcome = {True: "yes", False: "no", None: "unknown"}[m["success"]]
            return all(
                {"source": m["source"], "success": outcome,
                 "group": m["metadata"].get("env", "no sandbox task")}[k] == v
                for k, v in expected.items()
            )  # fmt: skip

        return sum(1 for m in metas if keep(m))

    page.select_option("#filter-source", "browser")
    assert count.inner_text().startswith(f"{shown(source='browser'):,} of 2,001")
    page.select_option("#filter-success", "no")
    page.select_option("#filter-group", "miniwob.task-1")
    expected = shown(source="browser", success="no", group="miniwob.task-1")
    assert count.inner_text() == f"{expected} of 2,001 episodes in 1 group"
    rows = page.locator(".episode-row")
    assert rows.count() == expected  # one group: open, every row laid out (under 200)
    assert all(" browser" in t and t.count("✗") == 1 for t in rows.all_inner_texts())

    page.select_option("#filter-source", "")
    page.select_option("#filter-success", "")
    page.select_option("#filter-group", "no sandbox task")
    group_size = shown(group="no sandbox task")
    assert rows.count() == 200  # laid out a page at a time
    page.locator("button.more").click()
    assert rows.count() == min(400, group_size)

    page.select_option("#filter-group", "")
    page.fill("#filter-text", "VERY LAST")  # case does not matter
    page.wait_for_function("document.getElementById('count').textContent.startsWith('1 of')")
    rows.first.click()
    assert page.locator("#episode-title").inner_text() == f"Episode {MANY - 1}: {LAST_TASK}"
    assert page.locator("video").count() == 1, "one player, whatever the dataset's size"
    page.wait_for_function("video.readyState === 4 && !video.error", timeout=15_000)
    centre = screen_pixels(page)[100:200, 100:200].reshape(-1, 3).mean(axis=0)
    assert np.abs(centre - LAST_COLOUR).max() < 30, f"shows {centre}, not the last episode"
    page.evaluate("video.play()")
    page.wait_for_function("video.currentTime > 0.2", timeout=10_000)
    assert page.evaluate("video.src").endswith(f"videos/episode_{MANY - 1:06d}.mp4")
    # A sealed episode plays from the view's copy of its byte range of the chunk's video.
    page.fill("#filter-text", "")
    page.select_option("#filter-group", "no sandbox task")
    rows.first.click()
    assert page.locator("#episode-title").inner_text() == "Episode 0: task 0"
    page.wait_for_function("video.readyState === 4 && !video.error", timeout=15_000)
    assert page.evaluate("video.src").endswith("/view/sealed/episode_000000.mp4")
    assert errors == []
