"""Reading a dataset: ``open_dataset(path)`` -> episodes -> actions, events, frames."""

from __future__ import annotations

import bisect
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .actions import Action
from .errors import DatasetError, FrameIndexError
from .events import Event
from .format import (
    action_from_row,
    episode_paths,
    grounding_by_frame,
    read_episode_lines,
    read_info,
    read_table,
)

if TYPE_CHECKING:
    from .chunks import ChunkStore


class Episode:
    """One recorded episode. Tables load on first use; the video opens on first frame.
    A tail episode reads files of its own; a sealed one (``location`` in ``chunks``)
    its rows of the chunk's tables and its byte range of the chunk's video."""

    def __init__(
        self,
        root: Path,
        meta: dict,
        location: dict | None = None,
        chunks: ChunkStore | None = None,
        dataset: Dataset | None = None,
    ):
        self.root = root
        self.location = location
        self._chunks = chunks
        self._dataset = dataset  # where to look when a seal moved this tail episode
        self.meta = meta
        self.index: int = meta["index"]
        self.task: str = meta["task"]
        self.num_frames: int = meta["num_frames"]
        self.fps: float = meta["fps"]
        self.width: int = meta["width"]
        self.height: int = meta["height"]
        self.success: bool | None = meta.get("success")
        if location is None:
            self.paths = episode_paths(root, self.index)
        else:  # where its rows are: for messages and the viewer's cache stamps
            from .chunks import chunk_paths

            self.paths = chunk_paths(root, location["chunk"])
        self._video = None

    def _follow_seal(self) -> None:
        """A tail episode whose files are gone was sealed since its dataset was opened
        (a bulk writer appended meanwhile): read it from its chunk from now on."""
        if self.location is not None or self._dataset is None or self.paths["data"].exists():
            return
        found = self._dataset.find_sealed(self.index)
        if found is not None:
            from .chunks import chunk_paths

            self.location, self._chunks = found
            self.paths = chunk_paths(self.root, self.location["chunk"])

    def rows(self, table: str) -> list[dict] | None:
        """The rows of one of its tables (data, events, frames, dom); None for a dom
        table the episode does not have."""
        self._follow_seal()
        if self.location is None:
            if table == "dom" and not self.paths["dom"].exists():
                return None
            return read_table(self.paths[table])
        counts = {"data": self.meta["length"], "events": self.meta["num_events"],
                  "frames": self.num_frames, "dom": self.location["dom_rows"]}  # fmt: skip
        start = self.location[f"{table}_start"]
        if start < 0:
            return None
        return self._chunks.rows(self.location["chunk"], table, start, counts[table])

    @property
    def has_grounding(self) -> bool:
        self._follow_seal()
        if self.location is None:
            return self.paths["dom"].exists()
        return self.location["dom_start"] >= 0

    @property
    def video_source(self):
        """What VideoReader opens: the episode's MP4 file, or its byte range of a chunk's."""
        self._follow_seal()
        if self.location is None:
            return self.paths["video"]
        from .video import ByteRange

        return ByteRange(self.paths["video"], self.location["video_offset"],
                         self.location["video_bytes"])  # fmt: skip

    def __repr__(self) -> str:
        return f"Episode({self.index}, {self.task!r}, {len(self.actions)} steps, {self.num_frames} frames)"

    @cached_property
    def actions(self) -> list[Action]:
        """The steps, each with its time ``.t`` and the ``.frame`` seen before it."""
        return [action_from_row(r) for r in self.rows("data")]

    @cached_property
    def played(self) -> list[Action]:
        """The actions the episode's policy actually took. Usually its steps; a DAgger
        episode's steps are the expert's labels and what the learner did instead is kept
        in the outcome (``executed``), which is what the screens show happening."""
        executed = (self.meta.get("outcome") or {}).get("executed")
        if not executed:
            return self.actions
        return [Action.from_text(text) for text in executed]

    @cached_property
    def events(self) -> list[Event]:
        return [Event.from_dict(r) for r in self.rows("events")]

    @cached_property
    def frame_times(self) -> list[float]:
        return [r["t"] for r in self.rows("frames")]

    @cached_property
    def grounding(self) -> dict[int, list[dict]]:
        """Frame -> the text items it shows (``{"text", "kind", "x0", "y0", "x1", "y1"}``,
        box in screen pixels, x1/y1 exclusive); {} for an episode recorded without them
        (desktop recordings, format version 1). Labels for training, not model input."""
        rows = self.rows("dom")
        return {} if rows is None else grounding_by_frame(rows)

    @property
    def duration(self) -> float:
        return self.meta.get("duration", 0.0)

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` as (H, W, 3) uint8 RGB."""
        if not isinstance(i, (int, np.integer)) or not 0 <= i < self.num_frames:
            raise FrameIndexError(
                f"{self.paths['video']}: frame {i} out of range (the episode has {self.num_frames})"
            )
        if self._video is None:
            from .video import VideoReader

            source = self.video_source
            if not self.paths["video"].exists():
                raise DatasetError(f"{self.paths['video']}: missing")
            self._video = VideoReader(source, self.fps, self.width, self.height)
        return self._video.read(int(i))

    def frame_at(self, t: float) -> np.ndarray:
        """The last frame captured at or before time ``t`` (seconds on the episode clock)."""
        return self.frame(self.frame_index_at(t))

    def frame_index_at(self, t: float) -> int:
        return max(0, bisect.bisect_right(self.frame_times, t) - 1)

    def frames(self):
        """Every frame in order (one sequential decode, cheaper than frame(i) in a loop)."""
        from .video import VideoReader

        with VideoReader(self.video_source, self.fps, self.width, self.height) as reader:
            for n, img in enumerate(reader):
                if n >= self.num_frames:
                    break
                yield img

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None

    def __getstate__(self):
        # Episodes travel to DataLoader workers; an open video does not.
        state = self.__dict__.copy()
        state["_video"] = None
        return state


class Dataset:
    """A dataset directory: ``len(ds)``, ``ds[i]``, ``for ep in ds``; sealed episodes
    first (chunk by chunk), then the tail, each in commit order.

    Only committed episodes are listed. Opening never writes: an episode still being
    recorded is in ``recording``, one whose writer died in ``needs_repair`` (for
    ``screenpilot dataset repair``); both are left as they are. Opening reads no chunk:
    a sealed episode's chunk index loads when an episode of it is first asked for."""

    def __init__(self, root: str | Path):
        from .chunks import ChunkStore
        from .journal import unfinished_episodes

        self.root = Path(root)
        self.info = read_info(self.root)
        self.chunks = ChunkStore(self.root, self.info.get("chunks", []))
        # The tail: finished episodes not sealed into a chunk, each with files of its own.
        self.tail = [Episode(self.root, m, dataset=self) for m in read_episode_lines(self.root)]
        self._sealed: dict[int, Episode] = {}
        self._resealed: tuple[list[int], ChunkStore, dict[int, int]] | None = None
        # Journals are looked at after the meta lines: an episode committed in between is
        # counted once (as still recording) or not at all, never twice.
        unfinished = unfinished_episodes(self.root)
        committed = self._indices() if unfinished else set()
        self.recording = [u for u in unfinished if u.live and u.index not in committed]
        self.needs_repair = [u for u in unfinished if not u.live]

    def find_sealed(self, index: int) -> tuple[dict, ChunkStore] | None:
        """(location, chunk store) of episode ``index`` if a seal since this dataset was
        opened moved it into a chunk; None if it is in no chunk."""
        from .chunks import ChunkStore

        sizes = read_info(self.root).get("chunks", [])
        if self._resealed is None or self._resealed[0] != sizes:
            store = ChunkStore(self.root, sizes)
            positions = {i: p for p, i in enumerate(store.summaries().column("index").to_pylist())}
            self._resealed = (sizes, store, positions)
        _, store, positions = self._resealed
        if index not in positions:
            return None
        return store.meta_and_location(positions[index])[1], store

    def _indices(self) -> set[int]:
        return {*self.chunks.summaries().column("index").to_pylist(),
                *(ep.index for ep in self.tail)}  # fmt: skip

    @cached_property
    def episode_meta(self) -> list[dict]:
        """Every episode's meta line, in dataset order (parses every sealed one: for
        counts over many episodes, ``column`` is far cheaper)."""
        return [ep.meta for ep in self]

    @cached_property
    def summaries(self):
        """Every episode's summary (chunks.SUMMARY_COLUMNS: task, env, length, frames,
        success ...) as one pyarrow Table, in dataset order: the chunk indexes' columns
        followed by the tail's meta lines. Counting over it parses no meta line."""
        import pyarrow as pa

        from .chunks import SUMMARY_COLUMNS, _schema, summary_row

        names = [name for name, _ in SUMMARY_COLUMNS]
        tail = pa.Table.from_pylist([summary_row(ep.meta) for ep in self.tail],
                                    schema=_schema(SUMMARY_COLUMNS))  # fmt: skip
        return pa.concat_tables([self.chunks.summaries().select(names), tail])

    def column(self, name: str) -> list:
        """One summary field of every episode, in dataset order."""
        return self.summaries.column(name).to_pylist()

    def __len__(self) -> int:
        return len(self.chunks) + len(self.tail)

    def __getitem__(self, i: int) -> Episode:
        if not isinstance(i, (int, np.integer)) or not -len(self) <= i < len(self):
            raise DatasetError(f"{self.root}: no episode {i} (the dataset has {len(self)})")
        i = int(i) % len(self)
        if i >= len(self.chunks):
            return self.tail[i - len(self.chunks)]
        if i not in self._sealed:
            meta, location = self.chunks.meta_and_location(i)
            self._sealed[i] = Episode(self.root, meta, location, self.chunks)
        return self._sealed[i]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Dataset({str(self.root)!r}, {len(self)} episodes)"

    def __getstate__(self):
        # Travels to DataLoader workers; sealed episodes are made again on demand there.
        return {**self.__dict__, "_sealed": {}, "_resealed": None}


def open_dataset(path: str | Path) -> Dataset:
    """Open a dataset directory for reading; nothing in it is changed."""
    return Dataset(path)
