"""Exact area-weighted zonal means (geo_ms.exposures.zonal.zonal_mean).

Expected values are computed by hand from spherical cell areas,
A ∝ sin(lat_top) − sin(lat_bottom) (the radius and Δλ cancel in a mean).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

from geo_ms.errors import CRSError, GridError, SchemaError
from geo_ms.exposures.zonal import zonal_mean

REL = 1e-9


def _grid(res: float) -> tuple[np.ndarray, np.ndarray]:
    lat = np.arange(90 - res / 2, -90, -res)
    lon = np.arange(-180 + res / 2, 180, res)
    return lat, lon


def _field(values: np.ndarray, res: float = 1.0, name: str = "x", bands: list | None = None):
    lat, lon = _grid(res)
    if values.ndim == 3:
        da = xr.DataArray(
            values,
            dims=("month", "lat", "lon"),
            coords={"month": bands or list(range(1, values.shape[0] + 1)), "lat": lat, "lon": lon},
            name=name,
        )
    else:
        da = xr.DataArray(values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name=name)
    return da.rio.write_crs("EPSG:4326")


def _cell_value(lat_c: float, lon_c: float) -> float:
    """The synthetic field used below: distinct in every cell."""
    return lat_c + 0.001 * lon_c


@pytest.fixture(scope="module")
def one_degree() -> xr.DataArray:
    lat, lon = _grid(1.0)
    return _field(lat[:, None] + 0.001 * lon[None, :])


def _regions(**boxes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"region_id": list(boxes)}, geometry=list(boxes.values()), crs="EPSG:4326"
    )


def _w(top: float, bottom: float) -> float:
    return math.sin(math.radians(top)) - math.sin(math.radians(bottom))


def test_box_of_whole_cells_is_area_weighted(one_degree):
    # 2×2 cells: lon 10..12, lat 20..22; rows have different spherical areas
    out = zonal_mean(one_degree, _regions(b=shapely.box(10, 20, 12, 22)))
    w_top, w_bot = _w(22, 21), _w(21, 20)
    expect = (
        w_top * (_cell_value(21.5, 10.5) + _cell_value(21.5, 11.5))
        + w_bot * (_cell_value(20.5, 10.5) + _cell_value(20.5, 11.5))
    ) / (2 * w_top + 2 * w_bot)
    assert out.loc["b", "x"] == pytest.approx(expect, rel=REL)
    assert out.loc["b", "valid_fraction"] == 1.0
    assert out.attrs["path"] == "direct"
    assert out.attrs["no_data_regions"] == []


def test_area_weighting_differs_from_plain_mean(one_degree):
    # lat 0..60: the plain cell mean is 30.0; area weighting pulls it towards the equator
    out = zonal_mean(one_degree, _regions(b=shapely.box(0, 0, 1, 60)))
    rows = np.arange(60)
    w = np.array([_w(k + 1, k) for k in rows])
    vals = np.array([_cell_value(k + 0.5, 0.5) for k in rows])
    expect = float((w * vals).sum() / w.sum())
    assert out.loc["b", "x"] == pytest.approx(expect, rel=REL)
    # continuous check: ∫φ cosφ dφ / ∫cosφ dφ over 0..60° = 26.92°, far below the plain 30.0
    phi = math.radians(60)
    analytic = math.degrees((phi * math.sin(phi) + math.cos(phi) - 1) / math.sin(phi))
    assert expect == pytest.approx(analytic, abs=0.01)
    assert analytic == pytest.approx(26.92, abs=0.005)


def test_polygon_smaller_than_a_cell_gets_that_cells_value(one_degree):
    out = zonal_mean(one_degree, _regions(tiny=shapely.box(10.2, 20.2, 10.4, 20.4)))
    assert out.loc["tiny", "x"] == pytest.approx(_cell_value(20.5, 10.5), rel=REL)


def test_half_covered_cell_weighs_one_half(one_degree):
    # cell (20.5, 10.5) fully covered, cell (20.5, 11.5) half covered; same row → same A
    out = zonal_mean(one_degree, _regions(h=shapely.box(10, 20, 11.5, 21)))
    expect = (_cell_value(20.5, 10.5) + 0.5 * _cell_value(20.5, 11.5)) / 1.5
    assert out.loc["h", "x"] == pytest.approx(expect, rel=REL)


def test_nan_cells_drop_out_per_band():
    lat, lon = _grid(1.0)
    base = lat[:, None] + 0.001 * lon[None, :]
    stack = np.stack([base, base * 2.0])
    r, c1 = 69, 190  # the cell at lat 20.5, lon 10.5
    stack[0, r, c1] = np.nan  # only band 1 loses cell (20.5, 10.5)
    da = _field(stack, bands=[1, 2])
    reg = _regions(b=shapely.box(10, 20, 12, 21))
    for use_cache in (True, False):
        out = zonal_mean(da, reg, use_cache=use_cache)
        assert out.loc["b", 1] == pytest.approx(_cell_value(20.5, 11.5), rel=REL)
        assert out.loc["b", 2] == pytest.approx(
            (2 * _cell_value(20.5, 10.5) + 2 * _cell_value(20.5, 11.5)) / 2, rel=REL
        )
        # band 1 has half of the region's cell area valid
        assert out.loc["b", "valid_fraction"] == pytest.approx(0.5, rel=REL)
        assert out.attrs["path"] == ("weights" if use_cache else "direct")


def test_island_on_land_only_raster_reports_valid_fraction(one_degree):
    da = one_degree.copy()
    da[69, 190] = np.nan  # "sea" cell (20.5, 10.5)
    out = zonal_mean(da, _regions(island=shapely.box(10.5, 20, 11.25, 21)))
    # f = 0.5 on the NaN cell, 0.25 on the valid one (same row): valid share = 1/3
    assert out.loc["island", "valid_fraction"] == pytest.approx(0.25 / 0.75, rel=REL)
    assert out.loc["island", "x"] == pytest.approx(_cell_value(20.5, 11.5), rel=REL)


def test_monthly_stack_columns_and_weights_path():
    lat, lon = _grid(1.0)
    base = lat[:, None] + 0.001 * lon[None, :]
    da = _field(np.stack([base + m for m in range(12)]))
    out = zonal_mean(da, _regions(t=shapely.box(10.2, 20.2, 10.4, 20.4)))
    assert list(out.columns) == [*range(1, 13), "valid_fraction"]
    assert out.columns.name == "month"
    assert out.attrs["path"] == "weights"
    np.testing.assert_allclose(
        out.loc["t", list(range(1, 13))].to_numpy(float),
        _cell_value(20.5, 10.5) + np.arange(12),
        rtol=REL,
    )


def test_ascending_latitude_gives_the_same_result(one_degree):
    reg = _regions(b=shapely.box(10, 20, 12, 22))
    flipped = one_degree.isel(lat=slice(None, None, -1))
    a = zonal_mean(one_degree, reg)
    b = zonal_mean(flipped, reg)
    assert b.loc["b", "x"] == pytest.approx(a.loc["b", "x"], rel=REL)


def test_regions_without_overlap_are_reported(one_degree):
    da = one_degree.sel(lon=slice(0, 30), lat=slice(40, 0))
    out = zonal_mean(
        da, _regions(inside=shapely.box(1, 1, 2, 2), outside=shapely.box(-90, 1, -80, 2))
    )
    assert out.attrs["no_data_regions"] == ["outside"]
    assert np.isnan(out.loc["outside", "x"])
    assert out.loc["outside", "valid_fraction"] == 0.0
    assert out.loc["inside", "x"] == pytest.approx(_cell_value(1.5, 1.5), rel=REL)


def test_all_regions_empty_is_a_grid_error(one_degree):
    da = one_degree.sel(lon=slice(0, 30), lat=slice(40, 0))
    with pytest.raises(
        GridError, match=r"^zonal mean: none of the 1 regions overlaps a valid raster cell$"
    ):
        zonal_mean(da, _regions(outside=shapely.box(-90, 1, -80, 2)))


def test_crs_mismatch_is_a_crs_error(one_degree):
    reg = _regions(b=shapely.box(10, 20, 12, 22)).to_crs("EPSG:3857")
    with pytest.raises(
        CRSError, match=r"^regions: CRS EPSG:3857 differs from the raster's EPSG:4326$"
    ) as exc:
        zonal_mean(one_degree, reg)
    assert exc.value.hint == "reproject the regions: regions.to_crs(da.rio.crs)"


def test_raster_without_crs_is_a_crs_error():
    lat, lon = _grid(10.0)
    da = xr.DataArray(
        np.zeros((lat.size, lon.size)),
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon},
        name="cloud",
    )
    with pytest.raises(CRSError, match=r"^raster 'cloud': no CRS$") as exc:
        zonal_mean(da, _regions(b=shapely.box(0, 0, 1, 1)))
    assert "write_crs('EPSG:4326')" in exc.value.hint


def test_projected_raster_is_a_crs_error():
    x = np.arange(-1e6, 1e6, 1e5) + 5e4
    da = xr.DataArray(
        np.zeros((x.size, x.size)),
        dims=("lat", "lon"),
        coords={"lat": x[::-1], "lon": x},
        name="proj",
    ).rio.write_crs("EPSG:3857")
    reg = _regions(b=shapely.box(0, 0, 1e5, 1e5)).set_crs("EPSG:3857", allow_override=True)
    with pytest.raises(
        CRSError,
        match=r"^raster 'proj': CRS EPSG:3857 is projected; zonal means need lat/lon degrees$",
    ):
        zonal_mean(da, reg)


def test_regions_without_crs_and_bad_ids(one_degree):
    reg = _regions(b=shapely.box(0, 0, 1, 1)).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"^regions: no CRS$"):
        zonal_mean(one_degree, reg)
    dup = gpd.GeoDataFrame(
        {"region_id": ["a", "a"]}, geometry=[shapely.box(0, 0, 1, 1)] * 2, crs="EPSG:4326"
    )
    with pytest.raises(SchemaError, match=r"^regions: duplicated region_id: a$"):
        zonal_mean(one_degree, dup)


def test_irregular_grid_is_a_grid_error():
    lat = np.array([80.0, 50.0, 10.0, -30.0])  # Gaussian-like, not regular
    lon = np.arange(-175.0, 180, 10)
    da = xr.DataArray(
        np.zeros((4, lon.size)), dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="g"
    ).rio.write_crs("EPSG:4326")
    with pytest.raises(GridError, match=r"^raster 'g': lat/lon spacing is not regular"):
        zonal_mean(da, _regions(b=shapely.box(0, 0, 1, 1)))


def test_zero_to_360_grid_is_a_grid_error():
    lon = np.arange(5.0, 360, 10)
    lat = np.arange(85.0, -90, -10)
    da = xr.DataArray(
        np.zeros((lat.size, lon.size)),
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon},
        name="g",
    ).rio.write_crs("EPSG:4326")
    with pytest.raises(GridError, match=r"^raster 'g': cells reach beyond lon -180..180"):
        zonal_mean(da, _regions(b=shapely.box(0, 0, 1, 1)))


def test_grid_reaching_below_the_south_pole_is_refused():
    # 1° cells whose centres run 89.5 … -90.5: the last row reaches -91°
    lat = np.arange(89.5, -91, -1.0)
    lon = np.arange(-179.5, 180, 1.0)
    da = xr.DataArray(np.zeros((lat.size, lon.size)), dims=("lat", "lon"),
                      coords={"lat": lat, "lon": lon}, name="g").rio.write_crs("EPSG:4326")
    with pytest.raises(GridError, match=r"^raster 'g': cells reach beyond lon -180\.\.180 / "
                       r"lat -90\.\.90 \(lon -180\.\.180, lat -91\.\.90\)$"):
        zonal_mean(da, _regions(b=shapely.box(0, 0, 1, 1)))


def test_weights_path_equals_direct_exactextract_on_random_field():
    """Cross-check: sparse weights vs exactextract mean(coverage_weight=area_spherical_m2)."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    rng = np.random.default_rng(42)
    lat, lon = _grid(0.5)
    vals = rng.normal(10, 3, size=(2, lat.size, lon.size))
    vals[:, rng.random((lat.size, lon.size)) < 0.15] = np.nan
    da = _field(vals, res=0.5, bands=[1, 2])
    polys = []
    for _ in range(20):
        x0, y0 = rng.uniform(-175, 160), rng.uniform(-75, 65)
        pts = np.column_stack([x0 + rng.uniform(0, 12, 7), y0 + rng.uniform(0, 9, 7)])
        polys.append(shapely.Polygon(pts).convex_hull)
    reg = gpd.GeoDataFrame(
        {"region_id": [f"p{i}" for i in range(20)]}, geometry=polys, crs="EPSG:4326"
    )
    out = zonal_mean(da, reg)
    assert out.attrs["path"] == "weights"
    # independent: exactextract itself, one band at a time
    for b, band in enumerate([1, 2]):
        src = NumPyRasterSource(vals[b], -180, -90, 180, 90, srs_wkt=da.rio.crs.to_wkt())
        ref = exact_extract(src, reg, "mean(coverage_weight=area_spherical_m2)", output="pandas")
        np.testing.assert_allclose(out[band].to_numpy(float), ref["mean"].to_numpy(float), rtol=REL)
    assert out[[1, 2]].notna().all(axis=None)


