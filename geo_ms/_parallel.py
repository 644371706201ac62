"""How many cores geo_ms may use, and a call spread over threads (ground floor).

>>> cores() >= 1
True
>>> run_threads(abs, [-1, -2, 3], threads=2)
[1, 2, 3]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["cores", "run_threads"]


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one).

    >>> cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def run_threads(fn: Callable[[Any], Any], tasks: Iterable[Any], threads: int) -> list[Any]:
    """``[fn(t) for t in tasks]``, on up to *threads* threads when there are several tasks.

    Worth it only when *fn* releases the GIL (the compiled loops of
    :mod:`geo_ms.exposures.kernels` and :mod:`geo_ms.models.kernels` do). Results come
    in the order of *tasks*.

    >>> run_threads(lambda t: t * t, range(4), threads=3)
    [0, 1, 4, 9]
    """
    tasks = list(tasks)
    if threads > 1 and len(tasks) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(threads, len(tasks))) as pool:
            return list(pool.map(fn, tasks))
    return [fn(t) for t in tasks]
