"""LeRobotDataset export and import: our episodes as LeRobot's per-frame rows (v3.0).

The layout is the one ``LeRobotDataset(repo_id, root=OUT)`` of LeRobot 0.4.4 reads:

    OUT/
      meta/info.json                              codebase_version v3.0, fps, features, paths
      meta/tasks.parquet                          task text (the index) -> task_index
      meta/episodes/chunk-000/file-000.parquet    one row per episode: its rows, its video
                                                  span, its stats, our meta line
      meta/stats.json                             min, max, mean, std, quantiles per feature
      data/chunk-000/file-000.parquet             one row per frame, episodes back to back
      videos/observation.images.screen/chunk-000/file-000.mp4   their frames, back to back
      screenpilot/events/episode_000000.parquet   our raw input events (LeRobot ignores them)

LeRobot has one row per video frame on a fixed grid (``timestamp = frame_index / fps``)
and the action taken from that frame. We have frames captured at real, uneven times
(recorders drop frames) and actions at their own times, each pointing at the frame seen
before it. So, with nothing resampled, dropped or invented:

- every captured frame is a row; a frame seen before k > 1 actions is repeated, one row
  per action; a frame with none is one row with no action (``action.type`` "", a zero
  vector);
- ``timestamp`` is the row's slot on LeRobot's grid, not a time: the real capture time
  is ``observation.capture_time``, the action's own time ``action.time`` (NaN without an
  action), and our frame index ``observation.frame`` (it repeats on repeated frames);
- ``action`` is a float vector (``ACTION_VECTOR_NAMES``: a one-hot of the type, then
  pixel coordinates and scroll deltas, 0 where the type has none); typed text and key
  combos are the string columns ``action.text`` and ``action.key``.

Videos are written as ours are (``video.VideoWriter``: H.264 4:4:4, crf 10, a keyframe
every 10 frames), which LeRobot's decoder (torchcodec) reads; browsers do not play 4:4:4.
Import reads the columns back, so export -> import keeps every action, time, raw event
and frame (frames within video-coding tolerance).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from .actions import ACTION_FIELDS, ACTION_TYPES, Action
from .errors import DatasetError
from .events import EVENT_COLUMNS
from .format import write_table

LEROBOT_VERSION = "0.4.4"  # the LeRobot whose loader the round-trip test runs
CODEBASE_VERSION = "v3.0"
VIDEO_KEY = "observation.images.screen"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
EVENTS_PATH = "screenpilot/events/episode_{episode_index:06d}.parquet"
CHUNKS_SIZE = 1000  # files a chunk folder holds (LeRobot's default)
DATA_FILE_MB = 100  # info.json's limit; our data files move on with their video file
VIDEO_FILE_MB = 200  # a video file takes episodes until it is this big (LeRobot's default)
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
IMAGE_SAMPLES = 100  # frames an episode's image stats look at
EPISODE_META = "screenpilot.meta"  # our meta line, as JSON, in meta/episodes

_COORDS = ("x", "y", "x2", "y2", "dx", "dy")
ACTION_VECTOR_NAMES: tuple[str, ...] = (*(f"type.{t}" for t in ACTION_TYPES), *_COORDS)


# ---- one action <-> one row's action columns ---------------------------------------------
def action_columns(action: Action | None) -> dict:
    """The row columns of ``action`` (None: a frame on which nothing was done)."""
    vector = [0.0] * len(ACTION_VECTOR_NAMES)
    if action is None:
        return {"action": vector, "action.type": "", "action.text": "", "action.key": "",
                "action.time": math.nan}  # fmt: skip
    vector[ACTION_TYPES.index(action.type)] = 1.0
    for name in ACTION_FIELDS[action.type]:
        if name in _COORDS:
            vector[len(ACTION_TYPES) + _COORDS.index(name)] = float(getattr(action, name))
    return {
        "action": vector,
        "action.type": action.type,
        "action.text": action.text or "",
        "action.key": action.key or "",
        "action.time": action.t if action.t is not None else math.nan,
    }


def action_from_columns(row: dict) -> Action | None:
    """The Action of a row (None when the row has none); numbers come from the vector."""
    kind = row.get("action.type") or ""
    if not kind:
        return None
    fields = {}
    for name in ACTION_FIELDS.get(kind, ()):
        if name in _COORDS:
            fields[name] = round(float(row["action"][len(ACTION_TYPES) + _COORDS.index(name)]))
        else:
            fields[name] = row.get(f"action.{name}")
    return Action(type=kind, **fields)


# ---- features and stats --------------------------------------------------------------------
def features(width: int, height: int, fps: int) -> dict:
    """info.json's features: what each column holds; ``names`` document vector columns."""

    def scalar(dtype: str) -> dict:
        return {"dtype": dtype, "shape": [1], "names": None}

    return {
        VIDEO_KEY: {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": height,
                "video.width": width,
                "video.codec": "h264",
                "video.pix_fmt": "yuv444p",
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            },
        },
        "observation.frame": scalar("int64"),
        "observation.capture_time": scalar("float64"),
        "action": {
            "dtype": "float32",
            "shape": [len(ACTION_VECTOR_NAMES)],
            "names": list(ACTION_VECTOR_NAMES),
        },
        "action.type": scalar("string"),
        "action.text": scalar("string"),
        "action.key": scalar("string"),
        "action.time": scalar("float64"),
        "timestamp": scalar("float32"),
        "frame_index": scalar("int64"),
        "episode_index": scalar("int64"),
        "index": scalar("int64"),
        "task_index": scalar("int64"),
    }


