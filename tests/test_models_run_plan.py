"""Running the plan: co-primary outcomes, samples, set-aside rates, direction counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geo_ms.models.plan import Claim, Plan, default_plan
from geo_ms.models.run_plan import (
    CLAIM_COLUMNS,
    ROBUSTNESS_COLUMNS,
    direction_text,
    outcome_kind,
    run_plan,
    set_aside_low_rates,
)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(31)
    n = 80
    d = pd.DataFrame({"region_id": [f"R{i:02d}" for i in range(n)],
                      "name": [f"n{i}" for i in range(n)],
                      "lon": rng.uniform(-170, 170, n), "lat": rng.uniform(-60, 60, n),
                      "subregion": np.repeat(list("ABCDEFGH"), 10),
                      "cloud": rng.uniform(10, 90, n)})
    d["prevalence_per_100k"] = np.exp(3 + 0.02 * d["cloud"] + rng.normal(0, 0.3, n))
    atlas = d["prevalence_per_100k"] * np.exp(rng.normal(0, 0.5, n))
    d["ms_atlas2020"] = atlas.where(np.arange(n) % 2 == 0)  # reported in 40 countries
    d.loc[[0, 2], "ms_atlas2020"] = [0.009, 0.5]  # implausibly low: set aside
    return d


PLAN = Plan((Claim("C1", "cloud claim", "cloud", "positive", "pearson", sesoi=0.1),
             Claim("C4", "dosing", "", "positive", "not_testable")),
            robustness=(("C1", ("common_sample", "low_reported_rates", "ancestry")),))


def r_of(d, col):
    return stats.pearsonr(d["cloud"], np.log(d[col])).statistic


def test_set_aside_low_rates_lists_and_blanks(table):
    out, gone = set_aside_low_rates(table, 1.0)
    assert gone["region_id"].tolist() == ["R00", "R02"]
    assert gone["value"].tolist() == [0.009, 0.5]
    assert gone["reason"].str.startswith("below outcomes.min_plausible_per_100k = 1").all()
    assert out.loc[[0, 2], "ms_atlas2020"].isna().all()
    assert out["prevalence_per_100k"].equals(table["prevalence_per_100k"])  # modelled: kept
    assert table.loc[0, "ms_atlas2020"] == 0.009  # input untouched


def test_rows_per_outcome_and_sample(table):
    res = run_plan(table, PLAN, n_boot=0)
    c = res.claims
    assert list(c.columns) == list(CLAIM_COLUMNS)
    c1 = c[c["claim_id"] == "C1"]
    assert c1[["outcome_id", "outcome_kind", "sample"]].values.tolist() == [
        ["gbd2016_prev", "modelled", "all"], ["atlas2020", "reported", "all"],
        ["gbd2016_prev", "modelled", "common"], ["atlas2020", "reported", "common"],
        ["gbd2016_prev", "modelled", "modelled_only"]]
    assert c1["headline"].tolist() == [True, False, False, False, False]
    low, _ = set_aside_low_rates(table, 1.0)
    common = low[low["ms_atlas2020"].notna()]
    modelled_only = table[table["ms_atlas2020"].isna()]
    want = {("gbd2016_prev", "all"): (80, r_of(table, "prevalence_per_100k")),
            ("atlas2020", "all"): (38, r_of(common, "ms_atlas2020")),
            ("gbd2016_prev", "common"): (38, r_of(common, "prevalence_per_100k")),
            ("atlas2020", "common"): (38, r_of(common, "ms_atlas2020")),
            ("gbd2016_prev", "modelled_only"): (40, r_of(modelled_only, "prevalence_per_100k"))}
    for r in c1.itertuples():
        n, est = want[(r.outcome_id, r.sample)]
        assert r.n == n and r.estimate == pytest.approx(est, abs=1e-12), (r.outcome_id, r.sample)
    assert (c["plan_hash"] == PLAN.hash).all()
    assert (c["provenance"] == "post hoc").all()
    c4 = c[c["claim_id"] == "C4"].iloc[0]
    assert c4["verdict"] == "not testable with regional data" and c4["headline"]


def test_robustness_rows_and_label(table):
    res = run_plan(table, PLAN, n_boot=0)
    rob = res.robustness
    assert list(rob.columns) == list(ROBUSTNESS_COLUMNS)
    got = {(r.outcome, r.member): r for r in rob.itertuples()}
    # low reported rates: only the reported outcome had values set aside
    assert got[("gbd2016_prev", "low_reported_rates")].status.startswith("not run: no value")
    lr = got[("atlas2020", "low_reported_rates")]
    assert lr.status == "ran" and lr.n == 40
    assert lr.estimate == pytest.approx(r_of(table[table["ms_atlas2020"].notna()],
                                             "ms_atlas2020"), abs=1e-12)
    assert got[("atlas2020", "ancestry")].status.startswith("not run: no column")
    # the common-sample member is the common-sample row
    c = res.claims.set_index(["claim_id", "outcome_id", "sample"])
    assert got[("gbd2016_prev", "common_sample")].estimate == pytest.approx(
        c.loc[("C1", "gbd2016_prev", "common"), "estimate"], abs=1e-12)
    for oid in ("gbd2016_prev", "atlas2020"):
        row = c.loc[("C1", oid, "all")]
        ran = rob[(rob["outcome"] == oid) & (rob["status"] == "ran")]
        differ = ran[ran["verdict"] != row["verdict"]]
        assert row["robustness"] == ("fragile" if len(differ) else "robust")
        for m in differ["member"]:
            assert m in row["members_differing"]
    assert (c.xs("common", level="sample")["robustness"] == "not assessed").all()


def test_direction_text_counts_only_cis_excluding_zero():
    rows = pd.DataFrame({"estimate": [-0.12, 0.26], "lo": [-0.5, -0.2], "hi": [0.3, 0.6]})
    # two inconclusive results: nothing excludes 0, no agreement claimed
    assert direction_text(rows, 1).startswith(
        "direction: 0 of 2 sources exclude 0 in the claimed direction, 0 in the opposite one")
    rows = pd.DataFrame({"estimate": [-14.0, -10.0], "lo": [-20.0, -27.0], "hi": [-7.0, 10.0]})
    assert direction_text(rows, 1, decimals=0) == (
        "direction: 0 of 2 sources exclude 0 in the claimed direction, 1 in the opposite one; "
        "estimates from \u221214 to \u221210")
    # correlations: two decimals
    assert direction_text(pd.DataFrame({"estimate": [0.0482, 0.213], "lo": [-0.3, -0.2],
                                        "hi": [0.4, 0.6]}), 1).endswith(
        "estimates from 0.05 to 0.21")


def test_agreement_on_the_common_sample(table):
    res = run_plan(table, PLAN, n_boot=0)
    tri = res.triangulation
    common = tri[(tri["sample"] == "common") & tri["represents_family"]]
    assert common["outcome"].tolist() == ["gbd2016_prev", "atlas2020"]
    c = res.claims
    text = c.loc[(c["claim_id"] == "C1") & (c["sample"] == "all"), "agreement"].iloc[0]
    lo, hi = common["ci_low_spatial"], common["ci_high_spatial"]
    k, j = int((lo > 0).sum()), int((hi < 0).sum())
    assert text.startswith(f"direction: {k} of 2 sources exclude 0 in the claimed direction, "
                           f"{j} in the opposite one")
    assert "agrees in" not in text


def test_outcome_kinds():
    assert [outcome_kind(o) for o in ("gbd2016_prev", "gbd2016_inc", "atlas2020",
                                      "atlas2008_adj")] == ["modelled", "modelled",
                                                            "reported", "reported"]


def test_default_plan_rows_carry_its_hash(table):
    t = table.rename(columns={"cloud": "cloud_cover_pct"})
    plan = Plan(tuple(c for c in default_plan().claims if c.id in ("C1", "C4")))
    res = run_plan(t, plan, n_boot=0, robustness=False, plan_hash=default_plan().hash)
    assert (res.claims["plan_hash"] == default_plan().hash).all()


def _planted(seed: int = 8, n: int = 150, cloud_effect: float = 0.0) -> pd.DataFrame:
    # cloud and UV follow latitude; prevalence follows latitude (and cloud if asked)
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-45, 65, n)
    cloud = 40 + 0.5 * np.abs(lat) + rng.normal(0, 5, n)
    return pd.DataFrame({
        "region_id": [f"C{i}" for i in range(n)], "abs_latitude": np.abs(lat),
        "gdp_per_capita": np.exp(rng.normal(9, 1, n)), "lon": rng.uniform(-170, 170, n),
        "lat": lat, "cloud_cover_pct": cloud,
        "prevalence_per_100k": np.exp(1 + 0.05 * np.abs(lat) + cloud_effect * cloud
                                      + rng.normal(0, 0.4, n))})


def _headline(table: pd.DataFrame) -> pd.DataFrame:
    plan = Plan(tuple(c for c in default_plan().claims if c.id in ("C1", "C3", "C4")))
    res = run_plan(table, plan, n_boot=200, robustness=False)
    return res.claims[res.claims["headline"].astype(bool)].set_index("claim_id")


def test_planted_confounding_is_explained():
    # crude cloud association strong, nothing left after |latitude| and log GDP
    t = _headline(_planted())
    assert t.loc["C1", "verdict"] == "supported"
    assert t.loc["C3", "verdict"] == "explained by confounding"
    assert t.loc["C3", "vif"] < 10 and t.loc["C1", "n"] == 150
    assert t.loc["C4", "verdict"] == "not testable with regional data"


def test_planted_cloud_effect_survives_adjustment():
    from geo_ms.models.verdicts import pct_per10

    # + 2 % per point of cloud = 100 (exp(0.2) - 1) = 22.1 % per 10 points
    t = _headline(_planted(seed=3, n=200, cloud_effect=0.02))
    assert t.loc["C3", "verdict"] == "supported"
    assert t.loc["C3", "ci_low"] < pct_per10(0.02) < t.loc["C3", "ci_high"]
    assert t.loc["C3", "ci_low_spatial"] < pct_per10(0.02) < t.loc["C3", "ci_high_spatial"]


def test_planted_reverse_effect_is_contradicted():
    t = _headline(_planted(seed=5, n=200, cloud_effect=-0.03))
    assert t.loc["C3", "verdict"] == "contradicted"
    assert t.loc["C3", "ci_high_spatial"] < 0


def test_a_zero_outcome_value_is_refused_with_the_column_named():
    from geo_ms.errors import SchemaError

    d = _planted()
    d.loc[0, "prevalence_per_100k"] = 0.0
    with pytest.raises(SchemaError, match=r"column 'prevalence_per_100k' has 1 value\(s\) <= 0"):
        _headline(d)


def test_specification_rows_on_the_reported_outcome():
    import statsmodels.api as sm

    from geo_ms.models.run_plan import specification_rows
    from geo_ms.models.speccurve import curve_from_models

    d = _planted(seed=2, n=90, cloud_effect=0.01).rename(
        columns={"prevalence_per_100k": "ms_atlas2020"})
    rows = specification_rows(d, ["cloud_cover_pct"], "ms_atlas2020").set_index("model")
    y = np.log(d["ms_atlas2020"])
    X = sm.add_constant(pd.concat([d[["cloud_cover_pct", "abs_latitude"]],
                                   np.log(d["gdp_per_capita"]).rename("lg")], axis=1))
    res = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)
    assert rows.loc["ols_adj_lat_gdp", "estimate"] == pytest.approx(res.params["cloud_cover_pct"],
                                                                     rel=1e-10)
    assert (rows.loc["ols_adj_lat_gdp", "ci_low"], rows.loc["ols_adj_lat_gdp", "ci_high"]) == \
        pytest.approx(tuple(res.conf_int().loc["cloud_cover_pct"]), rel=1e-10)
    Z = sm.add_constant(d[["abs_latitude"]])
    rx = sm.OLS(d["cloud_cover_pct"], Z).fit().resid
    ry = sm.OLS(y, Z).fit().resid
    assert rows.loc["partial_lat", "estimate"] == pytest.approx(np.corrcoef(rx, ry)[0, 1],
                                                                 abs=1e-12)
    assert (rows["outcome"] == "log_ms_atlas2020").all()
    curve = curve_from_models(rows.reset_index())
    assert set(curve["outcome"]) == {"log_ms_atlas2020"}
    assert len(curve[curve["claim_id"] == "C1"]) == 3 and len(curve[curve["claim_id"] == "C3"]) == 3
