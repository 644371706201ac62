"""The stages of a run: regions, prevalence, exposures, join, models, report.

Each stage reads its inputs through the lower layers (:mod:`geo_ms.ingest`,
:mod:`geo_ms.exposures`, :mod:`geo_ms.models`, :mod:`geo_ms.report`) and caches its
outputs with :class:`~geo_ms.pipeline.cache.Stage`.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd

from geo_ms import __version__
from geo_ms._io import atomic_path, atomic_write_text
from geo_ms.pipeline.cache import RunContext, Stage, stage_key, write_csv, write_dictionary

__all__ = [
    "exposure_outputs",
    "join",
    "models_residuals",
    "outcomes_missing",
    "primary_exposures",
    "primary_spec",
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
    key = stage_key("regions", rcfg, src["sha256"])
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
    from geo_ms.ingest import datasets

    ecfg = ctx.cfg["exposures"]
    specs = compute.exposure_specs(ecfg, sample=ctx.sample)
    sources = datasets.sources_for([d for s in specs for d in s.datasets])
    key = stage_key("exposures", regions_key, ecfg, [s.base for s in specs], sources)
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
                {k: table.attrs[k] for k in ("low_valid_fraction", "min_valid_fraction")
                 if k in table.attrs}))
    for s in sources:
        ctx.used[s["id"]] = s
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
    false. Both stages are cached like the primary ones.
    """
    from dataclasses import replace

    from geo_ms.exposures.aggregate import EXPOSURES
    from geo_ms.exposures.compute import MAIN_TERRITORY_SUFFIX

    rcfg, mcfg = ctx.cfg["regions"], ctx.cfg["models"]
    if (ctx.sample or rcfg["set"] != "countries" or rcfg["main_territory"]
            or not mcfg["main_territory_sensitivity"]):
        return expo
    cols = [c for c in (mcfg["primary_cloud"], mcfg["primary_uv"]) if c in expo.columns]
    specs = [s for s in EXPOSURES if s.base in cols]
    if not specs:
        return expo
    ids = {d for s in specs for d in s.datasets}
    ecfg = {**ctx.cfg["exposures"], "windows": ["annual"], "population_weighting": False,
            "cloud": [d for d in ctx.cfg["exposures"]["cloud"] if d in ids],
            "uv": [d for d in ctx.cfg["exposures"]["uv"] if d in ids], "solar": []}
    alt = replace(ctx, cfg={**ctx.cfg, "regions": {**rcfg, "main_territory": True},
                            "exposures": ecfg})
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
                    [s["sha256"] for s in osrc])
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
    _check_enough_regions(prev, regions, pcfg, ctx.cfg["models"]["min_regions"])
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
    covariate for the adjusted models, or no GBD age structure for the adjustment.
    """
    path = ctx.cache / f"prevalence-{prevalence_key}" / "outcomes_atlas.csv"
    cols = ["outcome", "region_id", "region_name", "value", "reason"]
    if not path.exists():
        return pd.DataFrame(columns=cols)
    atlas = pd.read_csv(path, dtype={"region_id": str, "note": str}, keep_default_na=False,
                        na_values={"value": [""]})
    cloud, uv = primary_exposures(ctx, table)
    rows = table.set_index("region_id")
    out = []
    for r in atlas.itertuples(index=False):
        reasons = [r.note] if r.note else []
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
                          min_regions: int) -> None:
    """Refuse an MS table that gives prevalence for too few regions of the region set."""
    from geo_ms.errors import RegionMatchError

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


#: Region columns carried into exposures.csv and the analysis table.
COVARIATES = ("region_id", "iso3", "name", "continent", "region_un", "subregion", "income_grp",
               "abs_latitude", "abs_latitude_popw", "gdp_per_capita", "pop_est", "label_x",
               "label_y")


def join(ctx: RunContext, regions: Any, expo: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    covars = [c for c in COVARIATES if c in regions.columns]
    table = pd.DataFrame(regions[covars]).rename(columns={"label_x": "lon", "label_y": "lat"})
    table = table.merge(expo.reset_index(), on="region_id", how="left", suffixes=("", "_expo"))
    table = table.merge(prev, on="region_id", how="left", suffixes=("", "_prev"))
    return table


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
    """The pre-specified primary analysis, with the exposures this run can use."""
    import dataclasses

    from geo_ms import models

    cloud, uv = primary_exposures(ctx, table)
    spec = models.primary_spec(ctx.cfg)
    return dataclasses.replace(spec, exposures={"C1": cloud, "C2": uv, "C2-adj": uv,
                                                "C3": cloud})


def stage_models(ctx: RunContext, table: pd.DataFrame, join_key: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    from geo_ms import models
    from geo_ms.ingest.outcomes import OUTCOMES

    mcfg = ctx.cfg["models"]
    table, cov_hash = _with_covariates(ctx, table)
    key = stage_key("models", join_key, mcfg, ctx.cfg.get("primary"), ctx.cfg.get("outcomes"),
                    cov_hash)
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the models' matrices are small or thin, and more threads spin (on
    # a shared 2-core machine the stage took 22.8 s of CPU with them, 8.5 s without)
    with Stage(ctx, "models", key) as st, threadpool_limits(limits=1, user_api="blas"):
        mout, cout, tout = st.path("models.csv"), st.path("claims.csv"), st.path(
            "triangulation.csv")
        if st.hit:
            mdf, claims, tri = pd.read_csv(mout), pd.read_csv(cout), pd.read_csv(tout)
        else:
            cloud, _ = primary_exposures(ctx, table)
            spec = primary_spec(ctx, table)
            exps = [c for c in table.columns if c in _exposure_cols()]
            mdf = models.fit_all(table, ctx.cfg, exposures=exps, spec=spec)
            outcome = mcfg["outcome"]
            mech = models.mechanism_test(table, outcome)
            label = OUTCOMES[spec.outcome].label if spec.outcome in OUTCOMES else spec.outcome
            if ctx.sample or ctx.cfg["prevalence"]["source"] != "gbd2016":
                label = ("built-in sample prevalence" if ctx.sample else
                         f"prevalence table ({ctx.cfg['prevalence']['source']})")
            claims = models.claims_table(mdf, table, spec=spec, outcome_col=outcome,
                                         outcome_label=label, mechanism=mech)
            fit_ids = (ctx.cfg.get("outcomes") or {}).get("fit") or list(OUTCOMES)
            tri = models.triangulate(table, spec, fit_ids)
            claims = models.add_agreement(claims, tri, spec.outcome)
            claims = _with_product_sensitivity(claims, mdf, cloud)
            claims = _with_subset_claims(claims, mdf, table, spec, outcome, label)
            write_csv(mdf, mout)
            write_csv(claims, cout)
            write_csv(tri, tout)
    write_csv(tri, ctx.processed / "triangulation.csv")
    return mdf, claims, key


_OTHER_CLOUD = ("cloud_fraction_modis_pct", "cloudiness_sunshine_pct", "cloud_cover_ncep_pct",
                "cloud_cover_cruts_pct", "cloud_cover_pct_winter", "cloud_cover_pct_popw",
                "cloud_cover_pct_mainterr")


def _with_product_sensitivity(claims: pd.DataFrame, mdf: pd.DataFrame,
                              cloud: str) -> pd.DataFrame:
    """Say in C1's caveat what the other cloud products and windows give."""
    rows = mdf[(mdf["model"] == "pearson") & (mdf["subset"] == "all")
               & (mdf["outcome"] == "log_prevalence") & mdf["exposure"].isin(_OTHER_CLOUD)
               & (mdf["exposure"] != cloud)]
    if rows.empty:
        return claims
    parts = [f"{r.exposure} r = {r.estimate:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]"
             for r in rows.itertuples()]
    claims = claims.copy()
    i = claims.index[claims["claim_id"] == "C1"]
    claims.loc[i, "caveat"] = (claims.loc[i, "caveat"] + " Other cloud products and "
                               "windows (Pearson, all regions): " + "; ".join(parts) + ".")
    return claims


