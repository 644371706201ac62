"""Antimeridian repair: unwrap rings drawn with a jump, cut and wrap parts beyond ±180°.

>>> import geopandas as gpd, shapely
>>> gdf = gpd.GeoDataFrame({"code": ["A", "B"]},
...                        geometry=[shapely.box(0, 0, 1, 1), shapely.box(170, 0, 190, 1)],
...                        crs="EPSG:4326")
>>> out = split_antimeridian(gdf)
>>> [tuple(round(v, 6) for v in g.bounds) for g in out.geometry]
[(0.0, 0.0, 1.0, 1.0), (-180.0, 0.0, 180.0, 1.0)]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = ["split_antimeridian"]


def split_antimeridian(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Wrap polygons into [-180, 180] longitudes so that no part is silently lost.

    Two cases are repaired:

    * parts with longitudes beyond ±180 (a region given in 0..360, or with vertices
      at 181°) are cut at the antimeridian and the outer pieces shifted by ∓360°;
    * a ring that crosses the antimeridian drawn with a jump (an edge spanning more
      than 180° of longitude, e.g. 179 → -179) is first unwrapped, then cut.

    Rings that encircle a pole (Antarctica, whose edge runs 180 → -180 along -90°)
    and parts already split at ±180 (Natural Earth's Russia and Fiji) are left as
    they are.

    Parameters
    ----------
    gdf
        Any polygon GeoDataFrame in geographic lon/lat degrees.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with repaired geometries; ``attrs["antimeridian_split"]`` lists the row
        labels that changed.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> ring = shapely.Polygon([(170, -20), (-170, -20), (-170, -10), (170, -10)])
    >>> out = split_antimeridian(gpd.GeoDataFrame(geometry=[ring], crs="EPSG:4326"))
    >>> sorted(tuple(p.bounds) for p in out.geometry[0].geoms)
    [(-180.0, -20.0, -170.0, -10.0), (170.0, -20.0, 180.0, -10.0)]
    """
    out = gdf.copy()
    changed = []
    new = []
    for label, geom in zip(out.index, out.geometry, strict=True):
        fixed = _wrap_geometry(geom)
        if fixed is not geom:
            changed.append(label)
        new.append(fixed)
    out[out.geometry.name] = gpd.GeoSeries(new, index=out.index, crs=out.crs)
    out.attrs["antimeridian_split"] = changed
    return out



def _polygon_parts(geom: BaseGeometry | None) -> list[Polygon]:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygon_parts(g)]
    return []



def _unwrap_ring(coords: np.ndarray) -> np.ndarray | None:
    """Unwrap a ring's longitudes across jumps > 180°.

    None when there is no jump, or when the ring encircles a pole (winding 360°).
    """
    lon = coords[:, 0]
    jumps = np.diff(lon)
    if not np.any(np.abs(jumps) > 180):
        return None
    steps = np.concatenate([[0.0], -360.0 * np.round(jumps / 360.0) * (np.abs(jumps) > 180)])
    new_lon = lon + np.cumsum(steps)
    if abs(new_lon[-1] - new_lon[0]) > 1e-9:
        return None  # encircles a pole (winding 360°): leave untouched
    out = coords.copy()
    out[:, 0] = new_lon
    return out


def _unwrap_polygon(poly: Polygon) -> Polygon:
    shell = _unwrap_ring(np.asarray(poly.exterior.coords))
    if shell is None:
        return poly  # no jump in the shell (or a polar ring): keep as drawn
    holes = []
    centre = shell[:, 0].mean()
    for ring in poly.interiors:
        coords = np.asarray(ring.coords)
        h = _unwrap_ring(coords)
        h = coords.copy() if h is None else h
        h[:, 0] += 360.0 * np.round((centre - h[:, 0].mean()) / 360.0)
        holes.append(h)
    return Polygon(shell, holes)


def _wrap_geometry(geom: BaseGeometry | None) -> BaseGeometry | None:
    if geom is None or geom.is_empty:
        return geom
    parts = _polygon_parts(geom)
    if not parts:
        return geom
    unwrapped = [_unwrap_polygon(p) for p in parts]
    moved = any(u is not p for u, p in zip(unwrapped, parts, strict=True))
    xmin = min(u.bounds[0] for u in unwrapped)
    xmax = max(u.bounds[2] for u in unwrapped)
    if not moved and xmin >= -180.0 and xmax <= 180.0:
        return geom
    pieces: list[Polygon] = []
    for u in unwrapped:
        lo, hi = u.bounds[0], u.bounds[2]
        for k in range(
            int(np.floor((lo + 180.0) / 360.0)), int(np.floor((hi + 180.0) / 360.0)) + 1
        ):
            window = shapely.box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0)
            piece = (
                u.intersection(window) if (lo < window.bounds[0] or hi > window.bounds[2]) else u
            )
            piece = shapely.affinity.translate(piece, xoff=-360.0 * k) if k else piece
            pieces.extend(_polygon_parts(piece))
    if not pieces:
        return geom
    merged = shapely.union_all(pieces)
    parts_out = _polygon_parts(merged)
    return parts_out[0] if len(parts_out) == 1 else MultiPolygon(parts_out)
