"""Exception hierarchy of geo_ms.

Every error says *what* (the file or key), *the problem* and *the fix*. The CLI
prints ``str(error)`` on one line and ``error.hint`` on a second, then exits
non-zero; ``--debug`` shows the traceback.

>>> err = ChecksumError("data/raw/x.zip: SHA-256 mismatch", hint="delete it and fetch again")
>>> isinstance(err, DataSourceError), isinstance(err, GeoMSError)
(True, True)
>>> err.hint
'delete it and fetch again'
"""

from __future__ import annotations

__all__ = [
    "ArchiveError",
    "CRSError",
    "ChecksumError",
    "ConfigError",
    "DataSourceError",
    "DownloadError",
    "FormatError",
    "GeoMSError",
    "GridError",
    "LockError",
    "OutputError",
    "RegionMatchError",
    "SchemaError",
    "UnitError",
]


class GeoMSError(Exception):
    """Base class of every error geo_ms raises on purpose.

    Parameters
    ----------
    message
        One line: the file or key, then the problem.
    hint
        One line: how to fix it.
    """

    default_hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class DataSourceError(GeoMSError):
    """A dataset could not be found, fetched or opened."""

    default_hint = "Run 'geo-ms data list' to see each dataset's status and where to get it."


class DownloadError(DataSourceError):
    """A file is neither cached, in the mirror, nor downloadable."""


class ChecksumError(DataSourceError):
    """A file's SHA-256 differs from the one the catalog or lock file expects."""

    default_hint = "Delete the file and fetch it again; if the source really changed, update the catalog."


class ArchiveError(DataSourceError):
    """An archive is corrupt or tries to write outside its target folder."""


class FormatError(DataSourceError):
    """A file is not in the format its reader expects (empty, truncated, wrong type)."""


class SchemaError(GeoMSError):
    """A table lacks required columns, has bad values or duplicated keys."""


class UnitError(SchemaError):
    """Values are in another unit than expected (e.g. a 0-1 fraction where percent is due)."""


class CRSError(GeoMSError):
    """A raster or polygon set has no CRS, or not the geographic one geo_ms needs."""

    default_hint = "Set the CRS, e.g. da.rio.write_crs('EPSG:4326') or gdf.set_crs('EPSG:4326')."


class GridError(GeoMSError):
    """A raster grid is unusable: no lat/lon, no valid cells, or no overlap with the regions."""


class RegionMatchError(GeoMSError):
    """Region ids or names could not be matched to the region set."""


class ConfigError(GeoMSError):
    """A configuration key is unknown or has the wrong type."""


class LockError(GeoMSError):
    """Another geo_ms run holds the lock on the same output folder."""

    default_hint = "Wait for the other run to finish, or remove the stale lock file if none is running."


class OutputError(GeoMSError):
    """An output file or folder cannot be written (permissions, a full disk, a size limit)."""

    default_hint = "Free some space or make the output folders writable, then run again."
