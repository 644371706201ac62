"""Climatologies: annual / seasonal / monthly means and year windows (geo_ms.exposures.climatology)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geo_ms.errors import GridError
from geo_ms.exposures.climatology import (
    DAYS_PER_MONTH,
    annual_mean,
    month_mean,
    seasonal_mean,
    year_window,
)

DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@pytest.fixture
def grid2x2() -> xr.DataArray:
    """2x2 grid, 12 months; value = month * (cell factor) so every mean is hand-computable.

    Cells: (10N, 0E) = m, (10N, 1E) = 2m, (-10S, 0E) = 10m, (-10S, 1E) = NaN in January.
    """
    m = np.arange(1.0, 13.0)
    data = np.empty((12, 2, 2))
    data[:, 0, 0] = m
    data[:, 0, 1] = 2 * m
    data[:, 1, 0] = 10 * m
    data[:, 1, 1] = m
    data[0, 1, 1] = np.nan
    da = xr.DataArray(
        data,
        dims=("month", "lat", "lon"),
        coords={"month": np.arange(1, 13), "lat": [10.0, -10.0], "lon": [0.0, 1.0]},
        name="cloud_cover",
        attrs={"units": "%", "long_name": "cloud cover", "source": "test"},
    )
    return da.rio.write_crs("EPSG:4326").rio.set_spatial_dims(x_dim="lon", y_dim="lat")


def test_days_per_month_sum_to_mean_year() -> None:
    assert sum(DAYS_PER_MONTH) == pytest.approx(365.25)


def test_annual_mean_is_day_weighted(grid2x2: xr.DataArray) -> None:
    out = annual_mean(grid2x2)
    expected = float((DAYS * np.arange(1, 13)).sum() / 365.25)  # 6.5229
    assert out.dims == ("lat", "lon")
    assert out.sel(lat=10, lon=0).item() == pytest.approx(expected, rel=1e-12)
    assert out.sel(lat=10, lon=0).item() == pytest.approx(6.52293, abs=1e-5)
    assert out.sel(lat=10, lon=1).item() == pytest.approx(2 * expected, rel=1e-12)
    assert out.sel(lat=-10, lon=0).item() == pytest.approx(10 * expected, rel=1e-12)
    assert np.isnan(out.sel(lat=-10, lon=1).item())  # a NaN month makes the cell NaN
    # differs from the plain mean of 1..12 (6.5): the weighting is real
    assert out.sel(lat=10, lon=0).item() != pytest.approx(6.5, abs=1e-3)


def test_annual_mean_keeps_attrs_name_and_crs(grid2x2: xr.DataArray) -> None:
    out = annual_mean(grid2x2)
    assert out.name == "cloud_cover"
    assert out.attrs["units"] == "%"
    assert out.attrs["source"] == "test"
    assert out.attrs["period"] == "annual mean (month-length weighted)"
    assert out.rio.crs.to_epsg() == 4326


def test_annual_mean_of_single_field_is_unchanged(grid2x2: xr.DataArray) -> None:
    field = grid2x2.isel(month=3, drop=True)
    assert annual_mean(field) is field


def test_seasonal_winter_is_hemisphere_aware(grid2x2: xr.DataArray) -> None:
    out = seasonal_mean(grid2x2, "winter")
    djf = (31 * 12 + 31 * 1 + 28.25 * 2) / (31 + 31 + 28.25)  # 5.09141
    jja = (30 * 6 + 31 * 7 + 31 * 8) / (30 + 31 + 31)  # 7.01087
    assert out.dims == ("lat", "lon")
    assert out.sel(lat=10, lon=0).item() == pytest.approx(djf, rel=1e-12)
    assert out.sel(lat=10, lon=0).item() == pytest.approx(5.09141, abs=1e-5)
    assert out.sel(lat=10, lon=1).item() == pytest.approx(2 * djf, rel=1e-12)
    assert out.sel(lat=-10, lon=0).item() == pytest.approx(10 * jja, rel=1e-12)
    # January NaN does not matter in the southern winter (JJA)
    assert out.sel(lat=-10, lon=1).item() == pytest.approx(jja, rel=1e-12)
    assert "DJF" in out.attrs["period"] and "JJA" in out.attrs["period"]
    assert out.attrs["units"] == "%"


def test_seasonal_summer_is_the_reverse(grid2x2: xr.DataArray) -> None:
    out = seasonal_mean(grid2x2, "summer")
    djf = (31 * 12 + 31 * 1 + 28.25 * 2) / 90.25
    jja = 645 / 92
    assert out.sel(lat=10, lon=0).item() == pytest.approx(jja, rel=1e-12)
    assert out.sel(lat=-10, lon=0).item() == pytest.approx(10 * djf, rel=1e-12)
    assert np.isnan(out.sel(lat=-10, lon=1).item())  # southern summer includes the NaN January


def test_seasonal_equator_counts_as_north() -> None:
    da = xr.DataArray(
        np.arange(1.0, 13.0).reshape(12, 1, 1) * np.ones((12, 3, 1)),
        dims=("month", "lat", "lon"),
        coords={"month": np.arange(1, 13), "lat": [0.25, 0.0, -0.25], "lon": [5.0]},
    )
    out = seasonal_mean(da, "winter").values[:, 0]
    assert out[1] == pytest.approx(out[0]) and out[1] != pytest.approx(out[2])


def test_seasonal_annual_equals_annual_mean(grid2x2: xr.DataArray) -> None:
    xr.testing.assert_identical(seasonal_mean(grid2x2, "annual"), annual_mean(grid2x2))


def test_month_mean_single_and_list(grid2x2: xr.DataArray) -> None:
    assert month_mean(grid2x2, 10).sel(lat=10, lon=0).item() == 10.0
    assert month_mean(grid2x2, [10]).sel(lat=10, lon=1).item() == 20.0
    two = month_mean(grid2x2, [3, 4]).sel(lat=10, lon=0).item()
    assert two == pytest.approx((31 * 3 + 30 * 4) / 61, rel=1e-12)
    assert month_mean(grid2x2, 10).attrs["period"] == "month 10"


def test_month_mean_rejects_bad_months(grid2x2: xr.DataArray) -> None:
    with pytest.raises(
        GridError, match=r"^cloud_cover: month_mean\(\) got invalid month\(s\) \[13\]$"
    ):
        month_mean(grid2x2, [1, 13])
    with pytest.raises(GridError, match=r"month\(s\) \[7\] missing from the 'month' coordinate"):
        month_mean(grid2x2.sel(month=[1, 2, 3]), 7)


def test_seasonal_rejects_unknown_season_and_time_series(grid2x2: xr.DataArray) -> None:
    with pytest.raises(GridError, match=r"^cloud_cover: unknown season 'spring'$") as info:
        seasonal_mean(grid2x2, "spring")  # type: ignore[arg-type]
    assert "annual, winter, summer" in info.value.hint
    ts = grid2x2.rename(month="time").assign_coords(
        time=pd.date_range("2000-01-01", periods=12, freq="MS")
    )
    with pytest.raises(GridError, match=r"seasonal_mean\(\) needs a 'month' dimension") as info:
        seasonal_mean(ts, "winter")
    assert "year_window" in info.value.hint
    with pytest.raises(GridError, match=r"annual_mean\(\) needs a 'month' dimension"):
        annual_mean(ts)


# --------------------------------------------------------------------------- year_window


@pytest.fixture
def series() -> xr.DataArray:
    """Monthly series 1990-1999 on a 3x4 grid: value = year + month/100 (+ cell offset)."""
    time = pd.date_range("1990-01-01", periods=120, freq="MS") + pd.Timedelta(days=15)
    year = time.year.to_numpy()
    month = time.month.to_numpy()
    base = (year + month / 100.0)[:, None, None]
    offset = np.arange(12.0).reshape(1, 3, 4)
    return xr.DataArray(
        base + offset,
        dims=("time", "lat", "lon"),
        coords={"time": time, "lat": [1.0, 0.0, -1.0], "lon": [0.0, 1.0, 2.0, 3.0]},
        name="cloud_cover",
        attrs={"units": "%", "source": "cru_ts"},
    )


def test_year_window_selects_the_right_years(series: xr.DataArray) -> None:
    clim = year_window(series, 1993, 1995)
    assert clim.dims == ("month", "lat", "lon")
    assert clim["month"].values.tolist() == list(range(1, 13))
    # mean of 1993, 1994, 1995 = 1994, plus month/100, plus the cell offset
    assert clim.sel(month=1, lat=1.0, lon=0.0).item() == pytest.approx(1994.01, abs=1e-9)
    assert clim.sel(month=12, lat=-1.0, lon=3.0).item() == pytest.approx(1994.12 + 11, abs=1e-9)
    assert clim.attrs == {"units": "%", "source": "cru_ts", "period": "1993-1995"}
    assert clim.name == "cloud_cover"
    one = year_window(series, 1999, 1999)
    assert one.sel(month=6, lat=0.0, lon=1.0).item() == pytest.approx(1999.06 + 5, abs=1e-9)


def test_year_window_dask_equals_numpy(series: xr.DataArray) -> None:
    eager = year_window(series, 1991, 1997)
    lazy = year_window(series.chunk({"time": 24, "lat": 2}), 1991, 1997)
    assert lazy.chunks is not None  # still lazy
    xr.testing.assert_identical(lazy.compute(), eager)


def test_dask_climatology_means_equal_numpy(grid2x2: xr.DataArray) -> None:
    lazy = grid2x2.chunk({"lat": 1})
    for season in ("annual", "winter", "summer"):
        got = seasonal_mean(lazy, season)
        assert got.chunks is not None
        xr.testing.assert_identical(got.compute(), seasonal_mean(grid2x2, season))


def test_year_window_errors(series: xr.DataArray) -> None:
    with pytest.raises(
        GridError,
        match=r"^cloud_cover: year window 1985-1991 not covered, missing year\(s\) "
        r"\[1985, 1986, 1987, 1988, 1989\]$",
    ) as info:
        year_window(series, 1985, 1991)
    assert info.value.hint == "The series spans 1990-1999; choose a window inside it."
    with pytest.raises(GridError, match=r"^cloud_cover: year window start 1995 is after end 1993$"):
        year_window(series, 1995, 1993)
    no_july = series.sel(time=series["time"].dt.month != 7)
    with pytest.raises(GridError, match=r"lacks calendar month\(s\) in 10 year\(s\): "
                       r"1990: \[7\]; 1991: \[7\]; 1992: \[7\]; 1993: \[7\] \(\+6 more year\(s\)\)$"):
        year_window(no_july, 1990, 1999)
    # July missing in 1993 only: still every month "somewhere" in 1990-1999
    gap = series.sel(time=~((series["time"].dt.year == 1993) & (series["time"].dt.month == 7)))
    with pytest.raises(GridError, match=r"^cloud_cover: year window 1990-1999 lacks calendar "
                       r"month\(s\) in 1 year\(s\): 1993: \[7\]$"):
        year_window(gap, 1990, 1999)
    assert year_window(gap, 1994, 1999).sel(month=7, lat=0.0, lon=0.0).item() == pytest.approx(
        1996.5 + 0.07 + 4, abs=1e-9)
    clim = year_window(series, 1990, 1999)
    with pytest.raises(GridError, match=r"year_window\(\) needs a 'time' dimension"):
        year_window(clim, 1990, 1999)
