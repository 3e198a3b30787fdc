"""The inverse dynamics model on held-out labelled recordings: train an IDM on part of a
labelled dataset, label the rest with their steps hidden, score the labels against them.

    python bench/idm_bench.py --data DIR --out OUT [--minutes M | --steps N] [--device cuda]
                              [--heldout 0.2] [--set model.frames_after=12 ...]
    python bench/idm_bench.py --synthetic 60 --out OUT [...]
    python bench/idm_bench.py --data DIR --stats

DIR: labelled screen recordings, e.g. `screenpilot record expert --via desktop
--draw-pointer`. Its episodes are split whole (the trainer's own split, by a hash of the
seed and the episode) into OUT/train and OUT/heldout; the IDM trains on OUT/train
(OUT/idm) and `screenpilot label --score` labels OUT/heldout into OUT/labelled. Printed:
the score table (action type right and a click within 3 px, typed text exact, by step
type); OUT/idm_bench.json has it all. ``--synthetic N`` writes N episodes of the test's
synthetic screen recording (tests/model/test_idm.py) with words of 4-8 letters typed one
character a frame, longer than a small window: what `model.typed_text=whole` cannot read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def split_dataset(data: Path, out: Path, heldout: float, seed: int) -> tuple[Path, Path]:
    """OUT/train and OUT/heldout: the episodes of ``data`` that have steps, split whole by
    a seeded shuffle (the same split wherever the data lies)."""
    import numpy as np

    from screenpilot.dataset.format import init_dataset
    from screenpilot.dataset.maintenance import adopt_episodes
    from screenpilot.dataset.reader import open_dataset

    ds = open_dataset(data)
    labelled = [e for e, n in enumerate(ds.column("length")) if n > 0]
    order = np.random.default_rng(seed).permutation(len(labelled))
    cut = max(1, round(heldout * len(labelled)))
    held = sorted(labelled[i] for i in order[:cut])
    train = sorted(labelled[i] for i in order[cut:])
    parts = []
    for name, positions in (("train", train), ("heldout", held)):
        root = out / name
        init_dataset(root)
        adopt_episodes([ds[e] for e in positions], root)
        parts.append(root)
    return parts[0], parts[1]


def synthetic(root: Path, episodes: int) -> Path:
    from tests.model.test_idm import write_recording

    for seed in range(episodes):
        write_recording(root, seed, letters=(4, 8), per_frame=(1, 1))
    return root


def label_stats(root: Path) -> dict:
    """What the labels of ``root`` ask of the IDM: steps that share the frame before them
    with an earlier one (labelled a frame late), `type` steps spread over several frames,
    and how many stored frames after a pointer step's frame its press comes (the pointer
    travels in between: the window must reach it)."""
    from collections import Counter

    from screenpilot.dataset.reader import open_dataset
    from screenpilot.dataset.segment import frame_before
    from screenpilot.model.idm_data import frame_labels

    steps = shared = typed = parts = 0
    reach: Counter = Counter()
    for ep in open_dataset(root):
        labels = frame_labels(ep)
        frames = [a.frame for a in ep.actions]
        steps += len(frames)
        shared += len(frames) - len(set(frames))
        typed += sum(a.type == "type" for a in ep.actions)
        parts += sum(a is not None and a.type == "type" for a in labels)
        for a in ep.actions:
            if a.x is not None:
                reach[frame_before(ep.frame_times, a.t) - a.frame] += 1
    return {"steps": steps, "sharing_a_frame": shared, "type_steps": typed,
            "type_frames": parts, "press_frames_after_step_frame": dict(sorted(reach.items()))}  # fmt: skip


def model_fields(settings: list[str]) -> dict:
    """``--set model.FIELD=VALUE`` items -> {FIELD: value}, values read as JSON where they
    parse (numbers, booleans), else as strings."""
    model = {}
    for item in settings:
        name, _, value = item.partition("=")
        try:
            model[name.removeprefix("model.")] = json.loads(value)
        except json.JSONDecodeError:
            model[name.removeprefix("model.")] = value
    return model


def idm_train_config(data: Path, out: Path, args, model: dict):
    """The bench's IDM training: ``args`` gives steps, minutes, batch_size, lr, device,
    threads and seed."""
    from screenpilot.model.train_config import TrainConfig

    cfg = TrainConfig(kind="idm", data=[str(data)], out=str(out), steps=args.steps,
                      minutes=args.minutes, batch_size=args.batch_size, lr=args.lr,
                      warmup_steps=min(100, args.steps // 10), val_fraction=0.05,
                      val_every=max(50, args.steps // 4), checkpoint_every=10**9,
                      device=args.device, threads=args.threads, num_workers=0,
                      tensorboard=False, seed=args.seed, model=model)  # fmt: skip
    cfg.validate()
    return cfg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="labelled recordings (or --synthetic)")
    parser.add_argument("--synthetic", type=int, metavar="N", help="N synthetic episodes")
    parser.add_argument("--stats", action="store_true",
                        help="only print what --data's labels ask of the IDM")  # fmt: skip
    parser.add_argument("--out", help="a new directory for everything")
    parser.add_argument("--heldout", type=float, default=0.2, help="share of episodes labelled")
    parser.add_argument("--minutes", type=float, default=0.0)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="model.FIELD=VALUE",
                        help="IDM config fields, e.g. model.frames_after=12")  # fmt: skip
    args = parser.parse_args()
    if bool(args.data) == bool(args.synthetic):
        parser.error("give --data DIR or --synthetic N")
    if args.stats:
        print(json.dumps(label_stats(Path(args.data)), indent=2))
        return 0
    if not args.out:
        parser.error("--out is needed")

    from screenpilot.model.label import format_score, label_dataset
    from screenpilot.model.train import train

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} exists; the bench writes a new directory")
    model = model_fields(args.set)
    if args.synthetic:
        from tests.model.test_idm import H, W

        data = synthetic(out / "synthetic", args.synthetic)
        model = {"image_height": H, "image_width": W, "frames_after": 4, "text_slots": 4,
                 **model}  # fmt: skip
    else:
        data = Path(args.data)
    train_root, held_root = split_dataset(data, out, args.heldout, args.seed)
    cfg = idm_train_config(train_root, out / "idm", args, model)
    start = time.perf_counter()
    metrics = train(cfg)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    summary = label_dataset(out / "idm", held_root, out / "labelled", score=True,
                            device=args.device)  # fmt: skip
    label_s = time.perf_counter() - start
    print(format_score(summary["score"]))
    print(f"trained {train_s:.0f} s; labelled {summary['episodes']} held-out episodes in "
          f"{label_s:.0f} s")  # fmt: skip
    result = {
        "data": str(data),
        "train_config": json.loads(cfg.to_json()),
        "train_metrics": metrics,
        "train_s": round(train_s, 1),
        "label_s": round(label_s, 1),
        "heldout_labels": label_stats(held_root),
        "score": summary["score"],
    }
    (out / "idm_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
