"""The headline numbers and verdicts, recomputed from analysis_table.csv without geo_ms.

For every claim C1, C2, C2-adj and C3, every MS outcome of triangulation.csv (GBD 2016
and the Atlas of MS editions) and every sample of claims.csv (all regions; the common
sample of the two co-primary outcomes GBD 2016 and Atlas 2020; GBD on the regions
without a reported Atlas 2020 value), this test recomputes with numpy / scipy /
statsmodels only, and a small reference implementation of Dutilleul's effective
sample size written from its formula (Dutilleul 1993):

- the samples: reported rates below outcomes.min_plausible_per_100k (1.0) set aside;
- the point estimate (Pearson r, partial r, the HC3 OLS coefficient in % per 10
  points) and its iid 95 % CI (Fisher z for partial r, HC3 t for the coefficient; the
  bootstrap CI of r against scipy's percentile bootstrap, within Monte-Carlo error);
- the effective sample size n_eff and the spatially corrected CI (Fisher z on n_eff for
  r; HC3 SE × sqrt((n-k-1)/(n_eff-k-1)) with t on n_eff-k-1 df for the coefficient);
- the exposure's VIF given |latitude| and log GDP (the population grid's
  population-weighted |latitude| when the run has the grid);
- the verdict, by the plan's rules as docs/analysis_plan.md states them;
- the direction count on the common sample (no vote counting).

It fails if any of these numbers or verdicts in claims.csv or triangulation.csv
differs, and checks C4 (fixed) and C5-mechanism (the nested dose model) the same way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from reference_dutilleul import ref_n_eff
from scipy import stats

pytestmark = pytest.mark.slow

DELTA_R = 0.1  # models.sesoi_r
DELTA_PCT = 5.0  # models.sesoi_pct_per10
MAX_VIF = 10.0  # models.max_vif
FLOOR = 1.0  # outcomes.min_plausible_per_100k
SIGN = {"C1": 1, "C2": -1, "C2-adj": -1, "C3": 1}
EXPOSURE = {"C1": "cloud_cover_pct", "C2": "uv_index", "C2-adj": "uv_index",
            "C3": "cloud_cover_pct"}
REPORTED = ("ms_atlas2020", "ms_atlas2013", "ms_atlas2008", "ms_atlas2020_adj",
            "ms_atlas2013_adj", "ms_atlas2008_adj")
Z975 = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def tables(full_run):
    snap = full_run["snapshot"]
    raw = pd.read_csv(snap / "analysis_table.csv")
    table = raw.copy()
    for col in REPORTED:
        if col in table:
            table.loc[table[col] < FLOOR, col] = np.nan
    both = table["prevalence_per_100k"].notna() & table["ms_atlas2020"].notna()
    return {"raw": raw, "table": table,
            "samples": {"all": table, "common": table[both],
                        "modelled_only": table[raw["ms_atlas2020"].isna()]},
            "claims": pd.read_csv(snap / "claims.csv"),
            "tri": pd.read_csv(snap / "triangulation.csv")}


# ---------------------------------------------------------------- reference rules

def fisher(r: float, n: float, k: int = 0) -> tuple[float, float]:
    if n - k - 3 <= 0:
        return -1.0, 1.0
    half = Z975 / math.sqrt(n - k - 3)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def coef_ci(b: float, se: float, n: int, n_eff: float, k: int) -> tuple[float, float]:
    dof = n_eff - k - 1
    if dof <= 0:
        return -math.inf, math.inf
    half = stats.t.ppf(0.975, dof) * se * math.sqrt((n - k - 1) / dof)
    return b - half, b + half


def pct(b: float) -> float:
    return 100 * math.expm1(10 * b)


def plan_rule(ci: tuple[float, float], s: int, delta: float | None, vif: float = math.nan,
              crude: tuple[float, float, float] | None = None,
              adjusted: tuple[float, float, float] | None = None) -> str:
    """The plan's verdict as docs/analysis_plan.md states it, in its order."""
    if vif > MAX_VIF:
        return "not identifiable between regions"
    toward, away = max(s * ci[0], s * ci[1]), min(s * ci[0], s * ci[1])
    if toward < 0:
        return "contradicted"
    if crude is not None:
        c_lo = min(s * crude[1], s * crude[2])
        a_est = s * adjusted[0]
        a_lo, a_hi = min(s * adjusted[1], s * adjusted[2]), max(s * adjusted[1], s * adjusted[2])
        shrank = a_est <= 0 or abs(a_est) <= 0.5 * abs(s * crude[0])
        if c_lo > 0 and a_lo <= 0 <= a_hi and shrank:
            return "explained by confounding"
    if delta is not None and toward < delta:
        return "not supported"
    return "supported" if away > 0 else "inconclusive"


def complete(table: pd.DataFrame, outcome: str, cols: list[str]) -> pd.DataFrame:
    d = table[[outcome, *cols, "lon", "lat"]].apply(pd.to_numeric, errors="coerce")
    if "gdp_per_capita" in cols:
        d = d[d["gdp_per_capita"] > 0]
    d = d.dropna()
    return d[d[outcome] > 0]


