"""The adjustment set of every adjusted model, and residualisation on controls.

One place decides what an exposure is adjusted for, so that the OLS models, the
partial correlations, the fixed-effects and spatial models, the leave-one-out
influence, the mechanism test and the primary tests of the claims all use the same
confounders for the same exposure:

- |latitude| (``abs_latitude``) — for a population-weighted exposure (name containing
  ``_popw``) the population-weighted |latitude| (``abs_latitude_popw``) when the table
  has it, so that exposure and confounder describe the same people (both assign a
  city to the first region whose polygon *covers* it,
  :func:`geo_ms.exposures.zonal.points_in_regions`);
- log GDP per capita (``log_gdp_per_capita``, derived from ``gdp_per_capita``);
- the user covariates (``models.extra_covariates``), except the exposure itself.

:func:`residualise` regresses variables on ``[1, controls]`` (Frisch–Waugh–Lovell):
the partial correlation is the correlation of the residuals, and the adjusted OLS
coefficient is the slope of the outcome's residuals on the exposure's residuals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo_ms.models._table import LOG_GDP

__all__ = ["BASE_CONFOUNDERS", "adjustment_set", "latitude_column", "residualise"]

#: The confounders of every adjusted model, before the population-weighting swap.
BASE_CONFOUNDERS: tuple[str, ...] = ("abs_latitude", LOG_GDP)


def latitude_column(table: pd.DataFrame | Sequence[str], exposure: str) -> str:
    """The |latitude| column an exposure is adjusted for.

    >>> latitude_column(["abs_latitude", "abs_latitude_popw"], "cloud_cover_pct_popw")
    'abs_latitude_popw'
    >>> latitude_column(["abs_latitude", "abs_latitude_popw"], "cloud_cover_pct")
    'abs_latitude'
    >>> latitude_column(["abs_latitude"], "cloud_cover_pct_popw")
    'abs_latitude'
    """
    cols = table.columns if isinstance(table, pd.DataFrame) else table
    if "_popw" in exposure and "abs_latitude_popw" in cols:
        return "abs_latitude_popw"
    return "abs_latitude"


def adjustment_set(
    table: pd.DataFrame | Sequence[str],
    exposure: str,
    confounders: Sequence[str] = BASE_CONFOUNDERS,
    extra: Sequence[str] = (),
) -> tuple[str, ...]:
    """The covariates an adjusted model of *exposure* uses.

    Parameters
    ----------
    table
        The analysis table (or its column names).
    exposure
        The exposure column.
    confounders
        The model's confounders among :data:`BASE_CONFOUNDERS` (``abs_latitude`` is
        swapped for ``abs_latitude_popw`` for a population-weighted exposure), plus
        ``"income"`` (income-group dummies) where a model asks for it.
    extra
        User covariates (``models.extra_covariates``); the exposure itself is left out.

    Returns
    -------
    tuple of str
        Column names in order: confounders, then user covariates. An unadjusted
        model (no *confounders*) gets no user covariates either.

    Examples
    --------
    >>> cols = ["abs_latitude", "abs_latitude_popw", "gdp_per_capita", "neuro"]
    >>> adjustment_set(cols, "uv_index_popw", extra=["neuro"])
    ('abs_latitude_popw', 'log_gdp_per_capita', 'neuro')
    >>> adjustment_set(cols, "uv_index", ("abs_latitude",), extra=["neuro", "uv_index"])
    ('abs_latitude', 'neuro')
    >>> adjustment_set(cols, "uv_index", (), extra=["neuro"])
    ()
    """
    if not confounders:
        return ()
    lat = latitude_column(table, exposure)
    covs = [lat if c == "abs_latitude" else c for c in confounders]
    covs += [c for c in extra if c != exposure and c not in covs]
    return tuple(dict.fromkeys(covs))


def residualise(controls: np.ndarray | None, *columns: np.ndarray) -> list[np.ndarray]:
    """Residuals of each column regressed by least squares on ``[1, controls]``.

    Parameters
    ----------
    controls
        ``(n, k)`` array of controls (or None / zero columns: centring only).
    columns
        Length-n arrays to residualise.

    Returns
    -------
    list of numpy.ndarray
        One residual vector per column.

    Examples
    --------
    >>> z = np.array([0.0, 1.0, 2.0, 3.0])
    >>> rx, = residualise(z[:, None], 2 * z + np.array([1.0, -1.0, -1.0, 1.0]))
    >>> rx.round(12).tolist()
    [1.0, -1.0, -1.0, 1.0]
    """
    n = np.asarray(columns[0]).size
    Z = np.ones((n, 1))
    if controls is not None and np.size(controls):
        Z = np.column_stack([Z, np.asarray(controls, dtype=float).reshape(n, -1)])
    out = []
    for c in columns:
        v = np.asarray(c, dtype=float)
        out.append(v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0])
    return out
