"""A process pool for jobs that each need a browser of their own.

``run_jobs(make_runner, jobs, workers=K)`` builds one runner per worker process
(``make_runner()`` must be picklable: a class or a ``functools.partial``), hands it jobs
from a shared queue, and returns the results in job order. A runner has ``run(job)`` and
``close()``; it keeps whatever is costly (a browser, a model) between jobs. With one
worker everything runs in this process.

Results depend only on the jobs, never on K, as long as ``run`` gives the same result
for the same job wherever it runs.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Callable, Sequence


def run_jobs(
    make_runner: Callable[[], object],
    jobs: Sequence,
    *,
    workers: int = 1,
    on_result: Callable[[object], None] | None = None,
) -> list:
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1 or len(jobs) <= 1:
        runner = make_runner()
        results = []
        try:
            for job in jobs:
                results.append(runner.run(job))
                if on_result:
                    on_result(results[-1])
        finally:
            runner.close()
        return results
    return _run_in_processes(make_runner, jobs, min(workers, len(jobs)), on_result)


def _run_in_processes(make_runner, jobs, workers, on_result) -> list:
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
            results[index] = value
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
