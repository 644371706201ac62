"""An analyst's own exposure raster (``[[exposures.user]]``): GeoTIFF or netCDF, any CRS.

:func:`read_user_raster` returns the canonical raster of ``docs/architecture.md``:

- a file in a **geographic** CRS goes through the same
  :func:`~geo_ms.ingest.readers._canonical.canonicalize` as every catalog raster:
  dims ``(lat, lon)`` or ``(month, lat, lon)``, EPSG:4326;
- a file in a **projected** CRS (e.g. ETRS89-LAEA, EPSG:3035) keeps its CRS and grid:
  dims ``(y, x)`` or ``(month, y, x)``, cell centres in the CRS's units, ``y``
  descending and ``x`` ascending, the CRS written with rioxarray and in
  ``attrs["crs_wkt"]``. The zonal statistics aggregate it in that CRS
  (:mod:`geo_ms.exposures.weights`).

The file's own encoding is applied and recorded: GeoTIFF scale and offset (``value =
raw · scale + offset``) and nodata, or netCDF's CF ``scale_factor``, ``add_offset``
and ``_FillValue``/``missing_value``; ``attrs`` keep ``file_scale``, ``file_offset``,
``file_nodata`` and ``file_crs`` for the run log, the manifest and the report.

>>> import tempfile, pathlib, numpy as np, rasterio
>>> p = pathlib.Path(tempfile.mkdtemp()) / "r.tif"
>>> with rasterio.open(p, "w", driver="GTiff", width=2, height=1, count=1, dtype="int16",
...                    crs="EPSG:4326", nodata=-1,
...                    transform=rasterio.Affine(180, 0, -180, 0, -180, 90)) as dst:
...     dst.write(np.array([[150, -1]], "int16"), 1)
...     dst.scales, dst.offsets = (0.5,), (10.0,)
>>> da = read_user_raster(p, name="rad", units="W m-2")
>>> da.dims, da.values.tolist(), da.attrs["file_scale"], da.attrs["file_nodata"]
(('lat', 'lon'), [[85.0, nan]], 0.5, -1.0)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geo_ms.errors import CRSError, FormatError, GridError
from geo_ms.ingest.readers._canonical import canonicalize, normalize_units

__all__ = ["BAND_LAYOUTS", "read_user_raster"]

#: ``bands`` values of ``[[exposures.user]]``: one field, or 12 months (January first).
BAND_LAYOUTS: tuple[str, ...] = ("single", "months")

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_NETCDF_MAGIC = (b"CDF", b"\x89HDF")


def read_user_raster(
    path: str | os.PathLike[str],
    *,
    name: str,
    units: str,
    long_name: str | None = None,
    variable: str = "",
    bands: str = "single",
    crs: str = "",
    source: str | None = None,
) -> xr.DataArray:
    """Read a user's GeoTIFF or netCDF exposure raster into the canonical form.

    Parameters
    ----------
    path
        The file (GeoTIFF or netCDF; told apart by its first bytes).
    name, units, long_name, source
        Output name and attributes.
    variable
        netCDF variable (needed when the file has several gridded variables).
    bands
        ``"single"`` (one band / a 2-D variable) or ``"months"`` (12 bands or a
        12-step time axis, January first; the result has dims ``month`` = 1..12).
    crs
        The CRS (``"EPSG:…"``) of a file that declares none; a file that declares a
        different one is refused.

    Returns
    -------
    xarray.DataArray
        Canonical raster (``lat``/``lon`` or, projected, ``y``/``x``).

    Raises
    ------
    FormatError
        Missing, empty or unreadable file, not GeoTIFF/netCDF, wrong band count for
        *bands*, an unknown or ambiguous netCDF variable.
    CRSError
        No CRS in the file and none given, or the file's CRS differs from *crs*.
    GridError
        Rotated grid, or every cell is nodata.
    """
    path = Path(path)
    if bands not in BAND_LAYOUTS:
        raise FormatError(f"{path}: bands = {bands!r} is not one of {', '.join(BAND_LAYOUTS)}",
                          hint='Use bands = "single" (one field) or "months" (12 bands)')
    if not path.is_file():
        raise FormatError(f"{path}: file not found",
                          hint="Check the path (relative paths are relative to the "
                               "configuration file)")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise FormatError(f"{path}: the file is empty (0 bytes)",
                          hint="Write the raster again; the copy was cut short")
    if head.startswith(_TIFF_MAGIC):
        values, dims, coords, file_crs, prov = _read_tiff(path, bands)
    elif head.startswith(_NETCDF_MAGIC):
        values, dims, coords, file_crs, prov = _read_netcdf(path, variable, bands)
    else:
        raise FormatError(
            f"{path}: not a GeoTIFF or netCDF file (starts with {head!r})",
            hint="Give a GeoTIFF (.tif) or netCDF (.nc) raster; convert other formats "
                 "with gdal_translate")
    if file_crs is None and prov.pop("_cf_latlon", False):
        file_crs = "EPSG:4326"  # CF latitude/longitude coordinates declare lat/lon degrees
    prov.pop("_cf_latlon", None)
    the_crs = _resolve_crs(path, file_crs, crs, coords)
    prov["file_crs"] = _crs_label(the_crs)
    attrs: dict[str, Any] = {**prov, "period": "as declared by the user",
                             "units": normalize_units(units), "file": str(path)}
    if bands == "months":
        coords = {**coords, "month": np.arange(1, 13)}
    da = xr.DataArray(values, dims=dims, coords=coords)
    if the_crs.is_projected:
        return _projected(da, the_crs, path, name=name, units=units,
                          long_name=long_name or name, source=source or path.name, attrs=attrs)
    da = da.rename({dims[-2]: "lat", dims[-1]: "lon"})
    return canonicalize(da, name=name, units=units, long_name=long_name or name,
                        source=source or path.name, file=path, attrs=attrs)


# --------------------------------------------------------------------------- private


def _read_tiff(path: Path, bands: str) -> tuple[np.ndarray, tuple[str, ...], dict[str, Any],
                                                 Any, dict[str, Any]]:
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise FormatError(f"{path}: cannot be read as GeoTIFF ({first})",
                          hint="The file is damaged; write or download it again") from None
    with src:
        _check_count(path, src.count, bands)
        t = src.transform
        if t.b != 0 or t.d != 0:
            raise GridError(f"{path}: geotransform is rotated/sheared; expected a north-up grid",
                            hint=f"gdalwarp {path} OUT.tif (warps it to a north-up grid)")
        try:
            raw = src.read().astype(np.float64)
        except RasterioIOError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise FormatError(f"{path}: cannot read the raster's cells ({first})",
                              hint="The file is damaged; write or download it again") from None
        nodata = src.nodatavals
        scales, offsets = src.scales, src.offsets
        for b in range(raw.shape[0]):
            if nodata[b] is not None and np.isfinite(nodata[b]):
                raw[b][raw[b] == nodata[b]] = np.nan
            raw[b] = raw[b] * float(scales[b]) + float(offsets[b])
        x = t.c + (np.arange(src.width) + 0.5) * t.a
        y = t.f + (np.arange(src.height) + 0.5) * t.e
        file_crs = src.crs
        nd = next((v for v in nodata if v is not None), None)
        prov = {"file_format": "GeoTIFF", "file_scale": float(scales[0]),
                "file_offset": float(offsets[0]),
                "file_nodata": float(nd) if nd is not None else "none"}
    values = raw if bands == "months" else raw[0]
    dims = ("month", "y", "x") if bands == "months" else ("y", "x")
    return values, dims, {"y": y, "x": x}, file_crs, prov


def _check_count(path: Path, count: int, bands: str) -> None:
    want = 12 if bands == "months" else 1
    if count != want:
        hint = ("Give the 12 monthly bands (January first), or set bands = \"single\""
                if bands == "months" else
                'Set bands = "months" for a 12-month climatology, or write one band '
                "(gdal_translate -b N)")
        raise FormatError(f"{path}: has {count} band(s); bands = \"{bands}\" needs {want}",
                          hint=hint)


def _read_netcdf(path: Path, variable: str, bands: str) -> tuple[
        np.ndarray, tuple[str, ...], dict[str, Any], Any, dict[str, Any]]:
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    from geo_ms.ingest.readers.netcdf import _open_dataset, _pick_variable

    ds = _open_dataset(path)
    with ds:
        var = _pick_variable(ds, variable or None, path)
        da = ds[var]
        enc = da.encoding
        file_crs = None
        try:
            file_crs = da.rio.crs
        except Exception:  # noqa: BLE001 - rioxarray raises various errors on odd input
            file_crs = None
        try:
            ydim, xdim = da.rio.y_dim, da.rio.x_dim
        except Exception:  # noqa: BLE001
            from geo_ms.ingest.readers._canonical import LAT_NAMES, LON_NAMES, _find

            ydim, xdim = _find(da, LAT_NAMES), _find(da, LON_NAMES)
        if ydim is None or xdim is None or ydim not in da.dims or xdim not in da.dims:
            raise GridError(f"{path}: variable {var!r} has no y/x (or lat/lon) dimensions, "
                            f"found dims {tuple(da.dims)}",
                            hint="Give a gridded variable (variable = \"...\")")
        others = [d for d in da.dims if d not in (ydim, xdim)]
        for d in list(others):
            if da.sizes[d] == 1 and bands == "single":
                da = da.isel({d: 0}, drop=True)
                others.remove(d)
        n = int(np.prod([da.sizes[d] for d in others])) if others else 1
        if len(others) > 1:
            raise FormatError(f"{path}: variable {var!r} has {len(others)} non-spatial dims "
                              f"{tuple(others)}; expected at most one",
                              hint="Select one level first, or give a 2-D or 12-step variable")
        _check_count(path, n, bands)
        order = [*others, ydim, xdim]
        values = np.asarray(da.transpose(*order).values, dtype=np.float64)
        coords = {"y": np.asarray(da[ydim].values, dtype=float),
                  "x": np.asarray(da[xdim].values, dtype=float)}
        ylat = str(ydim).lower() in ("lat", "latitude") or str(
            da[ydim].attrs.get("units", "")).startswith("degree")
        prov = {"file_format": "netCDF", "file_variable": var,
                "file_scale": float(enc.get("scale_factor", 1.0)),
                "file_offset": float(enc.get("add_offset", 0.0)),
                "file_nodata": _fill(enc), "_cf_latlon": bool(ylat)}
    dims = ("month", "y", "x") if bands == "months" else ("y", "x")
    return values, dims, coords, file_crs, prov


def _fill(enc: dict[str, Any]) -> float | str:
    for key in ("_FillValue", "missing_value"):
        v = enc.get(key)
        if v is not None:
            return float(np.asarray(v).ravel()[0])
    return "none"


def _resolve_crs(path: Path, file_crs: Any, declared: str, coords: dict[str, Any]) -> Any:
    """The raster's CRS: the file's, else the declared one, else refuse."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    given = None
    if declared:
        try:
            given = CRS.from_user_input(declared)
        except PyprojCRSError:
            raise CRSError(f"{path}: crs = {declared!r} is not a CRS pyproj knows",
                           hint='Write it as an EPSG code, e.g. crs = "EPSG:3035"') from None
    have = CRS.from_user_input(file_crs.to_wkt() if hasattr(file_crs, "to_wkt") else file_crs) \
        if file_crs else None
    if have is not None and given is not None and not have.equals(given, ignore_axis_order=True):
        raise CRSError(
            f"{path}: declares CRS {_crs_label(have)} but the configuration says crs = "
            f"{declared!r}",
            hint="Remove crs from [[exposures.user]] (the file's own CRS is used), or fix "
                 "the file's CRS with gdal_edit.py -a_srs")
    if have is not None:
        return have
    if given is not None:
        return given
    raise CRSError(
        f"{path}: raster has no CRS",
        hint='Add crs = "EPSG:…" to its [[exposures.user]] table (e.g. "EPSG:4326" for '
             'lat/lon degrees, "EPSG:3035" for ETRS89-LAEA)')


def _crs_label(crs: Any) -> str:
    auth = crs.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else crs.name


def _projected(da: xr.DataArray, crs: Any, path: Path, *, name: str, units: str,
               long_name: str, source: str, attrs: dict[str, Any]) -> xr.DataArray:
    """The canonical projected form: ``(…, y, x)``, y descending, x ascending, CRS set."""
    da = da.sortby("x").sortby("y", ascending=False)
    if not bool(np.isfinite(da.values).any()):
        raise GridError(f"{path}: every cell is nodata (NaN); nothing to use",
                        hint="Check the file is the right product and not empty, and its "
                             "nodata value.")
    da = da.transpose(..., "y", "x")
    da.attrs = {**{k: v for k, v in attrs.items() if not k.startswith("_")},
                "units": normalize_units(units), "long_name": long_name, "source": source,
                "file": str(path), "crs_wkt": crs.to_wkt()}
    da.name = name
    # in place: this function owns ``da`` (rioxarray's default deep-copies the data)
    da.rio.write_crs(crs.to_wkt(), inplace=True)
    return da.rio.set_spatial_dims(x_dim="x", y_dim="y", inplace=True)
