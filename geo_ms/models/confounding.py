"""Confounding sensitivity: regional fixed effects, and cloud effects in % per 10 points.

- :func:`fixed_effects` — log prevalence ~ exposure + |latitude| + log GDP + one
  dummy per region group (UN sub-region by default, the ``subregion`` column),
  standard errors clustered by that group (``ols_adj_lat_gdp_fe``). Only the
  within-region variation of the exposure is used, so anything constant within a
  sub-region (ancestry mix, health system) cannot confound it.
- :func:`pct_per10_rows` — every adjusted cloud coefficient of the models table
  re-expressed as % change in prevalence per 10 points of cloud cover, with its CI
  (``pct_per10_adj``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm

from geo_ms.models._table import (
    log_outcome_name,
    make_row,
    prepare,
    rows_to_frame,
    select_subset,
)
from geo_ms.models.adjust import adjustment_set
from geo_ms.models.verdicts import pct_per10

__all__ = ["fixed_effects", "pct_per10_rows"]

log = logging.getLogger("geo_ms.models")


def fixed_effects(
    df: pd.DataFrame,
    exposure: str,
    outcome: str = "prevalence_per_100k",
    *,
    group: str = "subregion",
    subset: str = "all",
    extra_covariates: Sequence[str] = (),
    min_groups: int = 5,
) -> pd.DataFrame:
    """The exposure's coefficient with region fixed effects and clustered SEs.

    Groups with a single region are pooled into one "other" group (a singleton
    dummy fits its region exactly). Cluster-robust covariance (statsmodels
    ``cov_type="cluster"``) with a t reference distribution on G - 1 df.

    Returns
    -------
    pandas.DataFrame
        One ``ols_adj_lat_gdp_fe`` row (empty when the group column is missing or
        has fewer than *min_groups* groups).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 120; g = np.repeat(list("ABCDEFGH"), 15)
    >>> shift = pd.Series(g).map({k: i for i, k in enumerate("ABCDEFGH")}).to_numpy()
    >>> d = pd.DataFrame({"subregion": g, "abs_latitude": rng.uniform(0, 60, n),
    ...                   "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
    ...                   "x": shift * 5 + rng.normal(0, 1, n)})
    >>> d["prevalence_per_100k"] = np.exp(0.3 * shift + 0.1 * d["x"] + rng.normal(0, .1, n))
    >>> row = fixed_effects(d, "x").iloc[0]
    >>> row["model"], bool(row["ci_low"] < 0.1 < row["ci_high"])
    ('ols_adj_lat_gdp_fe', True)
    """
    if group not in df.columns:
        return rows_to_frame([])
    data = select_subset(df, subset)
    covs = list(adjustment_set(df, exposure, extra=extra_covariates))
    frame, dropped = prepare(data.loc[data[group].notna()], outcome, [exposure, *covs],
                             what=f"the fixed-effects model of {exposure}")
    counts = frame[group].astype(str).value_counts()
    groups = frame[group].astype(str).where(frame[group].astype(str).map(counts) > 1, "other")
    n_groups = groups.nunique()
    if n_groups < min_groups or len(frame) < len(covs) + n_groups + 3:
        return rows_to_frame([])
    lname = log_outcome_name(outcome)
    dummies = pd.get_dummies(groups, prefix="fe", drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([frame[[exposure, *covs]].astype(float), dummies], axis=1),
                        has_constant="add")
    codes = pd.factorize(groups)[0]
    res = sm.OLS(frame[lname], X).fit(cov_type="cluster", cov_kwds={"groups": codes},
                                      use_t=True)
    b = float(res.params[exposure])
    lo, hi = (float(v) for v in res.conf_int(alpha=0.05).loc[exposure])
    if not np.isfinite(lo):
        return rows_to_frame([])
    sd = float(frame[exposure].std(ddof=1)) / float(frame[lname].std(ddof=1))
    note = (f"{group} fixed effects ({n_groups} groups), SE clustered by {group}; covariates "
            f"{', '.join(covs)}")
    if dropped:
        note += f"; {dropped} region(s) dropped for missing values"
    return rows_to_frame([make_row("ols_adj_lat_gdp_fe", subset, exposure, lname,
                                   int(res.nobs), b, lo, hi, float(res.pvalues[exposure]),
                                   b * sd, note, r2=float(res.rsquared), aic=float(res.aic))])


def pct_per10_rows(models: pd.DataFrame, *, prefix: str = "cloud") -> pd.DataFrame:
    """% change in prevalence per 10 points of cloud for each adjusted cloud coefficient.

    One ``pct_per10_adj`` row per ``ols_adj_lat_gdp`` row whose exposure starts with
    *prefix*: ``100 (exp(10 b) - 1)`` for the estimate and both CI bounds.

    >>> m = pd.DataFrame([dict(model="ols_adj_lat_gdp", subset="all",
    ...     exposure="cloud_cover_pct", outcome="log_prevalence", n=194, estimate=-0.015,
    ...     ci_low=-0.02, ci_high=-0.01, p_value=1e-8, std_estimate=-0.3, note="")])
    >>> pct_per10_rows(m)[["estimate", "ci_low", "ci_high"]].round(2).values.tolist()
    [[-13.93, -18.13, -9.52]]
    """
    src = models[(models["model"] == "ols_adj_lat_gdp")
                 & models["exposure"].astype(str).str.startswith(prefix)]
    rows = []
    for r in src.itertuples(index=False):
        if any(isinstance(v, float) and math.isnan(v) for v in (r.estimate, r.ci_low, r.ci_high)):
            continue
        rows.append(make_row(
            "pct_per10_adj", r.subset, r.exposure, r.outcome, int(r.n), pct_per10(r.estimate),
            pct_per10(r.ci_low), pct_per10(r.ci_high), r.p_value, math.nan,
            "% change in prevalence per 10 points of cloud cover, 100(exp(10b)-1) of the "
            "ols_adj_lat_gdp coefficient and its HC3 CI"))
    return rows_to_frame(rows)
