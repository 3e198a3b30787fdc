"""The episode format on disk (version 3), and ``EpisodeWriter``.

    DATASET/
      meta/info.json                 format version, counts, fps, screen sizes, sources;
                                     the sealed chunks' sizes and ``tail_offset``
      meta/episodes.jsonl            one line per finished episode, in commit order; the
                                     lines from byte ``tail_offset`` on are the tail
      data/episode_000000.parquet    a tail episode: one row per step: time, frame index,
                                     action fields
      events/episode_000000.parquet  raw input events (time, kind, x, y, button, key, text)
      frames/episode_000000.parquet  the capture time of every video frame
      dom/episode_000000.parquet     grounding: one row per visible text item of a frame
                                     (frame, text, kind, box x0 y0 x1 y1 in screenshot
                                     pixels, x1/y1 exclusive); only for episodes whose
                                     source could read the page, and only their frames
                                     that were read
      videos/episode_000000.mp4      the screen, one video frame per captured frame
      journal/episode_000000.jsonl   only while an episode is being written
      meta/chunks/, */chunk_*.parquet, videos/chunk_*.mp4s
                                     sealed episodes, a thousand to a chunk (chunks.py)

Version 2 added dom/, version 3 the chunks. Older datasets are read as they are (a
version-1 episode has no grounding; a version-2 dataset is all tail). A writer that
appends to one marks it version 3.

While an episode is written, every frame time, event and step goes to its journal
(flushed line by line) and the frames to a fragmented MP4; the writer holds a lock on
the journal until the episode is committed (``journal.py``). Readers never write: they
leave journals alone, live or not. A writer killed with SIGKILL leaves both files
behind and lets go of the lock; ``dataset repair`` (``recover_unfinished``) turns them
into a finished episode that lost at most the last second of video.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from .actions import ACTION_FIELDS, Action
from .errors import DatasetError
from .events import EVENT_COLUMNS, Event
from .segment import SegmentConfig, frame_before, segment_events

FORMAT_NAME = "screenpilot-episodes"
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)

STEP_COLUMNS = (
    ("step", "int32"),
    ("t", "float64"),
    ("frame", "int32"),
    ("type", "string"),
    ("x", "int32"),
    ("y", "int32"),
    ("x2", "int32"),
    ("y2", "int32"),
    ("dx", "int32"),
    ("dy", "int32"),
    ("text", "string"),
    ("key", "string"),
    # How sure the labeller was of a step it inferred from the video (`screenpilot label`);
    # null for a step that was recorded. Tables written before it have no such column.
    ("confidence", "float32"),
)
FRAME_COLUMNS = (("frame", "int32"), ("t", "float64"))
GROUNDING_COLUMNS = (
    ("frame", "int32"),
    ("text", "string"),
    ("kind", "string"),
    ("x0", "int32"),
    ("y0", "int32"),
    ("x1", "int32"),
    ("y1", "int32"),
)
GROUNDING_ITEM_KEYS = ("text", "kind", "x0", "y0", "x1", "y1")
# The element kinds of text items, as the sandbox reads them (env/grounding.js).
GROUNDING_KINDS = ("button", "link", "label", "checkbox", "radio", "input", "select", "option",
                   "heading", "text")  # fmt: skip


# ---- paths ------------------------------------------------------------------------------
def episode_name(index: int) -> str:
    return f"episode_{index:06d}"


def episode_paths(root: Path, index: int) -> dict[str, Path]:
    name = episode_name(index)
    return {
        "data": root / "data" / f"{name}.parquet",
        "events": root / "events" / f"{name}.parquet",
        "frames": root / "frames" / f"{name}.parquet",
        "dom": root / "dom" / f"{name}.parquet",
        "video": root / "videos" / f"{name}.mp4",
        "journal": root / "journal" / f"{name}.jsonl",
    }


def info_path(root: Path) -> Path:
    return root / "meta" / "info.json"


def episodes_path(root: Path) -> Path:
    return root / "meta" / "episodes.jsonl"


# ---- small file helpers ------------------------------------------------------------------
def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` whole or not at all: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_table(path: Path, rows: list[dict], columns: tuple[tuple[str, str], ...]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.type_for_alias(kind)) for name, kind in columns])
    table = pa.Table.from_pylist([{n: r.get(n) for n, _ in columns} for r in rows], schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_table(path: Path) -> list[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        raise DatasetError(f"{path}: missing")
    # Episode tables are tiny and a dataset has thousands: without pyarrow's threads and
    # read-ahead a read costs a quarter of the CPU of pq.read_table (0.5 ms against 2.0).
    try:
        return pq.ParquetFile(path, pre_buffer=False).read(use_threads=False).to_pylist()
    except (pa.ArrowException, OSError) as e:
        raise DatasetError(f"{path}: unreadable parquet ({str(e).splitlines()[0]})") from None


def read_tail(root: Path, offset: int = 0) -> list[tuple[dict, int]]:
    """The meta lines of meta/episodes.jsonl from byte ``offset`` on, each with the byte
    offset just past it (where the tail starts once it is sealed)."""
    path = episodes_path(root)
    if not path.exists():
        return []
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    out, position = [], offset
    lines = data.split(b"\n")
    for n, line in enumerate(lines):
        position += len(line) + 1
        if not line.strip():
            continue
        try:
            out.append((json.loads(line), position))
        except json.JSONDecodeError:
            if n == len(lines) - 1:
                break  # a writer's commit being appended as we read: not an episode yet
            raise DatasetError(f"{path}: a line after byte {offset} is not JSON") from None
    return out


def read_episode_lines(root: Path) -> list[dict]:
    """The tail's meta lines: finished episodes not sealed into a chunk yet."""
    offset = read_info(root).get("tail_offset", 0) if info_path(root).exists() else 0
    return [meta for meta, _ in read_tail(root, offset)]


