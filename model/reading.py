"""How well a model reads: pointing accuracy on the grounding labels of a dataset.

For every word a screenshot shows (its grounding items, one "where is W?" query each),
does the model's pointer land on a patch that shows the word? Reported by word length,
since a 2-letter word is a few strokes and a 10-letter one is hard to miss. The same
question is put to word spotting alone (``spotting_accuracy``): the rendered word's best
match, with no learning at all.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from .data import make_samples, open_datasets
from .preprocess import Preprocessor, collate

LENGTH_BUCKETS = ((1, 2), (3, 5), (6, 8), (9, 16))  # bytes of the word, inclusive


@torch.no_grad()
def pointing_accuracy(model, paths: list[str], *, max_samples: int = 2000) -> dict:
    """{"3+": {"n", "hits", "accuracy"}, "1-2": ..., "3-5": ..., ...} over the
    grounding queries of up to ``max_samples`` samples of the datasets at ``paths``."""
    model.eval()
    datasets = open_datasets(paths)
    keys = [(d, e) for d, ds in enumerate(datasets) for e in range(len(ds))]
    samples = make_samples(datasets, keys, model.config)
    picks = np.linspace(0, len(samples) - 1, min(max_samples, len(samples))).round().astype(int)
    pre = Preprocessor(model.config)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for start in range(0, len(picks), 64):
        batch = collate([pre(samples[int(i)]) for i in picks[start : start + 64]])
        hits, valid = model.ground_hits(batch)
        _count(counts, hits, valid, batch["g_len"])
    return _accuracies(counts)


def spotting_accuracy(config, paths: list[str], *, max_samples: int = 2000) -> dict:
    """``pointing_accuracy``'s table for word spotting alone: every word a screenshot
    shows, rendered and matched (model/word_spotting.py), the best patch taken as the
    answer. A word is an item's text with quotes and punctuation stripped; its answer
    is right on any patch that shows it (the task's word is also in MiniWoB's query box)."""
    import cv2

    from .codec import TASK_WORD
    from .modeling import box_patches
    from .preprocess import resize_screenshot
    from .word_spotting import MIN_CHARS, spot_map

    datasets = open_datasets(paths)
    keys = [(d, e) for d, ds in enumerate(datasets) for e in range(len(ds))]
    samples = make_samples(datasets, keys, config)
    picks = np.linspace(0, len(samples) - 1, min(max_samples, len(samples))).round().astype(int)
    H, W = config.image_height, config.image_width
    patch = (config.patch_height, config.patch_width)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i in picks:
        sample = samples[int(i)]
        screen = sample.get("screen") or (sample["image"].shape[1], sample["image"].shape[0])
        sx, sy = W / screen[0], H / screen[1]
        gray = cv2.cvtColor(resize_screenshot(sample["image"], H, W), cv2.COLOR_RGB2GRAY)
        boxes: dict[str, list] = {}
        for it in sample.get("grounding") or []:
            found = TASK_WORD.findall(it["text"])
            if len(found) == 1:
                box = (it["x0"] * sx, it["y0"] * sy, it["x1"] * sx, it["y1"] * sy)
                boxes.setdefault(found[0], []).append(box)
        for word, shown in boxes.items():
            n = len(word.encode("utf-8"))
            hit = False  # a word too short to be looked for is never found
            if len(word) >= MIN_CHARS:
                best = int(spot_map(gray, word, (sx, sy), patch).argmax())
                on = box_patches(torch.tensor([shown], dtype=torch.float32), *config.grid, *patch)
                hit = bool(on[0, :, best].any())
            _count(counts, torch.tensor([hit]), torch.tensor([True]), torch.tensor([n]))
    return _accuracies(counts)


def _count(counts, hits: torch.Tensor, valid: torch.Tensor, lengths: torch.Tensor) -> None:
    for (lo, hi), name in zip(LENGTH_BUCKETS, _names(), strict=True):
        sel = valid & (lengths >= lo) & (lengths <= hi)
        counts[name][0] += int(sel.sum())
        counts[name][1] += int((hits & sel).sum())
    sel = valid & (lengths >= 3)
    counts["3+"][0] += int(sel.sum())
    counts["3+"][1] += int((hits & sel).sum())


def _accuracies(counts) -> dict:
    return {name: {"n": n, "hits": h, "accuracy": h / n if n else None}
            for name, (n, h) in counts.items()}  # fmt: skip


def _names() -> list[str]:
    return [f"{lo}-{hi}" for lo, hi in LENGTH_BUCKETS]
