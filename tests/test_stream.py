"""Out-of-core zonal means of a raster file (geo_ms.exposures.stream)."""

from __future__ import annotations

from importlib import resources

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from exactextract import exact_extract
from rasterio.transform import from_origin

from geo_ms.errors import CRSError, FormatError, GridError
from geo_ms.exposures.regions import countries, read_natural_earth
from geo_ms.exposures.stream import raster_grid, stream_zonal_mean

REL = 1e-9
RES = 0.5


def _field(ny: int, nx: int) -> np.ndarray:
    lat = 90 - RES * (np.arange(ny) + 0.5)
    lon = -180 + RES * (np.arange(nx) + 0.5)
    v = 20 + 30 * np.cos(np.deg2rad(lat))[:, None] + 5 * np.sin(np.deg2rad(3 * lon))[None, :]
    return v.astype(np.float32)


@pytest.fixture(scope="module")
def tif(tmp_path_factory: pytest.TempPathFactory):
    """A tiled, compressed 0.5° global GeoTIFF with a nodata patch (-9999)."""
    ny, nx = int(180 / RES), int(360 / RES)
    v = _field(ny, nx)
    v[40:60, 400:450] = -9999.0  # 70..60°N, 20..45°E: parts of Finland, Russia, Norway
    path = tmp_path_factory.mktemp("stream") / "field.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=nx, height=ny, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(-180, 90, RES, RES), nodata=-9999.0,
        tiled=True, blockxsize=64, blockysize=16, compress="deflate", predictor=3,
    ) as dst:
        dst.write(v, 1)
    return path


@pytest.fixture(scope="module")
def sample_countries() -> gpd.GeoDataFrame:
    ref = resources.files("geo_ms") / "data/sample/ne_10m_admin0_countries_simplified.geojson"
    with resources.as_file(ref) as p:
        return countries(read_natural_earth(p))


def _exactextract_mean(path, regions: gpd.GeoDataFrame) -> np.ndarray:
    geoms = regions[[regions.geometry.name]].reset_index(drop=True)
    res = exact_extract(str(path), geoms, ["mean(coverage_weight=area_spherical_m2)"],
                        output="pandas")
    return res["mean"].to_numpy(float)


def test_stream_equals_exactextract_on_countries(tif, sample_countries):
    # strips of 7 rows (not a multiple of the 16-row blocks) cut through every country
    out = stream_zonal_mean(tif, sample_countries, window_rows=7)
    ref = _exactextract_mean(tif, sample_countries)
    got = out["field"].to_numpy()
    assert out.attrs["path"] == "stream"
    assert out.attrs["windows"] > 20
    assert list(out.index) == sample_countries["region_id"].tolist()
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert ok.sum() > 200
    np.testing.assert_allclose(got[ok], ref[ok], rtol=REL, atol=0)
    # the nodata patch (60..70°N, 20..45°E) holds all of Finland but its far north
    # (70..70.1°N), and part of mainland Norway (not Svalbard)
    assert 0 < out.loc["FIN", "valid_fraction"] < 0.01
    assert 0.5 < out.loc["NOR", "valid_fraction"] < 0.95
    assert out.loc["FRA", "valid_fraction"] == pytest.approx(1.0, rel=1e-12)


def test_default_strips_are_whole_block_rows(tif, sample_countries):
    # 720 columns, 16-row blocks: 8,000 cells -> 11 rows -> rounded down to 1 block row
    out = stream_zonal_mean(tif, sample_countries, window_cells=8_000, gdal_cache_mb=8)
    strips = stream_zonal_mean(tif, sample_countries, window_rows=16)
    assert out.attrs["windows"] == strips.attrs["windows"]
    np.testing.assert_allclose(out["field"], strips["field"], rtol=1e-12)


def test_box_mean_by_hand(tmp_path):
    # 2 x 2 cells of 1 degree; the box covers the western column only
    path = tmp_path / "hand.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1,
                       dtype="float64", crs="EPSG:4326",
                       transform=from_origin(0, 2, 1, 1)) as dst:
        dst.write(np.array([[10.0, 99.0], [20.0, 99.0]]), 1)
    reg = gpd.GeoDataFrame({"region_id": ["w"]}, geometry=[shapely.box(0, 0, 1, 2)],
                           crs="EPSG:4326")
    out = stream_zonal_mean(path, reg, window_rows=1, name="v")
    # spherical areas of the cells 1..2°N and 0..1°N
    a_top = np.sin(np.deg2rad(2)) - np.sin(np.deg2rad(1))
    a_bot = np.sin(np.deg2rad(1))
    assert out.loc["w", "v"] == pytest.approx((10 * a_top + 20 * a_bot) / (a_top + a_bot), rel=1e-7)


def test_raster_grid(tif):
    g = raster_grid(tif)
    assert (g.ny, g.nx, g.west, g.north, g.dx, g.dy) == (360, 720, -180.0, 90.0, 0.5, 0.5)


def test_missing_file(tmp_path, sample_countries):
    with pytest.raises(FormatError, match=r"nope\.tif: raster file not found"):
        stream_zonal_mean(tmp_path / "nope.tif", sample_countries)


def test_not_a_raster(tmp_path, sample_countries):
    bad = tmp_path / "bad.tif"
    bad.write_text("not a tiff")
    with pytest.raises(FormatError, match=r"bad\.tif: not a raster GDAL can read"):
        stream_zonal_mean(bad, sample_countries)


def test_no_such_band(tif, sample_countries):
    with pytest.raises(FormatError, match=r"field\.tif: has no band 2 \(bands 1\.\.1\)"):
        stream_zonal_mean(tif, sample_countries, band=2)


def test_projected_raster(tmp_path, sample_countries):
    path = tmp_path / "merc.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1,
                       dtype="float32", crs="EPSG:3857",
                       transform=from_origin(0, 2000, 1000, 1000)) as dst:
        dst.write(np.ones((2, 2), np.float32), 1)
    with pytest.raises(CRSError, match=r"merc\.tif: CRS is projected"):
        stream_zonal_mean(path, sample_countries)


def test_regions_in_another_crs(tif, sample_countries):
    with pytest.raises(CRSError, match="regions: CRS EPSG:3857 differs from the raster file's"):
        stream_zonal_mean(tif, sample_countries.to_crs("EPSG:3857"))


def test_bad_window_rows(tif, sample_countries):
    with pytest.raises(GridError, match="window_rows=0: must be at least 1"):
        stream_zonal_mean(tif, sample_countries, window_rows=0)