def feature_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """LeRobot's stats of a numeric feature, per dimension of its (N, D) values."""
    flat = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    quantiles = np.quantile(flat, QUANTILES, axis=0)
    return {
        "min": flat.min(axis=0),
        "max": flat.max(axis=0),
        "mean": flat.mean(axis=0),
        "std": flat.std(axis=0),
        **{_quantile_name(q): v for q, v in zip(QUANTILES, quantiles, strict=True)},
        "count": np.array([len(flat)]),
    }


def image_stats(images: np.ndarray) -> dict[str, np.ndarray]:
    """LeRobot's stats of (N, H, W, 3) uint8 frames: per channel, in [0, 1], shaped
    (3, 1, 1) to broadcast over (C, H, W). From each channel's 256-level histogram, which
    costs a pass over the pixels where sorting them (quantiles) cost ten times as much."""
    levels = np.arange(256) / 255.0
    hist = np.stack([np.bincount(images[..., c].ravel(), minlength=256) for c in range(3)])
    total = hist.sum(axis=1, keepdims=True)
    mean = (hist * levels).sum(axis=1) / total[:, 0]
    var = (hist * (levels - mean[:, None]) ** 2).sum(axis=1) / total[:, 0]
    cdf = hist.cumsum(axis=1) / total
    used = np.nonzero(hist)
    stats = {
        "min": levels[[used[1][used[0] == c].min() for c in range(3)]],
        "max": levels[[used[1][used[0] == c].max() for c in range(3)]],
        "mean": mean,
        "std": np.sqrt(var),
        # the lowest level at which the channel's share of pixels reaches q
        **{_quantile_name(q): levels[(cdf < q).sum(axis=1)] for q in QUANTILES},
    }
    return {**{k: v.reshape(3, 1, 1) for k, v in stats.items()}, "count": np.array([len(images)])}


def _quantile_name(q: float) -> str:
    return f"q{round(q * 100):02d}"


