"""The compiled band sums (exposures/kernels.py via weights.band_sums) against SciPy.

Each sum is recomputed independently with SciPy sparse products over the finite cells
(NaN/inf set to 0 and dropped from the weights), as the engine did before it was
compiled; the block and thread splits must not change a bit of the sums' meaning.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from geo_ms.errors import GridError
from geo_ms.exposures.weights import band_sums


def _scipy_sums(w: sp.csr_matrix, area: sp.csr_matrix, values: np.ndarray):
    cols = []
    for band in values.astype(np.float64):
        ok = np.isfinite(band)
        x = np.where(ok, band, 0.0)
        cols.append((w @ x, w @ ok.astype(float), area @ ok.astype(float)))
    return tuple(np.column_stack([c[i] for c in cols]) for i in range(3))


def _case(n_rows: int, n_cells: int, n_bands: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    w = sp.random(n_rows, n_cells, density=0.05, format="csr", random_state=seed)
    w.data = rng.uniform(1e6, 1e8, w.nnz)  # m², as the coverage weights
    area = w.copy()
    area.data = rng.uniform(1e6, 1e8, w.nnz)
    values = rng.normal(10.0, 5.0, (n_bands, n_cells)).astype(dtype)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[0, :3] = [np.inf, -np.inf, np.nan]
    return w, area, values


def test_hand_computed_sums():
    w = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]))
    area = sp.csr_matrix(np.array([[10.0, 20.0, 0.0], [0.0, 30.0, 40.0]]))
    values = np.array([[1.0, 3.0, np.nan], [np.inf, 5.0, 7.0]])
    num, den, av = band_sums(w, area, values)
    # band 0: row 0 = 1*1 + 1*3, row 1 = 2*3 (NaN cell dropped); band 1: inf dropped
    np.testing.assert_array_equal(num, [[4.0, 5.0], [6.0, 24.0]])
    np.testing.assert_array_equal(den, [[2.0, 1.0], [2.0, 4.0]])
    np.testing.assert_array_equal(av, [[30.0, 20.0], [30.0, 70.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_bands", [1, 3, 8, 19])
def test_sums_equal_scipy(dtype, n_bands):
    w, area, values = _case(40, 600, n_bands, dtype)
    got = band_sums(w, area, values)
    for g, ref in zip(got, _scipy_sums(w, area, values), strict=True):
        np.testing.assert_allclose(g, ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("n_bands", [1, 2, 17])
def test_threads_split_bands_or_rows_same_sums(threads, n_bands):
    # 1 and 2 bands: fewer band blocks than threads, so the regions are split too
    w, area, values = _case(57, 900, n_bands, np.float32, seed=3)
    one = band_sums(w, area, values, threads=1)
    many = band_sums(w, area, values, threads=threads)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)  # the same additions in the same order


def test_int64_indices_and_duplicates():
    w = sp.csr_matrix(
        (np.array([1.0, 2.0, 4.0]), np.array([0, 0, 2], dtype=np.int64),
         np.array([0, 2, 3], dtype=np.int64)),
        shape=(2, 3),
    )
    w.indices, w.indptr = w.indices.astype(np.int64), w.indptr.astype(np.int64)
    values = np.array([[5.0, 0.0, 1.0]])
    num, den, _ = band_sums(w, w, values)
    # the duplicate (0, 0) entries add up, as in w @ v
    np.testing.assert_array_equal(num.ravel(), [15.0, 4.0])
    np.testing.assert_array_equal(den.ravel(), [3.0, 4.0])


def test_integer_values_are_summed_as_float():
    w = sp.csr_matrix(np.array([[0.5, 0.5]]))
    num, den, _ = band_sums(w, w, np.array([[3, 4]], dtype=np.int16))
    assert num.item() == 3.5 and den.item() == 1.0


def test_rows_without_cells_are_zero():
    w = sp.csr_matrix((2, 4))
    num, den, av = band_sums(w, w, np.ones((2, 4)))
    assert num.shape == (2, 2) and not num.any() and not den.any() and not av.any()


def test_shape_mismatch_is_a_grid_error():
    w = sp.csr_matrix(np.eye(3))
    with pytest.raises(GridError, match=r"band sums: values \(1, 4\) against weights \(3, 3\)"):
        band_sums(w, w, np.ones((1, 4)))


def test_read_only_and_big_endian_values():
    # memory-mapped rasters are read-only; some netCDF files store big-endian floats
    w = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]))
    ro = np.array([[1.0, 3.0, np.nan]], dtype=np.float32)
    ro.setflags(write=False)
    np.testing.assert_array_equal(band_sums(w, w, ro)[0].ravel(), [4.0, 6.0])
    be = np.array([[1.0, 3.0, 5.0]], dtype=">f8")
    np.testing.assert_array_equal(band_sums(w, w, be)[0].ravel(), [4.0, 16.0])


def test_compiles_without_a_writable_cache(monkeypatch):
    """Where numba finds no cache directory it can write, the loop is compiled uncached."""
    import numba

    from geo_ms import _jit

    real = numba.njit

    def njit(**options):
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x'")
        return real(**options)

    monkeypatch.setattr(numba, "njit", njit)

    def twice(x):
        return 2 * x

    assert _jit.jit(twice)(21) == 42
