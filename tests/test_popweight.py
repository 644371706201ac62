"""Population weighting: population rasters, city points, population-weighted latitude."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

from geo_ms.errors import GridError, SchemaError
from geo_ms.exposures.covariates import population_weighted_latitude
from geo_ms.exposures.zonal import point_weighted_mean, zonal_mean

REL = 1e-9


def _grid(res: float):
    return np.arange(90 - res / 2, -90, -res), np.arange(-180 + res / 2, 180, res)


def _da(values: np.ndarray, res: float = 1.0, name: str = "x", units: str | None = None):
    lat, lon = _grid(res)
    da = xr.DataArray(values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name=name)
    if units:
        da.attrs["units"] = units
    return da.rio.write_crs("EPSG:4326")


@pytest.fixture(scope="module")
def field() -> xr.DataArray:
    lat, lon = _grid(1.0)
    return _da(lat[:, None] + 0.001 * lon[None, :])


def _regions(**boxes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"region_id": list(boxes)}, geometry=list(boxes.values()), crs="EPSG:4326"
    )


def test_population_counts_weight_f_times_p(field):
    pop = np.zeros(field.shape)
    pop[69, 190], pop[69, 191] = 100.0, 300.0  # cells (20.5, 10.5) and (20.5, 11.5)
    pop[68, 190] = 1e6  # a populous cell just outside the region
    pop_da = _da(pop, name="pop", units="1")
    v1, v2 = 20.5 + 0.0105, 20.5 + 0.0115
    out = zonal_mean(
        field,
        _regions(a=shapely.box(10, 20, 12, 21), h=shapely.box(10, 20, 11.5, 21)),
        weights=pop_da,
    )
    assert out.attrs["weights"] == "population" and out.attrs["path"] == "weights"
    assert out.loc["a", "x"] == pytest.approx((100 * v1 + 300 * v2) / 400, rel=REL)
    # half of cell (20.5, 11.5) is covered: 150 of its 300 people count
    assert out.loc["h", "x"] == pytest.approx((100 * v1 + 150 * v2) / 250, rel=REL)
    # area weighting of the same region gives the plain mean of the two cells
    area = zonal_mean(field, _regions(a=shapely.box(10, 20, 12, 21)))
    assert area.loc["a", "x"] == pytest.approx((v1 + v2) / 2, rel=REL)


def test_population_density_weights_f_times_a_times_density(field):
    dens = np.zeros(field.shape)
    dens[68, 190], dens[69, 190] = 10.0, 10.0  # rows lat 21.5 and 20.5 (different areas)
    pop_da = _da(dens, name="popdens", units="km-2")
    out = zonal_mean(field, _regions(a=shapely.box(10, 20, 11, 22)), weights=pop_da)
    a_top = np.sin(np.radians(22)) - np.sin(np.radians(21))
    a_bot = np.sin(np.radians(21)) - np.sin(np.radians(20))
    expect = (a_top * (21.5 + 0.0105) + a_bot * (20.5 + 0.0105)) / (a_top + a_bot)
    assert out.loc["a", "x"] == pytest.approx(expect, rel=1e-7)  # float32 cell areas


def test_population_counts_match_exactextract_weighted_mean():
    """Independent: exactextract's own weighted_mean (weights f·P) on a random field."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    rng = np.random.default_rng(7)
    lat, lon = _grid(0.5)
    vals = rng.normal(0, 1, (lat.size, lon.size))
    pop = rng.gamma(0.5, 1000, (lat.size, lon.size))
    da, pop_da = _da(vals, 0.5), _da(pop, 0.5, name="pop")
    polys = [
        shapely.Polygon(
            np.column_stack([x + rng.uniform(0, 8, 6), y + rng.uniform(0, 6, 6)])
        ).convex_hull
        for x, y in zip(rng.uniform(-170, 160, 12), rng.uniform(-60, 60, 12), strict=True)
    ]
    reg = gpd.GeoDataFrame(
        {"region_id": [f"p{i}" for i in range(12)]}, geometry=polys, crs="EPSG:4326"
    )
    out = zonal_mean(da, reg, weights=pop_da)
    wkt = da.rio.crs.to_wkt()
    ref = exact_extract(
        NumPyRasterSource(vals, -180, -90, 180, 90, srs_wkt=wkt),
        reg,
        "weighted_mean",
        weights=NumPyRasterSource(pop, -180, -90, 180, 90, srs_wkt=wkt),
        output="pandas",
    )
    # measured max relative difference 1.1e-7: exactextract rounds f·A to float32 for
    # partly covered cells, so f recovered from it carries ~6e-8 relative error
    np.testing.assert_allclose(
        out["x"].to_numpy(float), ref["weighted_mean"].to_numpy(float), rtol=1e-6
    )


def test_population_raster_on_another_grid_is_refused(field):
    lat, lon = _grid(2.0)
    pop = _da(np.ones((lat.size, lon.size)), res=2.0, name="pop")
    with pytest.raises(
        GridError, match=r"^population raster 'pop': grid 90x180\|.* differs from the values' grid"
    ):
        zonal_mean(field, _regions(a=shapely.box(0, 0, 1, 1)), weights=pop)
    with pytest.raises(SchemaError, match=r"^zonal_mean: unknown weights 'people'$"):
        zonal_mean(field, _regions(a=shapely.box(0, 0, 1, 1)), weights="people")


