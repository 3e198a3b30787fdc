"""Data parallel: 2 processes (gloo, CPU) started by `screenpilot train --nproc 2` (torchrun)
follow the same loss curve as one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_episode
from screenpilot.dataset.actions import Action

REPO = Path(__file__).resolve().parents[2]
TINY = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "stem_channels": 8}


def losses(run: Path) -> dict:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return {d["step"]: d["loss"] for d in map(json.loads, lines) if d["split"] == "train"}


@pytest.mark.integration
def test_two_gloo_processes_match_one_process(tmp_path):
    data = tmp_path / "ds"
    for i, word in enumerate(["alpha", "bravo", "charlie", "delta"]):
        actions = [Action("click", x=20 + 30 * i, y=50), Action("type", text=word),
                   Action("key", key="Enter")]  # fmt: skip
        write_episode(data, f'Type "{word}" and press Enter.', n_frames=7, actions=actions)
    config = {"data": [str(data)], "steps": 5, "batch_size": 4, "warmup_steps": 1,
              "val_every": 5, "checkpoint_every": 5, "log_every": 1, "num_workers": 0,
              "tensorboard": False, "val_fraction": 0.0, "threads": 1, "model": TINY}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    train = ["-m", "screenpilot.model.train", "--config", str(tmp_path / "config.json")]
    one = subprocess.run([sys.executable, *train, "--out", str(tmp_path / "one")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert one.returncode == 0, one.stderr[-2000:]
    # Through `screenpilot train --nproc 2`, which starts torchrun with this config.
    two = subprocess.run(
        [sys.executable, "-m", "screenpilot.agent.cli", "train", "--nproc", "2",
         "--config", str(tmp_path / "config.json"), "--out", str(tmp_path / "two")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-2000:]
    a, b = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5]
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=1e-4, abs=1e-5), (step, a, b)
