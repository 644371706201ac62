"""The ``pipeline`` benchmark group: the whole analysis at ~5,000 and ~50,000 regions.

Regions: the square tessellations of the countries that the ``regions`` group builds
(:func:`benchmarks.run.prepare_regions`; 2.75° → ~5,000 polygons, 0.75° → ~47,000),
written as a GeoPackage and read as a user polygon set (``regions.set = "polygons"``).
Outcome: a synthetic user prevalence table with a **planted association** with cloud
cover, ``log(prevalence) = 3 + b · cloud_cover_pct + u + e`` with ``b =``
:data:`PLANTED_SLOPE` per percentage point, ``u`` a spatially autocorrelated error
(a smooth random field on the sphere: a sum of :data:`FIELD_WAVES` random plane waves in
3-D of wavelength ~1,000–4,000 km, evaluated at each polygon's label point, so nothing
n × n is built) and ``e`` iid noise. The cloud cover the table is planted on is the
CRU CL 1.0 annual mean over each polygon computed by geo_ms's own zonal mean before the
timed run (what the pipeline's ``cloud_cover_pct`` is).

Each case runs ``geo_ms.pipeline.run.run`` (regions → exposures → models → report) in a
fresh process on an empty output folder (cold: no stage cache, no coverage weights) and
records the stage seconds, the peak resident memory (``ru_maxrss``), and whether the
planted slope lies in the 95 % CI of the crude OLS coefficient of ``cloud_cover_pct``
(``ols`` row of ``models.csv``; HC3) and in that CI corrected for the spatial
autocorrelation (the HC3 standard error × √((n − 2)/(n_eff − 2)), t on n_eff − 2
degrees of freedom, n_eff Dutilleul's effective sample size of cloud cover and log
prevalence, :func:`geo_ms.models.spatial_ci.dutilleul_n_eff`). A smooth error that
happens to covary with the smooth cloud field biases the OLS slope by more than its iid
CI allows; the corrected CI is the one expected to cover the planted slope. With ``--scheduler`` semantics, the 5,000 case is
run again with ``compute.scheduler`` pointing at a 2-worker ``dask.distributed``
``LocalCluster`` (loopback) started by the benchmark.

Targets (issue 19): 5,000 regions ≤ 3 min, 50,000 regions ≤ 20 min, peak RSS ≤ 8 GB.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PLANTED_SLOPE", "group_pipeline", "planted_table", "readme_lines", "smooth_field"]

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
#: Planted slope of log prevalence per percentage point of cloud cover (+10.5 % per 10 points).
PLANTED_SLOPE = 0.01
#: Plane waves summed into the spatially autocorrelated error.
FIELD_WAVES = 40
#: Cases: tessellation name (benchmarks.run.TESSELLATIONS) → target seconds.
CASES = {"squares_2.75deg": 180.0, "squares_0.75deg": 1200.0}
PEAK_TARGET_MB = 8192.0
#: A case is stopped (and recorded as failed) after this many times its target.
TIMEOUT_FACTOR = 4.0


def smooth_field(lon: np.ndarray, lat: np.ndarray, *, seed: int = 1, waves: int = FIELD_WAVES,
                 sd: float = 0.3) -> np.ndarray:
    """A smooth random field on the sphere: the sum of *waves* plane waves in 3-D.

    Each wave is ``cos(k · xyz + phase)`` with a random direction, a wavelength of
    1,000–4,000 km on the unit sphere's scale and a random phase; the sum is scaled to
    standard deviation *sd* over the points. Neighbouring points get similar values
    (spatial autocorrelation); nothing n × n is built.

    >>> rng = np.random.default_rng(0)
    >>> f = smooth_field(rng.uniform(-180, 180, 500), rng.uniform(-60, 60, 500))
    >>> round(float(f.std()), 6), abs(float(f.mean())) < 1e-12
    (0.3, True)
    """
    rng = np.random.default_rng(seed)
    lam, phi = np.radians(lon), np.radians(lat)
    xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    dirs = rng.normal(size=(waves, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    wavelength = rng.uniform(1000.0, 4000.0, waves) / 6371.0
    k = dirs * (2 * math.pi / wavelength)[:, None]
    f = np.cos(xyz @ k.T + rng.uniform(0, 2 * math.pi, waves)).sum(axis=1)
    return sd * (f - f.mean()) / f.std()


def planted_table(ids: np.ndarray, cloud: np.ndarray, lon: np.ndarray, lat: np.ndarray,
                  *, seed: int = 2) -> Any:
    """The user prevalence table with the planted cloud slope (rows with a cloud value)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    ok = np.isfinite(cloud)
    log_prev = (3.0 + PLANTED_SLOPE * cloud + smooth_field(lon, lat)
                + rng.normal(0.0, 0.2, cloud.size))
    return pd.DataFrame({"region_id": ids[ok], "prevalence_per_100k": np.exp(log_prev[ok]),
                         "year": 2016, "age_standardised": False,
                         "source": "synthetic (geo_ms pipeline benchmark)"})


