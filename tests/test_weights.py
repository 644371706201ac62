"""Reusable coverage weights (geo_ms.exposures.weights / geo_ms.exposures.zonal.coverage_weights)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

from geo_ms.errors import GridError
from geo_ms.exposures import weights as _weights
from geo_ms.exposures.weights import EARTH_RADIUS_M, CoverageWeights, cell_areas_m2, grid_spec
from geo_ms.exposures.zonal import coverage_weights, zonal_mean

REL = 1e-9


def _da(res: float = 1.0, name: str = "x") -> xr.DataArray:
    lat = np.arange(90 - res / 2, -90, -res)
    lon = np.arange(-180 + res / 2, 180, res)
    vals = lat[:, None] + 0.001 * lon[None, :]
    da = xr.DataArray(vals, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name=name)
    return da.rio.write_crs("EPSG:4326")


def _regions(**boxes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"region_id": list(boxes)}, geometry=list(boxes.values()), crs="EPSG:4326"
    )


@pytest.fixture(autouse=True)
def _fresh_memo():
    _weights._MEMO.clear()
    yield
    _weights._MEMO.clear()


def _sphere_box_m2(w: float, s: float, e: float, n: float) -> float:
    return (
        EARTH_RADIUS_M**2
        * math.radians(e - w)
        * (math.sin(math.radians(n)) - math.sin(math.radians(s)))
    )


def test_matrix_holds_f_times_spherical_area():
    cw = coverage_weights(
        _da(), _regions(a=shapely.box(10, 20, 12, 22), b=shapely.box(10, 20, 11.5, 21))
    )
    assert cw.matrix.shape == (2, 180 * 360)
    assert cw.region_ids == ["a", "b"]
    # row a: 4 whole cells; row b: one whole cell and one half cell
    assert cw.matrix[0].nnz == 4 and cw.matrix[1].nnz == 2
    # exactextract returns cell areas rounded to float32 (≈ 6e-8 relative)
    area = cw.covered_area_m2
    assert area["a"] == pytest.approx(_sphere_box_m2(10, 20, 12, 22), rel=1e-7)
    assert area["b"] == pytest.approx(_sphere_box_m2(10, 20, 11.5, 21), rel=1e-7)
    # cells are numbered row-major from the north-west corner (row 69 = lat 20.5)
    cells = sorted(cw.matrix[1].indices.tolist())
    assert cells == [69 * 360 + 190, 69 * 360 + 191]
    half = cw.matrix[1, 69 * 360 + 191]
    full = cw.matrix[1, 69 * 360 + 190]
    assert full == float(np.float32(_sphere_box_m2(10, 20, 11, 21)))  # float32-rounded A
    assert half == pytest.approx(0.5 * full, rel=1e-7)


def test_cell_areas_sum_to_the_sphere():
    g = grid_spec(_da(2.0))
    total = cell_areas_m2(g).sum() * g.nx
    assert total == pytest.approx(4 * math.pi * EARTH_RADIUS_M**2, rel=1e-12)


def test_mean_is_nan_aware_per_band():
    da = _da()
    cw = coverage_weights(da, _regions(a=shapely.box(10, 20, 12, 21)))
    v = np.stack([da.values, da.values * 10])
    v[0, 69, 190] = np.nan
    out = cw.mean(v, columns=["b1", "b2"])
    assert out.loc["a", "b1"] == pytest.approx(20.5 + 0.0115, rel=REL)
    assert out.loc["a", "b2"] == pytest.approx(10 * (20.5 + 0.011), rel=REL)
    assert out.loc["a", "valid_fraction"] == pytest.approx(0.5, rel=REL)


def test_bands_sharing_a_nan_mask_and_bands_with_their_own():
    # cells (69, 190) and (69, 191): lat 20.5, lon 10.5 / 11.5, equal areas
    da = _da()
    cw = coverage_weights(da, _regions(a=shapely.box(10, 20, 12, 21)))
    v = np.stack([da.values * k for k in (1, 2, 3, 4)])
    v[0, 69, 190] = v[1, 69, 190] = np.nan  # the same NaN cell in bands 1 and 2
    v[2, 69, 191] = np.inf  # another cell in band 3; band 4 has none
    out = cw.mean(v, columns=["b1", "b2", "b3", "b4"])
    assert out.loc["a", "b1"] == pytest.approx(20.5115, rel=REL)
    assert out.loc["a", "b2"] == pytest.approx(2 * 20.5115, rel=REL)
    assert out.loc["a", "b3"] == pytest.approx(3 * 20.5105, rel=REL)
    assert out.loc["a", "b4"] == pytest.approx(4 * 20.511, rel=REL)
    fractions = {b: f[0] for b, f in out.attrs["valid_fraction_bands"].items()}
    assert fractions == pytest.approx({"b1": 0.5, "b2": 0.5, "b3": 0.5, "b4": 1.0}, rel=REL)


def test_cell_weights_multiply_f_times_a():
    da = _da()
    cw = coverage_weights(da, _regions(a=shapely.box(10, 20, 12, 21)))
    factor = np.zeros(da.shape)
    factor[69, 190], factor[69, 191] = 1.0, 3.0
    out = cw.mean(da, cell_weights=factor, columns=["x"])
    assert out.loc["a", "x"] == pytest.approx(
        (1 * (20.5 + 0.0105) + 3 * (20.5 + 0.0115)) / 4, rel=REL
    )


def test_disk_cache_is_written_reused_and_keyed(tmp_path):
    da = _da()
    reg = _regions(a=shapely.box(10, 20, 12, 22))
    first = coverage_weights(da, reg, cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0] == f"coverage_{first.key[:24]}.npz"
    assert first.attrs["cache"] == "computed"
    _weights._MEMO.clear()
    second = coverage_weights(da, reg, cache_dir=tmp_path)
    assert second.attrs["cache"] == "disk"
    assert (second.matrix != first.matrix).nnz == 0
    # same grid and regions in memory: the very same object
    assert coverage_weights(da, reg, cache_dir=tmp_path) is second
    # another geometry or another grid → another key
    other = coverage_weights(da, _regions(a=shapely.box(10, 20, 12, 23)), cache_dir=tmp_path)
    coarse = coverage_weights(_da(2.0), reg, cache_dir=tmp_path)
    assert len({first.key, other.key, coarse.key}) == 3
    assert len(list(tmp_path.iterdir())) == 3


def test_corrupt_cache_file_is_recomputed(tmp_path):
    da = _da()
    reg = _regions(a=shapely.box(10, 20, 12, 22))
    cw = coverage_weights(da, reg, cache_dir=tmp_path)
    path = tmp_path / f"coverage_{cw.key[:24]}.npz"
    path.write_bytes(b"not a zip")
    _weights._MEMO.clear()
    with pytest.warns(UserWarning, match="unreadable or stale weights cache, recomputing"):
        again = coverage_weights(da, reg, cache_dir=tmp_path)
    assert again.attrs["cache"] == "computed"
    assert again.covered_area_m2["a"] == pytest.approx(cw.covered_area_m2["a"], rel=REL)
    assert CoverageWeights.load(path, key=cw.key, region_ids=["a"], grid=cw.grid).matrix.nnz == 4


def test_values_on_another_grid_are_refused():
    cw = coverage_weights(_da(), _regions(a=shapely.box(10, 20, 12, 22)))
    with pytest.raises(
        GridError, match=r"^raster 'x': grid 90x180\|.* differs from the weights' grid 180x360"
    ):
        cw.mean(_da(2.0))
    with pytest.raises(
        GridError, match=r"^values: shape \(3, 4\) does not match the weights' grid \(180, 360\)$"
    ):
        cw.mean(np.zeros((3, 4)))


def test_zonal_mean_cache_dir_is_used(tmp_path):
    da = _da()
    stack = xr.concat([da, da + 1], dim=xr.DataArray([1, 2], dims="month", name="month"))
    reg = _regions(a=shapely.box(10.2, 20.2, 10.4, 20.4))
    out = zonal_mean(stack, reg, cache_dir=tmp_path)
    assert out.attrs["path"] == "weights"
    assert len(list(tmp_path.glob("coverage_*.npz"))) == 1
    assert out.loc["a", 2] - out.loc["a", 1] == pytest.approx(1.0, rel=REL)


def test_wkb_feature_source_gives_exactextracts_geodataframe_results_bit_for_bit():
    """The regions handed to exactextract as WKB give exactly what exactextract's own
    GeoDataFrame reader gives (holes, multipolygons, a polygon across cell edges)."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    from geo_ms.exposures.wkb_features import WKBFeatureSource

    holed = shapely.Polygon([(0.3, 0.3), (7.7, 0.2), (7.1, 6.9), (0.2, 7.3)],
                            holes=[[(2.5, 2.5), (4.5, 2.6), (3.3, 4.9)]])
    multi = shapely.MultiPolygon([shapely.box(-10.25, 40.1, -8.6, 43.3),
                                  shapely.box(-7.9, 44.05, -7.05, 44.95)])
    reg = _regions(a=holed, b=multi, c=shapely.Point(20.123, -33.3).buffer(2.71))
    da = _da(0.5)
    g = grid_spec(da)
    src = NumPyRasterSource(np.ascontiguousarray(da.values), *g.extent, srs_wkt=g.crs_wkt)
    ops = ["cell_id", "coverage(coverage_weight=area_spherical_m2)",
           "mean(coverage_weight=area_spherical_m2)"]
    ref = exact_extract(src, reg[["geometry"]], ops, output="pandas")
    got = exact_extract(src, WKBFeatureSource(reg.geometry, reg.crs.to_wkt()), ops,
                        output="pandas")
    assert list(got.columns) == list(ref.columns) and len(got) == 3
    assert got["mean"].tolist() == ref["mean"].tolist()
    for col in ("cell_id", "coverage"):
        for x, y in zip(got[col], ref[col], strict=True):
            assert len(x) > 0 and np.array_equal(x, y)
