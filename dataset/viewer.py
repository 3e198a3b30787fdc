"""A static HTML viewer for a dataset of any size: one video player, a filterable list of
episodes grouped by sandbox task, and each episode's timeline of actions beside it.

The page plays each episode's own video from the dataset and draws the actions over it
in a canvas, so building the view renders nothing. What it writes (``DATASET/view`` by
default, or ``--out``):

    index.html, viewer.js, viewer.css   the page: static files, the same for every dataset
    index.js                            the episode list, one compact row an episode
    actions/00000.js ...                the actions of CHUNK episodes a file, loaded when
                                        one of those episodes is opened
    grounding/00000.js ...              the text items of their frames (format version
                                        2, only for chunks that have any), loaded when
                                        the page's "text boxes" toggle is on
    renders/episode_000003.mp4          only with ``render``: annotated 4:2:0 copies
    playable/episode_000004.mp4         4:4:4 YUV copies of videos that code the RGB
                                        planes (lossless episodes, desktop recordings):
                                        Chromium plays those with wrong colours

It must work opened as a file:// URL with no network: Chromium blocks fetch() of local
files there, so the data are scripts that the page adds as <script> tags. Only one
<video> exists at a time: Chromium refuses media players past a small limit.

Reading never writes: the dataset's own files are only read (finished episodes, from
meta/episodes.jsonl; a live writer's journal is not touched), and the output goes to
the view directory alone.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from . import annotate
from .actions import ACTION_FIELDS
from .errors import DatasetError, UserError
from .format import action_from_row, episode_name, write_atomic

# Episodes per actions file: small enough that opening an episode loads little, large
# enough that 10,000 episodes make tens of files, not thousands.
CHUNK = 250
# The page's static files (beside this module), by the name they get in the view.
PAGE_FILES = {"index.html": "viewer.html", "viewer.js": "viewer.js", "viewer.css": "viewer.css"}
# The columns of one row of index.js, in order (viewer.js reads them by position).
EPISODE_COLUMNS = (
    "index", "task", "group", "source", "success", "steps", "frames", "duration",
    "fps", "width", "height", "render", "grounding", "sealed", "playable",
)  # fmt: skip
NO_GROUP = "no sandbox task"
TEXT_FIELDS = ("text", "key")


def write_viewer(
    dataset,
    out_dir: str | Path | None = None,
    *,
    progress: bool = False,
    render: Iterable[int] = (),
) -> Path:
    """Write the viewer of ``dataset`` (a ``Dataset`` or its path) into ``out_dir``
    (default ``DATASET/view``) and return its ``index.html``. ``render`` names episodes
    (by index) that also get an annotated, browser-friendly video."""
    from .reader import open_dataset

    if isinstance(dataset, (str, Path)):
        dataset = open_dataset(dataset)
    out = Path(out_dir) if out_dir is not None else dataset.root / "view"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"{out}: cannot write the view here ({e.strerror}); pass --out DIR"
        ) from None

    episodes = list(dataset)
    rendered = _render(dataset, episodes, set(render), out, progress)
    for name, source in PAGE_FILES.items():
        write_atomic(out / name, resources.files(__package__).joinpath(source).read_bytes())
    _write_actions(episodes, out, progress)
    _write_grounding(episodes, out, progress)
    playable = _playable_copies(episodes, out, progress)
    _copy_sealed_videos([e for e in episodes if e.index not in playable], out)
    index = _index(dataset, episodes, out, rendered, playable)
    write_atomic(out / "index.js", f"window.SCREENPILOT_VIEW = {_json(index)};\n".encode())
    return out / "index.html"


# ---- the episode list ---------------------------------------------------------------------
def _index(dataset, episodes: list, out: Path, rendered: set[int], playable: set[int]) -> dict:
    """Everything the page shows before an episode is opened. Repeated strings (task
    texts, groups, sources) are stored once and referred to by number."""
    tables: dict[str, dict[str, int]] = {"task": {}, "group": {}, "source": {}}

    def ref(table: str, value: str) -> int:
        return tables[table].setdefault(value, len(tables[table]))

    rows = []
    for e in episodes:
        m = e.meta
        group = (m.get("metadata") or {}).get("env") or NO_GROUP
        rows.append([
            m["index"], ref("task", m["task"]), ref("group", group),
            ref("source", m.get("source", "unknown")), m.get("success"), m["length"],
            m["num_frames"], round(m.get("duration", 0.0), 3), m["fps"], m["width"],
            m["height"], int(m["index"] in rendered), int(e.has_grounding),
            int(e.location is not None), int(m["index"] in playable),
        ])  # fmt: skip
    return {
        "title": f"screenpilot dataset {dataset.root.resolve().name}",
        "steps": sum(e.meta["length"] for e in episodes),
        "frames": sum(e.num_frames for e in episodes),
        # Relative, so a dataset copied with its view keeps playing.
        "videos": quote(Path(os.path.relpath(dataset.root / "videos", out)).as_posix()) + "/",
        "chunk": CHUNK,
        "drawing": _drawing(),
        "no_group": NO_GROUP,
        "columns": EPISODE_COLUMNS,
        "tasks": list(tables["task"]),
        "groups": list(tables["group"]),
        "sources": list(tables["source"]),
        "episodes": rows,
    }


def _drawing() -> dict:
    """What the page needs to draw actions as annotate.py draws them on renders."""
    css = "rgb({},{},{})".format
    return {
        "hold_seconds": annotate.HOLD_SECONDS,
        "fade_floor": annotate.FADE_FLOOR,
        "min_view_side": annotate.MIN_VIEW_SIDE,
        "colours": {kind: css(*rgb) for kind, rgb in annotate.COLOURS.items()},
        "outline": css(*annotate.OUTLINE),
        "caption_bg": css(*annotate.CAPTION_BG),
        "caption_text": css(*annotate.CAPTION_TEXT),
        "badge_bg": css(*annotate.BADGE_BG),
    }


def _json(data) -> str:
    # JSON is valid JavaScript, and a .js file is never parsed as HTML: nothing to escape.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# ---- actions and text items, loaded on demand ---------------------------------------------
def _write_actions(episodes: list, out: Path, progress: bool) -> int:
    """actions/NNNNN.js: file N holds the actions of the episodes at positions N*CHUNK ..
    (N+1)*CHUNK - 1 of the list. Returns how many step tables were read."""
    (out / "actions").mkdir(exist_ok=True)
    return _write_chunks(episodes, out, "actions", "data", _episode_actions, progress)


def _write_grounding(episodes: list, out: Path, progress: bool) -> int:
    """grounding/NNNNN.js, as actions/ (None for an episode without text items); only for
    chunks with an episode that has them, so a version-1 dataset costs a stat an episode."""
    return _write_chunks(
        episodes, out, "grounding", "dom", _episode_grounding, progress,
        needed=lambda part: any(e.has_grounding for e in part),
    )  # fmt: skip


def _write_chunks(episodes, out, kind, table, read, progress, needed=None) -> int:
    """KIND/NNNNN.js: file N calls ``SCREENPILOT_VIEW_KIND(N, [...])`` with ``read(episode)``
    of the episodes at positions N*CHUNK .. (N+1)*CHUNK - 1 (``table`` names what it reads). A
    file whose episodes' tables are unchanged since it was written is kept: reading the
    tables is most of a build's time (0.5-1 ms an episode), and a dataset mostly grows at
    its end. Returns how many tables were read."""
    from screenpilot.console import progress_bar

    folder = out / kind
    bar = progress_bar(
        total=len(episodes), desc=f"read {kind}", unit="episode", disable=not progress
    )
    written, read_count = set(), 0
    for start in range(0, len(episodes), CHUNK):
        part = episodes[start : start + CHUNK]
        bar.update(len(part))
        if needed is not None and not needed(part):
            continue
        number = start // CHUNK
        path = folder / f"{number:05d}.js"
        stamp = _stamp(part, table)
        if _first_line(path) != stamp:
            chunk = _json([read(e) for e in part])
            call = f"SCREENPILOT_VIEW_{kind.upper()}({number}, {chunk});"
            write_atomic(path, f"{stamp}\n{call}\n".encode())
            read_count += len(part)
        written.add(path.name)
    bar.close()
    for stale in folder.glob("*.js"):  # from an earlier view of a larger dataset
        if stale.name not in written:
            stale.unlink()
    return read_count


def _stamp(episodes: list, table: str) -> str:
    """A comment naming what a chunk file was made from: which episodes, the file
    identity (inode, size, time) of each one's ``table``, and the screenpilot that wrote
    it. Tables are replaced whole (a new inode), never edited in place."""
    from screenpilot import __version__

    tables = []
    for e in episodes:
        try:
            st = e.paths[table].stat()
            tables.append([e.index, st.st_ino, st.st_size, st.st_mtime_ns])
        except OSError:
            tables.append([e.index, None])
    digest = hashlib.sha1(_json([__version__, EPISODE_COLUMNS, tables]).encode()).hexdigest()
    return f"// made from {digest}"


def _first_line(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().rstrip("\n")
    except OSError:
        return None


def _episode_grounding(episode) -> list | str | None:
    """Each text item as ``[frame, x0, y0, x1, y1, kind, text]``, None when the episode
    has none, or why they cannot be read."""
    try:
        rows = episode.rows("dom")
    except DatasetError as e:
        return _short(e, episode.paths["dom"])
    if rows is None:
        return None
    return [[r["frame"], r["x0"], r["y0"], r["x1"], r["y1"], r["kind"], r["text"]] for r in rows]


def _episode_actions(episode) -> list | str:
    """Each step as ``[frame, t, text form, type, *numbers]`` (the type's coordinates in
    ``ACTION_FIELDS`` order), or why there are none."""
    path = episode.paths["data"]
    try:
        rows = episode.rows("data")
    except DatasetError as e:
        return _short(e, path)
    steps = []
    for row in rows:
        try:
            action = action_from_row(row)
        except (UserError, KeyError) as e:
            return f"{path.name}: step {row.get('step')}: {e}"
        numbers = [getattr(action, f) for f in ACTION_FIELDS[action.type] if f not in TEXT_FIELDS]
        steps.append([action.frame or 0, action.t, action.to_text(), action.type, *numbers])
    return steps


def _short(error: Exception, path: Path) -> str:
    return str(error).replace(str(path), path.name)


def _copy_sealed_videos(episodes: list, out: Path) -> None:
    """out/sealed/episode_N.mp4 for each sealed episode: a page cannot play a byte range
    of a local file. Chunks never change, so a copy of the right size is kept."""
    for e in episodes:
        if e.location is None or not e.location["video_bytes"]:
            continue
        target = out / "sealed" / f"{episode_name(e.index)}.mp4"
        if target.exists() and target.stat().st_size == e.location["video_bytes"]:
            continue
        with e.video_source.open() as video:
            write_atomic(target, video.read())


def _playable_copies(episodes: list, out: Path, progress: bool) -> set[int]:
    """out/playable/episode_N.mp4 for each episode whose video codes the RGB planes: the
    same frames at the same times, re-encoded with the dataset's defaults (4:4:4 YUV). A
    copy newer than its source is kept. Returns the episodes that have one."""
    from screenpilot.console import progress_bar

    from .video import VideoWriter

    chosen = [
        e for e in episodes if e.meta.get("rgb_video", e.meta.get("lossless")) and e.num_frames
    ]
    bar = progress_bar(total=len(chosen), desc="playable copies", unit="episode",
                       disable=not progress or not chosen)  # fmt: skip
    for e in chosen:
        target = out / "playable" / f"{episode_name(e.index)}.mp4"
        source = e.video_source
        source_path = source.path if hasattr(source, "path") else source
        if not (target.exists() and target.stat().st_mtime >= source_path.stat().st_mtime):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp.mp4")
            with VideoWriter(tmp, e.width, e.height, e.fps) as writer:
                for frame in e.frames():
                    writer.write(frame)
            tmp.replace(target)
        bar.update(1)
    bar.close()
    return {e.index for e in chosen}


# ---- annotated renders, only when asked ----------------------------------------------------
def _render(dataset, episodes: list, indices: set[int], out: Path, progress: bool) -> set[int]:
    """Annotated H.264 4:2:0 copies of the chosen episodes (for browsers that cannot
    decode the dataset's 4:4:4 video), in ``out/renders``; returns the indices rendered."""
    from .render import render_episode

    by_index = {e.index: e for e in episodes}
    unknown = sorted(indices - set(by_index))
    if unknown:
        have = f"{min(by_index)} to {max(by_index)}" if by_index else "none"
        raise DatasetError(f"{dataset.root}: no episode {unknown[0]} to render (episodes: {have})")
    for index in sorted(indices):
        episode = by_index[index]
        try:
            render_episode(
                episode, out / "renders" / f"{episode_name(index)}.mp4", progress=progress
            )
        finally:
            episode.close()
    return indices
