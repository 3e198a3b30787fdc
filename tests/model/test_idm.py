"""The inverse dynamics model: a tiny one overfits a synthetic screen recording (a pointer
sprite that travels to a box and clicks it, the box changing colour; characters
appearing in a field as keys are typed; Enter clearing it), and `screenpilot label` on
that recording gives back its steps: types exact, clicks within 3 px, text exact."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from screenpilot.dataset.actions import Action
from screenpilot.dataset.events import Event
from screenpilot.dataset.format import EpisodeWriter
from screenpilot.dataset.reader import open_dataset
from tests.conftest import screenpilot

W, H = 80, 105  # a small screen, seen by the model pixel for pixel (7 x 5 patches)
FPS = 10
BOX = (20, 12)  # width, height
FIELD = (4, 80, 76, 98)  # x0 y0 x1 y1
TINY = {"image_height": H, "image_width": W, "hidden_size": 64, "num_layers": 2,
        "num_heads": 2, "stem_channels": 16, "frames_before": 1, "frames_after": 4,
        "text_slots": 4, "max_task_bytes": 48}  # fmt: skip


def draw_pointer(img: np.ndarray, x: int, y: int) -> None:
    """An arrow whose tip is the pointer's hot spot, black with a white edge."""
    import cv2

    arrow = np.array([[x, y], [x, y + 9], [x + 2, y + 7], [x + 4, y + 10], [x + 6, y + 9],
                      [x + 4, y + 6], [x + 7, y + 6]], np.int32)  # fmt: skip
    cv2.fillPoly(img, [arrow], (0, 0, 0))
    cv2.polylines(img, [arrow], True, (255, 255, 255), 1)


def render(pointer, box_xy, box_on: bool, typed: str) -> np.ndarray:
    import cv2

    img = np.full((H, W, 3), 235, np.uint8)
    bx, by = box_xy
    colour = (40, 170, 60) if box_on else (40, 90, 210)
    cv2.rectangle(img, (bx, by), (bx + BOX[0], by + BOX[1]), colour, -1)
    x0, y0, x1, y1 = FIELD
    cv2.rectangle(img, (x0, y0), (x1, y1), (255, 255, 255), -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), (120, 120, 120), 1)
    cv2.putText(img, typed, (x0 + 3, y1 - 5), cv2.FONT_HERSHEY_PLAIN, 1.0, (0, 0, 0), 1)
    draw_pointer(img, *pointer)
    return img


