"""The main-territory rule (geo_ms.exposures.territory.main_territory_parts)."""

from __future__ import annotations

import pytest
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


def test_shortest_lines_through_the_boundary_pieces_equal_geos_on_the_whole_target():
    """The STRtree of boundary pieces gives GEOS's own shortest lines to the whole target,
    bit for bit: a target with a hole and several hundred boundary segments, parts
    outside it, in its hole, overlapping it and touching it."""
    import numpy as np

    from geo_ms.exposures.territory import _shortest_lines

    rng = np.random.default_rng(7)
    ang = np.sort(rng.uniform(0, 2 * np.pi, 700))
    rad = 50 + 8 * np.sin(5 * ang) + rng.uniform(-1, 1, ang.size)
    hole = shapely.Point(0, 0).buffer(12, quad_segs=40).exterior.coords
    target = shapely.Polygon(np.column_stack([rad * np.cos(ang), rad * np.sin(ang)]), [hole])
    centres = rng.uniform(-90, 90, (120, 2))
    parts = [shapely.box(x, y, x + rng.uniform(0.1, 5), y + rng.uniform(0.1, 5))
             for x, y in centres]
    parts += [shapely.box(-4.5, -1, 1, 2), shapely.box(45, -1, 70, 1),  # in the hole, across
              shapely.box(*target.exterior.coords[3], 80, 80)]  # touching at a vertex
    parts = np.asarray(parts, dtype=object)
    got = _shortest_lines(parts, target)
    want = shapely.shortest_line(parts, target)
    assert shapely.get_num_coordinates(target) > 700
    assert shapely.intersects(parts, target).sum() >= 2
    np.testing.assert_array_equal(shapely.get_coordinates(got), shapely.get_coordinates(want))
    assert 7.0 < shapely.length(got)[-3] < 12 - np.hypot(4.5, 2)  # corner (-4.5, 2) to r = 12
    # several pairs at exactly the same distance (a box centred in a round hole): either
    # pair may be chosen, at the same distance
    centred = np.asarray([shapely.box(-2, -2, 2, 2)], dtype=object)
    assert shapely.length(_shortest_lines(centred, target)) == pytest.approx(
        shapely.length(shapely.shortest_line(centred, target)), rel=1e-12)
