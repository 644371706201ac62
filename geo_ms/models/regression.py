"""OLS of log MS prevalence on an exposure, crude and adjusted for confounders.

Four nested models, all with HC3 heteroskedasticity-robust standard errors
(:mod:`statsmodels`, t reference distribution with n - p degrees of freedom):

========================== ==============================================
``ols``                    log prevalence ~ exposure
``ols_adj_lat``            ... + abs_latitude
``ols_adj_lat_gdp``        ... + abs_latitude + log GDP per capita
``ols_adj_lat_gdp_income`` ... + abs_latitude + log GDP + income-group dummies
========================== ==============================================

plus the partial correlation of exposure and outcome given latitude
(``partial_lat``) and given latitude and log GDP (``partial_lat_gdp``), and the
variance inflation factors of the adjusted model (``vif``). All models of one call
use the same complete-case sample so that crude and adjusted estimates compare.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.outliers_influence import variance_inflation_factor

from geo_ms.errors import GeoMSError
from geo_ms.models._table import (
    LOG_GDP,
    float_matrix,
    log_outcome_name,
    make_row,
    prepare,
    rows_to_frame,
    select_subset,
)
from geo_ms.models.adjust import adjustment_set, latitude_column, residualise

__all__ = [
    "MODEL_COVARIATES",
    "design_matrix",
    "fit_ols",
    "income_dummies",
    "partial_correlation",
    "regression_rows",
    "regressions",
    "vifs",
    "with_residuals",
]

log = logging.getLogger("geo_ms.models")

#: Covariates of each OLS model ("income" = income-group dummies).
MODEL_COVARIATES: dict[str, tuple[str, ...]] = {
    "ols": (),
    "ols_adj_lat": ("abs_latitude",),
    "ols_adj_lat_gdp": ("abs_latitude", LOG_GDP),
    "ols_adj_lat_gdp_income": ("abs_latitude", LOG_GDP, "income"),
}


def _income_group(value: Any) -> str:
    text = str(value).strip()
    low = text.lower()
    if "high income" in low:
        return "high"
    for word in ("upper middle", "lower middle", "low"):
        if low.lstrip("0123456789. ").startswith(word):
            return word.replace(" ", "_")
    return text


def income_dummies(groups: pd.Series, *, min_size: int = 3) -> pd.DataFrame:
    """Dummy columns of income group, reference = the largest group.

    Natural Earth's ``"1. High income: OECD"`` and ``"2. High income: nonOECD"``
    are merged into ``high``; groups with fewer than *min_size* regions join the
    reference group (a singleton dummy has leverage 1, which HC3 cannot handle).

    Examples
    --------
    >>> g = pd.Series(["1. High income: OECD", "2. High income: nonOECD", "5. Low income",
    ...                "5. Low income", "5. Low income", "3. Upper middle income"])
    >>> income_dummies(g, min_size=2).columns.tolist()
    ['income_high']
    >>> income_dummies(g, min_size=2)["income_high"].tolist()
    [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    merged = [_income_group(g) for g in groups]
    counts = Counter(merged)
    reference = min(counts, key=lambda g: (-counts[g], g))
    small = {g for g, k in counts.items() if k < min_size}
    merged_arr = np.array([reference if g in small else g for g in merged], dtype=object)
    levels = sorted(set(merged_arr) - {reference})
    return pd.DataFrame(
        {f"income_{lvl}": (merged_arr == lvl).astype(float) for lvl in levels},
        index=groups.index,
    )


def design_matrix(frame: pd.DataFrame, exposure: str, covariates: Sequence[str]) -> pd.DataFrame:
    """Design matrix ``[const, exposure, covariates..., income dummies]``.

    ``"income"`` in *covariates* adds :func:`income_dummies` of ``income_grp``.

    >>> f = pd.DataFrame({"x": [1.0, 2.0], "abs_latitude": [10.0, 20.0]})
    >>> design_matrix(f, "x", ["abs_latitude"]).columns.tolist()
    ['const', 'x', 'abs_latitude']
    """
    cols = [exposure] + [c for c in covariates if c != "income"]
    names = ["const", *cols]
    blocks = [np.ones((len(frame), 1)), float_matrix(frame, cols)]
    if "income" in covariates:
        dummies = income_dummies(frame["income_grp"])
        names += list(dummies.columns)
        blocks.append(dummies.to_numpy(float))
    # the matrix sm.add_constant(..., has_constant="add") gives, built in one piece
    return pd.DataFrame(np.hstack(blocks), columns=names, index=frame.index)


def _fit(y: pd.Series | np.ndarray, X: pd.DataFrame | np.ndarray) -> Any:
    res = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)
    return res