def _prepare(name: str) -> tuple[Path, Path, int]:
    """The polygon file and the planted table of one tessellation (cached)."""
    import geopandas as gpd

    gpkg = CACHE / f"pipeline_{name}.gpkg"
    table = CACHE / f"pipeline_{name}_prevalence.csv"
    if not (gpkg.is_file() and table.is_file()):
        from geo_ms.exposures.climatology import annual_mean
        from geo_ms.exposures.zonal import zonal_mean
        from geo_ms.ingest.datasets import load_raster

        reg = gpd.read_parquet(CACHE / f"regions_{name}.parquet")
        reg.to_file(gpkg, driver="GPKG", layer="regions")
        cloud = annual_mean(load_raster("cru_cl1_cloud"))
        means = zonal_mean(cloud, reg, use_cache=False)
        col = next(c for c in means.columns if c != "valid_fraction")
        # as the pipeline: missing where valid cells cover < min_valid_fraction (0.5)
        means[col] = means[col].where(means["valid_fraction"] >= 0.5)
        vals = means[col].reindex(reg["region_id"]).to_numpy(float)
        pts = reg.geometry.representative_point()
        planted_table(reg["region_id"].to_numpy(), vals, pts.x.to_numpy(),
                      pts.y.to_numpy()).to_csv(table, index=False)
    n = sum(1 for _ in table.open()) - 1
    return gpkg, table, n


def _config(name: str, gpkg: Path, table: Path, out: Path, scheduler: str) -> Path:
    text = f"""[run]
name = "bench_{name}"
reports_dir = "{out / 'reports'}"
processed_dir = "{out / 'processed'}"
sample = "never"

[prevalence]
source = "user"
file = "{table}"
compare_year = 0

[regions]
set = "polygons"
file = "{gpkg}"
id_column = "region_id"

[compute]
scheduler = "{scheduler}"
"""
    path = out / "config.toml"
    path.write_text(text)
    return path


def corrected_ci(b: float, ci_low: float, ci_high: float, n: int,
                 n_eff: float) -> list[float]:
    """The 95 % CI of an OLS slope widened for spatial autocorrelation.

    The HC3 standard error is recovered from the t interval on n − 2 degrees of freedom
    (``(ci_high − ci_low) / (2 t_0.975(n − 2))``), multiplied by √((n − 2)/(n_eff − 2))
    and the interval rebuilt with t on n_eff − 2 degrees of freedom (n_eff floored at 3).

    >>> from scipy import stats
    >>> half = stats.t.ppf(0.975, 98)
    >>> [round(v, 9) for v in corrected_ci(1.0, 1.0 - half, 1.0 + half, 100, 100.0)]
    [-0.984467455, 2.984467455]
    """
    from scipy import stats

    se = (ci_high - ci_low) / (2 * stats.t.ppf(0.975, n - 2))
    dof = max(n_eff - 2, 1.0)
    half = stats.t.ppf(0.975, dof) * se * math.sqrt((n - 2) / dof)
    return [float(b - half), float(b + half)]


