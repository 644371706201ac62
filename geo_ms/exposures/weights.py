"""Exact coverage weights of regions on a lat/lon grid, computed once and reused.

For region *r* and grid cell *c* the weight is ``W[r, c] = f·A``: ``f`` the planar
fraction of the cell covered by the polygon and ``A`` the spherical cell area (m²),
both from exactextract (``cell_id`` and ``coverage(coverage_weight=area_spherical_m2)``).
``W`` is a :class:`scipy.sparse.csr_matrix` (regions × cells, cells numbered row-major
from the north-west corner, as exactextract does). The area-weighted mean of every
band is then ``(W @ v) / (W @ 1)`` with NaN cells dropped from each band's weights —
the same number as exactextract's ``mean(coverage_weight=area_spherical_m2)`` —
summed by :func:`band_sums` in one compiled pass over ``W`` per block of bands.

A raster in a **projected CRS** (dims ``y``/``x`` in the CRS's units, e.g. ETRS89-LAEA
``EPSG:3035``) is aggregated in its own CRS, over regions reprojected to it
(:func:`regions_on_grid`). Its weights are ``f·A`` with ``A`` the cell's area on the
ellipsoid: the planar cell area ``|dx·dy|`` (exactextract's ``area_cartesian``, in m²)
divided by the projection's areal scale factor at the cell centre
(:func:`projected_cell_areas_m2`). In an equal-area CRS every cell has the same area,
so the mean is exactextract's ``mean`` (coverage-fraction weights) on the reprojected
polygons; in a conformal or other CRS (UTM, Mercator) the factor corrects the planar
area. exactextract's ``area_spherical_m2`` is not used there: it reads the projected
coordinates as degrees.

Weights are cached in memory and, with ``cache_dir``, on disk (``.npz``) under a key
that hashes the grid (shape, transform, CRS) and the regions (ids + WKB).

>>> import numpy as np, xarray as xr, geopandas as gpd, shapely
>>> da = xr.DataArray(np.array([[1.0, 2.0], [3.0, 4.0]]), dims=("lat", "lon"),
...                   coords={"lat": [0.5, -0.5], "lon": [-0.5, 0.5]})
>>> reg = gpd.GeoDataFrame({"region_id": ["r"]}, geometry=[shapely.box(-1, 0, 1, 1)],
...                        crs="EPSG:4326")
>>> cw = coverage_weights(da.rio.write_crs("EPSG:4326"), reg)
>>> cw.matrix.shape, cw.mean(da.values)[0].tolist()
((1, 4), [1.5])
"""

from __future__ import annotations

import hashlib
import itertools
import os
import warnings
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import scipy.sparse as sp
import shapely
import xarray as xr

from geo_ms._io import atomic_path
from geo_ms._parallel import cores, run_threads
from geo_ms.errors import CRSError, GridError, SchemaError

__all__ = [
    "EARTH_RADIUS_M",
    "PARALLEL_MIN_REGIONS",
    "CoverageWeights",
    "GridSpec",
    "band_sums",
    "build_parallel",
    "build_workers",
    "cell_areas_m2",
    "check_crs",
    "coverage_weights",
    "extent_share",
    "grid_spec",
    "projected_cell_areas_m2",
    "region_areas_m2",
    "region_chunks",
    "region_costs",
    "regions_on_grid",
    "spatial_dims",
    "valid_fractions",
    "with_valid_fraction",
]

#: Sphere radius exactextract uses for ``area_spherical_m2`` (the WGS84 semi-major axis).
EARTH_RADIUS_M = 6378137.0

_MEMO: OrderedDict[str, CoverageWeights] = OrderedDict()
_MEMO_SIZE = 16
_FORMAT_VERSION = 2  # 2: with the regions' extent share
_N_THREADS = min(4, cores())  # the compiled band sums release the GIL
_THREAD_MIN_CELLS = 1 << 20  # non-zeros x bands below which one thread sums
#: Bands summed in one pass over the weights: on the country case (48 bands at 0.1°,
#: 2.2 M non-zeros) 1, 2, 4 and 8 bands a pass took 10.3, 6.7, 5.0 and 4.1 ms a band.
_BAND_BLOCK = 8


@dataclass(frozen=True)
class GridSpec:
    """A regular lat/lon grid: shape, north-west corner, cell size and CRS (WKT).

    Examples
    --------
    >>> g = GridSpec(ny=180, nx=360, west=-180.0, north=90.0, dx=1.0, dy=1.0, crs_wkt="")
    >>> g.extent
    (-180.0, -90.0, 180.0, 90.0)
    """

    ny: int
    nx: int
    west: float
    north: float
    dx: float
    dy: float
    crs_wkt: str

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the cell edges."""
        return (
            self.west,
            self.north - self.ny * self.dy,
            self.west + self.nx * self.dx,
            self.north,
        )

    @property
    def lat(self) -> np.ndarray:
        """Cell-centre latitudes, north to south."""
        return self.north - self.dy * (np.arange(self.ny) + 0.5)

    @property
    def lon(self) -> np.ndarray:
        """Cell-centre longitudes, west to east."""
        return self.west + self.dx * (np.arange(self.nx) + 0.5)

    @property
    def projected(self) -> bool:
        """Whether the grid is in a projected CRS (cells in metres, dims ``y``/``x``)."""
        from pyproj import CRS

        return bool(self.crs_wkt) and CRS.from_wkt(self.crs_wkt).is_projected

    @property
    def dims(self) -> tuple[str, str]:
        """The raster's spatial dims: ``("y", "x")`` if projected, else ``("lat", "lon")``."""
        return ("y", "x") if self.projected else ("lat", "lon")

    def token(self) -> str:
        """A stable text form used in cache keys."""
        from pyproj import CRS

        crs = CRS.from_wkt(self.crs_wkt).to_string() if self.crs_wkt else "none"
        return (
            f"{self.ny}x{self.nx}|{self.west:.10f}|{self.north:.10f}|"
            f"{self.dx:.12f}|{self.dy:.12f}|{crs}"
        )


