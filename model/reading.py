"""How well a model reads: pointing accuracy on the grounding labels of a dataset.

For every word a screenshot shows (its grounding items, one "where is W?" query each),
does the model's pointer land on a patch that shows the word? Reported by word length,
since a 2-letter word is a few strokes and a 10-letter one is hard to miss.
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
        lengths = batch["g_len"]
        for (lo, hi), name in zip(LENGTH_BUCKETS, _names(), strict=True):
            sel = valid & (lengths >= lo) & (lengths <= hi)
            counts[name][0] += int(sel.sum())
            counts[name][1] += int((hits & sel).sum())
        sel = valid & (lengths >= 3)
        counts["3+"][0] += int(sel.sum())
        counts["3+"][1] += int((hits & sel).sum())
    return {name: {"n": n, "hits": h, "accuracy": h / n if n else None}
            for name, (n, h) in counts.items()}  # fmt: skip


def _names() -> list[str]:
    return [f"{lo}-{hi}" for lo, hi in LENGTH_BUCKETS]
