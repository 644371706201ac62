"""Robustness members on hand-made tables with known answers, against statsmodels / spreg."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from geo_ms.models.plan import Claim
from geo_ms.models.registry import run_test
from geo_ms.models.robustness import influence, member_results, r_of_coef, refit

ADJ = ("abs_latitude", "log_gdp_per_capita")


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(23)
    n = 84
    lat = rng.uniform(-55, 65, n)
    d = pd.DataFrame({"region_id": [f"R{i:02d}" for i in range(n)], "name": [f"n{i}" for i in range(n)],
                      "lat": lat, "lon": rng.uniform(-170, 170, n), "abs_latitude": np.abs(lat),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "subregion": np.repeat(["A", "B", "C", "D", "E", "F", "G"], 12),
                      "cloud": rng.uniform(20, 80, n)})
    d["cloud_popw"] = d["cloud"] + rng.normal(0, 3, n)
    d["ms"] = np.exp(0.03 * d["abs_latitude"] + 0.01 * d["cloud"] + rng.normal(0, 0.3, n))
    return d


def by_member(results):
    return {(r.member, r.variant): r for r in results}


def test_r_of_coef_is_the_partial_r_at_the_ols_estimate(table):
    y = np.log(table["ms"].to_numpy())
    x = table["cloud"].to_numpy()
    Z = sm.add_constant(table[["abs_latitude"]].to_numpy())
    rx, ry = sm.OLS(x, Z).fit().resid, sm.OLS(y, Z).fit().resid
    b = float(rx @ ry / (rx @ rx))
    s_x, s_e = math.sqrt(rx @ rx), math.sqrt(((ry - b * rx) ** 2).sum())
    assert r_of_coef(b, s_x, s_e) == pytest.approx(np.corrcoef(rx, ry)[0, 1], abs=1e-12)
    assert r_of_coef(2 * b, s_x, s_e) > r_of_coef(b, s_x, s_e)  # monotone


def test_subregion_fe_against_statsmodels_cluster(table):
    c = Claim("C3", "t", "cloud", "positive", "ols_adjusted", ADJ, 5.0)
    est, why = refit(table, c, "ms", "subregion_fe")
    assert why == ""
    X = pd.concat([table[["cloud", "abs_latitude"]],
                   np.log(table["gdp_per_capita"]).rename("lg"),
                   pd.get_dummies(table["subregion"], drop_first=True, dtype=float)], axis=1)
    res = sm.OLS(np.log(table["ms"]), sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(table["subregion"])[0]},
        use_t=True)
    lo, hi = res.conf_int().loc["cloud"]
    assert est.estimate == pytest.approx(100 * math.expm1(10 * res.params["cloud"]), rel=1e-9)
    assert (est.ci_low, est.ci_high) == pytest.approx(
        (100 * math.expm1(10 * lo), 100 * math.expm1(10 * hi)), rel=1e-9)
    assert est.n == len(table)


def test_spatial_error_against_spreg(table):
    import spreg

    from geo_ms.models.spatial import knn_weights

    c = Claim("C3", "t", "cloud", "positive", "ols_adjusted", ADJ, 5.0)
    est, _ = refit(table, c, "ms", "spatial_error", knn=5)
    w = knn_weights(table["lon"].to_numpy(), table["lat"].to_numpy(), k=5)
    X = np.column_stack([table["cloud"], table["abs_latitude"], np.log(table["gdp_per_capita"])])
    m = spreg.ML_Error(np.log(table[["ms"]].to_numpy()), X, w, method="full")
    b = float(np.ravel(m.betas)[1])
    assert est.estimate == pytest.approx(100 * math.expm1(10 * b), rel=1e-6)


def test_members_transform_the_inputs(table):
    c = Claim("C1", "t", "cloud", "positive", "pearson", sesoi=0.1)
    common = table.iloc[:40]
    raw = table.copy()
    raw.loc[0, "ms"] = 0.005
    members = ("common_sample", "popw", "main_territory", "ancestry", "low_reported_rates",
               "leave_one_subregion_out", "subregion_fe")
    res = by_member(member_results(table, c, "ms", members, common=common, raw=raw,
                                   set_aside=1))
    # common sample: the registry test on the 40 rows
    assert res[("common_sample", "")].estimate.n == 40
    assert res[("common_sample", "")].estimate.estimate == pytest.approx(
        np.corrcoef(common["cloud"], np.log(common["ms"]))[0, 1], abs=1e-12)
    # popw: the _popw column
    assert res[("popw", "")].estimate.estimate == pytest.approx(
        np.corrcoef(table["cloud_popw"], np.log(table["ms"]))[0, 1], abs=1e-12)
    # missing columns: not run, with the reason
    assert res[("main_territory", "")].status == \
        "not run: no column cloud_mainterr in the analysis table"
    assert res[("ancestry", "")].status == ("not run: no column ancestry_europe_share in the "
                                            "analysis table (covariate not joined)")
    assert res[("main_territory", "")].verdict == ""
    # set-aside rates put back: the raw table
    assert res[("low_reported_rates", "")].estimate.estimate == pytest.approx(
        np.corrcoef(raw["cloud"], np.log(raw["ms"]))[0, 1], abs=1e-12)
    # one run per sub-region left out
    loso = [k for k in res if k[0] == "leave_one_subregion_out"]
    assert sorted(v for _, v in loso) == [f"without {g}" for g in "ABCDEFG"]
    without_a = table[table["subregion"] != "A"]
    assert res[("leave_one_subregion_out", "without A")].estimate.estimate == pytest.approx(
        np.corrcoef(without_a["cloud"], np.log(without_a["ms"]))[0, 1], abs=1e-12)
    # a crude claim under fixed effects is judged on the partial-r scale
    fe = res[("subregion_fe", "")].estimate
    assert -1 < fe.ci_low < fe.estimate < fe.ci_high < 1


def test_covariate_member_makes_a_crude_claim_partial(table):
    t = table.assign(ancestry_europe_share=np.linspace(0, 1, len(table)))
    c = Claim("C1", "t", "cloud", "positive", "pearson", sesoi=0.1)
    res = by_member(member_results(t, c, "ms", ("ancestry",)))
    want = run_test(t, Claim("C1", "t", "cloud", "positive", "partial",
                             ("ancestry_europe_share",), 0.1), "ms")
    assert res[("ancestry", "")].estimate.estimate == pytest.approx(want.estimate, abs=1e-12)
    assert res[("ancestry", "")].status == "ran"


def test_no_set_aside_rate_is_not_run(table):
    c = Claim("C1", "t", "cloud", "positive", "pearson", sesoi=0.1)
    (r,) = member_results(table, c, "ms", ("low_reported_rates",), raw=table, set_aside=0)
    assert r.status == ("not run: no value of this outcome was set aside below "
                        "outcomes.min_plausible_per_100k")


def test_influence_against_statsmodels_dfbetas(table):
    c = Claim("C3", "t", "cloud", "positive", "ols_adjusted", ADJ, 5.0)
    t = table.copy()
    t.loc[5, ["cloud", "ms"]] = [95.0, 0.5]
    got = influence(t, c, "ms", top=10)
    X = sm.add_constant(np.column_stack([t["cloud"], t["abs_latitude"],
                                         np.log(t["gdp_per_capita"])]))
    dfb = sm.OLS(np.log(t["ms"]), X).fit().get_influence().dfbetas[:, 1]
    order = np.argsort(-np.abs(dfb))[:10]
    assert got["region_id"].tolist() == t["region_id"].to_numpy()[order].tolist()
    assert got["dfbetas"].to_numpy() == pytest.approx(dfb[order], rel=1e-9)
    assert got["region_id"].iloc[0] == "R05"
    assert got["rank"].tolist() == list(range(1, 11))
