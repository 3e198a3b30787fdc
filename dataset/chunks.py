"""Chunks: many finished episodes in a few large files (format version 3).

One file per episode and table makes a dataset of a million episodes five million files,
which file systems and object stores handle badly. So finished episodes are sealed, a
thousand at a time, into chunks (the same reason, and much the same answer, as
LeRobotDataset v3):

    meta/chunks/chunk_000000.parquet   the chunk's episode index: one row per episode, in
                                       dataset order: its meta line (JSON) and the columns
                                       that summaries need, where its rows start in each
                                       table, where its MP4 lies in the video file
    data/chunk_000000.parquet          the steps of all its episodes, episode by episode
    events/chunk_000000.parquet        (each table adds an ``episode`` column)
    frames/chunk_000000.parquet
    dom/chunk_000000.parquet
    videos/chunk_000000.mp4s           the episodes' MP4 files back to back, unchanged

Writing is unchanged: an episode is recorded into its journal and committed as files of
its own (the tail, listed in meta/episodes.jsonl). Sealing (``seal_chunks``) copies the
oldest tail episodes into a new chunk, then commits it in one atomic write of
meta/info.json, which lists the chunk sizes and where the unsealed part of
meta/episodes.jsonl starts (``tail_offset``); the episodes' own files are removed after.
A crash before that write leaves the chunk's files unlisted (the next seal overwrites
them); a crash after it leaves only files nobody reads. Chunks are never changed again.

Reading one episode stays cheap: its chunk's index (1,000 rows) and the parquet row
groups that hold its rows, and its MP4 read in place through a byte range.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
from collections import Counter, OrderedDict
from pathlib import Path

from .errors import DatasetError
from .events import EVENT_COLUMNS
from .format import (
    FRAME_COLUMNS,
    GROUNDING_COLUMNS,
    STEP_COLUMNS,
    episode_paths,
    read_info,
    read_tail,
    write_info,
)
from .locks import dataset_lock

CHUNK_EPISODES = 1000  # episodes a chunk: ~100 files per 100,000 episodes
ROW_GROUP_ROWS = 2048  # an episode's rows cost one or two row groups to read
TABLE_COLUMNS = {
    "data": STEP_COLUMNS,
    "events": EVENT_COLUMNS,
    "frames": FRAME_COLUMNS,
    "dom": GROUNDING_COLUMNS,
}
# The columns of a chunk's index besides the meta line: what `dataset info`, the training
# split and the sampler need, readable without parsing 1,000 JSON lines.
SUMMARY_COLUMNS = (
    ("index", "int64"),
    ("task", "string"),
    ("env", "string"),
    ("length", "int64"),
    ("num_frames", "int64"),
    ("num_events", "int64"),
    ("duration", "float64"),
    ("success", "bool"),
    ("recovered", "bool"),
    ("source", "string"),
    ("fps", "float64"),
    ("width", "int64"),
    ("height", "int64"),
)
LOCATION_COLUMNS = (
    ("data_start", "int64"),
    ("events_start", "int64"),
    ("frames_start", "int64"),
    ("dom_start", "int64"),  # -1: the episode has no grounding
    ("dom_rows", "int64"),
    ("video_offset", "int64"),
    ("video_bytes", "int64"),
)
INDEX_COLUMNS = (*SUMMARY_COLUMNS, ("meta", "string"), *LOCATION_COLUMNS)
UNPARSED_COLUMNS = [name for name, _ in INDEX_COLUMNS if name != "meta"]


def chunk_paths(root: Path, number: int) -> dict[str, Path]:
    name = f"chunk_{number:06d}"
    return {
        "index": root / "meta" / "chunks" / f"{name}.parquet",
        **{table: root / table / f"{name}.parquet" for table in TABLE_COLUMNS},
        "video": root / "videos" / f"{name}.mp4s",
    }


def summary_row(meta: dict) -> dict:
    return {
        **{name: meta.get(name) for name, _ in SUMMARY_COLUMNS},
        "env": (meta.get("metadata") or {}).get("env"),
        "recovered": bool(meta.get("recovered")),
    }


# ---- sealing -------------------------------------------------------------------------------
def seal_chunks(root: str | Path, *, partial: bool = False, size: int | None = None) -> int:
    """Seal the tail's oldest episodes into chunks of ``size`` (the dataset's
    ``chunk_episodes``, 1,000 by default) while that many are there; ``partial`` seals the
    rest too, into a smaller last chunk. Returns how many chunks were written."""
    root = Path(root)
    written = 0
    with dataset_lock(root, "seal"):  # one sealer at a time: chunk numbers stay in order
        while True:
            info = read_info(root)
            size = size or info.get("chunk_episodes", CHUNK_EPISODES)
            tail = read_tail(root, info.get("tail_offset", 0))
            if not tail or (len(tail) < size and not partial):
                return written
            batch = tail[:size]
            number = len(info.get("chunks", []))
            metas = [meta for meta, _ in batch]
            _write_chunk(root, number, metas)
            with dataset_lock(root, "commit"):
                info = read_info(root)
                info["chunks"] = [*info.get("chunks", []), len(batch)]
                info["tail_offset"] = batch[-1][1]
                info["chunk_episodes"] = size
                write_info(root, info)
            _remove_episode_files(root, metas)
            written += 1


def _remove_episode_files(root: Path, metas: list[dict]) -> None:
    for meta in metas:
        for name, path in episode_paths(root, meta["index"]).items():
            if name != "journal":
                path.unlink(missing_ok=True)


def _write_chunk(root: Path, number: int, metas: list[dict]) -> None:
    import pyarrow as pa

    paths = chunk_paths(root, number)
    parts: dict[str, list] = {table: [] for table in TABLE_COLUMNS}
    starts = dict.fromkeys(TABLE_COLUMNS, 0)
    rows = []
    video_tmp = paths["video"].with_name(paths["video"].name + ".tmp")
    video_tmp.parent.mkdir(parents=True, exist_ok=True)
    with open(video_tmp, "wb") as video:
        for meta in metas:
            files = episode_paths(root, meta["index"])
            location = {}
            for table, columns in TABLE_COLUMNS.items():
                if not files[table].exists():
                    if table != "dom":
                        raise DatasetError(f"{files[table]}: missing; cannot seal it into a chunk")
                    location.update(dom_start=-1, dom_rows=0)
                    continue
                part = _read_typed(files[table], columns)
                part = part.append_column("episode", pa.array([meta["index"]] * part.num_rows,
                                                              pa.int64()))  # fmt: skip
                parts[table].append(part)
                location[f"{table}_start"] = starts[table]
                if table == "dom":
                    location["dom_rows"] = part.num_rows
                starts[table] += part.num_rows
            location["video_offset"] = video.tell()
            if files["video"].exists():
                video.write(files["video"].read_bytes())
            location["video_bytes"] = video.tell() - location["video_offset"]
            rows.append({**summary_row(meta), "meta": json.dumps(meta, ensure_ascii=False),
                         **location})  # fmt: skip
        video.flush()
        os.fsync(video.fileno())
    for table, columns in TABLE_COLUMNS.items():
        schema = _schema(columns).append(pa.field("episode", pa.int64()))
        whole = pa.concat_tables(parts[table]) if parts[table] else schema.empty_table()
        _write_parquet(paths[table], whole)
    os.replace(video_tmp, paths["video"])
    _write_parquet(paths["index"], pa.Table.from_pylist(rows, schema=_schema(INDEX_COLUMNS)))


def _schema(columns):
    import pyarrow as pa

    return pa.schema([(name, pa.type_for_alias(kind)) for name, kind in columns])


def _read_typed(path: Path, columns):
    """An episode's table with exactly the chunk's columns (older writers may lack one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path, pre_buffer=False).read(use_threads=False)
    arrays = [
        table.column(name).cast(pa.type_for_alias(kind))
        if name in table.column_names
        else pa.nulls(table.num_rows, pa.type_for_alias(kind))
        for name, kind in columns
    ]
    return pa.Table.from_arrays(arrays, schema=_schema(columns))


