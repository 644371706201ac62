"""The claims table: each claim of the article, the test that checks it, a verdict.

Verdicts are one of :data:`VERDICTS` and come from two explicit rules,
:func:`verdict_for_correlation` and :func:`verdict_for_adjusted`; each claim's
``test`` text states the rule that was applied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = [
    "CLAIM_COLUMNS",
    "DOSING_CAVEAT",
    "ECOLOGICAL_CAVEAT",
    "VERDICTS",
    "claims_table",
    "verdict_for_adjusted",
    "verdict_for_correlation",
]

#: Allowed verdicts.
VERDICTS: tuple[str, ...] = (
    "supported",
    "not supported",
    "explained by confounding",
    "inconclusive",
)

#: Columns of the claims table.
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id", "claim", "test", "estimate", "ci_low", "ci_high", "n", "verdict", "caveat",
)

#: Caveat of every claim tested with regional data.
ECOLOGICAL_CAVEAT = (
    "Ecological fallacy: regional averages say nothing about an individual's risk; "
    "GBD prevalence values are model outputs (DisMod-MR), not counts; recorded "
    "prevalence follows diagnostic access (neurologists, MRI), which tracks wealth."
)

#: Caveat of the dosing claim.
DOSING_CAVEAT = (
    "individual dosing cannot be tested with regional data; 4,000 IU/day is the adult "
    "tolerable upper intake"
)

_CLOUD_CANDIDATES = ("cloud_cover_pct", "cloud_fraction_modis_pct", "cloudiness_sunshine")
_UV_CANDIDATES = ("uv_index", "vitd_uv_clear", "uv_allsky", "vitd_uv_allsky")


def _nan(*values: Any) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def verdict_for_correlation(
    r: float,
    ci_low: float,
    ci_high: float,
    *,
    expected_sign: int = 1,
    tight: float = 0.1,
) -> str:
    """Verdict on a claimed correlation from r and its 95 % CI.

    Rule (with ``s`` = *expected_sign*, +1 for "more X, more MS"):

    1. ``supported`` — the CI excludes 0 and ``s * r > 0``;
    2. ``not supported`` — the CI excludes 0 and ``s * r < 0``, or the whole CI
       lies within ``[-tight, tight]`` (a precisely estimated null);
    3. ``inconclusive`` — otherwise (the CI includes 0 but is wide), or NaN input.

    Examples
    --------
    >>> verdict_for_correlation(0.4, 0.2, 0.6)
    'supported'
    >>> verdict_for_correlation(-0.4, -0.6, -0.2)
    'not supported'
    >>> verdict_for_correlation(0.01, -0.05, 0.07)
    'not supported'
    >>> verdict_for_correlation(0.1, -0.2, 0.4)
    'inconclusive'
    >>> verdict_for_correlation(-0.4, -0.6, -0.2, expected_sign=-1)
    'supported'
    """
    if _nan(r, ci_low, ci_high):
        return "inconclusive"
    lo, hi = min(ci_low, ci_high), max(ci_low, ci_high)
    excludes_zero = lo > 0 or hi < 0
    if excludes_zero:
        return "supported" if expected_sign * r > 0 else "not supported"
    if -tight <= lo and hi <= tight:
        return "not supported"
    return "inconclusive"


def verdict_for_adjusted(
    crude: tuple[float, float, float],
    adjusted: tuple[float, float, float],
    spatial: tuple[float, float, float] | None = None,
    *,
    expected_sign: int = 1,
) -> str:
    """Verdict on "the association holds once confounders are accounted for".

    Each argument is ``(estimate, ci_low, ci_high)`` of the exposure's coefficient:
    *crude* (``ols``), *adjusted* (``ols_adj_lat_gdp``) and *spatial* (the ML
    spatial error model; None when the residuals showed no autocorrelation).
    With ``s`` = *expected_sign*, "significant in the claimed direction" means
    ``s * ci`` lies entirely above 0. Rule, in order:

    1. ``supported`` — the adjusted coefficient is significant in the claimed
       direction and the spatial model (if any) is too;
    2. ``inconclusive`` — the adjusted coefficient is, but the spatial model is not;
    3. ``explained by confounding`` — the crude coefficient is significant in the
       claimed direction but the adjusted CI includes 0 or flips sign;
    4. ``not supported`` — the adjusted (or crude) coefficient is significant
       against the claimed direction;
    5. ``inconclusive`` — otherwise (no CI excludes 0), or NaN input.

    Examples
    --------
    >>> verdict_for_adjusted((0.02, 0.01, 0.03), (0.02, 0.01, 0.03))
    'supported'
    >>> verdict_for_adjusted((0.02, 0.01, 0.03), (0.02, 0.01, 0.03), (0.01, -0.01, 0.03))
    'inconclusive'
    >>> verdict_for_adjusted((0.02, 0.01, 0.03), (0.0, -0.01, 0.01))
    'explained by confounding'
    >>> verdict_for_adjusted((-0.02, -0.03, -0.01), (-0.02, -0.03, -0.01))
    'not supported'
    >>> verdict_for_adjusted((0.01, -0.01, 0.03), (0.0, -0.01, 0.01))
    'inconclusive'
    """
    s = 1 if expected_sign >= 0 else -1

    def pos(t: tuple[float, float, float] | None) -> bool:
        return t is not None and min(s * t[1], s * t[2]) > 0

    def neg(t: tuple[float, float, float] | None) -> bool:
        return t is not None and max(s * t[1], s * t[2]) < 0

    if _nan(*adjusted):
        return "inconclusive"
    if spatial is not None and _nan(*spatial):
        spatial = None
    crude_ok = not _nan(*crude)
    if pos(adjusted):
        return "supported" if spatial is None or pos(spatial) else "inconclusive"
    if crude_ok and pos(crude):
        return "explained by confounding"
    if neg(adjusted) or (crude_ok and neg(crude)):
        return "not supported"
    return "inconclusive"


def _pick(rows: pd.DataFrame, exposure: str | None, candidates: Sequence[str],
          prefixes: Sequence[str]) -> str | None:
    present = list(dict.fromkeys(rows["exposure"]))
    if exposure is not None:
        return exposure
    for c in candidates:
        if c in present:
            return c
    for c in present:
        if str(c).startswith(tuple(prefixes)):
            return str(c)
    return None


def _row(models: pd.DataFrame, model: str, exposure: str | None, subset: str,
         outcome: str) -> pd.Series | None:
    if exposure is None:
        return None
    hit = models[(models["model"] == model) & (models["exposure"] == exposure)
                 & (models["subset"] == subset) & (models["outcome"] == outcome)]
    return None if hit.empty else hit.iloc[0]


def _triple(row: pd.Series | None) -> tuple[float, float, float]:
    if row is None:
        return (math.nan, math.nan, math.nan)
    return (float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]))


def _fmt(t: tuple[float, float, float]) -> str:
    if _nan(*t):
        return "not available"
    return f"{t[0]:.3g} [{t[1]:.3g}, {t[2]:.3g}]"


def claims_table(
    models_df: pd.DataFrame,
    df: pd.DataFrame,
    *,
    cloud_exposure: str | None = None,
    uv_exposure: str | None = None,
    outcome: str = "log_prevalence",
    subset: str = "all",
    tight: float = 0.1,
) -> pd.DataFrame:
    """The claims of the article, each with its test, estimate and verdict.

    Parameters
    ----------
    models_df
        The tidy models table from ``fit_all``.
    df
        The analysis table (for the number of regions).
    cloud_exposure, uv_exposure
        Exposure columns to test (default: ``cloud_cover_pct`` / ``uv_index`` or
        the first cloud / UV column with estimates).
    outcome, subset
        Which rows of *models_df* to use.
    tight
        Half-width of the "precisely null" band of :func:`verdict_for_correlation`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CLAIM_COLUMNS`; one row per claim C1–C4.

    Examples
    --------
    >>> m = pd.DataFrame([
    ...     dict(model="pearson", subset="all", exposure="cloud_cover_pct",
    ...          outcome="log_prevalence", n=150, estimate=0.3, ci_low=0.15, ci_high=0.45)])
    >>> t = claims_table(m, pd.DataFrame({"region_id": range(160)}))
    >>> t[["claim_id", "verdict"]].values.tolist()
    [['C1', 'supported'], ['C2', 'inconclusive'], ['C3', 'inconclusive'], ['C4', 'inconclusive']]
    """
    total = len(df)
    cloud = _pick(models_df, cloud_exposure, _CLOUD_CANDIDATES, ("cloud",))
    uv = _pick(models_df, uv_exposure, _UV_CANDIDATES, ("uv", "vitd"))
    claims = []

    def coverage(n: Any) -> str:
        if n is None or (isinstance(n, float) and math.isnan(n)):
            return ECOLOGICAL_CAVEAT
        return f"{ECOLOGICAL_CAVEAT} Based on {int(n)} of {total} regions."

    corr_rule = (
        "Rule: {good} if the CI excludes 0 and r {sign} 0; not supported if the CI "
        f"excludes 0 with the other sign, or the CI lies within ±{tight:g}; otherwise "
        "inconclusive."
    )
    for cid, claim, exposure, sign, what in (
        ("C1", ('MS is more common in cloudier countries ("There is a higher rate of MS '
               'patients in countries where the climates are cloudier.")'), cloud, 1,
         "cloud cover"),
        ("C2", "Less sunshine / UV goes with more MS", uv, -1, "UV"),
    ):
        row = _row(models_df, "pearson", exposure, subset, outcome)
        est = _triple(row)
        verdict = verdict_for_correlation(*est, expected_sign=sign, tight=tight)
        test = (
            f"Pearson r of {outcome} with {exposure or what + ' (no column)'} ({subset} "
            "regions), 95% bootstrap CI. "
            + corr_rule.format(good="supported", sign=">" if sign > 0 else "<")
        )
        if row is None:
            test += " No estimate was available."
        n = None if row is None else int(row["n"])
        caveat = coverage(n)
        adj = _row(models_df, "ols_adj_lat_gdp", exposure, subset, outcome)
        if adj is not None:
            caveat += (f" Adjusted for |latitude| and log GDP per capita, the {what} "
                       f"coefficient is {_fmt(_triple(adj))} (HC3 95% CI): a crude "
                       "correlation alone cannot separate it from latitude.")
        claims.append({"claim_id": cid, "claim": claim, "test": test, "estimate": est[0],
                           "ci_low": est[1], "ci_high": est[2], "n": n, "verdict": verdict,
                           "caveat": caveat})

    crude_row = _row(models_df, "ols", cloud, subset, outcome)
    adj_name = "ols_adj_lat_gdp"
    adj_row = _row(models_df, adj_name, cloud, subset, outcome)
    if adj_row is None:
        adj_name = "ols_adj_lat"
        adj_row = _row(models_df, adj_name, cloud, subset, outcome)
    sp_row = _row(models_df, "spatial_error", cloud, subset, outcome)
    crude, adj, sp = _triple(crude_row), _triple(adj_row), _triple(sp_row)
    verdict = verdict_for_adjusted(crude, adj, None if sp_row is None else sp)
    moran_row = _row(models_df, "moran_resid", cloud, subset, outcome)
    if sp_row is not None:
        sp_txt = f"spatial error model coefficient {_fmt(sp)}"
    elif moran_row is not None:
        sp_txt = (f"no spatial model needed (residual Moran's I={moran_row['estimate']:.3f}, "
                  f"p={moran_row['p_value']:.3g})")
    else:
        sp_txt = "spatial model not run"
    test = (
        f"OLS coefficient of {cloud or 'cloud cover (no column)'} in {adj_name} (HC3 95% CI) "
        f"= {_fmt(adj)}; crude {_fmt(crude)}; {sp_txt}. Rule: supported if the adjusted CI "
        "excludes 0 with a positive coefficient and the spatial model (when fitted) agrees; "
        "inconclusive if only the spatial model disagrees; explained by confounding if the "
        "crude coefficient is positive with CI excluding 0 but the adjusted CI includes 0 "
        "or flips; not supported if a CI excludes 0 with a negative coefficient; otherwise "
        "inconclusive."
    )
    n = None if adj_row is None else int(adj_row["n"])
    claims.append({
        "claim_id": "C3",
        "claim": "The cloud association holds once latitude and wealth are accounted for",
        "test": test, "estimate": adj[0], "ci_low": adj[1], "ci_high": adj[2], "n": n,
        "verdict": verdict,
        "caveat": coverage(n) + " Latitude and GDP are the only confounders adjusted for.",
    })
    claims.append({
        "claim_id": "C4",
        "claim": 'Vitamin D dosing: "14,000 IU or higher ... as high as 40,000 IU" a day',
        "test": "Not testable: the data are regional prevalences, not individual doses or "
             "outcomes. Verdict fixed to inconclusive.",
        "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": None,
        "verdict": "inconclusive", "caveat": DOSING_CAVEAT,
    })
    out = pd.DataFrame(claims, columns=list(CLAIM_COLUMNS))
    out["n"] = out["n"].astype("Int64")
    return out
