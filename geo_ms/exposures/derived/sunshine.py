"""Cloudiness from solar radiation: pvlib clear-sky GHI and the Heliosat cloud index."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from geo_ms.errors import GridError, UnitError
from geo_ms.exposures.derived._grid import _canonical_out, _check_latlon, _label
from geo_ms.ingest.readers._canonical import normalize_units

__all__ = ["clear_sky_ghi", "sunshine_cloudiness"]


#: pvlib's 5' grids: rows from 90 N to 90 S, columns from 180 W to 180 E (cell centres).
_PVLIB_GRID = {"latitude": (90.0, -90.0, 2160), "longitude": (-180.0, 180.0, 4320)}

#: Rows of pvlib's grids read at once (bounds the memory of one read: 512 rows of the
#: 12-month turbidity grid are 27 MB).
_ROWS_PER_READ = 512


def _pvlib_index(degrees: np.ndarray, coordinate: str) -> np.ndarray:
    """Row or column of pvlib's 5' grids for each coordinate, as pvlib computes it.

    The arithmetic of ``pvlib.tools._degrees_to_index`` applied element-wise: the
    index of the nearest cell centre (``numpy.around``, half to even), an index up to
    0.500001 beyond the grid clipped to its edge, one farther out a ValueError.

    >>> _pvlib_index(np.array([90.0, 0.0, -90.0]), "latitude").tolist()
    [0, 1080, 2159]
    >>> _pvlib_index(np.array([-180.0, 0.0, 179.99]), "longitude").tolist()
    [0, 2160, 4319]
    """
    inputmin, inputmax, outputmax = _PVLIB_GRID[coordinate]
    inputrange = inputmax - inputmin
    scale = outputmax / inputrange  # indices per degree
    center = inputmin + 1 / scale / 2  # centre of the first cell
    outputmax -= 1
    index = (np.asarray(degrees, dtype="float64") - center) * scale
    bad = (index - outputmax > 0.500001) | (-index > 0.500001)
    if bad.any():
        raise ValueError(f"Input, {float(np.asarray(degrees)[bad][0]):g}, is out of range "
                         f"({inputmin:g}, {inputmax:g}).")
    return np.where(index > outputmax, outputmax,
                    np.where(index < 0, 0, np.around(index))).astype(np.intp)


def _pvlib_file(name: str) -> str:
    """Path of one of pvlib's data files (``LinkeTurbidities.h5``, ``Altitude.h5``)."""
    import os

    import pvlib

    return os.path.join(os.path.dirname(os.path.abspath(pvlib.__file__)), "data", name)


