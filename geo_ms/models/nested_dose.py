"""The mechanism test that can fail in both directions (C5, test ``nested_dose``).

If clouds raise MS risk by cutting UV and so vitamin D, the part of the dose that
clouds remove should matter, with the same sign as the dose itself. The all-sky
dose is the clear-sky dose times a cloud factor (all-sky ÷ clear-sky, in (0, 1]), so
on the log scale the two separate exactly:

    log prevalence ~ log clear-sky dose + log cloud factor + adjustment set

fitted by OLS with HC3 standard errors on the complete cases. More dose, less MS
(negative dose coefficient), predicts a *negative* cloud-factor coefficient: a larger
factor is less cloud attenuation, more dose, less MS. A positive coefficient (more
attenuation, *less* MS) is the reverse of the mechanism and reads ``contradicted``.
The verdict (:func:`geo_ms.models.verdicts.plan_verdict`) is judged on the cloud
factor's coefficient; it is ``not identifiable between regions`` when the log cloud
factor's VIF given the log clear-sky dose and the adjustment set exceeds ``max_vif``.

Caveats the report must give: when the all-sky dose is *derived* (``vitd_uv_allsky``)
it is built from the cloud field under test; no measured all-sky UV climatology is
in the data unless TEMIS's cloud-modified dose is present; ecological data cannot
establish mediation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from geo_ms.models._table import LOG_GDP, log_outcome_name, prepare
from geo_ms.models.verdicts import MAX_VIF, plan_verdict, vif

__all__ = ["LOG_CLEAR", "LOG_CLOUD_FACTOR", "nested_dose", "nested_dose_claim"]

#: Names of the two regressors in the fitted model.
LOG_CLEAR = "log_clear_sky_dose"
LOG_CLOUD_FACTOR = "log_cloud_factor"


def nested_dose(
    table: pd.DataFrame,
    outcome_col: str,
    *,
    allsky: str,
    clear_sky: str = "vitd_uv_clear",
    adjust: Sequence[str] = (LOG_GDP,),
    level: float = 0.95,
) -> dict[str, Any]:
    """Fit ``log outcome ~ log clear-sky dose + log cloud factor + adjust`` (OLS, HC3).

    Parameters
    ----------
    table
        The analysis table.
    outcome_col
        Outcome column per 100,000 (its natural log is modelled).
    allsky, clear_sky
        The all-sky and clear-sky dose columns; doses <= 0 count as missing.
    adjust
        Further covariates (``log_gdp_per_capita`` is derived from
        ``gdp_per_capita`` when absent).
    level
        Confidence level of the intervals.

    Returns
    -------
    dict
        ``cloud_factor`` and ``dose``: ``(estimate, ci_low, ci_high)`` of the log
        cloud factor's and the log clear-sky dose's coefficients (HC3, t-based);
        ``p_cloud_factor``; ``n``; ``n_dropped``; ``r2``; ``aic``; ``vif`` (of the log
        cloud factor given the other regressors); ``columns`` (the regressors, in
        order); ``result`` (the statsmodels results object).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> clear = rng.uniform(2000, 9000, 80)
    >>> factor = rng.uniform(0.4, 0.95, 80)
    >>> d = pd.DataFrame({"vitd_uv_clear": clear, "vitd_uv_allsky": clear * factor,
    ...                   "gdp_per_capita": np.exp(rng.normal(9, 1, 80))})
    >>> d["prev"] = np.exp(5 - 0.5 * np.log(clear) + 1.2 * np.log(factor)
    ...                    + rng.normal(0, 0.05, 80))
    >>> out = nested_dose(d, "prev", allsky="vitd_uv_allsky")
    >>> round(out["cloud_factor"][0], 1), out["n"]
    (1.2, 80)
    """
    adjust = list(adjust)
    frame, dropped = prepare(table, outcome_col, [clear_sky, allsky, *adjust],
                             what="the nested dose test")
    ok = (frame[clear_sky] > 0) & (frame[allsky] > 0)
    dropped += int((~ok).sum())
    frame = frame.loc[ok].reset_index(drop=True)
    frame[LOG_CLEAR] = np.log(frame[clear_sky].astype(float))
    frame[LOG_CLOUD_FACTOR] = np.log(frame[allsky].astype(float) / frame[clear_sky].astype(float))
    columns = [LOG_CLEAR, LOG_CLOUD_FACTOR, *adjust]
    n = len(frame)
    nan3 = (math.nan, math.nan, math.nan)
    out: dict[str, Any] = {"cloud_factor": nan3, "dose": nan3, "p_cloud_factor": math.nan,
                           "n": n, "n_dropped": dropped, "r2": math.nan, "aic": math.nan,
                           "vif": math.nan, "columns": columns, "result": None}
    if n < len(columns) + 3:
        return out
    X = sm.add_constant(frame[columns].astype(float), has_constant="add")
    res = sm.OLS(frame[log_outcome_name(outcome_col)].astype(float), X).fit(
        cov_type="HC3", use_t=True)
    ci = res.conf_int(alpha=1 - level)

    def triple(name: str) -> tuple[float, float, float]:
        return (float(res.params[name]), float(ci.loc[name, 0]), float(ci.loc[name, 1]))

    out.update(cloud_factor=triple(LOG_CLOUD_FACTOR), dose=triple(LOG_CLEAR),
               p_cloud_factor=float(res.pvalues[LOG_CLOUD_FACTOR]), r2=float(res.rsquared),
               aic=float(res.aic), vif=vif(frame, LOG_CLOUD_FACTOR, [LOG_CLEAR, *adjust]),
               result=res)
    return out


def nested_dose_claim(table: pd.DataFrame, claim: Any, outcome_col: str, *,
                      max_vif: float = MAX_VIF) -> dict[str, Any]:
    """A ``nested_dose`` claim of the plan (:class:`geo_ms.models.plan.Claim`) on one
    outcome: :func:`nested_dose` plus the verdict on the cloud factor's coefficient.

    Returns
    -------
    dict
        ``claim_id, outcome, exposure, test, n, estimate, ci_low, ci_high, vif,
        verdict, dose, detail`` (estimate and CI: the log cloud factor's coefficient).
    """
    fit = nested_dose(table, outcome_col, allsky=claim.exposure, clear_sky=claim.clear_sky,
                      adjust=claim.adjust)
    est, lo, hi = fit["cloud_factor"]
    d = fit["dose"]
    verdict = plan_verdict(est, lo, hi, expected_sign=claim.sign, delta=claim.sesoi,
                           vif_value=fit["vif"], max_vif=max_vif)
    adj = " + ".join(["log clear-sky dose", "log cloud factor", *claim.adjust])
    detail = (f"OLS of log prevalence on {adj} (HC3, n = {fit['n']}): cloud-factor "
              f"coefficient {est:.3g} [{lo:.3g}, {hi:.3g}], clear-sky dose coefficient "
              f"{d[0]:.3g} [{d[1]:.3g}, {d[2]:.3g}]; VIF of the log cloud factor "
              f"{fit['vif']:.1f}. The mechanism predicts a cloud-factor coefficient of the "
              "same sign as the dose's (negative).")
    return {"claim_id": claim.id, "outcome": outcome_col, "exposure": claim.exposure,
            "test": claim.test, "n": fit["n"], "estimate": est, "ci_low": lo, "ci_high": hi,
            "vif": fit["vif"], "verdict": verdict, "dose": d, "detail": detail}