def read_info(root: Path) -> dict:
    path = info_path(root)
    if not root.exists():
        raise DatasetError(f"{root}: no such dataset directory")
    if not path.exists():
        raise DatasetError(f"{root}: not a screenpilot dataset (no meta/info.json)")
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise DatasetError(f"{path}: not valid JSON") from None
    version = info.get("format_version")
    if "codebase_version" in info and "format" not in info:
        raise DatasetError(
            f"{root}: a LeRobotDataset, not a screenpilot dataset; `screenpilot dataset "
            f"import {root} --format lerobot --out DIR` reads it"
        )
    if info.get("format") != FORMAT_NAME or version not in READABLE_VERSIONS:
        raise DatasetError(
            f"{path}: format {info.get('format')!r} version {version!r} is not supported "
            f"(this screenpilot reads {FORMAT_NAME} versions "
            f"{', '.join(map(str, READABLE_VERSIONS))})"
        )
    return info


def init_dataset(root: Path) -> None:
    """Create an empty dataset, or check that ``root`` already is one."""
    if info_path(root).exists():
        read_info(root)
        return
    if root.exists() and any(root.iterdir()):
        raise DatasetError(f"{root}: exists and is not a screenpilot dataset")
    write_info(root, _empty_info())


def _empty_info() -> dict:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "episodes": 0,
        "next_index": 0,
        "steps": 0,
        "frames": 0,
        "fps": [],
        "screen_sizes": [],
        "sources": [],
        "chunks": [],  # episodes in each sealed chunk, in order
        "tail_offset": 0,  # where meta/episodes.jsonl's unsealed lines start
    }


def _add_episode(info: dict, meta: dict) -> dict:
    """``info`` with one more episode counted in."""
    return {
        **info,
        # What this screenpilot writes is its own version (a v1 dataset it appends to is v2).
        "format_version": FORMAT_VERSION,
        "episodes": info["episodes"] + 1,
        "next_index": max(info["next_index"], meta["index"] + 1),
        "steps": info["steps"] + meta["length"],
        "frames": info["frames"] + meta["num_frames"],
        "fps": sorted({*info["fps"], meta["fps"]}),
        "screen_sizes": sorted(
            {*map(tuple, info["screen_sizes"]), (meta["width"], meta["height"])}
        ),
        "sources": sorted({*info["sources"], meta["source"]}),
    }


def write_info(root: Path, info: dict) -> None:
    write_atomic(info_path(root), (json.dumps(info) + "\n").encode())