# --------------------------------------------------------------------------- mirror


@pytest.fixture(scope="module")
def ne_countries(mirror):
    from geo_ms.exposures.regions import countries, read_natural_earth

    ne = read_natural_earth(mirror / "boundaries" / "ne_10m_admin_0_countries_deu.zip")
    return countries(ne), countries(ne, main_territory=True)


@pytest.fixture(scope="module")
def lat_field_05() -> xr.DataArray:
    lat, lon = _grid(0.5)
    return _field(np.broadcast_to(lat[:, None], (lat.size, lon.size)).copy(), res=0.5, name="lat")


def test_mirror_every_country_gets_a_value(ne_countries, lat_field_05):
    whole, _ = ne_countries
    out = zonal_mean(lat_field_05, whole)
    assert len(out) == len(whole) == 245
    assert out.attrs["no_data_regions"] == []
    assert out["lat"].notna().all()
    # each mean lies within the latitude range of the cells the country touches (± half a cell)
    b = whole.set_index("region_id").geometry.bounds
    assert ((out["lat"] >= b["miny"] - 0.25) & (out["lat"] <= b["maxy"] + 0.25)).all()


def test_mirror_france_with_guiana_is_further_south(ne_countries, lat_field_05):
    whole, main = ne_countries
    fra_all = zonal_mean(lat_field_05, whole[whole.region_id == "FRA"]).loc["FRA", "lat"]
    fra_main = zonal_mean(lat_field_05, main[main.region_id == "FRA"]).loc["FRA", "lat"]
    assert 45.5 < fra_main < 47.5  # metropolitan France and Corsica
    # French Guiana (~4°N, 84,000 km²) and Réunion pull the mean several degrees south
    assert fra_all < fra_main - 3.0