def write_recording(root, seed: int, letters=(2, 4), per_frame=(1, 2)) -> list[Action]:
    """One episode of a person's screen recording, its steps left to segmentation: the
    pointer travels to the box over three frames and clicks it, a word of ``letters``
    letters is typed ``per_frame`` characters a frame, Enter clears the field, the box is
    clicked again. Returns the steps the events should segment into (bench/idm_bench.py
    writes longer words with it)."""
    rng = np.random.default_rng(seed)
    box = (int(rng.integers(3, W - BOX[0] - 3)), int(rng.integers(12, 60)))
    word = "".join(rng.choice(list("abcdefgh"), int(rng.integers(letters[0], letters[1] + 1))))
    events, expected = [], []
    pointer = [int(rng.integers(5, W - 10)), int(rng.integers(5, H - 12))]
    resting = tuple(pointer)

    def click(frame: int) -> None:
        # set off just after `frame`, two frames on the way, pressed in the third
        target = (
            box[0] + int(rng.integers(3, BOX[0] - 3)),
            box[1] + int(rng.integers(3, BOX[1] - 3)),
        )
        start = tuple(pointer)
        for k, s in enumerate((0.35, 0.7, 1.0)):
            x = round(start[0] + (target[0] - start[0]) * s)
            y = round(start[1] + (target[1] - start[1]) * s)
            events.append(Event(t=(frame + k) / FPS + 0.05, kind="mouse_move", x=x, y=y))
        t = (frame + 2) / FPS + 0.06
        events.append(Event(t=t, kind="mouse_down", x=target[0], y=target[1], button="left"))
        events.append(Event(t=t + 0.02, kind="mouse_up", x=target[0], y=target[1], button="left"))
        pointer[:] = target
        expected.append(Action("click", x=target[0], y=target[1], frame=frame))

    def type_word(frame: int) -> int:
        t, i = frame / FPS + 0.02, 0
        while i < len(word):
            for ch in word[i : i + int(rng.integers(per_frame[0], per_frame[1] + 1))]:
                events.append(Event(t=t, kind="key_down", key=ch, text=ch))
                events.append(Event(t=t + 0.01, kind="key_up", key=ch))
                t += 0.03
                i += 1
            t = (int(t * FPS) + 1) / FPS + 0.02
        expected.append(Action("type", text=word, frame=frame))
        return int(t * FPS)

    def enter(frame: int) -> None:
        t = frame / FPS + 0.04
        events.append(Event(t=t, kind="key_down", key="Enter"))
        events.append(Event(t=t + 0.01, kind="key_up", key="Enter"))
        expected.append(Action("key", key="Enter", frame=frame))

    frame = int(rng.integers(1, 4))
    click(frame)
    frame = type_word(frame + 5 + int(rng.integers(0, 3)))
    enter(frame + 2)
    click(frame + 5 + int(rng.integers(0, 2)))
    n_frames = frame + 12
    with EpisodeWriter(root, "Click the box, type a word, press Enter", W, H, fps=FPS,
                       clock=lambda: 0.0, source="test") as ep:  # fmt: skip
        for j in range(n_frames):
            t = j / FPS
            seen = [e for e in events if e.t <= t]
            moves = [e for e in seen if e.kind == "mouse_move"]
            at = (moves[-1].x, moves[-1].y) if moves else resting
            clicks = sum(1 for e in seen if e.kind == "mouse_up")
            typed = ""
            for e in seen:
                if e.kind == "key_down":
                    typed = "" if e.key == "Enter" else typed + e.text
            ep.add_frame(render(at, box, clicks % 2 == 1, typed), t=t)
        for e in events:
            ep.add_event(e)
    return expected


EPISODES = 8


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A labelled recording of EPISODES episodes and the steps each was scripted to make."""
    root = tmp_path_factory.mktemp("idm") / "recording"
    expected = [write_recording(root, seed) for seed in range(EPISODES)]
    return root, expected


@pytest.fixture(scope="module")
def idm_run(recording):
    """A tiny IDM overfitted to the recording through the one trainer (`--kind idm`)."""
    from screenpilot.model.train import train
    from screenpilot.model.train_config import TrainConfig

    root, _ = recording
    run = root.parent / "idm_run"
    cfg = TrainConfig(kind="idm", data=[str(root)], out=str(run), steps=400, batch_size=32,
                      lr=5e-3, warmup_steps=10, min_lr_ratio=0.1, val_fraction=0.0,
                      val_every=400, checkpoint_every=400, num_workers=0, threads=1,
                      tensorboard=False, model=TINY)  # fmt: skip
    metrics = train(cfg)
    return run, metrics


def tree_digest(root) -> str:
    """One hash of every file's path and bytes under ``root``."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_recordings_segment_into_their_scripted_steps(recording):
    root, expected = recording
    for episode, steps in zip(open_dataset(root), expected, strict=True):
        assert episode.actions == steps  # type, point, text, key (frames aside)


def test_frame_labels_split_typing_by_frame_and_join_back(recording):
    from screenpilot.model.idm_data import frame_labels, join_typing

    root, _ = recording
    split_somewhere = False
    for episode in open_dataset(root):
        labels = frame_labels(episode)
        labelled = [(a, 1.0) for a in labels if a is not None]
        split_somewhere |= len(labelled) > len(episode.actions)
        joined = [a for a, _ in join_typing(labelled)]
        assert joined == episode.actions
        assert [a.frame for a in joined] == [a.frame for a in episode.actions]
        assert all(a.frame == i for i, a in enumerate(labels) if a is not None)
    assert split_somewhere  # typing over several frames is learnt frame by frame


