"""Sensitivity analyses: subsets of regions, outcome variants, exposure products,
windows and weightings, and leave-one-out influence.

Every analysis gives rows of the tidy models table (see ``fit_all``):

- **subsets** — ``all``, ``europe``, ``abs_lat_gt_35`` and each other continent
  with at least *min_continent* regions; subsets with fewer than *min_regions*
  regions are skipped (logged);
- **outcome variants** — age-standardised (the primary outcome), all-ages
  (``prevalence_allages_per_100k``) and 1990 (``prevalence_1990_per_100k``)
  prevalence when those columns are present (all regions);
- **product, window, weighting** — each exposure column given, plus its
  ``_winter``, ``_summer``, ``_popw`` and ``_winter_popw`` variants when present;
- **influence** — ``loo_influence``: DFBETAS of the exposure in the adjusted
  model, the three most influential regions named in ``note``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from geo_ms.errors import SchemaError
from geo_ms.models._table import (
    LOG_GDP,
    log_outcome_name,
    make_row,
    prepare,
    rows_to_frame,
    select_subset,
    subset_names,
)
from geo_ms.models.adjust import adjustment_set
from geo_ms.models.correlation import correlations
from geo_ms.models.regression import design_matrix, regression_rows

__all__ = ["OUTCOME_VARIANTS", "VARIANT_SUFFIXES", "dfbeta", "expand_exposures",
           "loo_influence", "loo_variance", "sensitivity"]

log = logging.getLogger("geo_ms.models")

#: Outcome columns compared with the primary outcome when present.
OUTCOME_VARIANTS: tuple[str, ...] = (
    "prevalence_per_100k",
    "prevalence_allages_per_100k",
    "prevalence_agestd_per_100k",
    "prevalence_1990_per_100k",
    "prevalence_user_per_100k",
)

#: Suffixes of the window / weighting variants of an exposure column.
VARIANT_SUFFIXES: tuple[str, ...] = ("_winter", "_summer", "_popw", "_winter_popw",
                                     "_summer_popw")


def expand_exposures(df: pd.DataFrame, exposures: Sequence[str]) -> list[str]:
    """The exposures plus their window / weighting variants present in *df*.

    Examples
    --------
    >>> d = pd.DataFrame(columns=["cloud_cover_pct", "cloud_cover_pct_winter", "uv_index",
    ...                           "uv_index_popw", "other"])
    >>> expand_exposures(d, ["cloud_cover_pct", "uv_index"])
    ['cloud_cover_pct', 'cloud_cover_pct_winter', 'uv_index', 'uv_index_popw']
    """
    out: list[str] = []
    for e in exposures:
        out.append(e)
        out.extend(f"{e}{s}" for s in VARIANT_SUFFIXES if f"{e}{s}" in df.columns)
    return list(dict.fromkeys(out))


def _adjusters(df: pd.DataFrame, exposure: str,
               extra: Sequence[str] = ()) -> tuple[str, tuple[str, ...]]:
    has_gdp = "gdp_per_capita" in df.columns or LOG_GDP in df.columns
    if "abs_latitude" in df.columns and has_gdp:
        return "ols_adj_lat_gdp", adjustment_set(df, exposure, extra=extra)
    if "abs_latitude" in df.columns:
        return "ols_adj_lat", adjustment_set(df, exposure, ("abs_latitude",), extra)
    return "ols", ()


def _label(frame: pd.DataFrame, i: int) -> str:
    rid = frame["region_id"].iloc[i] if "region_id" in frame.columns else str(i)
    name = frame["name"].iloc[i] if "name" in frame.columns else None
    if isinstance(name, str) and name and name != rid:
        return f"{name} ({rid})"
    return str(rid)


def loo_variance(res: Any, hat: np.ndarray) -> np.ndarray:
    """The residual variance of an OLS fit without each region, in closed form:
    ``s_(i)^2 = (SSE - e_i^2 / (1 - h_i)) / (n - p - 1)`` (no n refits).

    >>> rng = np.random.default_rng(0)
    >>> X = sm.add_constant(rng.normal(size=20)); y = X @ [1.0, 2.0] + rng.normal(size=20)
    >>> res = sm.OLS(y, X).fit()
    >>> bool(np.isclose(loo_variance(res, res.get_influence().hat_matrix_diag)[3],
    ...                 sm.OLS(np.delete(y, 3), np.delete(X, 3, axis=0)).fit().scale))
    True
    """
    e = np.asarray(res.resid, dtype=float)
    return (float(res.ssr) - e**2 / (1.0 - hat)) / (float(res.df_resid) - 1.0)


def dfbeta(res: Any, hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DFBETA (coefficients minus those without region i) and DFBETAS of an OLS fit.

    In closed form (Belsley, Kuh & Welsch 1980): ``(X'X)^-1 x_i e_i / (1 - h_i)``,
    scaled by ``s_(i) sqrt((X'X)^-1_jj)`` with ``s_(i)^2 = (SSE - e_i^2 / (1 - h_i)) /
    (n - p - 1)``. statsmodels' ``OLSInfluence.dfbetas`` refits the model n times
    (O(n^2)); this is O(n p^2) and equal to it up to rounding.

    Parameters
    ----------
    res
        A statsmodels OLS result.
    hat
        The diagonal of its hat matrix (``res.get_influence().hat_matrix_diag``).

    Returns
    -------
    dfbeta, dfbetas
        Two (n, p) arrays.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = sm.add_constant(rng.normal(size=(30, 2))); y = X @ [1.0, 2.0, -1.0] + rng.normal(size=30)
    >>> res = sm.OLS(y, X).fit(); infl = res.get_influence()
    >>> _, dfbetas = dfbeta(res, infl.hat_matrix_diag)
    >>> bool(np.allclose(dfbetas, infl.dfbetas, rtol=1e-10, atol=1e-12))
    True
    """
    X = np.asarray(res.model.exog, dtype=float)
    xtxi = np.asarray(res.normalized_cov_params, dtype=float)
    e = np.asarray(res.resid, dtype=float)
    dfb = (X @ xtxi) * (e / (1.0 - hat))[:, None]
    s2 = loo_variance(res, hat)
    dfbs = dfb / np.sqrt(s2)[:, None] / np.sqrt(np.diag(xtxi))[None, :]
    return dfb, dfbs


