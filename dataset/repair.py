"""Recovering episodes whose writer died (SIGKILL, power loss, a crash).

What survives a killed writer: its journal (every frame time, event, step and frame's
text items, flushed a line at a time) and a fragmented MP4 whose fragments up to about
the last second decode.
Recovery keeps the frames that decode, re-encodes them into a clean video (a truncated
fragment would otherwise upset readers and `dataset check`), and finishes the episode
with ``"recovered": true`` in its meta line. Nothing the journal holds is thrown away:
events after the last surviving frame stay, and their actions point at that frame.

Only a dead writer's episode is finished: a journal whose writer still holds its lock is
left alone unless ``force`` (a writer that hangs but holds on); that writer's later
frames are then lost, and its own ``finish`` says so instead of committing it twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .actions import Action
from .chunks import all_episode_metas, seal_leftovers
from .events import Event
from .format import episode_paths, finalize_episode
from .journal import Unfinished, lock_dead_journal, unfinished_episodes
from .locks import dataset_lock
from .segment import frame_before


@dataclass
class Repair:
    recovered: list[dict] = field(default_factory=list)  # meta lines of finished episodes
    live: list[Unfinished] = field(default_factory=list)  # being recorded: left alone
    forced: list[Unfinished] = field(default_factory=list)  # finished though live (force)
    removed: list[Path] = field(default_factory=list)  # an interrupted seal's leftovers


def recover_unfinished(root: str | Path, *, force: bool = False) -> Repair:
    """Finish every episode in ``root`` whose writer died; with ``force``, also those
    whose writer still holds its journal. Removes what an interrupted seal left."""
    root = Path(root)
    report = Repair()
    if seal_leftovers(root):  # looked at without a lock first: repair writes only if needed
        with dataset_lock(root, "seal"):  # a seal in progress is not interrupted
            report.removed = seal_leftovers(root)
            for path in report.removed:
                path.unlink(missing_ok=True)
    finished = {e["index"] for e in all_episode_metas(root)}
    for episode in unfinished_episodes(root):
        fd = lock_dead_journal(episode.journal)
        if fd is None and not episode.journal.exists():
            continue  # finished by its writer (or another repair) since we looked
        if fd is None and not force:
            if episode.index not in finished:  # else it is only removing its journal
                report.live.append(episode)
            continue
        if fd is None:  # forced: its writer may have committed it a moment ago
            finished = {e["index"] for e in all_episode_metas(root)}
        try:
            if episode.index not in finished:
                if fd is None:
                    report.forced.append(episode)
                meta = _recover_one(root, episode.journal)
                if meta is not None:
                    report.recovered.append(meta)
            # else the writer died after committing the episode, before removing this.
            episode.journal.unlink(missing_ok=True)
        finally:
            if fd is not None:
                os.close(fd)
    return report


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
    grounded = [r["grounding"] for r in records if "grounding" in r]
    # frame -> its text items, as the writer last gave them; None if it never read any
    grounding = {g["frame"]: g["items"] for g in grounded} if grounded else None

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
    if grounding is not None:
        grounding = {f: items for f, items in grounding.items() if f < len(frame_times)}
    return finalize_episode(
        root, header, frame_times, events, steps or None, outcome, grounding=grounding,
        extra={"recovered": True, "rgb_video": header["lossless"]},  # re-encoded as above
    )  # fmt: skip
