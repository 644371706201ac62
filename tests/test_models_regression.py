"""Crude and adjusted OLS: planted partial correlations, HC3 by hand, VIF by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from geo_ms.errors import SchemaError
from geo_ms.models.regression import (
    fit_ols,
    income_dummies,
    partial_correlation,
    regressions,
)

INCOME = ["1. High income: OECD", "2. High income: nonOECD", "3. Upper middle income",
          "4. Lower middle income", "5. Low income"]


def _confounded(n: int, direct: float, seed: int) -> pd.DataFrame:
    """lat ~ U(0, 60); x1 = lat + N(0, 10); log y = 0.04 lat + direct * x1 + N(0, 0.5)."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(0, 60, n)
    x1 = lat + rng.normal(0, 10, n)
    logy = 0.04 * lat + direct * x1 + rng.normal(0, 0.5, n)
    return pd.DataFrame({
        "region_id": [f"R{i}" for i in range(n)],
        "prevalence_per_100k": np.exp(logy),
        "x1": x1,
        "abs_latitude": lat,
        "gdp_per_capita": np.exp(rng.normal(9, 1, n) + 0.01 * lat),
        "income_grp": rng.choice(INCOME, n),
    })


@pytest.fixture(scope="module")
def no_direct() -> pd.DataFrame:
    return regressions(_confounded(2000, 0.0, 1), "x1").set_index("model")


@pytest.fixture(scope="module")
def with_direct() -> pd.DataFrame:
    return regressions(_confounded(2000, 0.02, 2), "x1").set_index("model")


def test_confounded_crude_large_partial_null(no_direct):
    # crude r(x1, y): cov = 0.04*300 = 12, var x1 = 400, var y = 0.73 -> r = 0.70
    crude_r = no_direct.loc["ols", "std_estimate"]  # standardised crude slope = r
    assert crude_r == pytest.approx(0.70, abs=0.04)
    assert no_direct.loc["ols", "ci_low"] > 0
    for name in ("partial_lat", "partial_lat_gdp"):
        row = no_direct.loc[name]
        assert abs(row["estimate"]) < 0.06
        assert row["ci_low"] < 0 < row["ci_high"]
    adj = no_direct.loc["ols_adj_lat"]
    assert adj["ci_low"] < 0 < adj["ci_high"]


def test_direct_effect_partial_matches_analytic(with_direct):
    # given lat, x1 residual = e1 (sd 10), y residual = 0.02 e1 + e2 (sd 0.5):
    # partial r = 0.02*10 / sqrt(0.2**2 + 0.5**2) = 0.3714
    analytic = 0.2 / math.sqrt(0.2**2 + 0.5**2)
    assert with_direct.loc["partial_lat", "estimate"] == pytest.approx(analytic, abs=0.05)
    assert with_direct.loc["partial_lat_gdp", "estimate"] == pytest.approx(analytic, abs=0.05)
    assert with_direct.loc["ols_adj_lat", "estimate"] == pytest.approx(0.02, abs=0.003)
    assert with_direct.loc["partial_lat", "p_value"] < 1e-10


def test_partial_correlation_fisher_ci_and_t_p():
    rng = np.random.default_rng(3)
    n = 50
    z = rng.normal(size=n)
    x = z + rng.normal(size=n)
    y = z + 0.5 * x + rng.normal(size=n)
    r, lo, hi, p = partial_correlation(x, y, z[:, None])
    # independent: residuals via numpy polyfit
    rx = x - np.polyval(np.polyfit(z, x, 1), z)
    ry = y - np.polyval(np.polyfit(z, y, 1), z)
    assert r == pytest.approx(float(np.corrcoef(rx, ry)[0, 1]), abs=1e-12)
    se = 1 / math.sqrt(n - 1 - 3)
    zc = stats.norm.ppf(0.975)
    assert lo == pytest.approx(math.tanh(math.atanh(r) - zc * se), abs=1e-12)
    assert hi == pytest.approx(math.tanh(math.atanh(r) + zc * se), abs=1e-12)
    t = r * math.sqrt((n - 3) / (1 - r * r))
    assert p == pytest.approx(2 * stats.t.sf(abs(t), n - 3), rel=1e-9)