def _with_subset_claims(claims: pd.DataFrame, mdf: pd.DataFrame, table: pd.DataFrame,
                        spec: Any, outcome: str, label: str) -> pd.DataFrame:
    """Append C1 and C3 judged within Europe, where the claim's proponents look."""
    import dataclasses

    from geo_ms import models

    if not (mdf["subset"] == "europe").any():
        return claims
    eu_spec = dataclasses.replace(spec, subset="europe")
    eu = models.claims_table(mdf, table, spec=eu_spec, outcome_col=outcome, outcome_label=label)
    eu = eu[eu["claim_id"].isin(["C1", "C3"])].copy()
    eu["claim"] = eu["claim"] + " — within Europe only"
    eu["claim_id"] = eu["claim_id"] + "-europe"
    return pd.concat([claims, eu], ignore_index=True)


def _exposure_cols() -> set[str]:
    from geo_ms.exposures import compute

    return compute.exposure_columns()


def primary_exposures(ctx: RunContext, table: pd.DataFrame) -> tuple[str, str]:
    """The cloud and UV/sunshine columns the claims are judged on."""
    m = ctx.cfg["models"]
    if ctx.sample or m["primary_cloud"] not in table.columns:
        return "cloudiness_sunshine_pct", "ghi_merra2"
    uv = m["primary_uv"] if m["primary_uv"] in table.columns else "vitd_uv_clear"
    return m["primary_cloud"], uv


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
        "config": ctx.cfg,
        "versions": versions(),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _primary_meta(mdf: pd.DataFrame) -> dict[str, Any]:
    """What the report says about pre-specification and multiplicity."""
    n_int = int(mdf[["ci_low", "ci_high"]].notna().all(axis=1).sum())
    role = mdf["role"] if "role" in mdf.columns else pd.Series("exploratory", index=mdf.index)
    n_primary = int((role == "primary").sum())
    return {
        "n_intervals": n_int,
        "n_primary": n_primary,
        "n_exploratory": int(len(mdf) - n_primary),
        "primary_rule": (
            f"The primary analysis was fixed in the configuration before any data were read "
            f"([primary] in default_config.toml): {n_primary} row(s) of models.csv have "
            f"role = primary and are judged by the verdict rules of the claims table. The "
            f"other {len(mdf) - n_primary} rows are exploratory; their q_value is the "
            f"Benjamini-Hochberg false-discovery-rate adjusted p-value over that family. "
            f"models.csv holds {n_int} confidence intervals in all."),
    }


