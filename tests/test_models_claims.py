"""The claims table: verdict rules (each verdict reachable) and the table built from models."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo_ms.models import fit_all
from geo_ms.models.claims import (
    CLAIM_COLUMNS,
    DOSING_CAVEAT,
    VERDICTS,
    claims_table,
    verdict_for_adjusted,
    verdict_for_correlation,
)


@pytest.mark.parametrize(
    ("r", "lo", "hi", "sign", "verdict"),
    [
        (0.40, 0.20, 0.60, 1, "supported"),
        (-0.40, -0.60, -0.20, 1, "not supported"),
        (0.01, -0.06, 0.08, 1, "not supported"),  # CI tight around 0 (within ±0.1)
        (0.10, -0.20, 0.40, 1, "inconclusive"),
        (-0.50, -0.70, -0.30, -1, "supported"),  # UV: a negative r is the claim
        (0.30, 0.10, 0.50, -1, "not supported"),
        (math.nan, math.nan, math.nan, 1, "inconclusive"),
    ],
)
def test_verdict_for_correlation(r, lo, hi, sign, verdict):
    assert verdict_for_correlation(r, lo, hi, expected_sign=sign) == verdict


def test_tight_band_is_a_parameter():
    assert verdict_for_correlation(0.05, -0.15, 0.2, tight=0.25) == "not supported"
    assert verdict_for_correlation(0.05, -0.15, 0.2, tight=0.1) == "inconclusive"


POS, NULL, NEG, WIDE = (0.02, 0.01, 0.03), (0.0, -0.005, 0.005), (-0.02, -0.03, -0.01), (
    0.01, -0.02, 0.04)


@pytest.mark.parametrize(
    ("crude", "adjusted", "spatial", "verdict"),
    [
        (POS, POS, None, "supported"),
        (POS, POS, POS, "supported"),
        (POS, POS, NULL, "inconclusive"),  # the spatial model disagrees
        (POS, NULL, None, "explained by confounding"),
        (POS, NEG, None, "explained by confounding"),  # flips
        (NEG, NEG, None, "not supported"),
        (NEG, NULL, None, "not supported"),
        (NULL, NEG, None, "not supported"),
        (WIDE, WIDE, None, "inconclusive"),
        (POS, (math.nan,) * 3, None, "inconclusive"),
    ],
)
def test_verdict_for_adjusted(crude, adjusted, spatial, verdict):
    assert verdict_for_adjusted(crude, adjusted, spatial) == verdict


def test_every_verdict_reachable():
    seen = {verdict_for_correlation(0.4, 0.2, 0.6), verdict_for_correlation(-0.4, -0.6, -0.2),
            verdict_for_correlation(0.1, -0.2, 0.4), verdict_for_adjusted(POS, NULL)}
    assert seen == set(VERDICTS)


def _models(rows: list[tuple]) -> pd.DataFrame:
    cols = ["model", "exposure", "n", "estimate", "ci_low", "ci_high", "p_value"]
    m = pd.DataFrame(rows, columns=cols)
    m["subset"] = "all"
    m["outcome"] = "log_prevalence"
    return m


def test_claims_table_constructed_confounding():
    m = _models([
        ("pearson", "cloud_cover_pct", 150, 0.35, 0.2, 0.5, 1e-5),
        ("pearson", "uv_index", 160, -0.6, -0.7, -0.5, 1e-12),
        ("ols", "cloud_cover_pct", 148, 0.03, 0.02, 0.04, 1e-6),
        ("ols_adj_lat_gdp", "cloud_cover_pct", 148, 0.002, -0.008, 0.012, 0.7),
        ("moran_resid", "cloud_cover_pct", 148, 0.08, math.nan, math.nan, 0.2),
    ])
    df = pd.DataFrame({"region_id": range(170)})
    t = claims_table(m, df)
    assert t.columns.tolist() == list(CLAIM_COLUMNS)
    assert t["claim_id"].tolist() == ["C1", "C2", "C3", "C4"]
    assert t["verdict"].tolist() == ["supported", "supported", "explained by confounding",
                                     "inconclusive"]
    assert t["n"].tolist()[:3] == [150, 160, 148] and pd.isna(t["n"].iloc[3])
    c1, c3 = t.iloc[0], t.iloc[2]
    assert "There is a higher rate of MS patients in countries where the climates are cloudier" \
        in c1["claim"]
    assert (c1["estimate"], c1["ci_low"], c1["ci_high"]) == (0.35, 0.2, 0.5)
    assert c1["test"].endswith("Rule: supported if the CI excludes 0 and r > 0; not supported "
                               "if the CI excludes 0 with the other sign, or the CI lies within "
                               "±0.1; otherwise inconclusive.")
    assert "r < 0" in t.iloc[1]["test"]
    assert c3["estimate"] == 0.002
    assert "no spatial model needed (residual Moran's I=0.080, p=0.2)" in c3["test"]
    assert "explained by confounding if the crude coefficient is positive" in c3["test"]
    for caveat in t["caveat"].iloc[:3]:
        assert caveat.startswith("Ecological fallacy")
        assert "model outputs" in caveat and "diagnostic access" in caveat
    assert "Based on 150 of 170 regions." in c1["caveat"]
    # C1's caveat quotes the adjusted coefficient of the same exposure.
    assert c1["caveat"].endswith("the cloud cover coefficient is 0.002 [-0.008, 0.012] (HC3 95% "
                                 "CI): a crude correlation alone cannot separate it from "
                                 "latitude.")
    c4 = t.iloc[3]
    assert c4["verdict"] == "inconclusive"
    assert c4["caveat"] == DOSING_CAVEAT == (
        "individual dosing cannot be tested with regional data; 4,000 IU/day is the adult "
        "tolerable upper intake")
    assert "14,000 IU" in c4["claim"] and "40,000 IU" in c4["claim"]


def test_claims_table_spatial_model_disagrees():
    m = _models([
        ("pearson", "cloud_cover_pct", 150, 0.35, 0.2, 0.5, 1e-5),
        ("ols", "cloud_cover_pct", 148, 0.03, 0.02, 0.04, 1e-6),
        ("ols_adj_lat_gdp", "cloud_cover_pct", 148, 0.02, 0.01, 0.03, 1e-3),
        ("spatial_error", "cloud_cover_pct", 148, 0.005, -0.005, 0.015, 0.3),
    ])
    t = claims_table(m, pd.DataFrame({"region_id": range(150)})).set_index("claim_id")
    assert t.loc["C3", "verdict"] == "inconclusive"
    assert "spatial error model coefficient 0.005 [-0.005, 0.015]" in t.loc["C3", "test"]
    # no UV column at all: C2 cannot be tested
    assert t.loc["C2", "verdict"] == "inconclusive"
    assert t.loc["C2", "test"].endswith("No estimate was available.")


def test_claims_table_negative_cloud_correlation_not_supported():
    m = _models([("pearson", "cloud_fraction_modis_pct", 120, -0.3, -0.45, -0.15, 1e-3)])
    t = claims_table(m, pd.DataFrame({"region_id": range(120)}))
    assert t.iloc[0]["verdict"] == "not supported"
    assert "with cloud_fraction_modis_pct" in t.iloc[0]["test"]


def test_claims_from_fit_all_on_planted_confounding():
    # cloud follows latitude, prevalence follows latitude only: crude association,
    # nothing left after adjustment
    rng = np.random.default_rng(8)
    n = 120
    lat = rng.uniform(-45, 65, n)
    df = pd.DataFrame({
        "region_id": [f"C{i}" for i in range(n)],
        "continent": rng.choice(["Europe", "Africa", "Asia"], n),
        "abs_latitude": np.abs(lat),
        "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
        "lon": rng.uniform(-170, 170, n),
        "lat": lat,
        "cloud_cover_pct": 40 + 0.5 * np.abs(lat) + rng.normal(0, 5, n),
        "uv_index": 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, n),
        "prevalence_per_100k": np.exp(1 + 0.05 * np.abs(lat) + rng.normal(0, 0.4, n)),
    })
    models = fit_all(df, {"n_boot": 200, "permutations": 199})
    t = claims_table(models, df).set_index("claim_id")
    assert t["verdict"].to_dict() == {"C1": "supported", "C2": "supported",
                                      "C3": "explained by confounding", "C4": "inconclusive"}
    assert t.loc["C1", "n"] == n
