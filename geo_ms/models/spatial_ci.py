"""Correlation CIs that respect space: Dutilleul's effective sample size.

Neighbouring countries share climate and MS prevalence, so n countries carry less
information than n independent draws. Dutilleul's modified t-test (Dutilleul 1993,
after Clifford, Richardson & Hémon 1989) estimates the variance of Pearson's r under
the two variables' spatial autocorrelation and turns it into an *effective sample
size*:

.. math::

   \\widehat{\\mathrm{Var}}(r) = \\frac{\\mathrm{tr}(B\\hat\\Sigma_x B\\hat\\Sigma_y)}
   {\\mathrm{tr}(B\\hat\\Sigma_x)\\,\\mathrm{tr}(B\\hat\\Sigma_y)},\\qquad
   n_\\text{eff} = 1 + 1/\\widehat{\\mathrm{Var}}(r),

with :math:`B = I - 11^\\top/n` and :math:`\\hat\\Sigma` the autocorrelation matrix
whose (i, j) entry is the variable's Moran-type autocorrelation in the distance class
of the pair (i, j) (great-circle distances between the label points; equal-frequency
classes, their number by Sturges' rule on the number of pairs). For independent data
``n_eff`` ≈ n. The spatially corrected CI is Fisher's z interval with ``n_eff`` in place
of n (:func:`spatial_corr_ci`); partial correlations use residuals on the controls and
``n_eff - k`` (:func:`spatial_partial_ci`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from geo_ms.models.adjust import residualise

__all__ = [
    "autocorrelation_matrix",
    "dutilleul_n_eff",
    "fisher_ci",
    "great_circle_km",
    "spatial_corr_ci",
    "spatial_partial_ci",
]

_EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray) -> np.ndarray:
    """Matrix of great-circle (haversine) distances in km between points.

    >>> d = great_circle_km([0.0, 0.0, 180.0], [0.0, 90.0, 0.0])
    >>> [round(float(v)) for v in d[0]]
    [0, 10008, 20015]
    """
    lam = np.radians(np.asarray(lon, dtype=float))
    phi = np.radians(np.asarray(lat, dtype=float))
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _classes(dist: np.ndarray, n_classes: int | None) -> np.ndarray:
    n = dist.shape[0]
    iu = np.triu_indices(n, 1)
    d = dist[iu]
    if n_classes is None:
        n_classes = math.ceil(1 + math.log2(max(d.size, 1)))
    edges = np.quantile(d, np.linspace(0, 1, n_classes + 1)[1:-1])
    cls = np.full((n, n), -1, dtype=int)
    k = np.searchsorted(edges, d, side="right")
    cls[iu] = k
    cls[(iu[1], iu[0])] = k
    return cls


def autocorrelation_matrix(values: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Autocorrelation matrix of *values* by distance class.

    Entry (i, j), i ≠ j, is ``mean(z_a z_b over pairs (a, b) in the class of (i, j))
    / mean(z**2)`` with *z* the centred values; the diagonal is 1. *cls* holds each
    pair's class index (-1 on the diagonal).

    >>> cls = np.array([[-1, 0, 1], [0, -1, 0], [1, 0, -1]])
    >>> autocorrelation_matrix(np.array([1.0, 2.0, 3.0]), cls).round(2).tolist()
    [[1.0, 0.0, -1.5], [0.0, 1.0, 0.0], [-1.5, 0.0, 1.0]]
    """
    z = np.asarray(values, dtype=float)
    z = z - z.mean()
    var = float(z @ z) / z.size
    prod = np.outer(z, z)
    n_cls = int(cls.max()) + 1
    off = cls >= 0
    sums = np.bincount(cls[off], weights=prod[off], minlength=n_cls)
    counts = np.bincount(cls[off], minlength=n_cls)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(counts > 0, sums / counts, 0.0) / var if var > 0 else np.zeros(n_cls)
    out = np.where(off, rho[np.clip(cls, 0, None)], 1.0)
    return out