def _missing_regions(table: pd.DataFrame, outcome: str, exposures: list[str]) -> list[dict[str, Any]]:
    rows = []
    for r in table.itertuples(index=False):
        reasons = []
        if pd.isna(getattr(r, outcome, float("nan"))):
            reasons.append("no MS prevalence value")
        miss = [c for c in exposures if c in table.columns and pd.isna(getattr(r, c))]
        if miss:
            reasons.append("no valid raster cells for " + ", ".join(miss))
        if reasons:
            rows.append({"region_id": r.region_id, "name": getattr(r, "name", ""),
                         "reason": "; ".join(reasons)})
    return rows


def stage_report(
    ctx: RunContext, regions: Any, table: pd.DataFrame, mdf: pd.DataFrame,
    claims: pd.DataFrame, models_key: str,
) -> tuple[Path, dict[str, Path]]:
    from geo_ms.exposures import compute
    from geo_ms.ingest import datasets
    from geo_ms.report import interactive_map, prose, render_report
    from geo_ms.report.figures import make_all_figures

    name = ctx.cfg["run"]["name"] + ("-sample" if ctx.sample else "")
    out_dir = ctx.reports / name
    key = stage_key("report", models_key, ctx.cfg["run"], sorted(ctx.used))
    stamp = out_dir / ".report-key"
    files: dict[str, Path] = {}
    t0 = time.perf_counter()
    if stamp.exists() and stamp.read_text() == key and (out_dir / "report.html").exists():
        ctx.say(f"[stage] report: cached ({out_dir})")
        ctx.cached["report"] = True
    else:
        ctx.say("[stage] report: running")
        ctx.cached["report"] = False
        exposure_cols = [c for c in table.columns if c in compute.exposure_columns()]
        missing = _missing_regions(table, ctx.cfg["models"]["outcome"], exposure_cols[:3])
        omi = None if ctx.sample else compute.omi_agreement()
        if omi:
            ctx.used["omi_omuvbd"] = datasets.sources_for(["omi_omuvbd"])[0]
        if "sunshine_hours_cities" in table.columns and "sunshine_cities" not in ctx.used:
            ctx.used["sunshine_cities"] = datasets.sources_for(["sunshine_cities"])[0] | {
                "years": "1991–2020 (SARAH-3 base period)"}
        meta = _meta(ctx, table, missing)
        rasters = compute.report_rasters(ctx.cfg["exposures"], sample=ctx.sample)
        fig_dir = out_dir / "figures"
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
        figs = make_all_figures(fig_dir, regions, table, key_models, rasters, meta, cloud=cloud,
                                exposures=list(dict.fromkeys(shown)))
        if omi:
            from geo_ms.report.figures import exposure_raster_map

            day = omi[1].copy()
            day.attrs["period"] = "a single day, 2024-10-01 (not a climatology)"
            day.attrs["long_name"] = "OMI all-sky / clear-sky erythemal daily UV dose"
            figs += exposure_raster_map(fig_dir, day, regions, meta=meta,
                                        stem="omi_allsky_ratio")
        tri_csv = ctx.processed / "triangulation.csv"
        if tri_csv.exists() and pd.read_csv(tri_csv)["estimate"].notna().any():
            from geo_ms.report.figures.triangulation import triangulation_figure

            # the key figure of the report comes first
            figs = [*triangulation_figure(pd.read_csv(tri_csv), fig_dir, meta), *figs]
        files.update(render_report(out_dir, table=table, models=key_models, claims=claims,
                                   figures=figs, meta=meta))
        # one layer per column, each repeating the borders: keep the map light
        value_cols = [c for c in ("prevalence_per_100k", cloud, uv, "resid")
                      if c in table.columns]
        files["map"] = interactive_map(out_dir / "map.html", regions, table, value_cols)
        for nm in ("analysis_table.csv", "models.csv", "claims.csv", "exposures.csv",
                   "triangulation.csv"):
            src = ctx.processed / nm
            if src.exists():
                write_csv(pd.read_csv(src), out_dir / nm)
        atomic_write_text(out_dir / "manifest.json", json.dumps(meta, indent=2, default=str))
        atomic_write_text(stamp, key)
    ctx.timings["report"] = round(time.perf_counter() - t0, 3)
    latest = ctx.reports / "latest"
    tmp = ctx.reports / ".latest.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(out_dir.name, target_is_directory=True)
    os.replace(tmp, latest)
    for nm in ("report.html", "report.md", "map.html"):
        files.setdefault(nm.split(".")[0] if nm != "map.html" else "map", out_dir / nm)
    return out_dir, files


