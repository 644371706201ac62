"""Exact area-weighted (or population-weighted) zonal means of canonical rasters.

"Exact" means ``Σ v·f·A / Σ f·A`` over the cells a region touches, with ``f`` the
planar covered fraction of the cell and ``A`` its spherical area — exactextract's
``mean(coverage_weight=area_spherical_m2)`` (its plain ``mean`` weights by ``f`` only,
which over-weights high-latitude cells). NaN cells drop out of each band's weights.

Two equivalent paths:

* **direct** — one exactextract pass over all bands (single bands, ``use_cache=False``);
* **weights** — sparse coverage weights computed once per (grid, regions) and reused
  (:func:`coverage_weights`); the default for several bands and for population weights.

>>> import numpy as np, xarray as xr, geopandas as gpd, shapely
>>> lat = np.arange(89.5, -90, -1.0); lon = np.arange(-179.5, 180, 1.0)
>>> da = xr.DataArray(np.broadcast_to(lat[:, None], (180, 360)).copy(), name="lat_value",
...                   dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
>>> da = da.rio.write_crs("EPSG:4326")
>>> reg = gpd.GeoDataFrame({"region_id": ["eq"]}, geometry=[shapely.box(0, -1, 1, 1)],
...                        crs="EPSG:4326")
>>> zonal_mean(da, reg).round(12)["lat_value"].tolist()
[0.0]
"""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from geo_ms.errors import GridError, SchemaError
from geo_ms.exposures.weights import (
    CoverageWeights,
    GridSpec,
    _as_dataarray,
    _north_up,
    _region_ids,
    _report_empty,
    cell_areas_m2,
    check_crs,
    coverage_weights,
    extent_share,
    grid_spec,
    projected_cell_areas_m2,
    spatial_dims,
    valid_fractions,
    with_valid_fraction,
)

__all__ = [
    "CoverageWeights",
    "coverage_weights",
    "point_weighted_mean",
    "points_in_regions",
    "zonal_mean",
]

_DENSITY_UNITS = ("km-2", "km^-2", "km**-2", "/km2", "/km^2", "per km2", "m-2", "/m2", "per m2")


def zonal_mean(
    da: xr.DataArray,
    regions: gpd.GeoDataFrame,
    *,
    weights: str | xr.DataArray = "area",
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    id_column: str = "region_id",
) -> pd.DataFrame:
    """Mean of each band of *da* over each region.

    Parameters
    ----------
    da
        Canonical raster: dims ``(month|time|band, lat, lon)`` or ``(lat, lon)``,
        regular grid, CRS written with rioxarray (``lat`` may be ascending; it is
        flipped).
    regions
        Canonical regions (unique *id_column*, same CRS as *da*). Parts beyond ±180°
        are wrapped first (:func:`geo_ms.exposures.antimeridian.split_antimeridian`).
    weights
        ``"area"`` (``f·A``) or a population raster on the same grid. A population
        raster is read as **persons per cell** (weights ``f·P``: the people living in
        the covered part of each cell, assuming uniform density within it) unless its
        ``attrs["units"]`` is a density (``km-2``, ``/km2``, ``m-2``...), then the
        weights are ``f·A·density`` — the same thing expressed differently.
    use_cache
        Use the reusable coverage weights when there are several bands or population
        weights (``False``: always one direct exactextract pass; population weights
        always use the weights path).
    cache_dir
        Where coverage weights are cached on disk (``None``: in memory only).
    id_column
        The regions' id column.

    Returns
    -------
    pandas.DataFrame
        Index ``region_id`` (regions' order); one column per band labelled by the band
        coordinate (``month`` 1..12, ``time`` values) or, for a 2-D raster, one column
        named ``da.name`` (``"value"`` if unnamed); and ``valid_fraction`` (the share
        of the region's spherical area covered by valid cells,
        :func:`geo_ms.exposures.weights.valid_fractions`; the smallest over bands —
        below 1 where a land-only raster misses part of an island state or the region
        reaches beyond the raster); ``attrs["valid_fraction_bands"]`` per band.
        ``attrs["no_data_regions"]`` lists regions with no valid cell in some band;
        ``attrs["path"]`` is ``"direct"`` or ``"weights"``.

    Raises
    ------
    CRSError
        Raster without CRS or projected; regions without CRS or in another CRS.
    GridError
        Irregular grid, or no region overlaps any valid cell.
    SchemaError
        Missing or duplicated region ids.
    """
    da = _north_up(_as_dataarray(da))
    grid = grid_spec(da)
    check_crs(grid, regions)
    regions = regions if grid.projected else _wrapped(regions)
    ids = _region_ids(regions, id_column)
    band_dim, labels, stack = _bands(da)
    pop = weights if isinstance(weights, xr.DataArray) else None
    if pop is None and weights != "area":
        raise SchemaError(
            f"zonal_mean: unknown weights {weights!r}",
            hint="use weights='area' or a population DataArray on the raster's grid",
        )
    if pop is not None or (use_cache and len(labels) > 1) or grid.projected:
        cw = coverage_weights(da, regions, cache_dir, id_column=id_column)
        cell_w = _population_factor(pop, grid) if pop is not None else None
        out = cw.mean(stack, cell_weights=cell_w, columns=labels)
        out.attrs["path"] = "weights"
    else:
        out = _direct(stack, grid, regions, ids, labels)
        out.attrs["path"] = "direct"
    out.columns.name = band_dim
    out.attrs["weights"] = "population" if pop is not None else "area"
    return out


