"""The registry of the plan's tests: one function per ``test`` of a ``[[claims]]`` entry.

Each test maps ``(table, claim, outcome_col)`` to an :class:`Estimate` in the test's
own units, reusing the project's estimators:

============== ================================================ ==========================
test           estimate                                         spatially corrected CI
============== ================================================ ==========================
``pearson``    Pearson r of log outcome with the exposure;      Fisher z on Dutilleul's
               iid CI: percentile bootstrap (``n_boot``)        n_eff (:func:`spatial_corr_ci`)
``partial``    partial r given the adjustment set; Fisher CI    Fisher z on the residuals'
                                                                n_eff (:func:`spatial_partial_ci`)
``ols_adjusted`` OLS coefficient (HC3) as % change per 10       HC3 SE inflated to n_eff
               units of the exposure                            (:func:`spatial_coef_ci`)
``nested_dose`` the log cloud factor's coefficient              none (NaN)
               (:func:`geo_ms.models.nested_dose.nested_dose`)
============== ================================================ ==========================

The adjusted tests use :func:`geo_ms.models.adjust.adjustment_set` (population-weighted
|latitude| for a population-weighted exposure, user covariates). :func:`verdict` judges
an estimate by :func:`geo_ms.models.verdicts.plan_verdict`: on the spatially corrected
CI when it exists, else the iid CI; for the adjusted tests the attenuation rule
("explained by confounding") compares the crude and adjusted *coefficients* (log
scale, spatially corrected CIs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from geo_ms.models._table import (
    LOG_GDP,
    float_matrix,
    log_outcome_name,
    prepare,
    select_subset,
)
from geo_ms.models.adjust import adjustment_set
from geo_ms.models.correlation import bootstrap_ci
from geo_ms.models.nested_dose import nested_dose
from geo_ms.models.primary import spatial_coef_ci
from geo_ms.models.regression import partial_correlation
from geo_ms.models.spatial_ci import fisher_ci, spatial_corr_ci, spatial_partial_ci
from geo_ms.models.verdicts import (
    CONTRADICTED,
    EXPLAINED,
    MAX_VIF,
    NOT_IDENTIFIABLE,
    explained_by_confounding,
    pct_per10,
    plan_verdict,
)
from geo_ms.models.verdicts import vif as vif_of

__all__ = ["REGISTRY", "Estimate", "nested_dose_test", "ols_adjusted", "partial", "pearson",
           "run_test", "subset_of", "verdict"]

_NAN3 = (math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class Estimate:
    """One test's result on one outcome (units of the test, see the module docstring).

    ``crude`` and ``adjusted`` are the exposure's crude and adjusted coefficients
    ``(estimate, ci_low, ci_high)`` on the log scale (spatially corrected CIs when
    available) for the attenuation rule of the adjusted tests; None otherwise.
    """

    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    ci_low_spatial: float = math.nan
    ci_high_spatial: float = math.nan
    n: int = 0
    n_eff: float = math.nan
    vif: float = math.nan
    detail: str = ""
    crude: tuple[float, float, float] | None = None
    adjusted: tuple[float, float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def judged(self) -> tuple[float, float, float]:
        """``(estimate, low, high)`` the verdict is judged on: the spatially corrected CI
        when both bounds are finite, else the iid CI.

        >>> Estimate(0.2, 0.1, 0.3, 0.0, 0.4).judged
        (0.2, 0.0, 0.4)
        >>> Estimate(0.2, 0.1, 0.3).judged
        (0.2, 0.1, 0.3)
        """
        if np.isfinite(self.ci_low_spatial) and np.isfinite(self.ci_high_spatial):
            return (self.estimate, self.ci_low_spatial, self.ci_high_spatial)
        return (self.estimate, self.ci_low, self.ci_high)


def verdict(est: Estimate, claim: Any, *, max_vif: float = MAX_VIF) -> str:
    """The claim's verdict on *est* (:func:`~geo_ms.models.verdicts.plan_verdict`).

    Order: not identifiable (VIF > *max_vif*) → contradicted → explained by
    confounding (adjusted tests: crude vs adjusted coefficient) → supported / not
    supported / inconclusive against the claim's δ (``sesoi``, in the test's units).

    >>> from geo_ms.models.plan import Claim
    >>> c = Claim("C3", "t", "cloud", "positive", "ols_adjusted", ("abs_latitude",), 5.0)
    >>> verdict(Estimate(-14.0, -20.0, -8.0, -22.0, -5.0, 100, 60.0, 2.0), c)
    'contradicted'
    >>> verdict(Estimate(1.0, -5.0, 7.0, vif=2.0, crude=(0.02, 0.01, 0.03),
    ...                  adjusted=(0.001, -0.005, 0.007)), c)
    'explained by confounding'
    >>> verdict(Estimate(1.0, -5.0, 7.0, vif=22.0), c)
    'not identifiable between regions'
    """
    v = plan_verdict(*est.judged, expected_sign=claim.sign, delta=claim.sesoi,
                     vif_value=est.vif, max_vif=max_vif)
    if v in (NOT_IDENTIFIABLE, CONTRADICTED):
        return v
    if est.crude is not None and est.adjusted is not None and explained_by_confounding(
            est.crude, est.adjusted, expected_sign=claim.sign):
        return EXPLAINED
    return v


def subset_of(table: pd.DataFrame, claim: Any) -> tuple[pd.DataFrame | None, str]:
    """The claim's subset of *table*, or None with the reason (e.g. no ``continent``
    column for ``europe``).

    >>> from geo_ms.models.plan import Claim
    >>> subset_of(pd.DataFrame({"x": [1]}), Claim("C", "t", "x", "positive", "pearson",
    ...                                           subset="europe"))[1][:55]
    "analysis table: missing column(s) 'continent' needed fo"
    """
    from geo_ms.errors import SchemaError

    try:
        return select_subset(table, claim.subset), ""
    except SchemaError as exc:
        return None, str(exc.args[0] if exc.args else exc)


def _frame(table: pd.DataFrame, claim: Any, outcome_col: str, exposure: str,
           covs: Sequence[str]) -> tuple[pd.DataFrame | None, str]:
    data, why = subset_of(table, claim)
    if data is None:
        return None, why
    has_xy = {"lon", "lat"} <= set(data.columns)
    absent = [c for c in (exposure, outcome_col, *covs) if c not in data.columns
              and not (c == LOG_GDP and "gdp_per_capita" in data.columns)]
    if absent:
        return None, f"no column {', '.join(absent)} in the analysis table"
    cols = [exposure, *covs] + (["lon", "lat"] if has_xy else [])
    frame, _ = prepare(data, outcome_col, cols, what=f"claim {claim.id}")
    return frame, ""


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
    if {"lon", "lat"} <= set(frame.columns):
        return frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    return None, None


def pearson(table: pd.DataFrame, claim: Any, outcome_col: str, *, exposure: str | None = None,
            adjust: Sequence[str] | None = None, extra: Sequence[str] = (),
            n_boot: int = 2000, seed: int = 20161, min_regions: int = 10) -> Estimate:
    """Pearson r of log *outcome_col* with the exposure (crude).

    iid CI: percentile bootstrap with *n_boot* resamples (Fisher z on n when
    ``n_boot = 0``); spatially corrected CI: Fisher z on Dutilleul's n_eff. With a
    non-empty *adjust* (a robustness member adding a covariate to a crude claim) the
    test becomes :func:`partial` on that set.

    Examples
    --------
    >>> from scipy import stats
    >>> from geo_ms.models.plan import Claim
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"x": rng.uniform(20, 80, 60)})
    >>> d["ms"] = np.exp(0.03 * d["x"] + rng.normal(0, 0.3, 60))
    >>> e = pearson(d, Claim("C", "t", "x", "positive", "pearson"), "ms", n_boot=0)
    >>> bool(abs(e.estimate - stats.pearsonr(d["x"], np.log(d["ms"]))[0]) < 1e-12), e.n
    (True, 60)
    """
    if adjust:
        return partial(table, claim, outcome_col, exposure=exposure, adjust=adjust, extra=extra,
                       min_regions=min_regions)
    x_name = exposure or claim.exposure
    frame, why = _frame(table, claim, outcome_col, x_name, [])
    if frame is None:
        return Estimate(detail=why)
    n = len(frame)
    if n < min_regions:
        return Estimate(n=n, detail=f"{n} complete region(s) < {min_regions}")
    x = frame[x_name].to_numpy(float)
    y = frame[log_outcome_name(outcome_col)].to_numpy(float)
    lon, lat = _xy(frame)
    r = float(np.corrcoef(x, y)[0, 1])
    if n_boot > 0:
        lo, hi = bootstrap_ci(x, y, n_boot=n_boot, seed=seed)["pearson"]
        how = f"bootstrap 95% CI [{lo:.3f}, {hi:.3f}] ({n_boot} resamples, seed {seed})"
    else:
        lo, hi = fisher_ci(r, float(n))
        how = f"Fisher-z 95% CI [{lo:.3f}, {hi:.3f}]"
    slo = shi = n_eff = math.nan
    if lon is not None:
        _, slo, shi, n_eff = spatial_corr_ci(x, y, lon, lat)
    return Estimate(r, lo, hi, slo, shi, n, n_eff, math.nan,
                    f"Pearson r = {r:.3f}; {how}; spatially corrected CI [{slo:.3f}, "
                    f"{shi:.3f}] (Dutilleul n_eff = {n_eff:.1f} of {n})")


def _coefficients(frame: pd.DataFrame, lname: str, x_name: str, covs: Sequence[str],
                  n_eff: float, n_eff_crude: float) -> tuple[Any, tuple, tuple, tuple, tuple]:
    """Adjusted and crude OLS (HC3) of the exposure: results, iid and spatial triples."""
    n = len(frame)
    # fitted on plain arrays (the same numbers without statsmodels' pandas wrapping); the
    # exposure is the column after the constant
    y = frame[lname].to_numpy(float)
    X = sm.add_constant(float_matrix(frame, [x_name, *covs]), has_constant="add")
    res = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)
    b, se = float(res.params[1]), float(res.bse[1])
    blo, bhi = (float(v) for v in res.conf_int(alpha=0.05)[1])
    Xc = sm.add_constant(float_matrix(frame, [x_name]))
    crude = sm.OLS(y, Xc).fit(cov_type="HC3", use_t=True)
    j = Xc.shape[1] - 1  # no constant is added to a constant exposure
    bc, sec = float(crude.params[j]), float(crude.bse[j])
    bclo, bchi = (float(v) for v in crude.conf_int(alpha=0.05)[j])
    adj_sp, crude_sp = (b, blo, bhi), (bc, bclo, bchi)
    if np.isfinite(n_eff):
        adj_sp = spatial_coef_ci(b, se, n, n_eff, len(covs) + 1)
    if np.isfinite(n_eff_crude):
        crude_sp = spatial_coef_ci(bc, sec, n, n_eff_crude, 1)
    return res, (b, blo, bhi), adj_sp, (bc, bclo, bchi), crude_sp


def _adjusted_inputs(table: pd.DataFrame, claim: Any, outcome_col: str,
                     exposure: str | None, adjust: Sequence[str] | None,
                     extra: Sequence[str], min_regions: int) -> Any:
    """The complete rows and arrays of an adjusted test (partial r, adjusted OLS), or an
    empty :class:`Estimate` saying why there are too few."""
    x_name = exposure or claim.exposure
    base = claim.adjust if adjust is None else adjust
    covs = list(adjustment_set(table, x_name, base, extra))
    frame, why = _frame(table, claim, outcome_col, x_name, covs)
    if frame is None:
        return Estimate(detail=why)
    n = len(frame)
    need = max(min_regions, len(covs) + 4)
    if n < need:
        return Estimate(n=n, detail=f"{n} complete region(s) < {need}")
    lname = log_outcome_name(outcome_col)
    lon, lat = _xy(frame)
    return (frame, x_name, covs, lname, frame[x_name].to_numpy(float),
            frame[lname].to_numpy(float), float_matrix(frame, covs), lon, lat)


def partial(table: pd.DataFrame, claim: Any, outcome_col: str, *, exposure: str | None = None,
            adjust: Sequence[str] | None = None, extra: Sequence[str] = (),
            min_regions: int = 10, **_: Any) -> Estimate:
    """Partial r of log *outcome_col* with the exposure given the adjustment set.

    iid CI: Fisher z with ``n - k - 3`` df; spatially corrected: Fisher z on the
    residuals' n_eff. VIF of the exposure given the set; crude and adjusted
    coefficients for the attenuation rule.

    Examples
    --------
    >>> from geo_ms.models.plan import Claim
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"z": rng.normal(size=80)})
    >>> d["x"] = d["z"] + rng.normal(size=80)
    >>> d["ms"] = np.exp(d["z"] + 0.5 * d["x"] + rng.normal(size=80))
    >>> e = partial(d, Claim("C", "t", "x", "positive", "partial", ("z",)), "ms")
    >>> rx = d["x"] - np.polyval(np.polyfit(d["z"], d["x"], 1), d["z"])
    >>> ly = np.log(d["ms"]); ry = ly - np.polyval(np.polyfit(d["z"], ly, 1), d["z"])
    >>> bool(abs(e.estimate - float(np.corrcoef(rx, ry)[0, 1])) < 1e-10)
    True
    """
    got = _adjusted_inputs(table, claim, outcome_col, exposure, adjust, extra, min_regions)
    if isinstance(got, Estimate):
        return got
    frame, x_name, covs, lname, x, y, Z, lon, lat = got
    n = len(frame)
    r, lo, hi, _p = partial_correlation(x, y, Z)
    slo = shi = n_eff = n_eff_c = math.nan
    if lon is not None:
        _, slo, shi, n_eff = spatial_partial_ci(x, y, Z, lon, lat)
        _, _, _, n_eff_c = spatial_corr_ci(x, y, lon, lat)
    _, _, adj_sp, _, crude_sp = _coefficients(frame, lname, x_name, covs, n_eff, n_eff_c)
    v = vif_of(frame, x_name, covs)
    return Estimate(r, lo, hi, slo, shi, n, n_eff, v,
                    f"partial r given {', '.join(covs)} = {r:.3f}, Fisher-z 95% CI "
                    f"[{lo:.3f}, {hi:.3f}], spatially corrected [{slo:.3f}, {shi:.3f}] "
                    f"(n_eff = {n_eff:.1f} of {n}); VIF of {x_name} = {v:.1f}; crude "
                    f"coefficient {crude_sp[0]:.4g} [{crude_sp[1]:.4g}, {crude_sp[2]:.4g}], "
                    f"adjusted {adj_sp[0]:.4g} [{adj_sp[1]:.4g}, {adj_sp[2]:.4g}] "
                    "(log units per unit, spatially corrected)",
                    crude=crude_sp, adjusted=adj_sp, extra={"covariates": covs})


def ols_adjusted(table: pd.DataFrame, claim: Any, outcome_col: str, *,
                 exposure: str | None = None, adjust: Sequence[str] | None = None,
                 extra: Sequence[str] = (), min_regions: int = 10, **_: Any) -> Estimate:
    """OLS coefficient of the exposure (HC3) given the adjustment set, in % change of
    prevalence per 10 units (:func:`~geo_ms.models.verdicts.pct_per10`).

    Spatially corrected CI: the HC3 SE inflated by ``sqrt((n-k-1)/(n_eff-k-1))`` with t
    on ``n_eff-k-1`` df, n_eff of the residuals on the adjustment set.

    Examples
    --------
    >>> from geo_ms.models.plan import Claim
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"z": rng.normal(size=80), "x": rng.uniform(0, 100, 80)})
    >>> d["ms"] = np.exp(0.01 * d["x"] + d["z"] + rng.normal(0, 0.2, 80))
    >>> e = ols_adjusted(d, Claim("C", "t", "x", "positive", "ols_adjusted", ("z",)), "ms")
    >>> fit = sm.OLS(np.log(d["ms"]), sm.add_constant(d[["x", "z"]])).fit()
    >>> bool(abs(e.estimate - 100 * np.expm1(10 * fit.params["x"])) < 1e-9)
    True
    """
    got = _adjusted_inputs(table, claim, outcome_col, exposure, adjust, extra, min_regions)
    if isinstance(got, Estimate):
        return got
    frame, x_name, covs, lname, x, y, Z, lon, lat = got
    n = len(frame)
    n_eff = n_eff_c = math.nan
    if lon is not None:
        _, _, _, n_eff = spatial_partial_ci(x, y, Z, lon, lat)
        _, _, _, n_eff_c = spatial_corr_ci(x, y, lon, lat)
    res, coef, adj_sp, _, crude_sp = _coefficients(frame, lname, x_name, covs, n_eff, n_eff_c)
    est = tuple(pct_per10(v) for v in coef)
    slo, shi = (pct_per10(adj_sp[1]), pct_per10(adj_sp[2])) if np.isfinite(n_eff) else \
        (math.nan, math.nan)
    crude_pct = tuple(pct_per10(v) for v in crude_sp)
    v = vif_of(frame, x_name, covs)
    return Estimate(est[0], est[1], est[2], slo, shi, n, n_eff, v,
                    f"OLS coefficient {coef[0]:.4g} log units per unit [{coef[1]:.4g}, "
                    f"{coef[2]:.4g}] (HC3), i.e. {est[0]:+.1f} % per 10 units [{est[1]:+.1f}, "
                    f"{est[2]:+.1f}]; spatially corrected [{slo:+.1f}, {shi:+.1f}] (HC3 SE x "
                    f"sqrt((n-k-1)/(n_eff-k-1)), t on n_eff-k-1 df; Dutilleul n_eff = "
                    f"{n_eff:.1f} of {n} on the residuals of {', '.join(covs)}); VIF of "
                    f"{x_name} = {v:.1f}; crude {crude_pct[0]:+.1f} % [{crude_pct[1]:+.1f}, "
                    f"{crude_pct[2]:+.1f}] (spatially corrected, crude n_eff = {n_eff_c:.1f}); "
                    "attenuation judged on the coefficients",
                    crude=crude_sp, adjusted=adj_sp,
                    extra={"covariates": covs, "coef": coef, "r2": float(res.rsquared)})


def nested_dose_test(table: pd.DataFrame, claim: Any, outcome_col: str, *,
                     exposure: str | None = None, adjust: Sequence[str] | None = None,
                     extra: Sequence[str] = (), min_regions: int = 10, **_: Any) -> Estimate:
    """The nested mechanism model (:func:`~geo_ms.models.nested_dose.nested_dose`): the
    log cloud factor's coefficient with its HC3 CI; no spatial correction (NaN).

    Examples
    --------
    >>> from geo_ms.models.plan import Claim
    >>> rng = np.random.default_rng(3)
    >>> clear, f = rng.uniform(2000, 9000, 80), rng.uniform(0.4, 0.95, 80)
    >>> d = pd.DataFrame({"c": clear, "a": clear * f, "g": rng.normal(size=80)})
    >>> d["ms"] = np.exp(5 - 0.5 * np.log(clear) + 1.2 * np.log(f) + rng.normal(0, .05, 80))
    >>> c = Claim("C5", "t", "a", "negative", "nested_dose", ("g",), clear_sky="c")
    >>> e = nested_dose_test(d, c, "ms")
    >>> round(e.estimate, 1), e.n
    (1.2, 80)
    """
    allsky = exposure or claim.exposure
    covs = list(claim.adjust if adjust is None else adjust)
    covs += [c for c in extra if c not in covs and c != allsky]
    data, why = subset_of(table, claim)
    if data is None:
        return Estimate(detail=why)
    absent = [c for c in (allsky, claim.clear_sky, outcome_col, *covs) if c not in data.columns
              and not (c == LOG_GDP and "gdp_per_capita" in data.columns)]
    if absent:
        return Estimate(detail=f"no column {', '.join(absent)} in the analysis table")
    fit = nested_dose(data, outcome_col, allsky=allsky, clear_sky=claim.clear_sky, adjust=covs)
    est, lo, hi = fit["cloud_factor"]
    if fit["n"] < min_regions:
        return Estimate(n=fit["n"], detail=f"{fit['n']} complete region(s) < {min_regions}")
    d = fit["dose"]
    adj = " + ".join(["log clear-sky dose", "log cloud factor", *covs])
    return Estimate(est, lo, hi, math.nan, math.nan, int(fit["n"]), math.nan, fit["vif"],
                    f"OLS of log prevalence on {adj} (HC3, n = {fit['n']}): cloud-factor "
                    f"coefficient {est:.3g} [{lo:.3g}, {hi:.3g}], clear-sky dose coefficient "
                    f"{d[0]:.3g} [{d[1]:.3g}, {d[2]:.3g}]; VIF of the log cloud factor "
                    f"{fit['vif']:.1f}. The mechanism predicts a cloud-factor coefficient of "
                    "the same sign as the dose's (negative).",
                    extra={"dose": d, "covariates": covs})


#: Test name of a ``[[claims]]`` entry → the function computing its :class:`Estimate`.
REGISTRY: dict[str, Callable[..., Estimate]] = {
    "pearson": pearson,
    "partial": partial,
    "ols_adjusted": ols_adjusted,
    "nested_dose": nested_dose_test,
}


def run_test(table: pd.DataFrame, claim: Any, outcome_col: str, **kwargs: Any) -> Estimate:
    """The claim's registry test on *outcome_col* (keyword arguments passed on).

    >>> from geo_ms.models.plan import Claim
    >>> run_test(pd.DataFrame({"ms": [1.0]}), Claim("C", "t", "x", "positive", "pearson"),
    ...          "ms").detail
    'no column x in the analysis table'
    """
    return REGISTRY[claim.test](table, claim, outcome_col, **kwargs)
