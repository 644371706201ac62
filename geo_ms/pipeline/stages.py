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
    "primary_exposures",
    "stage_exposures",
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
        if st.hit:
            table = pd.read_csv(out, index_col="region_id")
        else:
            table = compute.compute_exposures(regions, specs, ecfg, say=ctx.say,
                                               cache_dir=ctx.cache / "weights",
                                               scheduler=ctx.cfg["compute"]["scheduler"])
            write_csv(table, out, index=True)
    for s in sources:
        ctx.used[s["id"]] = s
    cities = datasets.cities_source()
    ctx.used[cities["id"]] = cities
    return table, key


def stage_prevalence(ctx: RunContext, regions: Any, regions_key: str) -> tuple[pd.DataFrame, str]:
    from geo_ms.ingest import datasets

    pcfg = ctx.cfg["prevalence"]
    src = datasets.prevalence_source(pcfg, sample=ctx.sample)
    key = stage_key("prevalence", pcfg, src["sha256"], ctx.sample, regions_key)
    with Stage(ctx, "prevalence", key) as st:
        out = st.path("prevalence.csv")
        if st.hit:
            prev = pd.read_csv(out, dtype={"region_id": str})
        else:
            # a user table is checked against the region set: unknown ids are an error
            by_iso3 = "iso3" in regions.columns and bool(
                (regions["region_id"].astype(str) == regions["iso3"].astype(str)).all())
            id_kind = "iso3" if by_iso3 else "other"
            prev = datasets.load_prevalence(
                pcfg, sample=ctx.sample, known_ids=regions["region_id"].astype(str).tolist(),
                id_kind=id_kind)
            write_csv(prev, out)
    ctx.used[src["id"]] = src
    return prev, key


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


def stage_models(ctx: RunContext, table: pd.DataFrame, join_key: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    from geo_ms import models

    mcfg = ctx.cfg["models"]
    key = stage_key("models", join_key, mcfg)
    with Stage(ctx, "models", key) as st:
        mout, cout = st.path("models.csv"), st.path("claims.csv")
        if st.hit:
            mdf, claims = pd.read_csv(mout), pd.read_csv(cout)
        else:
            cloud, uv = primary_exposures(ctx, table)
            exps = [c for c in table.columns if c in _exposure_cols()]
            mdf = models.fit_all(table, ctx.cfg, exposures=exps)
            claims = models.claims_table(mdf, table, cloud_exposure=cloud, uv_exposure=uv)
            claims = _with_product_sensitivity(claims, mdf, cloud)
            claims = _with_subset_claims(claims, mdf, table, cloud, uv)
            write_csv(mdf, mout)
            write_csv(claims, cout)
    return mdf, claims, key


_OTHER_CLOUD = ("cloud_fraction_modis_pct", "cloudiness_sunshine_pct", "cloud_cover_ncep_pct",
                "cloud_cover_cruts_pct", "cloud_cover_pct_winter", "cloud_cover_pct_popw")


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
                        cloud: str, uv: str) -> pd.DataFrame:
    """Append C1 and C3 judged within Europe, where the claim's proponents look."""
    from geo_ms import models

    if not (mdf["subset"] == "europe").any():
        return claims
    eu = models.claims_table(mdf, table, cloud_exposure=cloud, uv_exposure=uv, subset="europe")
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
        tri_fig = fig_dir / "triangulation.png"
        if tri_fig.exists():
            figs.insert(0, tri_fig)
        files.update(render_report(out_dir, table=table, models=key_models, claims=claims,
                                   figures=figs, meta=meta))
        # one layer per column, each repeating the borders: keep the map light
        value_cols = [c for c in ("prevalence_per_100k", cloud, uv, "resid")
                      if c in table.columns]
        files["map"] = interactive_map(out_dir / "map.html", regions, table, value_cols)
        for nm in ("analysis_table.csv", "models.csv", "claims.csv", "exposures.csv"):
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