def child(config: str, *, exposures_only: bool = False) -> dict[str, Any]:
    """Run the pipeline on *config* in this (fresh) process; report timings and the slope.

    With *exposures_only*, only the region and exposure stages
    (:func:`geo_ms.pipeline.run.run_exposures`, for the 1- vs 2-worker comparison).
    """
    import logging

    import pandas as pd

    from geo_ms.config import load_config
    from geo_ms.pipeline.run import run, run_exposures

    logging.basicConfig(level=logging.WARNING)
    cfg = load_config(config)
    t0 = time.perf_counter()
    if exposures_only:
        run_exposures(cfg, say=lambda s: None)
        return {"seconds": round(time.perf_counter() - t0, 1)}
    res = run(cfg, say=lambda s: None)
    total = time.perf_counter() - t0
    processed = Path(cfg["run"]["processed_dir"])
    mdf = pd.read_csv(processed / "models.csv")
    ols = mdf[(mdf["model"] == "ols") & (mdf["exposure"] == "cloud_cover_pct")
              & (mdf["subset"] == "all")].iloc[0]
    skipped = mdf[mdf["note"].astype(str).str.startswith("ML spatial model skipped")]
    from geo_ms.models.spatial_ci import dutilleul_n_eff

    tab = pd.read_csv(processed / "analysis_table.csv")
    tab = tab[["cloud_cover_pct", "prevalence_per_100k", "lon", "lat"]].dropna()
    n = len(tab)
    t0_neff = time.perf_counter()
    n_eff = dutilleul_n_eff(tab["cloud_cover_pct"].to_numpy(),
                            np.log(tab["prevalence_per_100k"].to_numpy()),
                            tab["lon"].to_numpy(), tab["lat"].to_numpy())
    neff_s = time.perf_counter() - t0_neff
    b = float(ols["estimate"])
    sp_ci = corrected_ci(b, float(ols["ci_low"]), float(ols["ci_high"]), n, n_eff)
    stages = {k: round(v, 1) for k, v in res.timings.items()}
    nested = {"figinputs"}  # timed inside the report stage
    return {
        "seconds": round(total, 1),
        "stage_seconds": stages,
        "between_stages_seconds": round(total - sum(
            v for k, v in res.timings.items() if k.split("#")[0] not in nested), 1),
        "cached_stages": sorted(k for k, v in res.cached.items() if v),
        "n_regions_fitted": int(ols["n"]),
        "planted_slope": PLANTED_SLOPE,
        "ols_slope": b,
        "ols_ci": [float(ols["ci_low"]), float(ols["ci_high"])],
        "planted_in_ols_ci": bool(ols["ci_low"] <= PLANTED_SLOPE <= ols["ci_high"]),
        "n_eff": round(n_eff, 1),
        "n_eff_seconds_after_run": round(neff_s, 2),
        "spatial_ci": sp_ci,
        "planted_in_ci": bool(sp_ci[0] <= PLANTED_SLOPE <= sp_ci[1]),
        "ml_models_skipped_rows": len(skipped),
        "ml_models_skipped_note": str(skipped["note"].iloc[0]) if len(skipped) else "",
        "map_html_mb": round((res.report_dir / "map.html").stat().st_size / 2**20, 1)
        if (res.report_dir / "map.html").is_file() else None,
    }


def _run_case(name: str, scheduler: str = "", *, tag: str = "", exposures_only: bool = False,
              timeout: float = 3600.0) -> dict[str, Any]:
    """Run one case cold in a fresh process; its result, the process's wall seconds and
    its output folder (``out``)."""
    gpkg, table, n = _prepare(name)
    out = CACHE / "out" / f"pipeline_{name}{tag}"
    shutil.rmtree(out, ignore_errors=True)  # cold: no stage cache, no coverage weights
    out.mkdir(parents=True)
    cfg = _config(name, gpkg, table, out, scheduler)
    cmd = [sys.executable, "-m", "benchmarks.pipeline_bench", "--child", str(cfg)]
    if exposures_only:
        cmd.append("--exposures-only")
    print(f"  [{time.strftime('%H:%M:%S')}] pipeline {name} ({n} regions)"
          + (" regions and exposures only" if exposures_only else "")
          + (f" on {scheduler}" if scheduler else ""), flush=True)
    t0 = time.perf_counter()
    # its own session: on a timeout the whole group goes (the run's worker processes too)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=HERE.parent, env={**os.environ, "PYTHONWARNINGS": "ignore"},
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    wall = round(time.perf_counter() - t0, 1)
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            import pyogrio

            return {**json.loads(line[len("BENCH_RESULT "):]), "n_regions": n,
                    "n_polygons": int(pyogrio.read_info(gpkg)["features"]),
                    "process_seconds": wall, "out": str(out)}
    sys.stderr.write(stdout[-4000:] + stderr[-4000:])
    raise RuntimeError(f"pipeline benchmark {name} failed (exit {proc.returncode})")


