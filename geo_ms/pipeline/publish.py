"""Publishing a report folder in one step: build it hidden, then swap it in.

A report is built in a hidden folder beside the published ones
(``reports/.<name>~<token>.part/``). When it is complete, :func:`publish_report`
renames it to ``reports/.<name>~<token>/`` and points the link ``reports/<name>`` at
it with a single ``os.replace`` of a symbolic link, then moves ``reports/latest`` the
same way. A reader (or an interrupted run) sees either the whole previous report or
the whole new one, never a mix; the previous folder is removed afterwards. Builds
that were not published are removed when the run ends (:func:`discard_builds`).

>>> import tempfile, types
>>> reports = Path(tempfile.mkdtemp())
>>> ctx = types.SimpleNamespace(reports=reports, builds=[])
>>> b = start_build(ctx, "r1"); _ = (b / "report.html").write_text("new")
>>> final, files = publish_report(ctx, b, "r1", {"html": b / "report.html"})
>>> (reports / "r1" / "report.html").read_text(), files["html"] == reports / "r1" / "report.html"
('new', True)
>>> (reports / "latest" / "report.html").read_text()
'new'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["discard_builds", "publish_report", "start_build"]

#: Separates a run name from the token of its hidden folders ('~' is not allowed in run
#: names, so another run's folders never match).
SEP = "~"


def start_build(ctx: Any, name: str) -> Path:
    """Create (and register on *ctx*) a hidden folder to build the report *name* in."""
    ctx.reports.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{name}{SEP}", suffix=".part", dir=ctx.reports))
    ctx.builds.append(build)
    return build


def discard_builds(ctx: Any) -> None:
    """Remove the builds of *ctx* that were not published (failed or interrupted run)."""
    for build in ctx.builds:
        shutil.rmtree(build, ignore_errors=True)
    ctx.builds.clear()


def _swap_link(link: Path, target: str) -> None:
    """Point the symbolic link *link* at *target* with one atomic rename."""
    tmp = link.with_name(f".{link.name}{SEP}link.part")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target, target_is_directory=True)
    os.replace(tmp, link)


def publish_report(ctx: Any, build: Path, name: str,
                   files: dict[str, Path]) -> tuple[Path, dict[str, Path]]:
    """Swap the finished *build* in as ``reports/<name>`` and point ``latest`` at it.

    A *build* that is not one of ``ctx.builds`` (a cached report, already published)
    only moves ``latest``. Returns the published folder and *files* with their paths
    inside it.
    """
    final = ctx.reports / name
    if build in ctx.builds:
        done = build.with_name(build.name.removesuffix(".part"))
        os.rename(build, done)
        ctx.builds.remove(build)
        if final.exists() and not final.is_symlink():  # a real folder of an older geo_ms
            os.rename(final, final.with_name(f".{name}{SEP}old"))
        _swap_link(final, done.name)
        for stale in ctx.reports.glob(f".{name}{SEP}*"):  # previous builds of this name
            if stale != done and stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
        files = {k: final / Path(p).relative_to(build)
                 if Path(p).is_relative_to(build) else Path(p) for k, p in files.items()}
    _swap_link(ctx.reports / "latest", name)
    return final, files
