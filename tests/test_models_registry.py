"""The registry of the plan's tests, against independent scipy / statsmodels computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from reference_dutilleul import ref_n_eff
from scipy import stats

from geo_ms.models.plan import Claim
from geo_ms.models.registry import REGISTRY, Estimate, run_test, verdict

Z975 = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(17)
    n = 70
    lat = rng.uniform(-55, 65, n)
    d = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "lat": lat,
                      "lon": rng.uniform(-170, 170, n), "abs_latitude": np.abs(lat),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "cloud": rng.uniform(20, 80, n)})
    d["uv"] = 12 - 0.15 * d["abs_latitude"] + rng.normal(0, 0.3, n)
    d["ms"] = np.exp(0.04 * d["abs_latitude"] + 0.2 * np.log(d["gdp_per_capita"])
                     - 0.015 * d["cloud"] + rng.normal(0, 0.4, n))
    return d


ADJ = ("abs_latitude", "log_gdp_per_capita")


def _design(t):
    y = np.log(t["ms"].to_numpy())
    Z = np.column_stack([t["abs_latitude"], np.log(t["gdp_per_capita"])])
    return y, Z


def test_pearson_against_scipy(table):
    c = Claim("C1", "t", "cloud", "positive", "pearson", sesoi=0.1)
    e = run_test(table, c, "ms", n_boot=0)
    x, y = table["cloud"].to_numpy(), np.log(table["ms"].to_numpy())
    r = stats.pearsonr(x, y).statistic
    assert e.estimate == pytest.approx(r, abs=1e-12)
    half = Z975 / math.sqrt(len(x) - 3)
    assert (e.ci_low, e.ci_high) == pytest.approx(
        (math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)), abs=1e-12)
    n_eff = ref_n_eff(x, y, table["lon"].to_numpy(), table["lat"].to_numpy())
    assert e.n_eff == pytest.approx(n_eff, rel=1e-8)
    half = Z975 / math.sqrt(n_eff - 3)
    assert (e.ci_low_spatial, e.ci_high_spatial) == pytest.approx(
        (math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)), abs=1e-8)
    assert e.n == 70 and math.isnan(e.vif)


def test_pearson_bootstrap_ci_within_monte_carlo_error(table):
    c = Claim("C1", "t", "cloud", "positive", "pearson", sesoi=0.1)
    e = run_test(table, c, "ms", n_boot=2000, seed=3)
    x, y = table["cloud"].to_numpy(), np.log(table["ms"].to_numpy())
    boot = stats.bootstrap((x, y), lambda a, b: stats.pearsonr(a, b).statistic, paired=True,
                           vectorized=False, n_resamples=2000, method="percentile",
                           random_state=1).confidence_interval
    assert (e.ci_low, e.ci_high) == pytest.approx((boot.low, boot.high), abs=0.05)


def test_partial_against_statsmodels_residuals(table):
    c = Claim("C2-adj", "t", "uv", "negative", "partial", ADJ, 0.1)
    e = run_test(table, c, "ms")
    y, Z = _design(table)
    Zc = sm.add_constant(Z)
    x = table["uv"].to_numpy()
    rx, ry = sm.OLS(x, Zc).fit().resid, sm.OLS(y, Zc).fit().resid
    r = stats.pearsonr(rx, ry).statistic
    assert e.estimate == pytest.approx(r, abs=1e-12)
    half = Z975 / math.sqrt(len(x) - 2 - 3)
    assert (e.ci_low, e.ci_high) == pytest.approx(
        (math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)), abs=1e-12)
    n_eff = ref_n_eff(rx, ry, table["lon"].to_numpy(), table["lat"].to_numpy())
    assert e.n_eff == pytest.approx(n_eff, rel=1e-8)
    # VIF of uv given |latitude| and log GDP: 1 / (1 - R²)
    r2 = sm.OLS(x, Zc).fit().rsquared
    assert e.vif == pytest.approx(1 / (1 - r2), rel=1e-9)
    assert e.vif > 10  # uv is nearly a linear function of |latitude| here
    assert verdict(e, c) == "not identifiable between regions"


def test_ols_adjusted_against_statsmodels(table):
    c = Claim("C3", "t", "cloud", "positive", "ols_adjusted", ADJ, 5.0)
    e = run_test(table, c, "ms")
    y, Z = _design(table)
    x = table["cloud"].to_numpy()
    res = sm.OLS(y, sm.add_constant(np.column_stack([x, Z]))).fit(cov_type="HC3", use_t=True)
    b, se = res.params[1], res.bse[1]
    lo, hi = res.conf_int()[1]
    assert e.estimate == pytest.approx(100 * math.expm1(10 * b), abs=1e-9)
    assert (e.ci_low, e.ci_high) == pytest.approx(
        (100 * math.expm1(10 * lo), 100 * math.expm1(10 * hi)), abs=1e-9)
    Zc = sm.add_constant(Z)
    rx, ry = sm.OLS(x, Zc).fit().resid, sm.OLS(y, Zc).fit().resid
    n_eff = ref_n_eff(rx, ry, table["lon"].to_numpy(), table["lat"].to_numpy())
    dof = n_eff - 3 - 1
    half = stats.t.ppf(0.975, dof) * se * math.sqrt((len(x) - 4) / dof)
    assert (e.ci_low_spatial, e.ci_high_spatial) == pytest.approx(
        (100 * math.expm1(10 * (b - half)), 100 * math.expm1(10 * (b + half))), abs=1e-6)
    # the true effect is -0.015 per point, about -14 % per 10 points: against the claim
    assert verdict(e, c) == "contradicted"


def test_nested_dose_against_statsmodels():
    rng = np.random.default_rng(8)
    n = 90
    clear, f = rng.uniform(2000, 9000, n), rng.uniform(0.4, 0.95, n)
    d = pd.DataFrame({"clear": clear, "allsky": clear * f,
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n))})
    d["ms"] = np.exp(6 - 0.4 * np.log(clear) + 0.8 * np.log(f) + rng.normal(0, 0.2, n))
    c = Claim("C5", "t", "allsky", "negative", "nested_dose", ("log_gdp_per_capita",),
              clear_sky="clear")
    e = run_test(d, c, "ms")
    X = sm.add_constant(np.column_stack([np.log(clear), np.log(f), np.log(d["gdp_per_capita"])]))
    res = sm.OLS(np.log(d["ms"]), X).fit(cov_type="HC3", use_t=True)
    assert e.estimate == pytest.approx(res.params.iloc[2], rel=1e-10)
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(np.asarray(res.conf_int())[2]),
                                                  rel=1e-10)
    assert math.isnan(e.ci_low_spatial) and e.n == n
    # a positive cloud-factor coefficient is the reverse of the mechanism
    assert verdict(e, c) == "contradicted"


def test_missing_column_and_too_few_regions(table):
    c = Claim("C9", "t", "nope", "positive", "pearson")
    e = run_test(table, c, "ms")
    assert math.isnan(e.estimate) and e.detail == "no column nope in the analysis table"
    c = Claim("C9", "t", "cloud", "positive", "pearson")
    e = run_test(table.head(6), c, "ms", min_regions=10)
    assert math.isnan(e.estimate) and e.detail == "6 complete region(s) < 10"


def test_verdict_attenuation_on_the_coefficients():
    c = Claim("C3", "t", "x", "positive", "ols_adjusted", ADJ, 5.0)
    # crude significant and positive, adjusted CI includes 0 and shrank to a tenth
    e = Estimate(0.2, -3.0, 3.5, -4.0, 4.5, 80, 60.0, 1.5, crude=(0.02, 0.01, 0.03),
                 adjusted=(0.0002, -0.004, 0.0045))
    assert verdict(e, c) == "explained by confounding"
    # without the crude triple the same CI is judged by the directional rule
    assert verdict(Estimate(0.2, -3.0, 3.5, -4.0, 4.5, 80, 60.0, 1.5), c) == "not supported"
    # the spatial CI is used when present: iid excludes 0, spatial does not
    e = Estimate(8.0, 6.0, 10.0, -1.0, 17.0, 80, 30.0, 1.2)
    assert verdict(e, c) == "inconclusive"
    assert verdict(Estimate(8.0, 6.0, 10.0, vif=1.2), c) == "supported"


def test_registry_names_every_plan_test():
    from geo_ms.models.plan import TESTS

    assert set(REGISTRY) == set(TESTS) - {"not_testable"}
