"""All-sky UV (geo_ms.exposures.derived.allsky_uv): cloud modification factor, all-sky vitamin-D dose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from mirror_boxes import CRU_FILE, TEMIS_FILE
from mirror_boxes import box_mean as _box_mean
from mirror_boxes import kc as _kc

from geo_ms.errors import GridError, SchemaError, UnitError
from geo_ms.exposures.climatology import annual_mean
from geo_ms.exposures.derived import (
    all_sky_uv,
    cloud_modification_factor,
)

# --------------------------------------------------------------------------- CMF


def test_cmf_kasten_czeplak_values() -> None:
    assert cloud_modification_factor(0.0) == 1.0
    assert cloud_modification_factor(100.0) == pytest.approx(0.25, abs=1e-15)
    assert cloud_modification_factor(50.0) == pytest.approx(0.9289508, abs=1e-7)
    got = cloud_modification_factor(np.array([25.0, 75.0, np.nan]))
    np.testing.assert_allclose(got[:2], [_kc(25.0), _kc(75.0)], rtol=1e-12)
    assert np.isnan(got[2])


def test_cmf_power_law_and_dataarray_attrs() -> None:
    cld = xr.DataArray([[80.0, np.nan]], dims=("lat", "lon"), attrs={"units": "percent"})
    out = cloud_modification_factor(cld, method="power_law", a=0.5, b=2.5)
    assert out.name == "cmf"
    assert out.attrs["units"] == "1"
    assert out.attrs["method"] == "power_law: CMF = 1 - 0.5 * (cloud fraction)^2.5"
    assert out.values[0, 0] == pytest.approx(1 - 0.5 * 0.8**2.5, rel=1e-12)  # 0.71378
    assert np.isnan(out.values[0, 1])


def test_cmf_errors() -> None:
    frac = xr.DataArray([0.5], dims="x", name="cloud_fraction", attrs={"units": "1"})
    with pytest.raises(
        UnitError, match=r"^cloud_fraction: cloud cover must be in percent, got units '1'$"
    ) as info:
        cloud_modification_factor(frac)
    assert "Multiply a 0-1 fraction by 100" in info.value.hint
    with pytest.raises(
        UnitError, match=r"^cloud_cover_pct: cloud cover outside 0-100 % \(min 5, max 120\)$"
    ):
        cloud_modification_factor(np.array([5.0, 120.0]))
    with pytest.raises(SchemaError, match=r"^cloud_cover_pct: unknown CMF method 'den_outer'$"):
        cloud_modification_factor(50.0, method="den_outer")
    with pytest.raises(SchemaError, match=r"method 'power_law' needs both coefficients a and b$"):
        cloud_modification_factor(50.0, method="power_law", a=0.5)


# --------------------------------------------------------------------------- all-sky UV


def _fine_coarse() -> tuple[xr.DataArray, xr.DataArray]:
    """0.25-deg clear-sky field (2 months, 4x4 at 60N) and 0.5-deg cloud (2 months, 2x2)."""
    flat = np.array([60.875, 60.625, 60.375, 60.125])
    flon = np.array([10.125, 10.375, 10.625, 10.875])
    base = np.arange(16.0).reshape(4, 4) * 100.0 + 1000.0
    clear = xr.DataArray(
        np.stack([base, 2 * base]),
        dims=("month", "lat", "lon"),
        coords={"month": [1, 7], "lat": flat, "lon": flon},
        name="vitd_dose_clear",
        attrs={"units": "J m-2", "source": "temis_uvdvc_clim"},
    )
    cloud = xr.DataArray(
        np.array([[[20.0, 50.0], [80.0, np.nan]], [[0.0, 100.0], [60.0, 40.0]]]),
        dims=("month", "lat", "lon"),
        coords={"month": [1, 7], "lat": [60.75, 60.25], "lon": [10.25, 10.75]},
        name="cloud_cover",
        attrs={"units": "%", "source": "cru_cl1_cld"},
    )
    return clear, cloud


def test_all_sky_uv_block_mean_times_cmf() -> None:
    clear, cloud = _fine_coarse()
    out = all_sky_uv(clear, cloud)
    assert out.name == "vitd_uv_allsky"
    assert out.dims == ("month", "lat", "lon")
    assert out.attrs["units"] == "J m-2"
    assert out.attrs["source"] == "temis_uvdvc_clim+cru_cl1_cld"
    assert out.rio.crs.to_epsg() == 4326
    # independent computation: each 0.5-deg cell = cos(lat)-weighted mean of its 2x2 cells
    base = clear.values[0]
    w = np.cos(np.deg2rad(clear["lat"].values))
    for mi in range(2):
        for i in range(2):
            for j in range(2):
                block = clear.values[mi, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                wb = w[2 * i : 2 * i + 2]
                mean = (block * wb[:, None]).sum() / (2 * wb.sum())
                c = cloud.values[mi, i, j]
                got = out.values[mi, i, j]
                if np.isnan(c):
                    assert np.isnan(got)
                else:
                    assert got == pytest.approx(mean * _kc(c), rel=1e-12)
    # the area weighting is real: the top-left cell differs from the plain mean (1250)
    top_left = (base[0, 0] * w[0] * 2 + 100 * w[0] + base[1, 0] * w[1] * 2 + 100 * w[1]) / (
        2 * (w[0] + w[1])
    )
    assert out.values[0, 0, 0] / _kc(20.0) == pytest.approx(top_left, rel=1e-12)
    assert top_left != pytest.approx(1250.0, rel=1e-6)
    assert out.values[1, 0, 1] == pytest.approx(0.25 * 2 * 1450.0, rel=1e-3)  # overcast: CMF 0.25


def test_all_sky_uv_errors() -> None:
    clear, cloud = _fine_coarse()
    shifted = cloud.assign_coords(lon=[10.3, 10.8])
    with pytest.raises(
        GridError, match=r"^vitd_dose_clear: 'lon' cells of the two grids are not nested$"
    ):
        all_sky_uv(clear, shifted)
    with pytest.raises(
        UnitError,
        match=r"^vitd_dose_clear: clear-sky UV dose must be in J m-2, got units 'kJ m-2'$",
    ):
        all_sky_uv(clear.assign_attrs(units="kJ m-2"), cloud)
    with pytest.raises(GridError, match=r"^all_sky_uv: months differ between clear_sky \[1, 7\]"):
        all_sky_uv(clear, cloud.assign_coords(month=[1, 8]))
    with pytest.raises(GridError, match=r"must both have a 'month' dim or neither"):
        all_sky_uv(clear, cloud.isel(month=0, drop=True))


# --------------------------------------------------------------------------- mirror


@pytest.fixture(scope="module")
def cru(mirror: Path) -> xr.DataArray:
    from geo_ms.ingest.readers import read_cf_netcdf

    return read_cf_netcdf(mirror / "rasters" / CRU_FILE, "cld")



def test_mirror_all_sky_uv(mirror: Path, cru: xr.DataArray) -> None:
    from geo_ms.ingest.readers import read_temis

    clear = read_temis(mirror / "rasters" / TEMIS_FILE)
    out = all_sky_uv(clear, cru)
    assert out.shape == (12, 360, 720)
    assert out.name == "vitd_uv_allsky" and out.attrs["units"] == "J m-2"
    # ocean (CRU NaN) stays NaN; land everywhere below its clear-sky value
    assert np.array_equal(np.isnan(out.values), np.isnan(cru.values))
    # spot check against an independent computation: London cell in July
    cell = out.sel(month=7, lat=51.25, lon=-0.25).item()
    sub = clear.sel(month=7, lat=[51.375, 51.125], lon=[-0.375, -0.125]).values
    w = np.cos(np.deg2rad([51.375, 51.125]))
    expected = (
        (sub * w[:, None]).sum()
        / (2 * w.sum())
        * _kc(cru.sel(month=7, lat=51.25, lon=-0.25).item())
    )
    assert cell == pytest.approx(expected, rel=1e-6)
    ann = annual_mean(out)
    # the cloud signal: UK+IE all-sky annual dose well below the Sahara's
    assert _box_mean(ann, "UK+IE") < 0.3 * _box_mean(ann, "Sahara")  # 1989 vs 8960 J m-2