def commit_episodes(root: Path, metas: list[dict], *, durable: bool = True) -> None:
    """The commit point of episodes: once their lines are in meta/episodes.jsonl, they
    exist. ``durable`` syncs the lines to disk first (skipped for scratch datasets, where
    it is most of the cost of a small episode). info.json is then updated incrementally:
    recomputing it would read every line, which made writing 10,000 episodes quadratic."""
    from .locks import dataset_lock

    path = episodes_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One committer at a time: two writers' read-modify-write of info.json would lose one.
    with dataset_lock(root, "commit"), open(path, "a") as f:
        f.write("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in metas))
        f.flush()
        if durable:
            os.fsync(f.fileno())
        info = read_info(root)
        for meta in metas:
            info = _add_episode(info, meta)
        write_info(root, info)


def next_episode_index(root: Path) -> int:
    used = [read_info(root)["next_index"] - 1]
    journal = root / "journal"
    if journal.exists():
        used += [int(p.stem.split("_")[1]) for p in journal.glob("episode_*.jsonl")]
    return max(used) + 1


def step_row(i: int, action: Action) -> dict:
    return {"step": i, **action.to_dict()}


def action_from_row(row: dict) -> Action:
    fields = ACTION_FIELDS.get(row.get("type"), ())
    data = {k: row[k] for k in ("type", *fields)}
    return Action.from_dict(data).with_time(row["t"], row["frame"])


def grounding_item(item: dict) -> dict:
    """A text item as stored: ``{"text", "kind", "x0", "y0", "x1", "y1"}``, box in ints."""
    try:
        return {
            "text": str(item["text"]),
            "kind": str(item["kind"]),
            **{k: int(item[k]) for k in GROUNDING_ITEM_KEYS[2:]},
        }
    except (KeyError, TypeError, ValueError):
        raise DatasetError(
            f"a grounding item has {', '.join(GROUNDING_ITEM_KEYS)}, got {item!r}"
        ) from None


def grounding_rows(grounding: dict[int, list[dict]]) -> list[dict]:
    """The dom table's rows: frame by frame, each frame's items in their order."""
    return [{"frame": f, **item} for f in sorted(grounding) for item in grounding[f]]


def grounding_by_frame(rows: list[dict]) -> dict[int, list[dict]]:
    """The dom table's rows back as frame -> items."""
    out: dict[int, list[dict]] = {}
    for row in rows:
        out.setdefault(row["frame"], []).append({k: row[k] for k in GROUNDING_ITEM_KEYS})
    return out


# ---- writing an episode ---------------------------------------------------------------------
class EpisodeWriter:
    """Writes one episode: frames and input events (or explicit actions) on one clock.

    ``clock`` is the clock your timestamps come from (``time.monotonic`` by default);
    times are stored relative to the moment the writer was created. Pass ``t=None`` to
    stamp an item with the clock's current time.

        with EpisodeWriter("demos", task="Click OK", width=160, height=210) as ep:
            ep.add_frame(screenshot)
            ep.add_event(Event(t=..., kind="mouse_down", x=80, y=105, button="left"))
            ...
    """

    def __init__(
        self,
        root: str | Path,
        task: str,
        width: int,
        height: int,
        *,
        fps: float = 10,
        source: str = "unknown",
        metadata: dict | None = None,
        lossless: bool = False,
        clock: Callable[[], float] = time.monotonic,
        segment_config: SegmentConfig | None = None,
        durable: bool = True,
        video_options: dict | None = None,
    ):
        """``video_options``: more of VideoWriter's settings (the desktop recorder's
        encoder preset and input format for large screens)."""
        from .journal import create_journal
        from .video import VideoWriter

        self.root = Path(root)
        init_dataset(self.root)
        self.clock = clock
        self.t0 = clock()
        self.segment_config = segment_config
        self.durable = durable
        self.header = {
            "format_version": FORMAT_VERSION,
            "index": None,  # claimed with the journal
            "task": task,
            "width": int(width),
            "height": int(height),
            "fps": fps,
            "source": source,
            "lossless": lossless,
            # The video codes the RGB planes (libx264rgb: lossless, and the desktop
            # recorder's screens), which browsers show with wrong colours: the viewer
            # plays a 4:4:4 YUV copy of it.
            "rgb_video": lossless or bool((video_options or {}).get("rgb")),
            "metadata": metadata or {},
            "started_at": time.time(),
            # The writer's clock at t = 0: lines the episode up with other logs of that clock.
            "clock_origin": self.t0,
        }
        self.frame_times: list[float] = []
        self.events: list[Event] = []
        self.steps: list[Action] = []
        # frame -> its text items; None until the source reads any (desktop: never)
        self.grounding: dict[int, list[dict]] | None = None
        self.outcome: dict = {}
        # Open and locked until finish(): the lock tells readers this episode is live.
        self.index, self._journal = create_journal(self.root, self.header)
        self.header["index"] = self.index
        self.paths = episode_paths(self.root, self.index)
        self.paths["video"].parent.mkdir(parents=True, exist_ok=True)
        self._video = VideoWriter(
            self.paths["video"], width, height, fps, lossless=lossless, **(video_options or {})
        )
        self.closed = False

    def _now(self, t: float | None) -> float:
        return (self.clock() if t is None else t) - self.t0

    def _log(self, record: dict) -> None:
        # One line a record, flushed to the OS at once: SIGKILL cannot take it back.
        self._journal.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._journal.flush()

    def add_frame(self, frame, t: float | None = None) -> int:
        """Append an (H, W, 3) uint8 RGB frame captured at clock time ``t``."""
        rel = self._now(t)
        index = self._video.write(frame)
        self.frame_times.append(rel)
        self._log({"frame": index, "t": rel})
        return index

    def add_grounding(self, frame: int, items: list[dict]) -> None:
        """The visible text items of frame ``frame`` (already added): text, kind and box
        in screenshot pixels (env/grounding.py). Given again for a frame, the last wins."""
        if not 0 <= frame < len(self.frame_times):
            raise DatasetError(
                f"grounding for frame {frame}, but the episode has {len(self.frame_times)} frames"
            )
        items = [grounding_item(item) for item in items]
        if self.grounding is None:
            self.grounding = {}
        self.grounding[frame] = items
        self._log({"grounding": {"frame": frame, "items": items}})

    def add_event(self, event: Event) -> None:
        """A raw input event; its ``t`` is on the writer's clock."""
        rel = Event(**{**event.to_dict(), "t": self._now(event.t)})
        self.events.append(rel)
        self._log({"event": rel.to_dict()})

    def add_action(
        self, action: Action, t: float | None = None, *, with_events: bool = True
    ) -> Action:
        """An explicit step (scripted experts, the agent): stored as given instead of
        being derived from events. Its raw events are synthesised unless told not to."""
        from .segment import actions_to_events

        rel = self._now(action.t if t is None else t)
        step = action.with_time(rel, frame_before(self.frame_times, rel) if self.frame_times else 0)
        self.steps.append(step)
        self._log({"step": step.to_dict()})
        if with_events:
            for ev in actions_to_events([step.with_time(rel, None)]):
                self.events.append(ev)
                self._log({"event": ev.to_dict()})
        return step

    def set_outcome(self, **outcome) -> None:
        """Task outcome (``success``, ``reward`` ...), kept in the episode's metadata."""
        self.outcome.update(outcome)
        self._log({"outcome": outcome})

    def finish(self) -> dict:
        """Close the video and write the episode's tables; returns its meta line."""
        if self.closed:
            raise DatasetError("episode already finished")
        from .journal import same_file

        self.closed = True
        self._video.close()
        try:
            if not same_file(self._journal.fileno(), self.paths["journal"]):
                raise DatasetError(
                    f"{self.root}: episode {self.index} was finished by `dataset repair "
                    "--force` while it was being recorded; what came after is not in it"
                )
            meta = finalize_episode(
                self.root,
                self.header,
                self.frame_times,
                self.events,
                self.steps or None,
                self.outcome,
                self.segment_config,
                durable=self.durable,
                grounding=self.grounding,
            )
            # Gone before the lock is: no reader sees a committed episode's journal unlocked.
            self.paths["journal"].unlink()
        finally:
            self._journal.close()
        return meta

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc) -> None:
        if not self.closed:
            self.finish()


