"""The headline numbers, recomputed from analysis_table.csv without geo_ms.

The default run's primary estimates of C1-C3 (and C2-adj) on GBD prevalence, and on
Atlas of MS 2020 when the table has ``ms_atlas2020``, are recomputed here with
numpy / scipy / statsmodels only: point estimates and HC3 / Fisher CIs must match
claims.csv and triangulation.csv to 1e-9, and the bootstrap and spatially corrected
CIs must contain the recomputed estimate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

pytestmark = pytest.mark.slow

OUTCOMES = [("gbd2016_prev", "prevalence_per_100k"), ("atlas2020", "ms_atlas2020")]


@pytest.fixture(scope="module")
def tables(full_run):
    snap = full_run["snapshot"]
    return {"table": pd.read_csv(snap / "analysis_table.csv"),
            "claims": pd.read_csv(snap / "claims.csv").set_index("claim_id"),
            "tri": pd.read_csv(snap / "triangulation.csv")}


def _complete(table: pd.DataFrame, outcome: str, cols: list[str]) -> pd.DataFrame:
    d = table[[outcome, *cols, "lon", "lat"]].copy()
    if "gdp_per_capita" in cols:
        d = d[d["gdp_per_capita"] > 0]
    d = d.dropna()
    return d[d[outcome] > 0]


def _recompute(table: pd.DataFrame, outcome: str, claim: str) -> tuple[float, float, float, int]:
    """(estimate, iid low, iid high, n); iid CI NaN for the bootstrapped r."""
    if claim in ("C1", "C2"):
        x = "cloud_cover_pct" if claim == "C1" else "uv_index"
        d = _complete(table, outcome, [x])
        r = stats.pearsonr(d[x], np.log(d[outcome])).statistic
        return float(r), math.nan, math.nan, len(d)
    x = "cloud_cover_pct" if claim == "C3" else "uv_index"
    d = _complete(table, outcome, [x, "abs_latitude", "gdp_per_capita"])
    y = np.log(d[outcome])
    Z = sm.add_constant(pd.DataFrame({"a": d["abs_latitude"], "g": np.log(d["gdp_per_capita"])}))
    if claim == "C2-adj":
        rx = sm.OLS(d[x], Z).fit().resid
        ry = sm.OLS(y, Z).fit().resid
        r = stats.pearsonr(rx, ry).statistic
        half = stats.norm.ppf(0.975) / math.sqrt(len(d) - 2 - 3)
        return (float(r), math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half),
                len(d))
    X = pd.concat([d[[x]], Z], axis=1)
    res = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)
    lo, hi = res.conf_int().loc[x]
    pct = [100 * math.expm1(10 * v) for v in (res.params[x], lo, hi)]
    return pct[0], pct[1], pct[2], len(d)


@pytest.mark.parametrize("claim", ["C1", "C2", "C2-adj", "C3"])
def test_primary_estimates_recomputed(tables, claim):
    # GBD always; Atlas of MS 2020 when the ingest side put ms_atlas2020 in the table
    table, claims, tri = tables["table"], tables["claims"], tables["tri"]
    checked = []
    for outcome_id, column in OUTCOMES:
        if column not in table.columns:
            continue
        est, lo, hi, n = _recompute(table, column, claim)
        rows = [tri[(tri["claim_id"] == claim) & (tri["outcome"] == outcome_id)].iloc[0]]
        if outcome_id == "gbd2016_prev":
            rows.append(claims.loc[claim])
        for row in rows:
            assert int(row["n"]) == n
            assert row["estimate"] == pytest.approx(est, abs=1e-9)
            if not math.isnan(lo):
                assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
            else:  # bootstrap CI
                assert row["ci_low"] < est < row["ci_high"]
            assert row["ci_low_spatial"] < est < row["ci_high_spatial"]
        checked.append(outcome_id)
    assert checked[0] == "gbd2016_prev"


def test_headline_verdicts_are_from_the_rules(tables):
    claims = tables["claims"]
    assert claims.loc["C4", "verdict"] == "not testable with regional data"
    assert claims.loc["C5-mechanism", "verdict"] in {"supported", "not supported",
                                                     "inconclusive"}
    # the primary outcome's verdict is the triangulation row of the primary outcome
    tri = tables["tri"]
    for cid in ("C1", "C2", "C2-adj", "C3"):
        prim = tri[(tri["claim_id"] == cid) & (tri["outcome"] == "gbd2016_prev")].iloc[0]
        assert prim["verdict"] == claims.loc[cid, "verdict"]
        assert claims.loc[cid, "agreement"].startswith("agrees in ")
