"""Samples and observations -> model inputs (numpy, in DataLoader workers) -> batches.

One path serves training samples and live observations, so the model never sees at
inference anything shaped differently from what it learned on.
"""

from __future__ import annotations

import numpy as np

from .codec import ActionCodec, encode_grounding, encode_task, task_word_boxes, task_words
from .word_spotting import spot_words

# Spotting costs ~1 ms a word; a training sample is seen many times, so its maps are kept
# (~3 KB each) for up to this many (screenshot, task) pairs.
SPOT_CACHE_SIZE = 50_000


def resize_screenshot(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, 3) uint8 -> (height, width, 3); untouched when already that size."""
    if image.shape[0] == height and image.shape[1] == width:
        return image
    import cv2

    shrink = image.shape[0] > height or image.shape[1] > width
    # Area averaging keeps thin strokes when shrinking; linear is sharper when growing.
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


class Preprocessor:
    """Picklable (it travels to DataLoader workers): ``sample dict -> feature dict``."""

    def __init__(self, config):
        self.height = config.image_height
        self.width = config.image_width
        self.max_task_bytes = config.max_task_bytes
        self.history = config.history
        self.codec: ActionCodec = config.codec()
        # Grounding queries only feed the grounding objective: without it, none are drawn.
        self.grounding_queries = config.grounding_queries if config.grounds else 0
        self.grounding_query_bytes = config.grounding_query_bytes
        self.task_words = config.task_words
        self.spot_words = config.spot_words
        self.patch = (config.patch_height, config.patch_width)
        self._spots: dict = {}

    def inputs(self, screenshot: np.ndarray, task: str, history) -> dict:
        """What the model reads: pixels, task bytes, previous actions."""
        if screenshot.ndim != 3 or screenshot.shape[2] != 3 or screenshot.dtype != np.uint8:
            raise ValueError(f"screenshot must be (H, W, 3) uint8, got {screenshot.shape} "
                             f"{screenshot.dtype}")  # fmt: skip
        screen = (int(screenshot.shape[1]), int(screenshot.shape[0]))
        image = resize_screenshot(screenshot, self.height, self.width)
        ids, n = encode_task(task, self.max_task_bytes)
        out = {
            "image": np.ascontiguousarray(image.transpose(2, 0, 1)),  # (3, H, W) uint8
            "task_ids": ids,
            "task_len": np.int64(n),
        }
        out.update(self.codec.encode_history(history, task, screen, self.history))
        if self.task_words > 0:
            out.update(task_words(task, self.task_words, self.grounding_query_bytes))
        if self.spot_words > 0:
            scale = (self.width / screenshot.shape[1], self.height / screenshot.shape[0])
            out.update(self.spot(image, task, scale))
        return out

    def spot(self, image: np.ndarray, task: str, scale: tuple[float, float]) -> dict:
        """Word-spotting maps of ``image`` (at the model's size), from the cache if seen."""
        import hashlib

        key = (task, scale, hashlib.blake2b(image.tobytes(), digest_size=16).digest())
        found = self._spots.get(key)
        if found is None:
            found = spot_words(image, task, scale, self.spot_words, self.max_task_bytes,
                               self.patch)  # fmt: skip
            if len(self._spots) >= SPOT_CACHE_SIZE:
                self._spots.pop(next(iter(self._spots)))  # the oldest
            self._spots[key] = found
        return found

    def __call__(self, sample: dict, rng: np.random.Generator | None = None) -> dict:
        """A StepSamples sample -> inputs + targets (+ what evaluation needs to score).
        ``rng`` picks the grounding queries when a screen has more words than queries (by
        default a fixed choice per sample)."""
        image = sample["image"]
        screen = tuple(sample.get("screen") or (image.shape[1], image.shape[0]))
        out = self.inputs(image, sample["task"], sample["history"])
        targets = self.codec.encode_action(sample["action"], sample["task"], screen)
        out.update({f"t_{k}": np.int64(v) for k, v in targets.items()})
        action = sample["action"]
        # The true pixel, not its bin: click accuracy is judged on the screen.
        out["t_x"] = np.int64(-1 if action.x is None else action.x)
        out["t_y"] = np.int64(-1 if action.y is None else action.y)
        out["screen"] = np.asarray(screen, np.int64)
        if self.task_words > 0:
            out["w_box"] = task_word_boxes(
                sample["task"], sample.get("grounding") or [], screen, (self.width, self.height),
                self.task_words, self.grounding_query_bytes,
            )  # fmt: skip
        if self.grounding_queries > 0:
            if rng is None:
                rng = np.random.default_rng([*sample.get("episode", (0, 0)), sample.get("step", 0)])
            out.update(encode_grounding(
                sample.get("grounding") or [], screen, (self.width, self.height),
                self.grounding_queries, self.grounding_query_bytes, rng,
            ))  # fmt: skip
        return out


def collate(features: list[dict]):
    """Feature dicts -> one dict of stacked torch tensors."""
    import torch

    return {k: torch.from_numpy(np.stack([f[k] for f in features])) for k in features[0]}