def recompute(table: pd.DataFrame, column: str, claim: str) -> dict:
    """Everything the claim's row reports, from the table alone."""
    x_name = EXPOSURE[claim]
    s = SIGN[claim]
    if claim in ("C1", "C2"):
        d = complete(table, column, [x_name])
        x, y = d[x_name].to_numpy(), np.log(d[column].to_numpy())
        lon, lat = d["lon"].to_numpy(), d["lat"].to_numpy()
        r = float(stats.pearsonr(x, y).statistic)
        n_eff = ref_n_eff(x, y, lon, lat)
        sp = fisher(r, n_eff)
        boot = stats.bootstrap((x, y), lambda a, b: stats.pearsonr(a, b).statistic,
                               paired=True, vectorized=False, n_resamples=2000,
                               method="percentile", random_state=1).confidence_interval
        return {"n": len(d), "estimate": r, "ci": (boot.low, boot.high), "ci_tol": 0.05,
                "spatial": sp, "n_eff": n_eff, "vif": math.nan,
                "verdict": plan_rule(sp, s, DELTA_R)}
    # |latitude| of the people (the population grid's) when the run has the grid, else
    # of the label point
    lat_col = ("abs_latitude_popw" if "abs_latitude_popw_cities" in table.columns
               else "abs_latitude")
    d = complete(table, column, [x_name, lat_col, "gdp_per_capita"])
    n = len(d)
    x, y = d[x_name].to_numpy(), np.log(d[column].to_numpy())
    lon, lat = d["lon"].to_numpy(), d["lat"].to_numpy()
    Z = sm.add_constant(np.column_stack([d[lat_col], np.log(d["gdp_per_capita"])]))
    fx = sm.OLS(x, Z).fit()
    rx, ry = fx.resid, sm.OLS(y, Z).fit().resid
    vif = 1.0 / (1.0 - fx.rsquared)
    n_eff = ref_n_eff(rx, ry, lon, lat)
    n_eff_crude = ref_n_eff(x, y, lon, lat)
    res = sm.OLS(y, np.column_stack([Z, x])).fit(cov_type="HC3", use_t=True)
    b, se = float(res.params[-1]), float(res.bse[-1])
    lo, hi = res.conf_int()[-1]
    crude = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC3", use_t=True)
    bc, sec = float(crude.params[-1]), float(crude.bse[-1])
    adj_sp = (b, *coef_ci(b, se, n, n_eff, k=3))
    crude_sp = (bc, *coef_ci(bc, sec, n, n_eff_crude, k=1))
    if claim == "C2-adj":
        r = float(stats.pearsonr(rx, ry).statistic)
        sp = fisher(r, n_eff, k=2)
        return {"n": n, "estimate": r, "ci": fisher(r, n, k=2), "ci_tol": 1e-9, "spatial": sp,
                "n_eff": n_eff, "vif": vif,
                "verdict": plan_rule(sp, s, DELTA_R, vif, crude_sp, adj_sp)}
    sp = (pct(adj_sp[1]), pct(adj_sp[2]))
    return {"n": n, "estimate": pct(b), "ci": (pct(lo), pct(hi)), "ci_tol": 1e-9,
            "spatial": sp, "n_eff": n_eff, "vif": vif,
            "verdict": plan_rule(sp, s, DELTA_PCT, vif, crude_sp, adj_sp)}


def _column(outcome_id: str) -> str:
    return "prevalence_per_100k" if outcome_id == "gbd2016_prev" else f"ms_{outcome_id}"


def _check(row: pd.Series, want: dict, where: str) -> None:
    assert int(row["n"]) == want["n"], where
    assert row["estimate"] == pytest.approx(want["estimate"], abs=1e-9), where
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(want["ci"], abs=want["ci_tol"]), where
    assert row["n_eff"] == pytest.approx(want["n_eff"], rel=1e-8), where
    assert (row["ci_low_spatial"], row["ci_high_spatial"]) == pytest.approx(
        want["spatial"], abs=1e-6), where
    if "vif" in row and not math.isnan(want["vif"]):
        assert row["vif"] == pytest.approx(want["vif"], rel=1e-8), where
    assert row["verdict"] == want["verdict"], where


# ---------------------------------------------------------------- the tests

@pytest.mark.parametrize("claim", ["C1", "C2", "C2-adj", "C3"])
def test_every_outcome_and_sample_recomputed(tables, claim):
    claims, samples = tables["claims"], tables["samples"]
    rows = claims[claims["claim_id"] == claim]
    assert rows[["outcome_id", "sample"]].values.tolist() == [
        ["gbd2016_prev", "all"], ["atlas2020", "all"], ["gbd2016_prev", "common"],
        ["atlas2020", "common"], ["gbd2016_prev", "modelled_only"]]
    assert rows["outcome_kind"].tolist() == ["modelled", "reported", "modelled", "reported",
                                             "modelled"]
    assert rows["headline"].astype(bool).tolist() == [True, False, False, False, False]
    for _, row in rows.iterrows():
        want = recompute(samples[row["sample"]], _column(row["outcome_id"]), claim)
        _check(row, want, f"{claim} on {row['outcome_id']} ({row['sample']})")


