"""Verdict rules of the claims table: small, pre-specified, stated in words.

Every verdict is one of :data:`VERDICTS`. Two rules judge the claims:

- :func:`directional_verdict` — a directional claim ("more cloud, more MS") judged
  on an estimate and its 95 % CI against a smallest effect size of interest δ
  (equivalence-style: the CI must reach δ for the claim to stay alive);
- :func:`confounding_verdict` — "the association survives adjustment", judged on
  the crude and the adjusted estimate.

The smallest effects of interest (:data:`SESOI_R`, :data:`SESOI_PCT_PER10`) are
configuration keys (``models.sesoi_r``, ``models.sesoi_pct_per10``).

The analysis plan's vocabulary (:data:`VOCABULARY`, issue 17) says what the data say:
:func:`vocabulary_verdict` (supported / contradicted / not supported / inconclusive),
:func:`identifiable` with :func:`vif` (not identifiable between regions, above
``models.max_vif``), :func:`explained_by_confounding` (coefficient scale), combined by
:func:`plan_verdict`; :func:`robustness_label` says whether a verdict is robust or
fragile over the plan's robustness members.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CONTRADICTED",
    "EXPLAINED",
    "FRAGILE",
    "MAX_VIF",
    "NOT_ASSESSED",
    "NOT_IDENTIFIABLE",
    "NOT_TESTABLE",
    "ROBUST",
    "SESOI_PCT_PER10",
    "SESOI_R",
    "VERDICTS",
    "VOCABULARY",
    "coef_per_point",
    "confounding_rule_text",
    "confounding_verdict",
    "directional_rule_text",
    "directional_verdict",
    "explained_by_confounding",
    "identifiable",
    "pct_per10",
    "plan_rule_text",
    "plan_verdict",
    "robustness_label",
    "vif",
    "vocabulary_verdict",
]

#: Verdict of a claim regional data cannot test (individual dosing).
NOT_TESTABLE = "not testable with regional data"

#: Allowed verdicts.
VERDICTS: tuple[str, ...] = (
    "supported",
    "not supported",
    "explained by confounding",
    "inconclusive",
    NOT_TESTABLE,
)

#: Default smallest correlation of interest: Cohen's (1988) "small" effect, r = 0.1
#: (1 % of the variance of log prevalence). A between-country correlation weaker than
#: this could not carry the article's claim that cloudier countries have *more* MS.
SESOI_R: float = 0.1

#: Default smallest effect of interest for cloud cover, in % change of prevalence per
#: 10 percentage points of cloud cover. 10 points is roughly the difference between
#: Spain and France in CRU cloud cover; the between-country spread of MS prevalence is
#: about 100-fold, so a change below 5 % per 10 points would explain a negligible part
#: of it (over the whole 0-100 % cloud range less than a 1.6-fold change).
SESOI_PCT_PER10: float = 5.0


def _nan(*values: Any) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def pct_per10(coef_log_per_point: float) -> float:
    """% change in prevalence per 10 points of cloud cover from a log-scale coefficient.

    ``100 * (exp(10 * b) - 1)`` for *b* = change of log prevalence per percentage
    point of cloud cover.

    >>> round(pct_per10(0.01), 3)
    10.517
    >>> round(pct_per10(-0.015), 2)
    -13.93
    """
    return 100.0 * math.expm1(10.0 * coef_log_per_point)


def coef_per_point(pct_per_10_points: float) -> float:
    """Log-scale coefficient per point of cloud cover from a % change per 10 points.

    The inverse of :func:`pct_per10`: ``log(1 + pct / 100) / 10``.

    >>> round(coef_per_point(5.0), 6)
    0.004879
    >>> round(pct_per10(coef_per_point(-13.93)), 10)
    -13.93
    """
    return math.log1p(pct_per_10_points / 100.0) / 10.0


def directional_verdict(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    expected_sign: int = 1,
    delta: float = SESOI_R,
) -> str:
    """Verdict on a directional claim from an estimate, its 95 % CI and δ.

    With ``s`` = *expected_sign* (+1: "more X, more MS"; -1: "more X, less MS"),
    the bound in the claimed direction is ``max(s * ci_low, s * ci_high)``.
    Evaluated in this order:

    1. ``not supported`` — that bound lies below δ: the CI excludes every effect
       of at least δ in the claimed direction;
    2. ``supported`` — the CI excludes 0 in the claimed direction
       (``min(s * ci) > 0``);
    3. ``inconclusive`` — otherwise, or any input NaN.

    Parameters
    ----------
    estimate, ci_low, ci_high
        Estimate and 95 % CI (a correlation, or % change per 10 points).
    expected_sign
        Sign the claim predicts.
    delta
        Smallest effect of interest (> 0, in the estimate's units).

    Examples
    --------
    >>> directional_verdict(0.4, 0.2, 0.6)
    'supported'
    >>> directional_verdict(-0.13, -0.27, 0.008)  # CI rules out r >= 0.1
    'not supported'
    >>> directional_verdict(0.05, -0.05, 0.15)
    'inconclusive'
    >>> directional_verdict(0.06, 0.02, 0.09)  # significant but below delta
    'not supported'
    >>> directional_verdict(-0.88, -0.91, -0.85, expected_sign=-1)
    'supported'
    """
    if _nan(estimate, ci_low, ci_high):
        return "inconclusive"
    s = 1 if expected_sign >= 0 else -1
    toward = max(s * ci_low, s * ci_high)
    away = min(s * ci_low, s * ci_high)
    if toward < delta:
        return "not supported"
    if away > 0:
        return "supported"
    return "inconclusive"


def directional_rule_text(delta: float, units: str, expected_sign: int = 1) -> str:
    """The directional rule in words, for the claims table's ``rule`` column.

    >>> directional_rule_text(0.1, "r")[:40]
    'not supported if the CI upper bound is b'
    """
    bound, word = ("upper", "positive") if expected_sign >= 0 else ("lower", "negative")
    cmp = f"below {delta:g}" if expected_sign >= 0 else f"above {-delta:g}"
    return (f"not supported if the CI {bound} bound is {cmp} ({units}; smallest effect of "
            f"interest {delta:g}); else supported if the CI excludes 0 and is {word}; "
            "else inconclusive")


def confounding_verdict(
    crude: tuple[float, float, float],
    adjusted: tuple[float, float, float],
    *,
    expected_sign: int = 1,
    delta: float | None = None,
    attenuation: float = 0.5,
) -> str:
    """Verdict on "the association holds once confounders are accounted for".

    Each argument is ``(estimate, ci_low, ci_high)`` of the exposure's coefficient,
    crude and adjusted, on a scale where effects are proportional — the regression
    coefficient of log prevalence or the correlation, not the % change of
    :func:`pct_per10`: a crude slope of 0.15 log units per point is +348 % per 10
    points and an adjusted slope of 0.087 is +139 %, so the adjusted coefficient keeps
    58 % of the crude one (not attenuated by half) while its % change keeps only 40 %.
    *delta* is on the same scale (:func:`coef_per_point` converts a % change).


    With ``s`` = *expected_sign*, "significant in the claimed
    direction" means ``s * CI`` lies entirely above 0, "against" entirely below 0.
    Evaluated in this order:

    1. ``not supported`` — the adjusted estimate is significant against the claimed
       direction (a significant reversal is not confounding);
    2. ``explained by confounding`` — the crude estimate is significant in the
       claimed direction, the adjusted CI includes 0 and the adjusted estimate is
       attenuated: same sign and ``|adj| <= attenuation * |crude|``, or sign flipped;
    3. otherwise the adjusted estimate is judged by :func:`directional_verdict`
       when *delta* is given (so a wide CI without attenuation stays
       ``inconclusive``; an adjusted CI inside ±δ reads ``not supported``);
       without *delta*: ``supported`` when the adjusted CI excludes 0 in the claimed
       direction, else ``inconclusive``.

    Any NaN in *adjusted* gives ``inconclusive``.

    Examples
    --------
    >>> confounding_verdict((0.02, 0.01, 0.03), (0.02, 0.01, 0.03))
    'supported'
    >>> confounding_verdict((0.02, 0.01, 0.03), (0.005, -0.01, 0.02))
    'explained by confounding'
    >>> confounding_verdict((0.02, 0.01, 0.03), (0.018, -0.01, 0.05))  # no attenuation
    'inconclusive'
    >>> confounding_verdict((0.02, 0.01, 0.03), (-0.02, -0.03, -0.01))  # reversal
    'not supported'
    >>> confounding_verdict((-0.4, -0.5, -0.3), (-0.06, -0.15, 0.03), expected_sign=-1)
    'explained by confounding'

    Attenuation on the coefficient, not on the % change (the example above):

    >>> confounding_verdict((0.15, 0.1, 0.2), (0.087, -0.01, 0.18))
    'inconclusive'
    >>> confounding_verdict(tuple(pct_per10(v) for v in (0.15, 0.1, 0.2)),
    ...                     tuple(pct_per10(v) for v in (0.087, -0.01, 0.18)))
    'explained by confounding'
    """
    if _nan(*adjusted):
        return "inconclusive"
    s = 1 if expected_sign >= 0 else -1
    a_est, a_lo, a_hi = (s * v for v in adjusted)
    a_lo, a_hi = min(a_lo, a_hi), max(a_lo, a_hi)
    if a_hi < 0:
        return "not supported"
    if not _nan(*crude):
        c_est, c_lo, c_hi = (s * v for v in crude)
        crude_sig = min(c_lo, c_hi) > 0
        adj_includes_0 = a_lo <= 0 <= a_hi
        attenuated = (a_est > 0 and abs(a_est) <= attenuation * abs(c_est)) or a_est <= 0
        if crude_sig and adj_includes_0 and attenuated:
            return "explained by confounding"
    if delta is not None:
        return directional_verdict(*adjusted, expected_sign=s, delta=delta)
    return "supported" if a_lo > 0 else "inconclusive"


def confounding_rule_text(delta: float | None, units: str, expected_sign: int = 1) -> str:
    """The confounding rule in words, for the claims table's ``rule`` column.

    >>> confounding_rule_text(5.0, "% per 10 points").startswith("not supported if the adjusted")
    True
    """
    direction = "positive" if expected_sign >= 0 else "negative"
    text = (f"not supported if the adjusted CI excludes 0 against the claim; explained by "
            f"confounding if the crude estimate is significant and {direction} while the "
            "adjusted CI includes 0 and the adjusted estimate shrank to at most half of the "
            "crude one (or changed sign)")
    if delta is None:
        return text + "; else supported if the adjusted CI excludes 0, else inconclusive"
    return text + "; else the adjusted estimate by the directional rule: " + \
        directional_rule_text(delta, units, expected_sign)


# ---------------------------------------------------------------------------------------
# The verdict vocabulary of the analysis plan (issue 17): what the data say, in words.
# ---------------------------------------------------------------------------------------

#: The CI excludes 0 in the direction opposite to the claim.
CONTRADICTED = "contradicted"

#: The exposure is (nearly) a linear function of the adjustment set between regions.
NOT_IDENTIFIABLE = "not identifiable between regions"

#: Confounding verdict word (:func:`confounding_verdict`, :func:`plan_verdict`).
EXPLAINED = "explained by confounding"

#: Every verdict of the plan's vocabulary, in the order the report explains them.
VOCABULARY: tuple[str, ...] = (
    "supported",
    CONTRADICTED,
    "not supported",
    "inconclusive",
    NOT_IDENTIFIABLE,
    EXPLAINED,
    NOT_TESTABLE,
)

#: Default largest variance inflation factor of the exposure given its adjustment set
#: (``models.max_vif``): above it, 1 - 1/10 = 90 % of the exposure's between-region
#: variance is carried by the adjustment set, and its own coefficient cannot be told
#: apart from theirs.
MAX_VIF: float = 10.0

#: Robustness labels (:func:`robustness_label`).
ROBUST, FRAGILE, NOT_ASSESSED = "robust", "fragile", "not assessed"


def vocabulary_verdict(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    expected_sign: int = 1,
    delta: float | None = None,
) -> str:
    """The plan's directional verdict from an estimate, its 95 % CI and δ.

    With ``s`` = *expected_sign*, ``toward = max(s * CI)`` (the CI's bound in the
    claimed direction) and ``away = min(s * CI)``. Evaluated in this order:

    1. ``inconclusive`` — any input NaN;
    2. ``contradicted`` — ``toward < 0``: the CI excludes 0 in the opposite direction;
    3. ``not supported`` — *delta* given and ``toward < delta``: the CI excludes every
       effect of δ or more in the claimed direction, without establishing the opposite;
    4. ``supported`` — ``away > 0``: the CI excludes 0 in the claimed direction (and,
       by step 3, reaches δ);
    5. ``inconclusive`` — otherwise.

    Without *delta* there is no ``not supported`` (nothing says which effects are too
    small to matter).

    Examples
    --------
    >>> vocabulary_verdict(0.4, 0.2, 0.6, delta=0.1)
    'supported'
    >>> vocabulary_verdict(-14.0, -22.0, -5.0, delta=5.0)  # significantly the other way
    'contradicted'
    >>> vocabulary_verdict(0.02, -0.05, 0.08, delta=0.1)  # rules out r >= 0.1
    'not supported'
    >>> vocabulary_verdict(0.06, 0.02, 0.09, delta=0.1)  # significant but below delta
    'not supported'
    >>> vocabulary_verdict(0.05, -0.05, 0.25, delta=0.1)
    'inconclusive'
    >>> vocabulary_verdict(-0.5, -0.7, -0.3, expected_sign=-1, delta=0.1)
    'supported'
    >>> vocabulary_verdict(0.3, 0.1, 0.5, expected_sign=-1)
    'contradicted'
    """
    if _nan(estimate, ci_low, ci_high):
        return "inconclusive"
    s = 1 if expected_sign >= 0 else -1
    toward = max(s * ci_low, s * ci_high)
    away = min(s * ci_low, s * ci_high)
    if toward < 0:
        return CONTRADICTED
    if delta is not None and toward < delta:
        return "not supported"
    if away > 0:
        return "supported"
    return "inconclusive"


def identifiable(vif_value: float, max_vif: float = MAX_VIF) -> bool:
    """Whether the exposure's coefficient can be separated from its adjustment set.

    False when the exposure's variance inflation factor given the adjustment set
    (:func:`vif`) exceeds *max_vif*; a NaN VIF (not computed) counts as identifiable.

    >>> identifiable(22.0), identifiable(3.1), identifiable(10.0), identifiable(float("nan"))
    (False, True, True, True)
    """
    return _nan(vif_value) or not vif_value > max_vif


def explained_by_confounding(
    crude: tuple[float, float, float],
    adjusted: tuple[float, float, float],
    *,
    expected_sign: int = 1,
    attenuation: float = 0.5,
) -> bool:
    """Today's attenuation rule on the coefficient scale, as a predicate.

    Both triples are ``(estimate, ci_low, ci_high)`` of the *same* coefficient
    (the exposure's, in the same units), crude and adjusted. True when the crude
    estimate is significant in the claimed direction, the adjusted CI includes 0 and
    the adjusted estimate shrank to at most *attenuation* × the crude one (or changed
    sign).

    >>> explained_by_confounding((0.02, 0.01, 0.03), (0.005, -0.01, 0.02))
    True
    >>> explained_by_confounding((0.02, 0.01, 0.03), (0.018, -0.01, 0.05))  # no attenuation
    False
    >>> explained_by_confounding((0.02, -0.01, 0.05), (0.0, -0.01, 0.01))  # crude not significant
    False
    """
    if _nan(*crude, *adjusted):
        return False
    s = 1 if expected_sign >= 0 else -1
    c_est, c_lo, c_hi = (s * v for v in crude)
    a_est, a_lo, a_hi = (s * v for v in adjusted)
    crude_sig = min(c_lo, c_hi) > 0
    adj_includes_0 = min(a_lo, a_hi) <= 0 <= max(a_lo, a_hi)
    attenuated = a_est <= 0 or abs(a_est) <= attenuation * abs(c_est)
    return crude_sig and adj_includes_0 and attenuated


def plan_verdict(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    expected_sign: int = 1,
    delta: float | None = None,
    vif_value: float = math.nan,
    max_vif: float = MAX_VIF,
    crude: tuple[float, float, float] | None = None,
    attenuation: float = 0.5,
) -> str:
    """A claim's verdict in the plan's vocabulary (:data:`VOCABULARY`).

    Evaluated in this order:

    1. ``not identifiable between regions`` — ``vif_value > max_vif``
       (:func:`identifiable`); the estimate is still reported;
    2. ``contradicted`` — the CI excludes 0 against the claim (even when adjusted:
       a significant reversal is not confounding);
    3. ``explained by confounding`` — *crude* given and
       :func:`explained_by_confounding` (coefficient scale);
    4. otherwise :func:`vocabulary_verdict` with *delta*.

    Examples
    --------
    >>> plan_verdict(-0.3, -0.5, -0.1, expected_sign=-1, delta=0.1, vif_value=22.0)
    'not identifiable between regions'
    >>> plan_verdict(0.001, -0.004, 0.006, crude=(0.01, 0.005, 0.015), delta=0.1)
    'explained by confounding'
    >>> plan_verdict(-0.015, -0.025, -0.005, crude=(0.01, 0.005, 0.015))
    'contradicted'
    >>> plan_verdict(0.4, 0.2, 0.6, delta=0.1, vif_value=2.0)
    'supported'
    """
    if not identifiable(vif_value, max_vif):
        return NOT_IDENTIFIABLE
    verdict = vocabulary_verdict(estimate, ci_low, ci_high, expected_sign=expected_sign,
                                 delta=delta)
    if verdict == CONTRADICTED:
        return verdict
    if crude is not None and explained_by_confounding(
            crude, (estimate, ci_low, ci_high), expected_sign=expected_sign,
            attenuation=attenuation):
        return EXPLAINED
    return verdict


def plan_rule_text(delta: float | None, units: str, expected_sign: int = 1, *,
                   max_vif: float = MAX_VIF, adjusted: bool = False) -> str:
    """:func:`plan_verdict`'s rule in words, for the claims table's ``rule`` column.

    >>> plan_rule_text(0.1, "Pearson r")[:52]
    'supported if the 95% CI excludes 0 and is positive a'
    """
    word, other = ("positive", "negative") if expected_sign >= 0 else ("negative", "positive")
    parts = []
    if adjusted:
        parts.append(f"not identifiable between regions if the exposure's VIF given the "
                     f"adjustment set exceeds {max_vif:g}")
    parts.append(f"supported if the 95% CI excludes 0 and is {word}"
                 + (f" and reaches {delta:g} ({units})" if delta is not None else f" ({units})"))
    parts.append(f"contradicted if it excludes 0 and is {other}")
    if adjusted:
        parts.append("explained by confounding if the crude coefficient is significant and "
                     f"{word} while the adjusted CI includes 0 and the adjusted coefficient "
                     "shrank to at most half of the crude one (or changed sign)")
    if delta is not None:
        parts.append(f"not supported if it excludes every effect of {delta:g} or more in the "
                     "claimed direction")
    parts.append("else inconclusive")
    return "; ".join(parts)


def robustness_label(verdict: str, members: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """``robust`` when every robustness member gives *verdict*, else ``fragile``.

    *members* maps each member (``geo_ms.models.plan.MEMBERS``) to the verdict it
    gave, or None / ``""`` when it could not be run (its data are missing); those
    are left out of the judgement (the caller lists them). With no member run, the
    label is ``not assessed``.

    Returns
    -------
    label, differing
        The label and the members whose verdict differs, in the given order.

    Examples
    --------
    >>> robustness_label("contradicted", {"common_sample": "contradicted",
    ...                                   "subregion_fe": "inconclusive",
    ...                                   "ancestry": None})
    ('fragile', ['subregion_fe'])
    >>> robustness_label("inconclusive", {"popw": "inconclusive"})
    ('robust', [])
    >>> robustness_label("supported", {"ancestry": None})
    ('not assessed', [])
    """
    run = {m: v for m, v in members.items() if v}
    if not run:
        return NOT_ASSESSED, []
    differing = [m for m, v in run.items() if v != verdict]
    return (FRAGILE if differing else ROBUST), differing


def vif(table: Any, exposure: str, adjust: Sequence[str]) -> float:
    """Variance inflation factor of *exposure* given the adjustment set *adjust*.

    ``1 / (1 - R²)`` with R² of the least-squares regression of the exposure on a
    constant and the *adjust* columns, on the rows complete in all of them
    (``log_gdp_per_capita`` is derived from ``gdp_per_capita`` when absent, values
    <= 0 missing). 1.0 for an empty *adjust*; ``inf`` when the exposure is an exact
    linear function of the set; NaN with fewer complete rows than columns + 2.

    Parameters
    ----------
    table
        A pandas DataFrame with the columns.
    exposure
        The exposure column.
    adjust
        The adjustment set's columns.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"x": [1.0, 2, 3, 4, 5], "z": [2.0, 1, 4, 3, 6]})
    >>> round(vif(t, "x", ["z"]), 3)
    3.083
    >>> vif(t, "x", [])
    1.0
    """
    import numpy as np
    import pandas as pd

    if not adjust:
        return 1.0
    cols: dict[str, np.ndarray] = {}
    for c in (exposure, *adjust):
        if c not in table.columns and c == "log_gdp_per_capita" and "gdp_per_capita" in table:
            g = pd.to_numeric(table["gdp_per_capita"], errors="coerce").astype(float).to_numpy()
            with np.errstate(invalid="ignore"):
                cols[c] = np.log(np.where(g > 0, g, np.nan))
        else:
            cols[c] = pd.to_numeric(table[c], errors="coerce").astype(float).to_numpy()
    complete = ~np.isnan(np.column_stack(list(cols.values()))).any(axis=1)
    if complete.sum() < len(adjust) + 3:
        return math.nan
    x = cols[exposure][complete]
    Z = np.column_stack([np.ones(int(complete.sum())), *(cols[c][complete] for c in adjust)])
    resid = x - Z @ np.linalg.lstsq(Z, x, rcond=None)[0]
    ss_tot = float(((x - x.mean()) ** 2).sum())
    ss_res = float(resid @ resid)
    if ss_tot == 0.0:
        return math.nan
    if ss_res <= 1e-12 * ss_tot:
        return math.inf
    return ss_tot / ss_res
