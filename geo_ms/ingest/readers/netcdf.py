"""netCDF readers: generic CF netCDF, CRU TS, TEMIS, NCEP/NCAR Gaussian grids, MERRA-2/gsee.

All return the canonical raster of ``docs/architecture.md`` via
:func:`geo_ms.ingest.readers._canonical.canonicalize`.

- :func:`read_cf_netcdf` -- any CF netCDF with lat/lon (CF decoding of
  ``scale_factor``/``add_offset``/``_FillValue``), dims ``month`` or ``time``.
- :func:`read_cru_ts` -- CRU TS 4.x ``cld`` (the unpacked ``.nc``), read lazily with
  dask; the monthly climatology of a year window, or the time series.
- :func:`read_temis` -- TEMIS clear-sky vitamin-D dose: the original daily
  climatology ``uvdvcclim_world.nc`` (averaged to calendar months, kJ → J) or a
  monthly re-encoding.
- :func:`read_ncep_gaussian` -- NCEP/NCAR T62 Gaussian-grid fields, regridded
  *conservatively in latitude* onto a regular grid (see the function).
- :func:`read_merra2_gsee` -- MERRA-2 monthly mean GHI from the ``gsee-climate-data``
  PDFs, or from a netCDF holding ``ghi``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geo_ms.errors import DataSourceError, FormatError, GridError
from geo_ms.ingest.readers._canonical import (
    LAT_NAMES,
    LON_NAMES,
    canonicalize,
    check_units,
    is_cloud_variable,
    is_dask_backed,
    normalize_units,
    year_window,
)

__all__ = [
    "GSEE_NPZ",
    "TEMIS_VARIABLES",
    "read_cf_netcdf",
    "read_cru_ts",
    "read_merra2_gsee",
    "read_ncep_gaussian",
    "read_temis",
    "temis_has_allsky",
]

#: Path of the MERRA-2 PDF file inside the ``gsee-climate-data`` package.
GSEE_NPZ = "data/merra2_rad3x3_2011-2015_pdfs_land_prox.npz"

_SPATIAL = {*LAT_NAMES, *LON_NAMES}
_TIME_DIMS = ("month", "time")


# --------------------------------------------------------------------------- helpers
def _open_dataset(path: Path, **kwargs: Any) -> xr.Dataset:
    """Open a netCDF file, turning low-level failures into FormatError."""
    if not path.exists():
        raise FormatError(
            f"{path}: file not found", hint="Check the path, or fetch the dataset first."
        )
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise FormatError(f"{path}: the file is empty (0 bytes)",
                          hint="The download was cut short; delete it and fetch it again.")
    if not head.startswith((b"CDF", b"\x89HDF")):
        raise FormatError(
            f"{path}: not a netCDF file (starts with {head!r})",
            hint="Check that the right file was downloaded (an error page saved as .nc?); "
            "delete it and fetch it again.",
        )
    kwargs.setdefault("decode_coords", "all")
    try:
        return xr.open_dataset(path, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise FormatError(
            f"{path}: cannot be opened as netCDF ({type(exc).__name__}: {first})",
            hint="The file is damaged or not netCDF; delete it and fetch it again.",
        ) from exc


def _spatial_vars(ds: xr.Dataset) -> list[str]:
    """Data variables with a latitude and a longitude dimension."""
    out = []
    for var in ds.data_vars:
        dims = {str(d).lower() for d in ds[var].dims}
        if dims & set(LAT_NAMES) and dims & set(LON_NAMES):
            out.append(str(var))
    return out


def _pick_variable(ds: xr.Dataset, variable: str | None, path: Path) -> str:
    if variable is not None:
        if variable not in ds.data_vars:
            raise FormatError(
                f"{path}: no variable {variable!r}; it has {', '.join(map(str, ds.data_vars))}",
                hint="Pass one of the listed variable names.",
            )
        return variable
    candidates = _spatial_vars(ds)
    if not candidates:  # let canonicalize explain what is missing
        multi = [str(v) for v in ds.data_vars if ds[v].ndim >= 2]
        if len(multi) == 1:
            return multi[0]
        raise FormatError(
            f"{path}: no gridded variable found among {', '.join(map(str, ds.data_vars))}",
            hint="Pass variable= naming the raster variable.",
        )
    if len(candidates) > 1:
        raise FormatError(
            f"{path}: several gridded variables ({', '.join(candidates)}); which one?",
            hint="Pass variable=, e.g. read_cf_netcdf(path, 'cld').",
        )
    return candidates[0]


def _months_of(time: xr.DataArray) -> np.ndarray | None:
    """Calendar months of a decoded time coordinate, or None if not decodable."""
    try:
        return np.asarray(time.dt.month.values, dtype=np.int64)
    except (AttributeError, TypeError):
        return None


def _tidy_extra_dims(da: xr.DataArray, path: Path) -> tuple[xr.DataArray, dict[str, Any]]:
    """Squeeze size-1 non-spatial dims; refuse other unexpected dims."""
    extra: dict[str, Any] = {}
    lowered = {str(d).lower() for d in da.dims}
    if not (lowered & set(LAT_NAMES) and lowered & set(LON_NAMES)):
        return da, extra  # canonicalize explains the missing coordinates
    for dim in list(da.dims):
        low = str(dim).lower()
        if low in _SPATIAL or dim in _TIME_DIMS:
            continue
        if da.sizes[dim] == 1:
            if dim in da.coords:
                extra[str(dim)] = str(da[dim].values[0])
            da = da.squeeze(dim, drop=True)
        else:
            raise FormatError(
                f"{path}: variable {da.name!r} has an extra dimension {dim!r} "
                f"(size {da.sizes[dim]}); expected only month/time, lat and lon",
                hint=f"Select one level first, e.g. ds[{da.name!r}].isel({dim}=0).",
            )
    if "time" in da.dims and da.sizes["time"] == 1:
        extra["period"] = str(da["time"].values[0]) if "time" in da.coords else "single time"
        da = da.squeeze("time", drop=True)
    return da, extra


def _finish(
    da: xr.DataArray,
    *,
    name: str,
    units: str | None,
    long_name: str | None,
    source: str | None,
    path: Path | str,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    out = canonicalize(
        da, name=name, units=units, long_name=long_name, source=source, file=path, attrs=attrs
    )
    cloud = is_cloud_variable(name, da.attrs) and out.attrs["units"] in {"%", "1"}
    if cloud and not is_dask_backed(out):
        check_units(out, out.attrs["units"], path)
    return out


# --------------------------------------------------------------------------- generic
def read_cf_netcdf(
    path: str | os.PathLike[str],
    variable: str | None = None,
    *,
    name: str | None = None,
    units: str | None = None,
    long_name: str | None = None,
    source: str | None = None,
) -> xr.DataArray:
    """Read one gridded variable of a CF netCDF file into the canonical form.

    Parameters
    ----------
    path
        netCDF file (netCDF3 or netCDF4).
    variable
        Variable to read; may be omitted when the file has one gridded variable.
    name, units, long_name, source
        Override the output name (default: the variable name) and attributes
        (default: the file's ``units``/``long_name``; ``source`` the file name).

    Returns
    -------
    xarray.DataArray
        CF-decoded (``scale_factor``, ``add_offset``, ``_FillValue`` → NaN), dims
        ``(month|time, lat, lon)`` or ``(lat, lon)``; a size-1 time is squeezed and
        recorded in ``attrs["period"]``.

    Raises
    ------
    FormatError
        Unreadable file, unknown variable, or an extra non-singleton dimension.
    GridError
        No latitude/longitude coordinates, or no valid value.
    CRSError
        The variable's grid mapping is a projected CRS.
    UnitError
        A cloud variable (by name or ``standard_name``) whose values contradict its
        units.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, xarray as xr
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.nc"
    >>> xr.Dataset({"cld": (("lat", "lon"), np.array([[10, 20], [30, 40]], "int16"),
    ...                     {"units": "percent", "_FillValue": np.int16(-1)})},
    ...            coords={"lat": [-1.0, 1.0], "lon": [0.0, 1.0]}).to_netcdf(p)
    >>> da = read_cf_netcdf(p)
    >>> da.values.tolist(), da.attrs["units"]
    ([[30.0, 40.0], [10.0, 20.0]], '%')
    """
    path = Path(path)
    with _open_dataset(path) as ds:
        var = _pick_variable(ds, variable, path)
        da = ds[var].load()
    da, extra = _tidy_extra_dims(da, path)
    file_units = da.attrs.get("units")
    return _finish(
        da,
        name=name or var,
        units=units if units is not None else file_units,
        long_name=long_name,
        source=source or path.name,
        path=path,
        attrs=extra,
    )


# --------------------------------------------------------------------------- CRU TS
def read_cru_ts(
    path: str | os.PathLike[str],
    years: tuple[int, int] = (1991, 2020),
    *,
    climatology: bool = True,
    variable: str = "cld",
    name: str = "cloud_cover",
    units: str | None = "%",
    long_name: str | None = None,
    source: str = "cru_ts_4_08_cld",
    chunks: int = 120,
) -> xr.DataArray:
    """Read CRU TS (e.g. 4.08 ``cld``) lazily, for a window of years.

    Parameters
    ----------
    path
        ``cru_ts4.08.1901.2023.cld.dat.nc`` (the download's ``.nc.gz`` is unpacked
        by :func:`geo_ms.ingest.fetch.unpack`; a ``.gz`` given here is refused).
    years
        First and last year of the window, inclusive.
    climatology
        True: return the monthly climatology of the window (dims ``month``,
        computed). False: return the time series of the window (dims ``time``,
        still a lazy dask array).
    variable, name, units, long_name, source
        Variable in the file and output name/attributes.
    chunks
        Time steps per dask chunk.

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    GridError
        The window is not fully inside the file's years.
    UnitError
        Cloud cover whose values contradict ``units`` (climatology only).
    """
    path = Path(path)
    start, end = int(years[0]), int(years[1])
    if start > end:
        raise GridError(
            f"{path}: year window {start}-{end} is empty (start after end)",
            hint="Pass years=(first, last) with first <= last.",
        )
    if path.suffix.lower() == ".gz":
        raise FormatError(
            f"{path}: a gzip file; read_cru_ts reads the decompressed .nc",
            hint="Use load_raster('cru_ts408_cld'), which unpacks it once into "
            "data/raw/cru_ts408_cld/ (hash-checked), or decompress it with gunzip -k.",
        )
    ds = _open_dataset(path, chunks={"time": chunks})
    ok = False
    try:
        var = _pick_variable(ds, variable, path)
        da = ds[var]
        file_years = da["time"].dt.year.values
        first, last = int(file_years.min()), int(file_years.max())
        if start < first or end > last:
            raise GridError(
                f"{path}: year window {start}-{end} is outside the file's years {first}-{last}",
                hint=f"Pass years within {first}-{last}.",
            )
        da = da.sel(time=slice(f"{start}-01-01", f"{end}-12-31"))
        period = f"{start}-{end}"
        lname = long_name or da.attrs.get("long_name", var)
        if climatology:  # every month of every year of the window, or an error
            da = year_window(da, start, end).compute()
            lname = f"{lname}, monthly climatology {period}"
        da, _ = _tidy_extra_dims(da, path)
        out = _finish(
            da,
            name=name,
            units=units if units is not None else da.attrs.get("units"),
            long_name=lname,
            source=source,
            path=path,
            attrs={"period": period},
        )
        ok = True
        return out
    finally:
        if climatology or not ok:  # a lazy result keeps the file open
            ds.close()


# --------------------------------------------------------------------------- TEMIS
_TEMIS_NAME = "vitd_dose_clear"
_TEMIS_LONG = "clear-sky vitamin-D weighted daily UV dose"
_DAYS_PER_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _temis_dataset(path: Path) -> xr.Dataset:
    ds = _open_dataset(path, chunks={})
    if "uvd_clear_mean" in ds or "uvd_vitd_clear" in ds:
        return ds
    ds.close()
    try:
        return _open_dataset(path, group="PRODUCT", chunks={})
    except FormatError:
        raise FormatError(
            f"{path}: neither 'uvd_clear_mean' (TEMIS uvdvcclim_world.nc) nor "
            "'uvd_vitd_clear' (monthly re-encoding) found",
            hint="Pass the TEMIS clear-sky vitamin-D climatology file uvdvcclim_world.nc.",
        ) from None


#: TEMIS variables of the original file → (canonical name, long name, provenance).
TEMIS_VARIABLES: dict[str, tuple[str, str, str]] = {
    "uvd_clear_mean": (_TEMIS_NAME, _TEMIS_LONG, "clear-sky (no cloud attenuation)"),
    "uvd_cloudy_mean": ("vitd_dose_allsky",
                        "all-sky (cloud-modified) vitamin-D weighted daily UV dose", "measured"),
}


def temis_has_allsky(path: str | os.PathLike[str]) -> bool:
    """Whether a TEMIS file holds the measured cloud-modified dose ``uvd_cloudy_mean``.

    True for the original ``uvdvcclim_world.nc`` (group ``PRODUCT``), False for the data
    mirror's clear-sky monthly re-encoding or a file that is not TEMIS.
    """
    try:
        ds = _temis_dataset(Path(path))
    except FormatError:
        return False
    with ds:
        return "uvd_cloudy_mean" in ds


def read_temis(path: str | os.PathLike[str], variable: str = "uvd_clear_mean") -> xr.DataArray:
    """Read a TEMIS vitamin-D UV dose climatology as monthly means in J m-2.

    Accepts the original ``uvdvcclim_world.nc`` (group ``PRODUCT``: 365 daily
    climatology fields ``uvd_clear_mean`` and ``uvd_cloudy_mean`` in kJ m-2,
    ``no_data_value`` -1, month of each day in ``date_month``), which is averaged to
    calendar months (over the valid days of each month; NaN where a month has none: the
    cloud-modified field has gaps) and converted to J m-2; or, for the clear-sky dose
    only, a monthly re-encoding holding ``uvd_vitd_clear`` in J m-2 (the data mirror's
    file).

    Parameters
    ----------
    path
        The netCDF file.
    variable
        ``uvd_clear_mean`` (clear-sky dose, the default) or ``uvd_cloudy_mean`` (the
        measured all-sky dose: TEMIS's cloud-modified dose, whose cloud attenuation comes
        from satellite cloud observations).

    Returns
    -------
    xarray.DataArray
        ``vitd_dose_clear`` or ``vitd_dose_allsky`` (month, lat, lon), units ``J m-2``;
        ``attrs["provenance"]`` is ``"clear-sky (no cloud attenuation)"`` or
        ``"measured"``.

    Raises
    ------
    FormatError
        The requested variable is not in the file (e.g. ``uvd_cloudy_mean`` in the
        mirror's clear-sky re-encoding), or *variable* is not a TEMIS dose.
    """
    path = Path(path)
    if variable not in TEMIS_VARIABLES:
        raise FormatError(
            f"{path}: variable {variable!r} is not one of {', '.join(TEMIS_VARIABLES)}",
            hint="Pass variable='uvd_clear_mean' (clear-sky) or 'uvd_cloudy_mean' (all-sky).")
    name, long_name, provenance = TEMIS_VARIABLES[variable]
    ds = _temis_dataset(path)
    with ds:
        if variable == "uvd_clear_mean" and "uvd_vitd_clear" in ds:
            da = ds["uvd_vitd_clear"].load()
            factor = 1000.0 if normalize_units(da.attrs.get("units")) == "kJ m-2" else 1.0
            attrs = {"period": "2004-2020 climatology"}
        elif variable not in ds:
            raise FormatError(
                f"{path}: no {variable!r} in this TEMIS file (it holds "
                f"{', '.join(sorted(map(str, ds.data_vars)))})",
                hint="The measured all-sky dose is only in the original uvdvcclim_world.nc "
                     "from temis.nl (group PRODUCT); the data mirror's copy is clear-sky only.")
        else:
            da = ds[variable]
            nodata = da.attrs.get("no_data_value")
            if nodata is not None:
                da = da.where(da != nodata)
            da = da.where(da >= 0)
            day_dim = da.dims[0]
            if "date_month" in ds:
                month = xr.DataArray(
                    np.asarray(ds["date_month"].values, dtype=np.int64), dims=day_dim
                )
            else:  # days 1..365, leap day skipped
                month = xr.DataArray(
                    np.repeat(np.arange(1, 13), _DAYS_PER_MONTH)[: da.sizes[day_dim]],
                    dims=day_dim,
                )
            da = da.groupby(month.rename("month")).mean(day_dim).compute()
            # the original file declares kJ/m2; a file without units is taken as such
            file_units = normalize_units(ds[variable].attrs.get("units")) or "kJ m-2"
            factor = 1000.0 if file_units == "kJ m-2" else 1.0
            attrs = {"period": "daily climatology averaged to calendar months"}
        da = da * factor
    return _finish(
        da,
        name=name,
        units="J m-2",
        long_name=long_name,
        source="temis_uvdvc_clim",
        path=path,
        attrs={
            **attrs,
            "provenance": provenance,
            "citation": "van Geffen et al. (2017), doi:10.21944/temis-uv-oper-v2",
        },
    )


# --------------------------------------------------------------------------- NCEP Gaussian
def _band_edges(lat_desc: np.ndarray) -> np.ndarray:
    """Cell edges of descending latitudes: midpoints between centres, ±90 at the ends."""
    mid = (lat_desc[:-1] + lat_desc[1:]) / 2.0
    return np.concatenate([[90.0], mid, [-90.0]])


def _overlap_weights(src_edges: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """Area overlap (in sin(lat)) of each target band with each source band.

    Both edge arrays run from +90 down to -90. Returns shape (n_dst, n_src).
    """
    s_top, s_bot = np.sin(np.deg2rad(src_edges[:-1])), np.sin(np.deg2rad(src_edges[1:]))
    d_top, d_bot = np.sin(np.deg2rad(dst_edges[:-1])), np.sin(np.deg2rad(dst_edges[1:]))
    top = np.minimum(d_top[:, None], s_top[None, :])
    bot = np.maximum(d_bot[:, None], s_bot[None, :])
    return np.clip(top - bot, 0.0, None)


def read_ncep_gaussian(
    path: str | os.PathLike[str],
    variable: str = "tcdc",
    *,
    lat_step: float | None = None,
    name: str = "cloud_cover",
    units: str | None = "%",
    long_name: str = "total cloud cover, long-term monthly mean (NCEP/NCAR reanalysis)",
    source: str = "ncep_ncar_tcdc_ltm",
) -> xr.DataArray:
    """Read an NCEP/NCAR Gaussian-grid field and regrid it conservatively in latitude.

    The T62 grid (``tcdc.eatm.mon.ltm.1991-2020.nc``) has 94 irregular Gaussian
    latitudes and 192 regular longitudes (0..358.125, step 1.875). Longitudes are
    kept (wrapped to -180..180); latitudes are regridded onto a regular grid of
    ``lat_step`` degrees (default: the longitude spacing when 180 is a multiple of
    it, else 1°). Each source row is a band bounded by the midpoints between
    neighbouring Gaussian latitudes (±90 at the ends); each target value is the
    area-weighted mean of the overlapping source bands, with weights the overlap in
    sin(latitude) (exact spherical area on each longitude). Missing source cells are
    left out of the weights. Without missing cells the area-weighted global mean is
    conserved exactly (up to rounding).

    Parameters
    ----------
    path
        NCEP netCDF file with ``time`` = 12 long-term-mean months (or any time axis).
    variable
        Variable to read (``tcdc``).
    lat_step
        Target latitude spacing in degrees; 180 must be a multiple of it.
    name, units, long_name, source
        Output name and attributes.

    Returns
    -------
    xarray.DataArray
        ``(month, lat, lon)`` when the time axis holds 12 distinct months, else
        ``(time, lat, lon)``.

    Raises
    ------
    GridError
        No lat/lon, or a ``lat_step`` that does not divide 180.
    UnitError
        Cloud cover whose values contradict ``units``.
    """
    path = Path(path)
    cftime_coder = xr.coders.CFDatetimeCoder(use_cftime=True)  # LTM dates are in year 1
    with _open_dataset(path, decode_times=cftime_coder) as ds:
        var = _pick_variable(ds, variable, path)
        da = ds[var].load()
    da, extra = _tidy_extra_dims(da, path)
    file_units = da.attrs.get("units")
    lat_name = next((d for d in da.dims if str(d).lower() in LAT_NAMES), None)
    lon_name = next((d for d in da.dims if str(d).lower() in LON_NAMES), None)
    if lat_name is None or lon_name is None:
        return _finish(da, name=name, units=units, long_name=long_name, source=source, path=path)
    da = da.rename({lat_name: "lat", lon_name: "lon"}).sortby("lat", ascending=False)
    lon = np.asarray(da["lon"].values, dtype=np.float64)
    if lat_step is None:
        dlon = float(np.median(np.diff(np.sort(lon)))) if lon.size > 1 else 1.0
        n = 180.0 / dlon
        lat_step = dlon if abs(n - round(n)) < 1e-9 else 1.0
    n_rows = 180.0 / lat_step
    if lat_step <= 0 or abs(n_rows - round(n_rows)) > 1e-9:
        raise GridError(
            f"{path}: lat_step {lat_step:g} does not divide 180 degrees",
            hint="Pass a lat_step such as 1.0, 1.875 or 2.5.",
        )
    n_rows = round(n_rows)
    dst_edges = 90.0 - lat_step * np.arange(n_rows + 1)
    dst_edges[-1] = -90.0
    src_edges = _band_edges(np.asarray(da["lat"].values, dtype=np.float64))
    weights = _overlap_weights(src_edges, dst_edges)

    values = np.asarray(da.transpose(..., "lat", "lon").values, dtype=np.float64)
    lead_dims = [d for d in da.dims if d not in ("lat", "lon")]
    valid = np.isfinite(values)
    num = np.einsum("ts,...sl->...tl", weights, np.where(valid, values, 0.0))
    den = np.einsum("ts,...sl->...tl", weights, valid.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    coords: dict[str, Any] = {
        "lat": (dst_edges[:-1] + dst_edges[1:]) / 2.0,
        "lon": lon,
    }
    dims = [*lead_dims, "lat", "lon"]
    if "time" in lead_dims:
        months = _months_of(da["time"]) if "time" in da.coords else None
        n_time = da.sizes["time"]
        if months is None and n_time == 12:
            months = np.arange(1, 13)
        if months is not None and n_time == 12 and sorted(months) == list(range(1, 13)):
            dims[dims.index("time")] = "month"
            coords["month"] = months
        elif "time" in da.coords:
            coords["time"] = da["time"].values
    for d in lead_dims:
        if d != "time" and d in da.coords:
            coords[d] = da[d].values
    regridded = xr.DataArray(out, dims=dims, coords=coords)  # float64: conservation
    if "month" in regridded.dims:
        regridded = regridded.sortby("month")
    return _finish(
        regridded,
        name=name,
        units=units if units is not None else file_units,
        long_name=long_name,
        source=source,
        path=path,
        attrs={
            **extra,
            "regridding": (
                f"Gaussian latitudes regridded conservatively (sin-latitude area overlap) "
                f"to a regular {lat_step:g} degree latitude grid; longitudes unchanged"
            ),
        },
    )


# --------------------------------------------------------------------------- MERRA-2 / gsee
def _gsee_npz_path() -> Path:
    try:
        from importlib.resources import files

        return Path(str(files("gsee_climate_data").joinpath(GSEE_NPZ)))
    except ModuleNotFoundError as exc:
        raise DataSourceError(
            "package 'gsee-climate-data' is not installed; cannot read MERRA-2 PDFs",
            hint="pip install gsee-climate-data==1.0.0",
        ) from exc


def _ghi_from_npz(path: Path) -> xr.DataArray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            xk, pk = npz["xk"].astype(np.float64), npz["pk"].astype(np.float64)
            lat, lon, month = npz["lat"], npz["lon"], npz["month"]
    except (OSError, KeyError, ValueError) as exc:
        raise FormatError(
            f"{path}: not a gsee MERRA-2 PDF file (arrays xk, pk, lat, lon, month): {exc}",
            hint="Reinstall gsee-climate-data==1.0.0.",
        ) from exc
    expected = (lat.size, lon.size, month.size)
    if xk.shape != pk.shape or xk.shape[:3] != expected:
        raise FormatError(
            f"{path}: xk/pk shapes {xk.shape}/{pk.shape} do not match "
            f"(lat, lon, month) = {expected}",
            hint="Reinstall gsee-climate-data==1.0.0.",
        )
    psum = pk.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ghi = np.where(psum > 0, (xk * pk).sum(axis=-1) / psum, np.nan)
    return xr.DataArray(
        ghi.astype(np.float32),
        dims=("lat", "lon", "month"),
        coords={"lat": lat.astype(np.float64), "lon": lon.astype(np.float64), "month": month},
    ).transpose("month", "lat", "lon")


def read_merra2_gsee(path: str | os.PathLike[str] | None = None) -> xr.DataArray:
    """MERRA-2 all-sky surface GHI, monthly means 2011-2015, 3° land grid.

    With no *path* (or a ``.npz`` path) the ``gsee-climate-data`` PDFs are read and
    the mean GHI is derived per cell and month as ``sum(xk*pk) / sum(pk)`` over the
    128 bins (NaN where the package has no PDF, i.e. over the ocean), computed in
    float64 and stored as float32. With a netCDF *path* its ``ghi`` variable is read.

    The package does not say whether its ``lat``/``lon`` vectors (lat -57..72,
    lon -180..177) are cell centres or corners. geo_ms takes them as **cell
    centres**, as the data mirror's netCDF does; if they were south-west corners
    every cell would sit 1.5° too far south-west.

    Returns
    -------
    xarray.DataArray
        ``ghi`` (month, lat, lon) in ``W m-2``.

    Raises
    ------
    DataSourceError
        No path given and the package is not installed.
    FormatError
        The npz lacks the expected arrays.
    """
    src = _gsee_npz_path() if path is None else Path(path)
    attrs = {
        "period": "2011-2015",
        "citation": "Gelaro R et al. (2017) J. Climate 30:5419-5454",
        "coordinates_note": "package lat/lon taken as cell centres",
    }
    long_name = "all-sky surface global horizontal irradiance, monthly mean (MERRA-2)"
    if src.suffix == ".npz":
        da = _ghi_from_npz(src)
    else:
        with _open_dataset(src) as ds:
            var = _pick_variable(ds, "ghi", src)
            da = ds[var].load()
        da, _ = _tidy_extra_dims(da, src)
    return _finish(
        da,
        name="ghi",
        units="W m-2",
        long_name=long_name,
        source="merra2_gsee",
        path=src,
        attrs=attrs,
    )