def _write_parquet(path: Path, table) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        pq.write_table(table, f, row_group_size=ROW_GROUP_ROWS)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- reading -------------------------------------------------------------------------------
class ChunkStore:
    """The sealed part of one dataset: position -> (chunk, row of its index), the chunk
    indexes loaded on first use, the last few chunk tables kept open."""

    def __init__(self, root: Path, sizes: list[int], max_open: int = 8):
        self.root = root
        self.sizes = list(sizes)
        self.starts = [0]
        for n in self.sizes:
            self.starts.append(self.starts[-1] + n)
        self.max_open = max_open
        self._summaries = None
        self._open: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return self.starts[-1]

    def locate(self, position: int) -> tuple[int, int]:
        chunk = bisect.bisect_right(self.starts, position) - 1
        return chunk, position - self.starts[chunk]

    def meta_and_location(self, position: int) -> tuple[dict, dict]:
        """An episode's meta line and where its rows and bytes lie, from its chunk's
        index (read once while the chunk stays among the last few opened)."""
        chunk, row = self.locate(position)
        record = self.rows(chunk, "index", row, 1)[0]
        meta = json.loads(record["meta"])
        return meta, {"chunk": chunk, **{name: record[name] for name, _ in LOCATION_COLUMNS}}

    def summaries(self):
        """Every sealed episode's summary columns (and locations) as one pyarrow Table, in
        dataset order: the indexes read without their meta lines (most of their bytes)."""
        import pyarrow as pa

        if self._summaries is None:
            parts = [_read_parquet(chunk_paths(self.root, chunk)["index"], UNPARSED_COLUMNS)
                     for chunk in range(len(self.sizes))]  # fmt: skip
            empty = _schema(INDEX_COLUMNS).remove(_schema(INDEX_COLUMNS).get_field_index("meta"))
            self._summaries = pa.concat_tables(parts) if parts else empty.empty_table()
        return self._summaries

    def value_counts(self, table: str, name: str) -> Counter:
        """How often each value of one column of a table occurs over every sealed
        episode's rows (e.g. each action type among the steps)."""
        import pyarrow.compute as pc

        counts: Counter = Counter()
        for chunk in range(len(self.sizes)):
            values = self._table_file(chunk, table).read(columns=[name], use_threads=False)
            for pair in pc.value_counts(values.column(name)).to_pylist():
                counts[pair["values"]] += pair["counts"]
        return counts

    def rows(self, chunk: int, table: str, start: int, count: int) -> list[dict]:
        """``count`` rows of a chunk table from row ``start``, without the episode column."""
        if count <= 0:
            return []
        handle, group_starts = self._table_file(chunk, table, with_groups=True)
        # Read only the row groups that overlap the rows.
        first = bisect.bisect_right(group_starts, start) - 1
        last = bisect.bisect_right(group_starts, start + count - 1) - 1
        part = handle.read_row_groups(range(first, last + 1), use_threads=False)
        part = part.slice(start - group_starts[first], count)
        if "episode" in part.column_names:  # the tables' own column, not the rows' fields
            part = part.drop_columns(["episode"])
        return part.to_pylist()

    def _table_file(self, chunk: int, table: str, *, with_groups: bool = False):
        """The open ParquetFile of a chunk table (and where each of its row groups starts)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        key = (chunk, table)
        if key not in self._open:
            path = chunk_paths(self.root, chunk)[table]
            try:
                handle = pq.ParquetFile(path, pre_buffer=False)
            except (pa.ArrowException, OSError) as e:
                raise DatasetError(
                    f"{path}: unreadable parquet ({str(e).splitlines()[0]})"
                ) from None
            sizes = [handle.metadata.row_group(g).num_rows for g in range(handle.num_row_groups)]
            self._open[key] = (handle, [0, *itertools.accumulate(sizes)])
            while len(self._open) > self.max_open:
                self._open.popitem(last=False)[1][0].close()
        self._open.move_to_end(key)
        return self._open[key] if with_groups else self._open[key][0]

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1][0].close()

    def __getstate__(self):
        # Travels to DataLoader workers: open files do not.
        return {**self.__dict__, "_open": OrderedDict()}


def _read_parquet(path: Path, columns: list[str] | None = None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        raise DatasetError(f"{path}: missing")
    try:
        return pq.ParquetFile(path, pre_buffer=False).read(columns=columns, use_threads=False)
    except (pa.ArrowException, OSError) as e:
        raise DatasetError(f"{path}: unreadable parquet ({str(e).splitlines()[0]})") from None


def all_episode_metas(root: str | Path) -> list[dict]:
    """Every finished episode's meta line, sealed ones first, in dataset order."""
    root = Path(root)
    info = read_info(root)
    store = ChunkStore(root, info.get("chunks", []))
    sealed = [
        json.loads(text)
        for chunk in range(len(store.sizes))
        for text in _read_parquet(chunk_paths(root, chunk)["index"], ["meta"])
        .column("meta")
        .to_pylist()
    ]
    return sealed + [meta for meta, _ in read_tail(root, info.get("tail_offset", 0))]


