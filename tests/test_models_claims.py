"""The claims table: columns, pre-specified tests and verdicts on planted data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo_ms.models.claims import CLAIM_COLUMNS, claims_table
from geo_ms.models.mechanism import mechanism_test
from geo_ms.models.primary import PrimarySpec
from geo_ms.models.verdicts import VERDICTS, pct_per10


def _planted(seed: int = 8, n: int = 150, cloud_effect: float = 0.0) -> pd.DataFrame:
    # cloud and UV follow latitude; prevalence follows latitude (and cloud if asked)
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-45, 65, n)
    cloud = 40 + 0.5 * np.abs(lat) + rng.normal(0, 5, n)
    return pd.DataFrame({
        "region_id": [f"C{i}" for i in range(n)],
        "abs_latitude": np.abs(lat),
        "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
        "lon": rng.uniform(-170, 170, n),
        "lat": lat,
        "cloud_cover_pct": cloud,
        "uv_index": 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, n),
        "prevalence_per_100k": np.exp(1 + 0.05 * np.abs(lat) + cloud_effect * cloud
                                      + rng.normal(0, 0.4, n)),
    })


SPEC = PrimarySpec(n_boot=200)


def test_columns_and_rows():
    t = claims_table(None, _planted(), spec=SPEC, outcome_label="GBD 2016 prevalence")
    assert tuple(t.columns) == CLAIM_COLUMNS
    assert t["claim_id"].tolist() == ["C1", "C2", "C2-adj", "C3", "C4"]
    assert set(t["verdict"]) <= set(VERDICTS)
    assert (t.loc[t["claim_id"] != "C4", "outcome"] == "GBD 2016 prevalence").all()
    assert t.set_index("claim_id").loc["C4", "verdict"] == "not testable with regional data"
    assert t.set_index("claim_id").loc["C1", "rule"].startswith(
        "not supported if the CI upper bound is below 0.1 (Pearson r")


def test_planted_confounding():
    # crude cloud and UV associations are strong, nothing is left after adjustment
    t = claims_table(None, _planted(), spec=SPEC).set_index("claim_id")
    assert t.loc["C1", "verdict"] == "supported"
    assert t.loc["C2", "verdict"] == "supported"
    assert t.loc["C2-adj", "verdict"] == "explained by confounding"
    assert t.loc["C3", "verdict"] == "explained by confounding"
    assert t.loc["C1", "n"] == 150


def test_planted_cloud_effect_survives_adjustment():
    # + 2 % per point of cloud = 100 (exp(0.2) - 1) = 22.1 % per 10 points
    d = _planted(seed=3, n=200, cloud_effect=0.02)
    t = claims_table(None, d, spec=SPEC).set_index("claim_id")
    assert t.loc["C3", "verdict"] == "supported"
    assert t.loc["C3", "ci_low"] < pct_per10(0.02) < t.loc["C3", "ci_high"]
    assert t.loc["C3", "ci_low_spatial"] < pct_per10(0.02) < t.loc["C3", "ci_high_spatial"]


def test_c3_estimate_is_the_hc3_coefficient_in_percent_per_10_points():
    import statsmodels.api as sm

    d = _planted()
    X = sm.add_constant(pd.DataFrame({"c": d["cloud_cover_pct"], "a": d["abs_latitude"],
                                      "g": np.log(d["gdp_per_capita"])}))
    res = sm.OLS(np.log(d["prevalence_per_100k"]), X).fit(cov_type="HC3", use_t=True)
    lo, hi = res.conf_int().loc["c"]
    row = claims_table(None, d, spec=SPEC).set_index("claim_id").loc["C3"]
    assert row["estimate"] == pytest.approx(100 * math.expm1(10 * res.params["c"]), abs=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (100 * math.expm1(10 * lo), 100 * math.expm1(10 * hi)), abs=1e-9)


def test_negative_cloud_correlation_not_supported():
    d = _planted(seed=4)
    d["cloud_cover_pct"] = 100 - d["cloud_cover_pct"]
    t = claims_table(None, d, spec=SPEC).set_index("claim_id")
    assert t.loc["C1", "verdict"] == "not supported"


def test_mechanism_row_appended():
    d = _planted()
    d["vitd_uv_clear"] = 10 - 0.1 * d["abs_latitude"] + np.random.default_rng(1).normal(0, .5, len(d))
    d["vitd_uv_allsky"] = d["vitd_uv_clear"] * (1 - d["cloud_cover_pct"] / 200)
    mech = mechanism_test(d)
    t = claims_table(None, d, spec=SPEC, mechanism=mech)
    row = t.set_index("claim_id").loc["C5-mechanism"]
    assert row["verdict"] == mech["verdict"]
    assert "derived from the clear-sky dose and the cloud field under test" in row["caveat"]
