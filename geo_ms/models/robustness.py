"""Robustness members: each re-runs a claim's registry test on transformed inputs.

A member (``geo_ms.models.plan.MEMBERS``, declared per claim in ``[robustness]``)
either transforms the table or the claim and calls the same registry test
(:func:`geo_ms.models.registry.run_test`), or refits the claim's own regression with a
different error model:

- ``common_sample`` — the regions with both co-primary outcomes;
- ``popw`` / ``main_territory`` — the exposure's ``_popw`` / ``_mainterr`` column
  (population-weighted |latitude| follows, :func:`~geo_ms.models.adjust.adjustment_set`);
- ``ancestry`` / ``health_expenditure`` / ``migrant_share`` — a covariate added to the
  adjustment set (a crude ``pearson`` claim becomes a partial r given that covariate);
- ``low_reported_rates`` — the reported rates set aside below
  ``outcomes.min_plausible_per_100k`` put back (reported outcomes only);
- ``subregion_fe`` — sub-region fixed effects with standard errors clustered by
  sub-region; ``spatial_error`` — spreg's ML spatial error model on k-nearest-neighbour
  weights. Both estimate the exposure's coefficient; for a claim judged on r the
  coefficient and its CI bounds are mapped to the r scale by
  ``r(b) = b s_x / sqrt(b² s_x² + s_e²)`` (s_x: SD of the exposure residualised on the
  other regressors, s_e: the OLS residual SD) — monotone in b and equal to the partial
  r at the OLS estimate; a claim judged in % per 10 units gets ``pct_per10`` of the
  coefficient;
- ``leave_one_subregion_out`` — the test without each sub-region in turn.

A member whose data are missing is returned as not run with its reason.
:func:`influence` gives the regions with the largest |DFBETAS| of the exposure.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from geo_ms.models._table import LOG_GDP, log_outcome_name, prepare
from geo_ms.models.adjust import adjustment_set, residualise
from geo_ms.models.nested_dose import LOG_CLEAR, LOG_CLOUD_FACTOR
from geo_ms.models.registry import Estimate, run_test, subset_of, verdict
from geo_ms.models.sensitivity import _dfbeta
from geo_ms.models.verdicts import MAX_VIF, pct_per10
from geo_ms.models.verdicts import vif as vif_of

__all__ = ["MEMBER_COVARIATE", "MemberResult", "design", "influence", "member_results",
           "r_of_coef", "refit"]

#: Covariate each "+ covariate" member adds to the adjustment set.
MEMBER_COVARIATE: dict[str, str] = {
    "ancestry": "ancestry_europe_share",
    "health_expenditure": "log_health_expenditure_pc",
    "migrant_share": "migrant_share_pct",
}

_SUFFIX = {"popw": "_popw", "main_territory": "_mainterr"}


@dataclasses.dataclass(frozen=True)
class MemberResult:
    """One member's run: ``status`` is ``ran`` or ``not run: <reason>``."""

    member: str
    variant: str
    status: str
    estimate: Estimate | None = None
    verdict: str = ""


def r_of_coef(b: float, s_x: float, s_e: float) -> float:
    """A coefficient on the partial-r scale: ``b s_x / sqrt(b² s_x² + s_e²)``.

    >>> round(r_of_coef(1.0, 1.0, 1.0), 4), r_of_coef(0.0, 2.0, 1.0)
    (0.7071, 0.0)
    """
    if not np.isfinite(b):
        return math.copysign(1.0, b) if not math.isnan(b) else math.nan
    return float(b * s_x / math.sqrt(b * b * s_x * s_x + s_e * s_e))


