"""GeoTIFF readers: one float GeoTIFF, or NASA NEO monthly float GeoTIFFs.

NEO exports (e.g. ``MODAL2_M_CLD_FR_2020-01.FLOAT.TIFF``, MODIS cloud fraction)
are single-band float32 GeoTIFFs in EPSG:4326 with nodata 99999. The month is
taken from the ``YYYY-MM`` in the file name (several years of the same month are
averaged into a climatology), or from the list order when names carry no month.

>>> import tempfile, pathlib, numpy as np, rasterio
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.tif"
>>> with rasterio.open(p, "w", driver="GTiff", width=2, height=1, count=1,
...                    dtype="float32", crs="EPSG:4326", nodata=99999.0,
...                    transform=rasterio.Affine(180, 0, -180, 0, -180, 90)) as dst:
...     dst.write(np.array([[0.25, 99999.0]], "float32"), 1)
>>> da = read_geotiff(p, name="cloud_fraction", units="1")
>>> da.lat.values.tolist(), da.lon.values.tolist(), da.values.tolist()
([0.0], [-90.0, 90.0], [[0.25, nan]])
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from geo_ms.errors import CRSError, FormatError, GridError
from geo_ms.ingest.readers._canonical import canonicalize, check_units, is_cloud_variable

__all__ = ["NEO_NODATA", "read_geotiff", "read_neo_geotiff"]

#: nodata value of NASA NEO float GeoTIFFs.
NEO_NODATA = 99999.0

_MONTH_RE = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?!\d)")


def read_geotiff(
    path: str | os.PathLike[str],
    *,
    name: str,
    units: str,
    long_name: str | None = None,
    source: str | None = None,
    band: int = 1,
    nodata: float | None = None,
) -> xr.DataArray:
    """Read one band of a geographic GeoTIFF into the canonical ``(lat, lon)`` form.

    Parameters
    ----------
    path
        GeoTIFF file (north-up, no rotation).
    name, units, long_name, source
        Output name and attributes.
    band
        1-based band number.
    nodata
        Value to treat as missing in addition to the file's own nodata.

    Returns
    -------
    xarray.DataArray
        Cell-centre coordinates from the geotransform; nodata → NaN.

    Raises
    ------
    CRSError
        No CRS, a projected CRS, or a geographic CRS other than WGS 84.
    GridError
        Rotated geotransform, or every cell is nodata.
    FormatError
        Missing or unreadable file, or no such band.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    path = Path(path)
    label = str(path)
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise FormatError(
            f"{label}: cannot be opened as GeoTIFF ({exc})",
            hint="Check the path; delete the file and fetch it again if it is damaged.",
        ) from exc
    with src:
        if src.crs is None:
            raise CRSError(
                f"{label}: raster has no CRS; geo_ms needs geographic lat/lon (EPSG:4326)",
                hint=f"Set it if you know it is lat/lon: `gdal_edit.py -a_srs EPSG:4326 {path}` "
                "(or da.rio.write_crs('EPSG:4326')).",
            )
        if src.crs.is_projected:
            epsg = src.crs.to_epsg()
            crs_txt = f"EPSG:{epsg}" if epsg else src.crs.to_string()
            raise CRSError(
                f"{label}: is in a projected CRS ({crs_txt}); geo_ms needs geographic "
                "lat/lon (EPSG:4326). Reproject it first, e.g. with "
                "`gdalwarp -t_srs EPSG:4326`",
                hint=f"gdalwarp -t_srs EPSG:4326 {path} OUT.tif",
            )
        if src.crs.to_epsg() != 4326 and "WGS 84" not in (src.crs.to_wkt() or ""):
            raise CRSError(
                f"{label}: geographic CRS {src.crs.to_string()} is not WGS 84 (EPSG:4326)",
                hint=f"gdalwarp -t_srs EPSG:4326 {path} OUT.tif",
            )
        if not 1 <= band <= src.count:
            raise FormatError(
                f"{label}: has {src.count} band(s), band {band} requested",
                hint="Pass band= between 1 and the band count.",
            )
        t = src.transform
        if t.b != 0 or t.d != 0:
            raise GridError(
                f"{label}: geotransform is rotated/sheared; expected a north-up grid",
                hint=f"gdalwarp -t_srs EPSG:4326 {path} OUT.tif",
            )
        values = src.read(band).astype(np.float64)
        for nd in (src.nodata, nodata):
            if nd is not None:
                values[values == nd] = np.nan
        lon = t.c + (np.arange(src.width) + 0.5) * t.a
        lat = t.f + (np.arange(src.height) + 0.5) * t.e
    da = xr.DataArray(
        values.astype(np.float32), dims=("lat", "lon"), coords={"lat": lat, "lon": lon}
    )
    out = canonicalize(
        da,
        name=name,
        units=units,
        long_name=long_name or name,
        source=source or path.name,
        file=label,
    )
    if is_cloud_variable(name, out.attrs) and out.attrs["units"] in {"%", "1"}:
        check_units(out, out.attrs["units"], label)
    return out


