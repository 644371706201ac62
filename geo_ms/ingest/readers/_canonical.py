"""Shared canonicalisation of raster readers' output (see ``docs/architecture.md``).

Every raster reader ends with :func:`canonicalize`: it finds the latitude and
longitude coordinates under their common names, wraps 0..360 longitudes to
-180..180, sorts latitude descending and longitude ascending (any input order is
accepted, not refused), puts ``lat``/``lon`` last, turns integer data into floats,
writes EPSG:4326 with rioxarray and sets ``units``, ``long_name`` and ``source``.
:func:`check_units` refuses cloud cover given as a 0-1 fraction where percent is
expected, and the reverse.

>>> import numpy as np, xarray as xr
>>> raw = xr.DataArray([[1, 2], [3, 4]], dims=("latitude", "longitude"),
...                    coords={"latitude": [-10.0, 10.0], "longitude": [90.0, 270.0]})
>>> da = canonicalize(raw, name="x", units="1", long_name="demo", source="doc")
>>> da.lat.values.tolist(), da.lon.values.tolist()
([10.0, -10.0], [-90.0, 90.0])
>>> da.values.tolist()
[[4.0, 3.0], [2.0, 1.0]]
>>> str(da.rio.crs)
'EPSG:4326'
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr

from geo_ms.errors import CRSError, GridError, UnitError

__all__ = [
    "LAT_NAMES",
    "LON_NAMES",
    "canonicalize",
    "check_units",
    "is_cloud_variable",
    "is_dask_backed",
    "normalize_units",
    "year_window",
]

#: Coordinate names recognised as latitude / longitude (case-insensitive).
LAT_NAMES: tuple[str, ...] = ("lat", "latitude", "y")
LON_NAMES: tuple[str, ...] = ("lon", "longitude", "x")

# CF encoding attributes that must not survive decoding.
_ENCODING_ATTRS = frozenset(
    {
        "_FillValue",
        "missing_value",
        "scale_factor",
        "add_offset",
        "valid_range",
        "valid_min",
        "valid_max",
        "grid_mapping",
        "coordinates",
        "no_data_value",
        "_Unsigned",
        "MissingValue",
        "ScaleFactor",
        "Offset",
    }
)

# Spellings of the same unit -> the canonical CF/UDUNITS string.
_UNIT_ALIASES: dict[str, str] = {
    "percent": "%",
    "percentage": "%",
    "pct": "%",
    "%": "%",
    "1": "1",
    "": "1",
    "unitless": "1",
    "dimensionless": "1",
    "fraction": "1",
    "fraction (0-1)": "1",
    "0-1": "1",
    "w/m2": "W m-2",
    "w/m^2": "W m-2",
    "w m-2": "W m-2",
    "w m**-2": "W m-2",
    "mw/m2": "mW m-2",
    "mw m-2": "mW m-2",
    "mw/m2/nm": "mW m-2 nm-1",
    "j/m2": "J m-2",
    "j m-2": "J m-2",
    "kj/m2": "kJ m-2",
    "kj m-2": "kJ m-2",
    "degree": "degree",
    "degrees": "degree",
}

_CLOUD_NAMES = frozenset({"cloud_cover", "cloud_fraction", "cloud_area_fraction"})


def normalize_units(units: str | None) -> str | None:
    """Return the canonical spelling of a unit string (``None`` stays ``None``).

    >>> normalize_units("percent"), normalize_units("J/m2"), normalize_units("unitless")
    ('%', 'J m-2', '1')
    >>> normalize_units("K")
    'K'
    """
    if units is None:
        return None
    key = str(units).strip()
    return _UNIT_ALIASES.get(key.lower(), key)


def is_dask_backed(da: xr.DataArray) -> bool:
    """True when *da* holds a lazy dask array.

    >>> import xarray as xr
    >>> is_dask_backed(xr.DataArray([1.0]))
    False
    """
    try:
        import dask.array as dsa
    except ImportError:  # pragma: no cover - dask is a dependency
        return False
    return isinstance(da.data, dsa.Array)


def _label(file: str | os.PathLike[str] | None, da: xr.DataArray) -> str:
    if file is not None:
        return os.fspath(file)
    src = da.encoding.get("source")
    if src:
        return str(src)
    return f"DataArray {da.name!r}" if da.name is not None else "DataArray"


def _find(da: xr.DataArray, names: tuple[str, ...]) -> Hashable | None:
    """The dimension of *da* whose name (case-insensitively) is in *names*."""
    for wanted in names:
        for dim in da.dims:
            if str(dim).lower() == wanted:
                return dim
    # a 1-D coordinate under a known name attached to some dimension
    for wanted in names:
        for cname, coord in da.coords.items():
            if str(cname).lower() == wanted and coord.ndim == 1 and coord.dims[0] in da.dims:
                return cname
    return None


def _projected_epsg(da: xr.DataArray) -> str | None:
    """'EPSG:xxxx' (or the CRS name) when *da* carries a projected CRS, else None."""
    try:
        crs = da.rio.crs
    except Exception:  # noqa: BLE001 - rioxarray raises various errors on odd input
        crs = None
    if crs is None or not crs.is_projected:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_string()


def canonicalize(
    da: xr.DataArray,
    *,
    name: str,
    units: str | None,
    long_name: str | None,
    source: str | None,
    file: str | os.PathLike[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Bring a raster to the canonical geo_ms form.

    Parameters
    ----------
    da
        Raster with latitude and longitude dimensions (names ``lat``/``latitude``/``y``
        and ``lon``/``longitude``/``x``, any case) and optionally ``month`` or ``time``.
    name, units, long_name, source
        Output name and attributes; ``units`` is normalised (``percent`` → ``%``);
        ``None`` keeps the input's attribute.
    file
        The file the raster came from, named in error messages.
    attrs
        Extra attributes to set (e.g. ``period``, ``citation``).

    Returns
    -------
    xarray.DataArray
        Float data, dims ``(..., "lat", "lon")`` with ``lat`` descending and ``lon``
        ascending in [-180, 180), EPSG:4326 written with rioxarray.

    Raises
    ------
    GridError
        No latitude/longitude coordinates, latitudes outside ±90, duplicated cells
        after wrapping longitudes, or no valid value at all (checked unless the data
        are a lazy dask array).
    CRSError
        The raster carries a projected CRS.

    Examples
    --------
    >>> import xarray as xr
    >>> bad = xr.DataArray([1.0, 2.0], dims="station")
    >>> canonicalize(bad, name="x", units="1", long_name="x", source="doc", file="a.nc")
    Traceback (most recent call last):
    ...
    geo_ms.errors.GridError: a.nc: no latitude/longitude coordinates found; expected one of lat/latitude/y and lon/longitude/x, found dims ('station',)
    """
    label = _label(file, da)
    projected = _projected_epsg(da)
    if projected is not None:
        raise CRSError(
            f"{label}: is in a projected CRS ({projected}); geo_ms needs geographic "
            "lat/lon (EPSG:4326). Reproject it first, e.g. with `gdalwarp -t_srs EPSG:4326`",
            hint="Reproject to EPSG:4326: gdalwarp -t_srs EPSG:4326 IN OUT "
            "(or da.rio.reproject('EPSG:4326')).",
        )
    lat_dim = _find(da, LAT_NAMES)
    lon_dim = _find(da, LON_NAMES)
    if lat_dim is None or lon_dim is None:
        raise GridError(
            f"{label}: no latitude/longitude coordinates found; expected one of "
            f"{'/'.join(LAT_NAMES)} and {'/'.join(LON_NAMES)}, found dims {tuple(da.dims)}",
            hint="Rename the coordinates, e.g. da.rename({'rlat': 'lat', 'rlon': 'lon'}), "
            "or read the file with a product-specific reader.",
        )
    # drop old grid-mapping coordinates; the CRS is rewritten below
    drop = [c for c in ("spatial_ref", "crs") if c in da.coords]
    if drop:
        da = da.drop_vars(drop)
    if lat_dim not in da.dims:  # a coordinate on another dim: swap it in
        da = da.swap_dims({da[lat_dim].dims[0]: lat_dim})
    if lon_dim not in da.dims:
        da = da.swap_dims({da[lon_dim].dims[0]: lon_dim})
    rename = {k: v for k, v in ((lat_dim, "lat"), (lon_dim, "lon")) if k != v}
    if rename:
        da = da.rename(rename)
    if "lat" not in da.coords or "lon" not in da.coords:
        raise GridError(
            f"{label}: latitude/longitude dimensions have no coordinate values",
            hint="Attach the cell-centre coordinates, e.g. da.assign_coords(lat=..., lon=...).",
        )

    lat = np.asarray(da["lat"].values, dtype=np.float64)
    lon = np.asarray(da["lon"].values, dtype=np.float64)
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise GridError(
            f"{label}: latitude/longitude coordinates contain NaN",
            hint="Repair the coordinate variables of the file.",
        )
    if lat.min() < -90 or lat.max() > 90:
        raise GridError(
            f"{label}: latitudes range {lat.min():g}..{lat.max():g}, outside -90..90; "
            "the raster is probably projected",
            hint="Reproject it to EPSG:4326 first, e.g. with `gdalwarp -t_srs EPSG:4326`.",
        )
    if lon.max() >= 180 or lon.min() < -180:
        lon = ((lon + 180.0) % 360.0) - 180.0
    if len(np.unique(lon)) != lon.size or len(np.unique(lat)) != lat.size:
        raise GridError(
            f"{label}: duplicated latitude or longitude cells (after wrapping longitudes "
            "to -180..180)",
            hint="Drop the repeated column (e.g. a 360° copy of 0°) before reading.",
        )
    da = da.assign_coords(lat=("lat", lat), lon=("lon", lon))
    da = da.sortby("lon").sortby("lat", ascending=False)
    da = da.transpose(..., "lat", "lon")

    if not np.issubdtype(da.dtype, np.floating):
        da = da.astype(np.float32 if da.dtype.itemsize <= 2 else np.float64)

    if not is_dask_backed(da) and not bool(np.isfinite(da.values).any()):
        raise GridError(
            f"{label}: every cell is nodata (NaN); nothing to use",
            hint="Check the file is the right product and not empty, and its nodata value.",
        )

    new_attrs = {k: v for k, v in da.attrs.items() if k not in _ENCODING_ATTRS}
    if units is not None:
        new_attrs["units"] = units
    new_attrs["units"] = normalize_units(new_attrs.get("units", "1"))
    if long_name is not None:
        new_attrs["long_name"] = long_name
    new_attrs.setdefault("long_name", name)
    if source is not None:
        new_attrs["source"] = source
    new_attrs.setdefault("source", label)
    if attrs:
        new_attrs.update(attrs)
    da.attrs = new_attrs
    da.encoding = {}
    da.name = name
    da["lat"].attrs = {"units": "degrees_north", "standard_name": "latitude"}
    da["lon"].attrs = {"units": "degrees_east", "standard_name": "longitude"}
    if "month" in da.coords:
        da = da.assign_coords(month=da["month"].astype(np.int64))
    # in place: this function owns ``da`` (rioxarray's default deep-copies the data)
    da.rio.set_spatial_dims(x_dim="lon", y_dim="lat", inplace=True)
    da.rio.write_crs("EPSG:4326", inplace=True)
    return da


