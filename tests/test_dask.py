"""Dask-backed zonal means through the coverage weights (geo_ms.exposures.dask_backend)."""

from __future__ import annotations

from importlib import resources

import dask.array as dsa
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from geo_ms.errors import ConfigError, GridError
from geo_ms.exposures import weights as _weights
from geo_ms.exposures.dask_backend import get_client, weighted_sums, zonal_mean_dask
from geo_ms.exposures.regions import countries, read_natural_earth
from geo_ms.exposures.weights import coverage_weights, grid_spec

RES = 1.0


def _stack(nb: int = 3) -> np.ndarray:
    lat = np.arange(90 - RES / 2, -90, -RES)
    lon = np.arange(-180 + RES / 2, 180, RES)
    rng = np.random.default_rng(7)
    v = (
        20
        + 30 * np.cos(np.deg2rad(lat))[None, :, None]
        + 5 * np.sin(np.deg2rad(3 * lon))[None, None, :]
        + np.arange(nb)[:, None, None]
        + rng.normal(0, 1, (nb, lat.size, lon.size))
    )
    v[1, 20:35, 190:230] = np.nan  # 70..55°N, 10..50°E in the second band only
    return v


def _da(values, chunks=None) -> xr.DataArray:
    lat = np.arange(90 - RES / 2, -90, -RES)
    lon = np.arange(-180 + RES / 2, 180, RES)
    data = dsa.from_array(values, chunks=chunks) if chunks is not None else values
    da = xr.DataArray(data, dims=("month", "lat", "lon"), name="cloud",
                      coords={"month": np.arange(1, values.shape[0] + 1), "lat": lat, "lon": lon})
    return da.rio.write_crs("EPSG:4326")


@pytest.fixture(scope="module")
def regions() -> gpd.GeoDataFrame:
    ref = resources.files("geo_ms") / "data/sample/ne_10m_admin0_countries_simplified.geojson"
    with resources.as_file(ref) as p:
        return countries(read_natural_earth(p))


@pytest.fixture(scope="module")
def eager(regions):
    _weights._MEMO.clear()
    values = _stack()
    cw = coverage_weights(_da(values), regions)
    return values, cw, cw.mean(values, columns=[1, 2, 3])


def test_dask_equals_eager_with_spatial_chunks(regions, eager):
    values, cw, ref = eager
    # uneven chunks: 2 band chunks, 4 row chunks, 3 column chunks
    out = zonal_mean_dask(_da(values, chunks=(2, 50, 130)), regions, weights=cw)
    assert out.attrs["path"] == "dask"
    assert list(out.index) == list(ref.index)
    assert list(out.columns) == [1, 2, 3, "valid_fraction"]
    assert out.columns.name == "month"
    np.testing.assert_allclose(out.to_numpy(), ref.to_numpy(), rtol=1e-12, atol=0)
    assert np.array_equal(np.isnan(out.to_numpy()), np.isnan(ref.to_numpy()))
    # the NaN patch (second band) takes most of Finland's area out of that band
    assert out.loc["FIN", "valid_fraction"] < 0.5
    assert out.attrs["no_data_regions"] == ref.attrs["no_data_regions"]


def test_dask_equals_exactextract(regions, eager):
    values, cw, _ = eager
    out = zonal_mean_dask(_da(values, chunks=(1, 37, 91)), regions, weights=cw)
    g = grid_spec(_da(values))
    geoms = regions[[regions.geometry.name]].reset_index(drop=True)
    res = exact_extract(NumPyRasterSource(np.ascontiguousarray(values[1]), *g.extent,
                                          srs_wkt=g.crs_wkt),
                        geoms, ["mean(coverage_weight=area_spherical_m2)"], output="pandas")
    ref = res["mean"].to_numpy(float)
    ok = np.isfinite(ref)
    assert ok.sum() > 200
    np.testing.assert_allclose(out[2].to_numpy()[ok], ref[ok], rtol=1e-9, atol=0)


def test_numpy_backed_and_two_dimensional(regions, eager):
    values, cw, ref = eager
    out = zonal_mean_dask(_da(values), regions)  # weights from the cache, one chunk per band
    np.testing.assert_allclose(out[3], ref[3], rtol=1e-12)
    single = zonal_mean_dask(_da(values).isel(month=0).chunk({"lat": 90}), regions, weights=cw)
    assert list(single.columns) == ["cloud", "valid_fraction"]
    np.testing.assert_allclose(single["cloud"], ref[1], rtol=1e-12)