def dutilleul_n_eff(
    x: np.ndarray,
    y: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    n_classes: int | None = None,
) -> float:
    """Dutilleul's effective sample size for the correlation of *x* and *y*.

    Parameters
    ----------
    x, y
        The two variables (no NaN).
    lon, lat
        Label points in degrees.
    n_classes
        Number of equal-frequency distance classes (default: Sturges' rule,
        ``ceil(1 + log2(n (n - 1) / 2))``).

    Returns
    -------
    float
        ``1 + 1 / Var(r)``, clipped to [3, n]: spatial autocorrelation can only
        reduce the information, and Fisher's z needs more than 3.

    Examples
    --------
    A smooth gradient shared by both variables leaves few effective points:

    >>> lon = np.linspace(0, 40, 60); lat = np.zeros(60)
    >>> rng = np.random.default_rng(0)
    >>> dutilleul_n_eff(lon + rng.normal(size=60), lon + rng.normal(size=60), lon, lat) < 15
    True
    >>> n_iid = dutilleul_n_eff(rng.normal(size=60), rng.normal(size=60), lon, lat)
    >>> 40 < n_iid <= 60
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if n < 4:
        return float(n)
    cls = _classes(great_circle_km(lon, lat), n_classes)
    sx = autocorrelation_matrix(x, cls)
    sy = autocorrelation_matrix(y, cls)
    B = np.eye(n) - 1.0 / n
    bsx = B @ sx
    bsy = B @ sy
    num = float(np.einsum("ij,ji->", bsx, bsy))
    den = float(np.trace(bsx)) * float(np.trace(bsy))
    if not (num > 0 and den > 0):
        return float(n)
    n_eff = 1.0 + den / num
    return float(min(max(n_eff, 3.0), n))


def fisher_ci(r: float, n_eff: float, *, k: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Fisher-z CI of a (partial, *k* controls) correlation with *n_eff* points.

    >>> [round(v, 3) for v in fisher_ci(0.5, 103)]
    [0.339, 0.632]
    >>> fisher_ci(0.5, 3)
    (-1.0, 1.0)
    """
    if r is None or math.isnan(r) or math.isnan(n_eff):
        return (math.nan, math.nan)
    if n_eff - k - 3 <= 0:
        return (-1.0, 1.0)
    if abs(r) >= 1:
        return (float(r), float(r))
    zc = float(stats.norm.ppf(0.5 + level / 2.0))
    se = 1.0 / math.sqrt(n_eff - k - 3)
    z = math.atanh(r)
    return (math.tanh(z - zc * se), math.tanh(z + zc * se))


def spatial_corr_ci(
    x: np.ndarray, y: np.ndarray, lon: np.ndarray, lat: np.ndarray, *, level: float = 0.95,
    n_classes: int | None = None,
) -> tuple[float, float, float, float]:
    """Pearson's r with its spatially corrected CI.

    Returns
    -------
    r, ci_low, ci_high, n_eff

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> lon, lat = rng.uniform(-60, 60, 80), rng.uniform(-60, 60, 80)
    >>> x = rng.normal(size=80); y = x + rng.normal(size=80)
    >>> r, lo, hi, n_eff = spatial_corr_ci(x, y, lon, lat)
    >>> lo < r < hi and n_eff > 50
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return (math.nan,) * 4
    r = float(np.corrcoef(x, y)[0, 1])
    n_eff = dutilleul_n_eff(x, y, lon, lat, n_classes=n_classes)
    lo, hi = fisher_ci(r, n_eff, level=level)
    return r, lo, hi, n_eff


def spatial_partial_ci(
    x: np.ndarray, y: np.ndarray, controls: np.ndarray | None, lon: np.ndarray,
    lat: np.ndarray, *, level: float = 0.95,
) -> tuple[float, float, float, float]:
    """Partial correlation of *x* and *y* given *controls*, spatially corrected CI.

    Both are residualised on ``[1, controls]`` (Frisch-Waugh); ``n_eff`` is
    :func:`dutilleul_n_eff` of the residuals; the Fisher interval uses
    ``n_eff - k - 3`` degrees of freedom (k controls).

    Returns
    -------
    r, ci_low, ci_high, n_eff

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> lon, lat = rng.uniform(-60, 60, 80), rng.uniform(-60, 60, 80)
    >>> z = rng.normal(size=80); x = z + rng.normal(size=80); y = z + rng.normal(size=80)
    >>> r, lo, hi, n_eff = spatial_partial_ci(x, y, z[:, None], lon, lat)
    >>> lo < 0 < hi
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    Z = np.ones((n, 1))
    if controls is not None and np.size(controls):
        Z = np.column_stack([Z, np.asarray(controls, dtype=float)])
    k = Z.shape[1] - 1
    if n - k < 4:
        return (math.nan,) * 4
    rx, ry = residualise(Z[:, 1:], x, y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return (math.nan,) * 4
    r = float(np.corrcoef(rx, ry)[0, 1])
    n_eff = dutilleul_n_eff(rx, ry, lon, lat)
    lo, hi = fisher_ci(r, n_eff, k=k, level=level)
    return r, lo, hi, n_eff
