"""The ``geo-ms`` command line.

Errors of geo_ms (:class:`geo_ms.errors.GeoMSError`) are printed as one line plus a
hint and exit with status 2; ``--debug`` (anywhere on the line, or
``GEO_MS_DEBUG=1``) shows the traceback instead. Library warnings (statsmodels'
``SingularMatrixWarning``, numpy ``RuntimeWarning`` ...) go through :mod:`logging`
(``logging.captureWarnings``) and are printed as one ``warning:`` line each on stderr,
without the source path and line that Python's default display adds.
"""

from __future__ import annotations

import logging
import os
import re
import sys

import typer
from rich.console import Console
from rich.markup import escape

from geo_ms.errors import GeoMSError

__all__ = ["OneLineWarningFormatter", "app", "main"]

app = typer.Typer(
    name="geo-ms",
    help="Test claims about MS and climate with public data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


_REGISTERED: list[bool] = []


def _register() -> None:
    if _REGISTERED:
        return
    _REGISTERED.append(True)
    from geo_ms._cli_data import data_app

    app.add_typer(data_app, name="data", help="List, fetch and verify the public datasets.")
    try:
        from geo_ms._cli_run import register as register_run
    except ImportError:  # pragma: no cover - during development only
        return
    register_run(app)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    """geo_ms: ingest, aggregate, model and report MS prevalence against cloud and UV."""
    if debug:
        os.environ["GEO_MS_DEBUG"] = "1"


class OneLineWarningFormatter(logging.Formatter):
    """Format a captured warning as ``warning: Category: message`` on one line.

    ``logging.captureWarnings`` logs ``warnings.formatwarning``'s text
    (``path:line: Category: message`` plus the source line); this keeps the category
    and the message only.

    Examples
    --------
    >>> rec = logging.LogRecord("py.warnings", logging.WARNING, "", 0,
    ...     "/x/site-packages/statsmodels/base/model.py:1894: SingularMatrixWarning: "
    ...     "covariance of constraints does not have full rank\\n  warnings.warn(msg)\\n",
    ...     None, None)
    >>> OneLineWarningFormatter().format(rec)
    'warning: SingularMatrixWarning: covariance of constraints does not have full rank'
    """

    _RAW = re.compile(r"^.*?:\d+: (\w+): (.*?)(?:\n  .*)?\s*$", re.DOTALL)

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        m = self._RAW.match(msg)
        if m:
            msg = f"{m.group(1)}: {m.group(2)}"
        return "warning: " + " ".join(msg.split())


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the *current* ``sys.stderr`` (which tests and tools may swap)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``geo-ms`` console script; returns the exit status."""
    handler = _StderrHandler()
    handler.setFormatter(OneLineWarningFormatter())
    wlog = logging.getLogger("py.warnings")
    old_propagate = wlog.propagate
    wlog.addHandler(handler)
    wlog.propagate = False
    logging.captureWarnings(True)
    try:
        return _main(argv)
    finally:
        logging.captureWarnings(False)
        wlog.removeHandler(handler)
        wlog.propagate = old_propagate


def _main(argv: list[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("GEO_MS_DEBUG") == "1"
    if "--debug" in args:
        args.remove("--debug")
        os.environ["GEO_MS_DEBUG"] = "1"
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    _register()
    try:
        status = app(args=args, prog_name="geo-ms", standalone_mode=False)
    except GeoMSError as exc:
        if debug:
            raise
        # escape: messages hold file names and "[section]"s that are not rich markup
        err.print(f"[bold red]error:[/] {escape(exc.message)}", markup=True)
        if exc.hint:
            err.print(f"[yellow]hint:[/] {escape(exc.hint)}", markup=True)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted; outputs of finished stages are kept, nothing half-written.")
        return 130
    except OSError as exc:  # a write that failed outside geo_ms's own atomic writers
        from geo_ms._io import write_failure

        why = write_failure(exc)
        if debug or why is None:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"[bold red]error:[/] {escape(where)}could not write an output "
                  f"({escape(why)})", markup=True)
        err.print("[yellow]hint:[/] Free some space or make the output folders writable, then "
                  "run again; finished outputs are kept, nothing half-written.", markup=True)
        return 2
    except SystemExit as exc:  # typer.Exit
        return int(exc.code or 0)
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        return 1
    except Exception as exc:  # usage errors of typer's (vendored) click
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        raise
    # not standalone, typer *returns* the status of Ctrl-C (130) and of typer.Exit(n)
    if status == 130:
        err.print("interrupted; outputs of finished stages are kept, nothing half-written.")
        return 130
    return status if isinstance(status, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
