"""The inverse dynamics model's data: every stored frame of an episode, the window of frames
around it, and its label: the step that has it as the frame before it, or none.

Labels come from a labelled episode's steps. A `type` step is split by the frame in whose
interval each of its characters was typed (its key events say when), so the IDM reads a
few new characters a frame instead of a whole text that appears over many frames;
``join_typing`` puts such parts back together. Two steps with the same frame before them
(a click and the typing right after it, within one frame) cannot both label it: the
second labels the next frame that has no step.

No torch here: this runs in DataLoader workers and in `screenpilot label`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from screenpilot.dataset.actions import Action
from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.segment import segment_events

from .codec import BYTE_OFFSET, IGNORE, NO_ACTION, encode_task
from .preprocess import resize_screenshot

# The IDM's "nothing happened between these frames": one past the last action type (the
# codec's empty-history id), a class of the IDM's type head that no policy can emit.
NONE = NO_ACTION


def window(i: int, n: int, before: int, after: int) -> list[int]:
    """Frame indices i-before .. i+after of an n-frame episode, repeated at its ends (the
    screen before the first frame and after the last is taken to be unchanged)."""
    return [min(max(j, 0), n - 1) for j in range(i - before, i + after + 1)]


# ---- labels -----------------------------------------------------------------------------
def typed_parts(step: Action, prev_t: float, next_t: float, events, frame_times: Sequence[float]):
    """A `type` step's text split by the frame in whose interval each part was typed:
    [(frame, text)] in order. The step's key events (between the steps around it) are
    segmented again up to each frame's end, so what a key typed is decided as it was for
    the step. None when the parts do not join into the step's text (an edit that deletes
    characters an earlier frame showed) or there are no key events."""
    keys = [e for e in events if e.kind in ("key_down", "key_up") and prev_t <= e.t < next_t]
    if not keys:
        return None
    n = len(frame_times)
    last_key_t = keys[-1].t
    parts, typed = [], ""
    for frame in range(step.frame, n):
        end = frame_times[frame + 1] if frame + 1 < n else math.inf
        so_far = next(
            (a.text for a in segment_events([e for e in keys if e.t < end])
             if a.type == "type" and a.t >= step.t),
            "",
        )  # fmt: skip
        if not so_far.startswith(typed):
            return None
        if len(so_far) > len(typed):
            parts.append((frame, so_far[len(typed) :]))
            typed = so_far
        if end > last_key_t:
            break
    return parts if typed == step.text else None


def frame_labels(episode, typed_text: str = "per_frame") -> list[Action | None]:
    """Each stored frame's label: the step (with ``t`` and ``frame`` of that frame) that
    has it as the frame before it, or None. ``typed_text="whole"`` keeps a `type` step
    whole at its own frame."""
    n = episode.num_frames
    labels: list[Action | None] = [None] * n
    if n == 0:
        return labels
    times = episode.frame_times
    steps = episode.actions
    events = None
    for k, step in enumerate(steps):
        parts = [(step.frame, step)]
        if step.type == "type" and typed_text == "per_frame":
            if events is None:
                events = episode.events
            prev_t = steps[k - 1].t if k else -math.inf
            next_t = steps[k + 1].t if k + 1 < len(steps) else math.inf
            split = typed_parts(step, prev_t, next_t, events, times)
            if split:
                parts = [(f, Action("type", text=text)) for f, text in split]
        for frame, action in parts:
            frame = min(max(frame or 0, 0), n - 1)
            while frame < n and labels[frame] is not None:
                frame += 1  # a frame already taken: the next free one
            if frame < n:
                labels[frame] = action.with_time(times[frame], frame)
    return labels


def pointer_track(episode) -> list[tuple[int, int] | None]:
    """Where the pointer was on each stored frame: the position of the last mouse event
    at or before the frame's capture time, or None before the first one and where it lay
    off the recorded area. Recordings with events have it for every frame; the IDM learns
    to find the pointer from it (``pointer_weight``), many examples a sample where a click
    gives one."""
    n = episode.num_frames
    track: list[tuple[int, int] | None] = [None] * n
    if n == 0:
        return track
    moves = [e for e in episode.events if e.x is not None and e.y is not None]
    width, height = episode.width, episode.height
    times = episode.frame_times
    at, k = None, 0
    for frame in range(n):
        while k < len(moves) and moves[k].t <= times[frame]:
            at = (moves[k].x, moves[k].y)
            k += 1
        if at is not None and 0 <= at[0] < width and 0 <= at[1] < height:
            track[frame] = at
    return track


def join_typing(labelled: list[tuple[Action, float]]) -> list[tuple[Action, float]]:
    """(action, confidence) in frame order -> the same with every run of `type` parts
    (no other action between them) joined into one step at the first part's time and
    frame, its confidence the product of theirs: the inverse of the per-frame split."""
    out: list[tuple[Action, float]] = []
    for action, confidence in labelled:
        if action.type == "type" and out and out[-1][0].type == "type":
            first, before = out[-1]
            joined = Action("type", text=first.text + action.text, t=first.t, frame=first.frame)
            out[-1] = (joined, before * confidence)
        else:
            out.append((action, confidence))
    return out


# ---- typed text as bytes ------------------------------------------------------------------
def encode_text(text: str, slots: int) -> np.ndarray:
    """(slots,) int64 targets: the text's UTF-8 bytes as byte tokens, then one 0 (pad)
    marking its end, then IGNORE (what follows the end is never read); a text longer than
    the slots is cut."""
    raw = text.encode("utf-8")[:slots]
    ids = np.full(slots, IGNORE, np.int64)
    ids[: len(raw)] = np.frombuffer(raw, np.uint8).astype(np.int64) + BYTE_OFFSET
    if len(raw) < slots:
        ids[len(raw)] = 0
    return ids


def decode_text(ids) -> str:
    """Byte tokens up to the first one that is not a byte (pad, eos, unk) -> text."""
    out = bytearray()
    for i in ids:
        if int(i) < BYTE_OFFSET:
            break
        out.append(int(i) - BYTE_OFFSET)
    return out.decode("utf-8", errors="ignore")


# ---- samples ------------------------------------------------------------------------------
class FrameSamples:
    """Every stored frame of the given episodes as a training sample (a map-style torch
    Dataset that needs no torch import). Each sample is a dict:

    - ``frames``: the window's frames, oldest first, each (H, W, 3) uint8 at the model's
      image size (the policy's resize)
    - ``pointer``: where the pointer was on each of them, (x, y) or None (pointer_track)
    - ``task``, ``label`` (Action or None), ``episode``, ``frame``, ``screen`` (width, height)

    An episode is decoded whole, in one sequential pass, and the last few are kept: the
    samples of one episode then share their frames (preloading holds each frame once).
    """

    def __init__(self, datasets, config, episodes=None, max_cached_episodes: int = 2):
        self.datasets = list(datasets)
        self.config = config
        self.max_cached_episodes = max_cached_episodes
        if episodes is None:
            episodes = [(d, e) for d, ds in enumerate(self.datasets) for e in range(len(ds))]
        frames = [ds.column("num_frames") for ds in self.datasets]
        self.episode_keys = [(d, e) for d, e in episodes if frames[d][e] > 0]
        counts = np.array([frames[d][e] for d, e in self.episode_keys], dtype=np.int64)
        self.sample_episode = np.repeat(np.arange(len(counts)), counts)
        starts = np.cumsum(counts) - counts
        self.sample_frame = np.arange(int(counts.sum())) - np.repeat(starts, counts)
        self._cache: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self.sample_frame)

    def _decoded(self, key):
        """(frames at the model's size, labels, episode) of one episode, cached."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ep = self.datasets[key[0]][key[1]]
        h, w = self.config.image_height, self.config.image_width
        frames = [resize_screenshot(img, h, w) for img in ep.frames()]
        if len(frames) != ep.num_frames:
            raise DatasetError(f"{ep.video_source}: {len(frames)} decodable frames, its "
                               f"episode has {ep.num_frames}")  # fmt: skip
        entry = (frames, frame_labels(ep, self.config.typed_text), ep, pointer_track(ep))
        self._cache[key] = entry
        while len(self._cache) > self.max_cached_episodes:
            self._cache.popitem(last=False)
        return entry

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} out of range ({len(self)} samples)")
        key = self.episode_keys[self.sample_episode[i]]
        frame = int(self.sample_frame[i])
        frames, labels, ep, track = self._decoded(key)
        cfg = self.config
        span = window(frame, len(frames), cfg.frames_before, cfg.frames_after)
        return {
            "frames": [frames[j] for j in span],
            "pointer": [track[j] for j in span],
            "task": ep.task,
            "label": labels[frame],
            "episode": key,
            "frame": frame,
            "screen": (ep.width, ep.height),
        }

    def __getstate__(self):
        return {**self.__dict__, "_cache": OrderedDict()}  # decoded frames stay in-process


def frame_samples(datasets, keys, model_config) -> FrameSamples:
    """The IDM's counterpart of data.make_samples: every frame of the episodes ``keys``."""
    return FrameSamples(datasets, model_config, episodes=keys)


class IDMPreprocessor:
    """Picklable: ``sample dict -> feature dict`` (the policy's Preprocessor's counterpart)."""

    def __init__(self, config):
        self.height = config.image_height
        self.width = config.image_width
        self.max_task_bytes = config.max_task_bytes
        self.text_slots = config.text_slots
        self.codec = config.codec()

    def inputs(self, frames: list[np.ndarray], task: str) -> dict:
        """The window's frames stacked as channels of one image, and the task's bytes."""
        image = np.concatenate(
            [resize_screenshot(f, self.height, self.width).transpose(2, 0, 1) for f in frames]
        )  # (3 * frames, H, W) uint8
        ids, n = encode_task(task, self.max_task_bytes)
        return {"image": np.ascontiguousarray(image), "task_ids": ids, "task_len": np.int64(n)}

    def targets(self, label: Action | None, task: str, screen: tuple[int, int]) -> dict:
        """Every head's integer target; IGNORE where a head has nothing to say."""
        chars = np.full(self.text_slots, IGNORE, np.int64)
        if label is None:
            t = dict.fromkeys(("patch", "cell", "patch2", "cell2", "key", "scroll_x",
                               "scroll_y"), IGNORE)  # fmt: skip
            t["type"] = NONE
        else:
            t = self.codec.encode_action(label, task, screen)
            del t["span_start"], t["span_end"]  # the policy copies text; the IDM reads it
            if label.type == "type":
                chars = encode_text(label.text, self.text_slots)
        out = {f"t_{k}": np.int64(v) for k, v in t.items()}
        out["t_chars"] = chars
        return out

    def __call__(self, sample: dict, rng: np.random.Generator | None = None) -> dict:
        out = self.inputs(sample["frames"], sample["task"])
        screen = tuple(sample["screen"])
        label = sample["label"]
        out.update(self.targets(label, sample["task"], screen))
        # The true pixel, not its bin: click accuracy is judged on the screen.
        out["t_x"] = np.int64(-1 if label is None or label.x is None else label.x)
        out["t_y"] = np.int64(-1 if label is None or label.y is None else label.y)
        out["screen"] = np.asarray(screen, np.int64)
        out.update(self.pointer_targets(sample["pointer"], screen))
        return out

    def pointer_targets(self, track, screen: tuple[int, int]) -> dict:
        """(frames,) patch and cell targets of the pointer on each frame; IGNORE where the
        recording does not say where it was."""
        patch = np.full(len(track), IGNORE, np.int64)
        cell = np.full(len(track), IGNORE, np.int64)
        for j, at in enumerate(track):
            if at is not None:
                patch[j], cell[j] = self.codec.encode_point(at[0], at[1], screen)
        return {"t_pointer_patch": patch, "t_pointer_cell": cell}
