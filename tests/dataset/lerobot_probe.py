"""Runs in the LeRobot venv (`make lerobot-venv`), not in ours: opens an exported dataset
with LeRobot's own `LeRobotDataset` and reports what it reads.

    python lerobot_probe.py ROOT OUT_DIR INDEX...

writes OUT_DIR/probe.json (the dataset's length, fps, features and, for each INDEX, the
row's columns) and OUT_DIR/frames.npy (those rows' images, (N, H, W, 3) uint8).
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

# The registry's torchvision is a CUDA build whose C++ ops cannot load beside the CPU torch
# the venv has. torchvision then declares fake kernels for two ops without checking that
# they exist and fails to import; LeRobot uses none of those ops, only torchvision's Python
# parts (and decodes video through torchcodec), so their schemas are declared here.
for op in ("nms", "qnms"):
    torch.library.define(f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou) -> Tensor")

from ledataset.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402


def main() -> None:
    root, out, *indices = sys.argv[1:]
    ds = LeRobotDataset("screenpilot/export", root=root, video_backend="torchcodec")
    rows, frames = [], []
    for i in map(int, indices):
        item = ds[i]
        image = item["observation.images.screen"]  # (3, H, W) float in [0, 1]
        frames.append((image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
        rows.append({
            key: (value.tolist() if isinstance(value, torch.Tensor) else value)
            for key, value in item.items() if key != "observation.images.screen"
        })  # fmt: skip
    report = {
        "len": len(ds),
        "num_episodes": ds.num_episodes,
        "fps": ds.fps,
        "features": ds.meta.features,
        "tasks": list(ds.meta.tasks.index),
        "stats_keys": sorted(ds.meta.stats),
        "rows": rows,
    }
    Path(out, "probe.json").write_text(json.dumps(report))
    np.save(Path(out, "frames.npy"), np.stack(frames))


if __name__ == "__main__":
    main()
