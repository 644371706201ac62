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