def fit_ols(
    df: pd.DataFrame,
    exposure: str,
    outcome: str = "prevalence_per_100k",
    *,
    covariates: Sequence[str] | None = None,
) -> Any:
    """Fit log prevalence ~ exposure + covariates by OLS with HC3 errors.

    Parameters
    ----------
    df
        The analysis table; complete cases are used.
    covariates
        Column names; ``log_gdp_per_capita`` is derived from ``gdp_per_capita``
        and ``"income"`` adds income-group dummies (see :func:`income_dummies`).
        Default: the exposure's adjustment set
        (:func:`~geo_ms.models.adjust.adjustment_set`: |latitude|, log GDP).

    Returns
    -------
    statsmodels.regression.linear_model.RegressionResultsWrapper
        With ``cov_type="HC3"``; ``res.model.data.row_labels`` follow the
        complete-case rows, and ``res.region_ids`` lists their ``region_id``.

    Examples
    --------
    >>> d = pd.DataFrame({"prevalence_per_100k": np.exp([1.0, 3.0, 5.0, 7.2]),
    ...                   "x": [0.0, 1.0, 2.0, 3.0]})
    >>> res = fit_ols(d, "x", covariates=())
    >>> round(float(res.params["x"]), 2)
    2.06
    """
    if covariates is None:
        covariates = adjustment_set(df, exposure)
    needed = [c for c in covariates if c != "income"] + (
        ["income_grp"] if "income" in covariates else []
    )
    frame, _ = prepare(df, outcome, [exposure, *needed], what=f"the regression on {exposure}")
    y = frame[log_outcome_name(outcome)]
    res = _fit(y, design_matrix(frame, exposure, covariates))
    res.region_ids = (
        frame["region_id"].tolist() if "region_id" in frame.columns else frame.index.tolist()
    )
    return res


def vifs(X: pd.DataFrame) -> dict[str, float]:
    """Variance inflation factors of the non-constant columns of a design matrix.

    ``VIF_j = 1 / (1 - R_j**2)``, R_j² from regressing column j on the others
    (with the constant), via statsmodels' ``variance_inflation_factor``.

    Examples
    --------
    >>> X = sm.add_constant(pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 1, 4, 3, 6]}))
    >>> {k: round(v, 3) for k, v in vifs(X).items()}
    {'a': 3.083, 'b': 3.083}
    """
    arr = X.to_numpy(float)
    out = {}
    for j, name in enumerate(X.columns):
        if name == "const":
            continue
        out[str(name)] = float(variance_inflation_factor(arr, j))
    return out


def partial_correlation(
    x: np.ndarray, y: np.ndarray, controls: np.ndarray | None, *, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Partial correlation of *x* and *y* given *controls*, from OLS residuals.

    Both are regressed on ``[1, controls]``; r is the correlation of the two
    residual vectors. CI: Fisher z with standard error ``1 / sqrt(n - k - 3)``
    (k controls); p: t-test with ``n - 2 - k`` degrees of freedom.

    Returns
    -------
    r, ci_low, ci_high, p_value

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=200); x = z + rng.normal(size=200); y = z + rng.normal(size=200)
    >>> r, lo, hi, p = partial_correlation(x, y, z[:, None])
    >>> abs(r) < 0.15 and lo < 0 < hi
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    ones = np.ones((n, 1))
    Z = ones if controls is None else np.column_stack([ones, np.asarray(controls, float)])
    k = Z.shape[1] - 1
    if n - k - 3 <= 0:
        return (math.nan,) * 4
    rx, ry = residualise(controls, x, y)
    den = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if den == 0:
        return (math.nan,) * 4
    r = float(rx @ ry) / den
    r = max(-1.0, min(1.0, r))
    zcrit = stats.norm.ppf(0.5 + level / 2.0)
    if abs(r) < 1:
        z = math.atanh(r)
        se = 1.0 / math.sqrt(n - k - 3)
        lo, hi = math.tanh(z - zcrit * se), math.tanh(z + zcrit * se)
        dof = n - 2 - k
        t = r * math.sqrt(dof / (1.0 - r * r))
        p = float(2.0 * stats.t.sf(abs(t), dof))
    else:
        lo = hi = r
        p = 0.0
    return r, lo, hi, p


