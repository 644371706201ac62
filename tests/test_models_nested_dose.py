"""The nested mechanism test (C5): planted coefficients recovered, statsmodels agrees, and
the verdict can go either way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from geo_ms.errors import SchemaError
from geo_ms.models.nested_dose import nested_dose, nested_dose_claim
from geo_ms.models.plan import Claim


def _table(b_factor: float, n: int = 150, seed: int = 11, noise: float = 0.15) -> pd.DataFrame:
    """log prev = 4 - 0.6 log clear + b_factor log factor + 0.25 log GDP + noise."""
    rng = np.random.default_rng(seed)
    clear = rng.uniform(1500, 9000, n)
    factor = rng.uniform(0.35, 0.95, n)
    gdp = np.exp(rng.normal(9, 1.1, n))
    logp = 4 - 0.6 * np.log(clear) + b_factor * np.log(factor) + 0.25 * np.log(gdp) \
        + rng.normal(0, noise, n)
    return pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "vitd_uv_clear": clear,
                         "vitd_uv_allsky": clear * factor, "gdp_per_capita": gdp,
                         "prevalence_per_100k": np.exp(logp)})


def _statsmodels(t: pd.DataFrame) -> sm.regression.linear_model.RegressionResultsWrapper:
    X = pd.DataFrame({"const": 1.0, "lc": np.log(t["vitd_uv_clear"]),
                      "lf": np.log(t["vitd_uv_allsky"] / t["vitd_uv_clear"]),
                      "lg": np.log(t["gdp_per_capita"])})
    return sm.OLS(np.log(t["prevalence_per_100k"]), X).fit(cov_type="HC3")


def test_planted_coefficients_and_statsmodels_agree():
    t = _table(b_factor=1.0)
    out = nested_dose(t, "prevalence_per_100k", allsky="vitd_uv_allsky")
    ref = _statsmodels(t)
    ci = ref.conf_int(alpha=0.05)
    est, lo, hi = out["cloud_factor"]
    assert est == pytest.approx(ref.params["lf"], rel=1e-10)
    assert out["dose"][0] == pytest.approx(ref.params["lc"], rel=1e-10)
    # HC3 standard error identical; t-based interval (use_t) slightly wider than normal
    se = (hi - lo) / 2 / float(__import__("scipy").stats.t.ppf(0.975, ref.df_resid))
    assert se == pytest.approx(ref.bse["lf"], rel=1e-10)
    assert lo < ci.loc["lf", 0] < ci.loc["lf", 1] < hi
    # the planted values lie in the intervals
    assert lo < 1.0 < hi
    assert out["dose"][1] < -0.6 < out["dose"][2]
    assert out["n"] == 150 and out["r2"] == pytest.approx(ref.rsquared)
    assert out["vif"] == pytest.approx(1.0, abs=0.2)  # factor drawn independently of dose


C5 = Claim("C5-mechanism", "clouds act through vitamin D", "vitd_uv_allsky", "negative",
           "nested_dose", adjust=("log_gdp_per_capita",), clear_sky="vitd_uv_clear")


@pytest.mark.parametrize("b, verdict", [
    (-1.0, "supported"),      # more attenuation, more MS: the mechanism's sign
    (1.0, "contradicted"),    # more attenuation, less MS: the reverse
    (0.0, "inconclusive"),
])
def test_the_test_can_fail_both_ways(b, verdict):
    out = nested_dose_claim(_table(b_factor=b), C5, "prevalence_per_100k")
    assert out["verdict"] == verdict
    assert out["claim_id"] == "C5-mechanism" and out["n"] == 150
    assert "cloud-factor coefficient" in out["detail"]


def test_not_identifiable_when_the_factor_follows_the_dose():
    t = _table(b_factor=1.0)
    rng = np.random.default_rng(2)
    # cloud factor almost a function of the clear-sky dose (like cloud following latitude)
    factor = 0.3 + 0.6 * (t["vitd_uv_clear"] - 1500) / 7500 * (1 + rng.normal(0, 0.01, len(t)))
    t["vitd_uv_allsky"] = t["vitd_uv_clear"] * factor
    out = nested_dose_claim(t, C5, "prevalence_per_100k")
    assert out["vif"] > 10 and out["verdict"] == "not identifiable between regions"


def test_missing_and_nonpositive_doses_are_dropped():
    t = _table(b_factor=1.0, n=40)
    t.loc[0, "vitd_uv_allsky"] = 0.0
    t.loc[1, "vitd_uv_clear"] = np.nan
    out = nested_dose(t, "prevalence_per_100k", allsky="vitd_uv_allsky")
    assert out["n"] == 38 and out["n_dropped"] == 2
    ref = _statsmodels(t.drop(index=[0, 1]))
    assert out["cloud_factor"][0] == pytest.approx(ref.params["lf"], rel=1e-10)
    few = nested_dose(t.head(5), "prevalence_per_100k", allsky="vitd_uv_allsky")
    assert np.isnan(few["cloud_factor"][0]) and few["result"] is None


def test_missing_column_named():
    with pytest.raises(SchemaError, match=r"missing column\(s\) 'vitd_uv_allsky_measured' "
                                          r"needed for the nested dose test"):
        nested_dose(_table(0.0, n=20), "prevalence_per_100k", allsky="vitd_uv_allsky_measured")
