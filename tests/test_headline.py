"""The headline numbers and verdicts, recomputed from analysis_table.csv without geo_ms.

For every claim C1, C2, C2-adj and C3 and every MS outcome of triangulation.csv (GBD
2016 and the Atlas of MS editions, among them Atlas 2020), this test recomputes with
numpy / scipy / statsmodels only, and a small reference implementation of Dutilleul's
effective sample size written from its formula (Dutilleul 1993):

- the point estimate (Pearson r, partial r, the HC3 OLS coefficient in % per 10
  points) and its iid 95 % CI (Fisher z for partial r, HC3 t for the coefficient; the
  bootstrap CI of r against scipy's percentile bootstrap, within Monte-Carlo error);
- the effective sample size n_eff and the spatially corrected CI (Fisher z on n_eff for
  r; HC3 SE × sqrt((n-k-1)/(n_eff-k-1)) with t on n_eff-k-1 df for the coefficient);
- the verdict, by the rules as the docstrings of geo_ms.models.verdicts state them.

It fails if any of these numbers or verdicts in claims.csv or triangulation.csv
differs, and checks C4 (fixed) and C5-mechanism (AIC rule) the same way.
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
SIGN = {"C1": 1, "C2": -1, "C2-adj": -1, "C3": 1}
EXPOSURE = {"C1": "cloud_cover_pct", "C2": "uv_index", "C2-adj": "uv_index",
            "C3": "cloud_cover_pct"}
Z975 = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def tables(full_run):
    snap = full_run["snapshot"]
    return {"table": pd.read_csv(snap / "analysis_table.csv"),
            "claims": pd.read_csv(snap / "claims.csv").set_index("claim_id"),
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


def directional(ci: tuple[float, float], s: int, delta: float) -> str:
    """verdicts.directional_verdict as its docstring states it."""
    toward, away = max(s * ci[0], s * ci[1]), min(s * ci[0], s * ci[1])
    if toward < delta:
        return "not supported"
    return "supported" if away > 0 else "inconclusive"


def confounding(crude: tuple[float, float, float], adj: tuple[float, float, float], s: int,
                delta: float) -> str:
    """verdicts.confounding_verdict as its docstring states it (attenuation 0.5)."""
    a_est, a_lo, a_hi = s * adj[0], min(s * adj[1], s * adj[2]), max(s * adj[1], s * adj[2])
    if a_hi < 0:
        return "not supported"
    c_est, c_lo = s * crude[0], min(s * crude[1], s * crude[2])
    attenuated = (a_est > 0 and abs(a_est) <= 0.5 * abs(c_est)) or a_est <= 0
    if c_lo > 0 and a_lo <= 0 <= a_hi and attenuated:
        return "explained by confounding"
    return directional((adj[1], adj[2]), s, delta)


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
                "spatial": sp, "n_eff": n_eff, "verdict": directional(sp, s, DELTA_R)}
    d = complete(table, column, [x_name, "abs_latitude", "gdp_per_capita"])
    n = len(d)
    x, y = d[x_name].to_numpy(), np.log(d[column].to_numpy())
    lon, lat = d["lon"].to_numpy(), d["lat"].to_numpy()
    Z = sm.add_constant(np.column_stack([d["abs_latitude"], np.log(d["gdp_per_capita"])]))
    rx, ry = sm.OLS(x, Z).fit().resid, sm.OLS(y, Z).fit().resid
    n_eff = ref_n_eff(rx, ry, lon, lat)
    n_eff_crude = ref_n_eff(x, y, lon, lat)
    if claim == "C2-adj":
        r = float(stats.pearsonr(rx, ry).statistic)
        sp = fisher(r, n_eff, k=2)
        r_c = float(stats.pearsonr(x, y).statistic)
        crude = (r_c, *fisher(r_c, n_eff_crude))
        return {"n": n, "estimate": r, "ci": fisher(r, n, k=2), "ci_tol": 1e-9, "spatial": sp,
                "n_eff": n_eff, "verdict": confounding(crude, (r, *sp), s, DELTA_R)}
    X = np.column_stack([Z, x])
    res = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)
    b, se = float(res.params[-1]), float(res.bse[-1])
    lo, hi = res.conf_int()[-1]
    crude = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC3", use_t=True)
    bc, sec = float(crude.params[-1]), float(crude.bse[-1])
    sp = coef_ci(b, se, n, n_eff, k=3)
    crude_sp = coef_ci(bc, sec, n, n_eff_crude, k=1)
    verdict = confounding((bc, *crude_sp), (b, *sp), s, math.log1p(DELTA_PCT / 100) / 10)
    return {"n": n, "estimate": pct(b), "ci": (pct(lo), pct(hi)), "ci_tol": 1e-9,
            "spatial": (pct(sp[0]), pct(sp[1])), "n_eff": n_eff, "verdict": verdict}


def _column(outcome_id: str) -> str:
    return "prevalence_per_100k" if outcome_id == "gbd2016_prev" else f"ms_{outcome_id}"


def _check(row: pd.Series, want: dict, where: str) -> None:
    assert int(row["n"]) == want["n"], where
    assert row["estimate"] == pytest.approx(want["estimate"], abs=1e-9), where
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(want["ci"], abs=want["ci_tol"]), where
    assert row["n_eff"] == pytest.approx(want["n_eff"], rel=1e-8), where
    assert (row["ci_low_spatial"], row["ci_high_spatial"]) == pytest.approx(
        want["spatial"], abs=1e-6), where
    assert row["verdict"] == want["verdict"], where


# ---------------------------------------------------------------- the tests

@pytest.mark.parametrize("claim", ["C1", "C2", "C2-adj", "C3"])
def test_every_outcome_recomputed(tables, claim):
    table, claims, tri = tables["table"], tables["claims"], tables["tri"]
    rows = tri[tri["claim_id"] == claim]
    assert rows["outcome"].iloc[0] == "gbd2016_prev"  # the primary outcome first
    assert {"gbd2016_prev", "atlas2020"} <= set(rows["outcome"])
    for row in rows.itertuples(index=False):
        row = pd.Series(row._asdict())
        want = recompute(table, _column(row["outcome"]), claim)
        _check(row, want, f"{claim} on {row['outcome']}")
        if row["outcome"] == "gbd2016_prev":
            _check(claims.loc[claim], want, f"{claim} in claims.csv")


def test_atlas2020_c1_is_the_atlas_value(tables):
    # the numbers the article's claim rests on differ by source: Atlas 2020 r is positive
    tri = tables["tri"].set_index(["claim_id", "outcome"])
    assert tri.loc[("C1", "atlas2020"), "estimate"] == pytest.approx(
        recompute(tables["table"], "ms_atlas2020", "C1")["estimate"], abs=1e-12)
    assert tri.loc[("C1", "atlas2020"), "estimate"] > 0 > tri.loc[("C1", "gbd2016_prev"),
                                                                 "estimate"]


def test_agreement_counts_from_the_verdicts(tables):
    tri, claims = tables["tri"], tables["claims"]
    independent = {"gbd2016_prev", "atlas2020", "atlas2013", "atlas2008"}
    for claim in ("C1", "C2", "C2-adj", "C3"):
        rows = tri[(tri["claim_id"] == claim) & tri["estimate"].notna()
                   & tri["outcome"].isin(independent)]
        primary = claims.loc[claim, "verdict"]
        k = int((rows["verdict"] == primary).sum())
        assert claims.loc[claim, "agreement"].startswith(
            f"agrees in {k} of {len(rows)} independent sources"), claim


def test_c4_and_the_mechanism_by_their_rules(tables):
    table, claims = tables["table"], tables["claims"]
    assert claims.loc["C4", "verdict"] == "not testable with regional data"
    dose = claims.loc["C5-mechanism", "exposure"]
    d = complete(table, "prevalence_per_100k",
                 ["vitd_uv_clear", dose, "abs_latitude", "gdp_per_capita"])
    y = np.log(d["prevalence_per_100k"])
    fits = {}
    for key, col in (("clear", "vitd_uv_clear"), ("allsky", dose)):
        X = sm.add_constant(np.column_stack([d[col], d["abs_latitude"],
                                             np.log(d["gdp_per_capita"])]))
        fits[key] = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)
    lo, hi = np.asarray(fits["allsky"].conf_int())[1]
    delta_aic = fits["clear"].aic - fits["allsky"].aic
    want = ("not supported" if delta_aic <= -2 else
            "supported" if delta_aic >= 2 and max(lo, hi) < 0 else "inconclusive")
    row = claims.loc["C5-mechanism"]
    assert int(row["n"]) == len(d)
    assert row["estimate"] == pytest.approx(np.asarray(fits["allsky"].params)[1], rel=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    assert row["verdict"] == want