def aggregate_stats(per_episode: list[dict[str, dict]]) -> dict[str, dict]:
    """Dataset stats from episode stats, as LeRobot aggregates them: weighted means,
    pooled variance, and quantiles averaged by count (an approximation, LeRobot's too)."""
    out = {}
    for key in per_episode[0]:
        parts = [s[key] for s in per_episode]
        counts = np.array([p["count"][0] for p in parts], dtype=np.float64)
        total = counts.sum()
        shape = (-1,) + (1,) * parts[0]["mean"].ndim
        weights = (counts / total).reshape(shape)
        mean = (np.stack([p["mean"] for p in parts]) * weights).sum(axis=0)
        spread = np.stack([p["std"] ** 2 + (p["mean"] - mean) ** 2 for p in parts])
        agg = {
            "min": np.min([p["min"] for p in parts], axis=0),
            "max": np.max([p["max"] for p in parts], axis=0),
            "mean": mean,
            "std": np.sqrt((spread * weights).sum(axis=0)),
            "count": np.array([int(total)]),
        }
        for q in (k for k in parts[0] if k.startswith("q")):
            agg[q] = (np.stack([p[q] for p in parts]) * weights).sum(axis=0)
        out[key] = agg
    return out


def _to_json(stats: dict[str, dict]) -> dict:
    return {k: {s: v.tolist() for s, v in ft.items()} for k, ft in stats.items()}


# ---- writing ---------------------------------------------------------------------------
def episode_rows(episode, episode_index: int, task_index: int, first_index: int, fps: int):
    """The LeRobot rows of one of our episodes (see the module's docstring)."""
    by_frame = defaultdict(list)
    for action in episode.actions:
        by_frame[action.frame].append(action)
    rows = []
    for frame, t in enumerate(episode.frame_times):
        for action in by_frame.pop(frame, None) or [None]:
            i = len(rows)
            rows.append(
                {
                    "observation.frame": frame,
                    "observation.capture_time": t,
                    **action_columns(action),
                    "timestamp": i / fps,
                    "frame_index": i,
                    "episode_index": episode_index,
                    "index": first_index + i,
                    "task_index": task_index,
                }
            )
    if by_frame:
        raise DatasetError(
            f"{episode.paths['data']}: actions point at frames {sorted(by_frame)[:5]} outside "
            f"the episode's {episode.num_frames} frames (run `screenpilot dataset check`)"
        )
    return rows


# Numeric row columns with stats. action.time is NaN on rows without an action, and a
# time is not something a policy normalises: it has none (nor have the strings).
STATS_KEYS = ("observation.frame", "observation.capture_time", "action", "timestamp",
              "frame_index", "episode_index", "index", "task_index")  # fmt: skip


