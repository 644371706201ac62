"""The main-territory rule: keep a country's polygon parts near its largest part."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo_ms.exposures.antimeridian import _polygon_parts

__all__ = ["MAIN_TERRITORY_KM", "main_territory_parts"]

#: Polygon parts farther than this (km, geodesic) from a country's largest part are
#: dropped by ``countries(..., main_territory=True)``.
MAIN_TERRITORY_KM = 1000.0


def main_territory_parts(geom: BaseGeometry, max_km: float = MAIN_TERRITORY_KM) -> BaseGeometry:
    """Keep the polygon parts within *max_km* (geodesic) of the largest part.

    The largest part is chosen by area scaled with cos(latitude). For each other part
    the nearest pair of points to the largest part (simplified to 0.01°, about 1 km)
    is found in an azimuthal-equidistant projection centred on the largest part, and
    the distance of that pair is measured on the WGS84 ellipsoid (pyproj.Geod).

    Examples
    --------
    >>> import shapely
    >>> france = shapely.MultiPolygon([shapely.box(-4, 43, 7, 50),   # mainland
    ...                                shapely.box(8.5, 41.4, 9.5, 43),  # Corsica
    ...                                shapely.box(-54, 2, -51.6, 5.7)])  # French Guiana
    >>> [g.bounds for g in main_territory_parts(france).geoms]
    [(-4.0, 43.0, 7.0, 50.0), (8.5, 41.4, 9.5, 43.0)]
    """
    parts = _polygon_parts(geom)
    if len(parts) <= 1:
        return geom
    big = max(parts, key=_scaled_area)
    # 0.01° (≈ 1 km) simplification: negligible against the threshold, much faster
    simple = shapely.simplify(big, 0.01, preserve_topology=False)
    simple = big if simple.is_empty else simple
    others = [p for p in parts if p is not big]
    dist = _nearest_geodesic_m(simple, others)
    keep = [big] + [p for p, d in zip(others, dist, strict=True) if d <= max_km * 1e3]
    keep.sort(key=parts.index)
    return keep[0] if len(keep) == 1 else MultiPolygon(keep)


def _largest_part(geom: BaseGeometry) -> BaseGeometry:
    parts = _polygon_parts(geom)
    return max(parts, key=_scaled_area) if parts else geom


def _scaled_area(poly: Polygon) -> float:
    return poly.area * np.cos(np.deg2rad(poly.centroid.y))


def _nearest_geodesic_m(target: BaseGeometry, parts: list[BaseGeometry]) -> np.ndarray:
    """Geodesic length (m, WGS84) of the shortest line from each part to *target*.

    The pair of nearest points is found in an azimuthal-equidistant projection
    centred on *target*; the distance between that pair is then measured on the
    ellipsoid (so the projection only chooses the pair, it does not scale the result).
    """
    from pyproj import Geod

    if not parts:
        return np.zeros(0)
    centre = target.representative_point()
    tr = _aeqd(centre.x, centre.y)

    def fwd(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    t = shapely.transform(target, fwd)
    others = shapely.transform(np.asarray(parts, dtype=object), fwd)
    ends = shapely.get_coordinates(_shortest_lines(others, t)).reshape(-1, 2, 2)
    lon, lat = tr.transform(ends[..., 0].ravel(), ends[..., 1].ravel(), direction="INVERSE")
    lon, lat = np.asarray(lon).reshape(-1, 2), np.asarray(lat).reshape(-1, 2)
    _, _, dist = Geod(ellps="WGS84").inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])
    return np.asarray(dist, dtype=float)


def _aeqd(lon_0: float, lat_0: float) -> Any:
    """Transformer lon/lat (WGS84, degrees) → azimuthal equidistant metres centred on a point.

    The pipeline that ``Transformer.from_crs("EPSG:4326", "+proj=aeqd +lat_0=… +lon_0=…
    +datum=WGS84 +units=m", always_xy=True)`` builds, given directly: the same numbers,
    without a search of PROJ's database for each country (5 ms each).

    >>> from pyproj import Transformer
    >>> ref = Transformer.from_crs("EPSG:4326", "+proj=aeqd +lat_0=45.0 +lon_0=2.0 "
    ...                            "+datum=WGS84 +units=m", always_xy=True)
    >>> _aeqd(2.0, 45.0).transform(3.0, 46.5) == ref.transform(3.0, 46.5)
    True
    """
    from pyproj import Transformer

    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat_0} +lon_0={lon_0} +x_0=0 +y_0=0 +ellps=WGS84")


#: Segments per piece of the target's boundary in :func:`_shortest_lines`.
_RUN = 32


def _shortest_lines(parts: np.ndarray, target: BaseGeometry) -> np.ndarray:
    """``shapely.shortest_line(parts, target)``, without walking all of *target* for each part.

    A part that intersects *target* gets GEOS's line as it is. For the others the
    nearest points lie on *target*'s boundary: it is cut into pieces of :data:`_RUN`
    segments (its own vertices, so the same segments), an STRtree finds the pieces at
    the smallest distance from each part (all of them on a tie), and the shortest line
    to those pieces is the one to the whole target — on Canada's 411 islands about four
    times faster. The same segments give the same points, bit for bit (all 4,008 parts
    of the Natural Earth 1:10m countries), except where several pairs of points are at
    exactly the same distance: then either pair may be chosen, at that same distance.

    >>> import shapely
    >>> big = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)],
    ...                       holes=[[(40, 40), (60, 40), (60, 60), (40, 60)]])
    >>> parts = np.array([shapely.box(103, 50, 104, 51), shapely.box(45, 45, 46, 46),
    ...                   shapely.box(99, 10, 101, 11)], dtype=object)
    >>> [round(float(v), 6) for v in shapely.length(_shortest_lines(parts, big))]
    [3.0, 5.0, 0.0]
    """
    out = np.empty(parts.size, dtype=object)
    touch = shapely.intersects(parts, target)
    if touch.any():
        out[touch] = shapely.shortest_line(parts[touch], target)
    rest = np.flatnonzero(~touch)
    if rest.size == 0:
        return out
    rings = shapely.get_rings(shapely.get_parts(target))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    pieces = []
    for r in range(rings.size):
        first, last = np.flatnonzero(ring == r)[[0, -1]]
        pieces += [shapely.LineString(coords[a:min(a + _RUN, last) + 1])
                   for a in range(first, last, _RUN)]
    pieces_a = np.asarray(pieces, dtype=object)
    which, piece = shapely.STRtree(pieces_a).query_nearest(parts[rest], all_matches=True)
    near = shapely.multilinestrings(pieces_a[piece], indices=which)
    out[rest] = shapely.shortest_line(parts[rest], near)
    return out
