"""The main-territory rule: keep a country's polygon parts near its largest part."""

from __future__ import annotations

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
    from pyproj import Geod, Transformer

    if not parts:
        return np.zeros(0)
    centre = target.representative_point()
    tr = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m",
        always_xy=True,
    )

    def fwd(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    t = shapely.transform(target, fwd)
    others = shapely.transform(np.asarray(parts, dtype=object), fwd)
    ends = shapely.get_coordinates(shapely.shortest_line(others, t)).reshape(-1, 2, 2)
    lon, lat = tr.transform(ends[..., 0].ravel(), ends[..., 1].ravel(), direction="INVERSE")
    lon, lat = np.asarray(lon).reshape(-1, 2), np.asarray(lat).reshape(-1, 2)
    _, _, dist = Geod(ellps="WGS84").inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])
    return np.asarray(dist, dtype=float)
