"""Training samples: every step of every episode as (screen before it, task, history, target).

Random access stays cheap: a sample seeks to the keyframe before its frame and decodes
at most one GOP (10 frames by default), never the whole video; each DataLoader worker
keeps a few videos open (least recently used closed first) and the decoded GOP cached,
so neighbouring steps of an episode cost almost nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import DatasetError
from .reader import Dataset, Episode, open_dataset


class StepSamples:
    """A map-style torch Dataset (it needs no torch import: DataLoader only uses
    ``__len__``/``__getitem__``). Each sample is a dict:

    - ``image``: (H, W, 3) uint8 RGB, the last frame captured before the action
    - ``task``: the episode's task text
    - ``history``: the previous ``history`` actions of the episode, oldest first: those
      taken (``Episode.played``), which for a DAgger episode are not its labels
    - ``action``: the target Action (with ``.t`` and ``.frame``)
    - ``grounding``: the text items that image shows (``{"text", "kind", "x0", "y0",
      "x1", "y1"}`` in screen pixels; ``[]`` where the episode has none): labels for
      auxiliary objectives, never model input
    - ``episode``, ``step``, ``screen`` (width, height)

    ``transform(sample) -> anything`` runs in the worker: the model's preprocessing.
    """

    def __init__(
        self,
        datasets: str | Path | Dataset | Sequence[str | Path | Dataset],
        *,
        history: int = 3,
        transform: Callable[[dict], object] | None = None,
        episodes: Sequence[tuple[int, int]] | None = None,
        max_open_videos: int = 16,
    ):
        if isinstance(datasets, (str, Path, Dataset)):
            datasets = [datasets]
        self.datasets = [d if isinstance(d, Dataset) else open_dataset(d) for d in datasets]
        self.history = history
        self.transform = transform
        self.max_open_videos = max_open_videos
        if episodes is None:
            episodes = [(d, e) for d, ds in enumerate(self.datasets) for e in range(len(ds))]
        # The summary columns know frames and lengths: no episode is opened (nor a table
        # read) until one of its samples is, which keeps a million-episode set cheap.
        frames = [ds.column("num_frames") for ds in self.datasets]
        lengths = [ds.column("length") for ds in self.datasets]
        self.episode_keys = [(d, e) for d, e in episodes if frames[d][e] > 0]
        # Sample i is step sample_step[i] of episode_keys[sample_episode[i]]: two arrays,
        # not a million tuples.
        counts = np.array([lengths[d][e] for d, e in self.episode_keys], dtype=np.int64)
        self.sample_episode = np.repeat(np.arange(len(counts)), counts)
        starts = np.cumsum(counts) - counts
        self.sample_step = np.arange(int(counts.sum())) - np.repeat(starts, counts)
        self._open: OrderedDict[tuple[int, int], Episode] = OrderedDict()

    def _episode(self, key: tuple[int, int]) -> Episode:
        return self.datasets[key[0]][key[1]]

    def __len__(self) -> int:
        return len(self.sample_step)

    def _frame(self, key: tuple[int, int], i: int) -> np.ndarray:
        ep = self._episode(key)
        self._open[key] = ep
        self._open.move_to_end(key)
        while len(self._open) > self.max_open_videos:
            _, oldest = self._open.popitem(last=False)
            oldest.close()
        return ep.frame(i)

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise DatasetError(f"sample {i} out of range ({len(self)} samples)")
        key, step = self.episode_keys[self.sample_episode[i]], int(self.sample_step[i])
        ep = self._episode(key)
        action = ep.actions[step]
        frame = min(action.frame, ep.num_frames - 1)
        sample = {
            "image": self._frame(key, frame),
            "task": ep.task,
            "history": ep.played[max(0, step - self.history) : step],
            "action": action,
            # copies: a transform may move boxes (augmentation), the episode keeps its own
            "grounding": [dict(item) for item in ep.grounding.get(frame, [])],
            "episode": key,
            "step": step,
            "screen": (ep.width, ep.height),
        }
        return self.transform(sample) if self.transform else sample

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()  # open videos do not cross process boundaries
        return state


def collate_samples(samples: list[dict]) -> dict:
    """Batch raw samples: images stacked when they share a size, the rest as lists."""
    out: dict = {}
    for name in samples[0]:
        values = [s[name] for s in samples]
        if name == "image" and len({v.shape for v in values}) == 1:
            out[name] = np.stack(values)
        else:
            out[name] = values
    return out
