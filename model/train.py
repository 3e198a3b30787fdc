"""The trainer: ``python -m screenpilot.model.train --data DIR --out RUN`` (also under ``torchrun``).

It knows nothing model-specific: it calls ``model(batch) -> (loss, logs)`` and, to
evaluate, ``model.predict_batch`` + ``metrics.score_batch``. Everything that decides the
result is a pure function of the config and the step (initialisation seed, batch order,
learning rate), so ``--resume`` continues exactly and N processes equal one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .augment import Augment
from .card import CARD_FILE, render_card
from .checkpoint import checkpoint_dir, latest_checkpoint, load_trainer_state, save_checkpoint
from .configuration import VLAConfig
from .data import (
    Featurizer,
    MemorySamples,
    StreamedSamples,
    batches,
    estimate_bytes,
    length_groups,
    make_samples,
    open_datasets,
    preload,
    sample_tasks,
    split_episodes,
)
from .errors import CheckpointError, TrainConfigError
from .metrics import COUNT_KEYS, draw_prediction, score_batch, summarize
from .preprocess import Preprocessor
from .run_metrics import METRICS_FILE
from .train_config import TrainConfig, add_train_arguments, config_from_args


# ---- processes and devices ----------------------------------------------------------------
def distributed_setup(device_kind: str) -> tuple[int, int, int]:
    """(rank, world size, local rank); joins the process group when torchrun started us."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


def resolve_device(spec: str, local_rank: int) -> torch.device:
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainConfigError(f"--device {spec}: no CUDA device is available here")
        index = int(spec.split(":")[1]) if ":" in spec else local_rank
        if index >= torch.cuda.device_count():
            raise TrainConfigError(
                f"--device: cuda:{index} does not exist ({torch.cuda.device_count()} GPU(s))"
            )
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    raise TrainConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {spec!r}")


