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
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from geo_ms._parallel import cores
from geo_ms.errors import GeoMSError

__all__ = ["Background", "cores"]

#: The call of the :class:`Background` being started, inherited by its forked worker.
_CALL: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []


def _outcome(func: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", func(*args, **kwargs)
    except GeoMSError as exc:  # keep message and hint across the process boundary
        return "error", (type(exc), exc.message, exc.hint)


def _run_inherited(conn: Any) -> None:
    """The worker: run the inherited call and send its outcome (or its exception) back."""
    func, args, kwargs = _CALL[0]
    try:
        got: tuple[str, Any] = _outcome(func, args, kwargs)
    except BaseException as exc:  # noqa: BLE001 - raised again in the parent
        got = ("raise", exc)
    try:
        conn.send(got)
    except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
        conn.send(("raise", RuntimeError(f"background call: {got[0]} value could not be "
                                         f"sent back ({exc})")))
    finally:
        conn.close()


class Background:
    """``func(*args, **kwargs)`` in a forked worker process; :meth:`result` waits for it.

    Use it as a context manager: leaving the block early (an error in this process)
    stops the worker at once and discards its result.
    """

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._call = (func, args, kwargs)
        self._proc: Any = None
        self._conn: Any = None
        if cores() > 1 and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            self._conn, child = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_run_inherited, args=(child,), daemon=True,
                                     name="geo_ms-background")
            _CALL[:] = [self._call]
            try:
                self._proc.start()  # the worker is forked here, with _CALL set
            finally:
                _CALL.clear()
                child.close()

    def result(self) -> Any:
        """The call's return value (computed here when no worker was started).

        Raises
        ------
        GeoMSError
            The error the call raised, with its message and hint.
        RuntimeError
            The worker died without an answer (killed, out of memory).
        """
        if self._proc is None:
            state, value = _outcome(*self._call)
        else:
            try:
                state, value = self._conn.recv()
            except EOFError:
                self._proc.join()
                raise RuntimeError(f"background call: the worker died (exit code "
                                   f"{self._proc.exitcode}) before it answered") from None
            self._proc.join()
        if state == "raise":
            raise value
        if state == "error":
            cls, message, hint = value
            raise cls(message, hint=hint)
        return value

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is None:
            return
        if self._proc.is_alive():
            if exc_type is None:
                self._proc.join()
            else:  # nobody will ask for the result: stop the worker now
                self._proc.terminate()
                self._proc.join()
        self._conn.close()
