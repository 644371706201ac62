"""Verdict rules: the directional rule against δ and the confounding rule."""

from __future__ import annotations

import math

import pytest

from geo_ms.models.verdicts import (
    NOT_TESTABLE,
    VERDICTS,
    confounding_verdict,
    directional_verdict,
    pct_per10,
)


@pytest.mark.parametrize(("est", "lo", "hi", "sign", "delta", "want"), [
    # the C1: upper bound +0.008 < 0.1 rules out a small positive r
    (-0.13, -0.27, 0.008, 1, 0.1, "not supported"),
    (-0.13, -0.27, 0.12, 1, 0.1, "inconclusive"),  # CI reaches delta, includes 0
    (0.44, 0.2, 0.65, 1, 0.1, "supported"),
    (0.05, 0.01, 0.099, 1, 0.1, "not supported"),  # significant but every value < delta
    (0.05, 0.01, 0.1, 1, 0.1, "supported"),  # bound exactly delta is not below it
    (-0.88, -0.91, -0.85, -1, 0.1, "supported"),  # UV: claimed negative
    (0.3, 0.1, 0.5, -1, 0.1, "not supported"),
    (-0.05, -0.2, 0.05, -1, 0.1, "inconclusive"),
    (-13.9, -18.2, -9.8, 1, 5.0, "not supported"),  # % per 10 points, delta 5 %
    (math.nan, -0.1, 0.1, 1, 0.1, "inconclusive"),
])
def test_directional_rule(est, lo, hi, sign, delta, want):
    assert directional_verdict(est, lo, hi, expected_sign=sign, delta=delta) == want


def test_directional_rule_ignores_bound_order():
    assert directional_verdict(0.4, 0.6, 0.2) == "supported"


@pytest.mark.parametrize(("crude", "adj", "sign", "want"), [
    # crude significant, adjusted attenuated to 40 % with CI including 0
    ((0.03, 0.012, 0.048), (0.012, -0.01, 0.034), 1, "explained by confounding"),
    # attenuated to exactly one half: still counts as attenuated
    ((0.02, 0.01, 0.03), (0.01, -0.01, 0.03), 1, "explained by confounding"),
    # sign flipped, not significant
    ((0.03, 0.012, 0.048), (-0.0003, -0.018, 0.018), 1, "explained by confounding"),
    # wider CI without attenuation (0.9 of crude): inconclusive
    ((0.02, 0.01, 0.03), (0.018, -0.01, 0.046), 1, "inconclusive"),
    # significant reversal is not confounding
    ((0.02, 0.01, 0.03), (-0.02, -0.03, -0.01), 1, "not supported"),
    # crude not significant: no confounding verdict, adjusted CI includes 0
    ((0.01, -0.01, 0.03), (0.001, -0.01, 0.012), 1, "inconclusive"),
    # adjusted significant in the claimed direction
    ((0.02, 0.01, 0.03), (0.025, 0.01, 0.04), 1, "supported"),
    # the C2: crude r -0.88 significant, adjusted -0.06 [-0.15, 0.03]
    ((-0.88, -0.91, -0.85), (-0.06, -0.15, 0.03), -1, "explained by confounding"),
    ((0.02, 0.01, 0.03), (math.nan, 0.0, 0.1), 1, "inconclusive"),
])
def test_confounding_rule(crude, adj, sign, want):
    assert confounding_verdict(crude, adj, expected_sign=sign) == want


def test_confounding_rule_falls_back_to_directional_with_delta():
    # crude not significant; adjusted CI within ±delta -> not supported, not inconclusive
    assert confounding_verdict((1.0, -2.0, 4.0), (-1.0, -4.0, 2.0), delta=5.0) == "not supported"
    assert confounding_verdict((1.0, -2.0, 4.0), (-1.0, -4.0, 6.0), delta=5.0) == "inconclusive"


def test_verdicts_include_not_testable():
    assert NOT_TESTABLE == "not testable with regional data"
    assert NOT_TESTABLE in VERDICTS and len(VERDICTS) == 5


def test_pct_per10_by_hand():
    # b = log(1.1)/10 per point is exactly +10 % per 10 points
    assert pct_per10(math.log(1.1) / 10) == pytest.approx(10.0, abs=1e-12)
    assert pct_per10(0.0) == 0.0