def _month_of(path: Path) -> int | None:
    m = _MONTH_RE.search(path.name)
    if m is None:
        return None
    month = int(m.group(2))
    return month if 1 <= month <= 12 else None


def read_neo_geotiff(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    name: str = "cloud_fraction",
    units: str = "1",
    long_name: str = "cloud fraction, monthly climatology (NASA NEO MODAL2_M_CLD_FR)",
    source: str = "neo_modal2_m_cld_fr",
) -> xr.DataArray:
    """Read NASA NEO float GeoTIFFs into a monthly ``(month, lat, lon)`` climatology.

    Parameters
    ----------
    paths
        The files, or a folder holding them (``*.TIFF``/``*.tif``, sorted by name).
        Months come from ``YYYY-MM`` in the names; files of the same month from
        several years are averaged (NaN-aware). When no name carries a month, the
        list order gives the months and there must be 12 files.
    name, units, long_name, source
        Output name and attributes.

    Returns
    -------
    xarray.DataArray
        ``(month, lat, lon)``, nodata 99999 → NaN.

    Raises
    ------
    FormatError
        No files, some names with a month and some without, or no months in the
        names and not exactly 12 files.
    GridError
        Files on different grids.
    CRSError
        A file without CRS or in a projected CRS.
    """
    files = _expand(paths)
    if not files:
        raise FormatError(
            f"{paths}: no GeoTIFF files given or found",
            hint="Pass the 12 monthly NEO .TIFF files or the folder holding them.",
        )
    months = [_month_of(p) for p in files]
    if all(m is None for m in months):
        if len(files) != 12:
            raise FormatError(
                f"{files[0].parent}: {len(files)} files without YYYY-MM in their names; "
                "need 12 in month order",
                hint="Pass exactly 12 files ordered January..December, or keep NEO's names.",
            )
        months = list(range(1, 13))
    elif any(m is None for m in months):
        bad = [p.name for p, m in zip(files, months, strict=True) if m is None]
        raise FormatError(
            f"{files[0].parent}: cannot tell the month of {', '.join(bad)}",
            hint="Keep NEO's file names (..._YYYY-MM.FLOAT.TIFF) for every file.",
        )
    fields = []
    for path in files:
        fields.append(read_geotiff(path, name=name, units=units, source=source, nodata=NEO_NODATA))
    ref = fields[0]
    for path, da in zip(files[1:], fields[1:], strict=True):
        if da.shape != ref.shape or not (
            np.allclose(da.lat, ref.lat) and np.allclose(da.lon, ref.lon)
        ):
            raise GridError(
                f"{path}: grid {da.shape} differs from {files[0].name} {ref.shape}",
                hint="Export every month at the same resolution and extent.",
            )
        da.coords["lat"], da.coords["lon"] = ref.lat, ref.lon
    stack = xr.concat(fields, dim=xr.DataArray(months, dims="month", name="month"))
    clim = stack.groupby("month").mean(skipna=True)
    years = sorted({m.group(1) for p in files if (m := _MONTH_RE.search(p.name))})
    period = f"{years[0]}-{years[-1]}" if years else "monthly climatology"
    out = canonicalize(
        clim,
        name=name,
        units=units,
        long_name=long_name,
        source=source,
        file=files[0].parent,
        attrs={"period": period, "n_files": len(files)},
    )
    if is_cloud_variable(name, out.attrs) and out.attrs["units"] in {"%", "1"}:
        check_units(out, out.attrs["units"], files[0].parent)
    return out


def _expand(paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        p = Path(paths)
        if p.is_dir():
            return sorted(q for q in p.iterdir() if q.suffix.lower() in {".tif", ".tiff"})
        return [p]
    return [Path(p) for p in paths]
