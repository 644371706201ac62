"""Reader for the IPCC Data Distribution Centre ASCII grid (CRU CL 1.0 "30-year means").

Format (as in ``ccld6190.dat``, ``crad6190``): a header giving ``grd_sz xmin ymin
xmax ymax n_cols n_rows n_months`` -- either as a names line followed by a values
line, or as ``name value`` pairs -- then, for each month, ``n_rows`` rows from north
to south, each of ``n_cols`` right-aligned integer fields of width 5, starting at
``xmin`` (cell centres, 0..360 east). ``-9999`` marks missing cells. Files come
zipped (``ccld6190.zip``); ``crad6190.zip`` holds two grids (``crad6190.dat`` and
the newer ``crad6190``), so its member must be named.

>>> import tempfile, pathlib
>>> text = ("grd_sz xmin ymin xmax ymax n_cols n_rows n_months\\n"
...         "90.0 45.0 -45.0 315.0 45.0 4 2 1\\n"
...         "    1    2    3    4\\n"
...         "    5    6    7-9999\\n")
>>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny.dat"
>>> _ = p.write_text(text)
>>> da = read_ipcc_ddc_grid(p, name="x", units="1")
>>> da.lat.values.tolist(), da.lon.values.tolist()
([45.0, -45.0], [-135.0, -45.0, 45.0, 135.0])
>>> da.sel(month=1).values.tolist()
[[3.0, 4.0, 1.0, 2.0], [7.0, nan, 5.0, 6.0]]
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import xarray as xr

from geo_ms.errors import ArchiveError, FormatError
from geo_ms.ingest.readers._canonical import canonicalize, check_units, is_cloud_variable

__all__ = ["IPCC_MISSING", "read_ipcc_ddc_grid"]

#: Missing-value code of IPCC-DDC grids.
IPCC_MISSING = -9999

_FIELD_WIDTH = 5
_HEADER_KEYS = ("grd_sz", "xmin", "ymin", "xmax", "ymax", "n_cols", "n_rows", "n_months")
_HINT_FORMAT = "Fetch the file again; it should be an IPCC-DDC ASCII grid (e.g. ccld6190.zip)."


def _read_bytes(path: Path, member: str | None) -> tuple[bytes, str]:
    """The raw text of the grid and a label 'file[:member]' for messages."""
    if not path.exists():
        raise FormatError(f"{path}: file not found", hint=_HINT_FORMAT)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            if fh.read(4) == b"PK\x03\x04":
                raise ArchiveError(
                    f"{path}: truncated or corrupt zip archive (no central directory)",
                    hint="Delete the file and fetch it again; the download was probably cut short.",
                )
        if member is not None:
            raise FormatError(
                f"{path}: member {member!r} requested but the file is not a zip archive",
                hint="Pass member=None for a plain IPCC-DDC grid file.",
            )
        return path.read_bytes(), str(path)
    with zipfile.ZipFile(path) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if member is None:
            data_files = [n for n in names if not n.lower().endswith((".txt", ".doc", ".pdf"))]
            if len(data_files) != 1:
                raise FormatError(
                    f"{path}: holds {len(data_files)} data files ({', '.join(data_files)}); "
                    "cannot tell which grid to read",
                    hint="Pass member=, e.g. read_ipcc_ddc_grid(path, member='crad6190').",
                )
            member = data_files[0]
        elif member not in names:
            raise FormatError(
                f"{path}: no member {member!r}; the zip holds {', '.join(names)}",
                hint="Pass one of the listed member names.",
            )
        try:
            return zf.read(member), f"{path}:{member}"
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ArchiveError(
                f"{path}: corrupt zip member {member!r} ({exc})",
                hint="Delete the file and fetch it again; the download was probably cut short.",
            ) from None


def _parse_header(lines: list[bytes], label: str) -> tuple[dict[str, float], int]:
    """Header values and the number of header lines (1 or 2)."""
    first = lines[0].decode("ascii", "replace").split() if lines else []
    keys_low = [t.lower() for t in first]
    header: dict[str, float] = {}
    n_lines = 0
    if keys_low and all(k in _HEADER_KEYS for k in keys_low) and len(lines) > 1:
        values = lines[1].decode("ascii", "replace").split()
        if len(values) == len(keys_low):
            try:
                header = {k: float(v) for k, v in zip(keys_low, values, strict=True)}
            except ValueError:
                header = {}
            n_lines = 2
    elif len(first) >= 2 and len(first) % 2 == 0:  # "grd_sz 0.50 xmin 0.25 ..." pairs
        try:
            header = {first[i].lower(): float(first[i + 1]) for i in range(0, len(first), 2)}
            n_lines = 1
        except ValueError:
            header = {}
    missing = [k for k in _HEADER_KEYS if k not in header]
    if missing:
        raise FormatError(
            f"{label}: not an IPCC-DDC grid header; missing {', '.join(missing)} "
            f"(expected keys {' '.join(_HEADER_KEYS)})",
            hint=_HINT_FORMAT,
        )
    return header, n_lines


def read_ipcc_ddc_grid(
    path: str | os.PathLike[str],
    member: str | None = None,
    *,
    name: str = "cloud_cover",
    units: str = "%",
    long_name: str = "cloud cover, monthly mean 1961-1990 (CRU CL 1.0)",
    source: str = "cru_cl_1_0",
) -> xr.DataArray:
    """Read an IPCC-DDC ASCII grid (plain or zipped) into the canonical form.

    Parameters
    ----------
    path
        ``.zip`` archive or plain grid file.
    member
        Zip member to read; may be omitted when the zip holds one data file.
    name, units, long_name, source
        Output name and attributes. For radiation use e.g.
        ``name="radiation", units="W m-2"``.

    Returns
    -------
    xarray.DataArray
        Dims ``(month, lat, lon)`` (month = 1..n_months), float32, -9999 → NaN.

    Raises
    ------
    FormatError
        Missing file or member, bad header, a row of the wrong width, or fewer or
        more data rows than ``n_rows × n_months``.
    ArchiveError
        A truncated or corrupt zip archive.
    UnitError
        Cloud cover (``name`` cloud_cover/cloud_fraction) whose values contradict
        ``units``.
    """
    path = Path(path)
    raw, label = _read_bytes(path, member)
    lines = raw.splitlines()
    header, n_head = _parse_header(lines, label)
    n_cols, n_rows, n_months = (int(header[k]) for k in ("n_cols", "n_rows", "n_months"))
    step = header["grd_sz"]
    rows = [ln.rstrip(b"\r") for ln in lines[n_head:]]
    while rows and not rows[-1].strip():
        rows.pop()
    expected = n_rows * n_months
    if len(rows) != expected:
        raise FormatError(
            f"{label}: expected {expected} data rows ({n_months} months x {n_rows} rows), "
            f"found {len(rows)}; the file is truncated or not this grid",
            hint=_HINT_FORMAT,
        )
    width = n_cols * _FIELD_WIDTH
    for i, row in enumerate(rows):
        if len(row) != width:
            raise FormatError(
                f"{label}: data row {i + 1} (line {i + 1 + n_head}) has {len(row)} characters, "
                f"expected {width} ({n_cols} fields of width {_FIELD_WIDTH})",
                hint=_HINT_FORMAT,
            )
    try:
        values = np.frombuffer(b"".join(rows), dtype=f"S{_FIELD_WIDTH}").astype(np.float32)
    except ValueError as exc:
        raise FormatError(
            f"{label}: non-numeric field in the data rows ({exc})", hint=_HINT_FORMAT
        ) from exc
    values = values.reshape(n_months, n_rows, n_cols)
    values[values == IPCC_MISSING] = np.nan

    lon = header["xmin"] + step * np.arange(n_cols)
    lat = header["ymax"] - step * np.arange(n_rows)
    tol = step * 1e-3
    if abs(lon[-1] - header["xmax"]) > tol or abs(lat[-1] - header["ymin"]) > tol:
        raise FormatError(
            f"{label}: header is inconsistent: {n_cols} x {n_rows} cells of {step:g} deg "
            f"from xmin {header['xmin']:g}/ymax {header['ymax']:g} do not end at "
            f"xmax {header['xmax']:g}/ymin {header['ymin']:g}",
            hint=_HINT_FORMAT,
        )
    da = xr.DataArray(
        values,
        dims=("month", "lat", "lon"),
        coords={"month": np.arange(1, n_months + 1), "lat": lat, "lon": lon},
    )
    da = canonicalize(
        da,
        name=name,
        units=units,
        long_name=long_name,
        source=source,
        file=label,
        attrs={
            "citation": "New M, Hulme M, Jones PD (1999) J. Climate 12:829-856",
            "period": "1961-1990",
        },
    )
    if is_cloud_variable(name, da.attrs):
        check_units(da, da.attrs["units"], label)
    return da