def exposure_outputs(ctx: RunContext, regions: Any, expo: pd.DataFrame) -> dict[str, Path]:
    files: dict[str, Path] = {}
    covars = [c for c in COVARIATES if c in regions.columns and c not in expo.columns]
    full = pd.DataFrame(regions[covars]).merge(expo.reset_index(), on="region_id", how="left")
    full = full.rename(columns={"label_x": "lon", "label_y": "lat"})
    files["exposures.csv"] = write_csv(full, ctx.processed / "exposures.csv")
    expo_gdf = regions[["region_id", "geometry"]].merge(full, on="region_id")
    with atomic_path(ctx.processed / "exposures.gpkg") as tmp:
        expo_gdf.to_file(tmp, driver="GPKG", layer="exposures")
    files["exposures.gpkg"] = ctx.processed / "exposures.gpkg"
    with atomic_path(ctx.processed / "exposures.parquet", suffix=".parquet") as tmp:
        expo_gdf.to_parquet(tmp, index=False)  # GeoParquet (geometry as WKB, "geo" metadata)
    files["exposures.parquet"] = ctx.processed / "exposures.parquet"
    files["exposures.md"] = write_dictionary(
        list(full.columns), ctx.processed / "exposures.md", "exposures.csv")
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
    return models.with_residuals(table, cloud, ctx.cfg["models"]["outcome"])
