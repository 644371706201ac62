"""The pre-specified primary analysis: which test judges each claim, and its estimate.

The configuration declares, before any data are read (``[primary]`` in
``default_config.toml``, the primary outcome in ``[primary] outcome``), for each
claim the exposure, the subset and the test:

======== ============================ ================ =========================
claim    test                         exposure         rule
======== ============================ ================ =========================
C1       ``pearson`` r                cloud cover      directional, δ = sesoi_r
C2       ``pearson`` r                UV index         directional, δ = sesoi_r
C2-adj   ``partial_lat_gdp`` r        UV index         confounding (crude = C2)
C3       ``ols_adj_lat_gdp`` coef.    cloud cover      confounding (crude = ols),
                                                       in % per 10 points,
                                                       δ = sesoi_pct_per10
======== ============================ ================ =========================

:func:`claim_estimate` computes one claim's test on any outcome column — the
primary outcome's is :func:`primary_outcome_column` — : the estimate, its iid 95 % CI
(bootstrap for r, Fisher for partial r, HC3 for the coefficient), its spatially
corrected CI with Dutilleul's effective sample size n_eff
(:mod:`~geo_ms.models.spatial_ci`: Fisher z on n_eff for r and partial r; for the
coefficient the HC3 standard error inflated by ``sqrt((n-k-1)/(n_eff-k-1))`` with a t
distribution on ``n_eff-k-1`` df, :func:`spatial_coef_ci`) and the verdict, which is
judged on the spatially corrected CI when the label points allow it. Adjusted tests
use :func:`~geo_ms.models.adjust.adjustment_set`. :func:`annotate_models` marks the
primary rows of the models table, adds Benjamini–Hochberg q-values over the
exploratory rows and states each p-value's sidedness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from geo_ms.errors import ConfigError
from geo_ms.models._table import LOG_GDP, log_outcome_name, prepare, select_subset
from geo_ms.models.adjust import adjustment_set
from geo_ms.models.correlation import bootstrap_ci
from geo_ms.models.regression import partial_correlation
from geo_ms.models.spatial_ci import spatial_corr_ci, spatial_partial_ci
from geo_ms.models.verdicts import (
    SESOI_PCT_PER10,
    SESOI_R,
    coef_per_point,
    confounding_rule_text,
    confounding_verdict,
    directional_rule_text,
    directional_verdict,
    pct_per10,
)

__all__ = [
    "ADJUSTED_MODELS",
    "CLAIM_SIGNS",
    "CLAIM_TESTS",
    "CRUDE_MODELS",
    "DERIVED_MODELS",
    "SIDEDNESS",
    "PrimarySpec",
    "annotate_models",
    "claim_estimate",
    "claim_family",
    "family_sizes",
    "outcome_columns",
    "primary_outcome_column",
    "primary_spec",
    "spatial_coef_ci",
]

#: Sign each claim predicts: more cloud, more MS; more UV, less MS.
CLAIM_SIGNS: dict[str, int] = {"C1": 1, "C2": -1, "C2-adj": -1, "C3": 1}

#: Allowed primary test of each claim.
CLAIM_TESTS: dict[str, tuple[str, ...]] = {
    "C1": ("pearson",),
    "C2": ("pearson",),
    "C2-adj": ("partial_lat_gdp",),
    "C3": ("ols_adj_lat_gdp",),
}

#: Sidedness of each model's p-value, appended to the models table's ``note``.
SIDEDNESS: dict[str, str] = {
    "pearson": "p two-sided (t-test of r, n - 2 df)",
    "spearman": "p two-sided (scipy spearmanr)",
    "ols": "p two-sided (HC3 t-test)",
    "ols_adj_lat": "p two-sided (HC3 t-test)",
    "ols_adj_lat_gdp": "p two-sided (HC3 t-test)",
    "ols_adj_lat_gdp_income": "p two-sided (HC3 t-test)",
    "ols_adj_lat_gdp_fe": "p two-sided (cluster-robust t-test)",
    "pct_per10_adj": "p two-sided (HC3 t-test of the coefficient)",
    "partial_lat": "p two-sided (t-test of the partial r)",
    "partial_lat_gdp": "p two-sided (t-test of the partial r)",
    "moran_resid": "p two-sided (normal approximation, Cliff-Ord moments for OLS residuals)",
    "lm_error": "p upper-tail chi-squared (1 df)",
    "lm_lag": "p upper-tail chi-squared (1 df)",
    "spatial_error": "p two-sided (asymptotic z)",
    "spatial_lag": "p two-sided (asymptotic z)",
    "mechanism_clear": "p two-sided (HC3 t-test)",
    "mechanism_allsky": "p two-sided (HC3 t-test)",
}

_DEFAULT_EXPOSURES = {"C1": "cloud_cover_pct", "C2": "uv_index", "C2-adj": "uv_index",
                      "C3": "cloud_cover_pct"}


@dataclass(frozen=True)
class PrimarySpec:
    """The pre-specified primary analysis (see the module docstring).

    Attributes
    ----------
    outcome
        Primary outcome id (``geo_ms.ingest.outcomes.OUTCOMES``).
    subset
        Subset of regions the claims are judged on.
    exposures, tests
        Claim id → exposure column / test name.
    sesoi_r, sesoi_pct_per10
        Smallest effects of interest (see :mod:`~geo_ms.models.verdicts`).
    covariates
        Confounders of the adjusted tests (|latitude|, log GDP, user covariates).
    n_boot, seed
        Bootstrap of the iid CI of r.
    """

    outcome: str = "gbd2016_prev"
    subset: str = "all"
    exposures: dict[str, str] = field(default_factory=lambda: dict(_DEFAULT_EXPOSURES))
    tests: dict[str, str] = field(default_factory=lambda: {k: v[0] for k, v in CLAIM_TESTS.items()})
    sesoi_r: float = SESOI_R
    sesoi_pct_per10: float = SESOI_PCT_PER10
    covariates: tuple[str, ...] = ("abs_latitude", LOG_GDP)
    n_boot: int = 2000
    seed: int = 20161

    def rule(self, claim_id: str) -> str:
        """The claim's verdict rule in words.

        >>> PrimarySpec().rule("C1").startswith("not supported if the CI upper bound is below 0.1")
        True
        """
        sign = CLAIM_SIGNS[claim_id]
        if claim_id in ("C1", "C2"):
            return directional_rule_text(self.sesoi_r, "Pearson r", sign) + \
                "; judged on the spatially corrected CI"
        if claim_id == "C2-adj":
            return confounding_rule_text(self.sesoi_r, "partial r", sign) + \
                "; crude = C2's r; judged on the spatially corrected CIs"
        return confounding_rule_text(self.sesoi_pct_per10, "% change per 10 points of cloud",
                                     sign) + ("; attenuation compares the log-scale "
                                              "coefficients; judged on the spatially corrected "
                                              "CIs (HC3 SE inflated to Dutilleul's n_eff)")


def primary_spec(cfg: Mapping[str, Any] | None) -> PrimarySpec:
    """The :class:`PrimarySpec` of a configuration (defaults when keys are absent).

    >>> primary_spec(None).exposures["C3"]
    'cloud_cover_pct'
    >>> from geo_ms.models.plan import default_plan
    >>> claims, rob = default_plan().to_config()
    >>> claims[2]["exposure"] = "vitd_uv_clear"  # C2-adj
    >>> spec = primary_spec({"claims": claims, "robustness": rob})
    >>> spec.exposures["C2-adj"], spec.exposures["C2"]
    ('vitd_uv_clear', 'uv_index')
    """
    cfg = cfg or {}
    p = dict(cfg.get("primary", {}) or {})
    m = dict(cfg.get("models", {}) or {})
    # one home for the claims' exposures: the plan's [[claims]] entries
    from geo_ms.models.plan import plan_from_config

    the_plan = plan_from_config(cfg)
    exposures = {cid: the_plan.claim(cid).exposure if cid in the_plan.ids
                 else _DEFAULT_EXPOSURES[cid] for cid in _DEFAULT_EXPOSURES}
    # the claims' tests are declared once, in the [[claims]] entries; these are the
    # models.csv rows that carry them
    tests = {k: v[0] for k, v in CLAIM_TESTS.items()}
    extra = tuple(m.get("extra_covariates", ()) or ())
    return PrimarySpec(
        outcome=str(p.get("outcome", "gbd2016_prev")),
        subset=str(p.get("subset", "all")),
        exposures=exposures, tests=tests,
        sesoi_r=float(m.get("sesoi_r", SESOI_R)),
        sesoi_pct_per10=float(m.get("sesoi_pct_per10", SESOI_PCT_PER10)),
        covariates=("abs_latitude", LOG_GDP, *extra),
        n_boot=int(m.get("n_boot", 2000)), seed=int(m.get("seed", 20161)),
    )


def _nan_result(claim_id: str, spec: PrimarySpec, outcome_col: str, exposure: str,
                n: int, why: str) -> dict[str, Any]:
    return {"claim_id": claim_id, "outcome": outcome_col, "exposure": exposure,
            "test": spec.tests[claim_id], "n": n, "estimate": math.nan, "ci_low": math.nan,
            "ci_high": math.nan, "ci_low_spatial": math.nan, "ci_high_spatial": math.nan,
            "n_eff": math.nan, "n_eff_crude": math.nan, "crude": (math.nan,) * 3,
            "verdict": "inconclusive",
            "detail": why}


def _pick_ci(iid: tuple[float, float, float], spatial: tuple[float, float, float]
             ) -> tuple[float, float, float]:
    return spatial if all(np.isfinite(spatial)) else iid


def claim_estimate(
    df: pd.DataFrame,
    claim_id: str,
    outcome_col: str,
    spec: PrimarySpec | None = None,
    *,
    min_regions: int = 10,
) -> dict[str, Any]:
    """One claim's primary test on one outcome column.

    Parameters
    ----------
    df
        The analysis table (``lon``/``lat`` label points for the spatial CI).
    claim_id
        ``C1``, ``C2``, ``C2-adj`` or ``C3``.
    outcome_col
        Outcome column (per 100,000; its log is modelled).
    spec
        The primary analysis (default :class:`PrimarySpec`).
    min_regions
        Fewer complete regions give NaN and ``inconclusive``.

    Returns
    -------
    dict
        ``estimate, ci_low, ci_high`` (iid), ``ci_low_spatial, ci_high_spatial``,
        ``n``, ``n_eff``, ``verdict``, ``crude`` (the crude triple the confounding
        rule used, spatial CI), ``test``, ``exposure``, ``detail`` (text). C3's
        estimate and CIs are in % change per 10 points of cloud cover.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"cloud_cover_pct": rng.uniform(20, 80, 60),
    ...                   "lon": rng.uniform(-150, 150, 60), "lat": rng.uniform(-60, 60, 60)})
    >>> d["ms"] = np.exp(0.03 * d["cloud_cover_pct"] + rng.normal(0, 0.3, 60))
    >>> out = claim_estimate(d, "C1", "ms", PrimarySpec(n_boot=200))
    >>> out["verdict"], out["n"], out["ci_low"] < out["estimate"] < out["ci_high"]
    ('supported', 60, True)
    """
    spec = spec or PrimarySpec()
    exposure = spec.exposures[claim_id]
    sign = CLAIM_SIGNS[claim_id]
    data = select_subset(df, spec.subset)
    has_xy = {"lon", "lat"} <= set(data.columns)
    covs: list[str] = ([] if claim_id in ("C1", "C2")
                       else list(adjustment_set(data, exposure, spec.covariates)))
    absent = [c for c in (exposure, outcome_col, *covs) if c not in data.columns
              and not (c == LOG_GDP and "gdp_per_capita" in data.columns)]
    if absent:
        return _nan_result(claim_id, spec, outcome_col, exposure, 0,
                           f"no column {', '.join(absent)} in the analysis table")
    cols = [exposure, *covs] + (["lon", "lat"] if has_xy else [])
    frame, _ = prepare(data, outcome_col, cols, what=f"claim {claim_id}")
    n = len(frame)
    if n < max(min_regions, len(covs) + 4):
        return _nan_result(claim_id, spec, outcome_col, exposure, n,
                           f"{n} complete region(s) < {max(min_regions, len(covs) + 4)}")
    lname = log_outcome_name(outcome_col)
    x = frame[exposure].to_numpy(float)
    y = frame[lname].to_numpy(float)
    lon = frame["lon"].to_numpy(float) if has_xy else None
    lat = frame["lat"].to_numpy(float) if has_xy else None
    out: dict[str, Any] = {"claim_id": claim_id, "outcome": outcome_col, "exposure": exposure,
                           "test": spec.tests[claim_id], "n": n, "n_eff_crude": math.nan}
    if claim_id in ("C1", "C2"):
        r = float(np.corrcoef(x, y)[0, 1])
        lo, hi = bootstrap_ci(x, y, n_boot=spec.n_boot, seed=spec.seed)["pearson"]
        slo = shi = n_eff = math.nan
        if has_xy:
            _, slo, shi, n_eff = spatial_corr_ci(x, y, lon, lat)
        chosen = _pick_ci((r, lo, hi), (r, slo, shi))
        verdict = directional_verdict(*chosen, expected_sign=sign, delta=spec.sesoi_r)
        out.update(estimate=r, ci_low=lo, ci_high=hi, ci_low_spatial=slo, ci_high_spatial=shi,
                   n_eff=n_eff, crude=(math.nan,) * 3, verdict=verdict,
                   detail=f"Pearson r = {r:.3f}; bootstrap 95% CI [{lo:.3f}, {hi:.3f}] "
                          f"({spec.n_boot} resamples, seed {spec.seed}); spatially corrected "
                          f"CI [{slo:.3f}, {shi:.3f}] (Dutilleul n_eff = {n_eff:.1f} of {n})")
        return out
    Z = frame[covs].to_numpy(float)
    if claim_id == "C2-adj":
        r_c = float(np.corrcoef(x, y)[0, 1])
        crude_sp = (r_c, math.nan, math.nan)
        n_eff_c = math.nan
        if has_xy:
            _, clo, chi, n_eff_c = spatial_corr_ci(x, y, lon, lat)
            crude_sp = (r_c, clo, chi)
        r, lo, hi, _p = partial_correlation(x, y, Z)
        slo = shi = n_eff = math.nan
        if has_xy:
            _, slo, shi, n_eff = spatial_partial_ci(x, y, Z, lon, lat)
        if not all(np.isfinite(crude_sp)):
            crude_sp = (r_c, *bootstrap_ci(x, y, n_boot=spec.n_boot, seed=spec.seed)["pearson"])
        adj = _pick_ci((r, lo, hi), (r, slo, shi))
        verdict = confounding_verdict(crude_sp, adj, expected_sign=sign, delta=spec.sesoi_r)
        out.update(estimate=r, ci_low=lo, ci_high=hi, ci_low_spatial=slo, ci_high_spatial=shi,
                   n_eff=n_eff, n_eff_crude=n_eff_c, crude=crude_sp, verdict=verdict,
                   detail=f"partial r given {', '.join(covs)} = {r:.3f}, Fisher-z 95% CI "
                          f"[{lo:.3f}, {hi:.3f}], spatially corrected [{slo:.3f}, {shi:.3f}] "
                          f"(n_eff = {n_eff:.1f}); crude r = {r_c:.3f} [{crude_sp[1]:.3f}, "
                          f"{crude_sp[2]:.3f}]")
        return out
    # C3: coefficient of the exposure with HC3 CI, in % change per 10 points
    X = sm.add_constant(frame[[exposure, *covs]].astype(float), has_constant="add")
    res = sm.OLS(frame[lname], X).fit(cov_type="HC3", use_t=True)
    b, se = float(res.params[exposure]), float(res.bse[exposure])
    blo, bhi = (float(v) for v in res.conf_int(alpha=0.05).loc[exposure])
    crude_res = sm.OLS(frame[lname], sm.add_constant(frame[[exposure]].astype(float))).fit(
        cov_type="HC3", use_t=True)
    bc, se_c = float(crude_res.params[exposure]), float(crude_res.bse[exposure])
    bclo, bchi = (float(v) for v in crude_res.conf_int(alpha=0.05).loc[exposure])
    k = len(covs) + 1  # regressors besides the constant
    n_eff = n_eff_c = math.nan
    coef_sp = crude_coef = (bc, bclo, bchi)
    adj_coef = (b, blo, bhi)
    slo = shi = math.nan
    if has_xy:
        _, _, _, n_eff = spatial_partial_ci(x, y, Z, lon, lat)
        _, _, _, n_eff_c = spatial_corr_ci(x, y, lon, lat)
        coef_sp = spatial_coef_ci(b, se, n, n_eff, k)
        crude_coef = spatial_coef_ci(bc, se_c, n, n_eff_c, 1)
        adj_coef = coef_sp
        slo, shi = pct_per10(coef_sp[1]), pct_per10(coef_sp[2])
    est = (pct_per10(b), pct_per10(blo), pct_per10(bhi))
    crude_pct = tuple(pct_per10(v) for v in crude_coef)
    # the rule compares coefficients (log scale): attenuation is a ratio of effects, and
    # a ratio of % changes is not the ratio of the effects
    verdict = confounding_verdict(crude_coef, adj_coef, expected_sign=sign,
                                  delta=coef_per_point(spec.sesoi_pct_per10))
    out.update(estimate=est[0], ci_low=est[1], ci_high=est[2], ci_low_spatial=slo,
               ci_high_spatial=shi, n_eff=n_eff, n_eff_crude=n_eff_c, crude=crude_pct,
               verdict=verdict, coef=(b, blo, bhi), coef_spatial=coef_sp, coef_crude=crude_coef,
               r2=float(res.rsquared), aic=float(res.aic),
               detail=f"OLS coefficient {b:.4g} log units per point [{blo:.4g}, {bhi:.4g}] "
                      f"(HC3), i.e. {est[0]:+.1f} % per 10 points [{est[1]:+.1f}, "
                      f"{est[2]:+.1f}]; spatially corrected [{slo:+.1f}, {shi:+.1f}] "
                      f"(HC3 SE x sqrt((n-k-1)/(n_eff-k-1)), t on n_eff-k-1 df; Dutilleul "
                      f"n_eff = {n_eff:.1f} of {n} on the residuals of {', '.join(covs)}); "
                      f"crude {crude_pct[0]:+.1f} % [{crude_pct[1]:+.1f}, "
                      f"{crude_pct[2]:+.1f}] (spatially corrected, crude n_eff = "
                      f"{n_eff_c:.1f}); attenuation judged on the coefficients")
    return out


def spatial_coef_ci(b: float, se: float, n: int, n_eff: float, k: int, *,
                    level: float = 0.95) -> tuple[float, float, float]:
    """A regression coefficient's CI with the sample size corrected for space.

    The standard error *se* (HC3) is inflated by ``sqrt((n - k - 1) / (n_eff - k - 1))``
    (the residual degrees of freedom with *n* and with Dutilleul's *n_eff* points; *k*
    regressors besides the constant) and the interval uses a t distribution on
    ``n_eff - k - 1`` degrees of freedom. With ``n_eff = n`` it is the HC3 interval;
    with ``n_eff <= k + 1`` it is unbounded.

    >>> b, lo, hi = spatial_coef_ci(1.0, 0.5, 50, 50.0, 2)
    >>> round(hi - b, 4) == round(float(stats.t.ppf(0.975, 47)) * 0.5, 4)
    True
    >>> spatial_coef_ci(1.0, 0.5, 50, 3.0, 2)
    (1.0, -inf, inf)
    """
    dof = n_eff - k - 1
    if math.isnan(n_eff) or math.isnan(se):
        return (b, math.nan, math.nan)
    if dof <= 0:
        return (b, -math.inf, math.inf)
    half = float(stats.t.ppf(0.5 + level / 2.0, dof)) * se * math.sqrt((n - k - 1) / dof)
    return (b, b - half, b + half)


def _primary_keys(spec: PrimarySpec, log_outcome: str) -> set[tuple[str, str, str, str]]:
    keys = set()
    for cid in ("C1", "C2", "C2-adj", "C3"):
        keys.add((spec.tests[cid], spec.subset, spec.exposures[cid], log_outcome))
    keys.add(("pct_per10_adj", spec.subset, spec.exposures["C3"], log_outcome))
    keys.add(("mechanism_clear", spec.subset, "vitd_uv_clear", log_outcome))
    for e in ("vitd_uv_allsky", "vitd_uv_allsky_measured"):
        keys.add(("mechanism_allsky", spec.subset, e, log_outcome))
    return keys


#: Tests of an association (crude: C1 for cloud, C2 for UV / sunlight exposures).
CRUDE_MODELS: tuple[str, ...] = ("pearson", "spearman", "ols")
#: Tests of an association adjusted for confounders (C3 for cloud, C2-adj for UV).
ADJUSTED_MODELS: tuple[str, ...] = ("ols_adj_lat", "ols_adj_lat_gdp", "ols_adj_lat_gdp_income",
                                    "partial_lat", "partial_lat_gdp", "ols_adj_lat_gdp_fe")
#: Rows derived from another row of the same subset, exposure and outcome: they are the
#: same test re-expressed and inherit its q-value.
DERIVED_MODELS: dict[str, str] = {"pct_per10_adj": "ols_adj_lat_gdp"}
_UV_STEMS = ("uv_", "vitd_", "ghi", "sunshine", "radiation")


def claim_family(model: str, exposure: str) -> str:
    """The claim whose hypothesis a models-table row re-tests ("" for none).

    Crude tests of a cloud exposure re-test C1, of a UV / sunlight exposure C2; adjusted
    tests re-test C3 / C2-adj; derived rows belong to their parent's family. Diagnostics
    (Moran's I, LM tests, VIFs, influence), alternative model fits (spatial error / lag),
    the mechanism comparison and tests of |latitude| itself belong to none.

    >>> claim_family("spearman", "cloud_fraction_modis_pct_winter")
    'C1'
    >>> claim_family("partial_lat_gdp", "vitd_uv_clear"), claim_family("pct_per10_adj", "cloud_cover_pct")
    ('C2-adj', 'C3')
    >>> claim_family("moran_resid", "cloud_cover_pct"), claim_family("pearson", "abs_latitude")
    ('', '')
    """
    model = DERIVED_MODELS.get(model, model)
    cloud = exposure.startswith("cloud")
    uv = exposure.startswith(_UV_STEMS)
    if model in CRUDE_MODELS:
        return "C1" if cloud else "C2" if uv else ""
    if model in ADJUSTED_MODELS:
        return "C3" if cloud else "C2-adj" if uv else ""
    return ""


def family_sizes(models: pd.DataFrame) -> dict[str, int]:
    """Number of p-values in each multiplicity family of an annotated models table.

    >>> family_sizes(pd.DataFrame({"model": ["pearson", "pct_per10_adj", "ols"],
    ...     "family": ["C1", "C3", "C1"], "role": "exploratory", "p_value": [0.1, 0.2, 0.3]}))
    {'C1': 2}
    """
    if "family" not in models.columns:
        return {}
    fam = models["family"].fillna("").astype(str)
    ok = ((models["role"] == "exploratory") & models["p_value"].notna() & fam.ne("")
          & ~models["model"].isin(list(DERIVED_MODELS)))
    return {str(k): int(v) for k, v in fam[ok].value_counts(sort=False).items()}


def annotate_models(table: pd.DataFrame, spec: PrimarySpec | None = None,
                    log_outcome: str = "log_prevalence",
                    sidedness: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Add ``role``, ``family``, ``q_value`` and each p-value's sidedness to the models table.

    ``role`` is ``primary`` for the pre-specified rows (:func:`claim_estimate`'s
    tests on the primary outcome and subset, the % per 10 points row of C3 and the
    mechanism comparison), ``exploratory`` otherwise. ``family`` is the claim the row
    re-tests (:func:`claim_family`). ``q_value`` is the Benjamini–Hochberg adjusted
    p-value (``statsmodels.stats.multitest.multipletests(method="fdr_bh")``) within
    each family, over its exploratory rows with a p-value — the re-tests of that
    claim's hypothesis across products, windows, weights, subsets and outcomes.
    Derived rows (:data:`DERIVED_MODELS`) are not counted and take their parent's
    q-value; primary rows keep their p-value as it is (NaN q); rows of no family
    (diagnostics, alternative fits) get none. ``attrs["family_sizes"]`` holds the
    number of p-values of each family.

    Examples
    --------
    >>> t = pd.DataFrame({"model": ["pearson", "spearman", "spearman", "vif", "moran_resid"],
    ...                   "subset": "all", "exposure": ["cloud_cover_pct", "cloud_a",
    ...                   "cloud_b", "cloud_a", "cloud_a"], "outcome": "log_prevalence",
    ...                   "p_value": [0.01, 0.01, 0.04, np.nan, 0.001], "note": ""})
    >>> out = annotate_models(t)
    >>> out["role"].tolist()
    ['primary', 'exploratory', 'exploratory', 'exploratory', 'exploratory']
    >>> out["q_value"].round(3).tolist()
    [nan, 0.02, 0.04, nan, nan]
    >>> out.attrs["family_sizes"]
    {'C1': 2}
    """
    from statsmodels.stats.multitest import multipletests

    spec = spec or PrimarySpec()
    sidedness = SIDEDNESS if sidedness is None else sidedness
    out = table.copy()
    keys = _primary_keys(spec, log_outcome)
    role = [
        "primary" if (m, s, e, o) in keys else "exploratory"
        for m, s, e, o in zip(out["model"], out["subset"], out["exposure"], out["outcome"],
                              strict=True)
    ]
    out["role"] = role
    out["family"] = [claim_family(str(m), str(e)) for m, e in zip(out["model"], out["exposure"],
                                                                  strict=True)]
    q = np.full(len(out), np.nan)
    derived = out["model"].isin(list(DERIVED_MODELS)).to_numpy()
    base = ((out["role"] == "exploratory").to_numpy() & out["p_value"].notna().to_numpy()
            & ~derived)
    sizes: dict[str, int] = {}
    for fam in dict.fromkeys(out["family"]):
        if not fam:
            continue
        mask = base & (out["family"] == fam).to_numpy()
        if mask.any():
            q[mask] = multipletests(out.loc[mask, "p_value"].to_numpy(float),
                                    method="fdr_bh")[1]
            sizes[fam] = int(mask.sum())
    out["q_value"] = q
    if derived.any():
        parent = {(m, s, e, o): v for m, s, e, o, v in zip(
            out["model"], out["subset"], out["exposure"], out["outcome"], q, strict=True)}
        for i in np.flatnonzero(derived):
            r = out.iloc[i]
            out.iloc[i, out.columns.get_loc("q_value")] = parent.get(
                (DERIVED_MODELS[r["model"]], r["subset"], r["exposure"], r["outcome"]), np.nan)
    notes = []
    for model, note in zip(out["model"], out["note"].fillna("").astype(str), strict=True):
        side = sidedness.get(str(model))
        if side and side not in note:
            note = f"{note}; {side}" if note else side
        notes.append(note)
    out["note"] = notes
    out.attrs["family_sizes"] = sizes
    return out


def primary_outcome_column(df: pd.DataFrame | Sequence[str], outcome_id: str) -> str:
    """The analysis-table column of the primary outcome *outcome_id*.

    ``gbd2016_prev`` is the run's own MS table, ``prevalence_per_100k`` (the configured
    GBD 2016 prevalence, equal to ``ms_gbd2016_prev``; with ``prevalence.source =
    "user"`` or on the built-in sample, that table); every other outcome is its own
    column ``ms_<id>``.

    Raises
    ------
    ConfigError
        The column is not in the table (the outcome was not fitted, e.g. on the
        built-in sample or a sub-national region set).

    >>> primary_outcome_column(["prevalence_per_100k", "ms_atlas2020"], "atlas2020")
    'ms_atlas2020'
    >>> primary_outcome_column(["prevalence_per_100k", "ms_gbd2016_prev"], "gbd2016_prev")
    'prevalence_per_100k'
    >>> primary_outcome_column(["prevalence_per_100k"], "atlas2013")
    Traceback (most recent call last):
    ...
    geo_ms.errors.ConfigError: configuration: key 'primary.outcome' = 'atlas2013' but the analysis table has no column ms_atlas2013
    """
    from geo_ms.ingest.outcomes import outcome_column

    cols = df.columns if isinstance(df, pd.DataFrame) else list(df)
    col = "prevalence_per_100k" if outcome_id == "gbd2016_prev" else outcome_column(outcome_id)
    if col not in cols:
        raise ConfigError(
            f"configuration: key 'primary.outcome' = {outcome_id!r} but the analysis table "
            f"has no column {col}",
            hint="National outcomes are joined for regions.set = 'countries' with the full "
                 "data only (not on the built-in sample); choose an outcome this run fits")
    return col


def outcome_columns(df: pd.DataFrame, ids: Sequence[str], primary: str) -> dict[str, str]:
    """Outcome id → analysis-table column, for the ids whose column is present.

    The primary outcome's column is :func:`primary_outcome_column`'s; another
    outcome's is ``ms_<id>`` (``gbd2016_prev`` falls back to ``prevalence_per_100k``
    when ``ms_gbd2016_prev`` is absent). The primary outcome comes first.

    >>> d = pd.DataFrame(columns=["prevalence_per_100k", "ms_gbd2016_prev", "ms_atlas2020"])
    >>> outcome_columns(d, ["gbd2016_prev", "atlas2020", "atlas2013"], "atlas2020")
    {'atlas2020': 'ms_atlas2020', 'gbd2016_prev': 'ms_gbd2016_prev'}
    """
    out = {}
    for oid in [primary, *[i for i in ids if i != primary]]:
        if oid != primary and f"ms_{oid}" in df.columns:
            out[oid] = f"ms_{oid}"
            continue
        try:
            out[oid] = primary_outcome_column(df, oid)
        except ConfigError:
            continue
    return out
