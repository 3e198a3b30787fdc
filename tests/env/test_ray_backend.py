"""The pool's Ray backend: a two-node Ray cluster on this machine (a head and a worker
node, started with the `ray` CLI and stopped by their process group) gives the same eval
results and the same recorded dataset as the local pool; a dead actor's job is retried
once; episodes travel back as bytes instead of through the driver's disk."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import screenpilot
from screenpilot.dataset.errors import UserError
from screenpilot.env.pool import run_jobs

START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _ray_node(args: list[str], log: Path):
    """One `ray start --block` node in a process group of its own; yields once it is up,
    then stops it by its group (SIGTERM: Ray stops its processes; SIGKILL what is left)."""
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists():
        pytest.fail("Ray is not installed (make setup installs the `ray` extra)")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(ray_cli), "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
             "--disable-usage-stats", *args],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Ray runtime started" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start {' '.join(args)} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # raylet's workers, should any be left
        proc.wait()


@pytest.fixture(scope="module")
def ray_cluster():
    """The address of a Ray cluster of two nodes of one CPU each, on this machine."""
    # Short: Ray's socket paths under it must fit in 107 characters.
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-"))
    address = f"127.0.0.1:{_free_port()}"
    head = ["--head", f"--port={address.split(':')[1]}", "--include-dashboard=false",
            f"--temp-dir={temp_dir}"]  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        # Nodes and drivers (subprocesses too) agree on no token, whatever a token left in
        # ~/.ray by an earlier local Ray would make each of them pick. Loopback only.
        env.setenv("RAY_AUTH_MODE", "disabled")
        try:
            with (
                _ray_node(head, temp_dir / "head.log"),
                _ray_node([f"--address={address}"], temp_dir / "worker.log"),
            ):
                yield address
        finally:
            shutil.rmtree(temp_dir, ignore_errors=True)


def run_local_and_on_ray(command: list, tmp_path, address: str) -> None:
    """``command`` into tmp_path/local with one local worker (results do not depend on K)
    and into tmp_path/ray with one Ray actor on each node."""
    local = screenpilot(*command, "--out", tmp_path / "local")
    on_ray = screenpilot(*command, "--workers", 2, "--backend", "ray", "--address", address,
                         "--out", tmp_path / "ray")  # fmt: skip
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr


@pytest.mark.integration
def test_eval_on_a_two_node_cluster_matches_the_local_pool(ray_cluster, tmp_path):
    common = ["eval", "--agent", "expert", "--tasks", "miniwob.click-test,miniwob.focus-text",
              "--episodes", 2, "-q"]  # fmt: skip
    run_local_and_on_ray(common, tmp_path, ray_cluster)

    def outcomes(run: str) -> tuple[dict, list]:
        results = json.loads((tmp_path / run / "results.json").read_text())
        per_task = {t: (r["successes"], r["episodes"]) for t, r in results["tasks"].items()}
        return per_task, [(e["task"], e["seed"], e["success"], e["steps"], e["actions"])
                          for e in results["episodes"]]  # fmt: skip

    assert outcomes("ray") == outcomes("local")
    per_task, episodes = outcomes("ray")
    assert per_task == {"miniwob.click-test": (2, 2), "miniwob.focus-text": (2, 2)}
    assert [e[:2] for e in episodes] == [(t, s) for t in per_task for s in (1_000_000, 1_000_001)]


@pytest.mark.integration
def test_record_expert_on_ray_writes_the_local_pools_dataset(ray_cluster, tmp_path):
    from screenpilot.dataset.reader import open_dataset

    common = ["record", "expert", "--tasks", "miniwob.click-test,miniwob.enter-text",
              "--episodes", 2, "-q"]  # fmt: skip
    run_local_and_on_ray(common, tmp_path, ray_cluster)

    def episodes(name: str) -> list:
        ds = open_dataset(tmp_path / name)
        return [(ep.meta["metadata"]["env"], ep.meta["metadata"]["seed"], ep.success,
                 [a.to_text() for a in ep.actions]) for ep in ds]  # fmt: skip

    assert episodes("ray") == episodes("local")
    assert [e[:2] for e in episodes("ray")] == [
        ("miniwob.click-test", 0), ("miniwob.click-test", 1),
        ("miniwob.enter-text", 0), ("miniwob.enter-text", 1),
    ]  # fmt: skip
    # The scratch shards are gone: the dataset holds everything.
    assert not [p for p in (tmp_path / "ray").iterdir() if p.name.startswith(".shards-")]


class DiesOnce:
    """A runner without a browser whose process dies (as a node lost, or an OOM kill
    does) on the job "die once" the first time only, and on "die always" every time."""

    def __init__(self, marker: str):
        self.marker = Path(marker)

    def run(self, job):
        if job == "die always" or (job == "die once" and not self.marker.exists()):
            self.marker.touch()
            os._exit(1)
        if job == "raise":
            raise ValueError("a job's own error")
        return f"{job} done on {os.getpid()}"

    def close(self) -> None:
        pass


@pytest.fixture
def ray_driver(ray_cluster):
    """This process connected to the cluster, and DiesOnce sent by value: the actors'
    Python cannot import this test module."""
    import ray
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address=ray_cluster, log_to_driver=False, logging_level="ERROR")
    try:
        yield ray_cluster
    finally:
        ray.shutdown()
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.mark.integration
def test_a_dead_actors_job_is_retried_once_and_reported(ray_driver, tmp_path, capfd):
    runner = functools.partial(DiesOnce, str(tmp_path / "died"))
    jobs = ["a", "die once", "b", "c"]
    results = run_jobs(runner, jobs, workers=2, backend="ray", address=ray_driver)
    assert [r.split(" on ")[0] for r in results] == [f"{job} done" for job in jobs]
    assert results.retried == ["die once"]
    assert "running the job again on a new worker" in capfd.readouterr().err

    with pytest.raises(UserError, match="'die always' killed its Ray worker twice"):
        run_jobs(runner, ["die always"], backend="ray", address=ray_driver)
    # A job's own exception is raised here, as the local pool raises it.
    with pytest.raises(ValueError, match="a job's own error"):
        run_jobs(runner, ["raise"], backend="ray", address=ray_driver)


@pytest.mark.integration
def test_a_shipped_episode_never_touches_record_shards(tmp_path):
    """ship_episodes (the Ray backend's setting): the worker records into its own scratch
    and returns the episode as bytes; land_episode puts it in a shard here."""
    from screenpilot.dataset.reader import open_dataset
    from screenpilot.env.experts import ExpertPolicy
    from screenpilot.env.parallel import EpisodeRunner, land_episode

    shards = tmp_path / "shards"
    runner = EpisodeRunner(ExpertPolicy, record_shards=shards, ship_episodes=True)
    try:
        result = runner.run(("miniwob.enter-text", 3))
    finally:
        runner.close()
    assert not shards.exists()
    assert not runner.scratch.exists()  # closing removes the worker's scratch
    blob, meta = result.recorded
    assert isinstance(blob, bytes) and result.success

    landed = land_episode(shards / "landed", result)
    shard, meta = landed.recorded
    assert shard == str(shards / "landed") and meta["index"] == 0
    [episode] = open_dataset(shard)
    assert episode.meta["metadata"]["seed"] == 3
    assert [a.type for a in episode.actions] == ["click", "type", "click"]
    assert episode.frame(episode.actions[0].frame).shape == (210, 160, 3)


def test_without_ray_the_backend_ends_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where it is missing
    with pytest.raises(UserError, match="needs Ray, which is not installed: `make setup`"):
        run_jobs(DiesOnce, ["a"], backend="ray")


def test_an_address_needs_the_ray_backend():
    with pytest.raises(UserError, match="--address names a Ray cluster: it needs --backend ray"):
        run_jobs(DiesOnce, ["a"], address="127.0.0.1:6379")


def test_an_address_where_nothing_listens_ends_in_one_line():
    address = f"127.0.0.1:{_free_port()}"
    with pytest.raises(UserError, match=f"no Ray cluster at {address} .*ray start --head"):
        run_jobs(DiesOnce, ["a"], backend="ray", address=address)
