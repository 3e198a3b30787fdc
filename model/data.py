"""Training data: the held-out split, preloading into memory, and a batch order that is a
pure function of (seed, step), so a resumed run and every data-parallel rank agree on it."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from screenpilot.dataset.errors import DatasetError
from screenpilot.dataset.reader import open_dataset
from screenpilot.dataset.samples import StepSamples

from .errors import TrainConfigError
from .preprocess import Preprocessor, collate


def open_datasets(paths: list[str]):
    datasets = []
    for path in paths:
        try:
            datasets.append(open_dataset(path))
        except DatasetError as e:
            raise TrainConfigError(str(e)) from None
    return datasets


def split_episodes(datasets, val_fraction: float, seed: int):
    """(train keys, val keys): whole episodes, chosen by a hash of (seed, dataset path,
    episode index) so that adding episodes never moves old ones across the split."""
    keys = [(d, e) for d, ds in enumerate(datasets) for e in range(len(ds))]
    keys = [k for k in keys if datasets[k[0]][k[1]].meta.get("length", 0) > 0]
    if not keys:
        raise TrainConfigError(
            "no training samples: the dataset(s) hold no episode with a step "
            f"({', '.join(str(ds.root) for ds in datasets)})"
        )

    def score(key):
        name = f"{seed}:{datasets[key[0]].root.resolve()}:{key[1]}".encode()
        return int.from_bytes(hashlib.sha1(name).digest()[:8], "little") / 2**64

    val = {k for k in keys if score(k) < val_fraction}
    if val_fraction > 0 and len(keys) > 1:
        ranked = sorted(keys, key=score)
        val |= {ranked[0]}  # at least one held-out episode ...
        val -= {ranked[-1]}  # ... and at least one to train on
    else:
        val = set()
    return [k for k in keys if k not in val], [k for k in keys if k in val]


class TensorSamples:
    """Every preprocessed sample held as stacked tensors: a batch is one index_select."""

    def __init__(self, features: dict[str, torch.Tensor]):
        self.features = features

    def __len__(self) -> int:
        return len(next(iter(self.features.values())))

    def batch(self, indices) -> dict:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {k: v.index_select(0, idx) for k, v in self.features.items()}


def preload(samples: StepSamples, num_workers: int, desc: str = "preloading") -> TensorSamples:
    """Decode and preprocess every sample once, in order (one GOP decode serves the
    neighbouring steps of an episode), spreading the work over DataLoader workers."""
    from screenpilot.console import progress_bar

    loader = torch.utils.data.DataLoader(
        samples, batch_size=64, shuffle=False, num_workers=num_workers, collate_fn=collate
    )
    parts: dict[str, list] = {}
    for batch in progress_bar(loader, desc=desc, unit="batch", leave=False):
        for k, v in batch.items():
            parts.setdefault(k, []).append(v)
    return TensorSamples({k: torch.cat(v) for k, v in parts.items()})


def make_samples(datasets, keys, model_config) -> StepSamples:
    return StepSamples(
        datasets, history=model_config.history, transform=Preprocessor(model_config), episodes=keys
    )


def estimate_bytes(n_samples: int, model_config) -> int:
    return n_samples * 3 * model_config.image_height * model_config.image_width


def global_batch_indices(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """The samples of global batch ``step``: an endless stream of seeded permutations
    (one per epoch), cut into batches. Needs no state, so resuming is exact."""
    out = []
    start = step * batch_size
    while len(out) < batch_size:
        epoch, offset = divmod(start, n)
        perm = np.random.default_rng([seed, epoch]).permutation(n)
        take = perm[offset : offset + batch_size - len(out)]
        out.extend(take.tolist())
        start += len(take)
    return np.asarray(out, np.int64)


def rank_slice(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This rank's contiguous share of a global batch."""
    per = len(indices) // world
    return indices[rank * per : (rank + 1) * per]


class BatchOrder(torch.utils.data.Sampler):
    """A DataLoader batch_sampler giving this rank's share of global batches from ``start``."""

    def __init__(self, n, batch_size, seed, start, stop, rank=0, world=1):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start, self.stop, self.rank, self.world = start, stop, rank, world

    def __iter__(self):
        for step in range(self.start, self.stop):
            idx = global_batch_indices(self.n, self.batch_size, self.seed, step)
            yield rank_slice(idx, self.rank, self.world).tolist()

    def __len__(self) -> int:
        return self.stop - self.start


def batches(train_set, cfg, start: int, rank: int, world: int):
    """An iterator of this rank's batches for steps start..cfg.steps-1."""
    if isinstance(train_set, TensorSamples):
        for step in range(start, cfg.steps):
            idx = global_batch_indices(len(train_set), cfg.batch_size, cfg.seed, step)
            yield train_set.batch(rank_slice(idx, rank, world))
        return
    order = BatchOrder(len(train_set), cfg.batch_size, cfg.seed, start, cfg.steps, rank, world)
    loader = torch.utils.data.DataLoader(
        train_set,
        batch_sampler=order,
        num_workers=cfg.num_workers,
        collate_fn=collate,
        persistent_workers=cfg.num_workers > 0,
        prefetch_factor=4 if cfg.num_workers > 0 else None,
    )
    yield from loader
