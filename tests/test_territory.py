"""The main-territory rule (geo_ms.exposures.territory.main_territory_parts)."""

from __future__ import annotations

import shapely

from geo_ms.exposures.territory import MAIN_TERRITORY_KM, main_territory_parts


def test_main_territory_threshold_is_geodesic():
    # small islands 8.9° and 9.1° of latitude north of a box: on the WGS84 ellipsoid
    # (pyproj.Geod) 984.2 km and 1,006.3 km
    base = shapely.box(0, 0, 1, 1)
    near = shapely.box(0.4, 9.9, 0.5, 10.0)
    far = shapely.box(0.4, 10.1, 0.5, 10.2)
    kept = main_territory_parts(shapely.MultiPolygon([base, near, far]))
    assert [g.bounds for g in kept.geoms] == [base.bounds, near.bounds]


def test_main_territory_keeps_a_single_polygon_and_uses_the_threshold_argument():
    box = shapely.box(0, 0, 1, 1)
    assert main_territory_parts(box) is box
    near = shapely.box(0.4, 9.9, 0.5, 10.0)  # 984.2 km north of the box
    kept = main_territory_parts(shapely.MultiPolygon([box, near]), max_km=900.0)
    assert kept.bounds == box.bounds and MAIN_TERRITORY_KM == 1000.0
