"""Cloudiness from sunshine (geo_ms.exposures.derived.sunshine): pvlib clear-sky GHI, Heliosat index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest
import xarray as xr
from mirror_boxes import CRU_FILE, MERRA_FILE
from mirror_boxes import box_mean as _box_mean

from geo_ms.errors import GridError, UnitError
from geo_ms.exposures.climatology import annual_mean
from geo_ms.exposures.derived import (
    clear_sky_ghi,
    sunshine_cloudiness,
)

# pvlib's own lookups (used here as the reference) call a deprecated pandas attribute
pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofyear is deprecated")




# --------------------------------------------------------------------------- clear-sky GHI


def test_linke_turbidity_and_altitude_equal_pvlibs_hdf5_grids() -> None:
    """The public pvlib lookups give exactly the 5' cells of pvlib's HDF5 files."""
    import os

    import h5py

    from geo_ms.exposures.derived.sunshine import _lookup_grid

    lats = np.array([51.5, 28.0, -33.9])
    lons = np.array([-0.1, 0.0, 18.4, 86.9])
    lt12, alt = _lookup_grid(lats, lons)
    lt = lt12[[2, 6]]
    data = os.path.join(os.path.dirname(pvlib.__file__), "data")
    rows = np.round((90 - 1 / 24 - lats) * 12).astype(int)  # 5' cells, row 0 at 90 N
    cols = np.round((lons - (-180 + 1 / 24)) * 12).astype(int)
    with h5py.File(os.path.join(data, "LinkeTurbidities.h5"), "r") as fh:
        ref_lt = np.stack([[fh["LinkeTurbidity"][r, c, :] / 20.0 for c in cols] for r in rows])
    with h5py.File(os.path.join(data, "Altitude.h5"), "r") as fh:
        raw = np.array([[fh["Altitude"][r, c] for c in cols] for r in rows], dtype=float)
    ref_alt = np.where(raw == 255, 0.0, raw * 28.0 - 450.0)
    np.testing.assert_array_equal(lt, np.moveaxis(ref_lt[:, :, [2, 6]], -1, 0))
    np.testing.assert_array_equal(alt, ref_alt)
    assert alt[1, 3] > 4000 and 1.5 < lt.min() < lt.max() < 8  # Himalaya; plausible T_L


def test_grid_lookup_equals_pvlibs_point_lookups() -> None:
    """One read of pvlib's files gives what pvlib's public lookups give cell by cell.

    Points include the poles, the antimeridian (-180 and just below +180), exact
    half-cell positions (rounded half to even by pvlib) and a cell without altitude
    data (255 in Altitude.h5, 0 m for pvlib); the cells mask leaves the others NaN.
    """
    from geo_ms.exposures.derived.sunshine import _lookup_grid

    lats = np.array([90.0, 89.99, 51.5, 28.0, 0.0, -1 / 24, -33.9, -90.0])
    lons = np.array([-180.0, -0.1, 0.0, 1 / 24, 86.9, 179.99])
    cells = np.ones((lats.size, lons.size), bool)
    cells[2, 3] = False
    lt, alt = _lookup_grid(lats, lons, cells)
    times = pd.DatetimeIndex([f"2021-{m:02d}-15 12:00" for m in range(1, 13)], tz="UTC")
    for i, la in enumerate(lats):
        for j, lo in enumerate(lons):
            if not cells[i, j]:
                assert np.isnan(lt[:, i, j]).all() and np.isnan(alt[i, j])
                continue
            ref = pvlib.clearsky.lookup_linke_turbidity(times, la, lo, interp_turbidity=False)
            np.testing.assert_array_equal(lt[:, i, j], ref.to_numpy(), err_msg=f"{la}, {lo}")
            assert alt[i, j] == pvlib.location.lookup_altitude(la, lo), (la, lo)
    assert alt[0, 0] == 0.0  # the North Pole cell has no altitude data in pvlib's file
    _, none = _lookup_grid(lats, lons, altitude=False)
    assert none is None


def test_clear_sky_ghi_cells_mask_computes_only_the_chosen_cells() -> None:
    full = clear_sky_ghi([45.0, -10.0], [0.0, 100.0], [1, 7], days=(15,))
    cells = np.array([[True, False], [False, True]])
    part = clear_sky_ghi([45.0, -10.0], [0.0, 100.0], [1, 7], days=(15,), cells=cells)
    np.testing.assert_array_equal(part.values[:, cells], full.values[:, cells])
    assert np.isnan(part.values[:, ~cells]).all()
    with pytest.raises(GridError, match=r"cells mask has shape \(2,\), the grid is \(2, 2\)"):
        clear_sky_ghi([45.0, -10.0], [0.0, 100.0], cells=np.array([True, False]))


def _direct_pvlib_daily_mean(lat: float, lon: float, dates: list[str], model: str) -> float:
    """Daily-mean clear-sky GHI straight from pvlib (SPA solar position, UTC 30-min steps)."""
    vals = []
    for day in dates:
        times = pd.date_range(f"{day} 00:15", periods=48, freq="30min", tz="UTC")
        if model == "ineichen":
            loc = pvlib.location.Location(
                lat, lon, altitude=pvlib.location.lookup_altitude(lat, lon)
            )
            lt = pvlib.clearsky.lookup_linke_turbidity(times, lat, lon, interp_turbidity=False)
            cs = loc.get_clearsky(times, model="ineichen", linke_turbidity=lt)
        else:
            loc = pvlib.location.Location(lat, lon)
            cs = loc.get_clearsky(times, model="haurwitz")
        vals.append(float(cs["ghi"].mean()))
    return float(np.mean(vals))


@pytest.mark.parametrize("model", ["ineichen", "haurwitz"])
def test_clear_sky_ghi_equator_march_matches_direct_pvlib(model: str) -> None:
    got = clear_sky_ghi([0.0], [0.0], [3], model=model)
    direct = _direct_pvlib_daily_mean(0.0, 0.0, ["2021-03-05", "2021-03-15", "2021-03-25"], model)
    # Ineichen: got 304.6 vs direct 304.9; Haurwitz: about 319 W m-2
    assert got.item() == pytest.approx(direct, rel=0.01)
    assert 290.0 < got.item() < 330.0
    assert got.name == "ghi_clear" and got.attrs["units"] == "W m-2"
    assert got.dims == ("month", "lat", "lon")


def test_clear_sky_ghi_grid_seasons_and_polar_night() -> None:
    g = clear_sky_ghi([80.0, 45.0, -45.0], [0.0, 100.0], [6, 12], altitude=0.0)
    assert g.sel(month=12, lat=80.0).values.tolist() == [0.0, 0.0]  # polar night
    assert (
        g.sel(month=6, lat=45.0, lon=0.0).item() > 2.5 * g.sel(month=12, lat=45.0, lon=0.0).item()
    )
    assert g.sel(month=12, lat=-45.0, lon=0.0).item() > g.sel(month=6, lat=-45.0, lon=0.0).item()
    # one Ineichen column vs a direct pvlib call at sea level (altitude=0 here)
    times = pd.date_range("2021-06-15 00:15", periods=48, freq="30min", tz="UTC")
    lt = pvlib.clearsky.lookup_linke_turbidity(times, 45.0, 100.0, interp_turbidity=False)
    one = clear_sky_ghi([45.0], [100.0], [6], days=(15,), altitude=0.0).item()
    direct = (
        pvlib.location.Location(45.0, 100.0, altitude=0.0)
        .get_clearsky(times, model="ineichen", linke_turbidity=lt)["ghi"]
        .mean()
    )
    assert one == pytest.approx(direct, rel=0.01)


def test_clear_sky_ghi_errors() -> None:
    with pytest.raises(
        GridError, match=r"^clear_sky_ghi: months must be integers 1\.\.12, got \[0\]$"
    ):
        clear_sky_ghi([0.0], [0.0], [0])
    with pytest.raises(GridError, match=r"^clear_sky_ghi: step_minutes=7 does not divide a day$"):
        clear_sky_ghi([0.0], [0.0], [1], step_minutes=7)
    with pytest.raises(GridError, match=r"latitudes must be non-empty and within \[-90, 90\]$"):
        clear_sky_ghi([95.0], [0.0], [1])


# --------------------------------------------------------------------------- cloudiness


def test_sunshine_cloudiness_hand_values() -> None:
    coords = {"month": [1], "lat": [0.0], "lon": [0.0, 1.0, 2.0, 3.0]}
    allsky = xr.DataArray(
        [[[150.0, 300.0, np.nan, 10.0]]],
        dims=("month", "lat", "lon"),
        coords=coords,
        attrs={"units": "W m-2", "source": "merra2_gsee"},
    )
    clear = xr.DataArray(
        [[[300.0, 250.0, 300.0, 0.0]]],
        dims=("month", "lat", "lon"),
        coords=coords,
        attrs={"units": "W m-2"},
    )
    out = sunshine_cloudiness(allsky, clear)
    assert out.name == "cloudiness_sunshine" and out.attrs["units"] == "1"
    assert out.values[0, 0, :2].tolist() == [0.5, 0.0]  # 1 - 150/300; 1 - 300/250 clipped
    assert np.isnan(out.values[0, 0, 2]) and np.isnan(out.values[0, 0, 3])
    with pytest.raises(UnitError, match=r"^ghi_allsky: GHI must be in W m-2, got units 'kW m-2'$"):
        sunshine_cloudiness(allsky.assign_attrs(units="kW m-2").rename("ghi_allsky"), clear)
    with pytest.raises(GridError, match=r"'lon' of the all-sky and clear-sky GHI differ$"):
        sunshine_cloudiness(allsky, clear.assign_coords(lon=[5.0, 6.0, 7.0, 8.0]))


def test_sunshine_cloudiness_computes_clear_sky_itself() -> None:
    allsky = xr.DataArray(
        [[[100.0]]],
        dims=("month", "lat", "lon"),
        coords={"month": [3], "lat": [0.0], "lon": [0.0]},
        attrs={"units": "W m-2"},
    )
    clear = clear_sky_ghi([0.0], [0.0], [3]).item()
    assert sunshine_cloudiness(allsky).item() == pytest.approx(1 - 100.0 / clear, rel=1e-12)


# --------------------------------------------------------------------------- mirror


@pytest.fixture(scope="module")
def cru(mirror: Path) -> xr.DataArray:
    from geo_ms.ingest.readers import read_cf_netcdf

    return read_cf_netcdf(mirror / "rasters" / CRU_FILE, "cld")



@pytest.fixture(scope="module")
def cloudiness(mirror: Path) -> xr.DataArray:
    from geo_ms.ingest.readers import read_merra2_gsee

    return sunshine_cloudiness(read_merra2_gsee(mirror / "rasters" / MERRA_FILE))



def test_mirror_cloudiness_uk_above_sahara_and_tracks_cru(
    cloudiness: xr.DataArray, cru: xr.DataArray
) -> None:
    ann = annual_mean(cloudiness)
    uk, sahara = _box_mean(ann, "UK+IE"), _box_mean(ann, "Sahara")
    assert uk > sahara + 0.15  # measured 0.27 vs 0.01
    assert 0.0 <= float(ann.min()) and float(ann.max()) <= 1.0
    # CRU annual cloud aggregated onto the 3-deg MERRA-2 cells (centres), independently:
    cru_ann = annual_mean(cru)
    lat3, lon3 = ann["lat"].values, ann["lon"].values
    clat, clon = np.meshgrid(cru_ann["lat"].values, cru_ann["lon"].values, indexing="ij")
    i = np.floor((lat3[0] + 1.5 - clat) / 3.0).astype(int)
    j = np.floor((clon - (lon3[0] - 1.5)) / 3.0).astype(int) % lon3.size
    ok = np.isfinite(cru_ann.values) & (i >= 0) & (i < lat3.size)
    flat = i[ok] * lon3.size + j[ok]
    total = np.bincount(flat, weights=cru_ann.values[ok], minlength=lat3.size * lon3.size)
    count = np.bincount(flat, minlength=lat3.size * lon3.size)
    with np.errstate(invalid="ignore"):
        cru3 = (total / count).reshape(lat3.size, lon3.size)
    both = np.isfinite(cru3) & np.isfinite(ann.values)
    r = np.corrcoef(cru3[both], ann.values[both])[0, 1]
    assert both.sum() > 1900
    assert r > 0.7  # measured r = 0.78 over ~2050 land cells