def _read_cells(filename: str, dataset: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of an HDF5 grid at the cells ``(rows[k], cols[k])`` (leading axes), in few reads.

    The distinct rows are read in blocks of :data:`_ROWS_PER_READ` (one h5py read each,
    over the columns between the first and last needed one), so that each compressed
    chunk of the file is decoded once instead of once per cell.
    """
    import h5py

    out: np.ndarray | None = None
    uniq, inv = np.unique(rows, return_inverse=True)
    c0, c1 = (int(cols.min()), int(cols.max()) + 1) if cols.size else (0, 0)
    with h5py.File(filename, "r") as fh:
        ds = fh[dataset]
        out = np.empty((rows.size, *ds.shape[2:]), dtype=ds.dtype)
        for start in range(0, uniq.size, _ROWS_PER_READ):
            block = uniq[start:start + _ROWS_PER_READ]
            vals = ds[block.tolist(), c0:c1]  # (block rows, columns, ...)
            sel = (inv >= start) & (inv < start + block.size)
            out[sel] = vals[inv[sel] - start, cols[sel] - c0]
    return out


def _lookup_grid(
    lat: np.ndarray, lon: np.ndarray, cells: np.ndarray | None = None, *, altitude: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Linke turbidity (12, lat, lon) and altitude (lat, lon) at the cells (NaN elsewhere).

    The values that ``pvlib.clearsky.lookup_linke_turbidity(..., interp_turbidity=False)``
    (any day of each month) and ``pvlib.location.lookup_altitude`` give at each cell
    centre — the same 5' cell, the same scaling (turbidity: the stored value / 20;
    altitude: ``28 v - 450`` m, 0 where the file has no data) — read from pvlib's HDF5
    files in a few reads for all cells instead of two per cell. The altitude is None
    when *altitude* is false.

    >>> lt, alt = _lookup_grid(np.array([0.0]), np.array([0.0]))
    >>> lt.shape, alt.shape
    ((12, 1, 1), (1, 1))
    """
    lt = np.full((12, lat.size, lon.size), np.nan)
    alt = np.full((lat.size, lon.size), np.nan) if altitude else None
    want = np.ones((lat.size, lon.size), bool) if cells is None else np.asarray(cells, bool)
    i, j = np.nonzero(want)
    if i.size == 0:
        return lt, alt
    rows = _pvlib_index(lat, "latitude")[i]
    cols = _pvlib_index(lon, "longitude")[j]
    raw_lt = _read_cells(_pvlib_file("LinkeTurbidities.h5"), "LinkeTurbidity", rows, cols)
    lt[:, i, j] = (raw_lt / 20.0).T
    if alt is not None:
        raw_alt = _read_cells(_pvlib_file("Altitude.h5"), "Altitude", rows, cols)
        raw_alt = raw_alt.astype("float64")
        alt[i, j] = np.where(raw_alt == 255, 0.0, raw_alt * 28 - 450)
    return lt, alt


@functools.lru_cache(maxsize=1)
def _has_linke_file() -> bool:
    """Whether pvlib can look up Linke turbidity (its data file is installed)."""
    try:
        _read_cells(_pvlib_file("LinkeTurbidities.h5"), "LinkeTurbidity",
                    np.array([1080]), np.array([2160]))
    except OSError:
        return False
    return True


_MONTH_START_DOY = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30])


