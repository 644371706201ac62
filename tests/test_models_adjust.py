"""One adjustment set for every adjusted model (issue 16, item 4).

Each adjusted model of one exposure is recomputed here with statsmodels on the
covariates it should use — the population-weighted |latitude| for a ``_popw``
exposure, log GDP and the user covariates — and must match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from geo_ms.models import fit_all, loo_influence, mechanism_test
from geo_ms.models.adjust import adjustment_set, residualise
from geo_ms.models.spatial import knn_weights


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(16)
    n = 90
    lat = rng.uniform(-55, 65, n)
    d = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "lat": lat,
                      "lon": rng.uniform(-170, 170, n), "abs_latitude": np.abs(lat),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "neuro": rng.gamma(2.0, 1.0, n)})
    d["abs_latitude_popw"] = d["abs_latitude"] + rng.normal(0, 4, n)
    d["cloud_cover_pct"] = rng.uniform(20, 80, n)
    d["cloud_cover_pct_popw"] = d["cloud_cover_pct"] + rng.normal(0, 5, n)
    d["vitd_uv_clear"] = 3000 - 40 * d["abs_latitude"] + rng.normal(0, 200, n)
    d["vitd_uv_allsky"] = d["vitd_uv_clear"] * (1 - 0.006 * d["cloud_cover_pct"])
    d["prevalence_per_100k"] = np.exp(1 + 0.04 * d["abs_latitude_popw"] + 0.2 * d["neuro"]
                                      + rng.normal(0, 0.4, n))
    return d


def _X(d: pd.DataFrame, exposure: str, covs: list[str]) -> pd.DataFrame:
    X = d[[exposure]].copy()
    for c in covs:
        X[c] = np.log(d["gdp_per_capita"]) if c == "log_gdp_per_capita" else d[c]
    return sm.add_constant(X)


def test_adjustment_set_by_name(table):
    assert adjustment_set(table, "cloud_cover_pct_popw", extra=["neuro"]) == (
        "abs_latitude_popw", "log_gdp_per_capita", "neuro")
    assert adjustment_set(table, "cloud_cover_pct", extra=["neuro"]) == (
        "abs_latitude", "log_gdp_per_capita", "neuro")


def test_residualise_is_frisch_waugh(table):
    X = _X(table, "cloud_cover_pct", ["abs_latitude", "log_gdp_per_capita"])
    y = np.log(table["prevalence_per_100k"])
    b = sm.OLS(y, X).fit().params["cloud_cover_pct"]
    Z = X[["abs_latitude", "log_gdp_per_capita"]].to_numpy()
    rx, ry = residualise(Z, table["cloud_cover_pct"].to_numpy(), y.to_numpy())
    assert float(rx @ ry / (rx @ rx)) == pytest.approx(b, rel=1e-10)


@pytest.fixture(scope="module")
def models(table) -> pd.DataFrame:
    cfg = {"models": {"n_boot": 50, "permutations": 9, "fixed_effects": "",
                      "extra_covariates": ["neuro"]}}
    return fit_all(table, cfg, exposures=["cloud_cover_pct"])


def test_spatial_models_use_the_popw_latitude_and_user_covariates(table, models):
    # Moran's I of the residuals of the model adjusted for the popw exposure's own set
    row = models[(models["model"] == "moran_resid")
                 & (models["exposure"] == "cloud_cover_pct_popw")].iloc[0]
    covs = ["abs_latitude_popw", "log_gdp_per_capita", "neuro"]
    e = sm.OLS(np.log(table["prevalence_per_100k"]),
               _X(table, "cloud_cover_pct_popw", covs)).fit().resid.to_numpy()
    W = knn_weights(table["lon"], table["lat"], k=6).full()[0]
    assert row["estimate"] == pytest.approx(float(e @ W @ e / (e @ e)), rel=1e-9)
    assert "ols(abs_latitude_popw+log_gdp_per_capita+neuro)" in row["note"]


def test_ols_and_fixed_effects_share_the_set(table, models):
    covs = ["abs_latitude_popw", "log_gdp_per_capita", "neuro"]
    res = sm.OLS(np.log(table["prevalence_per_100k"]),
                 _X(table, "cloud_cover_pct_popw", covs)).fit(cov_type="HC3")
    row = models[(models["model"] == "ols_adj_lat_gdp") & (models["subset"] == "all")
                 & (models["exposure"] == "cloud_cover_pct_popw")
                 & (models["outcome"] == "log_prevalence")].iloc[0]
    assert row["estimate"] == pytest.approx(res.params["cloud_cover_pct_popw"], rel=1e-10)


def test_leave_one_out_uses_the_set(table):
    covs = ["abs_latitude_popw", "log_gdp_per_capita", "neuro"]
    res = sm.OLS(np.log(table["prevalence_per_100k"]),
                 _X(table, "cloud_cover_pct_popw", covs)).fit()
    dfb = res.get_influence().dfbetas[:, 1]
    row = loo_influence(table, "cloud_cover_pct_popw", extra_covariates=["neuro"]).iloc[0]
    assert row["estimate"] == pytest.approx(float(np.abs(dfb).max()), rel=1e-9)


def test_mechanism_uses_the_user_covariates(table):
    out = mechanism_test(table, extra_covariates=["neuro"])
    covs = ["abs_latitude", "log_gdp_per_capita", "neuro"]
    for key, dose in (("clear", "vitd_uv_clear"), ("allsky", "vitd_uv_allsky")):
        res = sm.OLS(np.log(table["prevalence_per_100k"]), _X(table, dose, covs)).fit()
        assert out["r2"][key] == pytest.approx(res.rsquared, rel=1e-10)
        assert out["aic"][key] == pytest.approx(res.aic, rel=1e-10)
