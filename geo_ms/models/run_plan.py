"""Run the analysis plan: claims, robustness, influence and triangulation frames.

:func:`run_plan` iterates the :class:`~geo_ms.models.plan.Plan`: each testable claim
runs its registry test (:mod:`~geo_ms.models.registry`) on each of its outcomes — on
all regions with the outcome, and for the two co-primary outcomes (GBD 2016,
modelled; Atlas of MS 2020, reported) also on their common sample, and GBD on the
regions without a reported Atlas 2020 value (``modelled_only``) — and is judged by
:func:`~geo_ms.models.registry.verdict`. Its ``[robustness]`` members
(:mod:`~geo_ms.models.robustness`) are re-run on each co-primary outcome and label the
verdict robust or fragile (:func:`~geo_ms.models.verdicts.robustness_label`).
Reported rates below ``outcomes.min_plausible_per_100k`` are set aside first
(:func:`set_aside_low_rates`). The columns are documented in ``docs/analysis_plan.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geo_ms.ingest.outcomes import OUTCOMES
from geo_ms.models.plan import CO_PRIMARY, SESOI_UNITS, TESTS, Claim, Plan
from geo_ms.models.registry import Estimate, run_test, verdict
from geo_ms.models.robustness import influence, member_results
from geo_ms.models.verdicts import (
    MAX_VIF,
    NOT_ASSESSED,
    NOT_TESTABLE,
    plan_rule_text,
    robustness_label,
)

__all__ = [
    "CLAIM_COLUMNS",
    "INFLUENCE_COLUMNS",
    "POST_HOC",
    "PROSPECTIVE",
    "ROBUSTNESS_COLUMNS",
    "SEEN_OUTCOMES",
    "TRIANGULATION_COLUMNS",
    "PlanResult",
    "direction_text",
    "outcome_column",
    "outcome_family",
    "outcome_kind",
    "run_plan",
    "set_aside_low_rates",
    "specification_rows",
    "with_latitude",
]

#: Columns of ``claims.csv`` (meanings: docs/analysis_plan.md).
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id", "claim", "outcome", "outcome_id", "outcome_kind", "sample", "headline",
    "exposure", "test", "rule", "estimate", "ci_low", "ci_high", "ci_low_spatial",
    "ci_high_spatial", "n", "n_eff", "vif", "verdict", "robustness", "members_differing",
    "agreement", "plan_hash", "provenance", "caveat",
)

#: Columns of ``robustness.csv``.
ROBUSTNESS_COLUMNS: tuple[str, ...] = (
    "claim_id", "outcome", "member", "variant", "status", "n", "estimate", "ci_low",
    "ci_high", "verdict", "detail")

#: Columns of ``influence.csv``.
INFLUENCE_COLUMNS: tuple[str, ...] = (
    "claim_id", "outcome", "rank", "region_id", "name", "subregion", "dfbetas")

#: Columns of ``triangulation.csv``.
TRIANGULATION_COLUMNS: tuple[str, ...] = (
    "claim_id", "outcome", "outcome_label", "outcome_kind", "family", "represents_family",
    "independent", "sample", "n", "estimate", "ci_low", "ci_high", "ci_low_spatial", "ci_high_spatial",
    "n_eff", "verdict")

#: Outcomes whose results were seen before the plan was frozen (docs/analysis_plan.md,
#: History): every verdict on them is post hoc.
SEEN_OUTCOMES: frozenset[str] = frozenset(OUTCOMES)
POST_HOC, PROSPECTIVE = "post hoc", "first analysed under the frozen plan"

#: Tests whose influential regions are written to influence.csv (for the claims with
#: robustness members: the primary claims).
INFLUENCE_TESTS: tuple[str, ...] = ("pearson", "partial", "ols_adjusted")

_ECOLOGICAL = (
    "Ecological fallacy: regional averages say nothing about an individual's risk; "
    "recorded prevalence follows diagnostic access (neurologists, MRI), which tracks wealth.")
_KIND_CAVEAT = {
    "modelled": "GBD prevalence values are model outputs (DisMod-MR), not counts; where no "
                "country reports a figure they rest on covariates, and whether those include "
                "latitude-like terms is unverified.",
    "reported": "Atlas of MS values are crude prevalences reported by national sources "
                "(different years and methods).",
}
_NESTED_CAVEAT = (
    "The derived all-sky dose is built from the cloud field under test; no measured "
    "all-sky UV climatology is in the data; ecological data cannot establish mediation.")


def outcome_kind(outcome_id: str) -> str:
    """``modelled`` for a GBD outcome, ``reported`` otherwise.

    >>> outcome_kind("gbd2016_prev"), outcome_kind("atlas2020")
    ('modelled', 'reported')
    """
    o = OUTCOMES.get(outcome_id)
    return "modelled" if (o.source if o else outcome_id).startswith("gbd") else "reported"


def outcome_family(outcome_id: str) -> str:
    """The source family: ``GBD`` or ``Atlas of MS`` (editions are one family).

    >>> outcome_family("atlas2013"), outcome_family("gbd2016_prev")
    ('Atlas of MS', 'GBD')
    """
    return "GBD" if outcome_kind(outcome_id) == "modelled" else "Atlas of MS"


def outcome_column(table: pd.DataFrame | Sequence[str], outcome_id: str) -> str | None:
    """The analysis-table column of an outcome (None when absent): ``prevalence_per_100k``
    for ``gbd2016_prev`` (the run's own MS table), ``ms_<id>`` otherwise.

    >>> outcome_column(["prevalence_per_100k", "ms_atlas2020"], "gbd2016_prev")
    'prevalence_per_100k'
    >>> outcome_column(["prevalence_per_100k"], "atlas2020") is None
    True
    """
    cols = table.columns if isinstance(table, pd.DataFrame) else list(table)
    col = "prevalence_per_100k" if outcome_id == "gbd2016_prev" else f"ms_{outcome_id}"
    return col if col in cols else None


def set_aside_low_rates(table: pd.DataFrame, floor: float,
                        outcome_ids: Sequence[str] | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Blank reported rates below *floor* per 100,000; list them with the reason.

    Only reported outcomes (:func:`outcome_kind`) are screened: a rate of 0.009 per
    100,000 is a reporting artefact, not a prevalence. A value <= 0 is always set aside
    (its logarithm is undefined). ``low_reported_rates`` puts back the values > 0.

    Returns
    -------
    table, set_aside
        A copy with those values NaN, and ``outcome, region_id, region_name, value,
        reason`` rows.

    >>> t = pd.DataFrame({"region_id": ["A", "B"], "name": ["a", "b"],
    ...                   "ms_atlas2020": [0.009, 50.0], "prevalence_per_100k": [0.5, 9.0]})
    >>> out, gone = set_aside_low_rates(t, 1.0)
    >>> out["ms_atlas2020"].tolist(), gone["region_id"].tolist(), out["prevalence_per_100k"].tolist()
    ([nan, 50.0], ['A'], [0.5, 9.0])
    """
    cols = ["outcome", "region_id", "region_name", "value", "reason"]
    out = table.copy()
    rows = []
    ids = outcome_ids if outcome_ids is not None else list(OUTCOMES)
    for oid in ids:
        col = f"ms_{oid}"
        if outcome_kind(oid) != "reported" or col not in out.columns:
            continue
        v = pd.to_numeric(out[col], errors="coerce")
        low = v.notna() & ((v < floor) | (v <= 0))
        for i in np.flatnonzero(low.to_numpy()):
            r = out.iloc[i]
            why = ("not above 0 (no logarithm)" if v.iloc[i] <= 0 else
                   f"below outcomes.min_plausible_per_100k = {floor:g} (implausibly low "
                   "reported rate; set aside, put back by the robustness member "
                   "low_reported_rates)")
            rows.append({"outcome": oid, "region_id": r.get("region_id", i),
                         "region_name": r.get("name", ""), "value": float(v.iloc[i]),
                         "reason": why})
        out.loc[low, col] = np.nan
    return out, pd.DataFrame(rows, columns=cols)


def with_latitude(plan: Plan, column: str) -> Plan:
    """*plan* with ``abs_latitude`` replaced by *column* in every adjustment set.

    >>> from geo_ms.models.plan import default_plan
    >>> p = with_latitude(default_plan(), "abs_latitude_popw")
    >>> p.claim("C3").adjust, p.claim("C1").adjust
    (('abs_latitude_popw', 'log_gdp_per_capita'), ())
    """
    import dataclasses

    claims = tuple(dataclasses.replace(c, adjust=tuple(column if a == "abs_latitude" else a
                                                       for a in c.adjust))
                   for c in plan.claims)
    return dataclasses.replace(plan, claims=claims)


def _num(v: float, decimals: int) -> str:
    """A signed number with *decimals* decimals and a real minus sign (``−0.84``)."""
    return f"{v:.{decimals}f}".replace("-", "\u2212")


def direction_text(rows: pd.DataFrame, sign: int, decimals: int = 2) -> str:
    """``direction: k of m sources exclude 0 in the claimed direction, j in the opposite
    one; estimates from a to b`` over *rows* (one per source, judged CIs).

    Two inconclusive results are not agreement: only CIs excluding 0 are counted.

    >>> r = pd.DataFrame({"estimate": [-0.1, 0.2], "lo": [-0.3, 0.05], "hi": [0.1, 0.35]})
    >>> direction_text(r, 1)
    'direction: 1 of 2 sources exclude 0 in the claimed direction, 0 in the opposite one; estimates from \u22120.10 to 0.20'

    *decimals*: 2 for correlations, 0 for % changes (the report's rounding).
    """
    ok = rows[np.isfinite(rows["estimate"].astype(float))]
    if ok.empty:
        return ""
    s = 1 if sign >= 0 else -1
    lo, hi = s * ok["lo"].astype(float), s * ok["hi"].astype(float)
    k = int((np.minimum(lo, hi) > 0).sum())
    j = int((np.maximum(lo, hi) < 0).sum())
    return (f"direction: {k} of {len(ok)} sources exclude 0 in the claimed direction, {j} in "
            f"the opposite one; estimates from {_num(ok['estimate'].min(), decimals)} to "
            f"{_num(ok['estimate'].max(), decimals)}")


@dataclass
class PlanResult:
    """The frames :func:`run_plan` returns (columns: the ``*_COLUMNS`` constants)."""

    claims: pd.DataFrame
    robustness: pd.DataFrame
    influence: pd.DataFrame
    triangulation: pd.DataFrame
    set_aside: pd.DataFrame
    estimates: dict[tuple[str, str, str], Estimate] = field(default_factory=dict)


def _rule(claim: Claim, max_vif: float) -> str:
    units = SESOI_UNITS[claim.test]
    text = plan_rule_text(claim.sesoi, units, claim.sign, max_vif=max_vif,
                          adjusted=claim.test in ("partial", "ols_adjusted", "nested_dose"))
    if claim.test == "nested_dose":
        text += "; judged on the log cloud factor's coefficient (HC3 CI)"
    elif claim.test in ("partial", "ols_adjusted"):
        text += ("; attenuation compares the crude and adjusted coefficients (log scale); "
                 "judged on the spatially corrected CI")
    else:
        text += "; judged on the spatially corrected CI"
    return text


def _fmt_members(differing: Sequence[str], results: Mapping[str, str]) -> str:
    return "; ".join(f"{m} ({results[m]})" for m in differing)


def run_plan(
    table: pd.DataFrame,
    plan: Plan,
    *,
    min_plausible: float = 1.0,
    max_vif: float = MAX_VIF,
    extra: Sequence[str] = (),
    n_boot: int = 2000,
    seed: int = 20161,
    min_regions: int = 10,
    knn: int = 6,
    ml_max_n: int | None = 2000,
    fe_column: str = "subregion",
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    fit_ids: Sequence[str] | None = None,
    robustness: bool = True,
    plan_hash: str | None = None,
    latitude: str = "abs_latitude",
) -> PlanResult:
    """Every claim of *plan* on its outcomes and samples, with robustness and influence.

    Parameters
    ----------
    table
        The analysis table (``prevalence_per_100k`` = GBD 2016 prevalence; ``ms_<id>``
        outcome columns; ``lon``/``lat``; covariates).
    plan
        The analysis plan.
    min_plausible
        ``outcomes.min_plausible_per_100k``: reported rates below it are set aside.
    max_vif, extra, n_boot, seed, min_regions, knn, ml_max_n, fe_column
        ``models.*`` settings (``ml_max_n``: ``models.spatial_ml_max_n``) (``extra``: ``models.extra_covariates`` present in *table*).
    labels, kinds
        Outcome id → label / kind overrides (a run whose ``prevalence_per_100k`` is a
        user table or the built-in sample).
    fit_ids
        Outcome ids of the triangulation (default every known outcome present).
    robustness
        False skips the members (tests, quick runs).
    plan_hash
        The hash written to ``plan_hash`` (default ``plan.hash``; a run that swaps the
        built-in sample's stand-in exposures keeps its configuration's hash).
    latitude
        The |latitude| column that stands for ``abs_latitude`` in every adjustment set:
        ``abs_latitude_popw`` when the run has a population grid (people, not the map
        label point), else ``abs_latitude``.

    Examples
    --------
    >>> from geo_ms.models.plan import Plan
    >>> rng = np.random.default_rng(4)
    >>> d = pd.DataFrame({"region_id": [f"R{i}" for i in range(60)],
    ...                   "cloud": rng.uniform(20, 80, 60), "lon": rng.uniform(-170, 170, 60),
    ...                   "lat": rng.uniform(-60, 60, 60)})
    >>> d["prevalence_per_100k"] = np.exp(0.03 * d["cloud"] + rng.normal(0, 0.3, 60))
    >>> d["ms_atlas2020"] = (d["prevalence_per_100k"] * 2).where(d.index % 2 == 0)
    >>> p = Plan((Claim("C1", "t", "cloud", "positive", "pearson", sesoi=0.1),))
    >>> res = run_plan(d, p, n_boot=0, robustness=False)
    >>> res.claims[["outcome_id", "sample", "n", "verdict"]].values.tolist()[:3]
    [['gbd2016_prev', 'all', 60, 'supported'], ['atlas2020', 'all', 30, 'supported'], ['gbd2016_prev', 'common', 30, 'supported']]
    """
    labels = {oid: o.label for oid, o in OUTCOMES.items()} | dict(labels or {})
    if latitude != "abs_latitude" and latitude in table.columns:
        plan = with_latitude(plan, latitude)
    kinds = dict(kinds or {})

    def kind(oid: str) -> str:
        return kinds.get(oid) or outcome_kind(oid)

    raw = table
    table, set_aside = set_aside_low_rates(raw, min_plausible)
    put_back = set_aside_low_rates(raw, 0.0)[0]  # the low rates back, values <= 0 still out
    kw = {"extra": tuple(extra), "min_regions": min_regions}
    gbd_col = outcome_column(table, CO_PRIMARY[0])
    rep_col = outcome_column(table, CO_PRIMARY[1])
    common = None
    if gbd_col and rep_col:
        both = table[gbd_col].notna() & table[rep_col].notna()
        common = table[both]
    modelled_only = table[raw[rep_col].isna()] if (gbd_col and rep_col) else None

    rows: list[dict[str, Any]] = []
    rob_rows: list[dict[str, Any]] = []
    infl_rows: list[pd.DataFrame] = []
    ests: dict[tuple[str, str, str], Estimate] = {}

    for claim in plan.claims:
        if not claim.testable:
            rows.append({"claim_id": claim.id, "claim": claim.text, "outcome": "",
                         "outcome_id": "", "outcome_kind": "", "sample": "", "headline": True,
                         "exposure": "", "test": "None: the data are regional prevalences, "
                         "not individual doses or outcomes.",
                         "rule": "fixed: regional data cannot test individual dosing",
                         "verdict": NOT_TESTABLE, "robustness": NOT_ASSESSED,
                         "members_differing": "", "agreement": "",
                         "provenance": POST_HOC,
                         "caveat": "individual dosing cannot be tested with regional data; "
                                   "4,000 IU/day is the adult tolerable upper intake"})
            continue
        tests: list[tuple[str, str, pd.DataFrame]] = []
        for oid in claim.outcomes:
            if outcome_column(table, oid):
                tests.append((oid, "all", table))
        present = {o for o, _, _ in tests}
        if common is not None and set(CO_PRIMARY) <= set(claim.outcomes) \
                and set(CO_PRIMARY) <= present:
            tests += [(oid, "common", common) for oid in CO_PRIMARY]
            tests.append((CO_PRIMARY[0], "modelled_only", modelled_only))
        first = True
        tested: list[tuple[str, str, str, Estimate, str, int]] = []
        for oid, sample, frame in tests:
            col = outcome_column(table, oid)
            est = run_test(frame, claim, col, n_boot=n_boot, seed=seed, **kw)
            ests[(claim.id, oid, sample)] = est
            v = verdict(est, claim, max_vif=max_vif) if np.isfinite(est.estimate) \
                else "inconclusive"
            caveat = " ".join(filter(None, (
                _ECOLOGICAL, _KIND_CAVEAT.get(kind(oid), ""),
                f"Based on {est.n} of {len(frame)} regions ({sample} sample)." if est.n
                else "",
                _NESTED_CAVEAT if claim.test == "nested_dose" else "",
                ("Adjusted for " + ", ".join(est.extra.get("covariates", ())) + " only."
                 if claim.test in ("partial", "ols_adjusted") else ""))))
            rows.append({
                "claim_id": claim.id, "claim": claim.text, "outcome": labels.get(oid, oid),
                "outcome_id": oid, "outcome_kind": kind(oid), "sample": sample,
                "headline": first, "exposure": claim.exposure,
                "test": f"{TESTS[claim.test]} ({claim.subset} regions). {est.detail}.",
                "rule": _rule(claim, max_vif), "estimate": est.estimate,
                "ci_low": est.ci_low, "ci_high": est.ci_high,
                "ci_low_spatial": est.ci_low_spatial, "ci_high_spatial": est.ci_high_spatial,
                "n": est.n or None, "n_eff": est.n_eff, "vif": est.vif, "verdict": v,
                "robustness": NOT_ASSESSED, "members_differing": "", "agreement": "",
                "provenance": POST_HOC if oid in SEEN_OUTCOMES else PROSPECTIVE,
                "caveat": caveat})
            first = False
            tested.append((oid, sample, col, est, v, len(rows) - 1))
        members = plan.members(claim.id) if robustness else ()
        for oid, sample, col, est, v, at in tested:
            if sample != "all" or oid not in CO_PRIMARY or not np.isfinite(est.estimate):
                continue
            if members:
                results = member_results(
                    table, claim, col, members, common=common, raw=put_back,
                    set_aside=int(((set_aside["outcome"] == oid) & (set_aside["value"] > 0))
                                  .sum()), main=est,
                    fe_column=fe_column, knn=knn, max_vif=max_vif, ml_max_n=ml_max_n,
                    cached=({"common_sample": ests[(claim.id, oid, "common")]}
                            if (claim.id, oid, "common") in ests else None), **kw)
                judged: dict[str, str | None] = {}
                for r in results:
                    e = r.estimate
                    lo, hi = (e.judged[1], e.judged[2]) if e is not None else (math.nan,) * 2
                    rob_rows.append({"claim_id": claim.id, "outcome": oid, "member": r.member,
                                     "variant": r.variant, "status": r.status,
                                     "n": e.n if e is not None and e.n else None,
                                     "estimate": e.estimate if e is not None else math.nan,
                                     "ci_low": lo, "ci_high": hi, "verdict": r.verdict,
                                     "detail": e.detail if e is not None else ""})
                    name = f"{r.member} {r.variant}".strip()
                    judged[name] = r.verdict or None
                label, differing = robustness_label(v, judged)
                rows[at]["robustness"] = label
                rows[at]["members_differing"] = _fmt_members(differing, judged)
            if members and claim.test in INFLUENCE_TESTS:
                inf = influence(table, claim, col, extra=extra)
                if len(inf):
                    infl_rows.append(inf.assign(claim_id=claim.id, outcome=oid))
    claims = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    claims["plan_hash"] = plan_hash or plan.hash
    claims["n"] = claims["n"].astype("Int64")
    tri = _triangulation(table, plan, ests, common, fit_ids, labels, kind, n_boot, seed, kw,
                         max_vif)
    claims = _with_direction(claims, tri, plan)
    rob = pd.DataFrame(rob_rows, columns=list(ROBUSTNESS_COLUMNS))
    rob["n"] = rob["n"].astype("Int64")
    infl = (pd.concat(infl_rows, ignore_index=True)[list(INFLUENCE_COLUMNS)] if infl_rows
            else pd.DataFrame(columns=list(INFLUENCE_COLUMNS)))
    return PlanResult(claims, rob, infl, tri, set_aside, ests)


def _triangulation(table: pd.DataFrame, plan: Plan, ests: dict, common: pd.DataFrame | None,
                   fit_ids: Sequence[str] | None, labels: Mapping[str, str], kind: Any,
                   n_boot: int, seed: int, kw: Mapping[str, Any], max_vif: float
                   ) -> pd.DataFrame:
    ids = [o for o in (fit_ids or OUTCOMES) if o in OUTCOMES]
    ids = [*(o for o in CO_PRIMARY if o in ids), *(o for o in ids if o not in CO_PRIMARY)]
    rows = []
    for claim in plan.claims:
        if not claim.testable or claim.subset != "all" or claim.test == "nested_dose":
            continue
        for sample, frame in (("all", table), ("common", common)):
            if frame is None:
                continue
            for oid in ids:
                col = outcome_column(table, oid)
                if not col:
                    continue
                est = ests.get((claim.id, oid, sample))
                if est is None:
                    est = run_test(frame, claim, col, n_boot=n_boot, seed=seed, **kw)
                v = verdict(est, claim, max_vif=max_vif) if np.isfinite(est.estimate) \
                    else "inconclusive"
                rows.append({"claim_id": claim.id, "outcome": oid,
                             "outcome_label": labels.get(oid, oid), "outcome_kind": kind(oid),
                             "family": outcome_family(oid),
                             "represents_family": oid in CO_PRIMARY,
                             "independent": OUTCOMES[oid].independent, "sample": sample,
                             "n": est.n or None, "estimate": est.estimate,
                             "ci_low": est.ci_low, "ci_high": est.ci_high,
                             "ci_low_spatial": est.ci_low_spatial,
                             "ci_high_spatial": est.ci_high_spatial, "n_eff": est.n_eff,
                             "verdict": v})
    out = pd.DataFrame(rows, columns=list(TRIANGULATION_COLUMNS))
    out["n"] = out["n"].astype("Int64")
    return out


def _with_direction(claims: pd.DataFrame, tri: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """``agreement``: the direction count over the source families on the common sample
    (Atlas 2020 represents the Atlas editions), on the claim's ``all`` rows."""
    if tri.empty:
        return claims
    claims = claims.copy()
    for claim in plan.claims:
        t = tri[(tri["claim_id"] == claim.id) & (tri["sample"] == "common")
                & tri["represents_family"].astype(bool)]
        if t.empty:
            continue
        sp = t[["ci_low_spatial", "ci_high_spatial"]].astype(float)
        use_sp = np.isfinite(sp).all(axis=1)
        judged = pd.DataFrame({
            "estimate": t["estimate"].astype(float).to_numpy(),
            "lo": np.where(use_sp, sp["ci_low_spatial"], t["ci_low"].astype(float)),
            "hi": np.where(use_sp, sp["ci_high_spatial"], t["ci_high"].astype(float))})
        decimals = 0 if claim.test == "ols_adjusted" else 2  # % per 10 points, or r
        text = direction_text(judged, claim.sign, decimals)
        if text:
            text += " (common sample, n = " + "/".join(
                str(int(v)) for v in t["n"].dropna()) + "; " + ", ".join(
                f"{r.outcome} {_num(r.estimate, decimals)}" for r in t.itertuples()) + ")"
        mask = (claims["claim_id"] == claim.id) & (claims["sample"] == "all")
        claims.loc[mask, "agreement"] = text
    return claims


def specification_rows(table: pd.DataFrame, exposures: Sequence[str], outcome_col: str, *,
                       latitude: str = "abs_latitude", min_regions: int = 10) -> pd.DataFrame:
    """Models-table rows of C1's and C3's specifications on another outcome column.

    For each exposure: Pearson r and the partial r given |latitude| (and log GDP) with
    Fisher CIs (``pearson``, ``partial_lat``, ``partial_lat_gdp``), and the OLS
    coefficient crude, given |latitude| and given |latitude| + log GDP with HC3 CIs
    (``ols``, ``ols_adj_lat``, ``ols_adj_lat_gdp``): the rows
    :func:`geo_ms.models.speccurve.specifications` reads, so that the specification curve
    also spans the reported outcome (``models.csv`` is fitted on one outcome). iid CIs,
    as in ``models.csv``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"cloud": rng.uniform(10, 90, 40), "abs_latitude": rng.uniform(0, 60, 40),
    ...                   "gdp_per_capita": np.exp(rng.normal(9, 1, 40))})
    >>> d["ms_atlas2020"] = np.exp(0.02 * d["cloud"] + rng.normal(0, 0.3, 40))
    >>> rows = specification_rows(d, ["cloud"], "ms_atlas2020")
    >>> rows["model"].tolist()
    ['pearson', 'partial_lat', 'partial_lat_gdp', 'ols', 'ols_adj_lat', 'ols_adj_lat_gdp']
    >>> bool(abs(rows["estimate"].iloc[0] - np.corrcoef(d["cloud"], np.log(d["ms_atlas2020"]))[0, 1]) < 1e-12)
    True
    """
    import statsmodels.api as sm

    from geo_ms.models._table import LOG_GDP, float_matrix, log_outcome_name, prepare
    from geo_ms.models.regression import partial_correlation
    from geo_ms.models.spatial_ci import fisher_ci

    lname = log_outcome_name(outcome_col)
    sets = {"": [], "_lat": [latitude], "_lat_gdp": [latitude, LOG_GDP]}
    rows = []
    for x in exposures:
        for suffix, covs in sets.items():
            if x not in table.columns or any(c not in table.columns and not (
                    c == LOG_GDP and "gdp_per_capita" in table.columns) for c in covs):
                continue
            frame, _ = prepare(table, outcome_col, [x, *covs], what="the specification curve")
            n = len(frame)
            if n < max(min_regions, len(covs) + 4):
                continue
            xv, yv = frame[x].to_numpy(float), frame[lname].to_numpy(float)
            if covs:
                r, lo, hi, _p = partial_correlation(xv, yv, float_matrix(frame, covs))
            else:
                r = float(np.corrcoef(xv, yv)[0, 1])
                lo, hi = fisher_ci(r, float(n))
            rows.append({"model": "pearson" if not covs else f"partial{suffix}", "subset": "all",
                         "exposure": x, "outcome": lname, "n": n, "estimate": r,
                         "ci_low": lo, "ci_high": hi})
            # on arrays: the exposure is the column after the constant
            res = sm.OLS(yv, sm.add_constant(float_matrix(frame, [x, *covs]),
                                             has_constant="add")).fit(
                cov_type="HC3", use_t=True)
            blo, bhi = (float(v) for v in res.conf_int()[1])
            rows.append({"model": "ols" if not covs else f"ols_adj{suffix}", "subset": "all",
                         "exposure": x, "outcome": lname, "n": n,
                         "estimate": float(res.params[1]), "ci_low": blo, "ci_high": bhi})
    order = {"pearson": 0, "partial_lat": 1, "partial_lat_gdp": 2, "ols": 3, "ols_adj_lat": 4,
             "ols_adj_lat_gdp": 5}
    out = pd.DataFrame(rows, columns=["model", "subset", "exposure", "outcome", "n", "estimate",
                                      "ci_low", "ci_high"])
    return out.sort_values(["exposure", "model"], key=lambda c: c.map(order) if c.name == "model"
                           else c, kind="stable").reset_index(drop=True)
