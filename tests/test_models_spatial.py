"""Spatial diagnostics: kNN weights on the sphere, planted spatial error vs iid process."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo_ms.errors import SchemaError
from geo_ms.models.spatial import fit_spatial, knn_weights, moran, spatial

LAMBDA = 0.8
BETA = 0.5


def _grid(seed: int) -> tuple[np.ndarray, np.ndarray]:
    # 12 x 12 points, 5.45° apart, jittered by up to ±0.5° so that no two distances tie
    rng = np.random.default_rng(seed)
    g = np.linspace(-30, 30, 12)
    lon, lat = np.meshgrid(g, g)
    return (lon.ravel() + rng.uniform(-0.5, 0.5, lon.size),
            lat.ravel() + rng.uniform(-0.5, 0.5, lat.size))


@pytest.fixture(scope="module")
def planted():
    """y = 1 + 0.5 x + u, u = (I - 0.8 W)^-1 eps (spatial error), and the same with u = eps."""
    lon, lat = _grid(1)
    n = lon.size
    rng = np.random.default_rng(1)
    W = knn_weights(lon, lat, k=6).full()[0]
    eps = rng.normal(size=n)
    u = np.linalg.solve(np.eye(n) - LAMBDA * W, eps)
    x = rng.normal(size=n)
    sar = pd.DataFrame({"region_id": [f"P{i}" for i in range(n)], "lon": lon, "lat": lat,
                        "x": x, "prevalence_per_100k": np.exp(1 + BETA * x + u)})
    iid = sar.assign(prevalence_per_100k=np.exp(1 + BETA * x + eps))
    return {
        "W": W,
        "sar_df": sar,
        "sar": fit_spatial(sar, "x", covariates=()),
        "iid": fit_spatial(iid, "x", covariates=()),
    }


def test_knn_weights_great_circle_and_row_standardised():
    lon = np.array([179.5, -179.5, 170.0, 0.0, 1.0, 2.0])
    lat = np.array([10.0, 10.0, 10.0, 60.0, 60.0, 61.0])
    w = knn_weights(lon, lat, k=2, ids=list("abcdef"))
    # across the antimeridian 179.5°E is 1° from 179.5°W, 9.5° from 170°E
    assert sorted(w.neighbors["a"]) == ["b", "c"]
    assert sorted(w.neighbors["d"]) == ["e", "f"]
    W = w.full()[0]
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    assert w.transform == "R"


def test_knn_needs_more_regions_than_neighbours():
    with pytest.raises(SchemaError, match=r"^spatial weights: k=6 neighbours asked for 5 "
                                          r"regions$"):
        knn_weights(np.arange(5.0), np.zeros(5), k=6)


def test_planted_spatial_error_detected(planted):
    fit = planted["sar"]
    assert fit.n == 144
    assert fit.moran_i > 0.3
    assert fit.moran_p < 0.01
    assert fit.lm["lm_error"][1] < 0.01
    # the ML spatial error model recovers lambda and beta
    assert fit.lam == pytest.approx(LAMBDA, abs=0.15)
    _b, lo, hi, p = fit.error
    assert lo < BETA < hi
    assert p < 0.001


def test_iid_process_has_moran_near_expectation(planted):
    # E[I] of OLS residuals (Cliff & Ord 1981): n tr(MW) / (S0 (n - k)), M = I - X(X'X)^-1 X';
    # row-standardised W has S0 = n, so E[I] = tr(MW) / (n - k) -- not -1/(n-1)
    fit = planted["iid"]
    d, W = planted["sar_df"], planted["W"]
    X = np.column_stack([np.ones(len(d)), d["x"]])
    M = np.eye(len(d)) - X @ np.linalg.solve(X.T @ X, X.T)
    assert fit.moran_expected == pytest.approx(np.trace(M @ W) / (len(d) - 2), rel=1e-9)
    assert fit.moran_expected != pytest.approx(-1 / 143, abs=1e-6)
    assert abs(fit.moran_i - fit.moran_expected) < 0.05
    assert fit.moran_p > 0.05 and fit.moran_p_sim > 0.05
    assert fit.error is None and fit.lag is None
    assert fit.notes[-1].startswith("spatial models not fitted: residual Moran p=")


def test_moran_and_lm_error_by_hand(planted):
    # independent: OLS residuals e, I = e'We / e'e (row-standardised W, S0 = n);
    # LM-error = (e'We / (e'e/n))^2 / tr(W'W + WW)
    d, W = planted["sar_df"], planted["W"]
    X = np.column_stack([np.ones(len(d)), d["x"]])
    y = np.log(d["prevalence_per_100k"].to_numpy())
    e = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    i_hand = float(e @ W @ e / (e @ e))
    lm_hand = float((e @ W @ e / (e @ e / len(e))) ** 2 / np.trace(W.T @ W + W @ W))
    fit = planted["sar"]
    assert fit.moran_i == pytest.approx(i_hand, rel=1e-9)
    assert fit.lm["lm_error"][0] == pytest.approx(lm_hand, rel=1e-9)


def test_rows_side_by_side_with_ols(planted):
    out = planted["sar"].to_frame().set_index("model")
    assert out.index.tolist() == ["moran_resid", "lm_error", "lm_lag", "spatial_error",
                                  "spatial_lag"]
    assert out.loc["spatial_error", "note"].startswith(
        f"ML spatial error model with ols covariates; lambda={planted['sar'].lam:.3f} (SE ")
    assert "OLS (ols) b=" in out.loc["spatial_error", "note"]
    assert "robust lm-error=" in out.loc["lm_error", "note"]
    assert np.isnan(out.loc["moran_resid", "ci_low"])
    assert out[["estimate"]].notna().all().all()


def test_moran_seeded_and_global_rng_untouched():
    w = knn_weights(np.arange(40.0), np.zeros(40), k=3)
    v = np.random.default_rng(0).normal(size=40)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = moran(v, w, permutations=199, seed=7)
    b = moran(v, w, permutations=199, seed=7)
    assert a.p_sim == b.p_sim
    np.testing.assert_array_equal(a.sim, b.sim)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_spatial_rows_for_adjusted_model_by_default():
    rng = np.random.default_rng(2)
    n = 60
    d = pd.DataFrame({"lon": rng.uniform(-60, 60, n), "lat": rng.uniform(-50, 60, n),
                      "x": rng.normal(size=n), "gdp_per_capita": np.exp(rng.normal(9, 1, n))})
    d["abs_latitude"] = d["lat"].abs()
    d["prevalence_per_100k"] = np.exp(0.03 * d["abs_latitude"] + rng.normal(0, 0.3, n))
    out = spatial(d, "x", k=4, permutations=99)
    assert out.iloc[0]["note"].startswith("Moran's I of ols_adj_lat_gdp residuals; "
                                          "4-nearest neighbours (great-circle)")


def test_missing_label_points_error():
    d = pd.DataFrame({"x": [1.0, 2.0], "prevalence_per_100k": [1.0, 2.0]})
    with pytest.raises(SchemaError, match=r"^analysis table: missing column\(s\) 'lon', 'lat' "
                                          r"needed for the spatial model of x$"):
        fit_spatial(d, "x", covariates=())


def test_ml_models_equal_spregs_dense_full_method(planted):
    # fit_spatial uses the sparse LU log-Jacobian; spreg's method="full" (dense n x n
    # determinant) is the reference, computed here on the same planted field
    import contextlib
    import io
    import warnings

    import spreg

    df = planted["sar_df"]
    w = knn_weights(df["lon"], df["lat"], k=6, ids=df["region_id"].tolist())
    y = np.log(df[["prevalence_per_100k"]].to_numpy())
    x = df[["x"]].to_numpy()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        err = spreg.ML_Error(y, x, w, method="full")
        lag = spreg.ML_Lag(y, x, w, method="full", spat_diag=False, spat_impacts=None)
    fit = planted["sar"]
    se = float(np.ravel(err.std_err)[1])
    assert fit.error[0] == pytest.approx(float(np.ravel(err.betas)[1]), abs=1e-6)
    assert fit.error[1] == pytest.approx(float(np.ravel(err.betas)[1]) - 1.959964 * se, abs=1e-6)
    assert fit.lam == pytest.approx(float(np.ravel(err.betas)[-1]), abs=1e-6)
    assert fit.lam_se == pytest.approx(float(np.ravel(err.std_err)[-1]), abs=1e-6)
    assert fit.lag[0] == pytest.approx(float(np.ravel(lag.betas)[1]), abs=1e-6)
    assert fit.rho == pytest.approx(float(np.ravel(lag.betas)[-1]), abs=1e-6)
    assert fit.rho_se == pytest.approx(float(np.ravel(lag.std_err)[-1]), abs=1e-6)


def test_ml_models_skipped_above_the_configured_size(planted):
    df = planted["sar_df"]
    n = len(df)
    fit = fit_spatial(df, "x", covariates=(), ml_max_n=n - 1)
    assert fit.error is None and fit.lag is None and math.isnan(fit.lam)
    rows = fit.to_frame().set_index("model")
    assert rows.loc["moran_resid", "estimate"] == pytest.approx(planted["sar"].moran_i)
    for model in ("spatial_error", "spatial_lag"):
        assert math.isnan(rows.loc[model, "estimate"])
        assert rows.loc[model, "note"] == (
            f"ML spatial model skipped: {n} regions > models.spatial_ml_max_n = {n - 1} "
            "(its variance inverts the n x n matrix I - lambda W; raise the key to fit it)")
    assert fit_spatial(df, "x", covariates=(), ml_max_n=n).error == planted["sar"].error


def test_fit_all_keeps_the_skipped_rows(planted):
    from geo_ms.models import fit_all

    df = planted["sar_df"].assign(abs_latitude=lambda d: d["lat"].abs())
    out = fit_all(df, {"n_boot": 50, "permutations": 99, "spatial_ml_max_n": 10,
                       "fixed_effects": ""}, exposures=["x"])
    skipped = out[out["model"].isin(["spatial_error", "spatial_lag"])]
    assert len(skipped) == 2 and skipped["estimate"].isna().all()
    assert skipped["note"].str.startswith("ML spatial model skipped: 144 regions").all()


def test_knn_weights_are_built_once_per_set_of_label_points():
    import importlib

    sp = importlib.import_module("geo_ms.models.spatial")  # the package exports spatial()
    lon, lat = np.arange(12.0), np.zeros(12)
    a = knn_weights(lon, lat, k=2, ids=list("abcdefghijkl"))
    assert knn_weights(lon.copy(), lat.copy(), k=2, ids=list("abcdefghijkl")) is a
    # other points, ids or k: other weights, each right
    b = knn_weights(lon, lat, k=3, ids=list("abcdefghijkl"))
    c = knn_weights(lon + 0.5, lat, k=2, ids=list("abcdefghijkl"))
    d = knn_weights(lon, lat, k=2)
    assert len({id(a), id(b), id(c), id(d)}) == 4
    assert sorted(a.neighbors["f"]) == ["e", "g"] and sorted(d.neighbors[5]) == [4, 6]
    assert len(b.neighbors["a"]) == 3 and a.transform == "R"
    assert len(sp._W_CACHE) <= sp._W_CACHE_SIZE