def _record(name: str, mode: str, r: dict[str, Any], target_s: float) -> dict[str, Any]:
    """One pipeline record for ``latest.json``, with its target and whether it was met."""
    ok_t = r["seconds"] <= target_s
    ok_m = r["peak_rss_mb"] <= PEAK_TARGET_MB
    rec = {"name": f"pipeline_{name}", "mode": mode, "seconds": r["seconds"],
           "peak_rss_mb": r["peak_rss_mb"], "baseline_seconds": None, "ratio": None,
           "max_rel_diff": None,
           **{k: v for k, v in r.items() if k not in ("seconds", "out")},
           "target": f"≤ {target_s / 60:g} min, ≤ 8 GB, planted slope in CI",
           "target_met": bool(ok_t and ok_m and r["planted_in_ci"])}
    if not rec["target_met"]:
        rec["target_missed_by"] = (f"{r['seconds']:.0f} s, {r['peak_rss_mb']:.0f} MB, planted "
                                   f"slope {'in' if r['planted_in_ci'] else 'NOT in'} CI")
    return rec


def _failed(name: str, mode: str, exc: BaseException, target_s: float) -> dict[str, Any]:
    """The record of a case that failed or ran past its timeout (the group goes on)."""
    why = (f"stopped after {exc.timeout:.0f} s ({TIMEOUT_FACTOR:g}× the target)"
           if isinstance(exc, subprocess.TimeoutExpired) else str(exc))
    seconds = float(exc.timeout) if isinstance(exc, subprocess.TimeoutExpired) else math.nan
    return {"name": f"pipeline_{name}", "mode": mode, "seconds": seconds,
            "peak_rss_mb": math.nan, "baseline_seconds": None, "ratio": None,
            "max_rel_diff": None, "error": why, "date": time.strftime("%Y-%m-%dT%H:%MZ",
                                                                      time.gmtime()),
            "target": f"≤ {target_s / 60:g} min, ≤ 8 GB, planted slope in CI",
            "target_met": False, "target_missed_by": f"failed: {why}"}


def compare_outputs(a: Path, b: Path) -> dict[str, float]:
    """Largest differences between two runs' ``exposures.csv`` and ``models.csv``.

    ``exposures_max_rel_diff``: over every numeric cell, ``|a − b| / max(|a|, 1e-300)``
    (NaN where the other is NaN counts as equal; NaN against a number as ``inf``);
    ``models_max_abs_diff``: over the numeric columns of models.csv, rows in file order.

    >>> import tempfile, pandas as pd
    >>> d = Path(tempfile.mkdtemp())
    >>> for sub, v in (("a", 2.0), ("b", 2.0000002)):
    ...     (d / sub / "processed").mkdir(parents=True)
    ...     pd.DataFrame({"region_id": ["x", "y"], "c": [v, np.nan]}).to_csv(
    ...         d / sub / "processed" / "exposures.csv", index=False)
    ...     pd.DataFrame({"model": ["ols"], "estimate": [v]}).to_csv(
    ...         d / sub / "processed" / "models.csv", index=False)
    >>> {k: round(v, 9) for k, v in compare_outputs(d / "a", d / "b").items()}
    {'exposures_max_rel_diff': 1e-07, 'models_max_abs_diff': 2e-07}
    """
    import pandas as pd

    def diff(name: str, rel: bool) -> float:
        x = pd.read_csv(a / "processed" / name)
        y = pd.read_csv(b / "processed" / name)
        if list(x.columns) != list(y.columns) or len(x) != len(y):
            return math.inf
        num = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
        u, v = x[num].to_numpy(float), y[num].to_numpy(float)
        if not np.array_equal(np.isnan(u), np.isnan(v)):
            return math.inf
        ok = ~np.isnan(u)
        d = np.abs(u[ok] - v[ok])
        if rel:
            d = d / np.maximum(np.abs(u[ok]), 1e-300)
        return float(d.max()) if d.size else 0.0

    return {"exposures_max_rel_diff": diff("exposures.csv", True),
            "models_max_abs_diff": diff("models.csv", False)}


