"""A reference implementation of Dutilleul's effective sample size, for the tests.

Written from the formula (Dutilleul 1993; the docstring of geo_ms.models.spatial_ci),
dense and slow on purpose, without geo_ms: n_eff = 1 + tr(B Sx) tr(B Sy) / tr(B Sx B Sy)
with B = I - 11'/n and Sigma the autocorrelation by distance class.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ref_n_eff"]


def ref_n_eff(x: np.ndarray, y: np.ndarray, lon: np.ndarray, lat: np.ndarray,
              n_cls: int | None = None) -> float:
    """Dutilleul's n_eff = 1 + tr(B Sx) tr(B Sy) / tr(B Sx B Sy), dense, from the formula.

    Sigma's (i, j) entry is the variable's autocorrelation (mean of z_a z_b over the
    pairs of the distance class of (i, j), over mean z^2); classes: equal-frequency
    great-circle distance classes, Sturges' number on the n(n-1)/2 pairs; clipped to
    [3, n].
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    n = x.size
    lam, phi = np.radians(lon), np.radians(lat)
    a = (np.sin((phi[:, None] - phi[None, :]) / 2) ** 2
         + np.cos(phi)[:, None] * np.cos(phi)[None, :]
         * np.sin((lam[:, None] - lam[None, :]) / 2) ** 2)
    dist = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    i, j = np.triu_indices(n, 1)
    d = dist[i, j]
    if n_cls is None:
        n_cls = math.ceil(1 + math.log2(d.size))
    edges = np.quantile(d, np.linspace(0, 1, n_cls + 1)[1:-1])
    cls = np.searchsorted(edges, d, side="right")

    def sigma(v: np.ndarray) -> np.ndarray:
        z = v - v.mean()
        prod = z[i] * z[j]
        rho = np.array([prod[cls == c].mean() if (cls == c).any() else 0.0
                        for c in range(n_cls)]) / (z @ z / n)
        S = np.eye(n)
        S[i, j] = S[j, i] = rho[cls]
        return S

    B = np.eye(n) - 1.0 / n
    bsx, bsy = B @ sigma(x), B @ sigma(y)
    n_eff = 1 + np.trace(bsx) * np.trace(bsy) / np.trace(bsx @ bsy)
    return float(min(max(n_eff, 3.0), n))
