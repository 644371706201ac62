"""IPCC-DDC ASCII grid reader (CRU CL 1.0 ``ccld6190``/``crad6190``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from geo_ms.errors import FormatError, UnitError
from geo_ms.ingest.readers import read_ipcc_ddc_grid

HEADER = (
    "    grd_sz      xmin      ymin      xmax      ymax    n_cols    n_rows  n_months\n"
    "     60.00     30.00    -60.00    210.00     60.00         4         3         2\n"
)


def _row(values: list[int]) -> str:
    return "".join(f"{v:5d}" for v in values) + "\n"


# month 1 then month 2; rows north (60N) -> south (60S); columns lon 30, 90, 150, 210E
MONTH1 = [[11, 12, 13, 14], [21, 22, -9999, 24], [31, 32, 33, 34]]
MONTH2 = [[41, 42, 43, 44], [51, 52, 53, 54], [61, 62, 63, 64]]


def _grid_text(months: list[list[list[int]]] = (MONTH1, MONTH2), header: str = HEADER) -> str:
    return header + "".join(_row(r) for m in months for r in m)


@pytest.fixture
def tiny_zip(tmp_path: Path) -> Path:
    path = tmp_path / "ctest.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ctest.dat", _grid_text())
    return path


def _box_mean(da: xr.DataArray, lat0: float, lat1: float, lon0: float, lon1: float) -> float:
    """cos(lat)-weighted mean over all months of cells whose centre is in the box."""
    box = da.sel(lat=slice(lat1, lat0), lon=slice(lon0, lon1))
    w = np.cos(np.deg2rad(box.lat)) * xr.ones_like(box)
    w = w.where(box.notnull())
    return float((box * w).sum() / w.sum())


def test_tiny_zip_values_orientation_and_wrap(tiny_zip: Path) -> None:
    da = read_ipcc_ddc_grid(tiny_zip)
    assert da.dims == ("month", "lat", "lon")
    assert da.month.values.tolist() == [1, 2]
    assert da.lat.values.tolist() == [60.0, 0.0, -60.0]
    # 30, 90, 150, 210E -> 210E becomes -150 and moves to the front
    assert da.lon.values.tolist() == [-150.0, 30.0, 90.0, 150.0]
    # the first value of the file is the north-west-most cell of the 0..360 grid: 60N 30E
    assert float(da.sel(month=1, lat=60, lon=30)) == 11.0
    assert float(da.sel(month=1, lat=60, lon=-150)) == 14.0
    assert float(da.sel(month=2, lat=-60, lon=150)) == 63.0
    assert np.isnan(float(da.sel(month=1, lat=0, lon=150)))
    assert int(da.isnull().sum()) == 1
    assert da.attrs["units"] == "%" and da.name == "cloud_cover"
    assert str(da.rio.crs) == "EPSG:4326"


def test_plain_file_equals_zip(tiny_zip: Path, tmp_path: Path) -> None:
    plain = tmp_path / "ctest.dat"
    plain.write_text(_grid_text())
    xr.testing.assert_identical(read_ipcc_ddc_grid(plain), read_ipcc_ddc_grid(tiny_zip))


def test_one_line_header_is_parsed(tmp_path: Path) -> None:
    header = "grd_sz 60.0 xmin 30.0 ymin -60.0 xmax 210.0 ymax 60.0 n_cols 4 n_rows 3 n_months 2\n"
    path = tmp_path / "oneline.dat"
    path.write_text(_grid_text(header=header))
    assert float(read_ipcc_ddc_grid(path).sel(month=2, lat=0, lon=30)) == 51.0


def test_truncated_file_names_rows_expected_and_found(tmp_path: Path) -> None:
    path = tmp_path / "short.dat"
    path.write_text(_grid_text()[: -len(_row(MONTH2[-1]))])  # drop the last row
    with pytest.raises(
        FormatError,
        match=r"short\.dat: expected 6 data rows \(2 months x 3 rows\), found 5; "
        r"the file is truncated",
    ):
        read_ipcc_ddc_grid(path)


def test_short_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "narrow.dat"
    text = _grid_text().splitlines(keepends=True)
    text[2] = text[2][5:]  # first data row loses one field
    path.write_text("".join(text))
    with pytest.raises(FormatError, match=r"narrow\.dat: data row 1 \(line 3\) has 15 characters"):
        read_ipcc_ddc_grid(path)


def test_zip_with_two_grids_needs_member(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.dat", _grid_text())
        zf.writestr("b", _grid_text())
    with pytest.raises(FormatError, match=r"two\.zip: holds 2 data files \(a\.dat, b\)"):
        read_ipcc_ddc_grid(path)
    assert float(read_ipcc_ddc_grid(path, "b").sel(month=1, lat=60, lon=90)) == 12.0
    with pytest.raises(FormatError, match=r"two\.zip: no member 'c'; the zip holds a\.dat, b"):
        read_ipcc_ddc_grid(path, "c")


def test_bad_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nohead.dat"
    path.write_text("hello world\n" + _row([1, 2, 3, 4]))
    with pytest.raises(FormatError, match=r"nohead\.dat: not an IPCC-DDC grid header; missing"):
        read_ipcc_ddc_grid(path)


def test_fraction_where_percent_expected_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "frac.dat"
    zeros_ones = [[[0, 1, 0, 1]] * 3] * 2
    path.write_text(_grid_text(zeros_ones))
    with pytest.raises(
        UnitError, match=r"frac\.dat: cloud values range 0 to 1, which looks like a 0-1 fraction"
    ):
        read_ipcc_ddc_grid(path)
    # the same values are fine for another variable
    assert read_ipcc_ddc_grid(path, name="radiation", units="W m-2").attrs["units"] == "W m-2"


# ---------------------------------------------------------------- real mirror files
@pytest.fixture(scope="module")
def cru_cloud(mirror: Path) -> xr.DataArray:
    return read_ipcc_ddc_grid(mirror / "rasters" / "ccld6190.zip")


@pytest.fixture(scope="module")
def cru_nc(mirror: Path) -> xr.Dataset:
    with xr.open_dataset(mirror / "rasters" / "cru_cl1.0_cld_rad_1961-1990_0.5deg.nc") as ds:
        return ds.load()


def test_mirror_cloud_shape_and_sanity_values(cru_cloud: xr.DataArray) -> None:
    assert cru_cloud.shape == (12, 360, 720)
    assert cru_cloud.lat.values[0] == 89.75 and cru_cloud.lon.values[0] == -179.75
    # SOURCES.md §1: Sahara 25.3 %, UK + Ireland 77.2 % (tolerance 0.3)
    assert _box_mean(cru_cloud, 18, 30, 0, 25) == pytest.approx(25.3, abs=0.3)
    assert _box_mean(cru_cloud, 50, 59, -11, 2) == pytest.approx(77.2, abs=0.3)


def test_mirror_zip_equals_mirror_netcdf_exactly(
    cru_cloud: xr.DataArray, cru_nc: xr.Dataset
) -> None:
    np.testing.assert_array_equal(cru_cloud.lat.values, cru_nc.lat.values)
    np.testing.assert_array_equal(cru_cloud.lon.values, cru_nc.lon.values)
    np.testing.assert_array_equal(cru_cloud.values, cru_nc.cld.values)


def test_mirror_radiation_member(mirror: Path, cru_nc: xr.Dataset) -> None:
    rad = read_ipcc_ddc_grid(
        mirror / "rasters" / "crad6190.zip", member="crad6190", name="radiation", units="W m-2"
    )
    # SOURCES.md §1: Sahara 254.8 W m-2 (tolerance 0.5)
    assert _box_mean(rad, 18, 30, 0, 25) == pytest.approx(254.8, abs=0.5)
    np.testing.assert_array_equal(rad.values, cru_nc.rad.values)
    with pytest.raises(FormatError, match=r"crad6190\.zip: holds 2 data files"):
        read_ipcc_ddc_grid(mirror / "rasters" / "crad6190.zip")