def grid_spec(da: xr.DataArray, name: str | None = None) -> GridSpec:
    """Check a canonical raster's grid and CRS and describe it.

    The raster needs ``lat``/``lon`` dimensions with regular spacing (at least two
    cells each), ``lat`` descending, and a geographic CRS written with rioxarray —
    or, in a projected CRS, ``y``/``x`` dimensions (cell centres in the CRS's units,
    ``y`` descending) and that CRS written with rioxarray.

    Raises
    ------
    GridError
        No lat/lon dims, fewer than two cells, irregular spacing, ascending lat,
        longitudes outside [-180, 180] or latitudes outside [-90, 90].
    CRSError
        No CRS, or a projected CRS.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 3)), dims=("lat", "lon"),
    ...                   coords={"lat": [45.0, 15.0], "lon": [0.0, 30.0, 60.0]})
    >>> g = grid_spec(da.rio.write_crs("EPSG:4326"))
    >>> (g.ny, g.nx, g.west, g.north, g.dx, g.dy)
    (2, 3, -15.0, 60.0, 30.0, 30.0)
    """
    label = f"raster {name or da.name or '(unnamed)'!r}"
    if "y" in da.dims and "x" in da.dims and not ("lat" in da.dims and "lon" in da.dims):
        return _projected_grid_spec(da, label)
    if "lat" not in da.dims or "lon" not in da.dims:
        raise GridError(
            f"{label}: needs 'lat' and 'lon' dimensions, has {tuple(da.dims)}",
            hint="rename the spatial dims: da.rename({'y': 'lat', 'x': 'lon'}) "
            "(or read it with a geo_ms reader)",
        )
    crs = _raster_crs(da, label)
    lat = np.asarray(da["lat"].values, dtype=float)
    lon = np.asarray(da["lon"].values, dtype=float)
    if lat.size < 2 or lon.size < 2:
        raise GridError(
            f"{label}: needs at least 2 cells along lat and lon (has {lat.size}×{lon.size})",
            hint="zonal statistics need a grid; sample single points with point_weighted_mean",
        )
    dy, dx = lat[0] - lat[1], lon[1] - lon[0]
    if dy <= 0:
        raise GridError(
            f"{label}: lat is ascending (south-up)",
            hint="flip it: da.sortby('lat', ascending=False)",
        )
    if dx <= 0 or not (
        np.allclose(np.diff(lon), dx, rtol=1e-6, atol=1e-9)
        and np.allclose(-np.diff(lat), dy, rtol=1e-6, atol=1e-9)
    ):
        raise GridError(
            f"{label}: lat/lon spacing is not regular (e.g. a Gaussian grid)",
            hint="regrid it to a regular grid first, e.g. da.interp(lat=np.arange(...))",
        )
    west, north = lon[0] - dx / 2, lat[0] + dy / 2
    east, south = west + dx * lon.size, north - dy * lat.size
    if (west < -180 - 1e-6 * dx or east > 180 + 1e-6 * dx or north > 90 + 1e-6 * dy
            or south < -90 - 1e-6 * dy):
        raise GridError(
            f"{label}: cells reach beyond lon -180..180 / lat -90..90 "
            f"(lon {west:g}..{east:g}, lat {south:g}..{north:g})",
            hint="wrap longitudes: da.assign_coords(lon=(da.lon + 180) % 360 - 180).sortby('lon')",
        )
    return GridSpec(
        ny=int(lat.size),
        nx=int(lon.size),
        west=float(west),
        north=float(north),
        dx=float(dx),
        dy=float(dy),
        crs_wkt=crs.to_wkt(),
    )


def spatial_dims(da: xr.DataArray) -> tuple[str, str]:
    """The spatial dims of a canonical raster: ``("lat", "lon")`` or ``("y", "x")``.

    >>> import xarray as xr
    >>> spatial_dims(xr.DataArray([[1.0]], dims=("y", "x")))
    ('y', 'x')
    """
    if "lat" in da.dims and "lon" in da.dims:
        return ("lat", "lon")
    if "y" in da.dims and "x" in da.dims:
        return ("y", "x")
    raise GridError(
        f"raster {da.name or '(unnamed)'!r}: needs 'lat'/'lon' (or, projected, 'y'/'x') "
        f"dimensions, has {tuple(da.dims)}",
        hint="rename the spatial dims: da.rename({'latitude': 'lat', 'longitude': 'lon'}) "
        "(or read it with a geo_ms reader)",
    )


def _projected_grid_spec(da: xr.DataArray, label: str) -> GridSpec:
    """:func:`grid_spec` of a ``(…, y, x)`` raster in a projected CRS."""
    from pyproj import CRS

    crs = da.rio.crs
    if crs is None and da.attrs.get("crs_wkt"):
        crs = CRS.from_wkt(da.attrs["crs_wkt"])
    if crs is None:
        raise CRSError(
            f"{label}: no CRS",
            hint="write it: da.rio.write_crs('EPSG:3035') (canonical rasters carry it)",
        )
    crs = CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    if not crs.is_projected:
        raise CRSError(
            f"{label}: dims 'y'/'x' but CRS {_crs_name(crs)} is geographic",
            hint="name the dims of a lat/lon raster 'lat' and 'lon'",
        )
    y = np.asarray(da["y"].values, dtype=float)
    x = np.asarray(da["x"].values, dtype=float)
    if y.size < 2 or x.size < 2:
        raise GridError(
            f"{label}: needs at least 2 cells along y and x (has {y.size}×{x.size})",
            hint="zonal statistics need a grid",
        )
    dy, dx = y[0] - y[1], x[1] - x[0]
    if dy <= 0:
        raise GridError(f"{label}: y is ascending (south-up)",
                        hint="flip it: da.sortby('y', ascending=False)")
    if dx <= 0 or not (
        np.allclose(np.diff(x), dx, rtol=1e-6, atol=1e-9)
        and np.allclose(-np.diff(y), dy, rtol=1e-6, atol=1e-9)
    ):
        raise GridError(f"{label}: y/x spacing is not regular",
                        hint="warp it to a regular grid first (gdalwarp -tr DX DY)")
    return GridSpec(ny=int(y.size), nx=int(x.size), west=float(x[0] - dx / 2),
                    north=float(y[0] + dy / 2), dx=float(dx), dy=float(dy),
                    crs_wkt=crs.to_wkt())