def group_pipeline(cases: dict[str, float] | None = None, *,
                   scheduler: bool = True) -> list[dict[str, Any]]:
    """The pipeline records: each case single-process; the first also with ``--scheduler``.

    The scheduler records (first case only): the whole pipeline on a 2-worker
    ``LocalCluster`` (its results compared with the single process's:
    :func:`compare_outputs`), and the regions and exposures stages — the stage the
    scheduler distributes — cold on 1 and on 2 workers (the speed-up of 2 over 1).
    """
    from benchmarks.run import prepare_regions

    prepare_regions()
    cases = CASES if cases is None else cases
    records, outs = [], {}
    for name, target in cases.items():
        try:
            r = _run_case(name, timeout=TIMEOUT_FACTOR * target)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:  # recorded, not fatal
            records.append(_failed(name, "single_process", exc, target))
            continue
        outs[name] = Path(r["out"])
        records.append(_record(name, "single_process", r, target))
    if scheduler and cases and next(iter(cases)) in outs:
        from distributed import LocalCluster

        name, target = next(iter(cases.items()))
        expo: dict[int, float] = {}
        try:
            for workers in (1, 2):
                with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
                    address = cluster.scheduler_address
                    expo[workers] = _run_case(name, scheduler=address,
                                              tag=f"_dask{workers}_expo", exposures_only=True,
                                              timeout=TIMEOUT_FACTOR * target)["seconds"]
                    if workers == 2:
                        r = _run_case(name, scheduler=address, tag="_dask2",
                                      timeout=TIMEOUT_FACTOR * target)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return [*records, _failed(name, "scheduler_2_workers", exc, target)]
        rec = _record(name, "scheduler_2_workers", r, target)
        same = compare_outputs(outs[name], Path(r["out"]))
        single = records[0]
        rec.update({
            "scheduler": "dask.distributed LocalCluster, 2 worker processes × 1 thread, "
                         f"loopback ({address})",
            "max_rel_diff": same["exposures_max_rel_diff"],
            "models_max_abs_diff": same["models_max_abs_diff"],
            "identical_to_single_process": bool(same["exposures_max_rel_diff"] <= 1e-12
                                                and same["models_max_abs_diff"] <= 1e-9),
            "speedup_vs_single_process": round(single["seconds"] / r["seconds"], 2),
            "exposures_seconds_1_worker": expo[1],
            "exposures_seconds_2_workers": expo[2],
            "speedup_2_vs_1_workers": round(expo[1] / expo[2], 2),
        })
        records.append(rec)
    return records


def _stages(r: dict[str, Any]) -> str:
    st = r.get("stage_seconds", {})
    return ", ".join(f"{k} {v:g}" for k, v in st.items()) + (
        f"; between stages {r['between_stages_seconds']:g}"
        if r.get("between_stages_seconds") is not None else "")


