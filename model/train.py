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

import torch
import torch.distributed as dist

from .card import CARD_FILE, render_card
from .checkpoint import checkpoint_dir, latest_checkpoint, load_trainer_state, save_checkpoint
from .configuration import VLAConfig
from .data import (
    TensorSamples,
    batches,
    estimate_bytes,
    make_samples,
    open_datasets,
    preload,
    split_episodes,
)
from .errors import CheckpointError, TrainConfigError
from .metrics import COUNT_KEYS, draw_prediction, score_batch, summarize
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


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine from 1 down to ``min_lr_ratio`` at the last step."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


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
def subset(samples: TensorSamples, limit: int) -> TensorSamples:
    """At most ``limit`` samples spread evenly over the set (fixed across evaluations)."""
    n = len(samples)
    if n <= limit:
        return samples
    idx = torch.linspace(0, n - 1, limit).round().long()
    return TensorSamples({k: v.index_select(0, idx) for k, v in samples.features.items()})


@torch.no_grad()
def evaluate(model, samples: TensorSamples, cfg, device, rank, world, keep_images=0):
    """Accuracy counts over ``samples`` (each rank scores its share; the counts are summed)."""
    model.eval()
    counts = dict.fromkeys(COUNT_KEYS, 0)
    images = []
    mine = list(range(rank, len(samples), world))
    for start in range(0, len(mine), 128):
        batch = samples.batch(mine[start : start + 128])
        on_dev = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast(device, cfg.precision):
            pred = model.predict_batch(on_dev)
        for k, v in score_batch(model.codec, batch, pred, cfg.click_tolerance).items():
            counts[k] += v
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


def build_model(cfg: TrainConfig, resume_from: Path | None):
    from .modeling import VLAModel

    if resume_from is not None:
        return VLAModel.from_pretrained(resume_from)
    try:
        model_config = VLAConfig(**cfg.model)
    except TypeError as e:
        raise TrainConfigError(f"bad model config: {e}") from None
    torch.manual_seed(cfg.seed)
    return VLAModel(model_config)


def load_data(cfg: TrainConfig, model_config, rank: int):
    datasets = open_datasets(cfg.data)
    train_keys, val_keys = split_episodes(datasets, cfg.val_fraction, cfg.seed)
    train = make_samples(datasets, train_keys, model_config)
    val = make_samples(datasets, val_keys, model_config) if val_keys else None
    if len(train) == 0:
        raise TrainConfigError(f"no training samples in {', '.join(cfg.data)}")
    workers = cfg.num_workers
    if estimate_bytes(len(train), model_config) <= cfg.preload_max_gib * 2**30:
        train = preload(train, workers, desc=f"[rank {rank}] preloading train")
    val_set = preload(val, workers, desc="preloading val") if val is not None else None
    # Scoring the training set too shows overfitting (and is what a tiny test can check).
    if isinstance(train, TensorSamples):
        train_eval = subset(train, max(1, cfg.val_max_samples // 4))
    else:
        picks = torch.linspace(0, len(train) - 1, min(len(train), cfg.val_max_samples // 4))
        train_eval = preload(torch.utils.data.Subset(train, picks.round().long().tolist()), 0)
    if val_set is not None:
        val_set = subset(val_set, cfg.val_max_samples)
    return train, val_set, train_eval, len(train_keys), len(val_keys)


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
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg))
    start = 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        start = int(state["step"])
    step_model = model
    if world > 1:
        step_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if cfg.compile:
        step_model = torch.compile(step_model)

    log = RunLog(run, enabled=rank == 0, tensorboard=cfg.tensorboard)
    params = sum(p.numel() for p in model.parameters())

    def card(model_dir: Path, step: int) -> str:
        return render_card(model_dir, cfg, step=step, parameters=params,
                           split=(n_train_eps, n_val_eps))  # fmt: skip

    if rank == 0:
        print(f"{params / 1e6:.2f}M parameters; {len(train_set)} training samples "
              f"({n_train_eps} episodes), {n_val_eps} held-out episodes; {world} process(es) "
              f"on {device}; steps {start}..{cfg.steps}", file=sys.stderr)  # fmt: skip

    from screenpilot.console import progress_bar

    bar = progress_bar(total=cfg.steps, initial=start, disable=rank != 0, unit="step")
    last_eval: dict = {}
    model.train()
    tick, rate = time.perf_counter(), 0.0
    for step, batch in enumerate(batches(train_set, cfg, start, rank, world), start=start):
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast(device, cfg.precision):
            loss, logs = step_model(batch)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1

        now = time.perf_counter()
        rate = cfg.batch_size / max(now - tick, 1e-9) if rate == 0 else (
            0.9 * rate + 0.1 * cfg.batch_size / max(now - tick, 1e-9))  # fmt: skip
        tick = now
        if done % cfg.log_every == 0 or done == cfg.steps:
            values = {k: float(v) for k, v in logs.items()}
            if world > 1:  # the logged loss is the global batch's, as one process sees it
                # On the compute device: NCCL reduces only CUDA tensors.
                t = torch.tensor([values["loss"]], dtype=torch.float64, device=device)
                dist.all_reduce(t)
                values["loss"] = float(t) / world
            values.update(lr=scheduler.get_last_lr()[0], grad_norm=float(grad_norm),
                          samples_per_s=rate)  # fmt: skip
            log.scalars(done, "train", values)
            bar.set_postfix(loss=f"{values['loss']:.3f}", samples_s=f"{rate:.0f}", refresh=False)
        bar.update(1)
        if done % cfg.val_every == 0 or done == cfg.steps:
            last_eval = run_evaluation(model, val_set, train_eval, cfg, device, rank, world, log,
                                       done)  # fmt: skip
            bar.write(f"step {done}: " + ", ".join(
                f"{s} {k} {v:.3f}" for s, m in last_eval.items() for k, v in m.items()
                if k.endswith("acc")))  # fmt: skip
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            if rank == 0:
                save_checkpoint(run, done, model, optimizer, scheduler, cfg.to_json(),
                                card=card(checkpoint_dir(run, done), done))  # fmt: skip
            if world > 1:
                dist.barrier()
        if done % cfg.val_every == 0 or done % cfg.checkpoint_every == 0:
            tick = time.perf_counter()  # samples/s measures training, not evaluation or saving
    bar.close()
    if rank == 0:
        model.save_pretrained(run / "model")
        (run / "model" / "train_config.json").write_text(cfg.to_json())
        (run / "model" / CARD_FILE).write_text(card(run / "model", cfg.steps), encoding="utf-8")
    log.close()
    if world > 1:
        dist.barrier()
    return last_eval


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