def check_crs(grid: GridSpec, regions: Any, label: str = "raster") -> None:
    """Raise :class:`CRSError` unless *regions* has the raster's CRS.

    exactextract only warns on a mismatch and then returns all-NaN, so we stop first.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from pyproj import CRS
    >>> g = GridSpec(2, 2, 0.0, 2.0, 1.0, 1.0, CRS.from_epsg(4326).to_wkt())
    >>> reg = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:3857")
    >>> check_crs(g, reg)
    Traceback (most recent call last):
    ...
    geo_ms.errors.CRSError: regions: CRS EPSG:3857 differs from the raster's EPSG:4326
    """
    from pyproj import CRS

    raster_crs = CRS.from_wkt(grid.crs_wkt)
    if regions.crs is None:
        raise CRSError(
            "regions: no CRS",
            hint="set it: regions.set_crs('EPSG:4326') (or build them with geo_ms.exposures.regions)",
        )
    if not CRS(regions.crs).equals(raster_crs, ignore_axis_order=True):
        raise CRSError(
            f"regions: CRS {_crs_name(regions.crs)} differs from the {label}'s "
            f"{_crs_name(raster_crs)}",
            hint="reproject the regions: regions.to_crs(da.rio.crs)",
        )


def cell_areas_m2(grid: GridSpec) -> np.ndarray:
    """Spherical area (m², radius :data:`EARTH_RADIUS_M`) of each grid row's cells.

    ``A = R² · Δλ · (sin φ_top − sin φ_bottom)``.

    Examples
    --------
    >>> g = GridSpec(ny=2, nx=1, west=0.0, north=1.0, dx=1.0, dy=1.0, crs_wkt="")
    >>> a = cell_areas_m2(g)
    >>> a.shape, round(float(a[0] / 1e6), 1), bool(a[0] == a[1])
    ((2,), 12391.4, True)
    """
    top = np.deg2rad(grid.north - grid.dy * np.arange(grid.ny))
    bottom = np.deg2rad(grid.north - grid.dy * (np.arange(grid.ny) + 1))
    return EARTH_RADIUS_M**2 * np.deg2rad(grid.dx) * (np.sin(top) - np.sin(bottom))


#: Largest deviation of pyproj's numerical areal scale factor from 1 taken as an
#: equal-area projection (pyproj reports 1 ± 2e-10 for LAEA, Mollweide, Equal Earth).
EQUAL_AREA_TOLERANCE = 1e-8


def projected_cell_areas_m2(grid: GridSpec, cells: np.ndarray | None = None) -> np.ndarray:
    """Ellipsoidal area (m²) of cells of a projected grid (flat ids, row-major from NW).

    ``A = |dx·dy| · u² / s``: the planar cell area (``u`` metres per CRS unit) over the
    projection's areal scale factor ``s`` at the cell centre (``pyproj.Proj.get_factors``;
    1 in an equal-area projection, ``k²`` in a conformal one). When ``s`` is within
    :data:`EQUAL_AREA_TOLERANCE` of 1 for every cell the projection is taken as
    equal-area and every cell gets exactly the planar area. Cells where the factor is
    undefined (outside the projection's domain) get the planar area.

    Examples
    --------
    >>> from pyproj import CRS
    >>> laea = GridSpec(2, 2, 4e6, 3e6, 1e3, 1e3, CRS.from_epsg(3035).to_wkt())
    >>> projected_cell_areas_m2(laea).tolist()
    [1000000.0, 1000000.0, 1000000.0, 1000000.0]
    >>> merc = GridSpec(1, 1, 0.0, 8e6, 1e3, 1e3, CRS.from_epsg(3857).to_wkt())
    >>> round(float(projected_cell_areas_m2(merc)[0] / 1e6), 3)  # 1 km² · cos²(58.2°)
    0.278
    """
    from pyproj import CRS, Proj, Transformer

    crs = CRS.from_wkt(grid.crs_wkt)
    unit = float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0
    planar = abs(grid.dx * grid.dy) * unit**2
    cells = np.arange(grid.ny * grid.nx) if cells is None else np.asarray(cells, np.int64)
    if cells.size == 0:
        return np.zeros(0)
    row, col = np.divmod(cells, grid.nx)
    x = grid.west + (col + 0.5) * grid.dx
    y = grid.north - (row + 0.5) * grid.dy
    to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scale = np.asarray(Proj(crs).get_factors(lon, lat, errcheck=False).areal_scale,
                           dtype=float)
    ok = np.isfinite(scale) & (scale > 0)
    if not ok.any() or np.all(np.abs(scale[ok] - 1.0) <= EQUAL_AREA_TOLERANCE):
        return np.full(cells.size, planar)
    return np.where(ok, planar / np.where(ok, scale, 1.0), planar)


def regions_on_grid(regions: Any, grid: GridSpec) -> Any:
    """The regions in a projected grid's CRS, ready for :func:`coverage_weights`.

    A region that does not reach the grid's footprint (its extent taken to lon/lat,
    with a margin of two cells) gets an empty geometry (no weights, NaN means); the
    others are reprojected whole with ``to_crs`` — exactly what exactextract is given
    when one reprojects the polygons oneself — or, where that yields non-finite
    coordinates (beyond the projection's domain), after clipping to the footprint.
    The column ``_extent_share`` holds each region's share of its spherical area inside
    the grid's extent (:func:`extent_share` works on it), computed in lon/lat.

    Parameters
    ----------
    regions
        Canonical regions (``region_id``, EPSG:4326).
    grid
        A projected :class:`GridSpec`.

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows and ids, geometry in the grid's CRS.
    """
    from pyproj import CRS

    crs = CRS.from_wkt(grid.crs_wkt)
    foot = footprint_lonlat(grid, margin_cells=2.0)
    src = regions if regions.crs is not None else regions.set_crs("EPSG:4326")
    if not CRS(src.crs).equals(CRS.from_epsg(4326), ignore_axis_order=True):
        src = src.to_crs("EPSG:4326")
    geoms = np.asarray(src.geometry.to_numpy(), dtype=object)
    hit = shapely.intersects(geoms, foot) & ~shapely.is_empty(geoms)
    inner = footprint_lonlat(grid, margin_cells=0.0)
    whole = region_areas_m2(geoms[hit]) if hit.any() else np.zeros(0)
    cut = region_areas_m2(shapely.intersection(geoms[hit], inner)) if hit.any() else whole
    share = np.zeros(len(geoms))
    with np.errstate(invalid="ignore", divide="ignore"):
        share[hit] = np.clip(np.where(whole > 0, cut / whole, 0.0), 0.0, 1.0)
    out = src[[c for c in src.columns if c != src.geometry.name]].copy()
    projected = np.full(len(geoms), shapely.Polygon(), dtype=object)
    if hit.any():
        sub = src.iloc[np.flatnonzero(hit)].geometry.to_crs(crs).to_numpy()
        coords_ok = np.array([bool(np.isfinite(shapely.get_coordinates(g)).all())
                              for g in sub])
        if not coords_ok.all():
            import geopandas as gpd

            bad = np.flatnonzero(hit)[~coords_ok]
            clipped = gpd.GeoSeries(shapely.intersection(geoms[bad], foot), crs="EPSG:4326")
            sub = np.asarray(sub, dtype=object)
            sub[~coords_ok] = clipped.to_crs(crs).to_numpy()
        projected[hit] = sub
    import geopandas as gpd

    out = gpd.GeoDataFrame(out, geometry=list(projected), crs=crs)
    out["_extent_share"] = share
    return out


