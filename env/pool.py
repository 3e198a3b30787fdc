"""A process pool for jobs that each need a browser of their own.

``run_jobs(make_runner, jobs, workers=K)`` builds one runner per worker process
(``make_runner()`` must be picklable: a class or a ``functools.partial``), hands it jobs
from a shared queue, and returns the results in job order. A runner has ``run(job)`` and
``close()``; it keeps whatever is costly (a browser, a model) between jobs. With one
worker everything runs in this process.

Results depend only on the jobs, never on K, as long as ``run`` gives the same result
for the same job wherever it runs. ``backend="ray"`` runs the same jobs on Ray actors, on
this machine or across a cluster (env/ray_pool.py); the results are the same.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
from collections.abc import Callable, Sequence

from screenpilot.dataset.errors import UserError

BACKENDS = ("local", "ray")


class PoolResults(list):
    """The results, in job order. ``retried``: the jobs run a second time because the
    worker running them died (the Ray backend replaces a dead actor; locally a dead
    worker stops the pool)."""

    def __init__(self, results, retried=()):
        super().__init__(results)
        self.retried = list(retried)


def run_jobs(
    make_runner: Callable[[], object],
    jobs: Sequence,
    *,
    workers: int = 1,
    on_result: Callable[[object], None] | None = None,
    receive: Callable[[object], object] | None = None,
    backend: str = "local",
    address: str | None = None,
) -> PoolResults:
    """``receive(result)``, when given, turns each result as it reaches this process
    (before it is kept and passed to ``on_result``): files a remote worker sent back land
    on this disk as they come, not all at the end. ``address``: the Ray cluster to join
    (``backend="ray"``; without it a local Ray instance is started and stopped)."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if address is not None and backend != "ray":
        raise UserError("--address names a Ray cluster: it needs --backend ray")
    receive = receive or _as_is
    if backend == "ray":
        from .ray_pool import run_jobs_on_ray

        results, retried = run_jobs_on_ray(
            make_runner, jobs, workers=workers, address=address, on_result=on_result,
            receive=receive,
        )  # fmt: skip
        return PoolResults(results, retried)
    if workers == 1 or len(jobs) <= 1:
        runner = make_runner()
        results = []
        try:
            for job in jobs:
                results.append(receive(runner.run(job)))
                if on_result:
                    on_result(results[-1])
        finally:
            runner.close()
        return PoolResults(results)
    return PoolResults(
        _run_in_processes(make_runner, jobs, min(workers, len(jobs)), on_result, receive)
    )


def add_pool_arguments(parser: argparse.ArgumentParser, *, workers: int = 1) -> None:
    """--workers, --backend and --address: where the verbs that play many episodes run
    them (eval, record expert, dagger)."""
    parser.add_argument(
        "--workers", type=int, default=workers, metavar="K",
        help=f"browsers in parallel ({workers}): processes here, or Ray actors with --backend ray",
    )  # fmt: skip
    parser.add_argument(
        "--backend", choices=BACKENDS, default="local",
        help="local: a process pool on this machine (default); ray: one Ray actor per "
        "browser, on a Ray instance started here or on the cluster at --address",
    )  # fmt: skip
    parser.add_argument(
        "--address", metavar="HOST:PORT",
        help="with --backend ray: the head of a running Ray cluster (`ray start --head` "
        "prints it); without it a Ray instance is started on this machine",
    )  # fmt: skip


def _as_is(result):
    return result


def _run_in_processes(make_runner, jobs, workers, on_result, receive) -> list:
    # spawn, not fork: a forked child would inherit the parent's Playwright threads.
    ctx = mp.get_context("spawn")
    job_queue, result_queue = ctx.Queue(), ctx.Queue()
    for index, job in enumerate(jobs):
        job_queue.put((index, job))
    for _ in range(workers):
        job_queue.put(None)
    procs = [
        ctx.Process(target=_worker, args=(make_runner, job_queue, result_queue), daemon=True)
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    results: list = [None] * len(jobs)
    try:
        received = 0
        while received < len(jobs):
            try:
                index, ok, value = result_queue.get(timeout=1.0)
            except queue.Empty:
                # A worker that died (killed, or failed to start) must not hang the caller.
                if not any(p.is_alive() for p in procs):
                    raise RuntimeError(
                        f"all {workers} workers exited with {len(jobs) - received} jobs left"
                    ) from None
                continue
            if not ok:
                raise value
            results[index] = value = receive(value)
            received += 1
            if on_result:
                on_result(value)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    return results


def _worker(make_runner, job_queue, result_queue) -> None:
    try:
        runner = make_runner()  # loads what is costly: a model, a policy
    except Exception as e:  # noqa: BLE001 - raised again in the parent, not lost in a dead worker
        result_queue.put((None, False, e))
        return
    try:
        while (item := job_queue.get()) is not None:
            index, job = item
            try:
                result_queue.put((index, True, runner.run(job)))
            except Exception as e:  # noqa: BLE001 - raised again in the parent, whole
                result_queue.put((index, False, e))
                return
    finally:
        runner.close()