def test_weighted_sums_by_hand():
    import scipy.sparse as sp

    from geo_ms.exposures.weights import CoverageWeights, GridSpec

    g = GridSpec(2, 2, 0.0, 2.0, 1.0, 1.0, "")
    w = sp.csr_matrix(np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 5.0, 0.0]]))
    cw = CoverageWeights(w, ["a", "b"], g, "k")
    v = dsa.from_array(np.array([[[1.0, np.nan], [2.0, 3.0]]]), chunks=(1, 1, 1))
    num, den, area = weighted_sums(v, cw)
    assert num[:, 0].tolist() == [1 + 3 * 2 + 4 * 3, 5 * 2]
    assert den[:, 0].tolist() == [1 + 3 + 4, 5]
    assert area[:, 0].tolist() == [8, 5]


def test_grid_mismatch(regions, eager):
    _, cw, _ = eager
    small = _da(_stack(), chunks=(1, 45, 180)).isel(lat=slice(0, 90))  # northern half
    with pytest.raises(GridError, match=r"raster 'cloud': shape \(90, 360\) differs from the "
                                        r"weights' grid \(180, 360\)"):
        zonal_mean_dask(small, regions, weights=cw)


def test_local_client_runs_the_aggregation(regions, eager):
    values, cw, ref = eager
    client = get_client("", processes=False, n_workers=1, threads_per_worker=2)
    try:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert len(client.scheduler_info()["workers"]) == 1
        out = zonal_mean_dask(_da(values, chunks=(1, 90, 180)), regions, weights=cw,
                              client=client)
    finally:
        client.close()
    np.testing.assert_allclose(out.to_numpy(), ref.to_numpy(), rtol=1e-12)


def test_unreachable_scheduler():
    with pytest.raises(ConfigError, match=r"scheduler 'tcp://127\.0\.0\.1:1': cannot connect"):
        get_client("tcp://127.0.0.1:1", timeout=1)


def test_grid_with_another_origin_is_refused():
    def field(west: float) -> xr.DataArray:
        lat = np.arange(9.5, 0, -1.0)
        lon = np.arange(west + 0.5, west + 10, 1.0)
        return xr.DataArray(np.ones((10, 10)), dims=("lat", "lon"), name="cloud",
                            coords={"lat": lat, "lon": lon}).rio.write_crs("EPSG:4326")

    reg = gpd.GeoDataFrame({"region_id": ["r"]}, geometry=[shapely.box(2, 2, 4, 4)],
                           crs="EPSG:4326")
    cw = coverage_weights(field(0.0), reg)
    # same shape, one cell further east: before, the weights were applied to the wrong cells
    with pytest.raises(GridError, match=r"^raster 'cloud': grid origin \(west 1, north 10, "
                       r"cell 1x1\) differs from the weights' grid \(west 0, north 10, cell 1x1\)$"):
        zonal_mean_dask(field(1.0).chunk({"lat": 5}), reg, weights=cw)


def test_regions_beyond_the_antimeridian_are_wrapped_as_in_zonal_mean():
    from geo_ms.exposures.zonal import zonal_mean

    lat = np.arange(90 - RES / 2, -90, -RES)
    lon = np.arange(-180 + RES / 2, 180, RES)
    vals = np.broadcast_to(lon[None, :], (lat.size, lon.size)).copy()
    da = xr.DataArray(vals, dims=("lat", "lon"), coords={"lat": lat, "lon": lon},
                      name="lon_value").rio.write_crs("EPSG:4326")
    # 178..182 E: two cells either side of ±180 (values 178.5, 179.5, -179.5, -178.5)
    reg = gpd.GeoDataFrame({"region_id": ["fiji"]}, geometry=[shapely.box(178, -18, 182, -16)],
                           crs="EPSG:4326")
    out = zonal_mean_dask(da.chunk({"lat": 90}), reg)
    assert out.loc["fiji", "lon_value"] == pytest.approx(0.0, abs=1e-9)
    assert out.loc["fiji", "valid_fraction"] == pytest.approx(1.0, rel=1e-6)
    assert out.loc["fiji", "lon_value"] == pytest.approx(zonal_mean(da, reg).loc["fiji", "lon_value"],
                                                         abs=1e-9)