def footprint_lonlat(grid: GridSpec, margin_cells: float = 0.0) -> Any:
    """The extent of a projected grid as a lon/lat polygon (edges densified).

    Examples
    --------
    >>> from pyproj import CRS
    >>> # 2 km × 2 km around the projection centre of ETRS89-LAEA (10° E, 52° N)
    >>> g = GridSpec(2, 2, 4320000.0, 3211000.0, 1e3, 1e3, CRS.from_epsg(3035).to_wkt())
    >>> foot = footprint_lonlat(g)
    >>> foot.contains(shapely.Point(10, 52)), foot.contains(shapely.Point(10.02, 52))
    (True, False)
    """
    from pyproj import CRS, Transformer

    xmin, ymin, xmax, ymax = grid.extent
    mx, my = margin_cells * abs(grid.dx), margin_cells * abs(grid.dy)
    box = shapely.box(xmin - mx, ymin - my, xmax + mx, ymax + my)
    ring = shapely.segmentize(box, max(xmax - xmin + 2 * mx, ymax - ymin + 2 * my) / 256)
    crs = CRS.from_wkt(grid.crs_wkt)
    to_geo = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    xy = shapely.get_coordinates(ring)
    lon, lat = to_geo.transform(xy[:, 0], xy[:, 1])
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.sum() < 4 or np.abs(np.diff(lon[ok])).max() > 180.0:
        raise CRSError(
            f"raster grid in {_crs_name(crs)}: its extent contains a pole or crosses the "
            "antimeridian, which the projected path does not handle",
            hint="reproject the raster to EPSG:4326 (gdalwarp -t_srs EPSG:4326) or crop it",
        )
    poly = shapely.Polygon(np.column_stack([lon[ok], lat[ok]]))
    return shapely.make_valid(poly) if not poly.is_valid else poly


