"""Run one call in a forked worker process while this process goes on.

The models stage has two independent halves of similar weight: the models table
(:func:`geo_ms.models.fit_all`) and the analysis plan (:func:`geo_ms.models.run_plan.run_plan`).
On a machine with two or more cores :class:`Background` runs the first in a worker
process, forked from this one so that it inherits the loaded libraries, the tables and
the call itself (nothing is pickled but the result), while this process computes the
second. The worker runs the same code on the same data with BLAS on one thread, as
this process does: the numbers are the same as from a serial run. A
:class:`~geo_ms.errors.GeoMSError` raised in the worker is raised again here with its
message and hint. Without ``fork`` (Windows) or with one core the call runs here,
when its result is asked for.

>>> with Background(sum, [1, 2, 3]) as job:
...     job.result()
6
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, Self

from geo_ms.errors import GeoMSError

__all__ = ["Background", "cores"]

#: The call of the :class:`Background` being started, inherited by its forked worker.
_CALL: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []


def cores() -> int:
    """The cores this process may run on.

    >>> cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _outcome(func: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", func(*args, **kwargs)
    except GeoMSError as exc:  # keep message and hint across the process boundary
        return "error", (type(exc), exc.message, exc.hint)


def _run_inherited() -> tuple[str, Any]:
    func, args, kwargs = _CALL[0]
    return _outcome(func, args, kwargs)


class Background:
    """``func(*args, **kwargs)`` in a forked worker process; :meth:`result` waits for it.

    Use it as a context manager: leaving the block early (an error in this process)
    lets the worker finish and discards its result.
    """

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._call = (func, args, kwargs)
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future[tuple[str, Any]] | None = None
        if cores() > 1 and "fork" in multiprocessing.get_all_start_methods():
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            _CALL[:] = [self._call]
            try:
                # the worker is forked here, with _CALL set
                self._future = self._pool.submit(_run_inherited)
            finally:
                _CALL.clear()

    def result(self) -> Any:
        """The call's return value (computed here when no worker was started).

        Raises
        ------
        GeoMSError
            The error the call raised, with its message and hint.
        """
        if self._future is None:
            state, value = _outcome(*self._call)
        else:
            state, value = self._future.result()
        if state == "error":
            cls, message, hint = value
            raise cls(message, hint=hint)
        return value

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
