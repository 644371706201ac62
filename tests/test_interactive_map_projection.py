"""The interactive map is drawn in Equal Earth: areas on screen are proportional to areas on Earth."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod, Transformer
from shapely.geometry import box, shape

from geo_ms.report import interactive_map

# two 2° x 2° boxes: one on the equator, one at 60-62° N
BOXES = {"EQU": box(10, 0, 12, 2), "NOR": box(10, 60, 12, 62)}


def _features(tmp_path: Path) -> dict[str, dict]:
    regions = gpd.GeoDataFrame({"region_id": list(BOXES)}, geometry=list(BOXES.values()),
                               crs="EPSG:4326")
    table = pd.DataFrame({"region_id": list(BOXES), "cloud_cover_pct": [50.0, 60.0]})
    path = interactive_map(tmp_path / "map.html", regions, table, ["cloud_cover_pct"],
                           simplify_tolerance=0.0)
    html = path.read_text(encoding="utf-8")
    # folium adds the layer's FeatureCollection with one call of <layer>_add(...)
    m = re.search(r"_add\((\{\"features\".*?\})\);", html, re.DOTALL)
    assert m is not None, "no GeoJSON layer in the page"
    return {f["id"]: f for f in json.loads(m.group(1))["features"]}


def test_coordinates_are_equal_earth_in_100_km(tmp_path: Path) -> None:
    feats = _features(tmp_path)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:8857", always_xy=True)
    x, y = tr.transform(10.0, 60.0)
    ring = shape(feats["NOR"]["geometry"]).exterior.coords
    assert any(math.isclose(px, x / 1e5, abs_tol=5e-4) and math.isclose(py, y / 1e5, abs_tol=5e-4)
               for px, py in ring)


def test_areas_on_the_map_are_proportional_to_areas_on_earth(tmp_path: Path) -> None:
    feats = _features(tmp_path)
    ratio = shape(feats["NOR"]["geometry"]).area / shape(feats["EQU"]["geometry"]).area
    # on a sphere, a box's area is proportional to Δλ · (sin φ2 − sin φ1)
    sphere = (math.sin(math.radians(62)) - math.sin(math.radians(60))) / math.sin(math.radians(2))
    assert sphere == pytest.approx(0.4849, abs=1e-4)
    # EPSG:8857 is equal-area on the WGS 84 ellipsoid: the ratio is the geodesic one
    geod = Geod(ellps="WGS84")
    true = (abs(geod.geometry_area_perimeter(BOXES["NOR"])[0])
            / abs(geod.geometry_area_perimeter(BOXES["EQU"])[0]))
    assert true == pytest.approx(sphere, rel=0.02)
    assert ratio == pytest.approx(true, rel=1e-3)
    # (Web Mercator would have drawn the northern box about 2 times larger than the
    # equatorial one instead of half its size)
