"""A run's metrics.jsonl: one JSON line per logged point, ``{"step", "split", ...values}``
with split ``train`` (loss, lr, ...), ``val`` and ``train_eval`` (accuracies).

The trainer writes it (train.RunLog); the model card and the eval report read it. No torch
here: the report of a random agent must not pay for it.
"""

from __future__ import annotations

import json
from pathlib import Path

METRICS_FILE = "metrics.jsonl"


def run_dir_of(path: str | Path) -> Path:
    """The run directory of a run, its final model (RUN/model) or a checkpoint
    (RUN/checkpoints/step_N)."""
    path = Path(path)
    if path.name == "model":
        return path.parent
    if path.parent.name == "checkpoints":
        return path.parent.parent
    return path


def read_metrics(run: str | Path) -> list[dict]:
    """Every logged point in order; [] when the run has none. A line cut short by a killed
    trainer is skipped."""
    path = Path(run) / METRICS_FILE
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            point = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(point, dict) and "step" in point and "split" in point:
            points.append(point)
    return points


def curve(points: list[dict], split: str, key: str) -> list[tuple[int, float]]:
    """(step, value) of one metric. A restarted run logs some steps again: the later line
    wins."""
    by_step = {p["step"]: float(p[key]) for p in points if p["split"] == split and key in p}
    return sorted(by_step.items())
