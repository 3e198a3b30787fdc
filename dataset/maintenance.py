"""Looking after datasets: a summary, a soundness check, merging two into one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DatasetError
from .format import (
    FORMAT_VERSION,
    GROUNDING_COLUMNS,
    commit_episodes,
    episode_paths,
    init_dataset,
    next_episode_index,
    read_episode_lines,
    read_info,
    read_table,
    write_atomic,
    write_table,
)
from .journal import unfinished_episodes

if TYPE_CHECKING:
    from .reader import Episode


def summarize(root: str | Path) -> dict:
    """What `screenpilot dataset info` prints: counts, sizes, action types. Counted over
    the summary columns and the chunks' step types, never episode by episode."""
    import pyarrow.compute as pc

    from .reader import open_dataset

    ds = open_dataset(root)
    table = ds.summaries
    types = ds.chunks.value_counts("data", "type")
    for ep in ds.tail:
        types.update(a.type for a in ep.actions)

    def total(name: str):
        return pc.sum(table.column(name)).as_py() or 0

    def distinct(name: str) -> list:
        return pc.unique(table.column(name)).to_pylist()

    sizes = pc.unique(pc.binary_join_element_wise(
        pc.cast(table.column("width"), "string"), pc.cast(table.column("height"), "string"), "x"
    ))  # fmt: skip
    sources = pc.value_counts(table.column("source")).to_pylist()
    grounded = ds.chunks.summaries().column("dom_start")
    return {
        "path": str(ds.root),
        "format_version": ds.info["format_version"],
        "episodes": len(ds),
        "chunks": len(ds.chunks.sizes),
        "sealed": len(ds.chunks),
        "steps": total("length"),
        "frames": total("num_frames"),
        "duration_s": round(total("duration"), 3),
        "screen_sizes": sorted(sizes.to_pylist()),
        "fps": sorted(distinct("fps")),
        "sources": {pair["values"]: pair["counts"] for pair in sources},
        "tasks": len(distinct("task")),
        "successes": pc.sum(pc.fill_null(table.column("success"), False)).as_py() or 0,
        "recovered": pc.sum(table.column("recovered")).as_py() or 0,
        "grounded": (pc.sum(pc.greater_equal(grounded, 0)).as_py() or 0)
        + sum(1 for ep in ds.tail if ep.has_grounding),
        "action_types": dict(types.most_common()),
        "recording": len(ds.recording),
        "needs_repair": len(ds.needs_repair),
    }


def recording_note(count: int, left_out: str) -> str:
    """``1 episode being recorded, not shown``: what a verb leaves out while it records."""
    return f"{count} episode{'s' if count != 1 else ''} being recorded, not {left_out}"


def repair_note(count: int, root: str | Path) -> str:
    verb = "needs" if count == 1 else "need"
    return (
        f"{count} episode{'s' if count != 1 else ''} {verb} `screenpilot dataset repair "
        f"{root}` (its recorder died), not shown"
    )


def check_dataset(root: str | Path, *, deep: bool = False) -> list[str]:
    """Every problem found, one line each; an empty list means the dataset is sound.
    Never modifies anything. ``deep`` decodes every frame instead of counting packets."""
    from .chunks import ChunkStore, check_chunk, seal_leftovers
    from .video import count_decodable_frames, count_packets

    root = Path(root)
    try:
        info = read_info(root)
        metas = read_episode_lines(root)
    except DatasetError as e:
        return [str(e)]
    # A live writer's episode is no problem: it is not in the dataset yet.
    problems = [
        f"{u.journal}: unfinished episode, its writer is gone "
        f"(run `screenpilot dataset repair {root}`)"
        for u in unfinished_episodes(root)
        if not u.live
    ]
    # Sealed chunks: their files against their index, no episode read one by one (a
    # deep check decodes every episode's video from its byte range).
    chunk_problems = [p for n, size in enumerate(info.get("chunks", []))
                      for p in check_chunk(root, n, size)]  # fmt: skip
    problems += chunk_problems
    if not chunk_problems and (leftovers := seal_leftovers(root)):
        problems.append(f"{leftovers[0]} and {len(leftovers) - 1} other file(s): left by an "
                        "interrupted seal, or one in progress (`screenpilot dataset repair "
                        f"{root}` removes them)")  # fmt: skip
    if deep and info.get("chunks") and not chunk_problems:
        from .reader import open_dataset

        ds = open_dataset(root)
        for position in range(len(ds.chunks)):
            ep = ds[position]
            found = count_decodable_frames(ep.video_source) if ep.num_frames else 0
            if found != ep.num_frames:
                problems.append(f"{ep.video_source}: {found} decodable frames, its index says "
                                f"{ep.num_frames}")  # fmt: skip
    store = ChunkStore(root, info.get("chunks", []))
    sealed = [] if chunk_problems else store.summaries().column("index").to_pylist()
    seen = set(sealed)
    if len(seen) != len(sealed):
        problems.append(f"{root / 'meta' / 'chunks'}: an episode is in two chunks")
    for meta in metas:
        index = meta.get("index")
        if index in seen:
            problems.append(f"{root / 'meta' / 'episodes.jsonl'}: episode {index} listed twice")
        seen.add(index)
        problems += _check_episode(root, meta, deep, count_packets, count_decodable_frames)
    return problems


