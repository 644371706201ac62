"""The zonal engine's inner loop, compiled: NaN-aware weighted sums of raster bands.

One pass over a CSR weights matrix (regions × raster cells) reads each covered cell of
each band once, straight from the band as it is stored (float32 or float64), and adds
in float64 ``Σ w·v``, ``Σ w`` and ``Σ a`` over the cells whose value is finite. Done
with SciPy, the same sums take a gather of the covered cells, a copy to float64 and a
sparse product per band (and a second product for a band with NaN cells): three passes
over memory instead of one. The loop is compiled by numba (``nogil``: threads run it
on separate bands or regions at once) and cached on disk after its first compilation.

>>> import numpy as np, scipy.sparse as sp
>>> w = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]))
>>> values = np.array([[1.0, 3.0, np.nan]])
>>> num, den, av = (np.zeros((2, 1)) for _ in range(3))
>>> csr_band_sums(w.indptr, w.indices, w.data, w.data, values, 0, 2, 0, 1, num, den, av)
>>> num.ravel().tolist(), den.ravel().tolist()
([4.0, 6.0], [2.0, 2.0])
"""

from __future__ import annotations

import numpy as np

from geo_ms._jit import jit

__all__ = ["csr_band_sums"]


@jit
def csr_band_sums(
    indptr: np.ndarray,
    cols: np.ndarray,
    w: np.ndarray,
    a: np.ndarray,
    values: np.ndarray,
    r0: int,
    r1: int,
    b0: int,
    b1: int,
    num: np.ndarray,
    den: np.ndarray,
    av: np.ndarray,
) -> None:  # pragma: no cover - compiled (numba); tested through its results
    """Rows ``r0:r1``, bands ``b0:b1``: ``Σ w·v``, ``Σ w``, ``Σ a`` over finite ``v``.

    Parameters
    ----------
    indptr, cols, w
        The CSR arrays of the weights (regions × cells).
    a
        Second weights on the same pattern (the cells' areas: ``w`` itself when the
        weights are the areas).
    values
        ``(bands, cells)`` C-contiguous band values (float32 or float64).
    r0, r1, b0, b1
        The block of regions and bands to sum.
    num, den, av
        ``(regions, bands)`` float64 outputs, written in the block only.
    """
    k = b1 - b0
    acc_n = np.zeros(k)
    acc_d = np.zeros(k)
    acc_a = np.zeros(k)
    for r in range(r0, r1):
        acc_n[:] = 0.0
        acc_d[:] = 0.0
        acc_a[:] = 0.0
        for j in range(indptr[r], indptr[r + 1]):
            c = cols[j]
            wj = w[j]
            aj = a[j]
            for b in range(k):
                v = np.float64(values[b0 + b, c])
                if np.isfinite(v):
                    acc_n[b] += wj * v
                    acc_d[b] += wj
                    acc_a[b] += aj
        for b in range(k):
            num[r, b0 + b] = acc_n[b]
            den[r, b0 + b] = acc_d[b]
            av[r, b0 + b] = acc_a[b]
