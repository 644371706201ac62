"""Reader for the MODIS Terra MOD08_M3 cloud-fraction JSON grid (``cloud_fraction_1deg.json``).

The file is one JSON object: ``nx``, ``ny``, ``lat0``/``lat1``, ``lon0``/``lon1``
describe a regular grid of cell centres, ``units`` is ``"fraction (0-1)"`` and
``cloud_fraction`` is a flat row-major list: index ``j*nx + i`` is at
``lat0 + j*dlat``, ``lon0 + i*dlon`` -- **row 0 is the southernmost row**
(79.5°S). The grid covers 79.5°S-79.5°N only; the reader pads it to the full
globe with NaN polar rows, giving the same 1° grid as the netCDF copy.

>>> import json, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "c.json"
>>> _ = p.write_text(json.dumps({"nx": 2, "ny": 2, "lat0": -45.0, "lat1": 45.0,
...     "lon0": -90.0, "lon1": 90.0, "cloud_fraction": [0.1, 0.2, 0.3, None]}))
>>> da = read_modis_cloud_json(p, pad_global=False)
>>> da.lat.values.tolist(), da.values.tolist()
([45.0, -45.0], [[0.3, nan], [0.1, 0.2]])
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from geo_ms.errors import FormatError
from geo_ms.ingest.readers._canonical import canonicalize, check_units

__all__ = ["read_modis_cloud_json"]

_HINT = "Fetch the file again: it should be the MODIS cloud_fraction_1deg.json grid."
_LONG_NAME = "cloud fraction, day+night, annual mean 2020-2023 (MODIS Terra MOD08_M3)"


def _step(meta: dict, lo: str, hi: str, n: int) -> float:
    if hi in meta and n > 1:
        return (float(meta[hi]) - float(meta[lo])) / (n - 1)
    return 1.0


def read_modis_cloud_json(
    path: str | os.PathLike[str],
    *,
    pad_global: bool = True,
    source: str = "modis_mod08m3_cloud_fraction",
) -> xr.DataArray:
    """Read the MODIS cloud-fraction JSON into the canonical ``(lat, lon)`` form.

    Parameters
    ----------
    path
        The JSON file.
    pad_global
        Extend the latitudes to the whole globe (±90) with NaN rows, so the grid
        equals the netCDF copy's (default). False keeps the file's rows only.
    source
        ``attrs["source"]``.

    Returns
    -------
    xarray.DataArray
        ``cloud_fraction``, units ``1`` (fraction 0-1), ``null`` → NaN.

    Raises
    ------
    FormatError
        Not JSON, keys missing, or a value count other than ``nx*ny``.
    UnitError
        Values that look like percent.
    """
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FormatError(f"{path}: file not found", hint=_HINT) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not valid JSON ({exc})", hint=_HINT) from exc
    missing = [k for k in ("nx", "ny", "lat0", "lon0", "cloud_fraction") if k not in meta]
    if not isinstance(meta, dict) or missing:
        raise FormatError(f"{path}: missing key(s) {', '.join(missing)}", hint=_HINT)
    nx, ny = int(meta["nx"]), int(meta["ny"])
    values = np.array(meta["cloud_fraction"], dtype=np.float64)
    if values.ndim != 1 or values.size != nx * ny:
        raise FormatError(
            f"{path}: cloud_fraction has {values.size} values, expected nx*ny = {nx}*{ny} "
            f"= {nx * ny}",
            hint=_HINT,
        )
    dlat, dlon = _step(meta, "lat0", "lat1", ny), _step(meta, "lon0", "lon1", nx)
    lat = float(meta["lat0"]) + dlat * np.arange(ny)
    lon = float(meta["lon0"]) + dlon * np.arange(nx)
    da = xr.DataArray(values.reshape(ny, nx), dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    if pad_global:
        south, north = min(lat[0], lat[-1]), max(lat[0], lat[-1])
        step = abs(dlat)
        n_s = int(np.floor((south + 90.0) / step + 1e-9))
        n_n = int(np.floor((90.0 - north) / step + 1e-9))
        full = np.concatenate(
            [
                south - step * np.arange(n_s, 0, -1),
                np.sort(lat),
                north + step * np.arange(1, n_n + 1),
            ]
        )
        da = da.sortby("lat").reindex(lat=full, method="nearest", tolerance=step * 1e-3)
        da = da.assign_coords(lat=np.round(full, 9))
    units = str(meta.get("units", "1"))
    out = canonicalize(
        da,
        name="cloud_fraction",
        units="1" if "fraction" in units or units in {"1", ""} else units,
        long_name=_LONG_NAME,
        source=source,
        file=path,
        attrs={
            "period": "annual mean 2020-2023",
            "citation": "Platnick et al., MODIS Atmosphere L3 Monthly Product, "
            "doi:10.5067/MODIS/MOD08_M3.061",
        },
    )
    return check_units(out, "1", path)
