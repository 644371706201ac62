"""Confounding sensitivity: sub-region fixed effects, % per 10 points, popw latitude,
user covariates in the adjusted models."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from geo_ms.models import fit_all
from geo_ms.models.confounding import fixed_effects, pct_per10_rows
from geo_ms.models.regression import regressions


def _table(seed: int = 0, n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"R{i}" for i in range(8)], n // 8)
    shift = pd.Series(groups).str[1:].astype(int).to_numpy()
    lat = rng.uniform(0, 60, n)
    d = pd.DataFrame({
        "region_id": [f"X{i}" for i in range(n)], "subregion": groups,
        "abs_latitude": lat, "abs_latitude_popw": lat + rng.normal(0, 3, n),
        "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
        "cloud_cover_pct": 30 + 4 * shift + rng.normal(0, 5, n),
        "ancestry": rng.normal(0, 1, n),
    })
    # region level shifts prevalence and cloud together: confounding by region
    d["prevalence_per_100k"] = np.exp(2 + 0.3 * shift + 0.02 * lat + 0.5 * d["ancestry"]
                                      + rng.normal(0, 0.2, n))
    d["cloud_cover_pct_popw"] = d["cloud_cover_pct"] + rng.normal(0, 1, n)
    return d


def test_fixed_effects_by_hand_with_clustered_se():
    d = _table()
    row = fixed_effects(d, "cloud_cover_pct").iloc[0]
    X = pd.concat([d[["cloud_cover_pct", "abs_latitude"]],
                   np.log(d["gdp_per_capita"]).rename("g"),
                   pd.get_dummies(d["subregion"], drop_first=True, dtype=float)], axis=1)
    res = sm.OLS(np.log(d["prevalence_per_100k"]), sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["subregion"])[0]}, use_t=True)
    assert row["estimate"] == pytest.approx(res.params["cloud_cover_pct"], rel=1e-10)
    lo, hi = res.conf_int().loc["cloud_cover_pct"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
    # cloud has no within-region effect: the FE CI covers 0, the pooled OLS does not
    assert row["ci_low"] < 0 < row["ci_high"]
    pooled = regressions(d, "cloud_cover_pct").set_index("model").loc["ols_adj_lat_gdp"]
    assert pooled["ci_low"] > 0
    assert "subregion fixed effects (8 groups), SE clustered by subregion" in row["note"]


def test_fixed_effects_skipped_without_group_column():
    assert fixed_effects(_table().drop(columns="subregion"), "cloud_cover_pct").empty


def test_pct_per10_rows():
    base = {"model": "ols_adj_lat_gdp", "subset": "all", "outcome": "log_prevalence", "n": 100,
            "p_value": 0.04, "std_estimate": 0.1, "note": ""}
    m = pd.DataFrame([
        {**base, "exposure": "cloud_cover_pct", "estimate": math.log(1.1) / 10, "ci_low": 0.0,
         "ci_high": math.log(1.21) / 10},
        {**base, "exposure": "uv_index", "estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2},
    ])
    out = pct_per10_rows(m)
    assert out["exposure"].tolist() == ["cloud_cover_pct"]
    assert out[["estimate", "ci_low", "ci_high"]].iloc[0].tolist() == pytest.approx(
        [10.0, 0.0, 21.0], abs=1e-9)


def test_popw_exposure_adjusted_for_popw_latitude():
    d = _table()
    row = regressions(d, "cloud_cover_pct_popw").set_index("model").loc["ols_adj_lat"]
    X = sm.add_constant(d[["cloud_cover_pct_popw", "abs_latitude_popw"]])
    res = sm.OLS(np.log(d["prevalence_per_100k"]), X).fit(cov_type="HC3")
    assert row["estimate"] == pytest.approx(res.params["cloud_cover_pct_popw"], rel=1e-10)
    assert "population-weighted |latitude| (abs_latitude_popw)" in row["note"]


def test_extra_covariates_join_every_adjusted_model():
    d = _table()
    out = regressions(d, "cloud_cover_pct", extra_covariates=["ancestry"]).set_index("model")
    X = sm.add_constant(pd.concat([d[["cloud_cover_pct", "abs_latitude"]],
                                   np.log(d["gdp_per_capita"]).rename("g"), d["ancestry"]],
                                  axis=1))
    res = sm.OLS(np.log(d["prevalence_per_100k"]), X).fit(cov_type="HC3")
    assert out.loc["ols_adj_lat_gdp", "estimate"] == pytest.approx(
        res.params["cloud_cover_pct"], rel=1e-10)
    assert "extra covariates: ancestry" in out.loc["ols_adj_lat_gdp", "note"]
    # the crude model stays crude
    crude = sm.OLS(np.log(d["prevalence_per_100k"]), sm.add_constant(d["cloud_cover_pct"])).fit()
    assert out.loc["ols", "estimate"] == pytest.approx(crude.params["cloud_cover_pct"], rel=1e-10)


def test_fit_all_adds_fe_pct_rows_and_covariates():
    d = _table()
    m = fit_all(d, {"n_boot": 50, "extra_covariates": ["ancestry"]},
                exposures=["cloud_cover_pct"], spatial_subsets=())
    sel = (m["subset"] == "all") & (m["exposure"] == "cloud_cover_pct") & (
        m["outcome"] == "log_prevalence")
    models = set(m.loc[sel, "model"])
    assert {"ols_adj_lat_gdp_fe", "pct_per10_adj"} <= models
    adj = m[sel & (m["model"] == "ols_adj_lat_gdp")].iloc[0]
    assert "extra covariates: ancestry" in adj["note"]
    assert adj["r2"] > 0 and np.isfinite(adj["aic"])
