"""Rendering a run's figures fast: formats asked for, worker processes, map geometry.

The figures themselves (titles, footnotes, scales) are tested in test_figures.py; here
the same synthetic regions and tables are drawn serially and in parallel, in one or two
formats, and the static maps' simplified polygons are checked against the originals.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box
from test_figures import META, _models, _raster, _regions, _table

from geo_ms.errors import GridError, SchemaError
from geo_ms.report import figures
from geo_ms.report.figures import FigureJob, maps, render


def _draw(out: Path, workers: int, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    return figures.make_all_figures(out, _regions(), _table(), _models(),
                                    {"cloud_cover": _raster()}, META, formats=formats,
                                    workers=workers)


def test_png_only_by_default_and_svg_only_when_asked(tmp_path: Path) -> None:
    paths = figures.forest_plot(tmp_path / "a", _models(), meta=META)
    assert [p.name for p in paths] == ["forest_plot.png"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["forest_plot.png"]
    paths = figures.forest_plot(tmp_path / "b", _models(), meta=META, formats=("svg",))
    assert [p.name for p in paths] == ["forest_plot.svg"]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["forest_plot.svg"]


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="^figure formats: pdf not supported$"):
        figures.forest_plot(tmp_path, _models(), meta=META, formats=("png", "pdf"))
    assert list(tmp_path.iterdir()) == []


def test_parallel_workers_write_the_same_files_in_the_same_order(tmp_path: Path) -> None:
    serial = _draw(tmp_path / "serial", workers=1)
    parallel = _draw(tmp_path / "parallel", workers=2)
    assert [p.name for p in serial] == [p.name for p in parallel]
    assert [p.name for p in serial][:2] == ["prevalence_map.png", "raster_cloud_cover.png"]
    assert len(serial) == 9 and all(p.suffix == ".png" for p in serial)
    for a, b in zip(serial, parallel, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_an_error_in_a_worker_keeps_its_message_and_hint(tmp_path: Path) -> None:
    bad = _raster().isel(month=0).rename(lat="y")
    jobs = [FigureJob(figures.forest_plot, (tmp_path, _models()), {"meta": META}),
            FigureJob(figures.exposure_raster_map, (tmp_path, bad))]
    with pytest.raises(GridError, match=r"dims \('y', 'lon'\) lack lat/lon") as info:
        render(jobs, workers=2)
    assert info.value.hint == "Pass a canonical raster (dims lat/lon, or month/lat/lon)."


def test_a_projected_raster_draws_the_same_map_as_the_raw_one(tmp_path: Path) -> None:
    raw = figures.exposure_raster_map(tmp_path / "raw", _raster(), _regions(), meta=META)
    pre = figures.exposure_raster_map(tmp_path / "pre", figures.project_raster(_raster()),
                                      _regions(), meta=META)
    assert raw[0].read_bytes() == pre[0].read_bytes()


def _zigzag_pair() -> gpd.GeoDataFrame:
    """Two neighbours sharing a border with 200 teeth of 0.01° (about 1 km), plus an
    Antarctic box that the maps do not draw."""
    lats = np.linspace(0.0, 10.0, 401)
    lons = 10.0 + 0.01 * (np.arange(lats.size) % 2)
    border = list(zip(lons, lats, strict=True))
    west = Polygon([(0.0, 0.0), *border, (0.0, 10.0)])
    east = Polygon([(20.0, 0.0), (20.0, 10.0), *border[::-1]])
    return gpd.GeoDataFrame({"region_id": ["W", "E", "AQ"]}, crs="EPSG:4326",
                            geometry=[west, east, box(0, -80, 10, -70)])


def test_map_polygons_are_simplified_in_equal_earth_and_stay_a_coverage() -> None:
    regions = _zigzag_pair()
    out = figures.map_regions(regions)
    assert list(out["region_id"]) == ["W", "E"]  # south of 60° S is not drawn
    assert out.crs.to_epsg() == 8857
    before = regions.iloc[:2].to_crs("EPSG:8857").geometry.values
    after = out.geometry.values
    # the 1 km teeth are gone (a 5 km tolerance) ...
    assert shapely.get_num_coordinates(after).sum() < 0.1 * shapely.get_num_coordinates(
        before).sum()
    # ... on both sides alike: no gap, no overlap between the neighbours
    assert shapely.coverage_is_valid(after)
    assert shapely.intersection(after[0], after[1]).area == pytest.approx(0.0, abs=1.0)
    union_before = shapely.union_all(before).area
    assert shapely.union_all(after).area == pytest.approx(union_before, rel=1e-3)
    for b, a in zip(before, after, strict=True):
        assert a.area == pytest.approx(b.area, rel=0.01)
        assert shapely.hausdorff_distance(a, b) < 5_000.0


def test_map_polygons_keep_tiny_islands(tmp_path: Path) -> None:
    islands = gpd.GeoDataFrame({"region_id": ["BIG", "ISLE"]}, crs="EPSG:4326",
                               geometry=[box(0, 0, 10, 10), box(30, 0, 30.01, 0.01)])
    out = figures.map_regions(islands)
    assert list(out["region_id"]) == ["BIG", "ISLE"]
    assert not out.geometry.is_empty.any()  # a 1 km island is kept (as a triangle at least)


def test_the_map_draws_the_simplified_polygons() -> None:
    fig = maps._draw_prevalence_map(_zigzag_pair(), _table().assign(region_id="W").iloc[:1],
                                    "prevalence_per_100k", "note")
    drawn = fig.axes[0].collections[0].get_paths()
    vertices = sum(len(p.vertices) for p in drawn)
    assert vertices < 100  # 401 border points each before simplification