def test_pointer_track_is_the_last_mouse_event_before_each_frame(tmp_path):
    """Where the pointer was on each frame: unknown before any mouse event and while it is
    off the recorded area, else the last mouse event's position at or before the frame."""
    from screenpilot.model.idm_data import pointer_track

    with EpisodeWriter(tmp_path / "ds", "point", W, H, fps=FPS, clock=lambda: 0.0) as ep:
        for j in range(6):
            ep.add_frame(np.zeros((H, W, 3), np.uint8), t=j * 0.1)
        for e in (
            Event(t=0.05, kind="mouse_move", x=10, y=20),
            Event(t=0.09, kind="mouse_down", x=11, y=21, button="left"),
            Event(t=0.12, kind="key_down", key="a", text="a"),
            Event(t=0.25, kind="mouse_move", x=W + 5, y=20),
            Event(t=0.35, kind="mouse_move", x=30, y=40),
            Event(t=0.36, kind="mouse_move", x=31, y=41),
        ):
            ep.add_event(e)
    track = pointer_track(open_dataset(tmp_path / "ds")[0])
    assert track == [None, (11, 21), (11, 21), None, (31, 41), (31, 41)]


def test_typed_parts_keeps_an_edited_text_whole():
    """A Backspace that deletes a character an earlier frame showed cannot be said as
    characters appearing: such a step is learnt whole at its first frame."""
    from screenpilot.dataset.segment import segment_events
    from screenpilot.model.idm_data import typed_parts

    def key(t, k, text=None):
        return [
            Event(t=t, kind="key_down", key=k, text=text),
            Event(t=t + 0.01, kind="key_up", key=k),
        ]

    frame_times = [0.0, 0.1, 0.2, 0.3]
    plain = key(0.02, "a", "a") + key(0.12, "b", "b") + key(0.14, "c", "c")
    (step,) = segment_events(plain, frame_times)
    assert typed_parts(step, -1, 9, plain, frame_times) == [(0, "a"), (1, "bc")]
    edited = (
        key(0.02, "a", "a") + key(0.04, "b", "b") + key(0.12, "Backspace") + key(0.14, "c", "c")
    )
    (step,) = segment_events(edited, frame_times)
    assert step.text == "ac"
    assert typed_parts(step, -1, 9, edited, frame_times) is None


def test_tiny_idm_overfits_the_recording(idm_run):
    run, metrics = idm_run
    assert metrics["train_eval"]["action_acc"] == 1.0, metrics
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    pointer = [r["pointer_acc"] for r in logged if r["split"] == "train" and "pointer_acc" in r]
    assert pointer[-1] >= 0.9 > pointer[0], pointer  # it learnt where the pointer is
    config = json.loads((run / "model" / "config.json").read_text())
    assert config["model_type"] == "screenpilot-idm"
    assert json.loads((run / "train_config.json").read_text())["kind"] == "idm"
    card = (run / "model" / "README.md").read_text()
    assert "# screenpilot inverse dynamics model" in card and "VLA" not in card
    assert f"screenpilot label --idm {run} " in card


def test_label_gives_back_the_recordings_steps(recording, idm_run, tmp_path):
    root, _ = recording
    run, _ = idm_run
    before = tree_digest(root)
    out = tmp_path / "labelled"
    report = tmp_path / "summary.json"
    done = screenpilot("label", "--idm", run, "--data", root, "--out", out, "--score",
                       "--json", report, "--device", "cpu")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert tree_digest(root) == before  # the input is only read
    assert "typed text exact: 100.0%" in done.stdout, done.stdout
    summary = json.loads(report.read_text())["score"]
    assert summary["type_and_point"] == 1.0 and summary["text_exact"] == 1.0
    assert summary["frame_exact"] == 1.0 and summary["extra_labels"] == 0
    labelled = open_dataset(out)
    assert len(labelled) == EPISODES
    for truth, episode in zip(open_dataset(root), labelled, strict=True):
        assert episode.num_frames == truth.num_frames
        assert episode.meta["metadata"]["labelled_by"] == str(run)
        got = episode.actions
        assert [a.type for a in got] == [a.type for a in truth.actions]
        assert [a.frame for a in got] == [a.frame for a in truth.actions]
        for label, step in zip(got, truth.actions, strict=True):
            if step.type == "click":
                assert abs(label.x - step.x) <= 3 and abs(label.y - step.y) <= 3
            else:
                assert label == step
        confidence = [row["confidence"] for row in episode.rows("data")]
        assert all(0 < c <= 1 for c in confidence)
        marked = episode.meta["metadata"]["low_confidence_steps"]
        assert marked == [i for i, c in enumerate(confidence) if c < 0.5]
    np.testing.assert_array_equal(labelled[0].frame(5), open_dataset(root)[0].frame(5))