def test_mirror_matches_independent_rasterised_area_weighting(ne_countries, lat_field_05):
    """Cell-centre rasterisation + numpy spherical areas agrees well within 0.5° latitude."""
    from affine import Affine
    from rasterio.features import rasterize

    whole, _ = ne_countries
    big = whole[whole.region_id.isin(["USA", "BRA", "AUS", "CHN", "CAN"])]
    out = zonal_mean(lat_field_05, big)
    lat, lon = _grid(0.5)
    area = np.sin(np.radians(lat + 0.25)) - np.sin(np.radians(lat - 0.25))
    for rid, geom in zip(big.region_id, big.geometry, strict=True):
        mask = rasterize(
            [(geom, 1)],
            out_shape=(lat.size, lon.size),
            transform=Affine(0.5, 0, -180, 0, -0.5, 90),
            fill=0,
            dtype="uint8",
        )
        w = mask * area[:, None]
        ref = float((w * lat[:, None]).sum() / w.sum())
        # measured |difference| ≤ 0.02° (USA 0.019, BRA 0.011, AUS 0.012, CHN 0.012, CAN 0.007)
        assert out.loc[rid, "lat"] == pytest.approx(ref, abs=0.05), rid


def test_float32_rasters_are_not_copied_and_agree_with_float64():

    rng = np.random.default_rng(3)
    lat = np.arange(59.75, 30.0, -0.5)
    lon = np.arange(-9.75, 30.0, 0.5)
    vals = rng.uniform(0, 100, (3, lat.size, lon.size)).astype(np.float32)
    regions = gpd.GeoDataFrame(
        {"region_id": ["A", "B"]},
        geometry=[shapely.box(-8, 35, 5.2, 50.3), shapely.box(6, 40, 28, 58)], crs="EPSG:4326")

    def da(v):
        return xr.DataArray(v, dims=("band", "lat", "lon"),
                            coords={"band": [1, 2, 3], "lat": lat, "lon": lon}
                            ).rio.write_crs("EPSG:4326")

    r32 = zonal_mean(da(vals), regions)
    r64 = zonal_mean(da(vals.astype(np.float64)), regions)
    np.testing.assert_allclose(r32[[1, 2, 3]].to_numpy(), r64[[1, 2, 3]].to_numpy(), rtol=1e-6)


