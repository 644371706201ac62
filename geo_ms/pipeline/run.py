"""The analysis pipeline: data → regions → exposures → join → models → report.

:func:`run` chains the stages. Each stage is cached on its inputs (geo_ms's own code, the hashes of
the data files it reads, the configuration sections it depends on, and the keys of
the stages before it) under ``data/processed/.cache/``; a second run with nothing
changed reuses every stage, and changing one option recomputes only what depends
on it. Outputs are written atomically; a lock file stops two runs on the same
folders from corrupting each other.

Without the data mirror (``GEO_MS_DATA_MIRROR``) and without the network, the
pipeline runs on the built-in sample (:func:`geo_ms.ingest.datasets.decide_sample`) and says so
loudly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from geo_ms._io import atomic_write_text
from geo_ms.errors import LockError
from geo_ms.pipeline.cache import RunContext, RunResult, stage_key, write_csv, write_dictionary
from geo_ms.pipeline.covariates import join_country_covariates, stage_country_covariates
from geo_ms.pipeline.publish import discard_builds, publish_report
from geo_ms.pipeline.stages import (
    check_primary_outcome,
    exposure_outputs,
    join,
    models_residuals,
    outcomes_missing,
    report_name,
    stage_exposures,
    stage_main_territory,
    stage_models,
    stage_prevalence,
    stage_regions,
    stage_report,
    versions,
)

__all__ = ["RunContext", "RunResult", "run", "run_exposures"]

log = logging.getLogger("geo_ms.pipeline.run")

















# --------------------------------------------------------------------------- stages








































# --------------------------------------------------------------------------- run


def _check_writable(folder: Path, key: str) -> None:
    """Refuse an output folder that cannot be written, before any stage runs."""
    import tempfile

    from geo_ms.errors import OutputError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".geo-ms-write-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"{folder}: the output folder cannot be written ({exc.strerror or exc})",
            hint=f"Make it writable (chmod u+w), or set {key} to a writable folder; nothing "
                 "was changed") from None


def _lock(lock_path: Path, what: str, hint: str) -> Any:
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LockError(f"{lock_path}: another geo-ms run is using {what}", hint=hint) from None
    return lock


@contextlib.contextmanager
def _session(cfg: dict[str, Any], say: Callable[[str], None],
             reports: bool = False) -> Iterator[RunContext]:
    """Check and lock the output folders, decide sample vs full data, yield the context.

    *reports*: the run writes ``reports/<run.name>/``; that folder is checked and locked
    too (``reports/.<run.name>.lock``), so two runs of the same name, even with
    different processed folders, cannot overwrite each other's report.
    """
    from geo_ms.ingest import datasets

    lines: list[str] = []

    def say_and_log(msg: str) -> None:
        lines.append(f"{time.strftime('%H:%M:%S')} {msg}")
        say(msg)

    from geo_ms.ingest.fetch import project_home

    ctx = RunContext(cfg=cfg, home=project_home(), say=say_and_log)
    ctx.log_lines = lines
    _check_writable(ctx.processed, "run.processed_dir")
    if reports:
        _check_writable(ctx.reports, "run.reports_dir")
    locks = [_lock(ctx.processed / ".geo-ms.lock", str(ctx.processed),
                   "Wait for it to finish: the lock frees itself when that run ends "
                   "(do not delete the lock file).")]
    try:
        if reports:
            name = cfg["run"]["name"]
            locks.append(_lock(ctx.reports / f".{name}.lock", str(ctx.reports / name),
                               "Wait for it to finish, or give this run another --name "
                               "(do not delete the lock file)."))
        ctx.sample, ctx.sample_reason = datasets.decide_sample(cfg["run"]["sample"])
        if ctx.sample:
            ctx.say("!" * 78)
            ctx.say("!! BUILT-IN SAMPLE: " + ctx.sample_reason)
            ctx.say("!! Results are a demonstration on a small real sample, NOT the full "
                    "analysis.")
            ctx.say("!" * 78)
        yield ctx
    finally:
        discard_builds(ctx)  # a report folder that was not published
        # release only: deleting the file would let a second run lock a new file
        # while a third still holds the old one (filelock's documented caveat)
        for lock in reversed(locks):
            lock.release()


def run_exposures(cfg: dict[str, Any], *, say: Callable[[str], None] = print) -> dict[str, Path]:
    """Run the region and exposure stages only; write ``exposures.csv``/``.gpkg``/``.md``."""
    with _session(cfg, say) as ctx:
        regions, rkey = stage_regions(ctx)
        expo, _ = stage_exposures(ctx, regions, rkey)
        return exposure_outputs(ctx, regions, expo)


def run(cfg: dict[str, Any], *, say: Callable[[str], None] = print) -> RunResult:
    """Run the whole analysis with configuration *cfg* (see :mod:`geo_ms.config`).

    Returns
    -------
    RunResult
        The report folder, the files written, and the claims table.

    Raises
    ------
    LockError
        Another run holds the lock on the same output folder.
    GeoMSError
        Any bad input, with a message naming the file and the fix.
    """
    from geo_ms.config import check_for_run
    from geo_ms.config import plan as analysis_plan

    check_for_run(cfg)
    with _session(cfg, say, reports=True) as ctx:
        the_plan = analysis_plan(cfg)
        ctx.say(f"{the_plan.provenance()}; sha256 {the_plan.hash}")
        regions, rkey = stage_regions(ctx)
        # the MS table is read (and checked) before anything is written to the outputs
        prev, pkey = stage_prevalence(ctx, regions, rkey)
        check_primary_outcome(ctx, prev)
        cov, cov_missing, ckey = stage_country_covariates(ctx, regions, rkey)
        expo, ekey = stage_exposures(ctx, regions, rkey)
        expo = stage_main_territory(ctx, expo)
        files = exposure_outputs(ctx, regions, expo)
        table = join_country_covariates(join(ctx, regions, expo, prev), cov)
        files["covariates_missing.csv"] = write_csv(
            cov_missing, ctx.processed / "covariates_missing.csv")
        files["analysis_table.csv"] = write_csv(table, ctx.processed / "analysis_table.csv")
        miss = outcomes_missing(ctx, table, pkey)
        files["outcomes_missing.csv"] = write_csv(miss, ctx.processed / "outcomes_missing.csv")
        if len(miss):
            ctx.say(f"  {len(miss)} Atlas value(s) are not fitted: see "
                    f"{files['outcomes_missing.csv']}")
        from geo_ms.exposures.compute import user_specs

        files["analysis_table.md"] = write_dictionary(
            list(table.columns), ctx.processed / "analysis_table.md", "analysis_table.csv",
            tuple(user_specs(cfg["exposures"])),
            population_weights=expo.attrs.get("population_weights"))
        jkey = stage_key("join", ekey, pkey, rkey, ckey)
        mdf, claims, mkey = stage_models(ctx, table, jkey)
        files["models.csv"] = write_csv(mdf, ctx.processed / "models.csv")
        files["claims.csv"] = write_csv(claims, ctx.processed / "claims.csv")
        table = models_residuals(table, ctx)
        out_dir, rfiles = stage_report(ctx, regions, table, mdf, claims, mkey)
        files.update(rfiles)
        ctx.say("data used: " + "; ".join(
            f"{s['id']} ({s.get('status', '')}, sha256 {str(s.get('sha256', ''))[:12]})"
            for s in ctx.used.values()))
        ctx.say("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
        ctx.say(f"stage seconds: {ctx.timings}")
        files["run.log"] = atomic_write_text(out_dir / "run.log", "\n".join(ctx.log_lines) + "\n")
        out_dir, files = publish_report(ctx, out_dir, report_name(ctx), files)
        return RunResult(out_dir, files, ctx.sample, claims, ctx.timings, ctx.cached)




