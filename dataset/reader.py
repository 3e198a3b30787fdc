"""Reading a dataset: ``open_dataset(path)`` -> episodes -> actions, events, frames."""

from __future__ import annotations

import bisect
from functools import cached_property
from pathlib import Path

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


class Episode:
    """One recorded episode. Tables load on first use; the video opens on first frame."""

    def __init__(self, root: Path, meta: dict):
        self.root = root
        self.meta = meta
        self.index: int = meta["index"]
        self.task: str = meta["task"]
        self.num_frames: int = meta["num_frames"]
        self.fps: float = meta["fps"]
        self.width: int = meta["width"]
        self.height: int = meta["height"]
        self.success: bool | None = meta.get("success")
        self.paths = episode_paths(root, self.index)
        self._video = None

    def __repr__(self) -> str:
        return f"Episode({self.index}, {self.task!r}, {len(self.actions)} steps, {self.num_frames} frames)"

    @cached_property
    def actions(self) -> list[Action]:
        """The steps, each with its time ``.t`` and the ``.frame`` seen before it."""
        return [action_from_row(r) for r in read_table(self.paths["data"])]

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
        return [Event.from_dict(r) for r in read_table(self.paths["events"])]

    @cached_property
    def frame_times(self) -> list[float]:
        return [r["t"] for r in read_table(self.paths["frames"])]

    @cached_property
    def grounding(self) -> dict[int, list[dict]]:
        """Frame -> the text items it shows (``{"text", "kind", "x0", "y0", "x1", "y1"}``,
        box in screen pixels, x1/y1 exclusive); {} for an episode recorded without them
        (desktop recordings, format version 1). Labels for training, not model input."""
        if not self.paths["dom"].exists():
            return {}
        return grounding_by_frame(read_table(self.paths["dom"]))

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

            if not self.paths["video"].exists():
                raise DatasetError(f"{self.paths['video']}: missing")
            self._video = VideoReader(self.paths["video"], self.fps, self.width, self.height)
        return self._video.read(int(i))

    def frame_at(self, t: float) -> np.ndarray:
        """The last frame captured at or before time ``t`` (seconds on the episode clock)."""
        return self.frame(self.frame_index_at(t))

    def frame_index_at(self, t: float) -> int:
        return max(0, bisect.bisect_right(self.frame_times, t) - 1)

    def frames(self):
        """Every frame in order (one sequential decode, cheaper than frame(i) in a loop)."""
        from .video import VideoReader

        with VideoReader(self.paths["video"], self.fps, self.width, self.height) as reader:
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
    """A dataset directory: ``len(ds)``, ``ds[i]``, ``for ep in ds``.

    Only committed episodes are listed. Opening never writes: an episode still being
    recorded is in ``recording``, one whose writer died in ``needs_repair`` (for
    ``screenpilot dataset repair``); both are left as they are."""

    def __init__(self, root: str | Path):
        from .journal import unfinished_episodes

        self.root = Path(root)
        self.info = read_info(self.root)
        self.episode_meta = read_episode_lines(self.root)
        self._episodes = [Episode(self.root, m) for m in self.episode_meta]
        # Journals are looked at after the meta lines: an episode committed in between is
        # counted once (as still recording) or not at all, never twice.
        committed = {m["index"] for m in self.episode_meta}
        unfinished = unfinished_episodes(self.root)
        self.recording = [u for u in unfinished if u.live and u.index not in committed]
        self.needs_repair = [u for u in unfinished if not u.live]

    def __len__(self) -> int:
        return len(self._episodes)

    def __getitem__(self, i: int) -> Episode:
        try:
            return self._episodes[i]
        except IndexError:
            raise DatasetError(
                f"{self.root}: no episode {i} (the dataset has {len(self)})"
            ) from None

    def __iter__(self):
        return iter(self._episodes)

    def __repr__(self) -> str:
        return f"Dataset({str(self.root)!r}, {len(self)} episodes)"


def open_dataset(path: str | Path) -> Dataset:
    """Open a dataset directory for reading; nothing in it is changed."""
    return Dataset(path)
