"""Climatologies of canonical rasters: annual, seasonal and monthly means, year windows.

All functions take canonical DataArrays (``docs/architecture.md``): dims
``(month, lat, lon)`` with ``month`` = 1..12, ``(time, lat, lon)`` for time series
(:func:`year_window` only), or ``(lat, lon)``. Attributes, the name and the CRS
(``spatial_ref`` coordinate written by rioxarray) are kept; reduced fields get an
``attrs["period"]`` saying what they average.

Months are weighted by their mean length in days, :data:`DAYS_PER_MONTH`
(31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31; February counts 28.25 days to
include leap years on average, the year 365.25 days).

Seasons are **hemisphere-aware**: local winter is December-January-February north
of the equator and June-July-August south of it; local summer the reverse. Cells
exactly on the equator (``lat == 0``) count as northern.

>>> import numpy as np, xarray as xr
>>> da = xr.DataArray(
...     np.arange(1.0, 13.0).reshape(12, 1, 1) * np.ones((12, 2, 1)),
...     dims=("month", "lat", "lon"),
...     coords={"month": np.arange(1, 13), "lat": [10.0, -10.0], "lon": [0.0]},
...     attrs={"units": "%"},
... )
>>> seasonal_mean(da, "winter").values.ravel().round(3).tolist()  # north DJF, south JJA
[5.091, 7.011]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import xarray as xr

from geo_ms.errors import GridError
from geo_ms.ingest.readers._canonical import year_window

__all__ = [
    "DAYS_PER_MONTH",
    "SEASONS",
    "annual_mean",
    "month_mean",
    "seasonal_mean",
    "year_window",
]

#: Mean length of each calendar month in days (February 28.25: leap years included).
DAYS_PER_MONTH: tuple[float, ...] = (31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

#: Seasons understood by :func:`seasonal_mean`.
SEASONS: tuple[str, ...] = ("annual", "winter", "summer")

_NORTH_MONTHS = {"winter": (12, 1, 2), "summer": (6, 7, 8)}
_SOUTH_MONTHS = {"winter": (6, 7, 8), "summer": (12, 1, 2)}
_MONTH_NAMES = "JFMAMJJASOND"


def _label(da: xr.DataArray) -> str:
    return str(da.name) if da.name is not None else "raster"


def _require_month_dim(da: xr.DataArray, func: str) -> None:
    if "month" not in da.dims:
        hint = (
            "Reduce a time series to monthly means first with year_window(da, start, end)."
            if "time" in da.dims
            else "Pass a monthly climatology with dims (month, lat, lon), month = 1..12."
        )
        raise GridError(
            f"{_label(da)}: {func}() needs a 'month' dimension, got dims {da.dims}", hint=hint
        )
    months = np.asarray(da["month"].values)
    if months.size == 0 or not np.all(np.isin(months, np.arange(1, 13))):
        raise GridError(
            f"{_label(da)}: 'month' coordinate must hold integers 1..12, got {months.tolist()}",
            hint="Relabel the month axis as 1..12 (January = 1).",
        )
    if len(np.unique(months)) != months.size:
        raise GridError(
            f"{_label(da)}: 'month' coordinate has duplicates: {months.tolist()}",
            hint="Keep one field per calendar month.",
        )


def _weighted_months(da: xr.DataArray, months: tuple[int, ...], period: str) -> xr.DataArray:
    """Day-weighted mean over *months* (all must be present); NaN if any is NaN."""
    present = set(np.asarray(da["month"].values).tolist())
    missing = [m for m in months if m not in present]
    if missing:
        raise GridError(
            f"{_label(da)}: month(s) {missing} missing from the 'month' coordinate",
            hint=f"The field holds months {sorted(present)}; pick among those.",
        )
    sub = da.sel(month=list(months))
    weights = xr.DataArray(
        np.array([DAYS_PER_MONTH[m - 1] for m in months], dtype="float64"),
        dims="month",
        coords={"month": sub["month"].values},
    )
    out = (sub * weights).sum("month", skipna=False) / float(weights.sum())
    out = out.astype(da.dtype) if np.issubdtype(da.dtype, np.floating) else out
    out.attrs = dict(da.attrs)
    out.attrs["period"] = period
    out.name = da.name
    return out


def _months_label(months: tuple[int, ...]) -> str:
    if len(months) == 1:
        return f"month {months[0]}"
    return "".join(_MONTH_NAMES[m - 1] for m in months) + f" (months {list(months)})"


def _cell_latitudes(da: xr.DataArray) -> xr.DataArray:
    """Latitude of each cell centre of a projected ``(…, y, x)`` raster (its CRS)."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    from pyproj import CRS, Transformer

    crs = da.rio.crs or (CRS.from_wkt(da.attrs["crs_wkt"]) if da.attrs.get("crs_wkt") else None)
    if crs is None:
        raise GridError(f"{_label(da)}: a (y, x) raster without CRS has no latitudes",
                        hint="Write its CRS: da.rio.write_crs('EPSG:3035').")
    xx, yy = np.meshgrid(da["x"].values, da["y"].values)
    to_geo = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    _, lat = to_geo.transform(xx, yy)
    return xr.DataArray(np.asarray(lat), dims=("y", "x"),
                        coords={"y": da["y"].values, "x": da["x"].values})


