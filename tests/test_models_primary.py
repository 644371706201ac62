"""The pre-specified primary analysis: spec from the configuration, roles, q-values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo_ms.config import load_config
from geo_ms.errors import ConfigError
from geo_ms.models.correlation import bootstrap_ci
from geo_ms.models.primary import (
    PrimarySpec,
    annotate_models,
    claim_estimate,
    outcome_columns,
    primary_spec,
)


def test_default_config_declares_the_primary_analysis():
    cfg = load_config()
    assert cfg["primary"] == {"outcome": "gbd2016_prev", "subset": "all", "c1_test": "pearson",
                              "c2_test": "pearson", "c3_test": "ols_adj_lat_gdp"}
    spec = primary_spec(cfg)
    assert spec.outcome == "gbd2016_prev" and spec.subset == "all"
    assert spec.sesoi_r == 0.1 and spec.sesoi_pct_per10 == 5.0
    assert spec.tests == {"C1": "pearson", "C2": "pearson", "C2-adj": "partial_lat_gdp",
                          "C3": "ols_adj_lat_gdp"}


def test_unknown_primary_outcome_refused():
    with pytest.raises(ConfigError, match=r"^configuration: key 'primary.outcome' = 'atlas2021' "
                                          r"is not a known outcome. Did you mean 'atlas2020'\?$"):
        load_config(overrides={"primary.outcome": "atlas2021"})


def test_primary_test_must_fit_the_claim():
    with pytest.raises(ConfigError, match=r"key 'primary.c1_test' = 'spearman' is not one of "
                                          r"pearson"):
        load_config(overrides={"primary.c1_test": "spearman"})


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
        "exposure": ["cloud_cover_pct", "a", "b", "c", "d", "a"],
        "outcome": "log_prevalence",
        "p_value": [0.001, 0.01, 0.04, 0.03, 0.20, np.nan], "note": ""})
    out = annotate_models(t)
    assert out["role"].tolist() == ["primary"] + ["exploratory"] * 5
    q = out["q_value"].tolist()
    assert np.isnan(q[0]) and np.isnan(q[5])
    assert q[1:5] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20], abs=1e-12)
    assert out["note"].iloc[0] == "p two-sided (t-test of r, n - 2 df)"


def test_c1_estimate_uses_the_models_bootstrap():
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"cloud_cover_pct": rng.uniform(10, 90, 70), "lon": rng.uniform(-170, 170, 70),
                      "lat": rng.uniform(-60, 60, 70)})
    d["prevalence_per_100k"] = np.exp(0.01 * d["cloud_cover_pct"] + rng.normal(0, 0.5, 70))
    out = claim_estimate(d, "C1", "prevalence_per_100k", PrimarySpec(n_boot=300, seed=5))
    x, y = d["cloud_cover_pct"].to_numpy(), np.log(d["prevalence_per_100k"].to_numpy())
    assert out["estimate"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert (out["ci_low"], out["ci_high"]) == bootstrap_ci(x, y, n_boot=300, seed=5)["pearson"]
    assert 3 <= out["n_eff"] <= 70


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