def test_low_confidence_steps_are_marked_not_dropped(recording, idm_run, tmp_path):
    from screenpilot.model.label import label_dataset

    root, _ = recording
    run, _ = idm_run
    summary = label_dataset(run, root, tmp_path / "all_marked", min_confidence=1.0,
                            device="cpu", progress=False)  # fmt: skip
    assert summary["low_confidence"] == summary["steps"] > 0
    episode = open_dataset(tmp_path / "all_marked")[0]
    assert episode.meta["metadata"]["low_confidence_steps"] == list(range(len(episode.actions)))


def test_the_confidence_column_survives_sealing_and_old_tables_read(recording, idm_run, tmp_path):
    import shutil

    from screenpilot.dataset.chunks import seal_chunks
    from screenpilot.dataset.format import STEP_COLUMNS, episode_paths, write_table
    from screenpilot.model.label import label_dataset

    root, _ = recording
    run, _ = idm_run
    out = tmp_path / "labelled"
    label_dataset(run, root, out, device="cpu", progress=False)
    before = [row["confidence"] for row in open_dataset(out)[0].rows("data")]
    seal_chunks(out, partial=True)
    sealed = open_dataset(out)
    assert sealed.chunks.sizes == [EPISODES]
    assert [row["confidence"] for row in sealed[0].rows("data")] == before
    # a step table written before the column existed still reads
    old = tmp_path / "old"
    shutil.copytree(root, old)
    episode = open_dataset(old)[0]
    rows = episode.rows("data")
    write_table(episode_paths(old, episode.index)["data"], rows,
                tuple(c for c in STEP_COLUMNS if c[0] != "confidence"))  # fmt: skip
    reread = open_dataset(old)[0]
    assert "confidence" not in reread.rows("data")[0]
    assert reread.actions == episode.actions
    seal_chunks(old, partial=True)
    assert open_dataset(old)[0].rows("data")[0]["confidence"] is None


def test_label_mistakes_end_in_one_line(recording, idm_run, tmp_path, capsys):
    from screenpilot.agent.cli import main

    root, _ = recording
    run, _ = idm_run
    policy = tmp_path / "policy"
    _save_untrained_policy(policy)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    cases = [
        (("--idm", tmp_path / "nothing", "--data", root, "--out", tmp_path / "a"), "no model here"),
        (("--idm", policy, "--data", root, "--out", tmp_path / "b"), "not an inverse dynamics"),
        (("--idm", run, "--data", tmp_path / "missing", "--out", tmp_path / "c"), "no such dataset"),
        (("--idm", run, "--data", root, "--out", taken), "already exists"),
        (("--idm", run, "--data", root, "--out", root / "inside"), "outside --data"),
        (("--idm", run, "--data", root, "--out", tmp_path / "d", "--min-confidence", "2"),
         "--min-confidence"),
    ]  # fmt: skip
    for args, message in cases:
        assert main(["label", *map(str, args)]) == 1, args
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("screenpilot: error:"), lines
        assert message in lines[0], lines[0]
    done = screenpilot("label", "--idm", policy, "--data", root, "--out", tmp_path / "e")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (root / "inside").exists()
    assert not (tmp_path / "b").exists()


def _save_untrained_policy(path) -> None:
    from screenpilot.model.configuration import VLAConfig
    from screenpilot.model.modeling import VLAModel

    VLAModel(VLAConfig(hidden_size=32, num_layers=1, num_heads=2, stem_channels=8)).save_pretrained(
        path
    )


def test_train_kind_is_checked():
    from screenpilot.model.errors import TrainConfigError
    from screenpilot.model.train_config import TrainConfig

    def config(**fields):
        return TrainConfig(data=["."], out="run", **fields)

    config(kind="idm", model={"frames_after": 2}).validate()
    with pytest.raises(TrainConfigError, match="kind must be policy or idm"):
        config(kind="bogus").validate()
    with pytest.raises(TrainConfigError, match="unknown model field 'frames_after'"):
        config(model={"frames_after": 2}).validate()
    with pytest.raises(TrainConfigError, match="augment"):
        config(kind="idm", augment=True).validate()