def _partial_raster() -> xr.DataArray:
    """A 1° raster covering only lat 0..60 N, lon 0..20 E (value = 7 everywhere)."""
    lat = np.arange(59.5, 0, -1.0)
    lon = np.arange(0.5, 20, 1.0)
    da = xr.DataArray(np.full((lat.size, lon.size), 7.0), dims=("lat", "lon"), name="x",
                      coords={"lat": lat, "lon": lon})
    return da.rio.write_crs("EPSG:4326")


@pytest.mark.parametrize("use_cache", [True, False])
def test_valid_fraction_is_a_share_of_the_regions_spherical_area(use_cache):
    # region lat 50..70: only lat 50..60 lies on the raster, so the valid share is
    # (sin 60 − sin 50) / (sin 70 − sin 50), not 1.0 (the covered cells are all valid)
    reg = _regions(north=shapely.box(5, 50, 6, 70), inside=shapely.box(5, 10, 6, 20))
    da = _partial_raster()
    out = zonal_mean(da.expand_dims(month=[1, 2]) if use_cache else da, reg, use_cache=use_cache)
    expect = _w(60, 50) / _w(70, 50)
    assert expect == pytest.approx(0.5758, abs=1e-4)
    assert out.loc["north", "valid_fraction"] == pytest.approx(expect, rel=1e-6)
    assert out.loc["inside", "valid_fraction"] == 1.0
    assert out.attrs["valid_fraction_bands"][1 if use_cache else "x"] == pytest.approx(
        [expect, 1.0], rel=1e-6)


def test_valid_fraction_of_a_region_beyond_the_raster_on_the_dask_path():
    from geo_ms.exposures.dask_backend import zonal_mean_dask

    reg = _regions(north=shapely.box(5, 50, 6, 70))
    out = zonal_mean_dask(_partial_raster().chunk({"lat": 20}), reg)
    assert out.loc["north", "valid_fraction"] == pytest.approx(_w(60, 50) / _w(70, 50), rel=1e-6)