class _Writer:
    """Episodes appended to the files of one LeRobotDataset. Rows and frames go to the
    current data and video file; both move on to the next file once the video is full
    (rows are far smaller than frames)."""

    def __init__(self, out: Path, width: int, height: int, fps: int):
        self.out, self.width, self.height, self.fps = out, width, height, fps
        self.chunk, self.file = 0, 0
        self.rows: list[dict] = []  # of the current data file
        self.total = 0  # rows written so far: the next row's index
        self.tasks: dict[str, int] = {}  # text -> task_index
        self.episodes: list[dict] = []  # meta/episodes lines
        self.stats: list[dict] = []  # per episode
        self.video = None  # the current video file, opened by the episode that starts it

    def _path(self, template: str) -> Path:
        path = self.out / template.format(
            video_key=VIDEO_KEY, chunk_index=self.chunk, file_index=self.file
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _close_files(self) -> None:
        self.video.close()
        self.video = None
        _write_parquet(self._path(DATA_PATH), self.rows, _data_schema())
        self.rows = []
        self.chunk, self.file = _next_file(self.chunk, self.file)

    def add(self, episode) -> None:
        from .video import VideoWriter

        if self.video is None:
            self.video = VideoWriter(self._path(VIDEO_PATH), self.width, self.height, self.fps)
        n = len(self.episodes)
        task_index = self.tasks.setdefault(episode.task, len(self.tasks))
        rows = episode_rows(episode, n, task_index, self.total, self.fps)
        first = self.video.count
        images = self._write_frames(episode, rows)
        stats = {VIDEO_KEY: image_stats(images)}
        for key in STATS_KEYS:
            stats[key] = feature_stats(np.array([r[key] for r in rows], dtype=np.float64))
        self.stats.append(stats)
        self.episodes.append({
            "episode_index": n, "tasks": [episode.task], "length": len(rows),
            "data/chunk_index": self.chunk, "data/file_index": self.file,
            "dataset_from_index": self.total, "dataset_to_index": self.total + len(rows),
            f"videos/{VIDEO_KEY}/chunk_index": self.chunk,
            f"videos/{VIDEO_KEY}/file_index": self.file,
            f"videos/{VIDEO_KEY}/from_timestamp": first / self.fps,
            f"videos/{VIDEO_KEY}/to_timestamp": self.video.count / self.fps,
            "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
            **{f"stats/{k}/{s}": v.tolist() for k, ft in stats.items() for s, v in ft.items()},
            EPISODE_META: json.dumps(episode.meta, ensure_ascii=False),
        })  # fmt: skip
        self.rows += rows
        self.total += len(rows)
        events = self.out / EVENTS_PATH.format(episode_index=n)
        write_table(events, episode.rows("events"), EVENT_COLUMNS)
        if self.video.path.stat().st_size >= VIDEO_FILE_MB * 2**20:
            self._close_files()

    def _write_frames(self, episode, rows: list[dict]) -> np.ndarray:
        """Writes a video frame per row (a repeated row shows its frame again); returns
        the few frames, shrunk to ~150 px as LeRobot does, that image stats look at."""
        repeats = np.bincount([r["observation.frame"] for r in rows], minlength=episode.num_frames)
        picks = set(
            np.linspace(0, len(rows) - 1, min(len(rows), IMAGE_SAMPLES)).round().astype(int)
        )
        step = max(1, max(self.width, self.height) // 150)
        sampled, written = [], 0
        for frame, image in enumerate(episode.frames()):
            for _ in range(repeats[frame]):
                if written in picks:
                    sampled.append(image[::step, ::step])
                self.video.write(image)
                written += 1
        if written != len(rows):
            raise DatasetError(
                f"{episode.paths['video']}: {written} frames decoded, {len(rows)} expected"
            )
        return np.stack(sampled)

    def finish(self) -> dict:
        """Writes the last files and the metadata; returns info.json."""
        if self.video is not None:
            self._close_files()
        _write_parquet(self.out / EPISODES_PATH.format(chunk_index=0, file_index=0), self.episodes)
        _write_tasks(self.out / "meta" / "tasks.parquet", self.tasks)
        stats = aggregate_stats(self.stats)
        (self.out / "meta" / "stats.json").write_text(json.dumps(_to_json(stats), indent=2))
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": None,
            "total_episodes": len(self.episodes),
            "total_frames": self.total,
            "total_tasks": len(self.tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": DATA_FILE_MB,
            "video_files_size_in_mb": VIDEO_FILE_MB,
            "fps": self.fps,
            "splits": {"train": f"0:{len(self.episodes)}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH,
            "features": features(self.width, self.height, self.fps),
        }
        (self.out / "meta" / "info.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
        return info


def export_lerobot(dataset, out: str | Path, *, fps: int | None = None, progress=False) -> dict:
    """Write ``dataset`` (an ``open_dataset``) as a LeRobotDataset (v3.0) in the new
    directory ``out``; returns its info.json. ``fps``, the rate of LeRobot's grid, defaults
    to the episodes' highest."""
    from screenpilot.console import progress_bar

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out}: already exists; export writes a new directory")
    if fps is not None and fps < 1:
        raise DatasetError(f"--fps must be a positive whole number, got {fps}")
    episodes = [ep for ep in dataset if ep.num_frames > 0]
    if not episodes:
        raise DatasetError(f"{dataset.root}: no episode with frames to export")
    sizes = sorted({(ep.width, ep.height) for ep in episodes})
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in sizes)
        raise DatasetError(
            f"{dataset.root}: screens of {len(sizes)} sizes ({listed}); a LeRobotDataset has "
            "one image shape: export each size from a dataset of its own"
        )
    fps = int(fps or max(1, round(max(ep.fps for ep in episodes))))
    writer = _Writer(out, *sizes[0], fps)
    for episode in progress_bar(episodes, desc="export", unit="ep", disable=not progress):
        writer.add(episode)
    return writer.finish()


def _next_file(chunk: int, file: int) -> tuple[int, int]:
    return (chunk + 1, 0) if file == CHUNKS_SIZE - 1 else (chunk, file + 1)


def _write_parquet(path: Path, rows: list[dict], schema=None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _data_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("observation.frame", pa.int64()),
            ("observation.capture_time", pa.float64()),
            ("action", pa.list_(pa.float32(), len(ACTION_VECTOR_NAMES))),
            ("action.type", pa.string()),
            ("action.text", pa.string()),
            ("action.key", pa.string()),
            ("action.time", pa.float64()),
            ("timestamp", pa.float32()),
            ("frame_index", pa.int64()),
            ("episode_index", pa.int64()),
            ("index", pa.int64()),
            ("task_index", pa.int64()),
        ]
    )


def _write_tasks(path: Path, tasks: dict[str, int]) -> None:
    """meta/tasks.parquet as pandas writes it: LeRobot reads it with pandas and takes a
    task's text from the frame's index, so the pandas index metadata must be there."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode",
                            "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
             "numpy_type": "int64", "metadata": None},
            {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
             "numpy_type": "object", "metadata": None},
        ],
        "pandas_version": "2.2.0",
    }  # fmt: skip
    table = pa.table(
        {
            "task_index": pa.array(list(tasks.values()), pa.int64()),
            "__index_level_0__": pa.array(list(tasks), pa.string()),
        }
    )
    table = table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


# ---- reading -----------------------------------------------------------------------------
def _read_parquet(path: Path) -> list[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as e:
        raise DatasetError(f"{path}: unreadable parquet ({str(e).splitlines()[0]})") from None


def read_lerobot_info(root: Path) -> dict:
    path = root / "meta" / "info.json"
    if not path.exists():
        raise DatasetError(f"{root}: not a LeRobotDataset (no meta/info.json)")
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise DatasetError(f"{path}: not valid JSON") from None
    if "codebase_version" not in info:
        raise DatasetError(f"{root}: not a LeRobotDataset (no codebase_version in meta/info.json)")
    version = str(info["codebase_version"])
    if not version.startswith("v3."):
        raise DatasetError(
            f"{path}: LeRobot codebase_version {version} is not supported (this reads v3.x)"
        )
    return info


def _read_tasks(root: Path) -> dict[int, str]:
    """task_index -> text; the text is the pandas index LeRobot writes (or a 'task' column)."""
    import pyarrow.parquet as pq

    path = root / "meta" / "tasks.parquet"
    table = pq.read_table(path)
    pandas_meta = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}"))
    names = [c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)] + ["task"]
    column = next((c for c in names if c in table.column_names), None)
    if column is None:
        raise DatasetError(f"{path}: no task text column")
    return {r["task_index"]: r[column] for r in table.to_pylist()}


def _video_key(info: dict) -> str:
    keys = [k for k, ft in info["features"].items() if ft.get("dtype") == "video"]
    if VIDEO_KEY in keys:
        return VIDEO_KEY
    if len(keys) != 1:
        raise DatasetError(
            f"expected one video feature (or {VIDEO_KEY}), found {keys or 'none'}: "
            "import reads screen recordings"
        )
    return keys[0]


class _DataFiles:
    """The rows of an episode from LeRobot's data files, which hold many episodes each:
    a file is read once, when its first episode is asked for."""

    def __init__(self, root: Path, template: str):
        self.root, self.template = root, template
        self.where, self.by_episode = None, {}

    def rows(self, line: dict) -> list[dict]:
        where = (line["data/chunk_index"], line["data/file_index"])
        if where != self.where:
            path = self.root / self.template.format(chunk_index=where[0], file_index=where[1])
            self.where, self.by_episode = where, defaultdict(list)
            for row in _read_parquet(path):
                self.by_episode[row["episode_index"]].append(row)
        rows = sorted(
            self.by_episode.get(line["episode_index"], []), key=lambda r: r["frame_index"]
        )
        if not rows:
            raise DatasetError(f"{self.root}: episode {line['episode_index']} has no rows")
        return rows


def import_lerobot(src: str | Path, out: str | Path, *, progress: bool = False) -> dict:
    """Read the LeRobotDataset ``src`` (v3.x, with our action columns) into the new
    dataset ``out``; returns its meta/info.json."""
    from screenpilot.console import progress_bar

    from .format import init_dataset, read_info

    src, out = Path(src), Path(out)
    info = read_lerobot_info(src)
    if "action.type" not in info["features"]:
        raise DatasetError(
            f"{src}: no action.type feature; import reads LeRobotDatasets of screen actions "
            "(as `screenpilot dataset export --format lerobot` writes them)"
        )
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out}: already exists; import writes a new dataset")
    tasks = _read_tasks(src)
    episode_files = sorted(src.glob("meta/episodes/*/*.parquet"))
    lines = sorted(
        (line for path in episode_files for line in _read_parquet(path)),
        key=lambda line: line["episode_index"],
    )
    data = _DataFiles(src, info["data_path"])
    init_dataset(out)
    for line in progress_bar(lines, desc="import", unit="ep", disable=not progress):
        _import_episode(src, info, line, data.rows(line), tasks, out)
    return read_info(out)


def _import_episode(src: Path, info: dict, line: dict, rows: list, tasks: dict, out: Path):
    """One LeRobot episode into an episode of ours: each frame once (a repeated row is the
    same capture seen again), at its real time; each action at its own."""
    from .events import Event
    from .format import EpisodeWriter
    from .video import VideoReader

    key, fps, n = _video_key(info), info["fps"], line["episode_index"]
    height, width = info["features"][key]["shape"][:2]
    ours = json.loads(line.get(EPISODE_META) or "{}")  # our meta line, if we exported it
    video_path = src / info["video_path"].format(
        video_key=key,
        chunk_index=line[f"videos/{key}/chunk_index"],
        file_index=line[f"videos/{key}/file_index"],
    )
    first = round(line[f"videos/{key}/from_timestamp"] * fps)  # the episode's first frame
    events_path = src / EVENTS_PATH.format(episode_index=n)
    imported_from = {"format": "lerobot", "dataset": str(src), "episode_index": n}
    writer = EpisodeWriter(
        out,
        ours.get("task") or tasks[rows[0]["task_index"]],
        width,
        height,
        fps=ours.get("fps", fps),
        source=ours.get("source", "lerobot"),
        metadata={**ours.get("metadata", {}), "imported_from": imported_from},
        clock=lambda: 0.0,
    )
    with VideoReader(video_path, fps) as video, writer:
        shown = None
        for row in rows:
            t = row.get("observation.capture_time", row["timestamp"])
            frame = row.get("observation.frame", row["frame_index"])
            if frame != shown:
                writer.add_frame(video.read(first + row["frame_index"]), t=t)
                shown = frame
            action = action_from_columns(row)
            if action is not None:
                when = row.get("action.time")
                when = t if when is None or math.isnan(when) else when
                writer.add_action(action, t=when, with_events=not events_path.exists())
        if events_path.exists():  # the raw events we exported, rather than synthesised ones
            for event in _read_parquet(events_path):
                writer.add_event(Event.from_dict(event))
        writer.set_outcome(**ours.get("outcome", {}))