def seal_leftovers(root: str | Path) -> list[Path]:
    """Files an interrupted seal left behind, which no reader uses: the own files of
    episodes already in a chunk (it died before removing them), and the files of a chunk
    it wrote but never committed. `dataset repair` removes them."""
    root = Path(root)
    info = read_info(root)
    store = ChunkStore(root, info.get("chunks", []))
    sealed = set(store.summaries().column("index").to_pylist())
    committed = {f"chunk_{n:06d}" for n in range(len(store.sizes))}
    found = []
    for folder in ("data", "events", "frames", "dom", "videos", "meta/chunks"):
        for path in sorted((root / folder).glob("*_*.*")):
            kind, _, number = path.stem.partition("_")
            episode_sealed = kind == "episode" and number.isdigit() and int(number) in sealed
            chunk_uncommitted = kind == "chunk" and path.name.split(".")[0] not in committed
            if episode_sealed or chunk_uncommitted:
                found.append(path)
    return found


# ---- checking ------------------------------------------------------------------------------
def check_chunk(root: Path, number: int, size: int) -> list[str]:
    """A sealed chunk's problems without reading an episode: the index against info.json,
    each table's row count and episode column against the index, the video file's size
    against its byte ranges."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    paths = chunk_paths(root, number)
    try:  # every column but the meta lines: the check never parses them
        index = _read_parquet(paths["index"], columns=UNPARSED_COLUMNS)
    except DatasetError as e:
        return [str(e)]
    if index.num_rows != size:
        return [f"{paths['index']}: {index.num_rows} episodes, meta/info.json says {size}"]
    problems = []
    counts = {
        "data": index.column("length"),
        "events": index.column("num_events"),
        "frames": index.column("num_frames"),
        "dom": index.column("dom_rows"),
    }
    for table, count in counts.items():
        expected = pc.sum(count).as_py() or 0
        try:
            rows = pq.ParquetFile(paths[table], pre_buffer=False).metadata.num_rows
        except (pa.ArrowException, OSError) as e:
            problems.append(f"{paths[table]}: unreadable ({str(e).splitlines()[0]})")
            continue
        if rows != expected:
            problems.append(f"{paths[table]}: {rows} rows, its index says {expected}")
            continue
        starts = index.column(f"{table}_start").to_pylist()
        ends = [s + n for s, n in zip(starts, count.to_pylist(), strict=True) if s >= 0]
        if table != "dom" and starts != [0, *ends[:-1]]:
            problems.append(f"{paths['index']}: {table} rows of episodes overlap or leave gaps")
    offsets = index.column("video_offset").to_pylist()
    lengths = index.column("video_bytes").to_pylist()
    if not paths["video"].exists():
        problems.append(f"{paths['video']}: missing")
    elif paths["video"].stat().st_size != sum(lengths):
        problems.append(
            f"{paths['video']}: {paths['video'].stat().st_size} bytes, its index says {sum(lengths)}"
        )
    if offsets != [0, *itertools.accumulate(lengths)][:-1]:
        problems.append(f"{paths['index']}: video byte ranges overlap or leave gaps")
    missing = [i for i, (n, b) in enumerate(zip(index.column("num_frames").to_pylist(), lengths,
                                                strict=True)) if n > 0 and b == 0]  # fmt: skip
    if missing:
        problems.append(
            f"{paths['video']}: episodes at rows {missing[:5]} have frames but no video"
        )
    return problems
