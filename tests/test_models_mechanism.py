"""The mechanism test: clear-sky vs all-sky vitamin-D dose, measured preferred."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from geo_ms.models.mechanism import CLEAR, DERIVED, MEASURED, mechanism_test


def _doses(seed: int = 0, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(0, 60, n)
    cloud = rng.uniform(0, 1, n)
    clear = 10 - 0.1 * lat + rng.normal(0, 0.5, n)
    d = pd.DataFrame({"abs_latitude": lat, "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      CLEAR: clear, DERIVED: clear * (1 - 0.2 * rng.uniform(0, 1, n)),
                      MEASURED: clear * (1 - 0.6 * cloud)})
    # prevalence follows the measured all-sky dose
    d["prevalence_per_100k"] = np.exp(3 - 0.3 * d[MEASURED] + rng.normal(0, 0.2, n))
    return d


def test_measured_dose_is_used_and_wins():
    out = mechanism_test(_doses())
    assert out["label"] == "measured" and out["allsky"] == MEASURED
    assert out["verdict"] == "supported" and out["beats"]
    assert "measured cloud-modified dose" in out["claim_row"]["caveat"]


def test_aic_and_r2_by_hand():
    d = _doses()
    out = mechanism_test(d)
    for key, dose in (("clear", CLEAR), ("allsky", MEASURED)):
        X = sm.add_constant(pd.DataFrame({dose: d[dose], "a": d["abs_latitude"],
                                          "g": np.log(d["gdp_per_capita"])}))
        res = sm.OLS(np.log(d["prevalence_per_100k"]), X).fit()
        assert out["aic"][key] == pytest.approx(res.aic, rel=1e-12)
        assert out["r2"][key] == pytest.approx(res.rsquared, rel=1e-12)
    rows = out["rows"].set_index("model")
    assert rows.loc["mechanism_allsky", "aic"] == pytest.approx(out["aic"]["allsky"])


def test_derived_dose_without_measured_column_says_not_independent():
    d = _doses().drop(columns=MEASURED)
    d["prevalence_per_100k"] = np.exp(3 - 0.3 * d[CLEAR]
                                      + np.random.default_rng(1).normal(0, 0.2, len(d)))
    out = mechanism_test(d)
    assert out["label"] == "derived"
    assert out["verdict"] == "not supported"  # clear-sky fits better
    assert "not independent of that cloud field" in out["claim_row"]["caveat"]


def test_missing_dose_gives_none():
    assert mechanism_test(_doses().drop(columns=[CLEAR])) is None