def finalize_episode(
    root: Path,
    header: dict,
    frame_times: list[float],
    events: list[Event],
    steps: list[Action] | None,
    outcome: dict,
    segment_config: SegmentConfig | None = None,
    extra: dict | None = None,
    durable: bool = True,
    grounding: dict[int, list[dict]] | None = None,
) -> dict:
    """Write an episode's parquet tables and commit its line to meta/episodes.jsonl.
    ``grounding`` (frame -> text items) gives the dom table; None writes none."""
    index = header["index"]
    paths = episode_paths(root, index)
    events = sorted(events, key=lambda e: e.t)
    if steps is None:
        steps = segment_events(events, frame_times, segment_config)
    write_table(paths["events"], [e.to_dict() for e in events], EVENT_COLUMNS)
    write_table(
        paths["frames"], [{"frame": i, "t": t} for i, t in enumerate(frame_times)], FRAME_COLUMNS
    )
    write_table(paths["data"], [step_row(i, a) for i, a in enumerate(steps)], STEP_COLUMNS)
    if grounding is not None:
        write_table(paths["dom"], grounding_rows(grounding), GROUNDING_COLUMNS)
    ends = [t for t in (frame_times[-1:] + [e.t for e in events[-1:]] + [s.t for s in steps[-1:]])]
    meta = {
        "index": index,
        "task": header["task"],
        "length": len(steps),
        "num_frames": len(frame_times),
        "num_events": len(events),
        "duration": round(max(ends, default=0.0), 6),
        "success": outcome.get("success"),
        "source": header["source"],
        "fps": header["fps"],
        "width": header["width"],
        "height": header["height"],
        "lossless": header["lossless"],
        "rgb_video": header.get("rgb_video", header["lossless"]),
        "outcome": outcome,
        "metadata": header["metadata"],
        "clock_origin": header.get("clock_origin"),
        **(extra or {}),
    }
    commit_episodes(root, [meta], durable=durable)
    return meta
