"""GeoTIFF readers: one float GeoTIFF and NASA NEO monthly float GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio import Affine

from geo_ms.errors import CRSError, FormatError, GridError, UnitError
from geo_ms.ingest.readers import read_cf_netcdf, read_geotiff, read_neo_geotiff

NODATA = 99999.0
NORTH_UP = Affine(90.0, 0.0, -180.0, 0.0, -90.0, 90.0)


def _write_tif(
    path: Path,
    values: np.ndarray,
    *,
    crs: str | None = "EPSG:4326",
    transform: Affine = NORTH_UP,
    nodata: float | None = NODATA,
) -> Path:
    """A float32 single-band GeoTIFF like NEO's (origin at the north-west corner)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values.astype("float32"), 1)
    return path


# 2 rows x 4 columns of 90 degrees; first row is the northern one
GRID = np.array([[0.11, 0.12, 0.13, NODATA], [0.21, 0.22, 0.23, 0.24]])


def test_one_geotiff_values_orientation_and_nodata(tmp_path: Path) -> None:
    da = read_geotiff(
        _write_tif(tmp_path / "a.tif", GRID), name="cloud_fraction", units="1", source="test"
    )
    assert da.dims == ("lat", "lon")
    assert da.lat.values.tolist() == [45.0, -45.0]
    assert da.lon.values.tolist() == [-135.0, -45.0, 45.0, 135.0]
    assert float(da.sel(lat=45, lon=-135)) == pytest.approx(0.11)  # north-west cell
    assert float(da.sel(lat=-45, lon=135)) == pytest.approx(0.24)
    assert np.isnan(float(da.sel(lat=45, lon=135)))
    assert da.attrs["units"] == "1" and da.attrs["source"] == "test"
    assert str(da.rio.crs) == "EPSG:4326"


def test_south_up_geotiff_is_flipped(tmp_path: Path) -> None:
    south_up = Affine(90.0, 0.0, -180.0, 0.0, 90.0, -90.0)
    a = read_geotiff(_write_tif(tmp_path / "n.tif", GRID), name="v", units="1")
    b = read_geotiff(
        _write_tif(tmp_path / "s.tif", GRID[::-1], transform=south_up), name="v", units="1"
    )
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.lat.values, b.lat.values)


def test_raster_without_crs_is_a_crs_error(tmp_path: Path) -> None:
    path = _write_tif(tmp_path / "nocrs.tif", GRID, crs=None)
    with pytest.raises(CRSError, match=r"nocrs\.tif: raster has no CRS") as err:
        read_geotiff(path, name="v", units="1")
    assert f"gdal_edit.py -a_srs EPSG:4326 {path}" in err.value.hint
    assert "rio.write_crs" in err.value.hint


def test_projected_geotiff_is_a_crs_error(tmp_path: Path) -> None:
    path = _write_tif(
        tmp_path / "merc.tif", GRID, crs="EPSG:3857", transform=Affine(1e5, 0, 0, 0, -1e5, 1e5)
    )
    with pytest.raises(
        CRSError,
        match=r"merc\.tif: is in a projected CRS \(EPSG:3857\); geo_ms needs geographic "
        r"lat/lon \(EPSG:4326\)\. Reproject it first, e\.g\. with `gdalwarp -t_srs EPSG:4326`",
    ):
        read_geotiff(path, name="v", units="1")


def test_all_nodata_geotiff_is_a_grid_error(tmp_path: Path) -> None:
    path = _write_tif(tmp_path / "empty.tif", np.full((2, 4), NODATA))
    with pytest.raises(GridError, match=r"empty\.tif: every cell is nodata \(NaN\)"):
        read_geotiff(path, name="v", units="1")


def test_percent_geotiff_where_fraction_expected(tmp_path: Path) -> None:
    path = _write_tif(tmp_path / "pct.tif", np.where(GRID == NODATA, NODATA, GRID * 100))
    with pytest.raises(
        UnitError, match=r"pct\.tif: cloud values range 11 to 24, which looks like percent"
    ):
        read_geotiff(path, name="cloud_fraction", units="1")