def test_hc3_standard_errors_by_hand():
    d = _confounded(60, 0.01, 4)
    res = fit_ols(d, "x1", covariates=("abs_latitude", "log_gdp_per_capita"))
    X = np.column_stack([np.ones(60), d["x1"], d["abs_latitude"], np.log(d["gdp_per_capita"])])
    y = np.log(d["prevalence_per_100k"].to_numpy())
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    e = y - X @ beta
    h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
    meat = X.T @ (X * (e**2 / (1 - h) ** 2)[:, None])
    se = np.sqrt(np.diag(xtx_inv @ meat @ xtx_inv))
    np.testing.assert_allclose(res.params.to_numpy(), beta, rtol=1e-10)
    np.testing.assert_allclose(res.bse.to_numpy(), se, rtol=1e-10)
    # and equal to statsmodels' own cov_type="HC3"
    own = sm.OLS(y, X).fit(cov_type="HC3")
    np.testing.assert_allclose(res.bse.to_numpy(), own.bse, rtol=1e-12)
    # the table row uses t(n - 4) with that SE
    row = regressions(d, "x1", models=("ols_adj_lat_gdp",)).set_index("model")
    tcrit = stats.t.ppf(0.975, 60 - 4)
    assert row.loc["ols_adj_lat_gdp", "ci_low"] == pytest.approx(beta[1] - tcrit * se[1], rel=1e-9)
    assert row.loc["ols_adj_lat_gdp", "ci_high"] == pytest.approx(beta[1] + tcrit * se[1],
                                                                  rel=1e-9)


def test_vif_equals_one_over_one_minus_r2():
    d = _confounded(80, 0.01, 5)
    out = regressions(d, "x1").set_index("model")
    X = np.column_stack([np.ones(80), d["abs_latitude"], np.log(d["gdp_per_capita"])])
    x = d["x1"].to_numpy()
    fitted = X @ np.linalg.lstsq(X, x, rcond=None)[0]
    r2 = 1 - ((x - fitted) ** 2).sum() / ((x - x.mean()) ** 2).sum()
    assert out.loc["vif", "estimate"] == pytest.approx(1 / (1 - r2), rel=1e-9)
    assert out.loc["vif", "note"].startswith("VIF in ols_adj_lat_gdp; abs_latitude=")


def test_standardised_coefficient_equals_z_scored_fit():
    d = _confounded(80, 0.01, 6)
    out = regressions(d, "x1").set_index("model")
    z = lambda v: (v - v.mean()) / v.std(ddof=1)
    Z = np.column_stack([np.ones(80), z(d["x1"]), z(d["abs_latitude"]),
                         z(np.log(d["gdp_per_capita"]))])
    beta = np.linalg.lstsq(Z, z(np.log(d["prevalence_per_100k"])), rcond=None)[0]
    assert out.loc["ols_adj_lat_gdp", "std_estimate"] == pytest.approx(beta[1], rel=1e-9)


def test_income_dummies_merge_high_and_small_groups():
    g = pd.Series(INCOME[:2] * 3 + [INCOME[2]] * 5 + [INCOME[4]] * 8 + [INCOME[3]])
    dummies = income_dummies(g)
    # high (6) and upper_middle (5) kept; low (8) is the reference; lower_middle (1) merged
    assert dummies.columns.tolist() == ["income_high", "income_upper_middle"]
    assert dummies["income_high"].sum() == 6
    assert dummies.iloc[-1].sum() == 0


def test_common_sample_and_income_model():
    d = _confounded(100, 0.01, 7)
    d.loc[[0, 1, 2], "gdp_per_capita"] = np.nan
    d.loc[5, "gdp_per_capita"] = 0.0  # no log: counts as missing
    out = regressions(d, "x1")
    assert out["model"].tolist() == ["ols", "ols_adj_lat", "ols_adj_lat_gdp",
                                     "ols_adj_lat_gdp_income", "partial_lat", "partial_lat_gdp",
                                     "vif"]
    assert (out["n"] == 96).all()
    assert out["note"].iloc[0].endswith("4 region(s) dropped for missing values")
    income = out.set_index("model").loc["ols_adj_lat_gdp_income", "note"]
    # the two Natural Earth high-income groups merge into the largest group: the reference
    assert "income dummies: income_low, income_lower_middle, income_upper_middle" in income


def test_models_without_gdp_or_income_are_skipped():
    d = _confounded(50, 0.01, 8).drop(columns=["gdp_per_capita", "income_grp"])
    out = regressions(d, "x1")
    assert out["model"].tolist() == ["ols", "ols_adj_lat", "partial_lat", "vif"]


def test_missing_exposure_error():
    d = _confounded(20, 0.0, 9)
    with pytest.raises(SchemaError, match=r"^analysis table: missing column\(s\) 'cloud' "
                                          r"needed for the regression on cloud$"):
        regressions(d, "cloud")
