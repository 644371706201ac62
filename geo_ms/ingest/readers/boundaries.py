"""Natural Earth boundary files as published (zipped shapefile, shapefile, GeoJSON).

The reader returns the raw attribute table in EPSG:4326; region sets are built from it
by :mod:`geo_ms.exposures.regions`.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio.errors

from geo_ms.errors import CRSError, FormatError

__all__ = ["READ_ERRORS", "read_natural_earth"]

#: Exceptions of GDAL/pyogrio that mean "not a readable vector file".
READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, OSError)


def read_natural_earth(
    path: str | os.PathLike[str], *, member: str | None = None
) -> gpd.GeoDataFrame:
    """Read a Natural Earth boundary file as it is published (all its attributes).

    Parameters
    ----------
    path
        A zipped shapefile (``.zip``), a ``zip://<file>.zip!<member>`` URL, a ``.shp``
        or a ``.geojson``/``.json`` file.
    member
        The file inside a ``.zip`` to read; by default the only ``.shp`` in it.

    Returns
    -------
    geopandas.GeoDataFrame
        The raw table in EPSG:4326 (no renaming; pass it to :func:`countries` or
        :func:`admin1`).

    Raises
    ------
    FormatError
        The file is missing, not a readable vector file, or a ``.zip`` holds no
        (or several) shapefiles and *member* was not given.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, shapely
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> gpd.GeoDataFrame({"ADM0_A3": ["XXA"]}, geometry=[shapely.box(0, 0, 1, 1)],
    ...                  crs="EPSG:4326").to_file(d / "t.geojson")
    >>> read_natural_earth(d / "t.geojson")["ADM0_A3"].tolist()
    ['XXA']
    """
    text = os.fspath(path)
    if text.startswith("zip://"):
        zip_part, _, inner = text[len("zip://") :].partition("!")
        zip_path, member = Path(zip_part), member or (inner or None)
    elif text.lower().endswith(".zip"):
        zip_path = Path(text)
    else:
        zip_path = None
    if zip_path is not None:
        if not zip_path.is_file():
            raise FormatError(
                f"{zip_path}: Natural Earth archive not found",
                hint="fetch it first ('geo-ms data fetch <id>') or give the right path",
            )
        try:
            with zipfile.ZipFile(zip_path) as zf:
                names = zf.namelist()
        except zipfile.BadZipFile as exc:
            raise FormatError(
                f"{zip_path}: not a readable zip archive ({exc})",
                hint="delete the file and fetch it again",
            ) from None
        if member is None:
            shps = [n for n in names if n.lower().endswith(".shp")]
            if len(shps) != 1:
                raise FormatError(
                    f"{zip_path}: holds {len(shps)} shapefiles ({', '.join(shps) or 'none'})",
                    hint="name the one to read with member='<name>.shp'",
                )
            member = shps[0]
        elif member not in names:
            raise FormatError(
                f"{zip_path}: has no member {member!r}",
                hint=f"choose one of: {', '.join(n for n in names if n.lower().endswith('.shp'))}",
            )
        source = f"zip://{zip_path.resolve()}!{member}"
        label = f"{zip_path}!{member}"
    else:
        if not Path(text).is_file():
            raise FormatError(
                f"{text}: Natural Earth file not found",
                hint="fetch it first ('geo-ms data fetch <id>') or give the right path",
            )
        source = label = text
    # Natural Earth DBFs are UTF-8 but ship without a .cpg file, so GDAL would decode
    # them as ISO-8859-1 ("CuraÃ§ao"); say UTF-8 for shapefiles.
    kwargs = {"encoding": "utf-8"} if label.lower().endswith(".shp") else {}
    try:
        gdf = gpd.read_file(source, **kwargs)
    except READ_ERRORS as exc:
        raise FormatError(
            f"{label}: not a readable vector file ({exc})",
            hint="check that it is a shapefile/GeoJSON; delete it and fetch it again",
        ) from None
    if gdf.crs is None:
        raise CRSError(
            f"{label}: has no CRS",
            hint="Natural Earth is in lon/lat degrees: gdf.set_crs('EPSG:4326'), or restore "
            "the .prj file",
        )
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    gdf.attrs["source_path"] = label
    return gdf