def autocast(device: torch.device, precision: str):
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if not use_bf16:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def lr_factor(step: int, progress: float, cfg: TrainConfig) -> float:
    """Linear warmup over the first steps, then cosine from 1 down to ``min_lr_ratio`` as
    ``progress`` (the share of the budget spent: steps, or minutes) goes from 0 to 1."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = min(1.0, max(0.0, progress))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Budget:
    """How far training has come: by steps, or with ``minutes`` by the wall clock (so a
    slower CPU trains fewer steps in the same time, and uses all of it). The cosine's
    progress after warmup is the share of the budget spent; every rank follows rank 0's
    clock, so they stop at the same step."""

    def __init__(self, cfg: TrainConfig, start: int, spent_s: float, device, world: int):
        self.cfg, self.start, self.device, self.world = cfg, start, device, world
        self.spent_before = spent_s  # training seconds of the runs this one resumes
        self.began = time.perf_counter()
        self.paused = 0.0  # evaluation and checkpoints do not count against the budget

    def spent_s(self) -> float:
        return self.spent_before + time.perf_counter() - self.began - self.paused

    def progress(self, step: int) -> float:
        """The share of the budget spent once ``step`` steps are done (same on every rank)."""
        cfg = self.cfg
        if cfg.minutes <= 0:
            return (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
        share = self.spent_s() / (cfg.minutes * 60)
        if self.world > 1:
            t = torch.tensor([share], dtype=torch.float64, device=self.device)
            dist.broadcast(t, src=0)
            share = float(t)
        return share

    def done(self, step: int, progress: float) -> bool:
        return progress >= 1.0 if self.cfg.minutes > 0 else step >= self.cfg.steps


def no_weight_decay(model: torch.nn.Module) -> set[str]:
    """Names of the parameters exempt from weight decay (minGPT's rule): only the weights of
    linear and conv layers decay; biases, norms, embedding tables and free vectors (the
    learned queries) do not: shrinking them towards 0 only erases what they encode."""
    decayed = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
    exempt = set()
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            if name != "weight" or not isinstance(module, decayed):
                exempt.add(f"{module_name}.{name}" if module_name else name)
    return exempt


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, fused: bool):
    exempt = no_weight_decay(model)
    decay = [p for n, p in model.named_parameters() if n not in exempt]
    others = [p for n, p in model.named_parameters() if n in exempt]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": others, "weight_decay": 0.0}]  # fmt: skip
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=fused or None)


# ---- evaluation ---------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model, samples: MemorySamples, cfg, device, rank, world, keep_images=0):
    """Accuracy counts over ``samples`` (each rank scores its share; the counts are summed)."""
    score = score_batch
    if cfg.kind == "idm":
        from .idm import score_frames as score

        keep_images = 0  # draw_prediction draws a policy's step
    model.eval()
    counts = dict.fromkeys(COUNT_KEYS, 0)
    images = []
    mine = list(range(rank, len(samples), world))
    for start in range(0, len(mine), 128):
        batch = samples.batch(mine[start : start + 128])
        on_dev = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast(device, cfg.precision):
            pred = model.predict_batch(on_dev)
            grounded = model.ground_hits(on_dev) if "g_ids" in on_dev else None
        for k, v in score(model.codec, batch, pred, cfg.click_tolerance).items():
            counts[k] += v
        if grounded is not None:
            counts["n_ground"] += int(grounded[1].sum())
            counts["ground_ok"] += int(grounded[0].sum())
        for i in range(min(keep_images - len(images), len(batch["image"]))):
            row = {k: int(v[i]) for k, v in batch.items() if k.startswith("t_")}
            prow = {k: int(v[i]) for k, v in pred.items()}
            screen = batch["screen"][i].tolist()
            images.append(
                draw_prediction(batch["image"][i].numpy(), screen, model.codec, row, prow)
            )
    if world > 1:
        t = torch.tensor([counts[k] for k in COUNT_KEYS], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        counts = {k: int(v) for k, v in zip(COUNT_KEYS, t.tolist(), strict=True)}
    model.train()
    return summarize(counts) if counts["n"] else {}, images


# ---- the run ------------------------------------------------------------------------------
class RunLog:
    """metrics.jsonl (always) and TensorBoard (when installed), on rank 0 only."""

    def __init__(self, run: Path, enabled: bool, tensorboard: bool):
        self.enabled = enabled
        self.tb = None
        if not enabled:
            return
        self.file = open(run / METRICS_FILE, "a", encoding="utf-8")  # noqa: SIM115 - whole run
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print(
                    "tensorboard is not installed: logging to metrics.jsonl only", file=sys.stderr
                )
            else:
                self.tb = SummaryWriter(str(run / "tb"))

    def scalars(self, step: int, split: str, values: dict) -> None:
        if not self.enabled:
            return
        self.file.write(json.dumps({"step": step, "split": split, **values}) + "\n")
        self.file.flush()
        if self.tb:
            for k, v in values.items():
                self.tb.add_scalar(f"{split}/{k}", v, step)

    def images(self, step: int, tag: str, images: list) -> None:
        if self.enabled and self.tb:
            for i, img in enumerate(images):
                self.tb.add_image(f"{tag}/{i}", img, step, dataformats="HWC")

    def close(self) -> None:
        if self.enabled:
            self.file.close()
            if self.tb:
                self.tb.close()


def model_classes(kind: str):
    """(config class, model class) of a model kind: the policy, or the inverse dynamics
    model that labels videos (model/idm.py)."""
    if kind == "idm":
        from .idm import IDMModel
        from .idm_config import IDMConfig

        return IDMConfig, IDMModel
    from .modeling import VLAModel

    return VLAConfig, VLAModel


def build_model(cfg: TrainConfig, resume_from: Path | None):
    config_class, model_class = model_classes(cfg.kind)
    if resume_from is not None:
        return model_class.from_pretrained(resume_from)
    if cfg.init:
        return init_model(cfg)
    try:
        model_config = config_class(**cfg.model)
    except (TypeError, ValueError) as e:
        raise TrainConfigError(f"bad model config: {e}") from None
    torch.manual_seed(cfg.seed)
    return model_class(model_config)


def init_model(cfg: TrainConfig):
    """The weights of ``cfg.init`` (a model, checkpoint or run). Model fields the config
    names must be the init model's own: the weights fix the architecture."""
    from .checkpoint import load_model

    model = load_model(cfg.init, kind=cfg.kind)
    own = json.loads(json.dumps(model.config.vla_fields()))
    for name, value in (cfg.model or {}).items():
        if name in own and json.loads(json.dumps(value)) != own[name]:
            raise TrainConfigError(
                f"model.{name}={value!r}, but the init model {cfg.init} has {own[name]!r}"
            )
    return model


def sample_source(kind: str):
    """(samples of episodes, preprocessor class) of a model kind: the policy learns from
    each step's frame, the IDM from every frame and the frames around it."""
    if kind == "idm":
        from .idm_data import IDMPreprocessor, frame_samples

        return frame_samples, IDMPreprocessor
    return make_samples, Preprocessor


def load_data(cfg: TrainConfig, model_config, rank: int):
    datasets = open_datasets(cfg.data)
    train_keys, val_keys = split_episodes(datasets, cfg.val_fraction, cfg.seed)
    samples_of, preprocessor = sample_source(cfg.kind)
    train = samples_of(datasets, train_keys, model_config)
    val = samples_of(datasets, val_keys, model_config) if val_keys else None
    if len(train) == 0:
        raise TrainConfigError(f"no training samples in {', '.join(cfg.data)}")
    plain = Featurizer(preprocessor(model_config), seed=cfg.seed)
    featurize = Featurizer(preprocessor(model_config), Augment() if cfg.augment else None,
                           seed=cfg.seed)  # fmt: skip
    workers, tasks = cfg.num_workers, sample_tasks(train)
    if estimate_bytes(len(train), model_config) <= cfg.preload_max_gib * 2**30:
        train_set = MemorySamples(preload(train, workers, desc=f"[rank {rank}] preloading train"),
                                  featurize, tasks)  # fmt: skip
        # Scoring the training set too shows overfitting (and is what a tiny test can check).
        train_eval = MemorySamples(train_set.samples, plain, tasks)
    else:
        train_set = StreamedSamples(train, featurize, tasks)
        picks = np.linspace(0, len(train) - 1, min(len(train), cfg.val_max_samples // 4))
        picks = picks.round().astype(int).tolist()
        subset = torch.utils.data.Subset(train, picks)
        train_eval = MemorySamples(preload(subset, 0), plain, [tasks[i] for i in picks])
    train_eval = train_eval.subset(max(1, cfg.val_max_samples // 4))
    val_set = None
    if val is not None:
        val_set = MemorySamples(preload(val, workers, desc="preloading val"), plain,
                                sample_tasks(val)).subset(cfg.val_max_samples)  # fmt: skip
    return train_set, val_set, train_eval, len(train_keys), len(val_keys)


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    """Run (or continue) training; returns the last evaluation's metrics."""
    kind = "cuda" if cfg.device.startswith("cuda") or (
        cfg.device == "auto" and torch.cuda.is_available()) else "cpu"  # fmt: skip
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per checkpoint write would bury ours
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    rank, world, local_rank = distributed_setup(kind)
    device = resolve_device(cfg.device, local_rank)
    if cfg.batch_size % world:
        raise TrainConfigError(f"batch size {cfg.batch_size} does not split over {world} processes")
    run = Path(cfg.out)
    resume_from = latest_checkpoint(run) if resume else None
    if resume and resume_from is None:
        raise CheckpointError(f"{run}: no checkpoint to resume from")
    state = load_trainer_state(resume_from) if resume_from is not None else None
    model = build_model(cfg, resume_from).to(device)
    cfg.model = model.config.vla_fields()  # the saved config names the whole model
    train_set, val_set, train_eval, n_train_eps, n_val_eps = load_data(cfg, model.config, rank)
    if rank == 0:  # only once the data is known good: a failed start leaves no run behind
        run.mkdir(parents=True, exist_ok=True)
        (run / "train_config.json").write_text(cfg.to_json())
    optimizer = make_optimizer(model, cfg, fused=device.type == "cuda")
    start, spent_s = 0, 0.0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        start, spent_s = int(state["step"]), float(state.get("spent_s", 0.0))
    step_model = model
    if world > 1:
        step_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if cfg.compile:
        step_model = torch.compile(step_model)

    log = RunLog(run, enabled=rank == 0, tensorboard=cfg.tensorboard)
    params = sum(p.numel() for p in model.parameters())
    budget = Budget(cfg, start, spent_s, device, world)

    def card(model_dir: Path, step: int) -> str:
        return render_card(model_dir, cfg, step=step, parameters=params,
                           split=(n_train_eps, n_val_eps))  # fmt: skip

    def save(step: int) -> None:
        if rank == 0:
            save_checkpoint(run, step, model, optimizer, budget.spent_s(), cfg.to_json(),
                            card=card(checkpoint_dir(run, step), step))  # fmt: skip
        if world > 1:
            dist.barrier()

    until = f"{cfg.minutes:g} minutes" if cfg.minutes > 0 else f"step {cfg.steps}"
    if rank == 0:
        print(f"{params / 1e6:.2f}M parameters; {len(train_set)} training samples "
              f"({n_train_eps} episodes), {n_val_eps} held-out episodes; {world} process(es) "
              f"on {device}; from step {start} until {until}", file=sys.stderr)  # fmt: skip

    from screenpilot.console import progress_bar

    # A minutes budget has no last step: the bar then counts minutes.
    timed = cfg.minutes > 0
    bar = progress_bar(total=round(cfg.minutes * 60) if timed else cfg.steps,
                       initial=round(spent_s) if timed else start, disable=rank != 0,
                       unit="s" if timed else "step")  # fmt: skip
    last_eval: dict = {}
    model.train()
    tick, rate, done = time.perf_counter(), 0.0, start
    endless = 10**12 if timed else cfg.steps - start
    progress = budget.progress(start)  # once a step: on a timed DDP run it is a collective
    for step, batch in enumerate(batches(train_set, cfg, start, rank, world, endless), start):
        factor = lr_factor(step, progress, cfg)
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * factor
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        logs = accumulate_gradients(step_model, batch, cfg, device)
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        progress = budget.progress(done)
        last = budget.done(done, progress)

        now = time.perf_counter()
        rate = cfg.batch_size / max(now - tick, 1e-9) if rate == 0 else (
            0.9 * rate + 0.1 * cfg.batch_size / max(now - tick, 1e-9))  # fmt: skip
        tick = now
        if done % cfg.log_every == 0 or last:
            values = {k: float(v) for k, v in logs.items()}
            if world > 1:  # the logged loss is the global batch's, as one process sees it
                # On the compute device: NCCL reduces only CUDA tensors.
                t = torch.tensor([values["loss"]], dtype=torch.float64, device=device)
                dist.all_reduce(t)
                values["loss"] = float(t) / world
            values.update(lr=cfg.lr * factor, grad_norm=float(grad_norm), samples_per_s=rate)
            log.scalars(done, "train", values)
            bar.set_postfix(loss=f"{values['loss']:.3f}", samples_s=f"{rate:.0f}", refresh=False)
        bar.update(round(budget.spent_s()) - bar.n if timed else 1)
        paused = time.perf_counter()
        if done % cfg.val_every == 0 or last:
            last_eval = run_evaluation(model, val_set, train_eval, cfg, device, rank, world, log,
                                       done)  # fmt: skip
            if rank == 0:  # every rank holds the same summed counts: one line, not one a rank
                bar.write(f"step {done}: " + ", ".join(
                    f"{s} {k} {v:.3f}" for s, m in last_eval.items() for k, v in m.items()
                    if k.endswith("acc")))  # fmt: skip
        if done % cfg.checkpoint_every == 0 or last:
            save(done)
        # samples/s and the minutes budget measure training, not evaluation or saving
        budget.paused += time.perf_counter() - paused
        tick += time.perf_counter() - paused
        if last:
            break
    bar.close()
    if rank == 0:
        model.save_pretrained(run / "model")
        (run / "model" / "train_config.json").write_text(cfg.to_json())
        (run / "model" / CARD_FILE).write_text(card(run / "model", done), encoding="utf-8")
    log.close()
    if world > 1:
        dist.barrier()
    return last_eval


def accumulate_gradients(step_model, batch: dict, cfg: TrainConfig, device) -> dict:
    """The batch's gradient, summed over its micro-batches of similar task lengths (each
    loss weighted by its share of the batch, so the sum is the whole batch's mean); -> the
    logs, each the micro-batches' values weighted the same way. Data-parallel ranks
    exchange gradients once, after the last micro-batch."""
    # The IDM's sequence is mostly its window's patches, its task text a small part: there
    # the split only adds passes (its tiny test trained 16% slower with 4 groups).
    groups = length_groups(batch, cfg.length_groups if cfg.kind == "policy" else 1)
    total = len(batch["image"])
    logs: dict = {}
    for i, group in enumerate(groups):
        share = len(group["image"]) / total
        last = i == len(groups) - 1
        sync = contextlib.nullcontext() if last or not hasattr(step_model, "no_sync") else (
            step_model.no_sync())  # fmt: skip
        with sync:
            with autocast(device, cfg.precision):
                loss, group_logs = step_model(group)
            (loss * share).backward()
        for k, v in group_logs.items():
            logs[k] = logs.get(k, 0.0) + v.detach() * share
    return logs


def run_evaluation(model, val_set, train_eval, cfg, device, rank, world, log, step) -> dict:
    out = {}
    for split, samples in (("val", val_set), ("train_eval", train_eval)):
        if samples is None or len(samples) == 0:
            continue
        metrics, images = evaluate(model, samples, cfg, device, rank, world,
                                   keep_images=4 if split == "val" and rank == 0 else 0)  # fmt: skip
        if metrics:
            log.scalars(step, split, metrics)
            log.images(step, f"{split}_predictions", images)
            out[split] = metrics
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m screenpilot.model.train", description=__doc__)
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    from screenpilot.dataset.errors import UserError

    try:
        cfg = config_from_args(args)
        metrics = train(cfg, resume=args.resume)
    except UserError as e:
        print(f"screenpilot: error: {e}", file=sys.stderr)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if metrics and int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
