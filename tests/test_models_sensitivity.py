"""Sensitivity analyses and fit_all: subsets, outcome and exposure variants, influence."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from geo_ms.config import load_config
from geo_ms.errors import SchemaError
from geo_ms.models import MODEL_COLUMNS, MODEL_NAMES, fit_all
from geo_ms.models.sensitivity import expand_exposures, loo_influence, sensitivity

CONTINENTS = ["Europe"] * 30 + ["Africa"] * 25 + ["Asia"] * 20 + ["Oceania"] * 8 + [
    "South America"] * 17


def _table(seed: int = 0) -> pd.DataFrame:
    """100 regions; log prevalence follows latitude, cloud cover follows latitude too."""
    rng = np.random.default_rng(seed)
    n = len(CONTINENTS)
    lat = np.where(np.array(CONTINENTS) == "Europe", rng.uniform(36, 70, n),
                   rng.uniform(-45, 34, n))
    cloud = 40 + 0.5 * np.abs(lat) + rng.normal(0, 6, n)
    uv = 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, n)
    logp = 1 + 0.05 * np.abs(lat) + rng.normal(0, 0.4, n)
    return pd.DataFrame({
        "region_id": [f"C{i:03d}" for i in range(n)],
        "name": [f"Country {i}" for i in range(n)],
        "continent": CONTINENTS,
        "income_grp": rng.choice(["1. High income: OECD", "3. Upper middle income",
                                  "4. Lower middle income", "5. Low income"], n),
        "abs_latitude": np.abs(lat),
        "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
        "lon": rng.uniform(-170, 170, n),
        "lat": lat,
        "cloud_cover_pct": cloud,
        "cloud_cover_pct_winter": cloud + rng.normal(0, 3, n),
        "cloud_cover_pct_popw": cloud + rng.normal(0, 2, n),
        "uv_index": uv,
        "prevalence_per_100k": np.exp(logp),
        "prevalence_allages_per_100k": np.exp(logp + rng.normal(0.1, 0.05, n)),
    })


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return _table()


@pytest.fixture(scope="module")
def sens(table) -> pd.DataFrame:
    return sensitivity(table, ["cloud_cover_pct", "uv_index"], n_boot=200)


@pytest.fixture(scope="module")
def models(table) -> pd.DataFrame:
    cfg = load_config(overrides={"models.n_boot": 200})
    return fit_all(table, cfg)


def test_expand_exposures_adds_window_and_weighting_variants(table):
    assert expand_exposures(table, ["cloud_cover_pct", "uv_index"]) == [
        "cloud_cover_pct", "cloud_cover_pct_winter", "cloud_cover_pct_popw", "uv_index"]


def test_subsets(sens, table):
    primary = sens[sens["outcome"] == "log_prevalence"]
    # Asia (20) and South America (17) have >= 15 regions, Oceania (8) does not
    assert list(dict.fromkeys(primary["subset"])) == [
        "all", "europe", "abs_lat_gt_35", "africa", "asia", "south_america"]
    n_by_subset = primary[(primary["model"] == "pearson")
                          & (primary["exposure"] == "uv_index")].set_index("subset")["n"]
    assert n_by_subset.to_dict() == {
        "all": 100, "europe": 30, "abs_lat_gt_35": int((table["abs_latitude"] > 35).sum()),
        "africa": 25, "asia": 20, "south_america": 17}


def test_small_subset_skipped_and_logged(table, caplog):
    small = table[table["continent"] != "Europe"].copy()
    small["abs_latitude"] = small["abs_latitude"].clip(upper=30.0)
    small.loc[small.index[:5], "abs_latitude"] = 40.0  # only 5 regions above 35°
    with caplog.at_level(logging.INFO, logger="geo_ms.models"):
        out = sensitivity(small, ["uv_index"], n_boot=50, min_continent=100)
    assert set(out["subset"]) == {"all"}
    assert "subset europe skipped: 0 region(s) < 10" in caplog.text
    assert "subset abs_lat_gt_35 skipped: 5 region(s) < 10" in caplog.text


def test_outcome_variants(sens):
    outcomes = sens.groupby("outcome")["subset"].unique()
    assert sorted(outcomes.index) == ["log_prevalence", "log_prevalence_allages"]
    # outcome variants are analysed on all regions only
    assert list(outcomes["log_prevalence_allages"]) == ["all"]


def test_exposure_variants_in_every_subset(sens):
    europe = sens[(sens["subset"] == "europe") & (sens["model"] == "ols_adj_lat_gdp")]
    assert europe["exposure"].tolist() == ["cloud_cover_pct", "cloud_cover_pct_winter",
                                           "cloud_cover_pct_popw", "uv_index"]


def test_loo_influence_names_the_planted_outlier():
    rng = np.random.default_rng(0)
    n = 40
    d = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)],
                      "name": [f"Region {i}" for i in range(n)],
                      "x": rng.normal(size=n), "abs_latitude": rng.uniform(0, 60, n)})
    d["prevalence_per_100k"] = np.exp(0.3 * d["x"] + rng.normal(0, 0.2, n))
    d.loc[11, ["x", "prevalence_per_100k"]] = [5.0, np.exp(-4.0)]
    row = loo_influence(d, "x").iloc[0]
    assert row["model"] == "loo_influence"
    assert row["note"].startswith("ols_adj_lat, b=")
    assert "top influence: Region 11 (R11) DFBETAS=-" in row["note"]
    # independent: refit without region 11; the outlier pulls the slope down, so the
    # coefficient without it is the top of the leave-one-out range
    import statsmodels.api as sm

    rest = d.drop(index=11)
    X = sm.add_constant(rest[["x", "abs_latitude"]])
    b_without = sm.OLS(np.log(rest["prevalence_per_100k"]), X).fit().params["x"]
    assert f", {b_without:.4g}], sign flips in" in row["note"]
    assert row["estimate"] > 2 / np.sqrt(n)


def test_fit_all_columns_models_and_no_nan(models):
    assert tuple(models.columns[: len(MODEL_COLUMNS)]) == MODEL_COLUMNS
    assert set(models["model"]) <= set(MODEL_NAMES)
    assert models["estimate"].notna().all()
    assert not models.duplicated(["model", "subset", "exposure", "outcome"]).any()
    assert (models["n"] >= 10).all()
    # every model kind is present on all regions for the primary cloud exposure
    # (spatial_error / spatial_lag only when the residuals are autocorrelated)
    allc = models[(models["subset"] == "all") & (models["exposure"] == "cloud_cover_pct")
                  & (models["outcome"] == "log_prevalence")]
    # (fixed effects need a subregion column, the mechanism test the vitamin-D doses)
    expected = set(MODEL_NAMES) - {"spatial_error", "spatial_lag", "ols_adj_lat_gdp_fe",
                                   "mechanism_clear", "mechanism_allsky"}
    assert expected <= set(allc["model"])
    assert set(models["role"]) == {"primary", "exploratory"}
    expl = models[models["role"] == "exploratory"]
    # a q-value for every exploratory re-test of a claim, none for diagnostics (issue 16)
    tests = expl["family"].ne("") & expl["p_value"].notna()
    assert expl.loc[tests, "q_value"].notna().all()
    assert expl.loc[expl["model"].isin(["moran_resid", "lm_error", "lm_lag", "spatial_error",
                                        "spatial_lag", "vif", "loo_influence"]),
                    "q_value"].isna().all()
    assert (expl["q_value"].dropna() >= expl.loc[expl["q_value"].notna(), "p_value"]).all()
    moran = allc.set_index("model").loc["moran_resid"]
    if moran["p_value"] < 0.05:
        assert {"spatial_error", "spatial_lag"} <= set(allc["model"])


def test_fit_all_detects_exposures_and_uses_config(table):
    out = fit_all(table[table["continent"] == "Europe"],
                  {"n_boot": 50, "knn": 4, "permutations": 99})
    assert set(out["exposure"]) == {"cloud_cover_pct", "cloud_cover_pct_winter",
                                    "cloud_cover_pct_popw", "uv_index", "abs_latitude"}
    assert "4-nearest neighbours" in out.set_index("model").loc["moran_resid", "note"].iloc[0]
    assert "99 permutations" in out.set_index("model").loc["moran_resid", "note"].iloc[0]


def test_fit_all_without_exposures_error(table):
    with pytest.raises(SchemaError, match=r"^analysis table: no exposure column "):
        fit_all(table[["region_id", "abs_latitude", "prevalence_per_100k"]], None)


def test_table_without_continent_runs_all_and_latitude_subsets(table):
    out = sensitivity(table.drop(columns=["continent"]), ["uv_index"], n_boot=50)
    assert set(out["subset"]) == {"all", "abs_lat_gt_35"}


def test_closed_form_dfbetas_equal_statsmodels_refits():
    # statsmodels' OLSInfluence.dfbeta / dfbetas refit the model without each region
    import statsmodels.api as sm

    from geo_ms.models.sensitivity import dfbeta as closed_form

    rng = np.random.default_rng(9)
    X = sm.add_constant(rng.normal(size=(60, 3)))
    y = X @ [1.0, 0.5, -0.2, 0.0] + rng.standard_t(3, size=60)
    res = sm.OLS(y, X).fit()
    infl = res.get_influence()
    dfbeta, dfbetas = closed_form(res, infl.hat_matrix_diag)
    np.testing.assert_allclose(dfbeta, infl.dfbeta, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dfbetas, infl.dfbetas, rtol=0, atol=1e-10)
