"""Reader for NASA OMI OMUVBd (daily L3 surface UV, 1°): HDF-EOS5 and GES DISC netCDF4.

The HDF-EOS5 file keeps its fields in ``HDFEOS/GRIDS/<grid>/Data Fields`` as bare
``(YDim, XDim)`` arrays without coordinates; the grid is described by the
``HDFEOS INFORMATION/StructMetadata.0`` text (ODL). For OMUVBd it says
``UpperLeftPointMtrs=(-180000000.000000,-90000000.000000)``: the first row lies at
the *south* pole, so **row 0 is 89.5S**. The corners are in packed degrees
(DDDMMMSSS.SS) and are parsed, not assumed. The GES DISC subsetter's netCDF4 files
carry ``lat``/``lon`` coordinates instead.

>>> _unpack_dms(-180000000.0), _unpack_dms(90000000.0), _unpack_dms(45030000.0)
(-180.0, 90.0, 45.5)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geo_ms.errors import CRSError, FormatError, GridError
from geo_ms.ingest.readers._canonical import canonicalize, normalize_units

__all__ = ["OMUVBD_VARIABLES", "read_omi_omuvbd"]

#: Default variables: all-sky and clear-sky erythemal daily dose and UV index.
OMUVBD_VARIABLES: tuple[str, ...] = (
    "ErythemalDailyDose",
    "CSErythemalDailyDose",
    "UVindex",
    "CSUVindex",
)

_STRUCT = "HDFEOS INFORMATION/StructMetadata.0"
_GRIDS = "HDFEOS/GRIDS"
_FILE_ATTRS = "HDFEOS/ADDITIONAL/FILE_ATTRIBUTES"
_HINT = "Download the OMUVBd file again from NASA GES DISC (OMUVBd.003)."
_SOURCE = "omi_omuvbd"
_CITATION = "OMI/Aura Surface UVB Irradiance and Erythemal Dose Daily L3 1deg, doi:10.5067/Aura/OMI/DATA3009"


def _unpack_dms(value: float) -> float:
    """HDF-EOS packed degrees DDDMMMSSS.SS → decimal degrees."""
    sign = -1.0 if value < 0 else 1.0
    v = abs(value)
    deg = np.floor(v / 1e6)
    minutes = np.floor((v - deg * 1e6) / 1e3)
    seconds = v - deg * 1e6 - minutes * 1e3
    return float(sign * (deg + minutes / 60.0 + seconds / 3600.0))


def _grid_block(meta: str, grid_name: str) -> str:
    """The ODL text of the GROUP describing *grid_name*."""
    for match in re.finditer(r"GROUP=(GRID_\d+)(.*?)END_GROUP=\1", meta, flags=re.DOTALL):
        block = match.group(2)
        if re.search(rf'GridName="{re.escape(grid_name)}"', block):
            return block
    return ""


def _odl_value(block: str, key: str) -> str | None:
    m = re.search(rf"^\s*{key}=(.+?)\s*$", block, flags=re.MULTILINE)
    return m.group(1) if m else None


def _pair(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    nums = re.findall(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", text)
    return (float(nums[0]), float(nums[1])) if len(nums) == 2 else None


def _grid_coords(meta: str, grid_name: str, shape: tuple[int, int], label: str) -> dict[str, Any]:
    """lat/lon cell centres of an HDF-EOS5 geographic grid from its StructMetadata."""
    block = _grid_block(meta, grid_name)
    if not block:
        raise FormatError(f"{label}: StructMetadata.0 has no grid named {grid_name!r}", hint=_HINT)
    projection = _odl_value(block, "Projection") or ""
    if "GEO" not in projection:
        raise CRSError(
            f"{label}: grid {grid_name!r} is in projection {projection}; geo_ms needs "
            "geographic lat/lon (EPSG:4326). Reproject it first, e.g. with "
            "`gdalwarp -t_srs EPSG:4326`",
            hint="Reproject to EPSG:4326 (gdalwarp -t_srs EPSG:4326) before reading.",
        )
    upper_left = _pair(_odl_value(block, "UpperLeftPointMtrs"))
    lower_right = _pair(_odl_value(block, "LowerRightMtrs"))
    xdim, ydim = _odl_value(block, "XDim"), _odl_value(block, "YDim")
    if upper_left is None or lower_right is None or xdim is None or ydim is None:
        raise FormatError(
            f"{label}: StructMetadata.0 lacks XDim/YDim/UpperLeftPointMtrs/LowerRightMtrs "
            f"for grid {grid_name!r}",
            hint=_HINT,
        )
    nx, ny = int(xdim), int(ydim)
    if (ny, nx) != shape:
        raise FormatError(
            f"{label}: fields are {shape[0]}x{shape[1]} but StructMetadata.0 says "
            f"YDim={ny}, XDim={nx}",
            hint=_HINT,
        )
    x0, y0 = _unpack_dms(upper_left[0]), _unpack_dms(upper_left[1])
    x1, y1 = _unpack_dms(lower_right[0]), _unpack_dms(lower_right[1])
    dx, dy = (x1 - x0) / nx, (y1 - y0) / ny
    registration = _odl_value(block, "PixelRegistration") or "HE5_HDFE_CENTER"
    # CENTER: the value belongs to the pixel centre; CORNER: to its upper-left corner
    off = 0.5 if "CENTER" in registration else 0.0
    return {
        "lat": y0 + (np.arange(ny) + off) * dy,
        "lon": x0 + (np.arange(nx) + off) * dx,
    }


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes | np.bytes_):
        return value.decode("ascii", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _decode_attr(value.reshape(-1)[0])
    return value


def _date(attrs: dict[str, Any], prefix: str = "") -> str | None:
    try:
        y, m, d = (
            int(_decode_attr(attrs[f"{prefix}Granule{k}"])) for k in ("Year", "Month", "Day")
        )
    except (KeyError, TypeError, ValueError):
        return None
    return f"{y:04d}-{m:02d}-{d:02d}"


def _select(available: Sequence[str], variables: Sequence[str] | None, label: str) -> list[str]:
    if variables is None:
        chosen = [v for v in OMUVBD_VARIABLES if v in available]
        if not chosen:
            raise FormatError(
                f"{label}: none of {', '.join(OMUVBD_VARIABLES)} found; it has "
                f"{', '.join(available)}",
                hint="Pass variables= naming fields the file holds.",
            )
        return chosen
    missing = [v for v in variables if v not in available]
    if missing:
        raise FormatError(
            f"{label}: no field {', '.join(missing)}; it has {', '.join(available)}",
            hint="Pass variables= naming fields the file holds (GES DISC subsets may "
            "omit the clear-sky CS* fields).",
        )
    return list(variables)


def _canonical(
    values: np.ndarray,
    coords: dict[str, Any],
    var: str,
    units: Any,
    title: Any,
    label: str,
    date: str | None,
) -> xr.DataArray:
    da = xr.DataArray(values, dims=("lat", "lon"), coords=coords)
    unit = normalize_units(_decode_attr(units)) if units is not None else "1"
    attrs = {"citation": _CITATION, "period": f"daily, {date}" if date else "daily"}
    if date:
        attrs["date"] = date
    return canonicalize(
        da,
        name=var,
        units=unit,
        long_name=str(_decode_attr(title)) if title is not None else var,
        source=_SOURCE,
        file=label,
        attrs=attrs,
    )


def _read_he5(path: Path, variables: Sequence[str] | None) -> xr.Dataset:
    import h5py

    label = str(path)
    with h5py.File(path, "r") as f:
        meta = f[_STRUCT][()]
        meta = meta.decode("ascii", "replace") if isinstance(meta, bytes) else str(meta)
        grids = list(f[_GRIDS].keys()) if _GRIDS in f else []
        if not grids:
            raise FormatError(
                f"{label}: no HDFEOS/GRIDS group; not a gridded HDF-EOS5 file", hint=_HINT
            )
        grid = grids[0]
        fields = f[f"{_GRIDS}/{grid}/Data Fields"]
        chosen = _select(list(fields.keys()), variables, label)
        date = _date(dict(f[_FILE_ATTRS].attrs)) if _FILE_ATTRS in f else None
        out: dict[str, xr.DataArray] = {}
        coords: dict[str, Any] | None = None
        for var in chosen:
            dset = fields[var]
            attrs = dict(dset.attrs)
            values = dset[()].astype(np.float64)
            for key in ("_FillValue", "MissingValue"):
                if key in attrs:
                    fill = np.asarray(attrs[key], dtype=np.float64).reshape(-1)
                    values[np.isin(values, fill)] = np.nan
            scale = float(_decode_attr(attrs.get("ScaleFactor", 1.0)))
            offset = float(_decode_attr(attrs.get("Offset", 0.0)))
            values = (values * scale + offset).astype(np.float32)
            if coords is None:
                coords = _grid_coords(meta, grid, values.shape, label)
            out[var] = _canonical(
                values, coords, var, attrs.get("Units"), attrs.get("Title"), label, date
            )
    ds = xr.Dataset(out)
    ds.attrs = {"source": _SOURCE, "citation": _CITATION, "file": path.name}
    if date:
        ds.attrs["date"] = date
    return ds


def _read_nc4(path: Path, variables: Sequence[str] | None) -> xr.Dataset:
    label = str(path)
    try:
        raw = xr.open_dataset(path)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{label}: cannot be opened as netCDF4 ({exc})", hint=_HINT) from exc
    with raw:
        chosen = _select([str(v) for v in raw.data_vars], variables, label)
        date = _date(raw.attrs, prefix="HDFEOS_ADDITIONAL_FILE_ATTRIBUTES.")
        out = {}
        for var in chosen:
            da = raw[var].load()
            if "lat" not in da.dims or "lon" not in da.dims:
                raise GridError(
                    f"{label}: field {var} has dims {da.dims}, not (lat, lon)",
                    hint="Use a GES DISC subset with lat/lon coordinates.",
                )
            title = da.attrs.get("title", da.attrs.get("long_name"))
            out[var] = _canonical(
                da.values.astype(np.float32),
                {"lat": da["lat"].values, "lon": da["lon"].values},
                var,
                da.attrs.get("units"),
                title,
                label,
                date,
            )
    ds = xr.Dataset(out)
    ds.attrs = {"source": _SOURCE, "citation": _CITATION, "file": path.name}
    if date:
        ds.attrs["date"] = date
    return ds


def read_omi_omuvbd(
    path: str | os.PathLike[str],
    variables: Sequence[str] | None = None,
) -> xr.Dataset:
    """Read one OMUVBd day (HDF-EOS5 ``.he5`` or GES DISC netCDF4 ``.nc4``).

    Parameters
    ----------
    path
        The file. The flavour is detected from its content (an HDF5 file with
        ``HDFEOS INFORMATION/StructMetadata.0`` is read as HDF-EOS5).
    variables
        Fields to read. Default: those of ``ErythemalDailyDose``,
        ``CSErythemalDailyDose``, ``UVindex``, ``CSUVindex`` that the file holds
        (GES DISC subsets may lack the clear-sky ones); named fields must exist.

    Returns
    -------
    xarray.Dataset
        One canonical ``(lat, lon)`` DataArray per field (fill → NaN, units
        ``J m-2``/``1``...), ``attrs["date"]`` the day (``YYYY-MM-DD``).

    Raises
    ------
    FormatError
        Not an OMUVBd file, a named field is missing, or StructMetadata disagrees
        with the data.
    CRSError
        The HDF-EOS grid is not geographic.
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(f"{path}: file not found", hint=_HINT)
    import h5py

    is_hdfeos = False
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            is_hdfeos = _STRUCT in f
    if is_hdfeos:
        return _read_he5(path, variables)
    return _read_nc4(path, variables)