def loo_influence(
    df: pd.DataFrame,
    exposure: str,
    outcome: str = "prevalence_per_100k",
    *,
    subset: str = "all",
    top: int = 3,
    extra_covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Leave-one-out influence of each region on the exposure's adjusted coefficient.

    The model is ``ols_adj_lat_gdp`` (or ``ols_adj_lat`` / ``ols`` when the
    covariates are missing) with the exposure's adjustment set
    (:func:`~geo_ms.models.adjust.adjustment_set`, as in the regression table). ``estimate`` is the largest |DFBETAS| of the
    exposure (the change in its coefficient when one region is left out, in
    standard errors; > 2/sqrt(n) is the usual flag); ``note`` names the *top*
    regions with their DFBETAS and Cook's distance, and the range of the
    leave-one-out coefficients.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"region_id": [f"R{i}" for i in range(30)],
    ...                   "x": rng.normal(size=30)})
    >>> d["prevalence_per_100k"] = np.exp(0.2 * d["x"] + rng.normal(0, 0.1, 30))
    >>> d.loc[7, ["x", "prevalence_per_100k"]] = [6.0, np.exp(-3.0)]
    >>> row = loo_influence(d, "x").iloc[0]
    >>> row["note"].split(";")[1].strip().startswith("top influence: R7")
    True
    """
    data = select_subset(df, subset)
    model, covs = _adjusters(df, exposure, extra_covariates)
    frame, dropped = prepare(data, outcome, [exposure, *covs], what=f"the influence of {exposure}")
    lname = log_outcome_name(outcome)
    X = design_matrix(frame, exposure, covs)
    n = len(frame)
    if n < X.shape[1] + 3:
        return rows_to_frame([])
    res = sm.OLS(frame[lname], X).fit()
    infl = res.get_influence()
    j = list(X.columns).index(exposure)
    dfbeta_all, dfbetas_all = dfbeta(res, np.asarray(infl.hat_matrix_diag))
    dfbetas = dfbetas_all[:, j]
    cooks = np.asarray(infl.cooks_distance[0])
    b = float(res.params[exposure])
    loo = b - dfbeta_all[:, j]
    order = np.argsort(-np.abs(dfbetas), kind="stable")[:top]
    tops = ", ".join(
        f"{_label(frame, i)} DFBETAS={dfbetas[i]:+.2f} Cook's D={cooks[i]:.2f}" for i in order
    )
    flagged = int((np.abs(dfbetas) > 2 / math.sqrt(n)).sum())
    flips = int((np.sign(loo) != np.sign(b)).sum())
    note = (
        f"{model}, b={b:.4g}; top influence: {tops}; leave-one-out b range "
        f"[{loo.min():.4g}, {loo.max():.4g}], sign flips in {flips} of {n}; "
        f"{flagged} region(s) with |DFBETAS| > 2/sqrt(n)"
    )
    if dropped:
        note += f"; {dropped} region(s) dropped for missing values"
    return rows_to_frame([make_row("loo_influence", subset, exposure, lname, n,
                                   float(np.abs(dfbetas).max()), note=note)])


def sensitivity(
    df: pd.DataFrame,
    exposures: Sequence[str],
    outcome: str = "prevalence_per_100k",
    *,
    n_boot: int = 2000,
    seed: int = 20161,
    min_regions: int = 10,
    min_continent: int = 15,
    outcomes: Sequence[str] | None = None,
    extra_covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Correlations and regressions across subsets, outcomes and exposure variants.

    Parameters
    ----------
    df
        The analysis table.
    exposures
        Exposure columns (each product); window/weighting variants present in
        *df* are added (:func:`expand_exposures`).
    outcome
        Primary outcome (analysed in every subset).
    n_boot, seed
        Bootstrap settings for the correlations.
    min_regions
        Subsets (and exposure × subset cells) with fewer complete regions are skipped.
    min_continent
        A continent becomes a subset when it has at least this many regions.
    outcomes
        Outcome variants analysed on all regions (default: those of
        :data:`OUTCOME_VARIANTS` present in *df*, besides *outcome*).
    extra_covariates
        User covariate columns added to every adjusted model.

    Returns
    -------
    pandas.DataFrame
        The tidy models table (``pearson``, ``spearman``, the four OLS models,
        partial correlations, ``vif``, and ``loo_influence`` for the primary
        outcome on all regions).
    """
    cols = expand_exposures(df, exposures)
    parts: list[pd.DataFrame] = []
    for subset in subset_names(df, min_continent=min_continent):
        try:
            size = len(select_subset(df, subset))
        except SchemaError as exc:  # e.g. no continent column: that subset cannot be made
            log.info("subset %s skipped: %s", subset, exc)
            continue
        if size < min_regions:
            log.info("subset %s skipped: %d region(s) < %d", subset, size, min_regions)
            continue
        parts.append(_block(df, cols, outcome, subset, n_boot, seed, min_regions,
                            extra_covariates))
    if outcomes is None:
        outcomes = [o for o in OUTCOME_VARIANTS if o in df.columns and o != outcome]
    for other in outcomes:
        if other == outcome:
            continue
        parts.append(_block(df, cols, other, "all", n_boot, seed, min_regions,
                            extra_covariates))
    for e in cols:
        parts.append(loo_influence(df, e, outcome, extra_covariates=extra_covariates))
    parts = [p for p in parts if len(p)]
    if not parts:
        return rows_to_frame([])
    return pd.concat(parts, ignore_index=True)


def _block(
    df: pd.DataFrame, cols: Sequence[str], outcome: str, subset: str, n_boot: int, seed: int,
    min_regions: int, extra_covariates: Sequence[str] = (),
) -> pd.DataFrame:
    data = select_subset(df, subset)
    y = pd.to_numeric(data[outcome], errors="coerce")
    usable = []
    for e in cols:
        n_ok = int((y.notna() & pd.to_numeric(data[e], errors="coerce").notna()).sum())
        if n_ok < min_regions:
            log.info("%s in subset %s skipped: %d complete region(s) < %d", e, subset, n_ok,
                     min_regions)
            continue
        usable.append(e)
    if not usable:
        return rows_to_frame([])
    rows = []
    for e in usable:
        rows += regression_rows(df, e, outcome, subset=subset, extra_covariates=extra_covariates)
    out = [correlations(df, usable, outcome, n_boot=n_boot, seed=seed, subset=subset),
           rows_to_frame(rows)]
    return pd.concat([o for o in out if len(o)], ignore_index=True)