def test_projected_user_rasters_take_the_dask_path_with_identical_results(
        tmp_path, monkeypatch):
    """With a scheduler, a projected raster (ETRS89-LAEA, UTM 32N) is summed on the
    cluster through the same ellipsoidal-area coverage weights as the local path:
    identical means and valid fractions (LocalCluster on the loopback)."""
    import rasterio
    from rasterio.transform import from_origin

    from geo_ms.exposures import dask_backend
    from geo_ms.exposures.aggregate import aggregate_fields
    from geo_ms.ingest.readers import read_user_raster

    rng = np.random.default_rng(11)
    rasters = {}
    for name, crs, west, north, step in (("laea", "EPSG:3035", 3_800_000.0, 3_300_000.0,
                                          25_000.0),
                                         ("utm", "EPSG:32632", -200_000.0, 6_800_000.0,
                                          50_000.0)):
        values = rng.uniform(50.0, 250.0, (30, 40))
        values[4:9, 10:22] = -9999.0  # nodata: the valid fractions differ from 1
        path = tmp_path / f"{name}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=40, height=30, count=1,
                           dtype="float64", crs=crs, nodata=-9999.0,
                           transform=from_origin(west, north, step, step)) as dst:
            dst.write(values[None])
        rasters[name] = read_user_raster(path, name=name, units="W m-2")
        assert rasters[name].dims == ("y", "x")
    regions = gpd.GeoDataFrame(
        {"region_id": ["a", "b", "c"]},
        geometry=[shapely.box(0.0, 50.0, 8.0, 56.0),
                  shapely.Polygon([(2, 57), (12, 58), (9, 60.5), (1, 59.5)]),
                  shapely.box(5.0, 44.0, 9.0, 47.0)], crs="EPSG:4326")
    local = {f: aggregate_fields(rasters, regions, min_valid_fraction=f) for f in (0.0, 0.5)}

    calls = []
    real = dask_backend.zonal_mean_dask

    def spy(*args, **kw):
        out = real(*args, **kw)
        calls.append(out.attrs.get("path"))
        return out

    monkeypatch.setattr(dask_backend, "zonal_mean_dask", spy)
    client = get_client("", processes=False, n_workers=1, threads_per_worker=2)
    try:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        on_cluster = {f: aggregate_fields(rasters, regions, min_valid_fraction=f,
                                          scheduler=client.scheduler.address)
                      for f in (0.0, 0.5)}
        # a raster whose valid cells (the north-east corner, about 53 N 17 E) lie in no
        # region: refused naming the file, as on the local path
        corner = np.full((30, 40), -9999.0)
        corner[:3, -3:] = 100.0
        path = tmp_path / "corner.tif"
        with rasterio.open(path, "w", driver="GTiff", width=40, height=30, count=1,
                           dtype="float64", crs="EPSG:3035", nodata=-9999.0,
                           transform=from_origin(3_800_000.0, 3_300_000.0, 25_000.0,
                                                 25_000.0)) as dst:
            dst.write(corner[None])
        lone = {"corner": read_user_raster(path, name="corner", units="1")}
        for sched in (None, client.scheduler.address):
            with pytest.raises(GridError, match=r"corner\.tif: none of the 1 regions overlaps "
                                                r"a valid cell of the raster \(corner\)"):
                aggregate_fields(lone, regions.iloc[[2]], scheduler=sched)
    finally:
        client.close()
    assert calls[:4] == ["dask"] * 4  # each grid, each time, through the dask backend
    # the LAEA grid (about 46-53 N around 10 E) misses b, the UTM one (48-61 N) misses c
    got = local[0.0][["laea", "utm"]]
    assert got.isna().to_numpy().tolist() == [[False, False], [True, False], [False, True]]
    for f in (0.0, 0.5):
        np.testing.assert_allclose(on_cluster[f][["laea", "utm"]].to_numpy(),
                                   local[f][["laea", "utm"]].to_numpy(), rtol=1e-12,
                                   equal_nan=True)
        low, low_dask = (x.attrs.get("low_valid_fraction", {}) for x in (local[f], on_cluster[f]))
        assert low.keys() == low_dask.keys()
        for col in low:
            assert low[col].keys() == low_dask[col].keys()
            np.testing.assert_allclose(list(low_dask[col].values()), list(low[col].values()),
                                       rtol=1e-12)
    assert local[0.5]["laea"].isna().sum() > got["laea"].isna().sum()  # partly covered: dropped