def readme_lines(records: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> list[str]:
    """The README section of the pipeline records.

    >>> rec = {"name": "pipeline_squares_2.75deg", "mode": "single_process", "seconds": 60.0,
    ...        "peak_rss_mb": 1000.4, "n_regions": 4069, "n_regions_fitted": 4069,
    ...        "stage_seconds": {"regions": 1.0, "models": 20.0}, "between_stages_seconds": 2.0,
    ...        "ols_slope": 0.01, "ols_ci": [0.009, 0.011], "spatial_ci": [0.005, 0.015],
    ...        "n_eff": 123.7, "planted_in_ols_ci": True, "planted_in_ci": True,
    ...        "ml_models_skipped_rows": 40, "map_html_mb": 4.1, "load_avg_1min_start": 1.5,
    ...        "load_avg_1min": 2.0}
    >>> print(readme_lines([rec])[11])
    | `pipeline_squares_2.75deg` | single_process | 4069 / 4069 | 60 | 1000 | 0.0100 [0.0090, 0.0110] (yes) | [0.0050, 0.0150] (123.7; yes) | 40 | 4.1 | 1.5 → 2.0 |
    """
    recs = [r for r in records if r["name"].startswith("pipeline_")]
    if not recs:
        return []
    lines = ["## The whole pipeline at ~5,000 and ~50,000 regions", "",
             "`benchmarks/pipeline_bench.py`: square tessellations of the countries as a user",
             ("polygon set, a synthetic user prevalence table with a planted cloud slope "
              f"(b = {PLANTED_SLOPE} per point)"),
             "and a spatially autocorrelated error; `geo_ms.pipeline.run.run` cold in a fresh",
             "process (regions → exposures → models → report).", "",
             ("Regions: the polygons with a cloud-cover value (the rows of the planted table) "
             "of the tessellation's polygons; fitted: the `ols` row's n."), "",
             ("| case | mode | regions / fitted | total (s) | peak RSS (MB) "
              "| OLS slope [HC3 95 % CI] (planted in it) "
              "| spatially corrected CI (n_eff; planted in it) | ML-model rows skipped "
              "| map.html (MB) | load (start → end) |"),
             "|---|---|---:|---:|---:|---|---|---:|---:|---|"]
    yes = {True: "yes", False: "**no**"}
    for r in recs:
        if "error" in r:
            lines.append(f"| `{r['name']}` | {r['mode']} | – | – | – | **failed**: {r['error']} "
                         "| | | | |")
            continue
        lo, hi = r["ols_ci"]
        slo, shi = r["spatial_ci"]
        lines.append(
            f"| `{r['name']}` | {r['mode']} | {r['n_regions']}"
            + (f" of {r['n_polygons']}" if r.get("n_polygons") else "")
            + f" / {r.get('n_regions_fitted', '–')}"
            f" | {r['seconds']:g} | {r['peak_rss_mb']:.0f} | {r['ols_slope']:.4f} "
            f"[{lo:.4f}, {hi:.4f}] ({yes[bool(r.get('planted_in_ols_ci'))]}) | "
            f"[{slo:.4f}, {shi:.4f}] ({r['n_eff']}; {yes[bool(r['planted_in_ci'])]}) | "
            f"{r.get('ml_models_skipped_rows', '–')} | {r.get('map_html_mb', '–')} | "
            f"{r.get('load_avg_1min_start', '–')} → {r.get('load_avg_1min', '–')} |")
    lines += ["", "Stage seconds (each stage instance; `figinputs` is timed inside `report`):", ""]
    lines += [f"- `{r['name']}` {r['mode']}: {_stages(r)}" for r in recs if "error" not in r]
    for r in (r for r in recs if r["mode"] == "scheduler_2_workers"):
        where = r.get("scheduler", "a 2-worker LocalCluster")
        lines += ["", (f"With `compute.scheduler` on {where}: {r['seconds']:g} s, {r['speedup_vs_single_process']}× the single process; "
                  "identical to the single process's results: "
                  f"{yes[bool(r.get('identical_to_single_process'))]} (exposures.csv largest "
                  f"relative difference {r.get('max_rel_diff', float('nan')):.1e}, models.csv "
                  f"largest absolute difference {r.get('models_max_abs_diff', float('nan')):.1e}). "
                  "The regions and exposures stages (what the scheduler distributes), cold: "
                  f"{r.get('exposures_seconds_1_worker', '–')} s on 1 worker, "
                  f"{r.get('exposures_seconds_2_workers', '–')} s on 2: "
                  f"{r.get('speedup_2_vs_1_workers', '–')}×.")]
    secs = (meta or {}).get("group_seconds", {})
    if "pipeline_50k" in secs or "pipeline" in secs:
        lines += ["", (f"Group seconds: `pipeline` (the ~5,000 cases) {secs.get('pipeline', '–')} s, "
                       f"`pipeline_50k` (the ~47,000 case, run last) "
                       f"{secs.get('pipeline_50k', '–')} s, of all groups "
                       f"{round(sum(secs.values()), 1)} s (each group's seconds from the run "
                       "that last ran it; they include preparing the polygons and the planted "
                       "table). The 50,000 case alone: `python -m benchmarks.run --groups "
                       "pipeline_50k` (the other groups' records are kept).")]
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        load0 = round(os.getloadavg()[0], 2)
        result = child(argv[1], exposures_only="--exposures-only" in argv[2:])
        result["load_avg_1min_start"] = load0
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                      / 1024.0, 1)
        # the largest of the report's figure worker processes (not in the line above)
        result["peak_rss_children_mb"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, 1)
        result["load_avg_1min"] = round(os.getloadavg()[0], 2)
        result["date"] = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
        print("BENCH_RESULT " + json.dumps(result), flush=True)
        return 0
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_bench",
                                 description="Run the pipeline group alone (no JSON/README).")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--no-scheduler", action="store_true")
    args = ap.parse_args(argv)
    cases = {c: CASES[c] for c in args.cases.split(",") if c}
    for rec in group_pipeline(cases, scheduler=not args.no_scheduler):
        print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
