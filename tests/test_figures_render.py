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



def test_region_polygons_are_drawn_with_the_paths_geopandas_draws() -> None:
    """draw_polygons builds the collection from coordinate arrays; geopandas builds one
    PathPatch per region: same vertices, codes (holes, multipolygons) and colours."""
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from geo_ms.report.figures._common import draw_polygons

    holed = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (4, 2), (4, 4), (2, 4)]])
    multi = shapely.MultiPolygon([box(20, 0, 25, 5), box(30, 0, 31, 1)])
    gdf = gpd.GeoDataFrame({"v": [1.0, 2.0, 3.0, 4.0]}, crs="EPSG:8857",
                           geometry=[holed, multi, Polygon(), box(40, 40, 45, 47)])
    norm = Normalize(0, 5)
    ours_ax = Figure().add_subplot()
    ours = draw_polygons(ours_ax, gdf.geometry.values, gdf["v"].to_numpy(), cmap="viridis",
                         norm=norm, edgecolor="white", linewidth=0.2)
    theirs_ax = Figure().add_subplot()
    gdf.plot(ax=theirs_ax, column="v", cmap="viridis", norm=norm, edgecolor="white",
             linewidth=0.2)
    theirs = theirs_ax.collections[-1]
    assert len(ours.get_paths()) == len(theirs.get_paths()) == 3  # the empty one left out
    for a, b in zip(ours.get_paths(), theirs.get_paths(), strict=True):
        np.testing.assert_array_equal(a.vertices, b.vertices)
        np.testing.assert_array_equal(a.codes, b.codes)
    assert [len(p.vertices) for p in ours.get_paths()] == [10, 10, 5]  # hole, two parts
    np.testing.assert_array_equal(ours.get_array(), [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(ours.to_rgba(ours.get_array()),
                                  theirs.to_rgba(theirs.get_array()))
    assert ours.get_cmap().name == theirs.get_cmap().name == "viridis"


def test_scatter_labels_the_largest_studentised_residuals_of_many_points(
        tmp_path: Path) -> None:
    """50,000 points: the studentised residuals in closed form equal statsmodels' own
    (leave-one-out refits, checked on a subset) and the planted outliers are labelled."""
    import pandas as pd
    import statsmodels.api as sm

    from geo_ms.report.figures import scatter

    rng = np.random.default_rng(3)
    n = 50_000
    x = rng.uniform(10, 90, n)
    logy = 3 + 0.01 * x + rng.normal(0, 0.1, n)
    logy[[7, 4_242]] += [2.0, -1.5]  # two planted outliers
    small = sm.OLS(logy[:300], sm.add_constant(x[:300])).fit()
    np.testing.assert_allclose(scatter._studentized_residuals(small),
                               small.get_influence().resid_studentized_external, rtol=1e-9)
    table = pd.DataFrame({"region_id": [f"cell{i}" for i in range(n)],
                          "cloud_cover_pct": x, "prevalence_per_100k": np.exp(logy)})
    fig = scatter._draw_scatter(table, "cloud_cover_pct", "prevalence_per_100k", 2, "note")
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "point-label"]
    assert labels[:2] == ["cell7", "cell4242"]
    assert n > scatter.MAX_LABEL_OBSTACLES
