"""The project's notebooks, executed and written as HTML beside the report.

The notebooks in ``notebooks/`` are committed without outputs, so that an analyst browsing
them sees code only. With ``[report] notebooks`` set to their folder (``geo-ms run
--notebooks notebooks``, as ``make analysis`` does), the report stage executes each one
with nbclient and writes it with its outputs as ``notebooks/<name>.html`` (nbconvert's
``HTMLExporter``, images embedded) into the report folder being built, which is then
published whole with the report; the report links the files that were written.

Each notebook runs in a fresh kernel whose working folder is a scratch folder (the files a
notebook writes stay out of the report and the repository) and whose ``GEO_MS_HOME`` is the
run's project folder (the downloaded and cached data are shared, nothing is fetched twice).
A notebook that stops with an error is still written, up to and including the failing
cell, and listed as failed: the report and the run log say which cell.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geo_ms._io import atomic_write_text
from geo_ms.errors import ConfigError

__all__ = ["NEEDS", "check_notebooks", "notebook_digest", "render_notebooks"]

#: The packages executing and exporting notebooks need (``pip install 'geo_ms[notebooks]'``).
NEEDS: tuple[str, ...] = ("nbclient", "nbconvert", "nbformat", "ipykernel")


def check_notebooks(folder: str | os.PathLike[str], where: str = "configuration") -> list[Path]:
    """The ``*.ipynb`` files of *folder*, sorted; refuse what cannot be run.

    >>> check_notebooks("/nonexistent/notebooks")
    Traceback (most recent call last):
    geo_ms.errors.ConfigError: configuration: key 'report.notebooks' = '/nonexistent/notebooks' is not a folder
    """
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"{where}: key 'report.notebooks' = '{path}' is not a folder",
                          hint="Give the folder holding the .ipynb files (e.g. --notebooks "
                               "notebooks), or leave report.notebooks empty")
    found = sorted(path.glob("*.ipynb"))
    if not found:
        raise ConfigError(f"{where}: key 'report.notebooks' = '{path}' holds no .ipynb file",
                          hint="Point it at the folder of the notebooks, or leave it empty")
    missing = [m for m in NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"{where}: key 'report.notebooks' needs {', '.join(missing)}, "
                          "which is not installed",
                          hint="pip install 'geo_ms[notebooks]' (or leave report.notebooks "
                               "empty)")
    return found


def notebook_digest(folder: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(file name, sha256)`` of each notebook of *folder*: part of the report's cache key.

    >>> notebook_digest("/nonexistent")
    []
    """
    return [(p.name, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(Path(folder).glob("*.ipynb"))]


def _title(nb: Any, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


#: nbconvert's "lab" page without the scripts it fetches from a CDN (require.js, MathJax,
#: Mermaid): the page opens offline, like the report; the notebooks use neither widgets nor
#: math nor diagrams.
_TEMPLATE = """{%- extends "lab/index.html.j2" -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _exporter() -> Any:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", template_file="geo_ms_notebook.html.j2",
                        extra_loaders=[DictLoader({"geo_ms_notebook.html.j2": _TEMPLATE})])


def render_notebooks(folder: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                     home: str | os.PathLike[str], timeout: int = 900,
                     say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Execute every notebook of *folder* and write it as HTML with its outputs.

    Parameters
    ----------
    folder
        The folder of ``*.ipynb`` files (executed in name order).
    out_dir
        Where ``<name>.html`` goes (``<report build>/notebooks``).
    home
        The project folder given to the kernels as ``GEO_MS_HOME``.
    timeout
        Seconds one cell may take.
    say
        Progress and failures, one line each (the run log).

    Returns
    -------
    list of dict
        Per notebook: ``name`` (file stem), ``title`` (its first ``# `` heading),
        ``href`` (``notebooks/<name>.html``, relative to the report), ``status``
        (``ran`` or ``failed``), ``error`` (the failing cell and exception, else ``""``)
        and ``seconds``.
    """
    import time

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # figures as PNG outputs (the inline backend), also under make's MPLBACKEND=Agg
    env = {**os.environ, "GEO_MS_HOME": str(Path(home).resolve()),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    exporter = _exporter()
    done = []
    for path in check_notebooks(folder):
        nb = nbformat.read(path, as_version=4)
        scratch = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=out))
        t0 = time.perf_counter()
        error = ""
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(scratch)}}
                           ).execute(env=env, stderr=subprocess.DEVNULL)  # the kernel's own log
        except CellExecutionError as exc:
            cell = next((i for i, c in enumerate(nb.cells, 1) if c.cell_type == "code"
                         and any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                        None)
            ename = next((o.get("ename", "") + ": " + o.get("evalue", "")
                          for c in nb.cells for o in c.get("outputs", [])
                          if o.get("output_type") == "error"), str(exc).splitlines()[0])
            error = f"cell {cell}: {ename}" if cell else ename
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        seconds = round(time.perf_counter() - t0, 1)
        title = _title(nb, path.stem)
        html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        atomic_write_text(out / f"{path.stem}.html", html)
        status = "failed" if error else "ran"
        say(f"  notebook {path.name}: {status} in {seconds} s"
            + (f" ({error}); its HTML shows the cells up to the error" if error else ""))
        done.append({"name": path.stem, "title": title, "href": f"notebooks/{path.stem}.html",
                     "status": status, "error": error, "seconds": seconds})
    return done