def test_point_weighted_mean_by_hand(field):
    reg = _regions(
        a=shapely.box(10, 20, 12, 22), b=shapely.box(-5, -5, 5, 5), c=shapely.box(50, 50, 51, 51)
    )
    pts = pd.DataFrame(
        {
            "lat": [20.2, 21.7, 0.1, -0.1, 80.0],
            "lon": [10.9, 11.2, 0.2, -0.2, 0.0],
            "population": [1000, 3000, 500, 500, 1e7],  # the last one is in no region
        }
    )
    out = point_weighted_mean(field, reg, pts)
    va, vb = 20.5 + 0.0105, 21.5 + 0.0115
    assert out.loc["a", "x"] == pytest.approx((1000 * va + 3000 * vb) / 4000, rel=REL)
    assert out.loc["b", "x"] == pytest.approx((0.5 + 0.0005 + -0.5 - 0.0005) / 2, abs=1e-12)
    assert out.loc["a", "n_points"] == 2 and out.loc["a", "population"] == 4000
    assert np.isnan(out.loc["c", "x"]) and out.loc["c", "n_points"] == 0
    assert out.attrs["no_data_regions"] == ["c"]


def test_points_on_borders_are_kept_and_counted_once(field):
    # a point on the outer edge of "w" and one on the edge shared by "w" and "e"
    reg = _regions(w=shapely.box(10, 20, 11, 21), e=shapely.box(11, 20, 12, 21))
    pts = pd.DataFrame({"lat": [20.5, 20.5], "lon": [10.0, 11.0], "population": [100, 300]})
    out = point_weighted_mean(field, reg, pts)
    assert out.loc["w", "n_points"] == 2 and out.loc["w", "population"] == 400
    assert out.loc["e", "n_points"] == 0 and np.isnan(out.loc["e", "x"])
    # lon 10.0 lies on the cell edge: floor puts it in the cell east of it (10.5)
    v10, v11 = 20.5 + 0.0105, 20.5 + 0.0115
    assert out.loc["w", "x"] == pytest.approx((100 * v10 + 300 * v11) / 400, rel=REL)


def test_point_on_nan_cell_drops_out(field):
    da = field.copy()
    da[69, 190] = np.nan
    pts = pd.DataFrame({"lat": [20.5, 20.5], "lon": [10.5, 11.5], "population": [9e6, 1]})
    out = point_weighted_mean(da, _regions(a=shapely.box(10, 20, 12, 21)), pts)
    assert out.loc["a", "x"] == pytest.approx(20.5 + 0.0115, rel=REL)


def test_point_table_needs_columns(field):
    with pytest.raises(SchemaError, match=r"^points table: missing column\(s\) population$"):
        point_weighted_mean(
            field, _regions(a=shapely.box(0, 0, 1, 1)), pd.DataFrame({"lat": [0], "lon": [0]})
        )


def test_population_weighted_latitude_by_hand():
    reg = _regions(
        eq=shapely.box(-10, -10, 10, 10),  # straddles the equator
        north=shapely.box(20, 40, 30, 60),
        empty=shapely.box(100, 0, 101, 1),
    )
    cities = pd.DataFrame(
        {
            "lat": [-8.0, 2.0, 45.0, 55.0, 58.0],
            "lon": [0.0, 5.0, 25.0, 25.0, 25.0],
            "population": [1000, 3000, 1e6, 2e6, 0],  # a zero-population city is ignored
        }
    )
    s = population_weighted_latitude(reg, cities)
    assert s.name == "abs_latitude_popw" and s.index.name == "region_id"
    assert s["eq"] == pytest.approx((1000 * 8 + 3000 * 2) / 4000, rel=REL)  # |lat| per city
    assert s["north"] == pytest.approx((1e6 * 45 + 2e6 * 55) / 3e6, rel=REL)
    assert np.isnan(s["empty"]) and s.attrs["no_city_regions"] == ["empty"]


def test_city_on_a_border_weights_latitude_and_exposure_in_the_same_region(field):
    # a city exactly on the border of A and B: the _popw exposure gives it to the first
    # region that covers it (A), so the population-weighted latitude must do the same
    reg = _regions(A=shapely.box(0, 0, 10, 10), B=shapely.box(10, 0, 20, 10))
    cities = pd.DataFrame({"lat": [5.5, 2.5, 8.5], "lon": [10.0, 15.5, 15.5],
                           "population": [1000, 10, 10]})
    expo = point_weighted_mean(field, reg, cities)
    lat = population_weighted_latitude(reg, cities)
    assert expo.loc["A", "n_points"] == 1 and expo.loc["B", "n_points"] == 2
    assert lat.loc["A"] == pytest.approx(5.5, rel=REL)  # the border city, in A
    assert lat.loc["B"] == pytest.approx((2.5 * 10 + 8.5 * 10) / 20, rel=REL)