def annual_mean(da: xr.DataArray) -> xr.DataArray:
    """Month-length-weighted annual mean of a 12-month climatology.

    Each month is weighted by :data:`DAYS_PER_MONTH` (February 28.25 days). A cell
    with any NaN month gives NaN. A ``(lat, lon)`` field is returned unchanged.

    Parameters
    ----------
    da
        Canonical ``(month, lat, lon)`` DataArray with all 12 months, or a
        ``(lat, lon)`` field.

    Returns
    -------
    xarray.DataArray
        ``(lat, lon)`` field with the same attrs plus ``attrs["period"]``.

    Raises
    ------
    GridError
        No ``month`` dimension (e.g. a time series) or months other than 1..12.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.ones((12, 1, 1)) * np.arange(12).reshape(12, 1, 1),
    ...                   dims=("month", "lat", "lon"),
    ...                   coords={"month": np.arange(1, 13), "lat": [0.0], "lon": [0.0]})
    >>> round(annual_mean(da).item(), 4)  # sum(days * (m - 1)) / 365.25
    5.5229
    """
    if set(da.dims) in ({"lat", "lon"}, {"y", "x"}):
        return da
    _require_month_dim(da, "annual_mean")
    return _weighted_months(da, tuple(range(1, 13)), "annual mean (month-length weighted)")


def month_mean(da: xr.DataArray, months: int | Iterable[int]) -> xr.DataArray:
    """Month-length-weighted mean over one month or a list of months.

    Parameters
    ----------
    da
        Canonical ``(month, lat, lon)`` DataArray.
    months
        A month number 1..12, or several (e.g. ``[6, 7, 8]``).

    Returns
    -------
    xarray.DataArray
        ``(lat, lon)`` field with ``attrs["period"]`` naming the months.

    Raises
    ------
    GridError
        No ``month`` dimension, an unknown month number or a month absent from *da*.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.arange(1.0, 13.0).reshape(12, 1, 1),
    ...                   dims=("month", "lat", "lon"),
    ...                   coords={"month": np.arange(1, 13), "lat": [0.0], "lon": [0.0]})
    >>> month_mean(da, 10).item()
    10.0
    >>> round(month_mean(da, [1, 2]).item(), 4)  # (31*1 + 28.25*2) / 59.25
    1.4768
    """
    _require_month_dim(da, "month_mean")
    sel = (months,) if isinstance(months, int | np.integer) else tuple(months)
    sel = tuple(int(m) for m in sel)
    bad = [m for m in sel if not 1 <= m <= 12]
    if not sel or bad:
        raise GridError(
            f"{_label(da)}: month_mean() got invalid month(s) {bad or list(sel)}",
            hint="Give months as integers 1..12, e.g. 10 or [6, 7, 8].",
        )
    if len(set(sel)) != len(sel):
        raise GridError(
            f"{_label(da)}: month_mean() got duplicated months {list(sel)}",
            hint="List each month once.",
        )
    return _weighted_months(da, sel, _months_label(sel))


def seasonal_mean(da: xr.DataArray, season: Literal["annual", "winter", "summer"]) -> xr.DataArray:
    """Hemisphere-aware seasonal mean (month-length weighted).

    ``"winter"`` is DJF where ``lat >= 0`` and JJA where ``lat < 0``; ``"summer"``
    the reverse; ``"annual"`` is :func:`annual_mean`. Cells exactly at ``lat == 0``
    are treated as northern.

    Parameters
    ----------
    da
        Canonical ``(month, lat, lon)`` DataArray (12 months). A ``(lat, lon)`` field
        is accepted only for ``season="annual"`` (returned unchanged).
    season
        One of :data:`SEASONS`.

    Returns
    -------
    xarray.DataArray
        ``(lat, lon)`` field with ``attrs["period"]`` describing the season.

    Raises
    ------
    GridError
        Unknown season, no ``month`` dimension, or missing months.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.arange(1.0, 13.0).reshape(12, 1, 1) * np.ones((12, 3, 1)),
    ...                   dims=("month", "lat", "lon"),
    ...                   coords={"month": np.arange(1, 13), "lat": [1.0, 0.0, -1.0],
    ...                           "lon": [0.0]})
    >>> seasonal_mean(da, "summer").values.ravel().round(3).tolist()
    [7.011, 7.011, 5.091]
    """
    if season not in SEASONS:
        raise GridError(
            f"{_label(da)}: unknown season {season!r}",
            hint=f"Use one of {', '.join(SEASONS)}.",
        )
    if season == "annual":
        return annual_mean(da)
    _require_month_dim(da, "seasonal_mean")
    if "lat" in da.dims:
        lat = da["lat"]
    elif "y" in da.dims and "x" in da.dims:
        lat = _cell_latitudes(da)
    else:
        raise GridError(
            f"{_label(da)}: seasonal_mean() needs a 'lat' dimension, got dims {da.dims}",
            hint="Pass a canonical (month, lat, lon) DataArray.",
        )
    north = _weighted_months(da, _NORTH_MONTHS[season], "north")
    south = _weighted_months(da, _SOUTH_MONTHS[season], "south")
    out = xr.where(lat >= 0, north, south, keep_attrs=False)
    out = out.transpose(*north.dims)
    out.attrs = dict(da.attrs)
    out.attrs["period"] = (
        f"local {season} (month-length weighted): "
        f"{_months_label(_NORTH_MONTHS[season])} at lat >= 0, "
        f"{_months_label(_SOUTH_MONTHS[season])} at lat < 0"
    )
    out.name = da.name
    return out