def clear_sky_ghi(
    lat: Iterable[float],
    lon: Iterable[float],
    months: Iterable[int] = range(1, 13),
    *,
    model: Literal["auto", "ineichen", "haurwitz"] = "auto",
    days: Sequence[int] = (5, 15, 25),
    step_minutes: float = 30.0,
    altitude: float | Literal["lookup"] = "lookup",
    cells: np.ndarray | None = None,
) -> xr.DataArray:
    """Monthly mean of the daily-mean clear-sky GHI on a lat/lon grid (pvlib).

    For each month, the clear-sky GHI is averaged over 24 h of local solar time
    at *step_minutes* steps (mid-interval samples) on the given *days* of the
    month (non-leap year), then over those days.

    * Solar geometry: declination of Spencer (1971) and the analytical zenith
      (``pvlib.solarposition.declination_spencer71`` / ``solar_zenith_analytical``)
      in local solar time — longitude and the equation of time only shift the
      day, which a 24-h mean does not see; refraction is neglected.
    * ``model="ineichen"`` (the default when pvlib ships ``LinkeTurbidities.h5``,
      which it does): Ineichen & Perez (2002), "A new airmass independent
      formulation for the Linke turbidity coefficient", *Solar Energy* 73:151-157,
      via ``pvlib.clearsky.ineichen``, with the
      monthly Linke turbidity climatology of that file (Remund et al. 2003; the
      same values as ``pvlib.clearsky.lookup_linke_turbidity(...,
      interp_turbidity=False)``), Kasten & Young (1989) air mass and extraterrestrial
      irradiance of Spencer (1971) (``pvlib.irradiance.get_extra_radiation``).
      The turbidity is pvlib's value at each cell centre (the 5' cell that
      ``pvlib.clearsky.lookup_linke_turbidity`` reads), read from pvlib's file once for
      all cells (pass *cells* to skip cells that are not needed). *altitude* ``"lookup"``
      uses the value of ``pvlib.location.lookup_altitude`` at each cell centre (read the
      same way); a number is used everywhere.
    * ``model="haurwitz"`` (fallback without the turbidity file): Haurwitz (1945),
      ``GHI = 1098 cos z exp(-0.059 / cos z)`` (``pvlib.clearsky.haurwitz``).

    Parameters
    ----------
    lat, lon
        1-D cell-centre coordinates (degrees north / east) of the output grid.
    months
        Calendar months 1..12.
    model
        ``"auto"``, ``"ineichen"`` or ``"haurwitz"``.
    days
        Days of the month sampled (default 5, 15, 25).
    step_minutes
        Sampling step within the day (default 30 min; must divide 1440).
    altitude
        ``"lookup"`` or a fixed altitude in metres (Ineichen only).
    cells
        Optional boolean ``(lat, lon)`` mask of the cells to compute; the others are
        NaN (e.g. ocean cells of a land-only all-sky field).

    Returns
    -------
    xarray.DataArray
        ``ghi_clear`` (month, lat, lon) in W m-2, CRS EPSG:4326.

    Raises
    ------
    GridError
        Latitudes outside [-90, 90], bad months/days, a step not dividing a day,
        or a *cells* mask of the wrong shape.

    Examples
    --------
    >>> g = clear_sky_ghi([0.0], [0.0], [3], model="haurwitz", days=(15,))
    >>> round(g.item(), 1)
    319.5
    """
    lat_a = np.atleast_1d(np.asarray(list(lat), dtype="float64"))
    lon_a = np.atleast_1d(np.asarray(list(lon), dtype="float64"))
    month_l = [int(m) for m in months]
    if lat_a.size == 0 or lon_a.size == 0 or np.any(np.abs(lat_a) > 90):
        raise GridError(
            "clear_sky_ghi: latitudes must be non-empty and within [-90, 90]",
            hint="Pass cell-centre coordinates in degrees, e.g. da['lat'].values.",
        )
    lon_a = ((lon_a + 180.0) % 360.0) - 180.0
    if not month_l or any(not 1 <= m <= 12 for m in month_l):
        raise GridError(
            f"clear_sky_ghi: months must be integers 1..12, got {month_l}",
            hint="Use e.g. range(1, 13).",
        )
    if not days or any(not 1 <= int(d) <= 28 for d in days):
        raise GridError(
            f"clear_sky_ghi: days must be day numbers 1..28, got {list(days)}",
            hint="Use e.g. days=(5, 15, 25).",
        )
    n_steps = 1440.0 / step_minutes
    if step_minutes <= 0 or abs(n_steps - round(n_steps)) > 1e-9:
        raise GridError(
            f"clear_sky_ghi: step_minutes={step_minutes} does not divide a day",
            hint="Use a divisor of 1440, e.g. 30 or 15.",
        )
    if cells is not None:
        cells = np.asarray(cells, dtype=bool)
        if cells.shape != (lat_a.size, lon_a.size):
            raise GridError(
                f"clear_sky_ghi: cells mask has shape {cells.shape}, the grid is "
                f"{(lat_a.size, lon_a.size)}",
                hint="Pass a boolean (lat, lon) mask on the output grid.",
            )
    if model == "auto":
        model = "ineichen" if _has_linke_file() else "haurwitz"
    if model not in ("ineichen", "haurwitz"):
        raise GridError(
            f"clear_sky_ghi: unknown model {model!r}",
            hint="Use 'auto', 'ineichen' or 'haurwitz'.",
        )

    import pvlib

    n_steps = round(n_steps)
    hours = (np.arange(n_steps) + 0.5) * 24.0 / n_steps
    hour_angle = np.deg2rad(15.0 * (hours - 12.0))  # (step,)
    lat_r = np.deg2rad(lat_a)

    if model == "ineichen":
        lt_12, alt_found = _lookup_grid(lat_a, lon_a, cells, altitude=altitude == "lookup")
        lt_all = lt_12[[m - 1 for m in month_l]]  # (month, lat, lon)
        alt = (
            alt_found
            if alt_found is not None
            else np.full((lat_a.size, lon_a.size), float(altitude))
        )
        pressure = pvlib.atmosphere.alt2pres(alt)

    out = np.zeros((len(month_l), lat_a.size, lon_a.size))
    for i, m in enumerate(month_l):
        for d in days:
            doy = float(_MONTH_START_DOY[m - 1] + int(d))
            decl = float(pvlib.solarposition.declination_spencer71(doy))
            zen = np.rad2deg(
                pvlib.solarposition.solar_zenith_analytical(
                    lat_r[:, None], hour_angle[None, :], decl
                )
            )  # (lat, step)
            dni_extra = float(pvlib.irradiance.get_extra_radiation(doy))
            for k in range(n_steps):
                z = zen[:, k]
                if np.all(z >= 90.0):
                    continue
                if model == "haurwitz":
                    cz = np.cos(np.deg2rad(z))
                    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                        g = np.where(cz > 0, 1098.0 * cz * np.exp(-0.059 / cz), 0.0)
                    out[i] += g[:, None]
                    continue
                zz = np.broadcast_to(z[:, None], alt.shape)
                am_rel = pvlib.atmosphere.get_relative_airmass(zz, model="kastenyoung1989")
                am_abs = pvlib.atmosphere.get_absolute_airmass(am_rel, pressure)
                with np.errstate(divide="ignore", invalid="ignore"):  # night cells -> 0
                    cs = pvlib.clearsky.ineichen(zz, am_abs, lt_all[i], alt, dni_extra)
                out[i] += np.nan_to_num(np.asarray(cs["ghi"], dtype="float64"), nan=0.0)
        out[i] /= len(days) * n_steps
    if cells is not None:
        out[:, ~cells] = np.nan
    da = xr.DataArray(
        out,
        dims=("month", "lat", "lon"),
        coords={
            "month": np.asarray(month_l, dtype="int64"),
            "lat": ("lat", lat_a, {"units": "degrees_north"}),
            "lon": ("lon", lon_a, {"units": "degrees_east"}),
        },
    )
    attrs = {
        "units": "W m-2",
        "long_name": "clear-sky global horizontal irradiance, monthly mean of daily means",
        "source": "pvlib",
        "method": (
            f"pvlib {model}"
            + (
                " (LinkeTurbidities.h5 monthly, altitude " + str(altitude) + ")"
                if model == "ineichen"
                else ""
            )
            + f"; days {list(days)} of each month, {step_minutes:g}-min steps"
        ),
    }
    return _canonical_out(da, "ghi_clear", attrs)