def _coef_row(model: str, subset: str, exposure: str, lname: str, res: Any,
              sd_x: float, sd_y: float, note: str) -> dict[str, Any]:
    """The row of the exposure's coefficient: *res* is fitted on arrays, the exposure
    in column 1 (after the constant); *sd_x*, *sd_y*: SDs of exposure and log outcome."""
    b = float(res.params[1])
    lo, hi = (float(v) for v in res.conf_int(alpha=0.05)[1])
    p = float(res.pvalues[1])
    std = b * sd_x / sd_y if sd_y > 0 else math.nan
    return make_row(model, subset, exposure, lname, int(res.nobs), b, lo, hi, p, std, note,
                    r2=float(res.rsquared), aic=float(res.aic))


def regressions(
    df: pd.DataFrame,
    exposure: str,
    outcome: str = "prevalence_per_100k",
    *,
    subset: str = "all",
    models: Sequence[str] = tuple(MODEL_COVARIATES),
    extra_covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Crude and adjusted OLS, partial correlations and VIFs for one exposure.

    A population-weighted exposure (name containing ``_popw``) is adjusted for the
    population-weighted latitude ``abs_latitude_popw`` when the table has it, so that
    exposure and confounder describe the same people; *extra_covariates* (user
    covariate columns) join every adjusted model and partial correlation.

    Parameters
    ----------
    df
        The analysis table.
    exposure
        Exposure column.
    outcome
        Prevalence column (per 100,000); its natural log is modelled.
    subset
        Subset of regions (filter and label).
    models
        Which of :data:`MODEL_COVARIATES` to fit. Models whose covariates are
        absent from *df* (``gdp_per_capita``, ``income_grp``) are skipped (logged).
    extra_covariates
        Further numeric columns added to every adjusted model.

    Returns
    -------
    pandas.DataFrame
        The tidy models table: one row per OLS model (``estimate`` = the
        exposure's unstandardised coefficient, HC3 95 % CI and p,
        ``std_estimate`` = the coefficient with z-scored variables), rows
        ``partial_lat`` / ``partial_lat_gdp`` (estimate = partial r) and one
        ``vif`` row (the exposure's VIF in the largest model without income
        dummies; the other VIFs in ``note``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> lat = rng.uniform(0, 60, 80); x = lat + rng.normal(0, 5, 80)
    >>> d = pd.DataFrame({"prevalence_per_100k": np.exp(0.05 * lat + rng.normal(0, .2, 80)),
    ...                   "x": x, "abs_latitude": lat})
    >>> out = regressions(d, "x").set_index("model")
    >>> out.index.tolist()
    ['ols', 'ols_adj_lat', 'partial_lat', 'vif']
    >>> bool(out.loc["ols", "p_value"] < 0.001), bool(out.loc["ols_adj_lat", "p_value"] > 0.01)
    (True, True)
    """
    return rows_to_frame(regression_rows(df, exposure, outcome, subset=subset, models=models,
                                         extra_covariates=extra_covariates))


def regression_rows(
    df: pd.DataFrame,
    exposure: str,
    outcome: str = "prevalence_per_100k",
    *,
    subset: str = "all",
    models: Sequence[str] = tuple(MODEL_COVARIATES),
    extra_covariates: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The rows of :func:`regressions` (``make_row`` dicts), for callers that collect
    many exposures' rows into one table.

    >>> d = pd.DataFrame({"prevalence_per_100k": np.exp([1.0, 2.5, 2.9, 4.2, 5.0]),
    ...                   "x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    >>> [r["model"] for r in regression_rows(d, "x")]
    ['ols']
    """
    data = select_subset(df, subset)
    lname = log_outcome_name(outcome)
    lat_col = latitude_column(df, exposure)
    extra = tuple(c for c in extra_covariates if c != exposure)

    def covs_of(name: str) -> tuple[str, ...]:
        return adjustment_set(df, exposure, MODEL_COVARIATES[name], extra)

    todo = []
    for name in models:
        covs = covs_of(name)
        missing = [
            c for c in covs
            if (c == LOG_GDP and "gdp_per_capita" not in df.columns and LOG_GDP not in df.columns)
            or (c == "income" and "income_grp" not in df.columns)
            or (c not in (LOG_GDP, "income") and c not in df.columns)
        ]
        if missing:
            log.info("%s on %s (%s): skipped, no column for %s", name, exposure, subset,
                     ", ".join(missing))
            continue
        todo.append(name)
    needed: list[str] = []
    for name in todo:
        for c in covs_of(name):
            needed.append("income_grp" if c == "income" else c)
    needed = list(dict.fromkeys(needed))
    frame, dropped = prepare(data, outcome, [exposure, *needed],
                             what=f"the regression on {exposure}")
    common = f"common complete-case sample of {len(todo)} model(s)"
    if lat_col != "abs_latitude":
        common += "; latitude control: population-weighted |latitude| (abs_latitude_popw)"
    if extra:
        common += f"; extra covariates: {', '.join(extra)}"
    if dropped:
        common += f"; {dropped} region(s) dropped for missing values"
    rows = []
    y = frame[lname]
    sd_x, sd_y = float(frame[exposure].std(ddof=1)), float(y.std(ddof=1))
    vif_source: tuple[str, pd.DataFrame] | None = None
    for name in todo:
        covs = covs_of(name)
        X = design_matrix(frame, exposure, covs)
        if len(frame) < X.shape[1] + 2:
            log.info("%s on %s (%s): skipped, %d regions for %d parameters", name, exposure,
                     subset, len(frame), X.shape[1])
            continue
        # fitted on plain arrays: the same numbers without statsmodels' pandas wrapping
        res = _fit(y.to_numpy(float), X.to_numpy(float))
        note = f"HC3 robust SE; {common}"
        if not np.isfinite(res.bse[1]):
            res = sm.OLS(y.to_numpy(float), X.to_numpy(float)).fit(cov_type="HC1", use_t=True)
            note = f"HC1 robust SE (HC3 undefined: a region has leverage 1); {common}"
        if "income" in covs:
            dummies = [c for c in X.columns if c.startswith("income_")]
            note += f"; income dummies: {', '.join(dummies) if dummies else 'none (one group)'}"
        rows.append(_coef_row(name, subset, exposure, lname, res, sd_x, sd_y, note))
        if len(covs) > 0 and "income" not in covs:
            vif_source = (name, X)
    partials = {"partial_lat": [lat_col, *extra], "partial_lat_gdp": [lat_col, LOG_GDP, *extra]}
    for pname, controls in partials.items():
        model_name = "ols_adj_lat" if pname == "partial_lat" else "ols_adj_lat_gdp"
        if model_name not in todo:
            continue
        r, lo, hi, p = partial_correlation(
            frame[exposure].to_numpy(float), y.to_numpy(float), float_matrix(frame, controls)
        )
        rows.append(make_row(pname, subset, exposure, lname, len(frame), r, lo, hi, p, r,
                             f"residual correlation given {', '.join(controls)}; Fisher-z CI; "
                             f"{common}"))
    if vif_source is not None:
        name, X = vif_source
        v = vifs(X)
        others = ", ".join(f"{k}={val:.2f}" for k, val in v.items() if k != exposure)
        rows.append(make_row("vif", subset, exposure, lname, len(frame), v[exposure],
                             note=f"VIF in {name}; {others}"))
    return rows


def with_residuals(table: pd.DataFrame, exposure: str,
                   outcome: str = "prevalence_per_100k", *,
                   extra_covariates: Sequence[str] = ()) -> pd.DataFrame:
    """Return *table* with ``resid``: residuals of log outcome ~ exposure + its adjustment
    set (|lat|, log GDP and *extra_covariates*, :func:`~geo_ms.models.adjust.adjustment_set`).

    Regions outside the complete cases get NaN; when the model cannot be fitted the
    table is returned unchanged (and the reason logged).

    Examples
    --------
    >>> d = pd.DataFrame({"region_id": list("abcde"),
    ...                   "prevalence_per_100k": np.exp([1.0, 2.0, 3.0, 4.0, 5.5]),
    ...                   "x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    >>> "resid" in with_residuals(d, "x").columns  # no latitude/GDP columns: unchanged
    False
    """
    try:
        res = fit_ols(table, exposure, outcome,
                      covariates=adjustment_set(table, exposure, extra=extra_covariates))
    except (GeoMSError, ValueError, KeyError) as exc:
        log.warning("residuals not available: %s", exc)
        return table
    resid = pd.Series(res.resid.to_numpy(), index=res.region_ids, name="resid")
    out = table.copy()
    out["resid"] = out["region_id"].map(resid)
    return out

