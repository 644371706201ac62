"""The mechanism test: does the all-sky vitamin-D dose beat the clear-sky dose?

If clouds raise MS risk by cutting UV and so vitamin D, the dose that reaches the
ground under real skies (all-sky) should predict MS prevalence better than the dose
under clear skies. Pre-specified comparison, both models adjusted for |latitude|
and log GDP per capita on the same complete-case sample (OLS, HC3):

    log prevalence ~ dose + |latitude| + log GDP,   dose ∈ {clear-sky, all-sky}

reporting R², AIC and each dose's coefficient. The all-sky dose is TEMIS's measured
cloud-modified dose (``vitd_uv_allsky_measured``) when the original file is
present, labelled *measured*; otherwise the dose derived from the clear-sky dose
and the cloud field under test (``vitd_uv_allsky``), labelled *derived* — then the
comparison is not independent of the cloud field it is meant to explain.

Rule (stated in the claims table): with ΔAIC = AIC(clear) − AIC(all-sky),
``supported`` when ΔAIC ≥ 2 and the all-sky coefficient is negative with a CI
excluding 0 (more dose, less MS); ``not supported`` when ΔAIC ≤ −2 (clear-sky fits
better); ``inconclusive`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import statsmodels.api as sm

from geo_ms.models._table import LOG_GDP, log_outcome_name, make_row, prepare, rows_to_frame
from geo_ms.models.adjust import adjustment_set

__all__ = ["CLEAR", "DERIVED", "MEASURED", "allsky_column", "mechanism_test", "mechanism_verdict"]

#: Clear-sky vitamin-D dose column.
CLEAR = "vitd_uv_clear"
#: Measured all-sky dose (TEMIS ``uvd_cloudy_mean``).
MEASURED = "vitd_uv_allsky_measured"
#: Derived all-sky dose (clear-sky dose × cloud attenuation from the cloud field).
DERIVED = "vitd_uv_allsky"

_COVARIATES = ("abs_latitude", LOG_GDP)


def allsky_column(df: pd.DataFrame) -> tuple[str | None, str]:
    """The all-sky dose column and its label (``measured`` preferred to ``derived``).

    >>> allsky_column(pd.DataFrame({DERIVED: [1.0], MEASURED: [2.0]}))
    ('vitd_uv_allsky_measured', 'measured')
    >>> allsky_column(pd.DataFrame(columns=[DERIVED]))
    ('vitd_uv_allsky', 'derived')
    >>> allsky_column(pd.DataFrame(columns=["x"]))
    (None, '')
    """
    if MEASURED in df.columns and pd.to_numeric(df[MEASURED], errors="coerce").notna().any():
        return MEASURED, "measured"
    if DERIVED in df.columns:
        return DERIVED, "derived"
    return None, ""


def mechanism_verdict(aic_clear: float, aic_allsky: float, coef_allsky: tuple[float, float, float]
                      ) -> str:
    """Verdict of the mechanism comparison (see the module docstring).

    >>> mechanism_verdict(100.0, 95.0, (-0.1, -0.2, -0.05))
    'supported'
    >>> mechanism_verdict(100.0, 95.0, (-0.1, -0.2, 0.05))
    'inconclusive'
    >>> mechanism_verdict(95.0, 100.0, (-0.1, -0.2, -0.05))
    'not supported'
    >>> mechanism_verdict(100.0, 99.0, (-0.1, -0.2, -0.05))
    'inconclusive'
    """
    if any(math.isnan(v) for v in (aic_clear, aic_allsky, *coef_allsky)):
        return "inconclusive"
    delta = aic_clear - aic_allsky
    if delta <= -2:
        return "not supported"
    if delta >= 2 and max(coef_allsky[1], coef_allsky[2]) < 0:
        return "supported"
    return "inconclusive"


def _fit(frame: pd.DataFrame, lname: str, dose: str, covs: tuple[str, ...]) -> Any:
    X = sm.add_constant(frame[[dose, *covs]].astype(float), has_constant="add")
    return sm.OLS(frame[lname], X).fit(cov_type="HC3", use_t=True)


def mechanism_test(
    df: pd.DataFrame, outcome_col: str = "prevalence_per_100k", *, subset_name: str = "all",
    min_regions: int = 10, extra_covariates: Sequence[str] = (),
) -> dict[str, Any] | None:
    """Compare the clear-sky and the all-sky dose as predictors of log prevalence.

    Both doses are adjusted for the same set (:func:`~geo_ms.models.adjust.adjustment_set`:
    |latitude|, log GDP and *extra_covariates*, the user covariates).

    Returns
    -------
    dict or None
        ``rows`` (tidy models rows ``mechanism_clear`` / ``mechanism_allsky`` with
        ``r2`` and ``aic``), ``claim_row`` (the C5-mechanism row of the claims
        table), ``verdict``, ``label`` (measured / derived), ``r2``/``aic`` per dose.
        None when a dose column or covariate is missing or too few regions.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> n = 80; lat = rng.uniform(0, 60, n); cloud = rng.uniform(0, 1, n)
    >>> clear = 10 - 0.1 * lat + rng.normal(0, .3, n)
    >>> d = pd.DataFrame({"abs_latitude": lat, "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
    ...                   CLEAR: clear, DERIVED: clear * (1 - 0.6 * cloud)})
    >>> d["prevalence_per_100k"] = np.exp(3 - 0.4 * d[DERIVED] + rng.normal(0, .2, n))
    >>> out = mechanism_test(d)
    >>> out["verdict"], out["label"], out["aic"]["allsky"] < out["aic"]["clear"]
    ('supported', 'derived', True)
    """
    allsky, label = allsky_column(df)
    if allsky is None or CLEAR not in df.columns or "abs_latitude" not in df.columns or (
            "gdp_per_capita" not in df.columns and LOG_GDP not in df.columns):
        return None
    covs = adjustment_set(df, CLEAR, _COVARIATES, extra_covariates)
    frame, dropped = prepare(df, outcome_col, [CLEAR, allsky, *covs],
                             what="the mechanism test")
    if len(frame) < max(min_regions, len(covs) + 4):
        return None
    lname = log_outcome_name(outcome_col)
    adj_text = " + ".join(["|latitude|", "log GDP", *covs[len(_COVARIATES):]])
    fits = {"clear": _fit(frame, lname, CLEAR, covs), "allsky": _fit(frame, lname, allsky, covs)}
    rows, coef, r2, aic = [], {}, {}, {}
    common = f"same {len(frame)} regions for both doses" + (
        f"; {dropped} dropped for missing values" if dropped else "")
    for key, dose in (("clear", CLEAR), ("allsky", allsky)):
        res = fits[key]
        b = float(res.params[dose])
        lo, hi = (float(v) for v in res.conf_int(alpha=0.05).loc[dose])
        coef[key], r2[key], aic[key] = (b, lo, hi), float(res.rsquared), float(res.aic)
        sd = float(frame[dose].std(ddof=1)) / float(frame[lname].std(ddof=1))
        note = (f"log prevalence ~ {dose} + {adj_text}, HC3; R2={r2[key]:.3f}, "
                f"AIC={aic[key]:.1f}; {common}")
        if key == "allsky":
            note += f"; all-sky dose {label}"
        rows.append(make_row(f"mechanism_{key}", subset_name, dose, lname, int(res.nobs), b, lo,
                             hi, float(res.pvalues[dose]), b * sd, note))
    table = rows_to_frame(rows)
    table["r2"] = [r2["clear"], r2["allsky"]]
    table["aic"] = [aic["clear"], aic["allsky"]]
    verdict = mechanism_verdict(aic["clear"], aic["allsky"], coef["allsky"])
    beats = aic["allsky"] < aic["clear"]
    caveat = ("Ecological, between countries. " + (
        "The all-sky dose is TEMIS's measured cloud-modified dose (uvd_cloudy_mean)."
        if label == "measured" else
        "The all-sky dose is derived from the clear-sky dose and the cloud field under "
        "test, so this comparison is not independent of that cloud field."))
    test = (f"OLS of log prevalence on each dose + {adj_text} ({len(frame)} regions, "
            f"HC3): clear-sky ({CLEAR}) R2 = {r2['clear']:.3f}, AIC = {aic['clear']:.1f}, "
            f"coefficient {coef['clear'][0]:.3g} [{coef['clear'][1]:.3g}, {coef['clear'][2]:.3g}]; "
            f"all-sky {label} ({allsky}) R2 = {r2['allsky']:.3f}, AIC = {aic['allsky']:.1f}, "
            f"coefficient {coef['allsky'][0]:.3g} [{coef['allsky'][1]:.3g}, "
            f"{coef['allsky'][2]:.3g}]. The all-sky dose "
            + ("fits better" if beats else "does not fit better") + " than the clear-sky dose.")
    claim_row = {
        "claim_id": "C5-mechanism",
        "claim": "Clouds act through UV and vitamin D: the all-sky dose predicts MS better "
                 "than the clear-sky dose",
        "outcome": "", "exposure": allsky, "test": test,
        "rule": "supported if AIC(clear) - AIC(all-sky) >= 2 and the all-sky coefficient is "
                "negative with a CI excluding 0; not supported if AIC(clear) - AIC(all-sky) "
                "<= -2; else inconclusive",
        "estimate": coef["allsky"][0], "ci_low": coef["allsky"][1],
        "ci_high": coef["allsky"][2], "ci_low_spatial": math.nan, "ci_high_spatial": math.nan,
        "n": len(frame), "verdict": verdict, "agreement": "", "caveat": caveat,
    }
    return {"rows": table, "claim_row": claim_row, "verdict": verdict, "label": label,
            "allsky": allsky, "r2": r2, "aic": aic, "coef": coef, "beats": beats}
