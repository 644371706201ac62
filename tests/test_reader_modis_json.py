"""MODIS Terra MOD08_M3 cloud-fraction JSON reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from geo_ms.errors import FormatError, UnitError
from geo_ms.ingest.readers import read_cf_netcdf, read_modis_cloud_json


def _write(path: Path, values: list, **meta: object) -> Path:
    doc = {
        "nx": 4,
        "ny": 2,
        "lat0": -45.0,
        "lat1": 45.0,
        "lon0": -135.0,
        "lon1": 135.0,
        "source": "test",
        "units": "fraction (0-1)",
        "cloud_fraction": values,
    }
    doc.update(meta)
    path.write_text(json.dumps(doc))
    return path


# row 0 (first 4 values) is the SOUTHERN row, 45S
VALUES = [0.11, 0.12, 0.13, 0.14, 0.21, 0.22, None, 0.24]


def test_tiny_json_row_zero_is_south(tmp_path: Path) -> None:
    da = read_modis_cloud_json(_write(tmp_path / "c.json", VALUES), pad_global=False)
    assert da.dims == ("lat", "lon") and da.name == "cloud_fraction"
    assert da.lat.values.tolist() == [45.0, -45.0]
    assert da.lon.values.tolist() == [-135.0, -45.0, 45.0, 135.0]
    assert float(da.sel(lat=45, lon=-135)) == 0.21  # north-west cell = index 1*4 + 0
    assert float(da.sel(lat=-45, lon=135)) == 0.14
    assert np.isnan(float(da.sel(lat=45, lon=45)))
    assert da.attrs["units"] == "1"
    assert str(da.rio.crs) == "EPSG:4326"


def test_padding_to_the_whole_globe(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.json", [0.5] * 6, nx=3, ny=2, lat0=-0.5, lat1=0.5, lon0=-1.0, lon1=1.0
    )
    da = read_modis_cloud_json(path)
    assert da.sizes["lat"] == 180 and da.lat.values[0] == 89.5 and da.lat.values[-1] == -89.5
    assert da.lon.values.tolist() == [-1.0, 0.0, 1.0]
    assert int(da.notnull().sum()) == 6
    assert float(da.sel(lat=0.5, lon=1.0)) == 0.5


def test_wrong_count_and_missing_keys(tmp_path: Path) -> None:
    with pytest.raises(
        FormatError, match=r"short\.json: cloud_fraction has 7 values, expected nx\*ny = 4\*2 = 8"
    ):
        read_modis_cloud_json(_write(tmp_path / "short.json", VALUES[:7]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nx": 1, "ny": 1}))
    with pytest.raises(
        FormatError, match=r"bad\.json: missing key\(s\) lat0, lon0, cloud_fraction"
    ):
        read_modis_cloud_json(bad)


def test_percent_values_are_refused(tmp_path: Path) -> None:
    pct = [None if v is None else v * 100 for v in VALUES]
    with pytest.raises(
        UnitError,
        match=r"pct\.json: cloud values range 11 to 24, which looks like percent \(0-100\), "
        r"but '1' \(fraction, 0-1\) is expected",
    ):
        read_modis_cloud_json(_write(tmp_path / "pct.json", pct))


# ---------------------------------------------------------------- real mirror files
@pytest.fixture(scope="module")
def modis(mirror: Path) -> xr.DataArray:
    return read_modis_cloud_json(
        mirror / "rasters" / "modis_terra_mod08m3_cloud_fraction_2020-2023_annual_1deg.json"
    )


def _box_mean(da: xr.DataArray, lat0: float, lat1: float, lon0: float, lon1: float) -> float:
    box = da.sel(lat=slice(lat1, lat0), lon=slice(lon0, lon1))
    w = (np.cos(np.deg2rad(box.lat)) * xr.ones_like(box)).where(box.notnull())
    return float((box * w).sum() / w.sum())


def test_mirror_json_sanity_values(modis: xr.DataArray) -> None:
    assert modis.shape == (180, 360)
    assert int(modis.notnull().sum()) == 160 * 360  # 79.5S..79.5N, no gaps
    assert bool(modis.sel(lat=slice(89.5, 80)).isnull().all())
    # SOURCES.md §9 (percent): Sahara 11.5, global mean over 79.5S-79.5N 67.0; tol 0.1
    assert 100 * _box_mean(modis, 18, 30, 0, 25) == pytest.approx(11.5, abs=0.1)
    assert 100 * _box_mean(modis, -80, 80, -180, 180) == pytest.approx(67.0, abs=0.1)


def test_mirror_json_equals_netcdf_copy(modis: xr.DataArray, mirror: Path) -> None:
    nc = read_cf_netcdf(
        mirror / "rasters" / "modis_terra_mod08m3_cloud_fraction_2020-2023_annual_1deg.nc",
        name="cloud_fraction",
    )
    np.testing.assert_array_equal(modis.lat.values, nc.lat.values)
    np.testing.assert_array_equal(modis.lon.values, nc.lon.values)
    np.testing.assert_array_equal(modis.isnull().values, nc.isnull().values)
    # the netCDF stores round(fraction*1e4) as int16 (scale 1e-4, decoded to float32):
    # the codes agree exactly, the decoded values to float32 rounding
    np.testing.assert_array_equal(
        np.round(modis.values * 1e4), np.round(nc.values.astype(np.float64) * 1e4)
    )
    np.testing.assert_allclose(modis.values, nc.values, rtol=0, atol=1e-7)