@dataclass
class CoverageWeights:
    """Sparse exact coverage weights ``f·A`` (regions × cells) on one grid.

    Attributes
    ----------
    matrix
        ``scipy.sparse.csr_matrix`` of shape ``(n_regions, ny * nx)``, m².
    region_ids
        The regions' ``region_id`` in row order.
    grid
        The :class:`GridSpec` the cells belong to.
    key
        Hash of grid and regions (the cache key).
    """

    matrix: sp.csr_matrix
    region_ids: list[Any]
    grid: GridSpec
    key: str
    attrs: dict[str, Any] = field(default_factory=dict)
    #: Share of each region's spherical area inside the grid's extent (None: all 1).
    share: np.ndarray | None = None

    @property
    def covered_area_m2(self) -> pd.Series:
        """``Σ f·A`` per region: the region's area as seen by the grid (m²)."""
        total = np.asarray(self.matrix.sum(axis=1)).ravel()
        return pd.Series(total, index=pd.Index(self.region_ids, name="region_id"))

    def mean(
        self,
        stack: np.ndarray | xr.DataArray,
        *,
        cell_weights: np.ndarray | None = None,
        columns: list[Any] | None = None,
    ) -> pd.DataFrame:
        """Weighted mean of each band over each region, NaN cells dropped per band.

        Parameters
        ----------
        stack
            ``(ny, nx)`` or ``(bands, ny, nx)`` values on this grid (a DataArray is
            checked against the grid's coordinates).
        cell_weights
            Optional ``(ny, nx)`` factor per cell (e.g. population per m²); the
            weights become ``f·A·cell_weights`` (NaN counts as 0).
        columns
            Band labels (default 0..bands-1).

        Returns
        -------
        pandas.DataFrame
            Index ``region_id``, one column per band, plus ``valid_fraction`` — the
            smallest, over bands, of the share of the region's spherical area covered
            by valid cells (:func:`valid_fractions`; area-based, also with
            *cell_weights*); ``attrs["valid_fraction_bands"]`` holds it per band.
            ``attrs["no_data_regions"]`` lists regions with a NaN band.
        """
        values = self._values(stack)
        nb = values.shape[0]
        area = self.matrix.tocsr()  # no copy when it is CSR already
        w = area
        if cell_weights is not None:
            cw = np.asarray(cell_weights, dtype=float).reshape(-1)
            if cw.size != self.grid.ny * self.grid.nx:
                raise GridError(
                    f"cell weights: shape {np.shape(cell_weights)} differs from the grid "
                    f"({self.grid.ny}, {self.grid.nx})",
                    hint="put the weights on the same grid as the values",
                )
            cw = np.nan_to_num(cw[area.indices], nan=0.0, posinf=0.0, neginf=0.0)
            w = sp.csr_matrix((area.data * cw, area.indices, area.indptr), area.shape)
        threads = _N_THREADS if area.nnz * nb >= _THREAD_MIN_CELLS else 1
        num, den, area_valid = band_sums(w, area, values.reshape(nb, -1), threads=threads)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        frac = valid_fractions(area_valid, _row_sums(area), self.share)
        labels = list(range(nb)) if columns is None else list(columns)
        out = pd.DataFrame(mean, index=pd.Index(self.region_ids, name="region_id"), columns=labels)
        return with_valid_fraction(out, frac, labels)

    def _values(self, stack: np.ndarray | xr.DataArray) -> np.ndarray:
        if isinstance(stack, xr.DataArray):
            stack = _north_up(stack)
            spec = grid_spec(stack)
            ydim, xdim = spec.dims
            if (spec.ny, spec.nx) != (self.grid.ny, self.grid.nx) or not np.allclose(
                (spec.west, spec.north, spec.dx, spec.dy),
                (self.grid.west, self.grid.north, self.grid.dx, self.grid.dy),
                rtol=0,
                atol=1e-6 * self.grid.dx,
            ):
                raise GridError(
                    f"raster {stack.name!r}: grid {spec.token()} differs from the weights' "
                    f"grid {self.grid.token()}",
                    hint="compute coverage_weights() for this raster's grid",
                )
            others = [d for d in stack.dims if d not in (ydim, xdim)]
            stack = stack.transpose(*others, ydim, xdim).values
        arr = np.asarray(stack)
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[1:] != (self.grid.ny, self.grid.nx):
            raise GridError(
                f"values: shape {np.shape(stack)} does not match the weights' grid "
                f"({self.grid.ny}, {self.grid.nx})",
                hint="give (ny, nx) or (bands, ny, nx) values on the same grid",
            )
        return arr

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the weights to an ``.npz`` file atomically."""
        m = self.matrix
        # uncompressed: zlib took ~1 s of a cold run to write and 0.2 s of a warm one to
        # read for the 0.1° countries (36 MB on disk instead of 20 MB)
        with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                version=np.array(_FORMAT_VERSION),
                key=np.array(self.key),
                data=m.data,
                indices=m.indices,
                indptr=m.indptr,
                shape=np.array(m.shape),
                share=np.ones(m.shape[0]) if self.share is None else self.share,
            )
        return Path(path)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, key: str, region_ids: list[Any], grid: GridSpec
    ) -> CoverageWeights:
        """Read weights written by :meth:`save`; ``ValueError`` if *key* differs."""
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != _FORMAT_VERSION or str(z["key"]) != key:
                raise ValueError("stale cache entry")
            shape = tuple(int(v) for v in z["shape"])
            m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            share = np.asarray(z["share"], dtype=float)
        if shape != (len(region_ids), grid.ny * grid.nx) or share.shape != (shape[0],):
            raise ValueError("cache entry has the wrong shape")
        return cls(matrix=m, region_ids=list(region_ids), grid=grid, key=key, share=share)


def coverage_weights(
    grid_like: xr.DataArray | xr.Dataset,
    regions: Any,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    id_column: str = "region_id",
    workers: int | None = None,
    client: Any | None = None,
) -> CoverageWeights:
    """Exact coverage weights of *regions* on *grid_like*'s grid (computed once).

    Parameters
    ----------
    grid_like
        A canonical raster (only its grid and CRS are used). A Dataset uses its first
        variable.
    regions
        GeoDataFrame with a unique *id_column*, in the raster's CRS.
    cache_dir
        Folder for ``coverage_<key>.npz`` files; ``None`` keeps them in memory only.
    workers
        Worker processes that build the weights, each over its own chunks of regions
        (:func:`build_parallel`); ``None``: one per available core when there are at
        least :data:`PARALLEL_MIN_REGIONS` regions per worker, else 1 (serial).
    client
        A :class:`dask.distributed.Client`: the chunks are built on its workers
        instead (the ``--scheduler`` path).

    Returns
    -------
    CoverageWeights
        The same matrix, bit for bit, however many workers built it.
    """
    da = _as_dataarray(grid_like)
    grid = grid_spec(_north_up(da))
    check_crs(grid, regions)
    ids = _region_ids(regions, id_column)
    key = _key(grid, regions, ids)
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    path = Path(cache_dir) / f"coverage_{key[:24]}.npz" if cache_dir is not None else None
    cw = None
    if path is not None and path.is_file():
        try:
            cw = CoverageWeights.load(path, key=key, region_ids=ids, grid=grid)
            cw.attrs["cache"] = "disk"
        except (ValueError, KeyError, OSError, zipfile.BadZipFile, EOFError):
            warnings.warn(f"{path}: unreadable or stale weights cache, recomputing", stacklevel=2)
            cw = None
    if cw is None:
        cw = build_parallel(grid, regions, ids, key, workers=workers, client=client)
        cw.attrs["cache"] = "computed"
        if path is not None:
            cw.save(path)
    _MEMO[key] = cw
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return cw


# --------------------------------------------------------------------------- private


def _compute(grid: GridSpec, regions: Any, ids: list[Any], key: str) -> CoverageWeights:
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    from geo_ms.exposures.wkb_features import WKBFeatureSource

    zeros = np.broadcast_to(np.float64(0.0), (grid.ny, grid.nx))
    src = NumPyRasterSource(zeros, *grid.extent, srs_wkt=grid.crs_wkt)
    geoms = regions[[regions.geometry.name]].reset_index(drop=True)
    n, n_cells = len(ids), grid.ny * grid.nx
    # exactextract cannot parse an empty geometry: such regions get no cells
    filled = ~(geoms.geometry.is_empty.to_numpy() | geoms.geometry.isna().to_numpy())
    # a projected grid: coverage fractions here, times the cells' ellipsoidal areas below
    # (exactextract's area_spherical_m2 would read metres as degrees)
    weight = "fraction" if grid.projected else "area_spherical_m2"
    cols: list[np.ndarray] = [np.zeros(0, np.int64)] * n
    vals: list[np.ndarray] = [np.zeros(0)] * n
    if filled.any():
        feats = WKBFeatureSource(geoms.geometry.to_numpy()[filled],
                                 regions.crs.to_wkt() if regions.crs is not None else None)
        res = exact_extract(src, feats, ["cell_id", f"coverage(coverage_weight={weight})"],
                            output="pandas")
        # exactextract lists each feature's cells row-major, so the CSR arrays are the
        # concatenated per-feature arrays (no COO sort); sortedness is checked below.
        for k, c, v in zip(np.flatnonzero(filled), res["cell_id"], res["coverage"],
                           strict=True):
            cols[k] = np.asarray(c, dtype=np.int64)
            vals[k] = np.asarray(v, dtype=float)
    if grid.projected and any(c.size for c in cols):
        every = np.concatenate(cols)
        uniq, inv = np.unique(every, return_inverse=True)
        area = projected_cell_areas_m2(grid, uniq)[inv]
        start = 0
        for k, c in enumerate(cols):
            vals[k] = vals[k] * area[start:start + c.size]
            start += c.size
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([c.size for c in cols], out=indptr[1:])
    index_dtype = np.int32 if max(n_cells, int(indptr[-1])) < 2**31 else np.int64
    m = sp.csr_matrix(
        (
            np.concatenate(vals) if vals else np.zeros(0),
            (np.concatenate(cols) if cols else np.zeros(0, np.int64)).astype(index_dtype),
            indptr.astype(index_dtype),
        ),
        shape=(n, n_cells),
    )
    m.sum_duplicates()  # sorts the indices only if they are not sorted already
    m.eliminate_zeros()
    share = extent_share(grid, regions)
    return CoverageWeights(matrix=m, region_ids=ids, grid=grid, key=key, share=share)


def build_workers(n_regions: int, workers: int | None = None) -> int:
    """Worker processes for building the weights of *n_regions* regions.

    ``workers`` (> 0) as given, else one per available core, at most one per
    :data:`PARALLEL_MIN_REGIONS` regions (starting a process costs more than building a
    few regions' weights).

    >>> build_workers(10), build_workers(10, 3), build_workers(10_000, 1)
    (1, 3, 1)
    """
    if workers is not None and workers > 0:
        return int(workers)
    return max(1, min(cores(), n_regions // PARALLEL_MIN_REGIONS))


def region_chunks(regions: Any, grid: GridSpec, n_chunks: int) -> list[slice]:
    """Split the regions' rows into up to *n_chunks* contiguous runs of similar cost.

    A region's cost is estimated as :func:`region_costs` (its vertices, plus the grid
    cells of its parts' bounding boxes at 1/:data:`CELLS_PER_VERTEX` each); runs are
    contiguous so that stacking the chunks' rows gives the serial matrix.

    >>> import geopandas as gpd, shapely
    >>> g = GridSpec(ny=100, nx=100, west=0.0, north=100.0, dx=1.0, dy=1.0, crs_wkt="")
    >>> reg = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 90, 90)] + [shapely.box(0, 0, 1, 1)] * 9)
    >>> region_chunks(reg, g, 2)
    [slice(0, 1, None), slice(1, 10, None)]
    """
    n = len(regions)
    if n == 0:
        return []
    cost = np.cumsum(region_costs(regions, grid))
    cuts = np.searchsorted(cost, cost[-1] * np.arange(1, n_chunks) / n_chunks, side="right")
    edges = np.unique(np.concatenate([[0], np.clip(cuts, 1, n), [n]]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


#: Grid cells of a part's bounding box that cost exactextract as much as one vertex.
#: Fitted on the 245 countries at 0.1° (one call per region, CPU seconds): 2.2 µs per
#: vertex and 0.062 µs per bounding-box cell of each part (r = 0.985); the vertices
#: dominate (Canada: 68,000 vertices, 0.16 s; Antarctica: 1.0 M cells, 0.12 s).
CELLS_PER_VERTEX = 32.0


def region_costs(regions: Any, grid: GridSpec) -> np.ndarray:
    """Estimated cost of each region's coverage pass, in vertex-equivalents.

    Vertices plus the grid cells of the bounding box of each part (a multi-polygon's
    islands are walked one by one, not over the whole multi-polygon's box) divided by
    :data:`CELLS_PER_VERTEX`.

    >>> import geopandas as gpd, shapely
    >>> g = GridSpec(ny=100, nx=100, west=0.0, north=100.0, dx=1.0, dy=1.0, crs_wkt="")
    >>> two = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(60, 60, 61, 61)])
    >>> # 5 + 64²/32 and 10 + 2·2²/32
    >>> region_costs(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 63, 63), two]), g).tolist()
    [133.0, 10.25]
    """
    geoms = np.asarray(regions.geometry.to_numpy(), dtype=object)
    n = len(geoms)
    if n == 0:
        return np.zeros(0)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    bounds = np.nan_to_num(shapely.bounds(parts), nan=0.0).reshape(-1, 4)
    cells = ((bounds[:, 2] - bounds[:, 0]) / grid.dx + 1) * ((bounds[:, 3] - bounds[:, 1])
                                                            / grid.dy + 1)
    part_cells = np.bincount(owner, weights=cells, minlength=n)
    return shapely.get_num_coordinates(geoms) + part_cells / CELLS_PER_VERTEX


#: Regions per worker below which the weights are built serially.
PARALLEL_MIN_REGIONS = 32
#: Chunks per worker: small enough that a slow chunk (Russia, Canada) does not leave
#: the other worker idle for long, large enough to keep the per-call overhead small.
_CHUNKS_PER_WORKER = 4
#: The chunks of the running :func:`build_parallel`, inherited by forked workers.
_BUILD: list[tuple[GridSpec, Any, list[Any], str]] = []


def _build_chunk(i: int) -> tuple[sp.csr_matrix, np.ndarray | None]:
    cw = _compute(*_BUILD[i])
    return cw.matrix, cw.share


def _compute_part(grid: GridSpec, regions: Any, ids: list[Any],
                  key: str) -> tuple[sp.csr_matrix, np.ndarray | None]:
    cw = _compute(grid, regions, ids, key)
    return cw.matrix, cw.share


def build_parallel(grid: GridSpec, regions: Any, ids: list[Any], key: str, *,
                   workers: int | None = None, client: Any | None = None) -> CoverageWeights:
    """Build the weights of *regions* in chunks of regions, in parallel; stack the rows.

    Each chunk is the serial build (one exactextract pass over its regions) in a worker
    process of this machine (forked: the regions are not copied) or, with a
    dask.distributed *client*, on the cluster's workers. A region's row depends on that
    region and the grid only, so the stacked matrix equals the serial one exactly.
    Building the weights is what a cold run waits for (one exactextract pass over all
    regions); it is the lever that makes a first run faster on several cores.

    >>> import geopandas as gpd, shapely
    >>> from pyproj import CRS
    >>> g = GridSpec(ny=4, nx=4, west=0.0, north=4.0, dx=1.0, dy=1.0,
    ...              crs_wkt=CRS.from_epsg(4326).to_wkt())
    >>> reg = gpd.GeoDataFrame({"region_id": list("abcd")}, crs="EPSG:4326",
    ...     geometry=[shapely.box(i, 0, i + 0.5, 3.5) for i in range(4)])
    >>> one = build_parallel(g, reg, list("abcd"), "k", workers=1)
    >>> two = build_parallel(g, reg, list("abcd"), "k", workers=2)
    >>> (one.matrix != two.matrix).nnz, two.attrs["build_workers"]
    (0, 2)
    """
    global _BUILD
    n_workers = build_workers(len(ids), workers) if client is None else max(
        1, len(client.scheduler_info().get("workers", {})) if workers is None else workers)
    if n_workers <= 1 and client is None:
        cw = _compute(grid, regions, ids, key)
        cw.attrs["build_workers"] = 1
        return cw
    chunks = region_chunks(regions, grid, n_workers * _CHUNKS_PER_WORKER)
    args = [(grid, regions.iloc[c], ids[c], key) for c in chunks]
    # the costliest chunks first, so that the last ones to start are short
    cum = np.concatenate([[0.0], np.cumsum(region_costs(regions, grid))])
    order = sorted(range(len(chunks)), key=lambda i: cum[chunks[i].start] - cum[chunks[i].stop])
    if client is not None:
        futures = {i: client.submit(_compute_part, *args[i], pure=False) for i in order}
        parts = client.gather([futures[i] for i in range(len(args))])
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        fork = "fork" in multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        _BUILD = args
        try:
            with ProcessPoolExecutor(min(n_workers, len(args)), mp_context=ctx) as pool:
                got = list(pool.map(_build_chunk, order) if fork
                           else pool.map(_compute_part, *zip(*(args[i] for i in order),
                                                              strict=True)))
        finally:
            _BUILD = []
        parts = [got[order.index(i)] for i in range(len(args))]
    index_dtype = np.int32 if max(grid.ny * grid.nx, sum(m.nnz for m, _ in parts)) < 2**31 \
        else np.int64
    matrix = sp.vstack([m for m, _ in parts], format="csr")
    matrix = sp.csr_matrix((matrix.data, matrix.indices.astype(index_dtype),
                            matrix.indptr.astype(index_dtype)), shape=matrix.shape)
    shares = [np.ones(m.shape[0]) if sh is None else sh for m, sh in parts]
    share = np.concatenate(shares) if shares else None
    cw = CoverageWeights(matrix=matrix, region_ids=ids, grid=grid, key=key, share=share)
    cw.attrs["build_workers"] = n_workers
    cw.attrs["build_chunks"] = len(args)
    return cw


def region_areas_m2(geoms: Any, max_segment_deg: float = 0.25) -> np.ndarray:
    """Spherical area (m², sphere of radius :data:`EARTH_RADIUS_M`) of lon/lat polygons.

    Edges are straight in lon/lat (as exactextract draws them): each polygon is
    densified to *max_segment_deg* and its planar area taken in the cylindrical
    equal-area projection ``(R·λ, R·sin φ)``.

    Examples
    --------
    >>> import shapely
    >>> a = region_areas_m2([shapely.box(0, 0, 1, 1)])[0]  # R² · π/180 · sin(1°)
    >>> round(float(a / (EARTH_RADIUS_M**2 * np.pi / 180 * np.sin(np.pi / 180))), 6)
    1.0
    """
    arr = np.asarray(geoms, dtype=object)
    dense = shapely.segmentize(arr, max_segment_deg)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([np.deg2rad(xy[:, 0]), np.sin(np.deg2rad(xy[:, 1]))])

    flat = shapely.transform(dense, project)
    return np.asarray(shapely.area(flat), dtype=float) * EARTH_RADIUS_M**2


def extent_share(grid: GridSpec, regions: Any) -> np.ndarray:
    """Share of each region's spherical area that lies inside the grid's extent.

    Exactly 1.0 for a region inside the extent; below 1 for a region reaching beyond a
    raster that does not cover the globe (e.g. a grid ending at 72° N); 0 for an empty
    geometry.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = GridSpec(ny=2, nx=2, west=0.0, north=2.0, dx=1.0, dy=1.0, crs_wkt="")
    >>> reg = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 3, 1)])
    >>> extent_share(g, reg).round(12).tolist()
    [1.0, 0.5]
    """
    if "_extent_share" in getattr(regions, "columns", ()):  # set by regions_on_grid
        return np.asarray(regions["_extent_share"], dtype=float)
    geoms = np.asarray(regions.geometry.to_numpy(), dtype=object)
    box = shapely.box(*grid.extent)
    share = np.zeros(len(geoms))
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    inside = ok & shapely.covers(box, geoms)
    share[inside] = 1.0
    part = ok & ~inside
    if part.any():
        whole = region_areas_m2(geoms[part])
        cut = region_areas_m2(shapely.intersection(geoms[part], box))
        with np.errstate(invalid="ignore", divide="ignore"):
            share[part] = np.clip(np.where(whole > 0, cut / whole, 0.0), 0.0, 1.0)
    return share


def valid_fractions(
    area_valid: np.ndarray, total: np.ndarray, share: np.ndarray | None = None
) -> np.ndarray:
    """Share of each region's spherical area covered by valid cells, per band.

    ``Σ f·A`` over valid cells / ``Σ f·A`` over all cells the region touches, times the
    share of the region inside the grid's extent (:func:`extent_share`) — so a region
    half outside a raster reports at most 0.5, not 1.0. ``area_valid`` is (regions ×
    bands), ``total`` (regions,).

    Examples
    --------
    >>> valid_fractions(np.array([[2.0], [1.0]]), np.array([2.0, 4.0]),
    ...                 np.array([0.5, 1.0])).tolist()
    [[0.5], [0.25]]
    """
    area_valid = np.asarray(area_valid, dtype=float)
    total = np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(
            total[:, None] > 0, area_valid / np.where(total > 0, total, 1)[:, None], 0.0
        )
    if share is not None:
        frac = frac * np.asarray(share, dtype=float)[:, None]
    return frac


def with_valid_fraction(out: pd.DataFrame, frac: np.ndarray, labels: list[Any]) -> pd.DataFrame:
    """Add ``valid_fraction`` (min over bands) and ``attrs["valid_fraction_bands"]``."""
    out["valid_fraction"] = frac.min(axis=1) if len(labels) else np.nan
    out = _report_empty(out, labels)
    # set last: pandas deep-copies attrs on every operation (48 lists of 245 floats: 0.1 s)
    out.attrs["valid_fraction_bands"] = {
        lab: [float(v) for v in frac[:, k]] for k, lab in enumerate(labels)
    }
    return out


def band_sums(
    w: sp.csr_matrix,
    area: sp.csr_matrix,
    values: np.ndarray,
    *,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-aware sums of bands: ``Σ w·v``, ``Σ w`` and ``Σ area`` over valid cells.

    One compiled pass (:func:`geo_ms.exposures.kernels.csr_band_sums`) reads each
    covered cell of each band once, in the band's own dtype, and sums in float64 over
    the cells whose value is finite (NaN and ±inf cells drop out of all three sums).

    Parameters
    ----------
    w, area
        CSR matrices with the same sparsity pattern (regions × cells): the weights,
        and the cells' areas (*w* itself when the weights are the areas).
    values
        ``(bands, cells)`` values, one column per matrix column.
    threads
        Threads summing blocks of :data:`_BAND_BLOCK` bands (or, with fewer blocks
        than threads, also blocks of regions with equal numbers of non-zeros).

    Returns
    -------
    tuple of numpy.ndarray
        ``(Σ w·v, Σ w, Σ area)``, each ``(regions, bands)``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> w = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0]]))
    >>> [a.ravel().tolist() for a in band_sums(w, w, np.array([[1.0, 3.0, np.nan]]))]
    [[4.0, 6.0], [2.0, 2.0], [2.0, 2.0]]
    """
    from geo_ms.exposures.kernels import csr_band_sums  # numba: loaded when first needed

    vals = np.asarray(values)
    if vals.dtype not in (np.float32, np.float64):
        vals = vals.astype(np.float64)
    vals = np.ascontiguousarray(vals)
    if vals.ndim != 2 or vals.shape[1] != w.shape[1] or area.nnz != w.nnz:
        raise GridError(
            f"band sums: values {vals.shape} against weights {w.shape} "
            f"({w.nnz} and {area.nnz} non-zeros)",
            hint="give (bands, cells) values and two matrices with one sparsity pattern",
        )
    n, nb = w.shape[0], vals.shape[0]
    wd = np.ascontiguousarray(w.data, dtype=np.float64)
    ad = wd if area is w else np.ascontiguousarray(area.data, dtype=np.float64)
    out = tuple(np.zeros((n, nb)) for _ in range(3))
    blocks = [(b, min(b + _BAND_BLOCK, nb)) for b in range(0, nb, _BAND_BLOCK)]
    parts = 1 if threads < 2 or len(blocks) >= threads else 2 * threads
    cuts = np.searchsorted(w.indptr, np.linspace(0, w.nnz, parts + 1)[1:-1])
    edges = np.unique(np.concatenate([[0], cuts, [n]])).tolist()
    tasks = [(r0, r1, *b) for r0, r1 in itertools.pairwise(edges) for b in blocks]

    run_threads(lambda task: csr_band_sums(w.indptr, w.indices, wd, ad, vals, *task, *out),
                tasks, threads)
    return out


