"""The pool's Ray backend: env/pool.py's jobs on Ray actors, here or across a cluster.

One actor per worker holds its runner (a browser) between jobs; each job goes to the
next actor that is free, and the results come back in job order. A job whose actor dies
(its process killed, its node lost) runs once more on a new actor and is reported; a
second death stops the pool. A job that raises raises here, as in the local pool.
Actors never touch the driver's disk: whatever they make travels back in the results.

Ray is an optional extra (``ray`` in pyproject.toml; ``make setup`` installs it),
imported only here.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Sequence

from screenpilot.dataset.errors import UserError

CLOSE_TIMEOUT_S = 30  # a runner that cannot close its browser by then is killed
PROBE_TIMEOUT_S = 10


def import_ray():
    """Ray, or one line that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "--backend ray needs Ray, which is not installed: `make setup` installs it "
            "(the `ray` extra), or pip install 'ray>=2.40'"
        ) from None
    return ray


class RunnerActor:
    """A Ray actor around one runner, built on the first job so that a runner that cannot
    be built raises in the driver as a failing job does."""

    def __init__(self, make_runner: Callable[[], object]):
        self.make_runner = make_runner
        self.runner = None

    def run(self, job):
        if self.runner is None:
            self.runner = self.make_runner()
        return self.runner.run(job)

    def close(self) -> None:
        if self.runner is not None:
            self.runner.close()


def run_jobs_on_ray(
    make_runner: Callable[[], object],
    jobs: Sequence,
    *,
    workers: int,
    address: str | None = None,
    on_result: Callable[[object], None] | None = None,
    receive: Callable[[object], object],
) -> tuple[list, list]:
    """Returns the results in job order and the jobs that were retried."""
    ray = import_ray()
    actors = min(workers, len(jobs))
    connected_here = not ray.is_initialized()
    if connected_here:
        _connect(ray, address, actors)
    try:
        return _run(ray, make_runner, jobs, actors, on_result, receive)
    finally:
        if connected_here:
            ray.shutdown()


def _connect(ray, address: str | None, actors: int) -> None:
    # Nothing here phones home: Ray would otherwise send usage statistics.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        ray.init(num_cpus=max(1, actors), include_dashboard=False, **quiet)
        return
    _probe(address)
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, ValueError) as e:
        raise UserError(f"no Ray cluster at {address}: {_first_line(e)}") from None
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if cpus < actors:
        ray.shutdown()
        # An actor that finds no CPU waits forever, and so would the job handed to it.
        raise UserError(
            f"the Ray cluster at {address} has {cpus} CPUs; --workers {actors} needs one "
            f"per browser: fewer workers, or more nodes (ray start --address {address})"
        )


def _probe(address: str) -> None:
    """One clear line for a HOST:PORT where nothing listens: ray.init would retry for
    minutes, printing as it goes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "ray://...": Ray's own forms, Ray's own errors
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as e:
        raise UserError(
            f"no Ray cluster at {address} ({e.strerror or e}); start one with "
            f"`ray start --head --port {port}` on {host}"
        ) from None


def _run(ray, make_runner, jobs, actors: int, on_result, receive) -> tuple[list, list]:
    from ray.exceptions import RayActorError, RayTaskError

    # SPREAD: browsers go to as many machines as there are, not all to the first.
    new_actor = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(
        RunnerActor
    ).remote
    pool = [new_actor(make_runner) for _ in range(actors)]
    waiting = deque(range(len(jobs)))
    running = {}  # the ObjectRef of a result -> (its actor, its job's index)
    results: list = [None] * len(jobs)
    retried: list[int] = []

    def hand_out(actor, index: int) -> None:
        running[actor.run.remote(jobs[index])] = (actor, index)

    try:
        for actor in pool:
            if waiting:
                hand_out(actor, waiting.popleft())
        while running:
            [ref], _ = ray.wait(list(running), num_returns=1)
            actor, index = running.pop(ref)
            try:
                value = ray.get(ref)
            except RayActorError as e:
                if index in retried:
                    raise UserError(
                        f"job {jobs[index]!r} killed its Ray worker twice: {_first_line(e)}"
                    ) from None
                retried.append(index)
                print(
                    f"warning: the Ray worker running job {jobs[index]!r} died "
                    f"({_first_line(e)}); running the job again on a new worker",
                    file=sys.stderr,
                )
                pool.remove(actor)
                pool.append(new_actor(make_runner))
                hand_out(pool[-1], index)
                continue
            except RayTaskError as e:
                # The job's own exception, as the local pool raises it.
                raise (e.cause if isinstance(e.cause, Exception) else e) from None
            results[index] = value = receive(value)
            if on_result:
                on_result(value)
            if waiting:
                hand_out(actor, waiting.popleft())
    finally:
        _close(ray, pool)
    return results, [jobs[i] for i in retried]


def _close(ray, pool) -> None:
    """Each runner closes its browser; an actor that does not answer in time is killed."""
    closing = [actor.close.remote() for actor in pool]
    ray.wait(closing, num_returns=len(closing), timeout=CLOSE_TIMEOUT_S)
    for actor in pool:
        ray.kill(actor)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
