"""Exposures per region on the real mirror data, against an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio.features
import rasterio.transform
import xarray as xr

from geo_ms.exposures.aggregate import (
    EXPOSURES,
    aggregate_fields,
    align_to_dateline,
    data_dictionary,
    exposure_fields,
)
from geo_ms.exposures.climatology import annual_mean, month_mean
from geo_ms.exposures.regions import countries, read_natural_earth
from geo_ms.ingest.readers import read_ipcc_ddc_grid


@pytest.fixture(scope="module")
def ne_countries(mirror: Path):
    return countries(read_natural_earth(mirror / "boundaries/ne_10m_admin_0_countries_deu.zip"))


@pytest.fixture(scope="module")
def cru_cloud(mirror: Path) -> xr.DataArray:
    return read_ipcc_ddc_grid(mirror / "rasters/ccld6190.zip", "ccld6190.dat")


@pytest.fixture(scope="module")
def cloud_table(ne_countries, cru_cloud) -> pd.DataFrame:
    spec = next(s for s in EXPOSURES if s.base == "cloud_cover_pct")
    fields = exposure_fields(spec, lambda _id: cru_cloud, ("annual", "winter"))
    return aggregate_fields(fields, ne_countries)


def _independent_mean(field: xr.DataArray, geom) -> float:
    """Cell-centre mask × spherical cell area (sin φ₂ − sin φ₁), NaN cells dropped."""
    lat, lon = field["lat"].values, field["lon"].values
    d = abs(lat[1] - lat[0])
    transform = rasterio.transform.from_origin(lon[0] - d / 2, lat[0] + d / 2, d, d)
    mask = rasterio.features.rasterize([(geom, 1)], out_shape=field.shape, transform=transform,
                                       fill=0, dtype="uint8").astype(bool)
    area = np.sin(np.radians(lat + d / 2)) - np.sin(np.radians(lat - d / 2))
    w = np.broadcast_to(area[:, None], field.shape) * mask
    v = field.values
    ok = np.isfinite(v) & (w > 0)
    return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else float("nan")


@pytest.mark.parametrize("iso3", ["USA", "BRA", "RUS", "CHN", "AUS", "IND", "DZA", "ARG", "KAZ",
                                  "COD"])
def test_large_countries_agree_with_an_independent_computation(iso3, ne_countries, cru_cloud,
                                                               cloud_table):
    geom = ne_countries.set_index("region_id").loc[iso3, "geometry"]
    expected = _independent_mean(annual_mean(cru_cloud), geom)
    assert cloud_table.loc[iso3, "cloud_cover_pct"] == pytest.approx(expected, abs=0.5)


def test_every_country_with_land_cells_gets_a_value(ne_countries, cru_cloud, cloud_table):
    annual = annual_mean(cru_cloud)
    has_cells = [rid for rid, geom in zip(ne_countries["region_id"], ne_countries.geometry,
                                          strict=True)
                 if np.isfinite(_independent_mean(annual, geom))]
    assert len(has_cells) > 150
    assert cloud_table.loc[has_cells, "cloud_cover_pct"].notna().all()
    # Small island states a cell-centre tool misses still get a value from partial cells.
    for iso3 in ("MLT", "SGP", "LUX"):
        assert np.isfinite(cloud_table.loc[iso3, "cloud_cover_pct"]), iso3
    # ...and the land-only CRU grid says how much of each region it covers.
    assert cloud_table["valid_fraction"].between(0, 1).all()
    assert cloud_table.loc["MDV", "valid_fraction"] < 0.9 < cloud_table.loc["FRA", "valid_fraction"]


def test_local_winter_is_hemisphere_aware(cloud_table, cru_cloud, ne_countries):
    t = cloud_table
    # British winters (DJF) are cloudier than the year; Australia's winter is JJA, and there
    # the JJA mean must equal the (month-length weighted) mean of the June-August fields.
    assert t.loc["GBR", "cloud_cover_pct_winter"] > t.loc["GBR", "cloud_cover_pct"]
    assert t.loc["EGY", "cloud_cover_pct"] < 35
    assert t.loc["GBR", "cloud_cover_pct"] > 70
    jja = month_mean(cru_cloud, [6, 7, 8]).rename("jja")
    aus = ne_countries[ne_countries["region_id"] == "AUS"]
    assert t.loc["AUS", "cloud_cover_pct_winter"] == pytest.approx(
        aggregate_fields({"jja": jja}, aus)["jja"].iloc[0], rel=1e-9)


def test_dateline_alignment_without_an_edge_on_the_dateline_is_a_grid_error():
    from geo_ms.errors import GridError

    # 1° cells with the west edge at -180.43: no split into 1..64 puts an edge on -180
    lon = np.arange(360) - 179.93
    da = xr.DataArray(np.zeros((2, 360)), dims=("lat", "lon"), name="odd",
                      coords={"lat": [0.5, -0.5], "lon": lon})
    with pytest.raises(GridError, match=r"^raster 'odd': cells straddle ±180° and no split into "
                       r"1-64 sub-columns puts an edge on -180° \(west edge -180\.43, step 1\)$"):
        align_to_dateline(da)


def test_dateline_alignment_keeps_area_weighted_means():
    # A MERRA-2-like 3° grid centred on -180..177: cells straddle the dateline.
    lat = np.arange(72.0, -58.0, -3.0)
    lon = np.arange(-180.0, 180.0, 3.0)
    rng = np.random.default_rng(1)
    da = xr.DataArray(rng.uniform(0, 100, (lat.size, lon.size)), dims=("lat", "lon"),
                      coords={"lat": lat, "lon": lon}, name="x")
    out = align_to_dateline(da)
    assert out["lon"].values.min() == pytest.approx(-179.25)
    assert out["lon"].values.max() == pytest.approx(179.25)
    # Each sub-column carries its parent's value: the cells at -180 sit at both ends now.
    assert out.sel(lon=179.25).values.tolist() == da.sel(lon=-180.0).values.tolist()
    assert out.sel(lon=-179.25).values.tolist() == da.sel(lon=-180.0).values.tolist()
    # A region that is exactly the straddling cell (two parts, either side of ±180°) gets
    # exactly that cell's value; a region over two whole cells their area-weighted mean.
    import geopandas as gpd
    import shapely

    cell = shapely.MultiPolygon([shapely.box(178.5, -1.5, 180, 1.5),
                                 shapely.box(-180, -1.5, -178.5, 1.5)])
    two = shapely.box(-178.5, -1.5, -172.5, 1.5)
    regions = gpd.GeoDataFrame({"region_id": ["cell", "two"]}, geometry=[cell, two],
                               crs="EPSG:4326")
    got = aggregate_fields({"x": da.rio.write_crs("EPSG:4326")}, regions)["x"]
    assert got["cell"] == pytest.approx(float(da.sel(lat=0.0, lon=-180.0)), rel=1e-9)
    assert got["two"] == pytest.approx(float(da.sel(lat=0.0, lon=[-177.0, -174.0]).mean()),
                                       rel=1e-9)


def test_data_dictionary_gives_unit_source_and_method():
    dd = data_dictionary(["cloud_cover_pct", "uv_index_winter", "vitd_uv_clear_popw",
                          "abs_latitude"]).set_index("column")
    assert dd.loc["cloud_cover_pct", "unit"] == "%"
    assert dd.loc["cloud_cover_pct", "source"] == "cru_cl1_cloud"
    assert "local winter" in dd.loc["uv_index_winter", "method"]
    assert "population-weighted" in dd.loc["vitd_uv_clear_popw", "method"]
    assert dd.loc["vitd_uv_clear_popw", "unit"] == "J m-2"
    assert "LABEL_Y" in dd.loc["abs_latitude", "method"]


def test_population_raster_on_a_finer_grid_weights_by_people():
    import geopandas as gpd
    import shapely

    lat = np.array([1.5, 0.5, -0.5, -1.5])
    lon = np.array([-1.5, -0.5, 0.5, 1.5])
    field = xr.DataArray(np.arange(16.0).reshape(4, 4), dims=("lat", "lon"),
                         coords={"lat": lat, "lon": lon}, name="x").rio.write_crs("EPSG:4326")
    # Population on a 0.5° grid: 300 people in one sub-cell of the cell (0.5, -0.5)
    # and 100 in a sub-cell of the cell (0.5, 0.5).
    plat = np.arange(1.75, -2.0, -0.5)
    plon = np.arange(-1.75, 2.0, 0.5)
    pop = xr.DataArray(np.zeros((8, 8)), dims=("lat", "lon"),
                       coords={"lat": plat, "lon": plon}, attrs={"units": "people"})
    pop.loc[{"lat": 0.75, "lon": -0.25}] = 300.0
    pop.loc[{"lat": 0.25, "lon": 0.75}] = 100.0
    pop = pop.rio.write_crs("EPSG:4326")
    region = gpd.GeoDataFrame({"region_id": ["R"]}, geometry=[shapely.box(-1, 0, 1, 1)],
                              crs="EPSG:4326")
    out = aggregate_fields({"x": field}, region, population=pop, popw_columns=["x"])
    v_w, v_e = float(field.sel(lat=0.5, lon=-0.5)), float(field.sel(lat=0.5, lon=0.5))
    assert out.loc["R", "x_popw"] == pytest.approx((300 * v_w + 100 * v_e) / 400, rel=1e-9)
    assert out.loc["R", "x"] == pytest.approx((v_w + v_e) / 2, rel=1e-9)  # equal areas


def test_scheduler_address_gives_the_same_exposures():
    import geopandas as gpd
    import shapely

    from geo_ms.exposures.dask_backend import get_client

    rng = np.random.default_rng(7)
    lat = np.arange(59.75, 40.0, -0.5)
    lon = np.arange(-9.75, 20.0, 0.5)
    field = xr.DataArray(rng.uniform(0, 100, (lat.size, lon.size)), dims=("lat", "lon"),
                         coords={"lat": lat, "lon": lon}, name="c").rio.write_crs("EPSG:4326")
    field[3:6, 4:9] = np.nan
    regions = gpd.GeoDataFrame(
        {"region_id": ["A", "B"]},
        geometry=[shapely.box(-8, 42, 3.3, 51.1), shapely.box(5, 45, 18, 58)], crs="EPSG:4326")
    eager = aggregate_fields({"c": field, "d": field * 2}, regions)
    with get_client("", processes=False) as client:
        address = client.scheduler.address
        assert address.startswith("tcp://127.0.0.1")
        remote = aggregate_fields({"c": field, "d": field * 2}, regions, scheduler=address)
    pd.testing.assert_frame_equal(remote[["c", "d"]], eager[["c", "d"]], rtol=1e-12)


def test_single_month_window(cru_cloud, ne_countries):
    spec = next(s for s in EXPOSURES if s.base == "cloud_cover_pct")
    fields = exposure_fields(spec, lambda _id: cru_cloud, ("annual", "m07"))
    assert set(fields) == {"cloud_cover_pct", "cloud_cover_pct_m07"}
    xr.testing.assert_allclose(fields["cloud_cover_pct_m07"].drop_vars("month", errors="ignore"),
                               cru_cloud.sel(month=7, drop=True).astype("float64"),
                               check_dim_order=False)
    dd = data_dictionary(["cloud_cover_pct_m07", "cloud_cover_pct_m07_popw"]).set_index("column")
    assert "calendar month 7" in dd.loc["cloud_cover_pct_m07", "method"]
    assert "population-weighted" in dd.loc["cloud_cover_pct_m07_popw", "method"]
    assert dd.loc["cloud_cover_pct_m07", "source"] == "cru_cl1_cloud"