def design(table: pd.DataFrame, claim: Any, outcome_col: str, *,
           extra: Sequence[str] = (), more: Sequence[str] = ()
           ) -> tuple[pd.DataFrame | None, str, list[str], str]:
    """The claim's regression: complete-case frame, exposure regressor, other regressors.

    ``pearson`` → ``y ~ x``; ``partial`` / ``ols_adjusted`` → ``y ~ x + adjustment set``;
    ``nested_dose`` → ``y ~ log cloud factor + log clear-sky dose + adjust``. *more*
    columns (e.g. ``subregion``, ``region_id``, ``name``) are carried along.

    Returns
    -------
    frame, x_name, covariates, why
        *frame* None with *why* when a column is missing.
    """
    data, why = subset_of(table, claim)
    if data is None:
        return None, "", [], why
    if claim.test == "nested_dose":
        covs = list(claim.adjust) + [c for c in extra if c not in claim.adjust]
        need = [claim.exposure, claim.clear_sky, *covs]
    else:
        covs = [] if claim.test == "pearson" else list(
            adjustment_set(data, claim.exposure, claim.adjust, extra))
        need = [claim.exposure, *covs]
    absent = [c for c in (*need, outcome_col) if c not in data.columns
              and not (c == LOG_GDP and "gdp_per_capita" in data.columns)]
    if absent:
        return None, "", [], f"no column {', '.join(absent)} in the analysis table"
    carried = [c for c in ("lon", "lat", *more) if c in data.columns and c not in need]
    frame, _ = prepare(data, outcome_col, need, what=f"claim {claim.id}")
    frame = frame.dropna(subset=[c for c in ("lon", "lat") if c in carried])
    if claim.test == "nested_dose":
        ok = (frame[claim.clear_sky] > 0) & (frame[claim.exposure] > 0)
        frame = frame.loc[ok].reset_index(drop=True)
        frame[LOG_CLEAR] = np.log(frame[claim.clear_sky].astype(float))
        frame[LOG_CLOUD_FACTOR] = np.log(frame[claim.exposure].astype(float)
                                         / frame[claim.clear_sky].astype(float))
        return frame, LOG_CLOUD_FACTOR, [LOG_CLEAR, *covs], ""
    return frame.reset_index(drop=True), claim.exposure, covs, ""


def _scale(claim: Any, frame: pd.DataFrame, y: str, x: str, covs: Sequence[str],
           dummies: pd.DataFrame | None) -> Any:
    """Map a coefficient to the claim's units (r, % per 10 units, or as is)."""
    if claim.test in ("pearson", "partial"):
        Z = frame[list(covs)].to_numpy(float) if covs else np.empty((len(frame), 0))
        if dummies is not None and dummies.shape[1]:
            Z = np.column_stack([Z, dummies.to_numpy(float)])
        rx, ry = residualise(Z if Z.shape[1] else None, frame[x].to_numpy(float),
                             frame[y].to_numpy(float))
        b = float(rx @ ry / (rx @ rx))
        s_x = float(np.sqrt(rx @ rx))
        s_e = float(np.sqrt(((ry - b * rx) ** 2).sum()))
        return lambda v: r_of_coef(v, s_x, s_e)
    if claim.test == "ols_adjusted":
        return pct_per10
    return lambda v: v


