"""The bootstrap's inner loop, compiled: Pearson's r and Spearman's rho of each resample.

A resample is given by how often each region is drawn (a row of
:func:`geo_ms.models.correlation.resample_counts`). Pearson's r follows from
count-weighted sums of the centred values; Spearman's rho from the average ranks,
which are cumulative counts along each variable's sort order (per tie group), so no
resampled array is built or sorted. Four passes over the regions per resample, in
place of the NumPy version's (resamples × regions) temporaries.

>>> import numpy as np
>>> x = np.array([1.0, 2.0, 3.0]); y = np.array([1.0, 3.0, 2.0])
>>> counts = np.array([[1, 1, 1], [0, 2, 1]], dtype=np.uint8)
>>> order = np.argsort(x, kind="stable"), np.argsort(y, kind="stable")
>>> starts = np.arange(3), np.arange(3)
>>> r, rho = np.empty(2), np.empty(2)
>>> resample_correlations(counts, x - x.mean(), y - y.mean(), order[0], starts[0],
...                       order[1], starts[1], r, rho)
>>> [round(float(v), 6) for v in (*r, *rho)]  # draws (1, 2, 3), then (2, 2, 3)
[0.5, -1.0, 0.5, -1.0]
"""

from __future__ import annotations

import numpy as np

from geo_ms._jit import jit

__all__ = ["resample_correlations"]


@jit
def _centred_ranks(c: np.ndarray, total: int, order: np.ndarray, starts: np.ndarray,
                   out: np.ndarray) -> bool:  # pragma: no cover - compiled (numba)
    """Average rank minus (total + 1)/2 of each region drawn with counts *c* (*total*
    draws); True when every draw falls in one tie group (a constant variable)."""
    n = order.size
    ng = starts.size
    cum = 0
    constant = False
    for k in range(ng):
        s = starts[k]
        e = starts[k + 1] if k + 1 < ng else n
        g = 0
        for j in range(s, e):
            g += c[order[j]]
        if g == total:
            constant = True
        cum += g
        dev = cum - (g - 1) / 2.0 - (total + 1) / 2.0
        for j in range(s, e):
            out[order[j]] = dev
    return constant


@jit
def _weighted_r(c: np.ndarray, m: int, a: np.ndarray,
                b: np.ndarray) -> float:  # pragma: no cover - compiled (numba)
    """Pearson's r of *a* and *b* with region *i* counted ``c[i]`` times (*m* in all)."""
    sa = 0.0
    sb = 0.0
    saa = 0.0
    sbb = 0.0
    sab = 0.0
    for i in range(a.size):
        w = c[i]
        if w:
            sa += w * a[i]
            sb += w * b[i]
            saa += w * a[i] * a[i]
            sbb += w * b[i] * b[i]
            sab += w * a[i] * b[i]
    return (sab - sa * sb / m) / np.sqrt((saa - sa * sa / m) * (sbb - sb * sb / m))


@jit
def resample_correlations(
    counts: np.ndarray,
    xc: np.ndarray,
    yc: np.ndarray,
    x_order: np.ndarray,
    x_starts: np.ndarray,
    y_order: np.ndarray,
    y_starts: np.ndarray,
    r: np.ndarray,
    rho: np.ndarray,
    b0: int = 0,
    b1: int = -1,
) -> None:  # pragma: no cover - compiled (numba); tested through its results
    """Pearson's r and Spearman's rho of resamples ``b0:b1`` (NaN where one is constant).

    Parameters
    ----------
    counts
        ``(n_boot, n)`` draws of each region in each resample.
    xc, yc
        The variables minus their means (float64).
    x_order, y_order
        Stable sort orders of the variables.
    x_starts, y_starts
        Sorted positions where a new tie group starts.
    r, rho
        ``(n_boot,)`` outputs, written at ``b0:b1``.
    b0, b1
        The resamples to compute (``b1 = -1``: to the last); threads take disjoint
        ranges.
    """
    n_boot, n = counts.shape
    if b1 < 0:
        b1 = n_boot
    dx = np.empty(n)
    dy = np.empty(n)
    for b in range(b0, b1):
        c = counts[b]
        m = 0
        for i in range(n):
            m += c[i]
        const_x = _centred_ranks(c, m, x_order, x_starts, dx)
        const_y = _centred_ranks(c, m, y_order, y_starts, dy)
        if const_x or const_y:
            r[b] = np.nan
            rho[b] = np.nan
        else:
            r[b] = _weighted_r(c, m, xc, yc)
            rho[b] = _weighted_r(c, m, dx, dy)  # Pearson's r of the ranks
