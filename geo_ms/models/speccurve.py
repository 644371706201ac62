"""Specification curve: one claim's estimate across every exploratory specification.

A *specification* is one choice along each dimension of :data:`DIMENSIONS`: cloud
product, time window, weights (area or population), territory (whole country or
main territory), outcome and adjustment set. :func:`specifications` reads them from
the tidy models table (``models.csv``: the exposure name carries product, window,
weights and territory; the model name the adjustment set), :func:`specification_curve`
sorts them by estimate and marks which CIs exclude 0, and :func:`curve_summary`
gives the shares the Answer quotes: positive, negative, significant each way.

The curve shows how much the answer depends on choices; it is descriptive (the
specifications are not independent tests and their shares are not a vote).

>>> exposure_dimensions("cloud_fraction_modis_pct_winter_popw")
{'product': 'cloud_fraction_modis_pct', 'window': 'winter', 'weights': 'population', 'territory': 'whole country'}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from geo_ms.errors import SchemaError
from geo_ms.models.verdicts import pct_per10

__all__ = [
    "CURVE_COLUMNS",
    "DIMENSIONS",
    "ESTIMANDS",
    "SPEC_COLUMNS",
    "curve_from_models",
    "curve_summary",
    "exposure_dimensions",
    "specification_curve",
    "specifications",
    "summaries",
]

#: The choices a specification makes, in the order of the indicator panel.
DIMENSIONS: tuple[str, ...] = ("product", "window", "weights", "territory", "outcome",
                               "adjustment")

#: Columns of a specification frame (input of :func:`specification_curve`).
SPEC_COLUMNS: tuple[str, ...] = ("claim_id", "estimate", "ci_low", "ci_high", *DIMENSIONS)

#: Columns of the sorted curve (``specification_curve.csv``).
CURVE_COLUMNS: tuple[str, ...] = (*SPEC_COLUMNS, "rank", "significance")

#: For each claim: models-table model → (adjustment set in words, scale).
#: C1 is judged on correlations (Pearson r, partial r); C3 on the OLS coefficient of
#: cloud cover in % change of prevalence per 10 points (``pct``).
ESTIMANDS: dict[str, dict[str, tuple[str, str]]] = {
    "C1": {"pearson": ("none", "r"),
           "partial_lat": ("|latitude|", "r"),
           "partial_lat_gdp": ("|latitude| + log GDP", "r")},
    "C3": {"ols": ("none", "pct"),
           "ols_adj_lat": ("|latitude|", "pct"),
           "ols_adj_lat_gdp": ("|latitude| + log GDP", "pct"),
           "ols_adj_lat_gdp_income": ("|latitude| + log GDP + income group", "pct"),
           "ols_adj_lat_gdp_fe": ("|latitude| + log GDP + sub-region FE", "pct")},
}

_WINDOW = re.compile(r"_(winter|summer|m0[1-9]|m1[0-2])$")


def exposure_dimensions(exposure: str) -> dict[str, str]:
    """Product, window, weights and territory of an exposure column name.

    >>> exposure_dimensions("cloud_cover_pct")["window"]
    'annual'
    >>> exposure_dimensions("cloud_cover_pct_mainterr")["territory"]
    'main territory'
    """
    base = exposure
    weights = territory = None
    if base.endswith("_popw"):
        base, weights = base[: -len("_popw")], "population"
    if base.endswith("_mainterr"):
        base, territory = base[: -len("_mainterr")], "main territory"
    m = _WINDOW.search(base)
    window = "annual"
    if m:
        window, base = m.group(1), base[: m.start()]
    return {"product": base, "window": window, "weights": weights or "area",
            "territory": territory or "whole country"}


def specifications(models: pd.DataFrame, claim_id: str, *, subset: str = "all",
                   stem: str = "cloud") -> pd.DataFrame:
    """The specifications of *claim_id* (``C1`` or ``C3``) in a models table.

    Rows of the models in :data:`ESTIMANDS` [*claim_id*] on *subset* whose exposure
    starts with *stem* (every cloud product is in % points, so C3's coefficients
    convert to % per 10 points with :func:`~geo_ms.models.verdicts.pct_per10`).

    Returns
    -------
    pandas.DataFrame
        Columns ``claim_id, estimate, ci_low, ci_high`` and :data:`DIMENSIONS`.

    Raises
    ------
    SchemaError
        Unknown claim, or a column of the models table is missing.

    Examples
    --------
    >>> m = pd.DataFrame({"model": ["pearson", "partial_lat", "ols"], "subset": "all",
    ...                   "exposure": ["cloud_cover_pct_popw", "cloud_cover_pct", "uv_index"],
    ...                   "outcome": "log_prevalence", "estimate": [0.1, -0.2, 0.3],
    ...                   "ci_low": [0.0, -0.3, 0.1], "ci_high": [0.2, -0.1, 0.5]})
    >>> specifications(m, "C1")[["estimate", "weights", "adjustment"]].values.tolist()
    [[0.1, 'population', 'none'], [-0.2, 'area', '|latitude|']]
    """
    if claim_id not in ESTIMANDS:
        raise SchemaError(f"specification curve: no estimands for claim {claim_id!r}",
                          hint=f"Use one of: {', '.join(ESTIMANDS)}")
    need = ("model", "subset", "exposure", "outcome", "estimate", "ci_low", "ci_high")
    missing = [c for c in need if c not in models.columns]
    if missing:
        raise SchemaError(f"models table: missing column(s) {', '.join(missing)} for the "
                          "specification curve",
                          hint="Pass the table written to data/processed/models.csv")
    est = ESTIMANDS[claim_id]
    rows = models[models["model"].isin(list(est)) & (models["subset"] == subset)
                  & models["exposure"].astype(str).str.startswith(stem)]
    out = []
    for r in rows.itertuples(index=False):
        adjustment, scale = est[r.model]
        vals = [float(r.estimate), float(r.ci_low), float(r.ci_high)]
        if scale == "pct":
            vals = [pct_per10(v) if np.isfinite(v) else math.nan for v in vals]
        out.append({"claim_id": claim_id, "estimate": vals[0], "ci_low": vals[1],
                    "ci_high": vals[2], **exposure_dimensions(str(r.exposure)),
                    "outcome": str(r.outcome), "adjustment": adjustment})
    return pd.DataFrame(out, columns=list(SPEC_COLUMNS))


def specification_curve(specs: pd.DataFrame) -> pd.DataFrame:
    """Sort specifications by estimate; add ``rank`` (1 = lowest) and ``significance``.

    ``significance`` is ``positive`` / ``negative`` when the 95 % CI excludes 0 on that
    side, ``not significant`` otherwise (or when the CI is missing). Rows without an
    estimate are dropped; ties keep their input order. Several claims are ranked
    separately.

    Examples
    --------
    >>> s = pd.DataFrame({"claim_id": "C1", "estimate": [0.2, -0.1, 0.05],
    ...                   "ci_low": [0.1, -0.2, -0.05], "ci_high": [0.3, 0.0, 0.15]})
    >>> c = specification_curve(s)
    >>> c["estimate"].tolist(), c["rank"].tolist(), c["significance"].tolist()
    ([-0.1, 0.05, 0.2], [1, 2, 3], ['not significant', 'not significant', 'positive'])
    """
    for c in ("claim_id", "estimate", "ci_low", "ci_high"):
        if c not in specs.columns:
            raise SchemaError(f"specification table: missing column {c!r}",
                              hint=f"Build it with specifications(); columns: "
                                   f"{', '.join(SPEC_COLUMNS)}")
    frame = specs[specs["estimate"].notna()].copy()
    frame = frame.sort_values(["claim_id", "estimate"], kind="stable").reset_index(drop=True)
    frame["rank"] = frame.groupby("claim_id").cumcount() + 1
    lo, hi = frame["ci_low"].to_numpy(float), frame["ci_high"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        sig = np.where(lo > 0, "positive", np.where(hi < 0, "negative", "not significant"))
    frame["significance"] = sig
    cols = [c for c in CURVE_COLUMNS if c in frame.columns]
    return frame[cols + [c for c in frame.columns if c not in cols]]


def curve_summary(curve: pd.DataFrame) -> dict[str, Any]:
    """Shares of a (one-claim) curve: positive, negative, significant each way.

    Returns
    -------
    dict
        ``n``, ``positive``, ``negative`` (shares of estimates > 0 / < 0),
        ``sig_positive``, ``sig_negative`` (shares whose CI excludes 0 on that side),
        ``min``, ``median``, ``max`` of the estimates. Shares are NaN for an empty
        curve.

    Examples
    --------
    >>> c = specification_curve(pd.DataFrame({"claim_id": "C3",
    ...     "estimate": [-14.0, -9.0, -3.0, 2.0], "ci_low": [-18.0, -13.0, -8.0, -4.0],
    ...     "ci_high": [-10.0, -5.0, 2.0, 8.0]}))
    >>> s = curve_summary(c)
    >>> s["n"], s["negative"], s["sig_negative"], s["sig_positive"], s["median"]
    (4, 0.75, 0.5, 0.0, -6.0)
    """
    n = len(curve)
    est = curve["estimate"].to_numpy(float)
    sig = curve["significance"] if "significance" in curve else specification_curve(
        curve)["significance"]

    def share(mask: Any) -> float:
        return float(np.mean(mask)) if n else math.nan

    return {"n": n, "positive": share(est > 0), "negative": share(est < 0),
            "sig_positive": share(np.asarray(sig) == "positive"),
            "sig_negative": share(np.asarray(sig) == "negative"),
            "min": float(est.min()) if n else math.nan,
            "median": float(np.median(est)) if n else math.nan,
            "max": float(est.max()) if n else math.nan}


def summaries(curve: pd.DataFrame) -> Mapping[str, dict[str, Any]]:
    """:func:`curve_summary` per claim of a curve with several claims."""
    return {cid: curve_summary(sub) for cid, sub in curve.groupby("claim_id", sort=False)}


def curve_from_models(models: pd.DataFrame, claims: tuple[str, ...] = ("C1", "C3"), *,
                      subset: str = "all") -> pd.DataFrame:
    """The curve of ``specification_curve.csv``: every claim of *claims* from a models
    table, sorted and ranked per claim (columns :data:`CURVE_COLUMNS`).

    >>> m = pd.DataFrame({"model": ["pearson", "ols"], "subset": "all",
    ...                   "exposure": "cloud_cover_pct", "outcome": "log_prevalence",
    ...                   "estimate": [-0.1, 0.01], "ci_low": [-0.3, 0.0],
    ...                   "ci_high": [0.1, 0.02]})
    >>> curve_from_models(m)[["claim_id", "rank"]].values.tolist()
    [['C1', 1], ['C3', 1]]
    """
    parts = [specifications(models, c, subset=subset) for c in claims]
    return specification_curve(pd.concat(parts, ignore_index=True))
