"""Verdict rules of the claims table: small, pre-specified, stated in words.

Every verdict is one of :data:`VERDICTS`. Two rules judge the claims:

- :func:`directional_verdict` — a directional claim ("more cloud, more MS") judged
  on an estimate and its 95 % CI against a smallest effect size of interest δ
  (equivalence-style: the CI must reach δ for the claim to stay alive);
- :func:`confounding_verdict` — "the association survives adjustment", judged on
  the crude and the adjusted estimate.

The smallest effects of interest (:data:`SESOI_R`, :data:`SESOI_PCT_PER10`) are
configuration keys (``models.sesoi_r``, ``models.sesoi_pct_per10``).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "NOT_TESTABLE",
    "SESOI_PCT_PER10",
    "SESOI_R",
    "VERDICTS",
    "coef_per_point",
    "confounding_rule_text",
    "confounding_verdict",
    "directional_rule_text",
    "directional_verdict",
    "pct_per10",
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
