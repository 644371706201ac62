"""Coverage weights built in parallel (worker processes, dask workers) equal the serial build.

A region's row of the weights depends on that region and the grid only, so building
chunks of regions apart and stacking the rows must give the serial matrix bit for bit:
same values, same column indices, same row pointers, same extent shares.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from pyproj import CRS

from geo_ms.exposures import weights
from geo_ms.exposures.weights import GridSpec, build_parallel, coverage_weights, region_chunks

WKT = CRS.from_epsg(4326).to_wkt()


def _grid(res: float) -> GridSpec:
    return GridSpec(ny=round(180 / res), nx=round(360 / res), west=-180.0, north=90.0,
                    dx=res, dy=res, crs_wkt=WKT)


def _blobs(n: int = 120, seed: int = 7) -> gpd.GeoDataFrame:
    """Irregular polygons of very different sizes, some reaching beyond ±90° latitude's
    grid edge cells, in no particular order."""
    rng = np.random.default_rng(seed)
    geoms = []
    for _ in range(n):
        x, y = rng.uniform(-170, 170), rng.uniform(-80, 80)
        r = rng.choice([0.3, 2.0, 9.0])
        k = int(rng.integers(5, 40))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.5, 1.0, k)
        geoms.append(shapely.Polygon(np.c_[x + rad * np.cos(ang), y + rad * np.sin(ang)]))
    return gpd.GeoDataFrame({"region_id": [f"r{i}" for i in range(n)]}, geometry=geoms,
                            crs="EPSG:4326")


def _same(a: weights.CoverageWeights, b: weights.CoverageWeights) -> None:
    assert a.matrix.shape == b.matrix.shape
    assert np.array_equal(a.matrix.indptr, b.matrix.indptr)
    assert np.array_equal(a.matrix.indices, b.matrix.indices)
    assert np.array_equal(a.matrix.data, b.matrix.data)  # exact, not approximately
    assert a.matrix.indices.dtype == b.matrix.indices.dtype
    assert np.array_equal(a.share, b.share)
    assert a.region_ids == b.region_ids


def test_chunks_are_contiguous_cover_every_region_and_balance_cost() -> None:
    reg = _blobs()
    chunks = region_chunks(reg, _grid(0.5), 8)
    assert chunks[0].start == 0 and chunks[-1].stop == len(reg)
    assert all(a.stop == b.start for a, b in itertools.pairwise(chunks))
    assert 2 <= len(chunks) <= 8
    one = region_chunks(reg, _grid(0.5), 1)
    assert one == [slice(0, len(reg))]


def test_two_worker_processes_build_the_serial_matrix() -> None:
    reg, grid = _blobs(), _grid(0.25)
    ids = reg["region_id"].tolist()
    serial = build_parallel(grid, reg, ids, "k", workers=1)
    parallel = build_parallel(grid, reg, ids, "k", workers=2)
    assert serial.attrs["build_workers"] == 1 and parallel.attrs["build_workers"] == 2
    assert parallel.attrs["build_chunks"] >= 2
    assert serial.matrix.nnz > 10_000  # a real amount of work was split
    _same(serial, parallel)


def test_coverage_weights_with_workers_is_cached_like_the_serial_build(tmp_path: Path) -> None:
    reg = _blobs()
    da = xr.DataArray(np.zeros((360, 720), np.float32), dims=("lat", "lon"),
                      coords={"lat": 90 - 0.5 * (np.arange(360) + 0.5),
                              "lon": -180 + 0.5 * (np.arange(720) + 0.5)}).rio.write_crs(4326)
    weights._MEMO.clear()
    serial = coverage_weights(da, reg, workers=1)
    weights._MEMO.clear()
    built = coverage_weights(da, reg, tmp_path, workers=2)
    assert built.attrs["cache"] == "computed" and built.attrs["build_workers"] == 2
    _same(serial, built)
    weights._MEMO.clear()
    again = coverage_weights(da, reg, tmp_path)
    assert again.attrs["cache"] == "disk"
    _same(serial, again)
    weights._MEMO.clear()


def test_few_regions_are_built_serially() -> None:
    assert weights.build_workers(weights.PARALLEL_MIN_REGIONS - 1) == 1
    assert weights.build_workers(5, 2) == 2


def test_dask_workers_build_the_serial_matrix() -> None:
    from geo_ms.exposures.dask_backend import get_client

    reg, grid = _blobs(60), _grid(0.5)
    ids = reg["region_id"].tolist()
    serial = build_parallel(grid, reg, ids, "k", workers=1)
    client = get_client("", processes=False, n_workers=2, threads_per_worker=1)
    try:
        on_dask = build_parallel(grid, reg, ids, "k", client=client)
    finally:
        client.close()
    assert on_dask.attrs["build_workers"] == 2
    _same(serial, on_dask)


@pytest.mark.mirror
def test_countries_on_a_tenth_degree_grid_in_parallel_equal_serial(mirror: Path) -> None:
    from geo_ms.exposures.regions import countries, read_natural_earth
    from geo_ms.exposures.zonal import _wrapped

    path = mirror / "boundaries" / "ne_10m_admin_0_countries_deu.zip"
    reg = _wrapped(countries(read_natural_earth(
        f"zip://{path}!ne_10m_admin_0_countries_deu.shp")))
    assert len(reg) > 200
    ids = reg["region_id"].tolist()
    serial = build_parallel(_grid(0.1), reg, ids, "k", workers=1)
    parallel = build_parallel(_grid(0.1), reg, ids, "k", workers=2)
    _same(serial, parallel)
