"""`screenpilot label`: an inverse dynamics model writes the steps of screen recordings.

    screenpilot label --idm RUN --data DIR --out DIR2 [--min-confidence P] [--score]

DIR2 gets every episode of DIR (which is only read) with the same frames, video, events
and grounding, and the IDM's steps in place of DIR's own: each step's confidence in the
step table's ``confidence`` column, the steps below ``--min-confidence`` listed in the
episode's ``metadata.low_confidence_steps`` (marked, not dropped), and
``metadata.labelled_by`` naming the IDM. ``--score`` compares the IDM's steps with DIR's
own, which it never saw (a held-out labelled dataset), and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

from screenpilot.dataset.actions import POINT_TYPES, Action
from screenpilot.dataset.errors import DatasetError, UserError

CLICK_PX = 3  # a labelled point this close (pixels, straight line) to the true one is right
MATCH_FRAMES = 2  # a labelled step this many frames from a true one may be its label
DEFAULT_MIN_CONFIDENCE = 0.5


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "label",
        help="label screen recordings with an inverse dynamics model (train --kind idm)",
        description="Write DIR's episodes to a new dataset DIR2 with the steps an inverse "
        "dynamics model reads off their frames (plain videos from `dataset import-video` "
        "included). DIR is only read. Each step keeps its confidence; those below "
        "--min-confidence are marked in the episode's metadata, not dropped.",
    )
    p.add_argument(
        "--idm", required=True, metavar="RUN", help="the IDM: a run, model or checkpoint"
    )
    p.add_argument("--data", required=True, metavar="DIR", help="the dataset to label")
    p.add_argument("--out", required=True, metavar="DIR2", help="the labelled dataset (new)")
    p.add_argument(
        "--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE, metavar="P",
        help=f"mark steps labelled with less confidence than P (default {DEFAULT_MIN_CONFIDENCE})",
    )  # fmt: skip
    p.add_argument(
        "--score", action="store_true",
        help="compare the labels with DIR's own steps (held-out labelled recordings) and "
        "print a table",
    )  # fmt: skip
    p.add_argument("--json", metavar="FILE", help="write the summary (and score) as JSON")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="frames a forward pass")
    p.set_defaults(func=cmd_label)


def cmd_label(args: argparse.Namespace) -> int:
    summary = label_dataset(args.idm, args.data, args.out, min_confidence=args.min_confidence,
                            score=args.score, device=args.device,
                            batch_size=args.batch_size)  # fmt: skip
    episodes, steps = summary["episodes"], summary["steps"]
    print(f"{args.out}: {episodes} episode{'s' * (episodes != 1)}, {steps} step"
          f"{'s' * (steps != 1)} labelled ({summary['low_confidence']} below confidence "
          f"{args.min_confidence:g})")  # fmt: skip
    if args.score:
        print(format_score(summary["score"]))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


# ---- labelling ----------------------------------------------------------------------------
def check_paths(data: Path, out: Path) -> None:
    """OUT is a new dataset outside DIR: labelling never writes into what it reads."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError(f"{out}: already exists; label writes a new dataset")
    d, o = data.resolve(), out.resolve()
    if o == d or d in o.parents or o in d.parents:
        raise UserError(f"--out {out} must lie outside --data {data}: label never writes into it")