def _row_sums(m: sp.csr_matrix) -> np.ndarray:
    return np.asarray(m.sum(axis=1), dtype=float).ravel()


#: Keys of recent (grid, region ids, geometry objects, extent shares), with the geometry
#: objects themselves: shapely geometries are immutable, and holding them keeps their
#: ids from being reused, so the same objects give the same WKB and the same key.
_KEY_MEMO: OrderedDict[tuple[Any, ...], tuple[str, np.ndarray]] = OrderedDict()


def _key(grid: GridSpec, regions: Any, ids: list[Any]) -> str:
    """Hash of the grid, the region ids and the regions' WKB (the cache key).

    Hashing the WKB of the 1:10m countries takes ~60 ms, a sixth of a warm
    48-band mean, so the key of the same geometry objects is remembered.
    """
    geoms = np.asarray(regions.geometry.to_numpy(), dtype=object)
    share = (np.asarray(regions["_extent_share"], dtype=float).tobytes()
             if "_extent_share" in regions.columns else None)
    memo = (grid.token(), tuple(repr(r) for r in ids), tuple(map(id, geoms)), share)
    got = _KEY_MEMO.get(memo)
    if got is not None:
        _KEY_MEMO.move_to_end(memo)
        return got[0]
    key = _wkb_key(grid, geoms, ids, share)
    _KEY_MEMO[memo] = (key, geoms.copy())
    while len(_KEY_MEMO) > _MEMO_SIZE:
        _KEY_MEMO.popitem(last=False)
    return key


