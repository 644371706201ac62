"""Spatially corrected correlation CIs (Dutilleul's effective sample size)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_dutilleul import ref_n_eff
from scipy import stats

from geo_ms.models.spatial import knn_weights
from geo_ms.models.spatial_ci import (
    dutilleul_n_eff,
    fisher_ci,
    great_circle_km,
    spatial_corr_ci,
    spatial_partial_ci,
)

N = 200


def _points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lon = rng.uniform(-180, 180, N)
    lat = np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, N)))
    return lon, lat


def _width_ratio(x, y, lon, lat) -> float:
    r, lo, hi, _ = spatial_corr_ci(x, y, lon, lat)
    a, b = fisher_ci(r, N)
    return (hi - lo) / (b - a)


def test_independent_points_keep_the_iid_width():
    ratios = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        lon, lat = _points(rng)
        ratios.append(_width_ratio(rng.normal(size=N), rng.normal(size=N), lon, lat))
    assert 0.85 <= np.mean(ratios) <= 1.15


def test_autoregressive_field_widens_the_ci_by_30_percent():
    ratios = []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        lon, lat = _points(rng)
        W = knn_weights(lon, lat, k=6).full()[0]
        A = np.eye(N) - 0.8 * W  # simultaneous autoregressive field, rho = 0.8
        x = np.linalg.solve(A, rng.normal(size=N))
        y = np.linalg.solve(A, rng.normal(size=N))
        ratios.append(_width_ratio(x, y, lon, lat))
    assert np.mean(ratios) >= 1.3


def test_fisher_ci_by_hand():
    # z = atanh(0.5) = 0.549306; se = 1/sqrt(100) -> tanh(0.549306 ± 0.195996)
    lo, hi = fisher_ci(0.5, 103)
    z = 1.959963984540054
    assert lo == pytest.approx(math.tanh(math.atanh(0.5) - z / 10), abs=1e-12)
    assert hi == pytest.approx(math.tanh(math.atanh(0.5) + z / 10), abs=1e-12)
    assert fisher_ci(0.5, 5, k=2) == (-1.0, 1.0)


def test_trace_formula_by_hand():
    lon = np.array([0.0, 90.0, 180.0, -90.0])
    lat = np.zeros(4)
    x = np.array([1.0, -1.0, 1.0, -1.0])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    # with 1 class: rho_x = mean of x_i x_j over i != j / var = (-4/12)/1 = -1/3, same for y;
    # Sigma = (1 + 1/3) I - 1/3 11'; B Sigma = 4/3 B -> tr(B Sx B Sy) = 16/9 * 3,
    # tr(B Sx) = tr(B Sy) = 4/3 * 3 = 4 -> Var = (16/3)/16 = 1/3, n_eff = 1 + 3 = 4
    assert dutilleul_n_eff(x, y, lon, lat, n_classes=1) == pytest.approx(4.0)


def test_great_circle_quarter_meridian():
    d = great_circle_km([0.0, 0.0], [0.0, 90.0])
    assert d[0, 1] == pytest.approx(math.pi / 2 * 6371.0088, rel=1e-12)


def test_partial_ci_matches_residual_correlation():
    rng = np.random.default_rng(5)
    lon, lat = _points(rng)
    z = rng.normal(size=N)
    x = z + rng.normal(size=N)
    y = 0.5 * x + z + rng.normal(size=N)
    r, lo, hi, n_eff = spatial_partial_ci(x, y, z[:, None], lon, lat)
    Z = np.column_stack([np.ones(N), z])
    rx = x - Z @ np.linalg.lstsq(Z, x, rcond=None)[0]
    ry = y - Z @ np.linalg.lstsq(Z, y, rcond=None)[0]
    assert r == pytest.approx(stats.pearsonr(rx, ry).statistic, abs=1e-12)
    # n_eff of the residuals by the reference implementation; Fisher z on n_eff - 1 - 3
    assert n_eff == pytest.approx(ref_n_eff(rx, ry, lon, lat), rel=1e-9)
    half = stats.norm.ppf(0.975) / math.sqrt(n_eff - 1 - 3)
    assert (lo, hi) == pytest.approx((math.tanh(math.atanh(r) - half),
                                      math.tanh(math.atanh(r) + half)), abs=1e-12)


# -- the dense O(n^3) implementation this module replaced: reference only -------------
def _dense_classes(dist: np.ndarray, edges: np.ndarray) -> np.ndarray:
    n = dist.shape[0]
    iu = np.triu_indices(n, 1)
    cls = np.full((n, n), -1, dtype=int)
    k = np.searchsorted(edges, dist[iu], side="right")
    cls[iu] = k
    cls[(iu[1], iu[0])] = k
    return cls


def _dense_autocorrelation(values: np.ndarray, cls: np.ndarray) -> np.ndarray:
    z = values - values.mean()
    var = float(z @ z) / z.size
    prod = np.outer(z, z)
    off = cls >= 0
    n_cls = int(cls.max()) + 1
    sums = np.bincount(cls[off], weights=prod[off], minlength=n_cls)
    counts = np.bincount(cls[off], minlength=n_cls)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(counts > 0, sums / counts, 0.0) / var if var > 0 else np.zeros(n_cls)
    return np.where(off, rho[np.clip(cls, 0, None)], 1.0)


def _dense_n_eff(x, y, lon, lat, *, n_classes=None, equal_width=False):
    n = x.size
    dist = great_circle_km(lon, lat)
    d = dist[np.triu_indices(n, 1)]
    if n_classes is None:
        n_classes = math.ceil(1 + math.log2(d.size))
    if equal_width:  # SpatialPack's modified.ttest: equal-width classes up to the largest distance
        edges = np.linspace(0.0, d.max(), n_classes + 1)[1:-1]
    else:
        edges = np.quantile(d, np.linspace(0, 1, n_classes + 1)[1:-1])
    cls = _dense_classes(dist, edges)
    B = np.eye(n) - 1.0 / n
    bsx = B @ _dense_autocorrelation(x, cls)
    bsy = B @ _dense_autocorrelation(y, cls)
    num = float(np.einsum("ij,ji->", bsx, bsy))
    den = float(np.trace(bsx)) * float(np.trace(bsy))
    return float(min(max(1.0 + den / num, 3.0), n))


def _sar_pair(seed: int, n: int = N, rho: float = 0.8):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-180, 180, n)
    lat = np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, n)))
    A = np.eye(n) - rho * knn_weights(lon, lat, k=6).full()[0]
    return (np.linalg.solve(A, rng.normal(size=n)), np.linalg.solve(A, rng.normal(size=n)),
            lon, lat)


@pytest.mark.parametrize("chunk", [2_000_000, 500])
@pytest.mark.parametrize(("seed", "n", "n_classes"), [
    (0, 200, None), (1, 200, 13), (2, 60, None), (3, 7, None), (4, 500, None), (5, 200, 1),
])
def test_chunked_n_eff_equals_the_dense_reference(monkeypatch, seed, n, n_classes, chunk):
    from geo_ms.models import spatial_ci

    monkeypatch.setattr(spatial_ci, "_CHUNK_PAIRS", chunk)  # 500: many blocks of pairs
    spatial_ci._STRUCT_CACHE.clear()
    spatial_ci._RESULT_CACHE.clear()
    x, y, lon, lat = _sar_pair(seed, n, rho=0.6)
    got = dutilleul_n_eff(x, y, lon, lat, n_classes=n_classes)
    assert got == pytest.approx(_dense_n_eff(x, y, lon, lat, n_classes=n_classes), abs=1e-10)
    # a second call on the same points reuses the class structure
    got2 = dutilleul_n_eff(y, x + 1, lon, lat, n_classes=n_classes)
    assert got2 == pytest.approx(_dense_n_eff(y, x + 1, lon, lat, n_classes=n_classes),
                                 abs=1e-10)


def test_chunked_class_edges_are_numpys_quantiles():
    from geo_ms.models import spatial_ci

    _, _, lon, lat = _sar_pair(7, 300)
    d = great_circle_km(lon, lat)[np.triu_indices(300, 1)]
    st = spatial_ci._Classes(lon, lat, None)
    expected = np.quantile(d, np.linspace(0, 1, st.n_classes + 1)[1:-1])
    np.testing.assert_array_equal(st.edges, expected)  # bit for bit
    assert st.n_classes == math.ceil(1 + math.log2(300 * 299 / 2)) == 17


def test_equal_frequency_and_spatialpack_equal_width_classes_on_one_field():
    # The module uses equal-frequency classes (Sturges: 16 on 200 points); SpatialPack's
    # modified.ttest uses 13 equal-width classes. On a SAR field (rho = 0.8) both shrink
    # n well below 200 and agree within a factor of 1.5 (on this field: 32.7 with 16
    # equal-frequency classes, 31.6 with 13 equal-width ones, 33.9 with 13 equal-frequency)
    x, y, lon, lat = _sar_pair(11)
    freq = dutilleul_n_eff(x, y, lon, lat)
    assert freq == pytest.approx(_dense_n_eff(x, y, lon, lat), abs=1e-10)
    width = _dense_n_eff(x, y, lon, lat, n_classes=13, equal_width=True)
    assert freq < N / 2 and width < N / 2
    assert 1 / 1.5 < freq / width < 1.5


def _waves(lon, lat, rng, waves: int = 6) -> np.ndarray:
    """A smooth field: a sum of plane waves in 3-D of wavelength 3,000-8,000 km."""
    lam, phi = np.radians(lon), np.radians(lat)
    xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    k = rng.normal(size=(waves, 3))
    k *= (2 * np.pi * 6371.0 / rng.uniform(3000, 8000, waves) / np.linalg.norm(k, axis=1))[:, None]
    return np.cos(xyz @ k.T + rng.uniform(0, 2 * np.pi, waves)).sum(axis=1)


@pytest.mark.parametrize(("seed", "smooth"), [(11, 1.0), (12, 0.0)])
def test_sampled_pairs_above_the_exact_size_agree_with_the_exact_n_eff(monkeypatch, seed,
                                                                       smooth):
    # above _EXACT_MAX_N the classes come from _PARTNERS sampled partners per point
    # (O(n s), nothing n x n); on 3,000 points with 500 partners each it stays within
    # 5 % of the exact chunked passes (smooth fields: n_eff a few % of n; iid: ~ n)
    from geo_ms.models import spatial_ci

    rng = np.random.default_rng(seed)
    lon = rng.uniform(-180, 180, 3000)
    lat = np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, 3000)))
    x = smooth * _waves(lon, lat, rng) + rng.normal(size=3000)
    y = 0.5 * x + smooth * _waves(lon, lat, rng) + rng.normal(size=3000)
    spatial_ci._RESULT_CACHE.clear()
    exact = dutilleul_n_eff(x, y, lon, lat)
    monkeypatch.setattr(spatial_ci, "_EXACT_MAX_N", 1000)
    spatial_ci._RESULT_CACHE.clear()
    sampled = dutilleul_n_eff(x, y, lon, lat)
    assert isinstance(next(reversed(spatial_ci._STRUCT_CACHE.values())),
                      spatial_ci._SampledClasses)
    assert sampled == pytest.approx(exact, rel=0.05)
    assert exact < 0.2 * 3000 if smooth else exact > 0.9 * 3000