def label_dataset(idm, data, out, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                  score: bool = False, device: str = "auto", batch_size: int = 64,
                  progress: bool = True) -> dict:  # fmt: skip
    """Label every episode of ``data`` into the new dataset ``out``; returns a summary
    (with ``score`` against ``data``'s own steps when asked)."""
    from screenpilot.console import progress_bar
    from screenpilot.dataset.chunks import CHUNK_EPISODES, seal_chunks
    from screenpilot.dataset.format import init_dataset
    from screenpilot.dataset.reader import open_dataset

    data, out = Path(data), Path(out)
    if not 0 <= min_confidence <= 1:
        raise UserError(f"--min-confidence must be in [0, 1], got {min_confidence:g}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    source = open_dataset(data)
    check_paths(data, out)
    if len(source) == 0:
        raise DatasetError(f"{data}: no episodes to label")
    if score and sum(source.column("length")) == 0:
        raise DatasetError(f"{data}: no steps to score the labels against (--score needs "
                           "labelled recordings)")  # fmt: skip
    from .checkpoint import load_model  # torch: only once the paths are known good
    from .train import resolve_device

    model = load_model(idm, str(resolve_device(device, 0)), kind="idm")
    init_dataset(out)
    scorer = Score() if score else None
    total_steps = low = 0
    bar = progress_bar(total=sum(source.column("num_frames")), desc="labelling", unit="frame",
                       disable=not progress)  # fmt: skip
    for position, episode in enumerate(source, 1):
        labelled = label_episode(model, episode, batch_size, on_frames=bar.update)
        write_labelled(episode, out, labelled, idm, min_confidence)
        if position % CHUNK_EPISODES == 0:
            seal_chunks(out)  # as record expert and merge do: full chunks as they fill
        total_steps += len(labelled)
        low += sum(1 for _, c in labelled if c < min_confidence)
        if scorer is not None:
            scorer.add(episode.actions, [a for a, _ in labelled])
        episode.close()
    bar.close()
    seal_chunks(out)
    summary = {"data": str(data), "out": str(out), "idm": str(idm), "episodes": len(source),
               "steps": total_steps, "low_confidence": low, "min_confidence": min_confidence}  # fmt: skip
    if scorer is not None:
        summary["score"] = scorer.summary()
    return summary


def label_episode(
    model, episode, batch_size: int = 64, on_frames=None
) -> list[tuple[Action, float]]:
    """The IDM's steps of one episode: (Action with ``t`` and ``frame``, confidence), the
    per-frame typing joined into whole `type` steps."""
    import torch

    from .idm import decode_label, predictions_row
    from .idm_data import IDMPreprocessor, join_typing, window
    from .preprocess import collate, resize_screenshot
    from .train import autocast

    cfg = model.config
    pre = IDMPreprocessor(cfg)
    device = next(model.parameters()).device
    frames = [resize_screenshot(img, cfg.image_height, cfg.image_width) for img in episode.frames()]
    times, n = episode.frame_times, len(frames)
    screen = (episode.width, episode.height)
    per_frame = []
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        features = [pre.inputs([frames[j] for j in window(i, n, cfg.frames_before, cfg.frames_after)],
                               episode.task) for i in range(start, stop)]  # fmt: skip
        batch = {k: v.to(device) for k, v in collate(features).items()}
        with torch.inference_mode(), autocast(device, "auto"):
            pred = model.predict_batch(batch)
        for k, i in enumerate(range(start, stop)):
            row = predictions_row(pred, k)
            action = decode_label(model.codec, row, screen)
            if action is not None:
                per_frame.append((action.with_time(times[i], i), float(row["confidence"])))
        if on_frames is not None:
            on_frames(stop - start)
    return join_typing(per_frame)


def write_labelled(episode, dst: Path, labelled: list[tuple[Action, float]], idm,
                   min_confidence: float) -> dict:  # fmt: skip
    """Append ``episode`` to ``dst`` with ``labelled`` as its steps; returns its meta line.
    Its other tables and its video are copied as they are (from a chunk or its own files)."""
    from screenpilot.dataset.chunks import TABLE_COLUMNS
    from screenpilot.dataset.format import (
        STEP_COLUMNS,
        commit_episodes,
        episode_paths,
        next_episode_index,
        step_row,
        write_atomic,
        write_table,
    )

    index = next_episode_index(dst)
    target = episode_paths(dst, index)
    for name in ("events", "frames", "dom"):
        if episode.location is None:
            if episode.paths[name].exists():
                target[name].parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(episode.paths[name], target[name])
        elif (rows := episode.rows(name)) is not None:
            write_table(target[name], rows, TABLE_COLUMNS[name])
    if episode.location is None:
        if episode.paths["video"].exists():
            target["video"].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(episode.paths["video"], target["video"])
    elif episode.location["video_bytes"]:
        with episode.video_source.open() as video:
            write_atomic(target["video"], video.read())
    rows = [{**step_row(i, a), "confidence": c} for i, (a, c) in enumerate(labelled)]
    write_table(target["data"], rows, STEP_COLUMNS)
    metadata = {
        **(episode.meta.get("metadata") or {}),
        "labelled_by": str(idm),
        "label_min_confidence": min_confidence,
        "low_confidence_steps": [i for i, (_, c) in enumerate(labelled) if c < min_confidence],
    }
    meta = {**episode.meta, "index": index, "length": len(labelled), "metadata": metadata,
            "labelled_from": {"dataset": str(episode.root), "index": episode.index}}  # fmt: skip
    commit_episodes(dst, [meta])
    return meta


# ---- scoring against true steps ------------------------------------------------------------
def match_steps(truth: list[Action], labelled: list[Action], frames: int = MATCH_FRAMES):
    """Each true step with the labelled step that stands for it, or None: in order, the
    first unused labelled step within ``frames`` frames, the same type and the nearest
    frame preferred. Returns (pairs, labelled steps that stand for none)."""
    pairs, used, start = [], set(), 0
    for step in truth:
        near = [j for j in range(start, len(labelled))
                if abs(labelled[j].frame - step.frame) <= frames]  # fmt: skip
        if not near:
            pairs.append((step, None))
            continue
        best = min(near, key=lambda j: (labelled[j].type != step.type,
                                        abs(labelled[j].frame - step.frame), j))  # fmt: skip
        pairs.append((step, labelled[best]))
        used.add(best)
        start = best + 1
    return pairs, [a for j, a in enumerate(labelled) if j not in used]


def _point_ok(true: Action, label: Action) -> bool:
    ok = math.dist((true.x, true.y), (label.x, label.y)) <= CLICK_PX
    if true.type == "drag":
        ok &= math.dist((true.x2, true.y2), (label.x2, label.y2)) <= CLICK_PX
    return ok


class Score:
    """Counts over true steps, by type: found (a label within MATCH_FRAMES), the type
    right, the frame right, the point within CLICK_PX (pointed types), the text exact
    (`type`), the key right (`key`), everything right; and labels that stand for no step."""

    COLUMNS = ("steps", "found", "type", "frame", "n_point", "point", "n_text", "text",
               "n_key", "key", "type_point", "all")  # fmt: skip

    def __init__(self):
        self.by_type: dict[str, dict[str, int]] = {}
        self.extra = 0
        self.labelled = 0

    def add(self, truth: list[Action], labelled: list[Action]) -> None:
        pairs, extra = match_steps(truth, labelled)
        self.extra += len(extra)
        self.labelled += len(labelled)
        for step, label in pairs:
            c = self.by_type.setdefault(step.type, dict.fromkeys(self.COLUMNS, 0))
            c["steps"] += 1
            pointed = step.type in (*POINT_TYPES, "drag", "scroll")
            c["n_point"] += pointed
            c["n_text"] += step.type == "type"
            c["n_key"] += step.type == "key"
            if label is None:
                continue
            c["found"] += 1
            same = label.type == step.type
            c["type"] += same
            c["frame"] += label.frame == step.frame
            if not same:
                continue
            point = _point_ok(step, label) if pointed else True
            text = label.text == step.text if step.type == "type" else True
            key = label.key == step.key if step.type == "key" else True
            scroll = (label.dx, label.dy) == (step.dx, step.dy) if step.type == "scroll" else True
            c["point"] += pointed and point
            c["text"] += step.type == "type" and text
            c["key"] += step.type == "key" and key
            c["type_point"] += point
            c["all"] += point and text and key and scroll

    def summary(self) -> dict:
        total = dict.fromkeys(self.COLUMNS, 0)
        for counts in self.by_type.values():
            for k, v in counts.items():
                total[k] += v

        def share(hits, n):
            return hits / n if n else None

        return {
            "steps": total["steps"],
            # the two targets: type exact and (pointed) within CLICK_PX; typed text exact
            "type_and_point": share(total["type_point"], total["steps"]),
            "text_exact": share(total["text"], total["n_text"]),
            "all_right": share(total["all"], total["steps"]),
            "frame_exact": share(total["frame"], total["steps"]),
            "extra_labels": self.extra,
            "labelled": self.labelled,
            "by_type": {t: dict(c) for t, c in sorted(self.by_type.items())},
            "total": total,
        }


def format_score(summary: dict) -> str:
    """The score as a table: one row a true step type, then all of them."""

    def pct(hits, n):
        return f"{100 * hits / n:5.1f}%" if n else "     -"

    head = (f"{'type':<13}{'steps':>6} {'found':>7} {'type ok':>7} {'frame':>7} "
            f"{'<=' + str(CLICK_PX) + ' px':>7} {'text':>7} {'key':>7} {'all':>7}")  # fmt: skip
    lines = [head, "-" * len(head)]
    rows = [*summary["by_type"].items(), ("all", summary["total"])]
    for name, c in rows:
        lines.append(
            f"{name:<13}{c['steps']:>6} {pct(c['found'], c['steps']):>7} "
            f"{pct(c['type'], c['steps']):>7} {pct(c['frame'], c['steps']):>7} "
            f"{pct(c['point'], c['n_point']):>7} {pct(c['text'], c['n_text']):>7} "
            f"{pct(c['key'], c['n_key']):>7} {pct(c['all'], c['steps']):>7}"
        )
    lines.append(
        f"type right and (pointed) within {CLICK_PX} px: {pct(summary['total']['type_point'], summary['steps'])}; "
        f"typed text exact: {pct(summary['total']['text'], summary['total']['n_text'])}; "
        f"{summary['extra_labels']} labels for no true step (of {summary['labelled']})"
    )
    return "\n".join(lines)