def point_weighted_mean(
    da: xr.DataArray,
    regions: gpd.GeoDataFrame,
    points: pd.DataFrame,
    *,
    id_column: str = "region_id",
) -> pd.DataFrame:
    """Population-weighted mean of *da* sampled at city points inside each region.

    The offline approximation of population weighting: each point takes the value of
    the grid cell that contains it, and ``Σ pop·v / Σ pop`` is formed over the points
    in each region (points on NaN cells drop out of that band). A point on a region's
    border counts for that region; on a border shared by two regions it counts once,
    for the first of them.

    Parameters
    ----------
    da
        Canonical raster (see :func:`zonal_mean`).
    regions
        Canonical regions in EPSG:4326 (or the raster's CRS).
    points
        Columns ``lat``, ``lon``, ``population``.

    Returns
    -------
    pandas.DataFrame
        Index ``region_id``; band columns as in :func:`zonal_mean`; ``n_points`` and
        ``population`` (the points used). ``attrs["no_data_regions"]`` lists regions
        with no point on a valid cell in some band.

    Examples
    --------
    >>> import numpy as np, xarray as xr, geopandas as gpd, pandas as pd, shapely
    >>> da = xr.DataArray(np.array([[1.0, 2.0], [3.0, np.nan]]), name="v", dims=("lat", "lon"),
    ...                   coords={"lat": [0.5, -0.5], "lon": [-0.5, 0.5]}).rio.write_crs(4326)
    >>> reg = gpd.GeoDataFrame({"region_id": ["r"]}, geometry=[shapely.box(-1, -1, 1, 1)],
    ...                        crs="EPSG:4326")
    >>> pts = pd.DataFrame({"lat": [0.5, 0.5, -0.5], "lon": [-0.5, 0.5, 0.5],
    ...                     "population": [100, 300, 1000]})
    >>> point_weighted_mean(da, reg, pts)[["v", "n_points"]].values.tolist()
    [[1.75, 3.0]]
    """
    missing = [c for c in ("lat", "lon", "population") if c not in points.columns]
    if missing:
        raise SchemaError(
            f"points table: missing column(s) {', '.join(missing)}",
            hint="give a DataFrame with lat, lon, population (readers.read_geonames_cities())",
        )
    da = _north_up(_as_dataarray(da))
    grid = grid_spec(da)
    check_crs(grid, regions)
    regions = regions if grid.projected else _wrapped(regions)
    ids = _region_ids(regions, id_column)
    band_dim, labels, stack = _bands(da)
    lat = np.asarray(points["lat"], dtype=float)
    lon = np.asarray(points["lon"], dtype=float)
    if grid.projected:  # points and regions in the raster's CRS (lat/lon hold y/x)
        from pyproj import CRS, Transformer

        to_grid = Transformer.from_crs("EPSG:4326", CRS.from_wkt(grid.crs_wkt), always_xy=True)
        lon, lat = (np.asarray(v, dtype=float) for v in to_grid.transform(lon, lat))
        bad = ~(np.isfinite(lon) & np.isfinite(lat))  # outside the projection's domain
        lon, lat = np.where(bad, grid.west - grid.dx, lon), np.where(bad, grid.north + grid.dy, lat)
    pop = pd.to_numeric(points["population"], errors="coerce").to_numpy(dtype=float)
    row = np.floor((grid.north - lat) / grid.dy).astype(int)
    col = np.floor((lon - grid.west) / grid.dx).astype(int)
    inside = (row >= 0) & (row < grid.ny) & (col >= 0) & (col < grid.nx)
    ok = inside & np.isfinite(pop) & (pop > 0)
    keep = np.flatnonzero(ok)
    i, r = points_in_regions(gpd.points_from_xy(lon[keep], lat[keep]),
                             regions.geometry.to_numpy())
    i = keep[i]
    vals = stack[:, row[i], col[i]].T  # (n_points, bands)
    valid = np.isfinite(vals)
    w = pop[i][:, None] * valid
    num = np.zeros((len(ids), len(labels)))
    den = np.zeros((len(ids), len(labels)))
    np.add.at(num, r, np.where(valid, vals, 0.0) * w)
    np.add.at(den, r, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    out = pd.DataFrame(mean, index=pd.Index(ids, name="region_id"), columns=labels)
    out["n_points"] = np.bincount(r, minlength=len(ids)).astype(float)
    out["population"] = np.bincount(r, weights=pop[i], minlength=len(ids))
    out = _report_empty(out, labels)
    out.columns.name = band_dim
    out.attrs["weights"] = "points"
    return out


def points_in_regions(points: Any, polygons: Any) -> tuple[np.ndarray, np.ndarray]:
    """Assign each point to the first polygon that covers it (border points included).

    A point on a polygon's border belongs to it ("covers"; "within" would drop it); a
    point on a border shared by several polygons goes once, to the first of them. The
    polygons are the query geometries of an STRtree of the points, so shapely prepares
    them (about 10x faster than a point-wise ``within`` join for ~34,000 cities).

    Returns
    -------
    tuple of numpy.ndarray
        Point positions and the position of their polygon, sorted by point.

    Examples
    --------
    >>> import shapely
    >>> pts = shapely.points([(0.5, 0.5), (1.0, 0.5), (5.0, 5.0)])
    >>> i, r = points_in_regions(pts, [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> i.tolist(), r.tolist()
    ([0, 1], [0, 0])
    """
    import shapely

    tree = shapely.STRtree(np.asarray(points, dtype=object))
    reg, pt = tree.query(np.asarray(polygons, dtype=object), predicate="covers")
    order = np.lexsort((reg, pt))
    pt, reg = pt[order], reg[order]
    first = np.ones(pt.size, dtype=bool)
    first[1:] = pt[1:] != pt[:-1]
    return pt[first].astype(np.intp), reg[first].astype(np.intp)


# --------------------------------------------------------------------------- private


def _wrapped(regions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Wrap regions reaching beyond ±180° (cheap bounds check first)."""
    if len(regions):
        xmin, _, xmax, _ = regions.total_bounds
        if xmin < -180.0 or xmax > 180.0:
            from geo_ms.exposures.antimeridian import split_antimeridian

            return split_antimeridian(regions)
    return regions


def _bands(da: xr.DataArray) -> tuple[str | None, list[Any], np.ndarray]:
    """Band dim name, column labels and the (bands, ny, nx) float array."""
    ydim, xdim = spatial_dims(da)
    others = [d for d in da.dims if d not in (ydim, xdim)]
    if len(others) > 1:
        raise GridError(
            f"raster {da.name!r}: more than one non-spatial dim {tuple(others)}",
            hint="select or stack them first, e.g. da.sel(...) or da.stack(band=[...])",
        )
    if not others:
        name = da.name if da.name is not None else "value"
        return None, [name], _floating(da.transpose(ydim, xdim).values)[None]
    dim = others[0]
    labels = (
        list(da[dim].values.tolist()) if dim in da.coords else list(range(1, da.sizes[dim] + 1))
    )
    stack = _floating(da.transpose(dim, ydim, xdim).values)
    return str(dim), labels, stack


def _floating(values: Any) -> np.ndarray:
    """The values as a float array, without copying float32 or float64 input."""
    arr = np.asarray(values)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _population_factor(pop: xr.DataArray, grid: GridSpec) -> np.ndarray:
    """Per-cell factor turning ``f·A`` into population weights (see zonal_mean)."""
    pop = _north_up(pop)
    spec = grid_spec(pop, name=str(pop.name or "population"))
    if (spec.ny, spec.nx) != (grid.ny, grid.nx) or not np.allclose(
        (spec.west, spec.north, spec.dx, spec.dy),
        (grid.west, grid.north, grid.dx, grid.dy),
        rtol=0,
        atol=1e-6 * grid.dx,
    ):
        raise GridError(
            f"population raster {pop.name!r}: grid {spec.token()} differs from the "
            f"values' grid {grid.token()}",
            hint="aggregate the population to the raster's grid (counts: coarsen(...).sum())",
        )
    ydim, xdim = grid.dims
    if len([d for d in pop.dims if d not in (ydim, xdim)]):
        raise GridError(
            f"population raster {pop.name!r}: must be 2-D ({ydim}, {xdim}), has {tuple(pop.dims)}",
            hint="select one year: pop.sel(time=...)",
        )
    p = np.asarray(pop.transpose(ydim, xdim).values, dtype=float)
    p = np.where(np.isfinite(p) & (p > 0), p, 0.0)
    units = str(pop.attrs.get("units", "")).replace(" ", "").lower()
    if any(u.replace(" ", "") in units for u in _DENSITY_UNITS):
        return p  # density: f·A·density
    # counts: f·A·P/A = f·P. exactextract's A is the spherical area rounded to float32,
    # so divide by the same rounded value to recover f·P to double precision.
    if grid.projected:
        return p / projected_cell_areas_m2(grid).reshape(grid.ny, grid.nx)
    area = cell_areas_m2(grid).astype(np.float32).astype(float)
    return p / area[:, None]


def _direct(
    stack: np.ndarray,
    grid: GridSpec,
    regions: gpd.GeoDataFrame,
    ids: list[Any],
    labels: list[Any],
) -> pd.DataFrame:
    """One exactextract pass: mean and valid area of each band, total area."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    from geo_ms.exposures.wkb_features import WKBFeatureSource

    extent = grid.extent
    sources = [
        NumPyRasterSource(
            np.ascontiguousarray(stack[b]), *extent, name=f"b{b}", srs_wkt=grid.crs_wkt
        )
        for b in range(stack.shape[0])
    ]
    zeros = np.broadcast_to(np.float64(0.0), (grid.ny, grid.nx))
    sources.append(NumPyRasterSource(zeros, *extent, name="all", srs_wkt=grid.crs_wkt))
    geoms = WKBFeatureSource(regions.geometry.to_numpy(),
                             regions.crs.to_wkt() if regions.crs is not None else None)
    res = exact_extract(
        sources,
        geoms,
        ["mean(coverage_weight=area_spherical_m2)", "count(coverage_weight=area_spherical_m2)"],
        output="pandas",
    )
    mean = np.column_stack([res[f"b{b}_mean"].to_numpy(float) for b in range(len(labels))])
    valid = np.column_stack([res[f"b{b}_count"].to_numpy(float) for b in range(len(labels))])
    total = res["all_count"].to_numpy(float)
    frac = valid_fractions(valid, total, extent_share(grid, regions))
    out = pd.DataFrame(mean, index=pd.Index(ids, name="region_id"), columns=labels)
    return with_valid_fraction(out, frac, labels)
