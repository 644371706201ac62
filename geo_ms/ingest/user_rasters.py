"""User exposure rasters declared as ``[[exposures.user]]`` tables of the configuration.

One table per raster (see ``docs/your_own_exposure.md``)::

    [[exposures.user]]
    id = "rad_wm2"            # column name in exposures.csv and the analysis table
    path = "rad.tif"          # GeoTIFF or netCDF, relative to the configuration file
    variable = ""             # netCDF variable (required when the file has several)
    label = "Solar radiation, CRU CL 1.0"
    units = "W m-2"
    bands = "single"          # "single" | "months" (12 bands, January first)
    sha256 = ""               # optional: refuse the file when its bytes differ
    crs = ""                  # "EPSG:…" for a file that declares no CRS
    licence = ""              # the file's licence, shown in the report

:func:`check_entries` validates the tables when the configuration is read;
:func:`source` gives the provenance record of a file (its sha256 — the stage cache
key — checked against ``sha256``); :func:`load` reads it through
:func:`geo_ms.ingest.readers.read_user_raster`, the reader layer of every raster.

>>> e = check_entries([{"id": "rad_wm2", "path": "rad.tif", "units": "W m-2"}], "my.toml")
>>> e[0]["bands"], e[0]["label"]
('single', 'rad_wm2')
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import xarray as xr

from geo_ms.errors import ChecksumError, ConfigError, FormatError

__all__ = ["ENTRY_DEFAULTS", "REQUIRED_KEYS", "check_entries", "describe", "load", "provenance", "source",
           "sources"]

#: Every key of a ``[[exposures.user]]`` table with its default.
ENTRY_DEFAULTS: dict[str, str] = {
    "id": "", "path": "", "variable": "", "label": "", "units": "", "bands": "single",
    "sha256": "", "crs": "", "licence": "",
}

#: Keys without which a table is refused.
REQUIRED_KEYS: tuple[str, ...] = ("id", "path", "units")

_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
_SHA = re.compile(r"[0-9a-f]{64}")


def check_entries(entries: Any, where: str) -> list[dict[str, str]]:
    """Validate ``[[exposures.user]]`` tables and fill in their defaults.

    Raises
    ------
    ConfigError
        Not a list of tables, an unknown key (naming the closest valid key), a missing
        or non-text value, an id that is not a column name or appears twice, a
        ``bands`` other than ``single``/``months``, a malformed ``sha256``.

    Examples
    --------
    >>> check_entries([{"id": "rad", "pth": "r.tif", "units": "1"}], "c.toml")
    Traceback (most recent call last):
    ...
    geo_ms.errors.ConfigError: c.toml: unknown key 'pth' in [[exposures.user]] table 1 (did you mean 'path'?)
    """
    from geo_ms.ingest.readers.user_raster import BAND_LAYOUTS

    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{where}: 'exposures.user' must be a list of tables",
                          hint='Write each raster as a [[exposures.user]] table with id, path '
                               'and units keys')
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, start=1):
        label = f"[[exposures.user]] table {n}"
        for key, value in entry.items():
            if key not in ENTRY_DEFAULTS:
                close = difflib.get_close_matches(key, list(ENTRY_DEFAULTS), n=1, cutoff=0.5)
                sugg = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(f"{where}: unknown key '{key}' in {label}{sugg}",
                                  hint=(f"Write '{close[0]}'. " if close else "")
                                  + f"Valid keys: {', '.join(ENTRY_DEFAULTS)}")
            if not isinstance(value, str):
                raise ConfigError(f"{where}: key '{key}' in {label} must be a string, got "
                                  f"{value!r}", hint=f'Write it in quotes: {key} = "{value}"')
        for key in REQUIRED_KEYS:
            if not str(entry.get(key, "")).strip():
                raise ConfigError(f"{where}: {label} has no '{key}'",
                                  hint="Each [[exposures.user]] table needs id, path and units")
        e = {**ENTRY_DEFAULTS, **entry}
        label = f"[[exposures.user]] id = {e['id']!r}"
        if not _ID.fullmatch(e["id"]):
            raise ConfigError(
                f"{where}: {label} is not a column name (lower-case letters, digits and _, "
                "starting with a letter)", hint='Use an id like "rad_wm2"')
        if e["id"] in seen:
            raise ConfigError(f"{where}: {label} appears twice",
                              hint="Give each user raster its own id")
        seen.add(e["id"])
        if e["bands"] not in BAND_LAYOUTS:
            close = difflib.get_close_matches(e["bands"], BAND_LAYOUTS, n=1)
            sugg = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where}: {label}: bands = {e['bands']!r} is not one of "
                              f"{', '.join(BAND_LAYOUTS)}.{sugg}",
                              hint='Use bands = "single" (one field) or "months" (12 bands, '
                                   "January first)")
        e["sha256"] = e["sha256"].strip().lower()
        if e["sha256"] and not _SHA.fullmatch(e["sha256"]):
            raise ConfigError(f"{where}: {label}: sha256 is not 64 hexadecimal digits",
                              hint="Paste the output of `sha256sum FILE`, or leave it empty")
        e["label"] = e["label"] or e["id"]
        out.append(e)
    return out


def source(entry: dict[str, str]) -> dict[str, Any]:
    """Provenance record of a user raster (the shape of the catalog's source records).

    The file's sha256 is computed from its bytes (it keys the stage cache); when the
    entry gives ``sha256`` the two must agree.

    Raises
    ------
    FormatError
        The file does not exist.
    ChecksumError
        Its sha256 differs from the entry's ``sha256``.
    """
    from geo_ms.ingest.datasets import _sha

    p = Path(entry["path"])
    if not p.is_file():
        raise FormatError(f"{p}: file not found ([[exposures.user]] id = {entry['id']!r})",
                          hint="Check path (relative paths are relative to the configuration "
                               "file)")
    sha = _sha(p)
    if entry.get("sha256") and sha != entry["sha256"]:
        raise ChecksumError(
            f"{p}: sha256 {sha} differs from the configured {entry['sha256']} "
            f"([[exposures.user]] id = {entry['id']!r})",
            hint="The file changed since its sha256 was written down: use the intended file, "
                 "or update sha256 in the configuration")
    return {
        "id": f"user:{entry['id']}",
        "title": f"{entry['label']} (your raster '{entry['id']}', {p.name})",
        "kind": "user raster",
        "licence": entry.get("licence") or "not stated by the user",
        "citation": "your own raster, as declared in [[exposures.user]]",
        "files": [{"name": p.name, "path": str(p), "sha256": sha}],
        "sha256": sha,
        "status": "user file",
        "units": entry["units"],
        "bands": entry["bands"],
    }


def sources(ecfg: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`source` of every ``[[exposures.user]]`` raster of an ``[exposures]`` section.

    A stage that reads user rasters puts these records (with each file's sha256) into
    its cache key, so changing a file's bytes recomputes the stage.

    >>> sources({"user": []})
    []
    """
    return [source(e) for e in ecfg.get("user") or []]


def describe(rec: dict[str, Any], prov: dict[str, Any]) -> str:
    """One line for the run log and the report's data sources.

    >>> describe({"files": [{"name": "r.tif", "sha256": "ab" * 32}]},
    ...          {"format": "GeoTIFF", "units": "W m-2", "scale": 1.0, "offset": 0.0,
    ...           "nodata": -9999.0, "crs": "EPSG:4326", "bands": "single"})[:61]
    'r.tif (GeoTIFF): units W m-2; scale 1, offset 0; nodata -9999'
    """
    f = rec["files"][0]

    def num(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float | int) else str(v)

    return (f"{f['name']} ({prov.get('format', '')}): units {prov.get('units', '')}; "
            f"scale {num(prov.get('scale', 1.0))}, offset {num(prov.get('offset', 0.0))}; "
            f"nodata {num(prov.get('nodata', 'none'))}; CRS {prov.get('crs', '')}; bands "
            f"{prov.get('bands', '')}; sha256 {f['sha256']}")


def load(entry: dict[str, str]) -> xr.DataArray:
    """Read the raster of an entry (canonical form, see ``read_user_raster``)."""
    from geo_ms.ingest.readers.user_raster import read_user_raster

    return read_user_raster(entry["path"], name=entry["id"], units=entry["units"],
                            long_name=entry["label"], variable=entry.get("variable", ""),
                            bands=entry["bands"], crs=entry.get("crs", ""),
                            source=f"user:{entry['id']}")


def provenance(entry: dict[str, str], da: xr.DataArray) -> dict[str, Any]:
    """What the reader found in the file: format, scale, offset, nodata, CRS.

    >>> import xarray as xr
    >>> da = xr.DataArray([[1.0]], attrs={"file_format": "GeoTIFF", "file_scale": 1.0,
    ...     "file_offset": 0.0, "file_nodata": -9999.0, "file_crs": "EPSG:4326"})
    >>> provenance({"units": "W m-2", "bands": "single"}, da)["nodata"]
    -9999.0
    """
    a = da.attrs
    return {"format": a.get("file_format", ""), "scale": a.get("file_scale", 1.0),
            "offset": a.get("file_offset", 0.0), "nodata": a.get("file_nodata", "none"),
            "crs": a.get("file_crs", ""), "units": entry["units"], "bands": entry["bands"]}
