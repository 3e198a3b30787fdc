"""Training-time augmentation of raw samples, before the model's preprocessing.

A sub-patch translation moves the whole screenshot by a few pixels, and every point that
refers to it (the target action, the previous actions, the grounding boxes) with it: the
same word then falls on different pixels of its patch, so the patch embedding must learn
the glyphs rather than where a word happens to sit. A brightness/contrast jitter (the same
for every channel: colours are task content, "click the red square") keeps the model from
keying on exact shades. No torch here: it runs wherever the preprocessing runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Augment:
    max_shift_x: int = 8  # screen pixels, each way; half a 16-pixel patch
    max_shift_y: int = 7  # half a 15-pixel patch
    jitter: float = 0.1  # brightness and contrast move by up to this fraction

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        dx = int(rng.integers(-self.max_shift_x, self.max_shift_x + 1))
        dy = int(rng.integers(-self.max_shift_y, self.max_shift_y + 1))
        out = shift_sample(sample, dx, dy)
        if self.jitter > 0:
            gain, bias = rng.uniform(1 - self.jitter, 1 + self.jitter, size=2)
            image = out["image"].astype(np.float32)
            image = (image - 128.0) * gain + 128.0 * bias
            out["image"] = np.clip(image, 0, 255).astype(np.uint8)
        return out


def shift_image(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Content moves right by ``dx`` and down by ``dy``; the strip it leaves is filled
    with the edge's own pixels (page background, not a black bar no screen has)."""
    h, w = image.shape[:2]
    pad = ((abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0))
    padded = np.pad(image, pad, mode="edge")
    top, left = abs(dy) - dy, abs(dx) - dx
    return np.ascontiguousarray(padded[top : top + h, left : left + w])


def shift_action(action, dx: int, dy: int, width: int, height: int):
    """The same action ``dx, dy`` pixels away, kept on the screen."""
    moved = {}
    for name, delta, size in (("x", dx, width), ("y", dy, height), ("x2", dx, width),
                              ("y2", dy, height)):  # fmt: skip
        value = getattr(action, name)
        if value is not None:
            moved[name] = min(max(value + delta, 0), size - 1)
    return replace(action, **moved) if moved else action


def shift_sample(sample: dict, dx: int, dy: int) -> dict:
    if dx == 0 and dy == 0:
        return dict(sample)
    image = sample["image"]
    height, width = image.shape[:2]
    out = dict(sample)
    out["image"] = shift_image(image, dx, dy)
    out["action"] = shift_action(sample["action"], dx, dy, width, height)
    out["history"] = [shift_action(a, dx, dy, width, height) for a in sample["history"]]
    boxes = []
    for item in sample.get("grounding") or []:
        x0, x1 = max(item["x0"] + dx, 0), min(item["x1"] + dx, width)
        y0, y1 = max(item["y0"] + dy, 0), min(item["y1"] + dy, height)
        if x1 > x0 and y1 > y0:  # a word pushed off the screen is no longer there to find
            boxes.append({**item, "x0": x0, "y0": y0, "x1": x1, "y1": y1})
    out["grounding"] = boxes
    return out