def _wkb_key(grid: GridSpec, geoms: np.ndarray, ids: list[Any], share: bytes | None) -> str:
    h = hashlib.sha256()
    h.update(f"v{_FORMAT_VERSION}|{grid.token()}|".encode())
    for rid, wkb in zip(ids, shapely.to_wkb(geoms), strict=True):
        h.update(repr(rid).encode())
        h.update(b"\0")
        h.update(wkb if wkb is not None else b"")
        h.update(b"\1")
    if share is not None:
        h.update(share)
    return h.hexdigest()


def _region_ids(regions: Any, id_column: str) -> list[Any]:
    if id_column not in regions.columns:
        raise SchemaError(
            f"regions: no {id_column!r} column",
            hint="build regions with geo_ms.exposures.regions (countries(), user_regions(...))",
        )
    ids = regions[id_column]
    dup = sorted(set(ids[ids.duplicated()].astype(str)))
    if dup:
        raise SchemaError(
            f"regions: duplicated {id_column}: {', '.join(dup[:20])}",
            hint="make the ids unique (dissolve duplicated units first)",
        )
    if len(regions) == 0:
        raise SchemaError("regions: empty region set", hint="give at least one polygon")
    return ids.tolist()


def _as_dataarray(obj: xr.DataArray | xr.Dataset) -> xr.DataArray:
    if isinstance(obj, xr.Dataset):
        if not obj.data_vars:
            raise GridError("dataset: has no variables", hint="pass a DataArray")
        return obj[next(iter(obj.data_vars))]
    return obj


