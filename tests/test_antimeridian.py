"""Regions crossing the antimeridian (geo_ms.exposures.antimeridian.split_antimeridian + zonal_mean)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

from geo_ms.exposures.antimeridian import split_antimeridian
from geo_ms.exposures.zonal import zonal_mean

REL = 1e-9


@pytest.fixture(scope="module")
def field() -> xr.DataArray:
    lat = np.arange(89.5, -90, -1.0)
    lon = np.arange(-179.5, 180, 1.0)
    vals = lat[:, None] + 0.001 * lon[None, :]
    da = xr.DataArray(vals, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="x")
    return da.rio.write_crs("EPSG:4326")


def _gdf(*geoms, ids=None) -> gpd.GeoDataFrame:
    ids = ids or [f"r{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"region_id": ids}, geometry=list(geoms), crs="EPSG:4326")


# box lon 179..181 (= 179..180 and -180..-179), lat 20..21: two cells of the same row
EXPECT = ((20.5 + 0.001 * 179.5) + (20.5 - 0.001 * 179.5)) / 2


def test_box_in_0_360_longitudes_is_split_and_shifted():
    out = split_antimeridian(_gdf(shapely.box(179, 20, 181, 21), shapely.box(0, 0, 1, 1)))
    parts = sorted(p.bounds for p in out.geometry[0].geoms)
    assert parts == [(-180.0, 20.0, -179.0, 21.0), (179.0, 20.0, 180.0, 21.0)]
    assert out.geometry[1].equals(shapely.box(0, 0, 1, 1))
    assert out.attrs["antimeridian_split"] == [0]


def test_ring_drawn_across_the_antimeridian_is_unwrapped():
    ring = shapely.Polygon([(179, 20), (-179, 20), (-179, 21), (179, 21)])
    # as drawn, a naive reading spans 358° of longitude
    assert ring.bounds == (-179.0, 20.0, 179.0, 21.0)
    out = split_antimeridian(_gdf(ring))
    parts = sorted(p.bounds for p in out.geometry[0].geoms)
    assert parts == [(-180.0, 20.0, -179.0, 21.0), (179.0, 20.0, 180.0, 21.0)]
    assert sum(p.area for p in out.geometry[0].geoms) == pytest.approx(2.0)


def test_polar_ring_and_already_split_parts_are_left_alone():
    # Antarctica-like: the ring runs 180 → -180 along -90 (encircles the pole)
    polar = shapely.Polygon([(-180, -70), (0, -65), (180, -70), (180, -90), (-180, -90)])
    fiji_like = shapely.MultiPolygon(
        [shapely.box(177, -18, 180, -16), shapely.box(-180, -17, -179, -16)]
    )
    out = split_antimeridian(_gdf(polar, fiji_like))
    assert out.geometry[0].equals(polar) and out.geometry[1].equals(fiji_like)
    assert out.attrs["antimeridian_split"] == []


def test_zonal_mean_is_the_same_for_all_three_encodings(field):
    two_parts = shapely.MultiPolygon(
        [shapely.box(179, 20, 180, 21), shapely.box(-180, 20, -179, 21)]
    )
    in_0_360 = shapely.box(179, 20, 181, 21)
    jump_ring = shapely.Polygon([(179, 20), (-179, 20), (-179, 21), (179, 21)])
    # 0..360 boxes are wrapped by zonal_mean itself; a jump ring needs split_antimeridian
    reg = split_antimeridian(_gdf(two_parts, in_0_360, jump_ring, ids=["parts", "360", "jump"]))
    out = zonal_mean(field, reg)
    for rid in ("parts", "360", "jump"):
        assert out.loc[rid, "x"] == pytest.approx(EXPECT, rel=REL), rid
    direct = zonal_mean(field, _gdf(in_0_360, ids=["360"]))
    assert direct.loc["360", "x"] == pytest.approx(EXPECT, rel=REL)


def test_without_wrapping_exactextract_would_drop_the_outer_part(field):
    """Why the split matters: exactextract only sees cells inside -180..180."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    src = NumPyRasterSource(field.values, -180, -90, 180, 90, srs_wkt=field.rio.crs.to_wkt())
    raw = exact_extract(
        src,
        _gdf(shapely.box(179, 20, 181, 21)),
        "mean(coverage_weight=area_spherical_m2)",
        output="pandas",
    )
    assert raw["mean"][0] == pytest.approx(20.5 + 0.001 * 179.5, rel=REL)  # half the region lost
    assert raw["mean"][0] != pytest.approx(EXPECT, rel=1e-6)


def test_mirror_natural_earth_needs_no_split(mirror):
    from geo_ms.exposures.regions import read_natural_earth

    ne = read_natural_earth(mirror / "boundaries" / "ne_10m_admin_0_countries_deu.zip")
    wide = ne[ne.geometry.bounds.minx.le(-179.99) & ne.geometry.bounds.maxx.ge(179.99)]
    assert sorted(wide["ADM0_A3"]) == ["ATA", "FJI", "RUS"]
    out = split_antimeridian(ne)
    assert out.attrs["antimeridian_split"] == []
    assert np.array_equal(shapely.area(out.geometry.values), shapely.area(ne.geometry.values))
