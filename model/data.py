"""Training data: the held-out split, preloading into memory, task-balanced sampling, and a
batch order (and augmentation) that is a pure function of (seed, step), so a resumed run
and every data-parallel rank agree on it."""

from __future__ import annotations

import hashlib
from pathlib import Path

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
    episode position) so that adding episodes never moves old ones across the split."""
    data = np.concatenate([np.full(len(ds), d, dtype=np.int64) for d, ds in enumerate(datasets)])
    position = np.concatenate([np.arange(len(ds), dtype=np.int64) for ds in datasets])
    scores = np.concatenate([split_scores(ds.root, len(ds), seed) for ds in datasets])
    steps = np.concatenate([np.asarray(ds.column("length"), dtype=np.int64) for ds in datasets])
    keep = steps > 0
    data, position, scores = data[keep], position[keep], scores[keep]
    if not len(scores):
        raise TrainConfigError(
            "no training samples: the dataset(s) hold no episode with a step "
            f"({', '.join(str(ds.root) for ds in datasets)})"
        )
    val = scores < val_fraction
    if val_fraction > 0 and len(scores) > 1:
        val[np.argmin(scores)] = True  # at least one held-out episode ...
        val[np.argmax(scores)] = False  # ... and at least one to train on
    else:
        val[:] = False

    def keys(mask):
        return list(zip(data[mask].tolist(), position[mask].tolist(), strict=True))

    return keys(~val), keys(val)


def split_scores(root, count: int, seed: int) -> np.ndarray:
    """A number in [0, 1) for each episode position of dataset ``root``, a pure function
    of (seed, the dataset's resolved path, position): a hash of the first two, mixed with
    the position by splitmix64 (vectorised: a million episodes in milliseconds)."""
    name = f"{seed}:{Path(root).resolve()}".encode()
    base = np.uint64(int.from_bytes(hashlib.sha1(name).digest()[:8], "little"))
    with np.errstate(over="ignore"):
        x = (np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ base
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / 2.0**53


class Featurizer:
    """Raw sample -> model features, the same in every process and on every path: the
    augmentation (when training) and the grounding queries are drawn from a generator
    seeded by (seed, step, sample), so a resumed run and every rank see the same batches.
    Picklable: it travels to DataLoader workers."""

    def __init__(self, preprocessor: Preprocessor, augment=None, seed: int = 0):
        self.preprocessor = preprocessor
        self.augment = augment
        self.seed = seed

    def __call__(self, sample: dict, step: int | None, index: int) -> dict:
        if step is None:  # evaluation: the sample as it is, a fixed choice of queries
            return self.preprocessor(sample)
        rng = np.random.default_rng([self.seed, step, index])
        if self.augment is not None:
            sample = self.augment(sample, rng)
        return self.preprocessor(sample, rng)


class MemorySamples:
    """Every sample decoded once and held in memory (frames as uint8): a batch is a few
    list lookups plus the preprocessing, which is cheap beside a training step and lets
    the augmentation differ at every step."""

    def __init__(self, samples: list[dict], featurize: Featurizer, tasks: list[str]):
        self.samples, self.featurize, self.tasks = samples, featurize, tasks

    def __len__(self) -> int:
        return len(self.samples)

    def batch(self, indices, step: int | None = None) -> dict:
        return collate([self.featurize(self.samples[i], step, int(i)) for i in indices])

    def subset(self, limit: int) -> MemorySamples:
        """At most ``limit`` samples spread evenly over the set (fixed across calls)."""
        if len(self) <= limit:
            return self
        picks = np.linspace(0, len(self) - 1, limit).round().astype(int)
        return MemorySamples([self.samples[i] for i in picks], self.featurize,
                             [self.tasks[i] for i in picks])  # fmt: skip


class StreamedSamples(torch.utils.data.Dataset):
    """Samples decoded on demand in DataLoader workers, for sets too big for memory;
    indexed by (step, sample) so the featurizer draws what MemorySamples would."""

    def __init__(self, samples: StepSamples, featurize: Featurizer, tasks: list[str]):
        self.samples, self.featurize, self.tasks = samples, featurize, tasks

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key):
        step, i = key if isinstance(key, tuple) else (None, key)
        return self.featurize(self.samples[i], step, i)


def _as_list(samples: list[dict]) -> list[dict]:
    return samples


def preload(samples, num_workers: int, desc: str = "preloading") -> list[dict]:
    """Decode every raw sample once, in order (one GOP decode serves the neighbouring
    steps of an episode), spreading the work over DataLoader workers."""
    from screenpilot.console import progress_bar

    loader = torch.utils.data.DataLoader(
        samples, batch_size=64, shuffle=False, num_workers=num_workers, collate_fn=_as_list
    )
    out: list[dict] = []
    for part in progress_bar(loader, desc=desc, unit="batch", leave=False):
        out.extend(part)
    return out


def sample_tasks(samples: StepSamples) -> list[str]:
    """Each sample's task: the env it was recorded in (every episode of a task has its
    own task text), else the text itself."""
    names = [[env or task for env, task in zip(ds.column("env"), ds.column("task"), strict=True)]
             for ds in samples.datasets]  # fmt: skip
    per_episode = np.empty(len(samples.episode_keys), dtype=object)
    per_episode[:] = [names[d][e] for d, e in samples.episode_keys]
    return per_episode[samples.sample_episode].tolist()


def task_weights(tasks: list[str], balance: float) -> np.ndarray | None:
    """Sampling probabilities of the samples: a task with n samples gets a share in
    proportion to n ** (1 - balance): 0 keeps the data's own mix, 1 gives every task the
    same share (click-link's single step an episode then counts as much as login-user's
    six). None when nothing is reweighted."""
    if balance == 0:
        return None
    names, inverse, counts = np.unique(np.asarray(tasks, dtype=object).astype(str),
                                       return_inverse=True, return_counts=True)  # fmt: skip
    share = counts.astype(np.float64) ** (1 - balance)
    weights = (share / share.sum())[inverse] / counts[inverse]
    return weights / weights.sum()


def make_samples(datasets, keys, model_config) -> StepSamples:
    """Raw samples (the model's preprocessing runs later, per batch: see Featurizer)."""
    return StepSamples(datasets, history=model_config.history, episodes=keys)


def estimate_bytes(n_samples: int, model_config) -> int:
    return n_samples * 3 * model_config.image_height * model_config.image_width


def global_batch_indices(
    n: int, batch_size: int, seed: int, step: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """The samples of global batch ``step``: an endless stream of seeded permutations
    (one per epoch), cut into batches; with ``weights``, a seeded draw of the batch from
    them. Needs no state, so resuming is exact."""
    if weights is not None:
        return np.random.default_rng([seed, step]).choice(n, size=batch_size, p=weights)
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
    """A DataLoader batch_sampler giving this rank's share of global batches from ``start``,
    as (step, sample) keys for StreamedSamples."""

    def __init__(self, n, batch_size, seed, start, steps, rank=0, world=1, weights=None):
        self.n, self.batch_size, self.seed, self.weights = n, batch_size, seed, weights
        self.start, self.steps, self.rank, self.world = start, steps, rank, world

    def __iter__(self):
        for step in range(self.start, self.start + self.steps):
            idx = global_batch_indices(self.n, self.batch_size, self.seed, step, self.weights)
            yield [(step, int(i)) for i in rank_slice(idx, self.rank, self.world)]

    def __len__(self) -> int:
        return self.steps


def length_groups(batch: dict, groups: int) -> list[dict]:
    """A batch -> up to ``groups`` micro-batches, samples sorted by task length (``task_len``)
    and cut in equal parts, so the short tasks stop paying for the long ones' padding. A
    batch without task text is one group."""
    if groups <= 1 or "task_len" not in batch:
        return [batch]
    order = torch.argsort(batch["task_len"], stable=True)
    return [{k: v[part] for k, v in batch.items()}
            for part in order.tensor_split(groups) if len(part)]  # fmt: skip


def batches(train_set, cfg, start: int, rank: int, world: int, steps: int):
    """An iterator of this rank's batches for ``steps`` steps from ``start``."""
    weights = task_weights(train_set.tasks, cfg.task_balance)
    if isinstance(train_set, MemorySamples):
        for step in range(start, start + steps):
            idx = global_batch_indices(len(train_set), cfg.batch_size, cfg.seed, step, weights)
            yield train_set.batch(rank_slice(idx, rank, world), step)
        return
    order = BatchOrder(len(train_set), cfg.batch_size, cfg.seed, start, steps, rank, world,
                       weights)  # fmt: skip
    loader = torch.utils.data.DataLoader(
        train_set,
        batch_sampler=order,
        num_workers=cfg.num_workers,
        collate_fn=collate,
        persistent_workers=cfg.num_workers > 0,
        prefetch_factor=4 if cfg.num_workers > 0 else None,
    )
    yield from loader
