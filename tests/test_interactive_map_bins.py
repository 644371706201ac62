"""The interactive map above ~5,000 regions: square bins of area-weighted means.

6,000 squares of 0.2° (a district-sized tessellation) would write every polygon, its
tooltip values and its colours into map.html; instead the map draws square bins and
says so. Bin values are checked by hand: for lon/lat squares of equal width, equal-area
weights are proportional to sin(north) − sin(south).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo_ms.report import interactive_map
from geo_ms.report.interactive import MAX_MAP_REGIONS, binned_layer

STEP = 0.2


def _squares(nx: int = 80, ny: int = 75) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    west = np.arange(nx) * STEP
    south = 40.0 + np.arange(ny) * STEP
    ww, ss = (a.ravel() for a in np.meshgrid(west, south))
    ids = [f"sq{i}" for i in range(ww.size)]
    regions = gpd.GeoDataFrame({"region_id": ids}, crs="EPSG:4326",
                               geometry=[box(w, s, w + STEP, s + STEP)
                                         for w, s in zip(ww, ss, strict=True)])
    table = pd.DataFrame({"region_id": ids, "prevalence_per_100k": 50.0 + ss + 0.5 * ww,
                          "cloud_cover_pct": np.where(ww < 1.0, np.nan, ww)})
    return regions, table


def _json_block(page: str, block: str) -> object:
    m = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', page, re.DOTALL)
    assert m is not None, block
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def binned_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    regions, table = _squares()
    path = tmp_path_factory.mktemp("bins") / "map.html"
    interactive_map(path, regions, table, ["prevalence_per_100k", "cloud_cover_pct"])
    return path, path.read_text(encoding="utf-8")


def test_many_regions_are_drawn_as_bins_in_a_small_page(binned_page: tuple[Path, str]) -> None:
    path, page = binned_page
    assert path.stat().st_size < 5_000_000
    records = _json_block(page, "geo-ms-data")
    assert isinstance(records, list)
    assert len(records) <= MAX_MAP_REGIONS < 6000
    assert sum(r["n_regions"] for r in records) == 6000  # every region is in one bin
    assert "6,000 regions are shown as" in page and 'id="geo-ms-binned"' in page
    colours = _json_block(page, "geo-ms-colours")
    assert isinstance(colours, dict)
    assert set(colours) == {"prevalence_per_100k", "cloud_cover_pct"}


def test_a_bin_holds_the_area_weighted_mean_of_its_regions(
        binned_page: tuple[Path, str]) -> None:
    _, page = binned_page
    records = {r["region_id"]: r for r in _json_block(page, "geo-ms-data")}  # type: ignore[union-attr]
    # 0.25° bins (the finest with at most 5,000 bins); the bin 40.25–40.5 N, 0.25–0.5 E
    # holds the squares whose centres (w + 0.1, s + 0.1) fall in it: w = 0.2, s = 40.2 and
    # s = 40.4 (centres 0.3 E; 40.3 and 40.5 N: 40.5 belongs to the next bin) → s = 40.2 only
    got = records["40.25°, 0.25°"]
    assert got["n_regions"] == 1
    assert got["prevalence_per_100k"] == pytest.approx(50.0 + 40.2 + 0.5 * 0.2, abs=1e-6)
    # the bin 40.5–40.75 N, 0–0.25 E holds centres (0.1 E, 40.5 N) and (0.1 E, 40.7 N)
    two = records["40.5°, 0°"]
    assert two["n_regions"] == 2
    s = np.array([40.4, 40.6])
    w = np.sin(np.radians(s + STEP)) - np.sin(np.radians(s))
    expected = float(np.sum((50.0 + s) * w) / np.sum(w))
    assert two["prevalence_per_100k"] == pytest.approx(expected, abs=1e-6)
    assert expected != pytest.approx(50.0 + 40.5, abs=1e-6)  # the weights matter
    assert two["cloud_cover_pct"] is None  # no region of that bin has a value


def test_few_regions_are_drawn_as_themselves(tmp_path: Path) -> None:
    regions, table = _squares(10, 10)
    path = interactive_map(tmp_path / "map.html", regions, table, ["prevalence_per_100k"])
    page = path.read_text(encoding="utf-8")
    records = _json_block(page, "geo-ms-data")
    assert [r["region_id"] for r in records] == table["region_id"].tolist()  # type: ignore[union-attr]
    assert 'id="geo-ms-binned"' not in page


def test_bins_grow_until_they_fit() -> None:
    regions, table = _squares()
    gdf = regions.merge(table, on="region_id")
    coarse = binned_layer(gdf, ["prevalence_per_100k"], max_features=100)
    assert coarse.attrs["binned"]["size_deg"] == 2.0  # 16° x 15° in 2° bins: 8 x 8 = 64
    assert len(coarse) == 64 and coarse["n_regions"].sum() == 6000


def test_few_but_very_detailed_regions_are_binned_too(tmp_path: Path) -> None:
    from shapely.geometry import Point

    centres = [(-170.0 + 4.0 * (i % 80), -50.0 + 12.0 * (i // 80)) for i in range(300)]
    regions = gpd.GeoDataFrame(
        {"region_id": [f"c{i}" for i in range(300)]}, crs="EPSG:4326",
        geometry=[Point(x, y).buffer(1.5, quad_segs=256) for x, y in centres])  # 1,025 vertices
    table = pd.DataFrame({"region_id": regions["region_id"], "prevalence_per_100k": 10.0})
    path = interactive_map(tmp_path / "map.html", regions, table, ["prevalence_per_100k"],
                           simplify_tolerance=0.0)
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 5_000_000  # about 6 MB had the 307,500 vertices been written
    assert "300 regions are shown as" in page
