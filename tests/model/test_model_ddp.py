"""Data parallel: 2 processes (gloo, CPU) started by `screenpilot train --nproc 2` (torchrun),
or by two "machines" on this host (`--nnodes 2`, a c10d rendezvous), follow the loss curve
of one process with the same global batch and end with the same weights."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_episode
from screenpilot.agent.cli import build_parser, main
from screenpilot.dataset.actions import Action

REPO = Path(__file__).resolve().parents[2]
TINY = {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "stem_channels": 8}
STEPS = 5
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def losses(run: Path) -> list[tuple[int, float]]:
    """Every train line of metrics.jsonl: a step logged twice (two writers) shows up."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [(d["step"], d["loss"]) for d in map(json.loads, lines) if d["split"] == "train"]


def loss_visible(name: str, tensor):
    """The elements of a weight that the loss depends on. A key's bias adds the same score
    to every candidate of a softmax, so its gradient is rounding noise, which Adam scales
    to steps of about lr that differ between any two runs: it holds nothing trained."""
    import torch

    if name.endswith(".k.bias"):
        return tensor[:0]
    if name.endswith("qkv.bias"):
        query, _, value = tensor.chunk(3)
        return torch.cat([query, value])
    return tensor


def assert_same_training(one: Path, other: Path) -> None:
    """The loss of every step, the last checkpoint and the final model match within 1e-4."""
    import torch
    from safetensors.torch import load_file

    a, b = losses(one), losses(other)
    assert [s for s, _ in a] == [s for s, _ in b] == list(range(1, STEPS + 1)), (a, b)
    for (step, la), (_, lb) in zip(a, b, strict=True):
        assert lb == pytest.approx(la, rel=1e-4, abs=1e-5), (step, a, b)
    for weights in (f"checkpoints/step_{STEPS:06d}", "model"):
        wa = load_file(one / weights / "model.safetensors")
        wb = load_file(other / weights / "model.safetensors")
        assert wa.keys() == wb.keys()
        for name in wa:
            torch.testing.assert_close(
                loss_visible(name, wb[name]), loss_visible(name, wa[name]), rtol=0, atol=1e-4,
                msg=lambda m, name=name, weights=weights: f"{weights}: {name}: {m}",
            )  # fmt: skip


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> tuple[Path, Path]:
    """(config file, run) of the reference: one process, the global batch of 4. Trained once
    for every test here that compares against it."""
    root = tmp_path_factory.mktemp("ddp")
    data = root / "ds"
    for i, word in enumerate(["alpha", "bravo", "charlie", "delta"]):
        actions = [Action("click", x=20 + 30 * i, y=50), Action("type", text=word),
                   Action("key", key="Enter")]  # fmt: skip
        write_episode(data, f'Type "{word}" and press Enter.', n_frames=7, actions=actions)
    config = {"data": [str(data)], "steps": STEPS, "batch_size": 4, "warmup_steps": 1,
              "val_every": STEPS, "checkpoint_every": STEPS, "log_every": 1, "num_workers": 0,
              "tensorboard": False, "val_fraction": 0.0, "threads": 1, "model": TINY}  # fmt: skip
    config_file = root / "config.json"
    config_file.write_text(json.dumps(config))
    run = root / "one"
    one = subprocess.run([sys.executable, "-m", "screenpilot.model.train", "--config",
                          str(config_file), "--out", str(run)], cwd=REPO, env=ENV,
                         capture_output=True, text=True, timeout=240)  # fmt: skip
    assert one.returncode == 0, one.stderr[-2000:]
    return config_file, run


@pytest.mark.integration
def test_two_gloo_processes_match_one_process(one_process, tmp_path):
    config_file, one = one_process
    # Through `screenpilot train --nproc 2`, which starts torchrun with this config.
    two = subprocess.run(
        [sys.executable, "-m", "screenpilot.agent.cli", "train", "--nproc", "2",
         "--config", str(config_file), "--out", str(tmp_path / "two")],
        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-2000:]
    assert_same_training(one, tmp_path / "two")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.integration
def test_two_nodes_match_one_process(one_process, tmp_path):
    """Two `--nnodes 2` commands, as on two machines, meet at a c10d rendezvous on this
    host and share --out, as machines on one shared disk would: only global rank 0 writes."""
    config_file, one = one_process
    run = tmp_path / "two_nodes"
    command = [sys.executable, "-m", "screenpilot.agent.cli", "train", "--nnodes", "2",
               "--nproc", "1", "--rdzv-endpoint", f"localhost:{free_port()}",
               "--config", str(config_file), "--out", str(run)]  # fmt: skip
    nodes = []
    try:
        for name in ("a", "b"):
            log = open(tmp_path / f"node_{name}.log", "w")  # noqa: SIM115 - closed below
            # A session of its own: on a timeout the node's torchrun and its worker go together.
            nodes.append((subprocess.Popen(command, cwd=REPO, env=ENV, stdout=log, stderr=log,
                                           stdin=subprocess.DEVNULL, start_new_session=True),
                          log))  # fmt: skip
        codes = [node.wait(timeout=240) for node, _ in nodes]
    finally:
        for node, log in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
            log.close()
    logs = "\n".join((tmp_path / f"node_{n}.log").read_text()[-2000:] for n in ("a", "b"))
    assert codes == [0, 0], logs
    assert_same_training(one, run)


def test_train_commands_for_one_and_several_machines():
    train = ["train", "--data", "ds", "--out", "run"]
    parse = build_parser().parse_args
    one = parse([*train, "--nproc", "2"])
    several = parse([*train, "--nnodes", "2", "--nproc", "4", "--rdzv-endpoint", "node-a:29400"])
    from screenpilot.model.cli import torchrun_command

    single = torchrun_command(one, Path("run/launch_config.json"), Path("run"))
    multi = torchrun_command(several, Path("run/launch_config.json"), Path("run"))
    assert "--standalone" in single and not any(a.startswith("--rdzv") for a in single)
    assert "--standalone" not in multi
    assert {"--nnodes=2", "--nproc_per_node=4", "--rdzv_backend=c10d",
            "--rdzv_endpoint=node-a:29400", "--rdzv_id=screenpilot"} <= set(multi)  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--nnodes", "2"], "--nnodes 2 needs --rdzv-endpoint HOST:PORT"),
        (["--nnodes", "2", "--rdzv-endpoint", "node-a"], "--rdzv-endpoint must be HOST:PORT"),
        (["--nnodes", "2", "--rdzv-endpoint", ":29400"], "--rdzv-endpoint must be HOST:PORT"),
        (["--nnodes", "2", "--rdzv-endpoint", "a:99999"], "--rdzv-endpoint must be HOST:PORT"),
        (["--nnodes", "0"], "--nnodes must be at least 1"),
        (["--rdzv-endpoint", "node-a:29400"], "--rdzv-endpoint is for --nnodes > 1"),
        (["--rdzv-id", "job7"], "--rdzv-id is for --nnodes > 1"),
    ],
)
def test_bad_machine_flags_end_in_one_line(small_dataset, tmp_path, capsys, flags, message):
    run = tmp_path / "run"
    code = main(["train", "--data", str(small_dataset), "--out", str(run), *flags])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("screenpilot: error: " + message) and err.count("\n") == 1, err
    assert not run.exists()  # refused before anything was written or spawned