def refit(table: pd.DataFrame, claim: Any, outcome_col: str, model: str, *,
          extra: Sequence[str] = (), fe_column: str = "subregion", knn: int = 6,
          min_regions: int = 10, crude: tuple[float, float, float] | None = None,
          ml_max_n: int | None = 2000) -> tuple[Estimate | None, str]:
    """The claim's regression refitted as ``subregion_fe`` or ``spatial_error``.

    Returns the :class:`Estimate` in the claim's units (iid CI = the model's CI, no
    spatial CI) or None with the reason.

    Examples
    --------
    >>> from geo_ms.models.plan import Claim
    >>> rng = np.random.default_rng(5)
    >>> d = pd.DataFrame({"x": rng.normal(size=60), "subregion": np.repeat(list("abcdef"), 10)})
    >>> d["ms"] = np.exp(0.5 * d["x"] + rng.normal(0, 0.5, 60))
    >>> c = Claim("C", "t", "x", "positive", "ols_adjusted", ("x2",), 5.0)
    >>> refit(d, c, "ms", "subregion_fe")[1]
    'no column x2 in the analysis table'
    """
    more = [fe_column] if model == "subregion_fe" else []
    frame, x, covs, why = design(table, claim, outcome_col, extra=extra, more=more)
    if frame is None:
        return None, why
    y = log_outcome_name(outcome_col)
    dummies = None
    if model == "subregion_fe":
        if fe_column not in frame.columns:
            return None, f"no column {fe_column} in the analysis table"
        frame = frame[frame[fe_column].astype(str).str.strip().ne("")
                      & frame[fe_column].notna()].reset_index(drop=True)
        dummies = pd.get_dummies(frame[fe_column].astype(str), prefix="fe", drop_first=True,
                                 dtype=float)
    n = len(frame)
    k = 1 + len(covs) + (0 if dummies is None else dummies.shape[1])
    if n < max(min_regions, k + 4):
        return None, f"{n} complete region(s) < {max(min_regions, k + 4)}"
    to_units = _scale(claim, frame, y, x, covs, dummies)
    X = frame[[x, *covs]].astype(float)
    if model == "subregion_fe":
        X = pd.concat([X, dummies], axis=1)
        groups = pd.factorize(frame[fe_column].astype(str))[0]
        res = sm.OLS(frame[y].astype(float), sm.add_constant(X, has_constant="add")).fit(
            cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        b = float(res.params[x])
        lo, hi = (float(v) for v in res.conf_int(alpha=0.05).loc[x])
        how = (f"{fe_column} fixed effects ({dummies.shape[1] + 1} groups), SE clustered by "
               f"{fe_column}")
    elif model == "spatial_error":
        if not {"lon", "lat"} <= set(frame.columns):
            return None, "no label points (lon, lat) for the spatial weights"
        import spreg

        from geo_ms.models.spatial import _ORD_MAX_N, _quiet, knn_weights

        if ml_max_n is not None and n > ml_max_n:
            return None, (f"{n} regions > models.spatial_ml_max_n = {ml_max_n} (the ML "
                          "spatial error model's variance inverts an n x n matrix)")
        w = knn_weights(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), k=knn)
        # log|I - lambda W| from W's eigenvalues (small n) or a sparse LU, not "full"
        method = "ord" if n <= _ORD_MAX_N else "LU"
        with np.errstate(all="ignore"), _quiet():
            err = spreg.ML_Error(frame[[y]].to_numpy(float), X.to_numpy(float), w,
                                 method=method)
        b = float(np.ravel(err.betas)[1])
        se = float(np.ravel(err.std_err)[1])
        z = float(stats.norm.ppf(0.975))
        lo, hi = b - z * se, b + z * se
        how = f"ML spatial error model (spreg, {knn}-nearest-neighbour weights)"
    else:  # pragma: no cover - callers pass one of the two
        raise ValueError(model)
    est = (to_units(b), to_units(lo), to_units(hi))
    v = math.nan if claim.test == "pearson" else vif_of(
        pd.concat([frame[[x, *covs]], dummies], axis=1) if dummies is not None else frame,
        x, [*covs, *([] if dummies is None else list(dummies.columns))])
    return Estimate(est[0], est[1], est[2], math.nan, math.nan, n, math.nan, v,
                    f"{how}: coefficient {b:.4g} [{lo:.4g}, {hi:.4g}], in the claim's units "
                    f"{est[0]:.3g} [{est[1]:.3g}, {est[2]:.3g}]",
                    crude=crude if claim.test in ("partial", "ols_adjusted") else None,
                    adjusted=(b, lo, hi)), ""


def _with_covariate(claim: Any, column: str) -> Any:
    if claim.test == "pearson":
        return dataclasses.replace(claim, test="partial", adjust=(column,))
    return dataclasses.replace(claim, adjust=(*claim.adjust, column))