@pytest.mark.parametrize("claim", ["C1", "C2", "C2-adj", "C3"])
def test_every_triangulation_outcome_recomputed(tables, claim):
    tri, samples = tables["tri"], tables["samples"]
    rows = tri[tri["claim_id"] == claim]
    assert rows["outcome"].iloc[0] == "gbd2016_prev"
    assert {"gbd2016_prev", "atlas2020", "atlas2013", "atlas2008"} <= set(rows["outcome"])
    for _, row in rows.iterrows():
        want = recompute(samples[row["sample"]], _column(row["outcome"]), claim)
        _check(row, want, f"{claim} on {row['outcome']} ({row['sample']}, triangulation)")


def test_low_reported_rates_set_aside(tables):
    raw, claims = tables["raw"], tables["claims"]
    low = int((raw["ms_atlas2020"] < FLOOR).sum())
    assert low > 0  # e.g. Niger 0.009 per 100,000
    row = claims[(claims["claim_id"] == "C1") & (claims["outcome_id"] == "atlas2020")
                 & (claims["sample"] == "all")].iloc[0]
    assert int(row["n"]) == len(complete(tables["table"], "ms_atlas2020", ["cloud_cover_pct"]))
    assert int(row["n"]) + low == len(complete(raw, "ms_atlas2020", ["cloud_cover_pct"]))


def test_atlas2020_c1_is_the_atlas_value(tables):
    # the numbers the article's claim rests on differ by source: Atlas 2020 r is positive
    c = tables["claims"].set_index(["claim_id", "outcome_id", "sample"])
    assert c.loc[("C1", "atlas2020", "all"), "estimate"] == pytest.approx(
        recompute(tables["table"], "ms_atlas2020", "C1")["estimate"], abs=1e-12)
    assert c.loc[("C1", "atlas2020", "all"), "estimate"] > 0 > c.loc[
        ("C1", "gbd2016_prev", "all"), "estimate"]


def test_direction_counts_on_the_common_sample(tables):
    tri, claims = tables["tri"], tables["claims"]
    for claim in ("C1", "C2", "C2-adj", "C3"):
        rows = tri[(tri["claim_id"] == claim) & (tri["sample"] == "common")
                   & tri["outcome"].isin(["gbd2016_prev", "atlas2020"])]
        s = SIGN[claim]
        lo, hi = s * rows["ci_low_spatial"], s * rows["ci_high_spatial"]
        k = int((np.minimum(lo, hi) > 0).sum())
        j = int((np.maximum(lo, hi) < 0).sum())
        text = claims[(claims["claim_id"] == claim) & (claims["sample"] == "all")][
            "agreement"].iloc[0]
        assert text.startswith(f"direction: {k} of 2 sources exclude 0 in the claimed "
                               f"direction, {j} in the opposite one"), claim
        assert "agrees in" not in text


def test_plan_hash_and_provenance(tables):
    from geo_ms.models.plan import default_plan

    claims = tables["claims"]
    assert (claims["plan_hash"] == default_plan().hash).all()
    # every outcome of the mirror was seen before the plan was frozen
    assert (claims["provenance"] == "post hoc").all()


def test_c4_and_the_nested_mechanism(tables):
    claims = tables["claims"]
    assert claims.loc[claims["claim_id"] == "C4", "verdict"].tolist() == [
        "not testable with regional data"]
    rows = claims[claims["claim_id"] == "C5-mechanism"]
    assert set(rows["outcome_id"]) == {"gbd2016_prev", "atlas2020"}
    for _, row in rows.iterrows():
        col = _column(row["outcome_id"])
        d = complete(tables["samples"][row["sample"]], col,
                     ["vitd_uv_clear", "vitd_uv_allsky", "gdp_per_capita"])
        d = d[(d["vitd_uv_clear"] > 0) & (d["vitd_uv_allsky"] > 0)]
        X = sm.add_constant(np.column_stack([
            np.log(d["vitd_uv_clear"]), np.log(d["vitd_uv_allsky"] / d["vitd_uv_clear"]),
            np.log(d["gdp_per_capita"])]))
        res = sm.OLS(np.log(d[col]), X).fit(cov_type="HC3", use_t=True)
        b = float(np.asarray(res.params)[2])
        lo, hi = np.asarray(res.conf_int())[2]
        where = f"C5 on {row['outcome_id']} ({row['sample']})"
        assert int(row["n"]) == len(d), where
        assert row["estimate"] == pytest.approx(b, rel=1e-9), where
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9), where
        r2 = sm.OLS(X[:, 2], np.delete(X, 2, axis=1)).fit().rsquared
        assert row["verdict"] == plan_rule((lo, hi), -1, None, 1 / (1 - r2)), where
