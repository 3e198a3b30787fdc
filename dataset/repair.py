"""Recovering episodes whose writer died (SIGKILL, power loss, a crash).

What survives a killed writer: its journal (every frame time, event and step, flushed a
line at a time) and a fragmented MP4 whose fragments up to about the last second decode.
Recovery keeps the frames that decode, re-encodes them into a clean video (a truncated
fragment would otherwise upset readers and `dataset check`), and finishes the episode
with ``"recovered": true`` in its meta line. Nothing the journal holds is thrown away:
events after the last surviving frame stay, and their actions point at that frame.
"""

from __future__ import annotations

import json
from pathlib import Path

from .actions import Action
from .events import Event
from .format import episode_paths, finalize_episode, read_episode_lines
from .segment import frame_before


def unfinished_episodes(root: Path) -> list[Path]:
    journal = root / "journal"
    return sorted(journal.glob("episode_*.jsonl")) if journal.exists() else []


def recover_unfinished(root: str | Path) -> list[dict]:
    """Finish every episode left half-written in ``root``; returns their meta lines."""
    root = Path(root)
    finished = {e["index"] for e in read_episode_lines(root)}
    recovered = []
    for journal in unfinished_episodes(root):
        index = int(journal.stem.split("_")[1])
        if index in finished:
            # The writer died after committing the episode but before removing this.
            journal.unlink()
            continue
        meta = _recover_one(root, journal)
        if meta is not None:
            recovered.append(meta)
        journal.unlink()
    return recovered


def _read_journal(path: Path) -> list[dict]:
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the line being written when the process died
    return records


def _recover_one(root: Path, journal: Path) -> dict | None:
    from .video import VideoReader, VideoWriter

    records = _read_journal(journal)
    if not records or "header" not in records[0]:
        return None  # died before writing anything worth keeping
    header = records[0]["header"]
    frame_times = [r["t"] for r in records if "frame" in r]
    events = [Event.from_dict(r["event"]) for r in records if "event" in r]
    steps = [Action.from_dict(r["step"]) for r in records if "step" in r]
    outcome: dict = {}
    for r in records:
        outcome.update(r.get("outcome", {}))

    paths = episode_paths(root, header["index"])
    video = paths["video"]
    frames = []
    if video.exists():
        try:
            with VideoReader(video, header["fps"], header["width"], header["height"]) as reader:
                for img in reader:
                    frames.append(img)
                    if len(frames) == len(frame_times):
                        break
        except Exception:  # noqa: BLE001 - a torn video yields what decoded before the tear
            pass
    frame_times = frame_times[: len(frames)]
    video.unlink(missing_ok=True)
    if frames:
        tmp = video.with_name(video.name + ".tmp.mp4")
        with VideoWriter(
            tmp, header["width"], header["height"], header["fps"], lossless=header["lossless"]
        ) as w:
            for img in frames:
                w.write(img)
        tmp.replace(video)
    if steps:
        steps = [s.with_time(s.t, frame_before(frame_times, s.t)) for s in steps]
    return finalize_episode(
        root, header, frame_times, events, steps or None, outcome, extra={"recovered": True}
    )
