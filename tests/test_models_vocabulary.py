"""The plan's verdict vocabulary: directional words, identifiability (VIF), confounding on
the coefficient scale, robust/fragile. Values by hand or from statsmodels/scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.outliers_influence import variance_inflation_factor

from geo_ms.config import load_config
from geo_ms.errors import ConfigError
from geo_ms.models.verdicts import (
    VOCABULARY,
    explained_by_confounding,
    identifiable,
    plan_rule_text,
    plan_verdict,
    robustness_label,
    vif,
    vocabulary_verdict,
)


@pytest.mark.parametrize("est, lo, hi, sign, delta, expected", [
    # C1 as the issue describes it: r = -0.12, CI reaching 0 — the CI excludes r >= 0.1
    (-0.12, -0.26, 0.02, 1, 0.1, "not supported"),
    # C3: -14 % per 10 points, CI [-22, -5]: significantly the opposite of the claim
    (-14.0, -22.0, -5.0, 1, 5.0, "contradicted"),
    (0.30, 0.12, 0.46, 1, 0.1, "supported"),
    (0.05, -0.05, 0.25, 1, 0.1, "inconclusive"),          # wide CI both sides
    (0.06, 0.02, 0.09, 1, 0.1, "not supported"),          # significant but below δ
    (0.06, 0.02, 0.09, 1, None, "supported"),             # no δ: significance suffices
    (0.02, -0.05, 0.08, 1, None, "inconclusive"),         # no δ: no "not supported"
    (-0.40, -0.55, -0.22, -1, 0.1, "supported"),          # "more UV, less MS"
    (0.20, 0.05, 0.35, -1, 0.1, "contradicted"),
    (-0.05, -0.08, 0.0, 1, 0.1, "not supported"),         # bound exactly 0: not contradicted
    (math.nan, -0.1, 0.2, 1, 0.1, "inconclusive"),
])
def test_vocabulary_verdict(est, lo, hi, sign, delta, expected):
    assert vocabulary_verdict(est, lo, hi, expected_sign=sign, delta=delta) == expected


def test_vocabulary_is_symmetric_in_the_claimed_sign():
    rng = np.random.default_rng(7)
    for _ in range(200):
        lo, hi = np.sort(rng.normal(0, 0.3, 2))
        est = (lo + hi) / 2
        assert (vocabulary_verdict(est, lo, hi, expected_sign=1, delta=0.1)
                == vocabulary_verdict(-est, -hi, -lo, expected_sign=-1, delta=0.1))


def test_every_word_is_in_the_vocabulary():
    words = {vocabulary_verdict(*t, delta=0.1) for t in
             [(0.3, 0.1, 0.5), (-0.3, -0.5, -0.1), (0.0, -0.05, 0.05), (0.1, -0.1, 0.3)]}
    words |= {plan_verdict(0.1, 0.0, 0.2, vif_value=30.0),
              plan_verdict(0.0, -0.1, 0.1, crude=(0.3, 0.1, 0.5))}
    assert words <= set(VOCABULARY) and len(words) == 6


def _table(n: int = 120, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(0, 65, n)
    gdp = np.exp(rng.normal(9, 1, n) + 0.02 * lat)
    uv = 12 - 0.16 * lat + rng.normal(0, 0.4, n)
    return pd.DataFrame({"uv_index": uv, "abs_latitude": lat, "gdp_per_capita": gdp,
                         "cloud": rng.uniform(20, 80, n)})


def test_vif_matches_statsmodels():
    t = _table()
    t["log_gdp_per_capita"] = np.log(t["gdp_per_capita"])
    for adjust in (["abs_latitude"], ["abs_latitude", "log_gdp_per_capita"],
                   ["abs_latitude", "log_gdp_per_capita", "cloud"]):
        exog = np.column_stack([np.ones(len(t)), t[["uv_index", *adjust]].to_numpy(float)])
        want = variance_inflation_factor(exog, 1, standardize=False)
        assert vif(t, "uv_index", adjust) == pytest.approx(want, rel=1e-9)
    # log GDP derived from gdp_per_capita when the column is absent
    assert vif(t.drop(columns="log_gdp_per_capita"), "uv_index",
               ["abs_latitude", "log_gdp_per_capita"]) == pytest.approx(
        vif(t, "uv_index", ["abs_latitude", "log_gdp_per_capita"]), rel=1e-12)


def test_vif_with_one_covariate_is_one_over_one_minus_r_squared():
    t = _table()
    r = stats.pearsonr(t["uv_index"], t["abs_latitude"]).statistic
    assert r < -0.95  # UV is latitude under another name, as between countries
    assert vif(t, "uv_index", ["abs_latitude"]) == pytest.approx(1 / (1 - r**2), rel=1e-9)
    assert not identifiable(vif(t, "uv_index", ["abs_latitude"]))
    assert identifiable(vif(t, "cloud", ["abs_latitude"]))


def test_vif_edge_cases():
    t = _table(30)
    t.loc[[0, 5], "abs_latitude"] = np.nan
    complete = t.dropna()
    exog = np.column_stack([np.ones(len(complete)), complete[["uv_index", "abs_latitude"]]])
    assert vif(t, "uv_index", ["abs_latitude"]) == pytest.approx(
        variance_inflation_factor(exog, 1, standardize=False), rel=1e-9)
    t["twice"] = 2 * t["uv_index"] + 1
    assert vif(t, "uv_index", ["twice"]) == math.inf
    assert vif(t, "uv_index", []) == 1.0
    assert math.isnan(vif(t.head(3), "uv_index", ["abs_latitude"]))


def test_explained_by_confounding_on_the_coefficient_scale():
    crude = (0.012, 0.006, 0.018)
    assert explained_by_confounding(crude, (0.004, -0.002, 0.010))      # 1/3 of crude
    assert not explained_by_confounding(crude, (0.008, -0.002, 0.018))  # 2/3: not attenuated
    assert explained_by_confounding(crude, (-0.001, -0.007, 0.005))     # sign flipped
    assert not explained_by_confounding(crude, (0.004, 0.001, 0.007))   # still significant
    assert explained_by_confounding((-0.4, -0.5, -0.3), (-0.1, -0.2, 0.05), expected_sign=-1)


def test_plan_verdict_order():
    # VIF above models.max_vif wins over any CI
    assert plan_verdict(-0.3, -0.5, -0.1, expected_sign=-1, delta=0.1, vif_value=22.0) \
        == "not identifiable between regions"
    assert plan_verdict(-0.3, -0.5, -0.1, expected_sign=-1, delta=0.1, vif_value=22.0,
                        max_vif=25.0) == "supported"
    # a significant reversal after adjustment is contradicted, not confounding
    assert plan_verdict(-0.015, -0.025, -0.005, crude=(0.01, 0.005, 0.015)) == "contradicted"
    assert plan_verdict(0.002, -0.004, 0.008, crude=(0.01, 0.005, 0.015), delta=0.1) \
        == "explained by confounding"
    # no attenuation: the adjusted estimate is judged on its own
    assert plan_verdict(0.009, -0.001, 0.019, crude=(0.01, 0.005, 0.015)) == "inconclusive"


def test_rule_text_names_every_word():
    text = plan_rule_text(5.0, "% per 10 points", adjusted=True, max_vif=10)
    for word in (("not identifiable between regions if the exposure's VIF given the "
                  "adjustment set exceeds 10"), "supported if",
                 "contradicted if it excludes 0 and is negative", "explained by confounding",
                 "not supported if it excludes every effect of 5 or more", "else inconclusive"):
        assert word in text, word
    assert "VIF" not in plan_rule_text(0.1, "r", -1)


def test_robustness_label():
    members = {"common_sample": "contradicted", "subregion_fe": "inconclusive",
               "leave_one_subregion_out": "inconclusive", "ancestry": None, "popw": ""}
    assert robustness_label("contradicted", members) == (
        "fragile", ["subregion_fe", "leave_one_subregion_out"])
    assert robustness_label("contradicted", {"common_sample": "contradicted"}) == ("robust", [])
    assert robustness_label("supported", {"ancestry": None}) == ("not assessed", [])


def test_max_vif_is_a_checked_configuration_key():
    assert load_config()["models"]["max_vif"] == 10.0
    with pytest.raises(ConfigError, match=r"'models\.max_vif' = 0\.5 is out of range "
                                          r"\(must be at least 1\)"):
        load_config(overrides={"models.max_vif": 0.5})
