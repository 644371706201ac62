"""netCDF readers (CF, CRU TS, TEMIS, NCEP Gaussian, MERRA-2/gsee) and the shared
canonicalisation and unit checks of ``geo_ms.ingest.readers._canonical``."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import cftime
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from geo_ms.errors import CRSError, FormatError, GridError, UnitError
from geo_ms.ingest.readers import (
    read_cf_netcdf,
    read_cru_ts,
    read_merra2_gsee,
    read_ncep_gaussian,
    read_temis,
)
from geo_ms.ingest.readers._canonical import canonicalize, check_units


def _zonal_annual(da: xr.DataArray, lat: float) -> float:
    """Annual zonal mean at *lat*: the rows whose cells touch that latitude."""
    step = float(abs(da.lat[0] - da.lat[1]))
    rows = da.lat.values[np.abs(da.lat.values - lat) <= step / 2 + 1e-6]
    return float(da.sel(lat=rows).mean())


def _box_mean(da: xr.DataArray, lat0: float, lat1: float, lon0: float, lon1: float) -> float:
    """cos(lat)-weighted mean over all months of cells whose centre is in the box."""
    box = da.sel(lat=slice(lat1, lat0), lon=slice(lon0, lon1))
    w = (np.cos(np.deg2rad(box.lat)) * xr.ones_like(box)).where(box.notnull())
    return float((box * w).sum() / w.sum())


# ---------------------------------------------------------------- canonical form
def _field(lat: list[float], lon: list[float]) -> xr.DataArray:
    """value = 100*lat + lon, so every cell says where it is."""
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    return xr.DataArray(
        100.0 * la + lo, dims=("latitude", "longitude"), coords={"latitude": lat, "longitude": lon}
    )


def test_irregular_and_descending_orders_give_the_sorted_result(tmp_path: Path) -> None:
    ordered = _field([-10.0, 0.0, 10.0, 20.0], [-50.0, 0.0, 100.0, 170.0])
    shuffled = _field([0.0, 20.0, -10.0, 10.0], [100.0, -50.0, 170.0, 0.0])
    descending = _field([20.0, 10.0, 0.0, -10.0], [170.0, 100.0, 0.0, -50.0])
    out = []
    for i, da in enumerate((ordered, shuffled, descending)):
        path = tmp_path / f"f{i}.nc"
        da.to_dataset(name="v").to_netcdf(path)
        out.append(read_cf_netcdf(path, name="v", source="test"))
    xr.testing.assert_identical(out[0], out[1])
    xr.testing.assert_identical(out[0], out[2])
    assert out[0].lat.values.tolist() == [20.0, 10.0, 0.0, -10.0]
    assert out[0].lon.values.tolist() == [-50.0, 0.0, 100.0, 170.0]
    # values travel with their coordinates: north-west cell is 20N 50W
    assert float(out[1].isel(lat=0, lon=0)) == 100.0 * 20 - 50


def test_0_360_longitudes_are_wrapped_and_rolled() -> None:
    da = _field([-45.0, 45.0], [45.0, 135.0, 225.0, 315.0])
    out = canonicalize(da, name="v", units="1", long_name="v", source="t")
    assert out.lon.values.tolist() == [-135.0, -45.0, 45.0, 135.0]
    assert float(out.sel(lat=45, lon=-135)) == 100.0 * 45 + 225  # was at 225E
    assert out.dims == ("lat", "lon") and str(out.rio.crs) == "EPSG:4326"
    assert out.lat.attrs["units"] == "degrees_north" and out.lon.attrs["units"] == "degrees_east"


def test_netcdf_without_lat_lon_is_a_grid_error(tmp_path: Path) -> None:
    path = tmp_path / "stations.nc"
    xr.Dataset({"cld": (("station", "month"), np.ones((3, 12)))}).to_netcdf(path)
    expected = (
        f"{path}: no latitude/longitude coordinates found; expected one of lat/latitude/y "
        "and lon/longitude/x, found dims ('station', 'month')"
    )
    with pytest.raises(GridError, match="^" + re.escape(expected) + "$"):
        read_cf_netcdf(path)


def test_projected_crs_is_a_crs_error() -> None:
    da = xr.DataArray(
        np.ones((2, 2)), dims=("y", "x"), coords={"y": [1e6, 0.0], "x": [0.0, 1e6]}
    ).rio.write_crs("EPSG:3857")
    with pytest.raises(
        CRSError,
        match=r"^grid\.tif: is in a projected CRS \(EPSG:3857\); geo_ms needs geographic "
        r"lat/lon \(EPSG:4326\)\. Reproject it first, e\.g\. with `gdalwarp -t_srs EPSG:4326`$",
    ):
        canonicalize(da, name="v", units="1", long_name="v", source="t", file="grid.tif")


def test_all_nodata_is_a_grid_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.nc"
    xr.Dataset(
        {"v": (("lat", "lon"), np.full((2, 2), -9, "int16"), {"_FillValue": np.int16(-9)})},
        coords={"lat": [0.5, 1.5], "lon": [0.5, 1.5]},
    ).to_netcdf(path)
    with pytest.raises(GridError, match=r"empty\.nc: every cell is nodata \(NaN\)"):
        read_cf_netcdf(path)


def test_cloud_fraction_where_percent_expected_is_a_unit_error(tmp_path: Path) -> None:
    path = tmp_path / "cld_frac.nc"
    xr.Dataset(
        {
            "cld": (
                ("lat", "lon"),
                [[0.12, 0.5], [0.97, 0.3]],
                {"units": "percent", "standard_name": "cloud_area_fraction"},
            )
        },
        coords={"lat": [0.5, 1.5], "lon": [0.5, 1.5]},
    ).to_netcdf(path)
    with pytest.raises(
        UnitError,
        match=r"cld_frac\.nc: cloud values range 0\.12 to 0\.97, which looks like a 0-1 "
        r"fraction, but '%' \(percent, 0-100\) is expected",
    ):
        read_cf_netcdf(path)


def test_cloud_percent_where_fraction_expected_is_a_unit_error(tmp_path: Path) -> None:
    path = tmp_path / "cf_pct.nc"
    xr.Dataset(
        {"cloud_fraction": (("lat", "lon"), [[12.0, 50.0], [97.0, 30.0]], {"units": "1"})},
        coords={"lat": [0.5, 1.5], "lon": [0.5, 1.5]},
    ).to_netcdf(path)
    with pytest.raises(
        UnitError,
        match=r"cf_pct\.nc: cloud values range 12 to 97, which looks like percent \(0-100\), "
        r"but '1' \(fraction, 0-1\) is expected",
    ):
        read_cf_netcdf(path)
    # check_units on its own, with the percent alias
    with pytest.raises(UnitError, match=r"x: cloud values range 0\.2 to 0\.4, .* '%'"):
        check_units(xr.DataArray([0.2, 0.4]), "percent", "x")
    assert check_units(xr.DataArray([20.0, 40.0]), "percent", "x").values.tolist() == [20, 40]


# ---------------------------------------------------------------- generic CF reader
def test_cf_decoding_scale_fill_and_single_time(tmp_path: Path) -> None:
    path = tmp_path / "uvi.nc"
    codes = np.array([[[1371, 65535], [263, 0]]], dtype="uint16")
    xr.Dataset(
        {
            "uvi": (
                ("time", "lat", "lon"),
                codes,
                {"scale_factor": 0.01, "_FillValue": np.uint16(65535), "units": "1"},
            )
        },
        coords={"time": [np.datetime64("2020-07-01")], "lat": [0.5, 60.5], "lon": [10.5, 20.5]},
    ).to_netcdf(path)
    da = read_cf_netcdf(path, "uvi", name="uv_index", long_name="UV index", source="neo")
    assert da.dims == ("lat", "lon")
    assert da.attrs["period"].startswith("2020-07-01")
    assert float(da.sel(lat=0.5, lon=10.5)) == pytest.approx(13.71, abs=1e-6)
    assert float(da.sel(lat=60.5, lon=20.5)) == 0.0
    assert np.isnan(float(da.sel(lat=0.5, lon=20.5)))
    assert da.attrs == {
        "units": "1",
        "long_name": "UV index",
        "source": "neo",
        "period": da.attrs["period"],
    }


# ---------------------------------------------------------------- CRU TS
@pytest.fixture
def cru_ts_file(tmp_path: Path) -> Path:
    """3 years x 12 months on a 2 x 3 grid; cld = (year-2000) + 2*month + 10*cell."""
    time = [np.datetime64(f"{y}-{m:02d}-16") for y in (2000, 2001, 2002) for m in range(1, 13)]
    years = np.repeat([0.0, 1.0, 2.0], 12)
    months = np.tile(np.arange(1, 13), 3)
    cell = np.arange(6).reshape(2, 3) * 10.0
    cld = (years + 2 * months)[:, None, None] + cell[None]
    path = tmp_path / "cru_ts4.08.2000.2002.cld.dat.nc"
    xr.Dataset(
        {
            "cld": (
                ("time", "lat", "lon"),
                cld.astype("float32"),
                {
                    "units": "percentage",
                    "long_name": "cloud cover",
                    "_FillValue": np.float32(9.96921e36),
                },
            ),
            "stn": (("time", "lat", "lon"), np.ones(cld.shape, "int32")),
        },
        coords={"time": time, "lat": [10.25, 10.75], "lon": [-0.25, 0.25, 0.75]},
    ).to_netcdf(path)
    return path


def test_cru_ts_window_climatology(cru_ts_file: Path) -> None:
    da = read_cru_ts(cru_ts_file, years=(2001, 2002))
    assert da.dims == ("month", "lat", "lon") and da.attrs["units"] == "%"
    assert da.attrs["period"] == "2001-2002"
    # mean of years 1 and 2 = 1.5; cell 0 = 10.25N 0.25W -> in the southern row now
    assert float(da.sel(month=3, lat=10.25, lon=-0.25)) == pytest.approx(1.5 + 6)
    assert float(da.sel(month=12, lat=10.75, lon=0.75)) == pytest.approx(1.5 + 24 + 50)
    assert da.lat.values.tolist() == [10.75, 10.25]


def test_cru_ts_gz_is_refused_and_lazy_time_series(cru_ts_file: Path) -> None:
    gz = cru_ts_file.with_name(cru_ts_file.name + ".gz")
    with open(cru_ts_file, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    # decompression is fetch.unpack's job (tests/test_unpack.py), not the reader's
    with pytest.raises(FormatError, match=r"\.nc\.gz: a gzip file; read_cru_ts reads the "
                                          r"decompressed \.nc$"):
        read_cru_ts(gz, years=(2000, 2002))
    series = read_cru_ts(cru_ts_file, years=(2002, 2002), climatology=False)
    assert isinstance(series.data, dsa.Array)
    assert series.dims == ("time", "lat", "lon") and series.sizes["time"] == 12
    assert float(series.isel(time=0).sel(lat=10.25, lon=-0.25)) == pytest.approx(2.0 + 2)


def test_cru_ts_window_outside_the_file(cru_ts_file: Path) -> None:
    with pytest.raises(
        GridError, match=r"year window 1991-2020 is outside the file's years 2000-2002"
    ):
        read_cru_ts(cru_ts_file, years=(1991, 2020))


def test_cru_ts_window_with_missing_months_is_refused(tmp_path: Path) -> None:
    # January-June 2001 absent: the old reader averaged January over 2000 and 2002 only
    # and gave a wrong climatology without a word; the window must be complete
    time = [np.datetime64(f"{y}-{m:02d}-16") for y in (2000, 2001, 2002) for m in range(1, 13)
            if not (y == 2001 and m <= 6)]
    cld = np.array([30.0 + 5 * (int(str(t)[:4]) - 2000) for t in time], "float32")
    path = tmp_path / "cru_ts4.08.gap.cld.dat.nc"
    xr.Dataset({"cld": (("time", "lat", "lon"), np.broadcast_to(cld[:, None, None], (30, 2, 3)),
                        {"units": "percentage"})},
               coords={"time": time, "lat": [10.25, 10.75], "lon": [-0.25, 0.25, 0.75]}
               ).to_netcdf(path)
    with pytest.raises(GridError, match=r"^cld: year window 2000-2002 lacks calendar month\(s\) "
                                        r"in 1 year\(s\): 2001: \[1, 2, 3, 4, 5, 6\]$"):
        read_cru_ts(path, years=(2000, 2002))
    # the complete part of the file still reads, with the right means (2002: 40)
    assert float(read_cru_ts(path, years=(2002, 2002)).sel(month=1).mean()) == 40.0


# ---------------------------------------------------------------- TEMIS
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def test_temis_original_daily_file_to_monthly_j(tmp_path: Path) -> None:
    """uvd_clear_mean = day/1000 + cell kJ m-2; cell (j, i) = 3*j + i; lat ascending."""
    days = np.arange(1, 366)
    month = np.repeat(np.arange(1, 13), _DAYS).astype("int32")
    cell = (np.arange(2)[:, None] * 3 + np.arange(3)[None, :]).astype(float)
    kj = (days[:, None, None] / 1000.0 + cell[None]).astype("float32")
    kj[:, 0, 1] = -1.0  # no data everywhere in one cell
    kj[:31, 1, 2] = -1.0  # and in January only in another
    path = tmp_path / "uvdvcclim_world.nc"
    xr.Dataset(
        {
            "uvd_clear_mean": (
                ("days", "latitude", "longitude"),
                kj,
                {"units": "kJ/m2", "no_data_value": -1.0},
            ),
            "date_month": ("days", month),
        },
        coords={
            "days": days.astype(float),
            "latitude": [-45.0, 45.0],
            "longitude": [-120.0, 0.0, 120.0],
        },
    ).to_netcdf(path, group="PRODUCT")
    da = read_temis(path)
    assert da.name == "vitd_dose_clear" and da.attrs["units"] == "J m-2"
    assert da.attrs["long_name"] == "clear-sky vitamin-D weighted daily UV dose"
    assert da.dims == ("month", "lat", "lon") and da.month.values.tolist() == list(range(1, 13))
    # January: mean day 16 -> 16 J; 45N 120W is cell (1, 0) = 3 kJ
    assert float(da.sel(month=1, lat=45, lon=-120)) == pytest.approx(3016.0, rel=1e-6)
    # February: days 32..59, mean 45.5; 45S 120W is cell 0
    assert float(da.sel(month=2, lat=-45, lon=-120)) == pytest.approx(45.5, rel=1e-5)
    assert bool(da.sel(lat=-45, lon=0).isnull().all())
    assert np.isnan(float(da.sel(month=1, lat=45, lon=120)))
    assert float(da.sel(month=2, lat=45, lon=120)) == pytest.approx(5045.5, rel=1e-6)


def test_temis_monthly_reencoding(tmp_path: Path) -> None:
    path = tmp_path / "temis_monthly.nc"
    codes = np.full((12, 2, 2), 3 * 2085, dtype="uint16")
    codes[0, 0, 0] = 65535
    xr.Dataset(
        {
            "uvd_vitd_clear": (
                ("month", "lat", "lon"),
                codes,
                {
                    "units": "J m-2",
                    "scale_factor": np.float32(1 / 3),
                    "_FillValue": np.uint16(65535),
                },
            )
        },
        coords={"month": np.arange(1, 13), "lat": [60.125, 59.875], "lon": [-0.125, 0.125]},
    ).to_netcdf(path)
    da = read_temis(path)
    assert float(da.sel(month=2, lat=60.125, lon=-0.125)) == pytest.approx(2085.0, rel=1e-6)
    assert np.isnan(float(da.sel(month=1, lat=60.125, lon=-0.125)))


# ---------------------------------------------------------------- NCEP Gaussian
def _gaussian_lats(n: int) -> np.ndarray:
    nodes, _ = np.polynomial.legendre.leggauss(n)
    return np.sort(np.rad2deg(np.arcsin(nodes)))[::-1]


@pytest.fixture
def ncep_file(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """8 Gaussian latitudes x 16 longitudes (0..337.5), 12 LTM months, tcdc in %.

    tcdc = a(lat) + b(lon) + month.
    """
    lat = _gaussian_lats(8)
    lon = np.arange(16) * 22.5
    a = np.linspace(80.0, 20.0, 8)
    b = np.arange(16) * 0.5
    tcdc = a[None, :, None] + b[None, None, :] + np.arange(1, 13)[:, None, None]
    time = cftime.date2num(
        [cftime.datetime(1, m, 1, calendar="standard") for m in range(1, 13)],
        "hours since 1800-01-01 00:00:0.0",
        calendar="standard",
    )
    path = tmp_path / "tcdc.eatm.mon.ltm.1991-2020.nc"
    xr.Dataset(
        {
            "tcdc": (
                ("time", "lat", "lon"),
                tcdc,  # float64 so sums below are exact
                {"units": "%", "long_name": "Monthly Long Term Mean of total cloud cover"},
            )
        },
        coords={
            "time": (
                "time",
                time,
                {"units": "hours since 1800-01-01 00:00:0.0", "calendar": "standard"},
            ),
            "lat": lat,
            "lon": lon,
        },
    ).to_netcdf(path)
    return path, lat, a, b


def test_ncep_gaussian_regrid_values_and_orientation(ncep_file: tuple) -> None:
    path, lat, a, b = ncep_file
    da = read_ncep_gaussian(path)
    assert da.dims == ("month", "lat", "lon") and da.month.values.tolist() == list(range(1, 13))
    # regular 22.5 deg rows (the longitude spacing) from 78.75N to 78.75S
    assert da.lat.values.tolist() == [78.75, 56.25, 33.75, 11.25, -11.25, -33.75, -56.25, -78.75]
    assert da.lon.values[0] == -180.0 and da.lon.values[-1] == 157.5
    # longitudes unchanged except the wrap: 180E (column 8, b = 4.0) is now -180
    diff = da.sel(month=1, lon=-180) - da.sel(month=1, lon=0)
    np.testing.assert_allclose(diff.values, b[8] - b[0], rtol=0, atol=1e-12)
    # top row by hand: source bands bounded by the midpoints, overlap in sin(lat)
    edges = np.concatenate([[90.0], (lat[:-1] + lat[1:]) / 2, [-90.0]])
    s = np.sin(np.deg2rad(edges))
    top, bot = 1.0, np.sin(np.deg2rad(67.5))
    w = np.clip(np.minimum(top, s[:-1]) - np.maximum(bot, s[1:]), 0, None)
    expected = (w * a).sum() / w.sum() + 0.0 + 1  # lon 0 -> b = 0, month 1
    assert float(da.sel(month=1, lat=78.75, lon=0)) == pytest.approx(expected, abs=1e-12)
    assert float(da.isel(month=0, lat=0, lon=0)) > float(da.isel(month=0, lat=-1, lon=0))


def test_ncep_gaussian_regrid_conserves_area_weighted_global_mean(ncep_file: tuple) -> None:
    path, lat, _a, _b = ncep_file
    src = xr.open_dataset(path, decode_times=False).tcdc.values
    edges = np.concatenate([[90.0], (lat[:-1] + lat[1:]) / 2, [-90.0]])
    src_w = -np.diff(np.sin(np.deg2rad(edges)))
    src_mean = (src.mean(axis=2) * src_w).sum(axis=1) / src_w.sum()
    for step in (None, 1.0, 2.5):
        da = read_ncep_gaussian(path, lat_step=step)
        step_ = 22.5 if step is None else step
        dst_w = np.cos(np.deg2rad(da.lat.values)) * 2 * np.sin(np.deg2rad(step_ / 2))
        dst_mean = (da.mean("lon").values * dst_w).sum(axis=1) / dst_w.sum()
        np.testing.assert_allclose(dst_mean, src_mean, rtol=0, atol=1e-9)
    with pytest.raises(GridError, match=r"lat_step 7 does not divide 180 degrees"):
        read_ncep_gaussian(path, lat_step=7.0)


def test_ncep_missing_cells_are_left_out(ncep_file: tuple, tmp_path: Path) -> None:
    path, lat, _a, _b = ncep_file
    ds = xr.open_dataset(path, decode_times=False).load()
    ds["tcdc"][:, 1, :] = np.nan  # second Gaussian row missing
    holed = tmp_path / "holed.nc"
    ds.to_netcdf(holed)
    da = read_ncep_gaussian(holed)
    assert not bool(da.isnull().any())  # every target band overlaps some valid row
    # target band 67.5..45N: weighted mean of the *valid* overlapping source rows only
    s = np.sin(np.deg2rad(np.concatenate([[90.0], (lat[:-1] + lat[1:]) / 2, [-90.0]])))
    top, bot = np.sin(np.deg2rad(67.5)), np.sin(np.deg2rad(45.0))
    w = np.clip(np.minimum(top, s[:-1]) - np.maximum(bot, s[1:]), 0, None)
    w[1] = 0.0
    v = ds.tcdc.isel(time=0, lon=0).values
    expected = np.nansum(w * v) / w.sum()
    assert float(da.sel(month=1, lat=56.25, lon=0)) == pytest.approx(expected, abs=1e-12)
    # the top target band lies inside the first source row only: NaN there stays NaN
    ds["tcdc"][:, 0, :] = np.nan
    ds.to_netcdf(tmp_path / "holed2.nc")
    da2 = read_ncep_gaussian(tmp_path / "holed2.nc")
    assert bool(da2.sel(lat=78.75).isnull().all())


# ---------------------------------------------------------------- MERRA-2 / gsee
def test_merra2_npz_probability_weighted_mean(tmp_path: Path) -> None:
    lat, lon, month = np.array([-57.0, -54.0]), np.array([-180.0, -177.0, -174.0]), np.arange(1, 13)
    xk = np.zeros((2, 3, 12, 4), "float32") + np.array([100, 200, 300, 400], "float32")
    pk = np.zeros((2, 3, 12, 4), "float32") + np.array([0.1, 0.2, 0.3, 0.4], "float32")
    pk[1, 2] = np.array([1.0, 0, 0, 0])  # all weight on the first bin -> 100
    pk[0, 1] = np.nan  # no PDF (ocean)
    xk[0, 1] = np.nan
    path = tmp_path / "pdfs.npz"
    np.savez(path, xk=xk, pk=pk, lat=lat, lon=lon, month=month)
    da = read_merra2_gsee(path)
    assert da.name == "ghi" and da.attrs["units"] == "W m-2"
    assert da.dims == ("month", "lat", "lon") and da.lat.values.tolist() == [-54.0, -57.0]
    assert float(da.sel(month=5, lat=-57, lon=-180)) == pytest.approx(300.0, rel=1e-6)
    assert float(da.sel(month=5, lat=-54, lon=-174)) == 100.0
    assert bool(da.sel(lat=-57, lon=-177).isnull().all())


# ---------------------------------------------------------------- real mirror files
def test_mirror_cru_netcdf_sahara(mirror: Path) -> None:
    path = mirror / "rasters" / "cru_cl1.0_cld_rad_1961-1990_0.5deg.nc"
    cld = read_cf_netcdf(path, "cld", name="cloud_cover")
    assert cld.attrs["units"] == "%"
    assert _box_mean(cld, 18, 30, 0, 25) == pytest.approx(25.3, abs=0.3)  # SOURCES.md §1
    rad = read_cf_netcdf(path, "rad", name="radiation")
    assert _box_mean(rad, 18, 30, 0, 25) == pytest.approx(254.8, abs=0.5)


def test_mirror_neo_uvi(mirror: Path) -> None:
    uvi = read_cf_netcdf(
        mirror / "rasters" / "neo_aura_uvi_clim_monthly_1deg.nc", "uvi", name="uv_index"
    )
    assert uvi.shape == (12, 180, 360)
    # SOURCES.md §3: zonal annual means 13.71 (equator), 2.63 (60N); tolerance 0.05
    assert _zonal_annual(uvi, 0.0) == pytest.approx(13.71, abs=0.05)
    assert _zonal_annual(uvi, 60.0) == pytest.approx(2.63, abs=0.05)
    oslo = uvi.sel(lat=59.5, lon=10.5)
    assert float(oslo.sel(month=1)) == pytest.approx(0.31, abs=0.005)
    assert float(oslo.sel(month=7)) == pytest.approx(6.02, abs=0.005)


def test_mirror_temis(mirror: Path) -> None:
    da = read_temis(mirror / "rasters" / "temis_uvdvc_clearsky_vitd_dose_clim_monthly_0.25deg.nc")
    assert da.shape == (12, 720, 1440) and da.attrs["units"] == "J m-2"
    # SOURCES.md §5: zonal annual means 11 946 (equator), 2 085 (60N); tolerance 1 %
    assert _zonal_annual(da, 0.0) == pytest.approx(11946, rel=0.01)
    assert _zonal_annual(da, 60.0) == pytest.approx(2085, rel=0.01)


def test_mirror_merra2_package_equals_mirror_netcdf(mirror: Path) -> None:
    from_pkg = read_merra2_gsee()
    from_nc = read_merra2_gsee(
        mirror / "rasters" / "merra2_ghi_monthly_2011-2015_3deg_land_from_gsee.nc"
    )
    np.testing.assert_array_equal(from_pkg.lat.values, from_nc.lat.values)
    np.testing.assert_array_equal(from_pkg.lon.values, from_nc.lon.values)
    np.testing.assert_array_equal(from_pkg.isnull().values, from_nc.isnull().values)
    np.testing.assert_allclose(from_pkg.values, from_nc.values, rtol=1e-6)
    # SOURCES.md §4: Sahara annual mean 269.0 W m-2 (tolerance 0.3)
    assert _box_mean(from_pkg, 18, 30, 0, 25) == pytest.approx(269.0, abs=0.3)
