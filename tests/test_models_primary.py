"""The pre-specified primary analysis: spec from the configuration, roles, q-values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo_ms.config import load_config
from geo_ms.errors import ConfigError
from geo_ms.models.primary import (
    PrimarySpec,
    annotate_models,
    claim_estimate,
    outcome_columns,
    primary_outcome_column,
    primary_spec,
)


def test_default_config_declares_the_primary_analysis():
    cfg = load_config()
    assert cfg["primary"] == {"outcome": "gbd2016_prev", "subset": "all"}
    spec = primary_spec(cfg)
    assert spec.outcome == "gbd2016_prev" and spec.subset == "all"
    assert spec.sesoi_r == 0.1 and spec.sesoi_pct_per10 == 5.0
    assert spec.tests == {"C1": "pearson", "C2": "pearson", "C2-adj": "partial_lat_gdp",
                          "C3": "ols_adj_lat_gdp"}


def test_unknown_primary_outcome_refused():
    with pytest.raises(ConfigError, match=r"^configuration: key 'primary.outcome' = 'atlas2021' "
                                          r"is not a known outcome. Did you mean 'atlas2020'\?$"):
        load_config(overrides={"primary.outcome": "atlas2021"})


def test_claim_tests_have_one_configuration_home():
    # the tests of the claims are the [[claims]] entries' `test` keys, not [primary]
    with pytest.raises(ConfigError, match=r"unknown key 'primary.c1_test'"):
        load_config(overrides={"primary.c1_test": "pearson"})


def test_extra_covariates_need_a_file():
    with pytest.raises(ConfigError, match=r"'models.extra_covariates' is set but "
                                          r"'models.covariates_file' is empty$"):
        load_config(overrides={"models.extra_covariates": ["ancestry"]})


def test_bh_q_values_by_hand():
    # exploratory p = 0.01, 0.04, 0.03, 0.20 (m = 4): sorted 0.01, 0.03, 0.04, 0.20 ->
    # raw p*m/rank = 0.04, 0.06, 0.0533, 0.20 -> step-up minimum: 0.04, 0.0533, 0.0533, 0.20
    t = pd.DataFrame({
        "model": ["pearson", "spearman", "spearman", "spearman", "spearman", "vif"],
        "subset": "all",
        "exposure": ["cloud_cover_pct", "cloud_a", "cloud_b", "cloud_c", "cloud_d", "cloud_a"],
        "outcome": "log_prevalence",
        "p_value": [0.001, 0.01, 0.04, 0.03, 0.20, np.nan], "note": ""})
    out = annotate_models(t)
    assert out["role"].tolist() == ["primary"] + ["exploratory"] * 5
    q = out["q_value"].tolist()
    assert np.isnan(q[0]) and np.isnan(q[5])
    assert q[1:5] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20], abs=1e-12)
    assert out["note"].iloc[0] == "p two-sided (t-test of r, n - 2 df)"


def test_c1_estimate_against_scipy_and_a_reference_n_eff():
    from reference_dutilleul import ref_n_eff
    from scipy import stats

    rng = np.random.default_rng(3)
    d = pd.DataFrame({"cloud_cover_pct": rng.uniform(10, 90, 70), "lon": rng.uniform(-170, 170, 70),
                      "lat": rng.uniform(-60, 60, 70)})
    d["prevalence_per_100k"] = np.exp(0.01 * d["cloud_cover_pct"] + rng.normal(0, 0.5, 70))
    out = claim_estimate(d, "C1", "prevalence_per_100k", PrimarySpec(n_boot=2000, seed=5))
    x, y = d["cloud_cover_pct"].to_numpy(), np.log(d["prevalence_per_100k"].to_numpy())
    assert out["estimate"] == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    # the percentile bootstrap CI, independently resampled by scipy: equal within
    # Monte-Carlo error (2000 resamples each)
    ci = stats.bootstrap((x, y), lambda a, b: stats.pearsonr(a, b).statistic, paired=True,
                         vectorized=False, n_resamples=2000, method="percentile",
                         random_state=9).confidence_interval
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((ci.low, ci.high), abs=0.03)
    n_eff = ref_n_eff(x, y, d["lon"].to_numpy(), d["lat"].to_numpy())
    assert out["n_eff"] == pytest.approx(n_eff, rel=1e-9)
    half = stats.norm.ppf(0.975) / np.sqrt(n_eff - 3)
    r = out["estimate"]
    assert (out["ci_low_spatial"], out["ci_high_spatial"]) == pytest.approx(
        (np.tanh(np.arctanh(r) - half), np.tanh(np.arctanh(r) + half)), abs=1e-12)


def test_too_few_regions_is_inconclusive():
    d = pd.DataFrame({"cloud_cover_pct": [1.0, 2.0, 3.0], "prevalence_per_100k": [1.0, 2.0, 4.0]})
    out = claim_estimate(d, "C1", "prevalence_per_100k")
    assert out["verdict"] == "inconclusive" and np.isnan(out["estimate"]) and out["n"] == 3


def test_outcome_columns_without_ms_columns():
    d = pd.DataFrame(columns=["prevalence_per_100k"])
    assert outcome_columns(d, ["gbd2016_prev", "atlas2020"], "gbd2016_prev") == {
        "gbd2016_prev": "prevalence_per_100k"}


def test_missing_covariate_column_is_inconclusive():
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"uv_index": rng.normal(size=30),
                      "prevalence_per_100k": np.exp(rng.normal(size=30))})
    out = claim_estimate(d, "C2-adj", "prevalence_per_100k")
    assert out["verdict"] == "inconclusive" and np.isnan(out["estimate"])
    assert out["detail"] == "no column abs_latitude, log_gdp_per_capita in the analysis table"


# ---- issue 16, item 1: the primary outcome is the column the claims are fitted on

def _two_outcome_table(n: int = 80, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-50, 65, n)
    d = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "lat": lat,
                      "lon": rng.uniform(-170, 170, n), "abs_latitude": np.abs(lat),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "cloud_cover_pct": rng.uniform(10, 90, n),
                      "uv_index": 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, n)})
    d["prevalence_per_100k"] = np.exp(0.03 * d["cloud_cover_pct"] + rng.normal(0, 0.3, n))
    d["ms_gbd2016_prev"] = d["prevalence_per_100k"]
    d["ms_atlas2020"] = np.exp(-0.03 * d["cloud_cover_pct"] + rng.normal(0, 0.3, n))
    return d


def test_models_are_fitted_on_the_primary_outcome_column():
    from scipy import stats

    from geo_ms.models import fit_all

    d = _two_outcome_table()
    spec = primary_spec({"primary": {"outcome": "atlas2020"}, "models": {"n_boot": 100}})
    r_atlas = stats.pearsonr(d["cloud_cover_pct"], np.log(d["ms_atlas2020"])).statistic
    assert r_atlas < -0.5  # the GBD column has the opposite sign
    assert stats.pearsonr(d["cloud_cover_pct"], np.log(d["prevalence_per_100k"])).statistic > 0.5
    m = fit_all(d, {"models": {"n_boot": 50, "permutations": 9, "fixed_effects": ""}},
                exposures=["cloud_cover_pct"], spec=spec)
    prim = m[m["role"] == "primary"]
    assert set(prim["outcome"]) == {"log_ms_atlas2020"}
    assert prim.set_index("model").loc["pearson", "estimate"] == pytest.approx(r_atlas, abs=1e-12)


def test_primary_outcome_not_fitted_is_refused_at_configuration_time():
    with pytest.raises(ConfigError, match=r"^configuration: key 'primary.outcome' = 'atlas2020' "
                                          r"is not fitted \(not in outcomes.fit\)$"):
        load_config(overrides={"primary.outcome": "atlas2020",
                               "outcomes.fit": ["gbd2016_prev", "atlas2013"]})
    cfg = load_config(overrides={"primary.outcome": "atlas2020"})
    assert primary_spec(cfg).outcome == "atlas2020"


def test_primary_outcome_column_absent_is_an_error():
    d = pd.DataFrame(columns=["prevalence_per_100k", "ms_atlas2013"])
    assert primary_outcome_column(d, "gbd2016_prev") == "prevalence_per_100k"
    assert primary_outcome_column(d, "atlas2013") == "ms_atlas2013"
    with pytest.raises(ConfigError, match=r"^configuration: key 'primary.outcome' = 'atlas2020' "
                                          r"but the analysis table has no column ms_atlas2020$"):
        primary_outcome_column(d, "atlas2020")


def test_models_outcome_key_is_gone():
    with pytest.raises(ConfigError, match=r"unknown key 'models.outcome'"):
        load_config(overrides={"models.outcome": "prevalence_per_100k"})


# ---- issue 16, item 3: pre-specified exposures are never replaced

_C1_MODIS = ('[[claims]]\nid = "C1"\ntext = "t"\ndirection = "positive"\ntest = "pearson"\n'
             'exposure = "cloud_fraction_modis_pct"\n')


def test_primary_exposures_have_one_configuration_home(tmp_path):
    # the claims' exposures are their [[claims]] entries; the old [models] keys are gone
    toml = tmp_path / "c.toml"
    toml.write_text(_C1_MODIS + '[[claims]]\nid = "C2"\ntext = "t"\ndirection = "negative"\n'
                    'test = "pearson"\nexposure = "vitd_uv_clear"\n', encoding="utf-8")
    cfg = load_config(toml)
    assert primary_spec(cfg).exposures == {"C1": "cloud_fraction_modis_pct",
                                           "C2": "vitd_uv_clear", "C2-adj": "uv_index",
                                           "C3": "cloud_cover_pct"}
    with pytest.raises(ConfigError, match=r"unknown key 'models.primary_cloud'"):
        load_config(overrides={"models.primary_cloud": "cloud_cover_pct"})
    with pytest.raises(ConfigError, match=r"unknown key 'primary.c1_exposure'"):
        load_config(overrides={"primary.c1_exposure": "cloud_cover_pct"})


def test_missing_primary_exposure_is_an_error_not_a_substitution(tmp_path):
    from geo_ms.pipeline.cache import RunContext
    from geo_ms.pipeline.stages import SAMPLE_PRIMARY, primary_exposures

    table = pd.DataFrame(columns=["region_id", "cloudiness_sunshine_pct", "ghi_merra2",
                                  "uv_index", "vitd_uv_clear"])
    ctx = RunContext(cfg=load_config(), home=tmp_path, say=lambda m: None)
    with pytest.raises(ConfigError, match=r"^configuration: \[\[claims\]\] entry 'C1': "
                                          r"exposure 'cloud_cover_pct' is not in the analysis "
                                          r"table \(its product was not computed\)$"):
        primary_exposures(ctx, table)
    table["cloud_cover_pct"] = []
    table = table.drop(columns=["uv_index"])
    with pytest.raises(ConfigError, match=r"entry 'C2': exposure 'uv_index' is not in"):
        primary_exposures(ctx, table)
    ctx.sample = True  # the sample's own, declared exposures
    assert primary_exposures(ctx, table) == SAMPLE_PRIMARY


def test_primary_exposure_of_a_product_switched_off_is_refused(tmp_path):
    from geo_ms.config import check_for_run

    toml = tmp_path / "c.toml"
    toml.write_text(_C1_MODIS, encoding="utf-8")
    cfg = load_config(toml, overrides={"exposures.cloud": ["cru_cl1_cloud"]})
    with pytest.raises(ConfigError, match=r"^configuration: \[\[claims\]\] entry 'C1': "
                                          r"exposure 'cloud_fraction_modis_pct' needs "
                                          r"product\(s\) modis_mod08_cloud, which "
                                          r"\[exposures\] does not switch on$"):
        check_for_run(cfg)


# ---- issue 16, item 2: C3's spatially corrected CI widens the coefficient's own CI

def _c3_width_ratio(d: pd.DataFrame) -> float:
    import statsmodels.api as sm

    out = claim_estimate(d, "C3", "prevalence_per_100k", PrimarySpec(n_boot=50))
    X = sm.add_constant(pd.DataFrame({"c": d["cloud_cover_pct"], "a": d["abs_latitude"],
                                      "g": np.log(d["gdp_per_capita"])}))
    res = sm.OLS(np.log(d["prevalence_per_100k"]), X).fit(cov_type="HC3", use_t=True)
    lo, hi = res.conf_int().loc["c"]
    b_lo, b_hi = (np.log1p(out[k] / 100) / 10 for k in ("ci_low_spatial", "ci_high_spatial"))
    return float((b_hi - b_lo) / (hi - lo))


def _c3_table(x: np.ndarray, e: np.ndarray, lon, lat, rng) -> pd.DataFrame:
    n = x.size
    d = pd.DataFrame({"lon": lon, "lat": lat, "abs_latitude": rng.uniform(0, 60, n),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "cloud_cover_pct": 50 + 10 * x})
    # partial r about 0.8: a strong effect, where the old Fisher mapping was 0.6x too narrow
    d["prevalence_per_100k"] = np.exp(0.13 * d["cloud_cover_pct"] + e)
    return d


def test_c3_spatial_ci_matches_hc3_on_independent_points():
    ratios = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        n = 150
        lon, lat = rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, n)))
        ratios.append(_c3_width_ratio(_c3_table(rng.normal(size=n), rng.normal(size=n),
                                                lon, lat, rng)))
    assert 0.9 <= np.mean(ratios) <= 1.1


def test_c3_spatial_ci_is_wider_on_an_autoregressive_field():
    from geo_ms.models.spatial import knn_weights

    ratios = []
    for seed in range(10):
        rng = np.random.default_rng(200 + seed)
        n = 150
        lon, lat = rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, n)))
        A = np.eye(n) - 0.8 * knn_weights(lon, lat, k=6).full()[0]  # SAR, rho = 0.8
        x, e = np.linalg.solve(A, rng.normal(size=n)), np.linalg.solve(A, rng.normal(size=n))
        ratios.append(_c3_width_ratio(_c3_table(x / x.std(), e / e.std(), lon, lat, rng)))
    assert np.mean(ratios) > 1.5  # 2.1 here; the old Fisher mapping gave 1.2


def test_spatial_coef_ci_by_hand():
    from scipy import stats

    from geo_ms.models.primary import spatial_coef_ci

    # n = 100, k = 3 regressors, n_eff = 40: SE 0.2 x sqrt(96 / 36), t on 36 df
    _b, lo, hi = spatial_coef_ci(0.5, 0.2, 100, 40.0, 3)
    half = stats.t.ppf(0.975, 36) * 0.2 * np.sqrt(96 / 36)
    assert (lo, hi) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-12)


# ---- issue 16, item 5: one multiplicity family per claim

def test_bh_families_per_claim_derived_rows_inherit_diagnostics_get_none():
    # C1 family: p = 0.01, 0.04 (m = 2) -> q = 0.02, 0.04; C3 family: p = 0.03 alone -> 0.03
    # (its pct_per10 copy is not counted and inherits 0.03); Moran / spatial error: none
    t = pd.DataFrame({
        "model": ["pearson", "spearman", "ols_adj_lat_gdp", "pct_per10_adj", "moran_resid",
                  "spatial_error", "pearson"],
        "subset": ["europe", "all", "europe", "europe", "all", "all", "all"],
        "exposure": ["cloud_cover_pct", "cloud_fraction_modis_pct", "cloud_cover_pct",
                     "cloud_cover_pct", "cloud_cover_pct", "cloud_cover_pct", "abs_latitude"],
        "outcome": "log_prevalence", "p_value": [0.01, 0.04, 0.03, 0.03, 1e-6, 1e-5, 1e-9],
        "note": ""})
    out = annotate_models(t)
    assert out["family"].tolist() == ["C1", "C1", "C3", "C3", "", "", ""]
    q = out["q_value"].tolist()
    assert q[:4] == pytest.approx([0.02, 0.04, 0.03, 0.03], abs=1e-12)
    assert np.isnan(q[4:]).all()
    assert out.attrs["family_sizes"] == {"C1": 2, "C3": 1}
