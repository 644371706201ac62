"""Draw a run's figures in parallel worker processes.

A figure is one :class:`FigureJob` (a module-level drawing function and its
arguments); :func:`render` runs a list of them serially or on a pool of worker
processes and returns the written paths in the jobs' order, whatever order they
finish in. Matplotlib draws in one thread per process, so processes are the way to
use several cores: on Linux the workers are forked, inherit the loaded libraries
and the job list (nothing is pickled but the paths they return), and the heaviest
jobs start first. A :class:`~geo_ms.errors.GeoMSError` raised in a worker is raised
again in the caller with its message and hint.

>>> from geo_ms.report.figures._common import check_formats
>>> render([FigureJob(check_formats, (["png"],))])
['png']
>>> available_workers(1)
1
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from geo_ms._parallel import cores
from geo_ms.errors import GeoMSError

__all__ = ["FigureJob", "available_workers", "render"]

#: The jobs of the running :func:`render` call, inherited by forked workers.
_JOBS: list[FigureJob] = []


@dataclass(frozen=True)
class FigureJob:
    """One figure to draw: ``func(*args, **kwargs)`` returns the paths it wrote.

    ``cost`` orders the work (heavier first, so two workers finish together).
    """

    func: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    cost: float = 1.0


def available_workers(limit: int = 0) -> int:
    """Worker processes to use: the cores this process may run on, at most ``limit`` (> 0).

    >>> available_workers(0) >= 1
    True
    """
    n = cores()
    return max(1, min(n, limit) if limit > 0 else n)


def _outcome(job: FigureJob) -> tuple[str, Any]:
    try:
        return "ok", job.func(*job.args, **job.kwargs)
    except GeoMSError as exc:  # keep message and hint across the process boundary
        return "error", (type(exc), exc.message, exc.hint)


def _in_worker(job: FigureJob) -> tuple[str, Any]:
    """Run *job* in a worker process, with dask computing synchronously there.

    The worker is one of the cores already; and in the pipeline, a report raster read
    with dask's threaded scheduler in a forked worker waited forever (observed on the
    mirror run: the worker stuck in ``dask.local.queue_get`` reading the TEMIS netCDF).
    """
    try:
        import dask
    except ImportError:  # pragma: no cover - dask is a dependency
        return _outcome(job)
    with dask.config.set(scheduler="synchronous"):
        return _outcome(job)


def _run_index(i: int) -> tuple[str, Any]:
    return _in_worker(_JOBS[i])


def render(jobs: Sequence[FigureJob], workers: int = 1, *, flat: bool = True) -> list[Any]:
    """Run ``jobs``; return their results (lists of paths) concatenated in job order.

    Parameters
    ----------
    jobs
        The figures to draw (or any picklable work: preparing their inputs, writing
        the interactive map).
    workers
        Worker processes; 1 (or a single job) draws in this process.
    flat
        Concatenate the jobs' results (lists); ``False``: one result per job.

    Returns
    -------
    list
        The items of every job's result, in the order of ``jobs``.
    """
    global _JOBS
    jobs = list(jobs)
    if workers <= 1 or len(jobs) < 2:
        outcomes = [_outcome(j) for j in jobs]
    else:
        order = sorted(range(len(jobs)), key=lambda i: -jobs[i].cost)
        fork = "fork" in multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        _JOBS = jobs
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
                futures = {i: pool.submit(_run_index, i) if fork else pool.submit(_in_worker, jobs[i])
                           for i in order}
                outcomes = [futures[i].result() for i in range(len(jobs))]
        finally:
            _JOBS = []
    out: list[Any] = []
    for state, value in outcomes:
        if state == "error":
            cls, message, hint = value
            raise cls(message, hint=hint)
        if flat:
            out.extend(value)
        else:
            out.append(value)
    return out