def _north_up(da: xr.DataArray) -> xr.DataArray:
    for dim in ("lat", "y"):
        if dim in da.dims and da.sizes[dim] > 1 and float(da[dim][0]) < float(da[dim][-1]):
            return da.isel({dim: slice(None, None, -1)})
    return da


def _raster_crs(da: xr.DataArray, label: str) -> Any:
    from pyproj import CRS

    crs = da.rio.crs
    if crs is None:
        raise CRSError(
            f"{label}: no CRS",
            hint="write it: da.rio.write_crs('EPSG:4326') (canonical rasters carry it)",
        )
    crs = CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    if not crs.is_geographic:
        raise CRSError(
            f"{label}: CRS {_crs_name(crs)} is projected; zonal means need lat/lon degrees",
            hint="reproject the raster to EPSG:4326: da.rio.reproject('EPSG:4326')",
        )
    return crs


def _crs_name(crs: Any) -> str:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    auth = c.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else c.name


def _report_empty(out: pd.DataFrame, labels: list[Any]) -> pd.DataFrame:
    """Record regions with a NaN band in ``attrs``; GridError when all are empty."""
    band = out[labels]
    empty = band.isna().any(axis=1)
    out.attrs["no_data_regions"] = out.index[empty].tolist()
    if len(out) and band.isna().all(axis=None):
        raise GridError(
            f"zonal mean: none of the {len(out)} regions overlaps a valid raster cell",
            hint="check that regions and raster cover the same area (lon -180..180) "
            "and that the raster is not all NaN",
        )
    return out