def _check_episode(root: Path, meta: dict, deep: bool, count_packets, count_decodable) -> list[str]:
    paths = episode_paths(root, meta["index"])
    problems = []
    tables = {}
    for name in ("data", "events", "frames"):
        try:
            tables[name] = read_table(paths[name])
        except DatasetError as e:
            problems.append(str(e))
    n = meta["num_frames"]
    if "frames" in tables:
        times = [r["t"] for r in tables["frames"]]
        if len(times) != n:
            problems.append(f"{paths['frames']}: {len(times)} frame times, episodes.jsonl says {n}")
        if any(b < a for a, b in zip(times, times[1:], strict=False)):
            problems.append(f"{paths['frames']}: frame times out of order")
    if "events" in tables:
        times = [r["t"] for r in tables["events"]]
        if any(b < a for a, b in zip(times, times[1:], strict=False)):
            problems.append(f"{paths['events']}: events out of order")
    if "data" in tables:
        steps = tables["data"]
        if len(steps) != meta["length"]:
            problems.append(
                f"{paths['data']}: {len(steps)} steps, episodes.jsonl says {meta['length']}"
            )
        bad = [r["step"] for r in steps if not (0 <= (r["frame"] or 0) < max(n, 1))]
        if bad:
            problems.append(f"{paths['data']}: steps {bad[:5]} point at frames outside the video")
    if paths["dom"].exists():  # grounding: format version 2, sources that read the page
        problems += _check_grounding(paths["dom"], n)
    if n == 0:
        return problems
    if not paths["video"].exists():
        return [*problems, f"{paths['video']}: missing"]
    try:
        found = count_decodable(paths["video"]) if deep else count_packets(paths["video"])
    except DatasetError as e:
        return [*problems, str(e)]
    if found != n:
        what = "decodable frames" if deep else "frames"
        problems.append(f"{paths['video']}: {found} {what}, episodes.jsonl says {n}")
    return problems


def _check_grounding(path: Path, num_frames: int) -> list[str]:
    try:
        rows = read_table(path)
    except DatasetError as e:
        return [str(e)]
    if rows and set(rows[0]) != {name for name, _ in GROUNDING_COLUMNS}:
        return [f"{path}: columns {sorted(rows[0])}, expected {[n for n, _ in GROUNDING_COLUMNS]}"]
    frames = {-1 if r["frame"] is None else r["frame"] for r in rows}
    outside = sorted(f for f in frames if not 0 <= f < num_frames)
    if outside:
        return [f"{path}: text items of frames {outside[:5]} outside the video"]
    return []


def merge_datasets(sources: list[str | Path], out: str | Path) -> dict:
    """Copy the episodes of ``sources`` into a new dataset ``out``, renumbered in order.
    Sources are checked first, so a damaged one stops the merge before anything is copied."""
    from .reader import open_dataset

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out}: already exists; merge writes a new dataset")
    for src in sources:
        problems = check_dataset(src)
        if problems:
            raise DatasetError(f"cannot merge {src}: {problems[0]}")
    init_dataset(out)
    for src in sources:
        adopt_episodes(list(open_dataset(src)), out)
    return read_info(out)


def adopt_episodes(
    episodes: list[Episode], dst: Path, *, move: bool = False, note_source: bool = True
) -> list[dict]:
    """Append finished episodes (of other datasets) to ``dst``, in order, at its next
    indices; one commit for all, then full chunks are sealed. ``move`` renames a tail
    episode's files instead of copying them (scratch sources on the same disk);
    ``note_source`` records where each came from in its meta line."""
    from .chunks import TABLE_COLUMNS, seal_chunks

    first = next_episode_index(dst)
    metas = []
    for offset, episode in enumerate(episodes):
        index = first + offset
        target = episode_paths(dst, index)
        if episode.location is None:
            for name in ("data", "events", "frames", "dom", "video"):
                if episode.paths[name].exists():
                    target[name].parent.mkdir(parents=True, exist_ok=True)
                    if move:
                        os.replace(episode.paths[name], target[name])
                    else:
                        shutil.copyfile(episode.paths[name], target[name])
        else:  # a sealed episode becomes files of its own again, sealed anew in dst
            for name, columns in TABLE_COLUMNS.items():
                rows = episode.rows(name)
                if rows is not None:
                    write_table(target[name], rows, columns)
            if episode.location["video_bytes"]:
                with episode.video_source.open() as video:
                    write_atomic(target["video"], video.read())
        new_meta = {**episode.meta, "index": index}
        if note_source:
            new_meta["merged_from"] = {"dataset": str(episode.root), "index": episode.index}
        metas.append(new_meta)
    if metas:
        commit_episodes(dst, metas)
        seal_chunks(dst)
    return metas


def format_summary(summary: dict) -> str:
    lines = [
        f"dataset        {summary['path']}",
        f"format         version {summary['format_version']} (this screenpilot: {FORMAT_VERSION})",
        f"episodes       {summary['episodes']}  ({summary['successes']} successful, "
        f"{summary['recovered']} recovered, {summary['tasks']} task texts)",
        f"chunks         {summary['chunks']} sealed ({summary['episodes'] - summary['sealed']} "
        "episodes in files of their own)",
        f"grounding      {summary['grounded']} episodes with text items on their frames",
        f"steps          {summary['steps']}",
        f"frames         {summary['frames']}",
        f"duration       {summary['duration_s']:.1f} s",
        f"screen sizes   {', '.join(summary['screen_sizes']) or '-'}",
        f"fps            {', '.join(str(f) for f in summary['fps']) or '-'}",
        f"sources        {json.dumps(summary['sources'])}",
        "action types   "
        + (", ".join(f"{k} {v}" for k, v in summary["action_types"].items()) or "-"),
    ]
    if summary["recording"]:
        lines.append(recording_note(summary["recording"], "shown"))
    if summary["needs_repair"]:
        lines.append(repair_note(summary["needs_repair"], summary["path"]))
    return "\n".join(lines)
