"""Out-of-core exact zonal means of one huge raster band, read window by window.

A 0.01° global field (36,000 × 18,000 cells) would need coverage weights with over
200 million entries, and its values alone take 2.6 GB as float32. Here the raster is
never loaded whole: it is read in strips of whole block rows (a few hundred rows
across the full width), and for each strip exactextract adds up, per region,

* ``Σ v·f·A`` (``sum(coverage_weight=area_spherical_m2)``),
* ``Σ f·A`` over the valid cells (``count(coverage_weight=area_spherical_m2)``),
* ``Σ f·A`` over all cells (the same on an all-valid source),

for the regions whose bounding box meets the strip. Strip edges run along cell
edges, so every cell is counted once with its exact covered fraction, and the final
``Σ v·f·A / Σ f·A`` is exactextract's ``mean(coverage_weight=area_spherical_m2)``
(up to the order of summation). GDAL's block cache is bounded by ``GDAL_CACHEMAX``,
so the resident memory is a few strips whatever the size of the file.

>>> import tempfile, pathlib, numpy as np, rasterio, geopandas as gpd, shapely
>>> from rasterio.transform import from_origin
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.tif"
>>> with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1,
...                    dtype="float32", crs="EPSG:4326",
...                    transform=from_origin(0, 4, 1, 1)) as dst:
...     dst.write(np.arange(16, dtype="float32").reshape(4, 4), 1)
>>> reg = gpd.GeoDataFrame({"region_id": ["col0"]}, geometry=[shapely.box(0, 3, 1, 4)],
...                        crs="EPSG:4326")
>>> stream_zonal_mean(path, reg, window_rows=1)["t"].tolist()
[0.0]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_ms.errors import CRSError, FormatError, GridError
from geo_ms.exposures.weights import GridSpec, _region_ids, _report_empty, check_crs

__all__ = ["DEFAULT_GDAL_CACHE_MB", "DEFAULT_WINDOW_CELLS", "raster_grid", "stream_zonal_mean"]

#: Bound on GDAL's block cache while streaming (MB).
DEFAULT_GDAL_CACHE_MB = 256
#: Target number of cells read per strip (rounded to whole block rows).
DEFAULT_WINDOW_CELLS = 8_000_000

_OPS = ["sum(coverage_weight=area_spherical_m2)", "count(coverage_weight=area_spherical_m2)"]


def raster_grid(path: str | os.PathLike[str]) -> GridSpec:
    """The :class:`~geo_ms.exposures.weights.GridSpec` of a north-up lat/lon raster file.

    Raises
    ------
    FormatError
        The file is missing or not readable by GDAL.
    GridError
        The raster is rotated or south-up.
    CRSError
        No CRS, or a projected one.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rasterio
    >>> from rasterio.transform import from_origin
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.tif"
    >>> with rasterio.open(p, "w", driver="GTiff", width=360, height=180, count=1,
    ...                    dtype="float32", crs="EPSG:4326",
    ...                    transform=from_origin(-180, 90, 1, 1)) as dst:
    ...     pass
    >>> g = raster_grid(p)
    >>> (g.ny, g.nx, g.west, g.north, g.dx, g.dy)
    (180, 360, -180.0, 90.0, 1.0, 1.0)
    """
    with _open(path) as src:
        return _grid_of(src, str(path))


def stream_zonal_mean(
    path: str | os.PathLike[str],
    regions: gpd.GeoDataFrame,
    *,
    band: int = 1,
    id_column: str = "region_id",
    window_rows: int | None = None,
    window_cells: int = DEFAULT_WINDOW_CELLS,
    gdal_cache_mb: int = DEFAULT_GDAL_CACHE_MB,
    name: str | None = None,
) -> pd.DataFrame:
    """Exact area-weighted mean of one band of a raster file, without loading it whole.

    Parameters
    ----------
    path
        A GeoTIFF (or any GDAL raster) on a north-up lat/lon grid; tiled and
        compressed files stream best.
    regions
        Canonical regions (unique *id_column*) in the raster's CRS; parts beyond ±180°
        are wrapped first.
    band
        1-based band number.
    window_rows
        Rows per strip; by default as many whole block rows as fit in *window_cells*.
    window_cells
        Target cells per strip when *window_rows* is not given.
    gdal_cache_mb
        ``GDAL_CACHEMAX`` while reading (MB).
    name
        Column name of the result (default: the band description, else the file stem).

    Returns
    -------
    pandas.DataFrame
        Index ``region_id``; one column with the mean, and ``valid_fraction``
        (``Σ f·A`` over valid cells / over all cells). Cells equal to the file's
        nodata value, NaN or infinite drop out. ``attrs["path"] = "stream"`` and
        ``attrs["windows"]`` (the number of strips read).

    Raises
    ------
    FormatError
        Missing or unreadable file, or no such band.
    GridError, CRSError
        As :func:`raster_grid`; GridError also when no region meets a valid cell.
    """
    import rasterio
    from rasterio.windows import Window

    from geo_ms.exposures.zonal import _wrapped

    with rasterio.Env(GDAL_CACHEMAX=int(gdal_cache_mb)), _open(path) as src:
        grid = _grid_of(src, str(path))
        if not 1 <= band <= src.count:
            raise FormatError(
                f"{path}: has no band {band} (bands 1..{src.count})",
                hint=f"choose band=1..{src.count}",
            )
        check_crs(grid, regions, label="raster file")
        regions = _wrapped(regions)
        ids = _region_ids(regions, id_column)
        label = name or src.descriptions[band - 1] or Path(path).stem
        rows = _window_rows(src, band, window_rows, window_cells)
        nodata = src.nodatavals[band - 1]
        geoms = regions[[regions.geometry.name]].reset_index(drop=True)
        bounds = np.asarray(geoms.geometry.bounds.to_numpy(), dtype=float)  # minx miny maxx maxy
        n = len(ids)
        num, den, tot = np.zeros(n), np.zeros(n), np.zeros(n)
        n_windows = 0
        for r0 in range(0, grid.ny, rows):
            r1 = min(grid.ny, r0 + rows)
            north = grid.north - r0 * grid.dy
            south = grid.north - r1 * grid.dy
            hit = np.flatnonzero((bounds[:, 1] < north) & (bounds[:, 3] > south))
            if hit.size == 0:
                continue
            arr = src.read(band, window=Window(0, r0, grid.nx, r1 - r0), masked=False)
            n_windows += 1
            values = _as_float(arr, nodata)
            s, c, t = _strip_sums(values, grid, north, south, geoms.iloc[hit])
            num[hit] += s
            den[hit] += c
            tot[hit] += t
            del arr, values
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        frac = np.where(tot > 0, den / np.where(tot > 0, tot, 1.0), 0.0)
    out = pd.DataFrame({label: mean}, index=pd.Index(ids, name="region_id"))
    out["valid_fraction"] = frac
    out = _report_empty(out, [label])
    out.attrs["path"] = "stream"
    out.attrs["windows"] = n_windows
    return out


# --------------------------------------------------------------------------- private


def _open(path: str | os.PathLike[str]) -> Any:
    import rasterio
    from rasterio.errors import RasterioIOError

    if not Path(path).is_file():
        raise FormatError(
            f"{path}: raster file not found",
            hint="check the path (write large fields as tiled GeoTIFFs)",
        )
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        raise FormatError(
            f"{path}: not a raster GDAL can read ({exc})",
            hint="check that it is a GeoTIFF (or another GDAL format); write it again",
        ) from None


def _grid_of(src: Any, label: str) -> GridSpec:
    from pyproj import CRS

    t = src.transform
    if t.b != 0 or t.d != 0:
        raise GridError(
            f"{label}: rotated or sheared geotransform {tuple(t)[:6]}",
            hint="warp it to a north-up lat/lon grid first (gdalwarp -t_srs EPSG:4326)",
        )
    if t.e >= 0:
        raise GridError(
            f"{label}: south-up raster (positive row step {t.e})",
            hint="flip it to north-up (gdalwarp writes north-up files)",
        )
    if src.crs is None:
        raise CRSError(
            f"{label}: no CRS",
            hint="assign one: gdal_edit.py -a_srs EPSG:4326 <file>",
        )
    crs = CRS.from_user_input(src.crs.to_wkt())
    if not crs.is_geographic:
        raise CRSError(
            f"{label}: CRS is projected; zonal means need lat/lon degrees",
            hint="warp it to EPSG:4326: gdalwarp -t_srs EPSG:4326 in.tif out.tif",
        )
    return GridSpec(
        ny=int(src.height),
        nx=int(src.width),
        west=float(t.c),
        north=float(t.f),
        dx=float(t.a),
        dy=float(-t.e),
        crs_wkt=crs.to_wkt(),
    )


def _window_rows(src: Any, band: int, window_rows: int | None, window_cells: int) -> int:
    if window_rows is not None:
        if window_rows < 1:
            raise GridError(
                f"window_rows={window_rows}: must be at least 1",
                hint="give a positive number of rows per strip (or leave it None)",
            )
        return int(window_rows)
    block_h = int(src.block_shapes[band - 1][0]) or 1
    per_block = max(1, int(window_cells) // max(1, src.width) // block_h)
    return per_block * block_h


def _as_float(arr: np.ndarray, nodata: float | None) -> np.ndarray:
    values = arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
    if nodata is not None and not np.isnan(nodata):
        values = np.where(values == nodata, np.nan, values)
    elif np.issubdtype(values.dtype, np.floating):
        bad = ~np.isfinite(values)
        if bad.any():
            values = np.where(bad, np.nan, values)
    return values


def _strip_sums(
    values: np.ndarray, grid: GridSpec, north: float, south: float, geoms: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Σ v·f·A``, valid ``Σ f·A`` and total ``Σ f·A`` of each region on one strip."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    west, east = grid.west, grid.west + grid.nx * grid.dx
    src_v = NumPyRasterSource(values, west, south, east, north, name="v", srs_wkt=grid.crs_wkt)
    zeros = np.broadcast_to(values.dtype.type(0), values.shape)
    src_all = NumPyRasterSource(zeros, west, south, east, north, name="all", srs_wkt=grid.crs_wkt)
    res = exact_extract([src_v, src_all], geoms, _OPS, output="pandas")
    s = np.nan_to_num(res["v_sum"].to_numpy(float), nan=0.0)
    c = np.nan_to_num(res["v_count"].to_numpy(float), nan=0.0)
    t = np.nan_to_num(res["all_count"].to_numpy(float), nan=0.0)
    return s, c, t