def check_units(
    da: xr.DataArray, expected: str, file: str | os.PathLike[str] | None = None
) -> xr.DataArray:
    """Refuse cloud cover in the wrong unit, judged from the values' range.

    Parameters
    ----------
    da
        Cloud cover or cloud fraction values.
    expected
        ``"%"`` (percent, 0-100) or ``"1"`` (fraction, 0-1); aliases like
        ``"percent"`` are accepted.
    file
        Named in the error message.

    Returns
    -------
    xarray.DataArray
        *da* unchanged, so the call can be chained.

    Raises
    ------
    UnitError
        Percent expected but all values lie within 0-1 (a fraction), or a fraction
        expected but values exceed 1 (percent), or values outside 0-100.

    Examples
    --------
    >>> import xarray as xr
    >>> _ = check_units(xr.DataArray([10.0, 80.0]), "%")
    >>> check_units(xr.DataArray([0.1, 0.8]), "%", "x.nc")
    Traceback (most recent call last):
    ...
    geo_ms.errors.UnitError: x.nc: cloud values range 0.1 to 0.8, which looks like a 0-1 fraction, but '%' (percent, 0-100) is expected
    """
    want = normalize_units(expected)
    if want not in {"%", "1"}:
        raise ValueError(f"check_units: expected must be '%' or '1', not {expected!r}")
    label = _label(file, da)
    values = np.asarray(da.values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return da
    lo, hi = float(finite.min()), float(finite.max())
    rng = f"{lo:.4g} to {hi:.4g}"
    if lo < 0 or hi > 100:
        raise UnitError(
            f"{label}: cloud values range {rng}, outside 0-100; not a cloud cover in '{want}'",
            hint="Check the variable and its scale_factor/add_offset.",
        )
    if want == "%" and hi <= 1.0 and hi > 0:
        raise UnitError(
            f"{label}: cloud values range {rng}, which looks like a 0-1 fraction, but "
            "'%' (percent, 0-100) is expected",
            hint="Multiply by 100 and set units='%' (da * 100), or declare units='1'.",
        )
    if want == "1" and hi > 1.0:
        raise UnitError(
            f"{label}: cloud values range {rng}, which looks like percent (0-100), but "
            "'1' (fraction, 0-1) is expected",
            hint="Divide by 100 and set units='1' (da / 100), or declare units='%'.",
        )
    return da


def is_cloud_variable(name: str | None, attrs: Mapping[str, Any]) -> bool:
    """True when a variable holds cloud cover (by name or CF standard_name).

    >>> is_cloud_variable("cloud_cover", {}), is_cloud_variable("uvi", {})
    (True, False)
    """
    return (name in _CLOUD_NAMES) or attrs.get("standard_name") == "cloud_area_fraction"


def year_window(da_time: xr.DataArray, start: int, end: int) -> xr.DataArray:
    """Monthly climatology of a time series over the years *start*..*end* (inclusive).

    Selects the time steps whose calendar year lies in the window and averages
    them per calendar month (plain mean over years), after checking that every
    calendar month of every year of the window is there (a missing month would bias
    that month's mean silently). :func:`geo_ms.ingest.readers.read_cru_ts` and
    :mod:`geo_ms.exposures.climatology` use it. The computation stays lazy
    when *da_time* is dask-backed (``da.chunk(...)``): call ``.compute()`` or
    ``.load()`` on the result.

    Parameters
    ----------
    da_time
        Canonical ``(time, lat, lon)`` DataArray with a datetime-like ``time``.
    start, end
        First and last year of the window, e.g. the childhood years of today's
        patients.

    Returns
    -------
    xarray.DataArray
        ``(month, lat, lon)`` climatology (``month`` = 1..12) with the attrs of
        *da_time* and ``attrs["period"] = "<start>-<end>"``.

    Raises
    ------
    GridError
        No ``time`` dimension, ``start > end``, or the window is not fully covered
        (a year absent, or a calendar month absent in any year of the window).

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2000-01-01", periods=36, freq="MS") + pd.Timedelta(days=14)
    >>> da = xr.DataArray(np.repeat([1.0, 2.0, 3.0], 12).reshape(36, 1, 1),
    ...                   dims=("time", "lat", "lon"),
    ...                   coords={"time": t, "lat": [0.0], "lon": [0.0]})
    >>> clim = year_window(da, 2001, 2002)
    >>> clim.dims, clim.sel(month=5).item()
    (('month', 'lat', 'lon'), 2.5)
    """
    label = str(da_time.name) if da_time.name is not None else "raster"
    if "time" not in da_time.dims:
        raise GridError(
            f"{label}: year_window() needs a 'time' dimension, got dims {da_time.dims}",
            hint="Pass a (time, lat, lon) series such as CRU TS; climatologies need no window.",
        )
    if start > end:
        raise GridError(
            f"{label}: year window start {start} is after end {end}",
            hint="Give start <= end, e.g. year_window(da, 1961, 1990).",
        )
    try:
        years = da_time["time"].dt.year
    except (AttributeError, TypeError) as exc:
        raise GridError(
            f"{label}: 'time' coordinate is not datetime-like",
            hint="Decode times when opening (xr.open_dataset(..., decode_times=True)).",
        ) from exc
    available = sorted(set(np.asarray(years.values).tolist()))
    wanted = list(range(start, end + 1))
    absent = [y for y in wanted if y not in available]
    if absent:
        shown = absent if len(absent) <= 6 else absent[:3] + ["..."] + absent[-2:]
        raise GridError(
            f"{label}: year window {start}-{end} not covered, missing year(s) {shown}",
            hint=f"The series spans {available[0]}-{available[-1]}; choose a window inside it.",
        )
    sub = da_time.sel(time=(years >= start) & (years <= end))
    sub_years = np.asarray(sub["time"].dt.year.values)
    sub_months = np.asarray(sub["time"].dt.month.values)
    gaps = {}  # year -> calendar months absent in that year
    for y in wanted:
        have = set(sub_months[sub_years == y].tolist())
        if have != set(range(1, 13)):
            gaps[y] = sorted(set(range(1, 13)) - have)
    if gaps:
        shown = "; ".join(f"{y}: {m}" for y, m in list(gaps.items())[:4])
        more = f" (+{len(gaps) - 4} more year(s))" if len(gaps) > 4 else ""
        raise GridError(
            f"{label}: year window {start}-{end} lacks calendar month(s) in "
            f"{len(gaps)} year(s): {shown}{more}",
            hint="Use a monthly series with all 12 months in every year of the window.",
        )
    clim = sub.groupby("time.month").mean("time", keep_attrs=True)
    other = [d for d in da_time.dims if d != "time"]
    clim = clim.transpose("month", *other)
    clim = clim.assign_coords(month=clim["month"].astype("int64"))
    clim.attrs = dict(da_time.attrs)
    clim.attrs["period"] = f"{start}-{end}"
    clim.name = da_time.name
    return clim