def member_results(
    table: pd.DataFrame,
    claim: Any,
    outcome_col: str,
    members: Sequence[str],
    *,
    common: pd.DataFrame | None = None,
    raw: pd.DataFrame | None = None,
    set_aside: int = 0,
    main: Estimate | None = None,
    extra: Sequence[str] = (),
    fe_column: str = "subregion",
    knn: int = 6,
    max_vif: float = MAX_VIF,
    min_regions: int = 10,
    cached: Mapping[str, Estimate] | None = None,
    ml_max_n: int | None = 2000,
) -> list[MemberResult]:
    """Run each member for one claim on one outcome (all regions).

    Parameters
    ----------
    table
        The analysis table (reported rates below the floor already set aside).
    claim
        The plan's claim.
    outcome_col
        The outcome column.
    members
        The claim's ``[robustness]`` members.
    common
        The common-sample table (``common_sample``).
    raw
        The table before the low reported rates were set aside, and *set_aside* how many
        of this outcome's values were (``low_reported_rates``).
    main
        The claim's own estimate on *table* (its crude coefficient serves the attenuation
        rule of the refitted members).
    cached
        Member → an :class:`Estimate` already computed (e.g. the common-sample row).
    """
    kw = {"extra": extra, "min_regions": min_regions, "n_boot": 0}
    out: list[MemberResult] = []
    cached = cached or {}

    def done(member: str, est: Estimate | None, why: str = "", variant: str = "",
             c: Any = claim) -> None:
        if est is None or not np.isfinite(est.estimate):
            reason = why or (est.detail if est is not None else "") or "no estimate"
            out.append(MemberResult(member, variant, f"not run: {reason}", est))
        else:
            out.append(MemberResult(member, variant, "ran", est, verdict(est, c,
                                                                          max_vif=max_vif)))

    for m in members:
        if m in cached:
            done(m, cached[m])
        elif m == "common_sample":
            if common is None:
                done(m, None, "no second co-primary outcome in the analysis table")
            else:
                done(m, run_test(common, claim, outcome_col, **kw))
        elif m in _SUFFIX:
            suffix = _SUFFIX[m]
            col = claim.exposure + suffix
            if col not in table.columns:
                done(m, None, f"no column {col} in the analysis table")
                continue
            c = dataclasses.replace(claim, exposure=col)
            if claim.test == "nested_dose":
                clear = claim.clear_sky + suffix
                if clear not in table.columns:
                    done(m, None, f"no column {clear} in the analysis table")
                    continue
                c = dataclasses.replace(c, clear_sky=clear)
            done(m, run_test(table, c, outcome_col, **kw), c=c)
        elif m in MEMBER_COVARIATE:
            col = MEMBER_COVARIATE[m]
            if col not in table.columns:
                done(m, None, f"no column {col} in the analysis table (covariate not joined)")
                continue
            c = _with_covariate(claim, col)
            done(m, run_test(table, c, outcome_col, **kw), c=c)
        elif m == "low_reported_rates":
            if raw is None or not set_aside:
                done(m, None, "no value of this outcome was set aside below "
                              "outcomes.min_plausible_per_100k")
                continue
            done(m, run_test(raw, claim, outcome_col, **kw))
        elif m in ("subregion_fe", "spatial_error"):
            est, why = refit(table, claim, outcome_col, m, extra=extra, fe_column=fe_column,
                             knn=knn, min_regions=min_regions,
                             crude=main.crude if main is not None else None, ml_max_n=ml_max_n)
            done(m, est, why)
        elif m == "leave_one_subregion_out":
            if fe_column not in table.columns:
                done(m, None, f"no column {fe_column} in the analysis table")
                continue
            y = pd.to_numeric(table[outcome_col], errors="coerce")
            present = table.loc[y.notna() & pd.to_numeric(table[claim.exposure], errors="coerce")
                                .notna(), fe_column] if claim.exposure in table.columns else \
                table.loc[y.notna(), fe_column]
            groups = [g for g in dict.fromkeys(present.dropna().astype(str)) if g.strip()]
            for g in sorted(groups):
                sub = table[table[fe_column].astype(str) != g]
                done(m, run_test(sub, claim, outcome_col, **kw), variant=f"without {g}")
        else:
            done(m, None, f"unknown member {m}")
    return out


def influence(table: pd.DataFrame, claim: Any, outcome_col: str, *, top: int = 10,
              extra: Sequence[str] = ()) -> pd.DataFrame:
    """The *top* regions with the largest |DFBETAS| of the exposure's coefficient.

    DFBETAS from statsmodels' ``OLSInfluence`` of the (non-robust) OLS of the log
    outcome on the claim's regressors (:func:`design`).

    Examples
    --------
    >>> from geo_ms.models.plan import Claim
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"region_id": [f"R{i}" for i in range(30)], "x": rng.normal(size=30)})
    >>> d["ms"] = np.exp(0.2 * d["x"] + rng.normal(0, 0.1, 30))
    >>> d.loc[7, ["x", "ms"]] = [6.0, np.exp(-3.0)]
    >>> influence(d, Claim("C", "t", "x", "positive", "pearson"), "ms", top=2)["region_id"].iloc[0]
    'R7'
    """
    cols = ["rank", "region_id", "name", "subregion", "dfbetas"]
    frame, x, covs, _ = design(table, claim, outcome_col, extra=extra,
                               more=["region_id", "name", "subregion"])
    if frame is None or len(frame) < len(covs) + 4:
        return pd.DataFrame(columns=cols)
    y = log_outcome_name(outcome_col)
    res = sm.OLS(frame[y].astype(float),
                 sm.add_constant(frame[[x, *covs]].astype(float), has_constant="add")).fit()
    # closed form (statsmodels' OLSInfluence.dfbetas refits n times: O(n^2), minutes at
    # tens of thousands of regions)
    dfb = _dfbeta(res, np.asarray(res.get_influence().hat_matrix_diag))[1][:, 1]
    order = np.argsort(-np.abs(dfb), kind="stable")[:top]
    return pd.DataFrame({
        "rank": np.arange(1, len(order) + 1),
        "region_id": frame["region_id"].to_numpy()[order] if "region_id" in frame else order,
        "name": frame["name"].to_numpy()[order] if "name" in frame else "",
        "subregion": frame["subregion"].to_numpy()[order] if "subregion" in frame else "",
        "dfbetas": dfb[order]}, columns=cols)