def sunshine_cloudiness(
    ghi_allsky: xr.DataArray,
    ghi_clear: xr.DataArray | None = None,
    **clear_sky_kwargs: Any,
) -> xr.DataArray:
    """Cloudiness from solar radiation: ``1 - GHI_all-sky / GHI_clear-sky``, clipped to [0, 1].

    This is the Heliosat cloud index *n* from the clear-sky index ``k* = 1 - n``
    (Beyer, Costanzo & Heinemann 1996, "Modifications of the Heliosat procedure
    for irradiance estimates from satellite images", *Solar Energy* 56(3):207-212;
    volume and pages not checked offline) — an effective radiative cloudiness, not a
    cloud-cover fraction (overcast skies still pass ~25-40 % of GHI, so *n*
    rarely exceeds ~0.7). The all-sky field is typically MERRA-2 monthly mean
    GHI (``merra2_ghi_monthly_2011-2015_3deg_land_from_gsee.nc``, variable ``ghi``).

    Parameters
    ----------
    ghi_allsky
        Monthly (or single) all-sky GHI, W m-2, with lat/lon (and ``month``) dims.
    ghi_clear
        Clear-sky GHI on the same grid; computed with :func:`clear_sky_ghi` on
        *ghi_allsky*'s grid and months when omitted.
    **clear_sky_kwargs
        Passed to :func:`clear_sky_ghi` (e.g. ``model``, ``days``).

    Returns
    -------
    xarray.DataArray
        ``cloudiness_sunshine``, units ``1``, NaN where the all-sky GHI is NaN or
        the clear-sky GHI is not positive (polar night).

    Raises
    ------
    UnitError
        GHI not in W m-2.
    GridError
        No lat/lon, or clear-sky and all-sky grids differ.

    Examples
    --------
    >>> import xarray as xr
    >>> allsky = xr.DataArray([[[150.0, 300.0]]], dims=("month", "lat", "lon"),
    ...     coords={"month": [1], "lat": [0.0], "lon": [0.0, 1.0]}, attrs={"units": "W m-2"})
    >>> clear = xr.DataArray([[[300.0, 250.0]]], dims=("month", "lat", "lon"),
    ...     coords={"month": [1], "lat": [0.0], "lon": [0.0, 1.0]}, attrs={"units": "W m-2"})
    >>> sunshine_cloudiness(allsky, clear).values.ravel().tolist()
    [0.5, 0.0]
    """
    _check_latlon(ghi_allsky, _label(ghi_allsky, "ghi_allsky"))
    for fld, lab in ((ghi_allsky, "ghi_allsky"), (ghi_clear, "ghi_clear")):
        if fld is None:
            continue
        units = fld.attrs.get("units")
        if units is not None and normalize_units(units) != "W m-2":
            raise UnitError(
                f"{_label(fld, lab)}: GHI must be in W m-2, got units {units!r}",
                hint="Convert to W m-2 (e.g. kWh m-2 day-1 x 1000 / 24) and set attrs['units'].",
            )
    if ghi_clear is None:
        months = ghi_allsky["month"].values.tolist() if "month" in ghi_allsky.dims else None
        finite = np.isfinite(ghi_allsky.transpose(..., "lat", "lon").values)
        clear_sky_kwargs.setdefault(
            "cells", finite.reshape(-1, *finite.shape[-2:]).any(axis=0)
        )
        ghi_clear = clear_sky_ghi(
            ghi_allsky["lat"].values,
            ghi_allsky["lon"].values,
            months if months is not None else range(1, 13),
            **clear_sky_kwargs,
        )
        if months is None:
            from geo_ms.exposures.climatology import annual_mean

            ghi_clear = annual_mean(ghi_clear)
    else:
        _check_latlon(ghi_clear, _label(ghi_clear, "ghi_clear"))
    for axis in ("lat", "lon"):
        a_, c_ = ghi_allsky[axis].values, ghi_clear[axis].values
        if a_.shape != c_.shape or not np.allclose(a_, c_, atol=1e-6):
            raise GridError(
                f"sunshine_cloudiness: '{axis}' of the all-sky and clear-sky GHI differ",
                hint="Compute the clear-sky GHI on the all-sky grid (omit ghi_clear).",
            )
    ghi_clear = ghi_clear.assign_coords(lat=ghi_allsky["lat"], lon=ghi_allsky["lon"])
    if "month" in ghi_allsky.dims:
        ghi_clear = ghi_clear.sel(month=ghi_allsky["month"].values)
    ratio = ghi_allsky.astype("float64") / ghi_clear.where(ghi_clear > 0)
    n = (1.0 - ratio).clip(0.0, 1.0).where(np.isfinite(ratio))
    n = n.transpose(*ghi_allsky.dims)
    attrs = {
        "units": "1",
        "long_name": "cloudiness from solar radiation (1 - all-sky / clear-sky GHI)",
        "source": ghi_allsky.attrs.get("source", "derived"),
        "method": "Heliosat cloud index n = 1 - k* (Beyer et al. 1996); clear sky: "
        + str(ghi_clear.attrs.get("method", "given")),
    }
    if "period" in ghi_allsky.attrs:
        attrs["period"] = ghi_allsky.attrs["period"]
    return _canonical_out(n, "cloudiness_sunshine", attrs)