def test_neo_months_from_names_average_years(tmp_path: Path) -> None:
    paths = []
    for year, offset in ((2020, 0.0), (2021, 0.1)):
        for month in range(1, 13):
            values = np.where(GRID == NODATA, NODATA, GRID + month * 0.01 + offset)
            name = f"MODAL2_M_CLD_FR_{year}-{month:02d}.FLOAT.TIFF"
            paths.append(_write_tif(tmp_path / name, values))
    da = read_neo_geotiff(paths[::-1])  # order does not matter when names carry the month
    assert da.dims == ("month", "lat", "lon") and da.month.values.tolist() == list(range(1, 13))
    # mean of 2020 and 2021 = GRID + 0.01*month + 0.05
    assert float(da.sel(month=3, lat=45, lon=-135)) == pytest.approx(0.11 + 0.03 + 0.05, abs=1e-6)
    assert float(da.sel(month=12, lat=-45, lon=135)) == pytest.approx(0.24 + 0.12 + 0.05, abs=1e-6)
    assert bool(da.sel(lat=45, lon=135).isnull().all())
    assert da.attrs["period"] == "2020-2021" and da.attrs["units"] == "1"
    # a folder works too
    np.testing.assert_array_equal(read_neo_geotiff(tmp_path).values, da.values)


def test_neo_list_order_without_dates(tmp_path: Path) -> None:
    paths = [
        _write_tif(
            tmp_path / f"cloud_{chr(97 + i)}.tif", np.where(GRID == NODATA, NODATA, GRID + i * 0.01)
        )
        for i in range(12)
    ]
    da = read_neo_geotiff(paths)
    assert float(da.sel(month=12, lat=-45, lon=-135)) == pytest.approx(0.21 + 0.11, abs=1e-6)
    with pytest.raises(FormatError, match=r"11 files without YYYY-MM in their names; need 12"):
        read_neo_geotiff(paths[:11])


def test_neo_grids_must_match(tmp_path: Path) -> None:
    a = _write_tif(tmp_path / "X_2020-01.TIFF", GRID)
    b = _write_tif(tmp_path / "X_2020-02.TIFF", GRID[:, :2])
    with pytest.raises(GridError, match=r"X_2020-02\.TIFF: grid \(2, 2\) differs from"):
        read_neo_geotiff([a, b])


# ---------------------------------------------------------------- real mirror data
def test_mirror_neo_uvi_through_geotiffs(mirror: Path, tmp_path: Path) -> None:
    """The mirror's NEO UV index, exported as 12 NEO-style float GeoTIFFs, reads back
    identically, and keeps the SOURCES.md §3 values (Oslo Jan 0.31, Jul 6.02)."""
    ref = read_cf_netcdf(
        mirror / "rasters" / "neo_aura_uvi_clim_monthly_1deg.nc", "uvi", name="uv_index"
    )
    paths = []
    for month in range(1, 13):
        grid = ref.sel(month=month).fillna(NODATA).values
        paths.append(
            _write_tif(
                tmp_path / f"AURA_UVI_CLIM_M_2010-{month:02d}.FLOAT.TIFF",
                grid,
                transform=Affine(1.0, 0.0, -180.0, 0.0, -1.0, 90.0),
            )
        )
    da = read_neo_geotiff(
        paths, name="uv_index", units="1", long_name="UV index", source="neo_aura_uvi_clim_m"
    )
    np.testing.assert_array_equal(da.lat.values, ref.lat.values)
    np.testing.assert_array_equal(da.lon.values, ref.lon.values)
    np.testing.assert_array_equal(da.values, ref.values)
    assert float(da.sel(month=1, lat=59.5, lon=10.5)) == pytest.approx(0.31, abs=0.005)
    assert float(da.sel(month=7, lat=59.5, lon=10.5)) == pytest.approx(6.02, abs=0.005)
