"""Model and training throughput: training samples/s (fp32 and bf16 autocast; the batch in
micro-batches of similar task lengths, as the trainer runs it, and in one pass), data loading
samples/s beside it (it must not be the bottleneck), model size, achieved FLOP/s, and the
latency of one ``predict`` at the MiniWoB++ screen size.

    .venv/bin/python bench/train_bench.py [--data DIR] [--device cpu|cuda] [--json FILE]
        [--set grounding_weight=0]

Without --data it writes a small synthetic dataset (UI-like 160x210 frames) to a temp dir.
On CUDA it also reports achieved TFLOP/s as a share of the card's bf16 dense peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# bf16 dense peaks (TFLOP/s, no sparsity) of cards this may run on.
BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def synthetic_dataset(root: Path, episodes: int = 40) -> Path:
    import cv2

    from screenpilot.dataset.actions import Action
    from screenpilot.dataset.format import EpisodeWriter

    rng = np.random.default_rng(0)
    for e in range(episodes):
        word = f"w{e:03d}"
        with EpisodeWriter(root, f'Enter "{word}" into the text field and press Submit.', 160,
                           210, clock=lambda: 0.0, source="bench") as ep:  # fmt: skip
            actions = [Action("click", x=int(rng.integers(10, 150)), y=60),
                       Action("type", text=word), Action("click", x=50, y=100)]  # fmt: skip
            for i, a in enumerate(actions):
                img = np.full((210, 160, 3), 250, np.uint8)
                cv2.putText(
                    img, f"{word} {i}", (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1
                )
                cv2.rectangle(img, (a.x or 5, 50), ((a.x or 5) + 30, 70), (40, 90, 200), -1)
                ep.add_frame(img, t=i * 0.5)
                ep.add_action(a, t=i * 0.5 + 0.01)
    return root


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up (allocations, oneDNN primitive caches, compilation)
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="dataset directory (default: a synthetic one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per mode")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a model config field, e.g. --set grounding_weight=0")  # fmt: skip
    args = parser.parse_args()

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from screenpilot.model.configuration import VLAConfig
    from screenpilot.model.data import (
        Featurizer,
        MemorySamples,
        make_samples,
        open_datasets,
        preload,
        sample_tasks,
    )
    from screenpilot.model.modeling import VLAModel
    from screenpilot.model.preprocess import Preprocessor, collate
    from screenpilot.model.train import accumulate_gradients
    from screenpilot.model.train_config import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results: dict = {"device": args.device, "threads": torch.get_num_threads(),
                     "batch_size": args.batch_size, "torch": torch.__version__}  # fmt: skip
    if device.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name(device)

    tmp = tempfile.TemporaryDirectory()
    data = Path(args.data) if args.data else synthetic_dataset(Path(tmp.name) / "ds")
    config = VLAConfig(**{k: json.loads(v) for k, v in (a.split("=", 1) for a in args.set)})
    results["model_set"] = " ".join(args.set) or "-"
    datasets = open_datasets([str(data)])
    keys = [(0, e) for e in range(len(datasets[0]))]
    samples = make_samples(datasets, keys, config)
    featurize = Featurizer(Preprocessor(config))

    # ---- data loading: decode + preprocess, as the trainer's DataLoader does -----------
    n = min(len(samples), 256)
    subset = torch.utils.data.Subset(
        samples, np.random.default_rng(0).permutation(len(samples))[:n]
    )
    samples.transform = featurize.preprocessor  # decode + preprocess in the workers
    for workers in sorted({0, args.workers}):
        loader = torch.utils.data.DataLoader(subset, batch_size=args.batch_size,
                                             num_workers=workers, collate_fn=collate)  # fmt: skip
        t = time.perf_counter()
        for _ in loader:
            pass
        results[f"load_random_samples_per_s_w{workers}"] = n / (time.perf_counter() - t)
    samples.transform = None
    t = time.perf_counter()
    table = MemorySamples(preload(samples, args.workers), featurize, sample_tasks(samples))
    results["preload_samples_per_s"] = len(table) / (time.perf_counter() - t)
    # A seeded draw over the whole set, as training batches are: the first samples are
    # one task's, and a batch of short task texts ran ~2x faster than training does.
    idx = np.random.default_rng(0).choice(len(table), args.batch_size)
    # A batch from memory is preprocessing only (and the augmentation, when training).
    results["preloaded_batch_samples_per_s"] = args.batch_size / statistics.median(
        timed(lambda: table.batch(idx, step=0), 20)
    )

    # ---- training step -------------------------------------------------------------------
    torch.manual_seed(0)
    model = VLAModel(config).to(device)
    results["parameters"] = sum(p.numel() for p in model.parameters())
    batch = {k: v.to(device) for k, v in table.batch(idx, step=0).items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda" or None)

    with FlopCounterMode(display=False) as counter:
        loss, _ = model(batch)
        loss.backward()
    optimizer.zero_grad(set_to_none=True)
    flops_per_sample = counter.get_total_flops() / args.batch_size
    results["train_gflop_per_sample"] = flops_per_sample / 1e9

    # The trainer's own step: the batch in micro-batches of similar task lengths (the
    # config's default), beside it the batch in one pass.
    groups = TrainConfig.length_groups
    first = "fp32" if device.type == "cpu" else "bf16"
    modes = ["fp32", "fp32_one_group", "bf16"]
    # compiled in the precision training uses there: fp32 on a CPU, bf16 on CUDA
    for mode in modes + ([f"{first}_compiled"] if args.compile else []):
        step_model = torch.compile(model) if mode.endswith("compiled") else model
        cfg = TrainConfig(precision=mode[:4], length_groups=1 if "one_group" in mode else groups)

        def step(step_model=step_model, cfg=cfg):
            accumulate_gradients(step_model, batch, cfg, device)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync(device)

        seconds = statistics.median(timed(step, args.steps))
        results[f"train_samples_per_s_{mode}"] = args.batch_size / seconds
        results[f"train_tflops_{mode}"] = flops_per_sample * args.batch_size / seconds / 1e12
        if device.type == "cuda":
            peak = next((v for k, v in BF16_PEAK_TFLOPS.items() if k in results["gpu"]), None)
            if peak:
                results[f"train_share_of_bf16_peak_{mode}"] = results[f"train_tflops_{mode}"] / peak

    # ---- acting: one predict at 160x210 (preprocess + forward + decode) ---------------------
    model.eval()
    obs = {"screenshot": table.samples[0]["image"],
           "task": 'Enter "w000" into the text field and press Submit.'}  # fmt: skip
    from screenpilot.dataset.actions import Action

    history = [Action("click", x=50, y=60)]
    lat = timed(lambda: model.predict(obs, history), 30)
    results["predict_ms_median"] = 1000 * statistics.median(lat)
    results["predict_ms_p90"] = 1000 * float(np.percentile(lat, 90))
    if device.type == "cpu":
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        results["predict_ms_median_1_thread"] = 1000 * statistics.median(
            timed(lambda: model.predict(obs, history), 30))  # fmt: skip
        torch.set_num_threads(before)

    width = max(map(len, results))
    for k, v in results.items():
        print(f"{k:<{width}}  {v:.4g}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
