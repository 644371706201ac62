"""Figures: PNG+SVG written atomically, source footnotes, colour scales, fitted lines.

Synthetic inputs are eight 35°×45° boxes with hand-chosen values; the expected
numbers (log-scale limits, residual bounds, OLS slopes, added-variable slopes,
outlier labels) are recomputed here independently with numpy.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.colors import LogNorm
from shapely.geometry import box

from geo_ms.errors import CRSError, GridError, SchemaError
from geo_ms.report import figures
from geo_ms.report.figures import forest, maps, partial, scatter

matplotlib.use("Agg")
import matplotlib.pyplot  # the tests close figures through it

IDS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]
CONTINENTS = ["Europe", "Europe", "Africa", "Africa", "Asia", "Asia", "Oceania", "Europe"]
CLOUD = [70.0, 65.0, 30.0, 40.0, 50.0, 55.0, 60.0, 45.0]
UV = [3.0, 4.0, 10.0, 9.0, 7.0, 6.0, 5.0, 6.0]
PREV = [150.0, 120.0, 10.0, 20.0, 40.0, 35.0, 90.0, np.nan]  # HHH has no data
ABSLAT = [55.0, 50.0, 10.0, 20.0, 30.0, 25.0, 40.0, 45.0]
GDP = [40000.0, 30000.0, 2000.0, 3000.0, 8000.0, 10000.0, 35000.0, 20000.0]
RESID = [0.3, -0.2, -0.5, 0.1, 0.2, -0.1, 0.4, np.nan]
META = {
    "sources": [
        {"id": "gbd2016", "title": "GBD 2016", "licence": "IHME, non-commercial"},
        {"id": "cru_cl", "title": "CRU CL 1.0", "citation": "New et al. 1999"},
    ],
    "run_name": "test",
    "sample": False,
}
NOTE = (
    "Sources: GBD 2016; CRU CL 1.0. Licences and citations: see the report. Ecological data: "
    "says nothing about individual risk; GBD values are model outputs."
)


def _regions() -> gpd.GeoDataFrame:
    geoms = [
        box(-150 + 40 * (i % 4), -40 + 50 * (i // 4), -115 + 40 * (i % 4), 5 + 50 * (i // 4))
        for i in range(8)
    ]
    return gpd.GeoDataFrame(
        {"region_id": IDS, "iso3": IDS, "name": [f"Land {c}" for c in IDS],
         "continent": CONTINENTS},
        geometry=geoms,
        crs="EPSG:4326",
    )


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "region_id": IDS, "iso3": IDS, "name": [f"Land {c}" for c in IDS],
        "continent": CONTINENTS, "abs_latitude": ABSLAT, "gdp_per_capita": GDP,
        "lon": 0.0, "lat": 0.0, "cloud_cover_pct": CLOUD, "uv_index": UV,
        "prevalence_per_100k": PREV, "resid": RESID,
    })


def _models() -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["pearson", "pearson", "ols_adj_lat_gdp", "spatial_error"],
        "subset": ["all", "europe", "all", "all"],
        "exposure": ["cloud_cover_pct", "cloud_cover_pct", "cloud_cover_pct", "uv_index"],
        "outcome": ["log_prevalence"] * 4,
        "n": [7, 3, 7, 7],
        "estimate": [0.05, 0.02, 0.01, -0.3],
        "ci_low": [0.02, -0.05, -0.02, -0.5],
        "ci_high": [0.08, 0.09, 0.04, -0.1],
        "p_value": [0.01, 0.5, 0.4, 0.02],
        "std_estimate": [0.6, 0.2, 0.1, -0.7],
        "note": ["", "", "", "spatial lag"],
    })


def _raster(ascending: bool = False) -> xr.DataArray:
    """Monthly 5° grid whose value is |lat| + (month - 1): annual mean = |lat| + 5.5."""
    lat = np.arange(87.5, -90, -5.0)
    lon = np.arange(-177.5, 180, 5.0)
    data = np.stack([np.add.outer(np.abs(lat), np.zeros(lon.size)) + m for m in range(12)])
    da = xr.DataArray(
        data.astype("float32"), dims=("month", "lat", "lon"),
        coords={"month": np.arange(1, 13), "lat": lat, "lon": lon}, name="cloud_cover",
        attrs={"units": "%", "long_name": "Cloud cover", "citation": "New et al. 1999"},
    )
    return da.isel(lat=slice(None, None, -1)) if ascending else da


@pytest.fixture(scope="module")
def all_figures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("figs")
    paths = figures.make_all_figures(out, _regions(), _table(), _models(),
                                     {"cloud_cover": _raster()}, META, formats=("png", "svg"),
                                     workers=2)
    return out, paths


def _svg_note(path: Path) -> str:
    root = ET.parse(path).getroot()
    group = next(el for el in root.iter() if el.get("id") == "source-note")
    return " ".join(" ".join(t.text.split()) for t in group.iter() if t.text and t.text.strip())


# --------------------------------------------------------------------------- all figures


def test_make_all_figures_writes_png_and_svg_pairs(all_figures: tuple[Path, list[Path]]) -> None:
    out, paths = all_figures
    stems = list(dict.fromkeys(p.stem for p in paths))
    assert stems == [
        "prevalence_map", "raster_cloud_cover", "choropleth_cloud_cover_pct",
        "choropleth_uv_index", "scatter_cloud_cover_pct", "scatter_uv_index",
        "partial_regression", "residual_map", "forest_plot",
    ]
    assert len(stems) >= 8
    for stem in stems:
        png, svg = out / f"{stem}.png", out / f"{stem}.svg"
        assert png in paths and svg in paths
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 20_000, stem  # measured 40–115 kB
        assert svg.stat().st_size > 8_000, stem  # measured 10–31 kB
        ET.parse(svg)  # well-formed XML
    assert not [p for p in out.iterdir() if ".part" in p.name]  # no temporary leftovers


def test_every_svg_states_sources_and_caveats(all_figures: tuple[Path, list[Path]]) -> None:
    _, paths = all_figures
    for svg in [p for p in paths if p.suffix == ".svg"]:
        text = _svg_note(svg)
        if svg.stem.startswith("raster_"):
            assert text == NOTE.replace("report. Eco", "report. Raster: New et al. 1999. Eco")
        else:
            assert text == NOTE, svg.name


def test_png_metadata_carries_title_and_caption(all_figures: tuple[Path, list[Path]]) -> None:
    from PIL import Image

    out, _ = all_figures
    with Image.open(out / "prevalence_map.png") as img:
        assert img.text["Title"] == "MS prevalence per 100,000 by region"
        assert img.text["Description"].startswith("Colour scale is logarithmic")


def test_source_note_without_meta() -> None:
    assert figures.source_note({}) == (
        "Sources: see the report. Ecological data: says nothing about individual risk; "
        "GBD values are model outputs."
    )


# --------------------------------------------------------------------------- maps


def test_prevalence_map_uses_log_scale_and_hatches_missing() -> None:
    fig = maps._draw_prevalence_map(_regions(), _table(), "prevalence_per_100k", NOTE)
    ax = fig.axes[0]
    data_coll = ax.collections[0]
    assert isinstance(data_coll.norm, LogNorm)
    assert (data_coll.norm.vmin, data_coll.norm.vmax) == (10.0, 150.0)
    assert len(data_coll.get_paths()) == 7
    nodata = ax.collections[1]
    assert nodata.get_hatch() == "////" and len(nodata.get_paths()) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no data (1)"]
    assert fig.axes[1].get_xscale() == "log"  # the colour bar is logarithmic too
    ticks = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert ticks == ["10", "20", "50", "100"]  # plain numbers within 10–150
    matplotlib.pyplot.close(fig)


def test_prevalence_map_title_names_the_ms_table() -> None:
    fig = maps._draw_prevalence_map(_regions(), _table(), "prevalence_per_100k", NOTE,
                                    "GBD 2016 prevalence, age-standardised")
    assert fig._suptitle.get_text() == ("MS prevalence per 100,000 by region (GBD 2016 "
                                        "prevalence, age-standardised; n = 7)")
    matplotlib.pyplot.close(fig)


def test_scatter_and_partial_plots_name_the_ms_table() -> None:
    what = "Atlas of MS 2020, crude prevalence"
    fig = scatter._draw_scatter(_table(), "cloud_cover_pct", "prevalence_per_100k", 5, NOTE,
                                what)
    assert fig.axes[0].get_ylabel() == f"MS prevalence per 100,000 (log scale)\n{what}"
    matplotlib.pyplot.close(fig)
    fig = partial._draw_partial(_table(), ["cloud_cover_pct"], "prevalence_per_100k",
                                ["abs_latitude"], NOTE, what)
    assert fig._suptitle.get_text().startswith(
        f"Added-variable plots of log prevalence ({what}), given ")
    matplotlib.pyplot.close(fig)


def test_residual_map_title_names_the_ms_table() -> None:
    fig = maps._draw_residual_map(_regions(), _table(), "resid", NOTE, "OLS: y ~ x",
                                  "Atlas of MS 2020, crude prevalence")
    assert fig._suptitle.get_text() == ("Residuals in log units of OLS: y ~ x\n(Atlas of MS "
                                        "2020, crude prevalence; n = 7)")
    matplotlib.pyplot.close(fig)


def test_prevalence_map_counts_regions_absent_from_table_as_missing() -> None:
    table = _table().iloc[:5]  # FFF, GGG, HHH not in the table at all
    fig = maps._draw_prevalence_map(_regions(), table, "prevalence_per_100k", NOTE)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["no data (3)"]
    matplotlib.pyplot.close(fig)


def test_residual_map_is_centred_at_zero() -> None:
    fig = maps._draw_residual_map(_regions(), _table(), "resid", NOTE)
    norm = fig.axes[0].collections[0].norm
    assert (norm.vmin, norm.vmax) == (-0.5, 0.5)  # max |resid| = 0.5 (CCC)
    assert fig.axes[0].collections[0].get_cmap().name == "RdBu_r"
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("ascending", [False, True])
def test_raster_map_shows_the_annual_mean_north_up_in_equal_earth(ascending: bool) -> None:
    from pyproj import Transformer

    fig = maps._draw_raster_map(_raster(ascending), _regions(), NOTE)
    image = fig.axes[0].images[0]
    arr = np.ma.filled(np.asarray(image.get_array(), dtype=float), np.nan)
    x0, x1, y0, y1 = image.get_extent()
    assert x1 > 1.6e7 and y1 > 8e6  # metres of Equal Earth, not degrees
    to_ee = Transformer.from_crs("EPSG:4326", "EPSG:8857", always_xy=True)
    for lon, lat in [(2.5, 62.5), (2.5, -37.5), (-97.5, 12.5)]:
        x, y = to_ee.transform(lon, lat)
        col = int((x - x0) / (x1 - x0) * arr.shape[1])
        row = int((y1 - y) / (y1 - y0) * arr.shape[0])  # row 0 is the north edge
        assert arr[row, col] == pytest.approx(abs(lat) + 5.5), (lon, lat)
    matplotlib.pyplot.close(fig)


def test_single_day_raster_is_captioned_as_that_day(tmp_path: Path) -> None:
    from PIL import Image

    day = _raster().isel(month=0, drop=True)
    day.attrs.update(units="1", period="a single day, 2024-10-01", long_name="UV ratio")
    figures.exposure_raster_map(tmp_path, day, meta=META, stem="omi")
    with Image.open(tmp_path / "omi.png") as img:
        assert img.text["Description"].startswith("Gridded field of a single day, 2024-10-01.")
        assert "12 month" not in img.text["Description"]
    fig = maps._draw_raster_map(day, None, NOTE)
    assert fig.get_suptitle() == "UV ratio — a single day, 2024-10-01"
    assert fig.axes[1].get_xlabel() == "UV ratio (ratio, no unit)"  # not "(1)"
    matplotlib.pyplot.close(fig)


def test_static_maps_are_equal_earth_with_the_crs_in_their_metadata(
        all_figures: tuple[Path, list[Path]]) -> None:
    from PIL import Image

    out, _ = all_figures
    for stem in ("prevalence_map", "raster_cloud_cover", "choropleth_cloud_cover_pct",
                 "residual_map"):
        with Image.open(out / f"{stem}.png") as img:
            assert img.text["CRS"] == "EPSG:8857", stem
        assert "CRS EPSG:8857" in (out / f"{stem}.svg").read_text(), stem
    with Image.open(out / "scatter_uv_index.png") as img:
        assert "CRS" not in img.text
    fig = maps._draw_prevalence_map(_regions(), _table(), "prevalence_per_100k", NOTE)
    xmin, xmax = fig.axes[0].get_xlim()
    assert xmin < -1.6e7 and xmax > 1.6e7  # Equal Earth spans ±17.2 million metres
    matplotlib.pyplot.close(fig)


def test_residual_map_names_its_model_and_unit() -> None:
    fig = maps._draw_residual_map(_regions(), _table(), "resid", NOTE)
    assert fig.get_suptitle() == (
        "Residuals in log units of OLS: log prevalence ~ cloud cover + |latitude| + log GDP "
        "per capita\n(n = 7)")
    assert fig.axes[1].get_xlabel().startswith("Residual, log units")
    matplotlib.pyplot.close(fig)


def test_choropleth_title_is_human_and_says_why_n_differs() -> None:
    table = _table().assign(cloud_fraction_modis_pct=[50.0, np.nan, *[40.0] * 6])
    fig = maps._draw_choropleth(_regions(), table, "cloud_fraction_modis_pct", NOTE)
    # 7 regions have prevalence; 7 have the product, 6 of them with prevalence
    assert fig.get_suptitle() == (
        "Cloud fraction, MODIS (%): regional mean\n(n = 7)")
    fig2 = maps._draw_choropleth(_regions(), table.iloc[:7].assign(
        cloud_fraction_modis_pct=[50.0, np.nan, 40.0, 40.0, 40.0, 40.0, np.nan]),
        "cloud_fraction_modis_pct", NOTE)
    assert fig2.get_suptitle() == (
        "Cloud fraction, MODIS (%): regional mean\n(n = 5 of 7: regions with MS prevalence "
        "and valid cells of the product)")
    fig3 = maps._draw_choropleth(_regions(), _table().assign(
        prevalence_per_100k=[150.0, np.nan, *PREV[2:]]), "cloud_cover_pct", NOTE)
    assert fig3.get_suptitle() == (
        "Cloud cover, CRU CL 1.0 (%): regional mean\n(n = 8, not 6: every region with a "
        "value; the models use those with MS prevalence)")
    matplotlib.pyplot.close(fig2)
    matplotlib.pyplot.close(fig3)
    matplotlib.pyplot.close(fig)


# --------------------------------------------------------------------------- fits


def _studentised_external(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out studentised residuals of y ~ 1 + x, by explicit refits."""
    out = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        slope, icept = np.polyfit(x[keep], y[keep], 1)
        res = y[keep] - (icept + slope * x[keep])
        s2 = res @ res / (keep.sum() - 2)
        xm = x[keep].mean()
        var_pred = s2 * (1 + 1 / keep.sum() + (x[i] - xm) ** 2 / ((x[keep] - xm) ** 2).sum())
        out.append((y[i] - (icept + slope * x[i])) / np.sqrt(var_pred))
    return np.array(out)


def test_scatter_fit_line_and_outlier_labels() -> None:
    fig = scatter._draw_scatter(_table(), "cloud_cover_pct", "prevalence_per_100k", 5, NOTE)
    ax = fig.axes[0]
    x = np.array(CLOUD[:7])
    y = np.log(PREV[:7])
    slope, icept = np.polyfit(x, y, 1)
    assert slope == pytest.approx(0.0688, abs=5e-5)
    line = ax.lines[0]
    assert np.exp(icept + slope * 30) == pytest.approx(line.get_ydata()[0], rel=1e-9)
    assert f"slope {slope:.3g}" in line.get_label()
    stud = _studentised_external(x, y)
    expected = {IDS[i] for i in np.argsort(-np.abs(stud))[:5]}
    extremes = {IDS[int(np.argmin(x))], IDS[int(np.argmax(x))], IDS[int(np.argmax(y))],
                IDS[int(np.argmin(y))]}
    labels = {t.get_text() for t in ax.texts}
    assert labels == expected | extremes
    assert ax.get_yscale() == "log"
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {
        "Africa", "Asia", "Europe", "Oceania", "95 % confidence band"}
    matplotlib.pyplot.close(fig)


def _crowded_table(n: int = 40) -> pd.DataFrame:
    """n regions in a tight cloud (every label wants the same spot) plus two outliers."""
    rng = np.random.default_rng(7)
    ids = [f"C{i:02d}" for i in range(n)]
    cloud = np.r_[60 + rng.normal(0, 1.0, n - 2), 20.0, 95.0]
    prev = np.r_[np.exp(4 + rng.normal(0, 0.1, n - 2)), 300.0, 2.0]
    return pd.DataFrame({"region_id": ids, "iso3": ids, "cloud_cover_pct": cloud,
                         "prevalence_per_100k": prev,
                         "continent": ["Europe"] * (n - 3) + ["Seven seas (open ocean)"] * 3,
                         "region_un": ["Europe"] * (n - 3) + ["Africa"] * 3})


def test_scatter_labels_do_not_collide() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = scatter._draw_scatter(_crowded_table(), "cloud_cover_pct", "prevalence_per_100k",
                                12, NOTE)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_gid() == "point-label"]
    assert len(texts) >= 12
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (texts[boxes.index(a)].get_text(), a, b)
    # the legend sits outside the data area
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1
    matplotlib.pyplot.close(fig)


def test_continents_as_a_reader_expects_no_seven_seas() -> None:
    fig = scatter._draw_scatter(_crowded_table(), "cloud_cover_pct", "prevalence_per_100k",
                                3, NOTE)
    names = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert names[:2] == ["Africa", "Europe"]
    assert not [n for n in names if "Seven seas" in n]
    matplotlib.pyplot.close(fig)


def test_log_axis_is_ticked_with_plain_numbers() -> None:
    fig = scatter._draw_scatter(_crowded_table(), "cloud_cover_pct", "prevalence_per_100k",
                                3, NOTE)
    ax = fig.axes[0]
    low, high = ax.get_ylim()  # 2 / 1.3 .. 300 × 1.3
    assert (low, high) == pytest.approx((2 / 1.3, 390))
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["2", "5", "10", "20", "50", "100", "200"]
    matplotlib.pyplot.close(fig)


def test_no_underscore_in_any_figure_title(all_figures: tuple[Path, list[Path]]) -> None:
    from PIL import Image

    _, paths = all_figures
    for png in [p for p in paths if p.suffix == ".png"]:
        with Image.open(png) as img:
            assert "_" not in img.text["Title"], (png.name, img.text["Title"])
    table = _table().assign(cloud_fraction_modis_pct=CLOUD, sunshine_hours_cities=CLOUD)
    for column in ("cloud_fraction_modis_pct", "sunshine_hours_cities", "uv_index_winter_popw"):
        table[column] = CLOUD
        fig = scatter._draw_scatter(table, column, "prevalence_per_100k", 3, NOTE)
        titles = [fig.axes[0].get_title(), fig.axes[0].get_xlabel()]
        fig2 = maps._draw_choropleth(_regions(), table, column, NOTE)
        titles += [fig2.get_suptitle(), fig2.axes[1].get_xlabel()]
        assert not [t for t in titles if "_" in t], titles
        matplotlib.pyplot.close(fig)
        matplotlib.pyplot.close(fig2)


def test_added_variable_slope_equals_full_regression_coefficient() -> None:
    frame = scatter._fit_frame(_table(), "cloud_cover_pct", "prevalence_per_100k",
                               ["abs_latitude", "gdp_per_capita"])
    _, _, slope = partial._added_variable(frame, ["abs_latitude", "gdp_per_capita"])
    design = np.column_stack([np.ones(7), CLOUD[:7], ABSLAT[:7], np.log(GDP[:7])])
    beta = np.linalg.lstsq(design, np.log(PREV[:7]), rcond=None)[0]
    assert slope == pytest.approx(beta[1], rel=1e-9)
    assert slope == pytest.approx(0.011, abs=5e-4)


def test_partial_regression_titles_state_the_slopes(tmp_path: Path) -> None:
    paths = figures.partial_regression_plots(tmp_path, _table(), ["cloud_cover_pct"], meta=META,
                                             formats=("png", "svg"))
    svg_text = paths[1].read_text()
    frame = scatter._fit_frame(_table(), "cloud_cover_pct", "prevalence_per_100k",
                               ["abs_latitude", "gdp_per_capita"])
    _, _, slope = partial._added_variable(frame, ["abs_latitude", "gdp_per_capita"])
    assert f"Cloud cover (%): slope {slope:.3g} (n = 7)" in svg_text


def test_forest_rows_scale_cis_to_standardised_estimates() -> None:
    rows = forest._forest_rows(_models(), "std_estimate")
    assert rows["label"].tolist() == [
        "Cloud cover, CRU CL 1.0 (%)", "Cloud cover, CRU CL 1.0 (%) — Europe (incl. Russia)",
        "Cloud cover, CRU CL 1.0 (%)", "UV index (NASA NEO, Aura/OMI)"]
    # row 0: factor 0.6 / 0.05 = 12 → CI 0.24..0.96; row 3: factor -0.7 / -0.3 → -1.1667..-0.2333
    assert rows.loc[0, ["ci_low", "ci_high"]].tolist() == pytest.approx([0.24, 0.96])
    assert rows.loc[3, ["ci_low", "ci_high"]].tolist() == pytest.approx([-3.5 / 3, -0.7 / 3])


def test_forest_plot_has_one_panel_per_estimand_and_a_key() -> None:
    fig = forest._draw_forest(_models(), None, NOTE)
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == [
        "Pearson r with log prevalence",
        "Standardised β, OLS adjusted for |latitude| and log GDP",
        "Standardised β, spatial error model (same adjustment)"]
    assert [len(ax.get_yticks()) for ax in axes] == [2, 1, 1]
    for ax in axes:
        assert len([ln for ln in ax.lines if list(ln.get_xdata()) == [0, 0]]) == 1
    assert axes[0].get_yticklabels()[1].get_text() == (
        "Cloud cover, CRU CL 1.0 (%) — Europe (incl. Russia) (n = 3)")  # n 3, not 7
    # Pearson r drawn as is, regression coefficients standardised (β 0.1, CI 0.2 × ...)
    assert axes[0].lines[1].get_xdata()[0] == pytest.approx(0.05)
    assert axes[1].lines[1].get_xdata()[0] == pytest.approx(0.1)
    key = [t.get_text() for t in fig.legends[0].get_texts()]
    assert key == ["95 % CI excludes 0", "95 % CI includes 0", "no association"]
    matplotlib.pyplot.close(fig)


def test_forest_x_labels_and_key_lie_inside_the_figure(tmp_path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = forest._draw_forest(_models(), None, NOTE)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # lays the figure out as it is written
    renderer = canvas.get_renderer()
    frame = fig.bbox
    boxes = [ax.xaxis.label.get_window_extent(renderer) for ax in fig.axes]
    boxes.append(fig.legends[0].get_window_extent(renderer))
    for box_ in boxes:
        assert box_.width > 0
        assert frame.x0 <= box_.x0 and box_.x1 <= frame.x1, (box_, frame)
        assert frame.y0 <= box_.y0 and box_.y1 <= frame.y1, (box_, frame)
    matplotlib.pyplot.close(fig)


# --------------------------------------------------------------------------- errors


def test_missing_column_is_a_schema_error(tmp_path: Path) -> None:
    table = _table().drop(columns="prevalence_per_100k")
    with pytest.raises(SchemaError, match=r"^analysis table: missing column\(s\) "
                                          r"prevalence_per_100k$") as info:
        figures.prevalence_map(tmp_path, _regions(), table)
    assert "docs/architecture.md" in info.value.hint
    assert list(tmp_path.iterdir()) == []


def test_regions_without_crs_are_rejected(tmp_path: Path) -> None:
    regions = _regions().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"^regions: GeoDataFrame has no CRS$"):
        figures.residual_map(tmp_path, regions, _table())


def test_raster_without_lat_lon_is_a_grid_error(tmp_path: Path) -> None:
    bad = _raster().rename({"lat": "y"})
    with pytest.raises(GridError, match=re.escape("raster 'cloud_cover': dims ('month', 'y', "
                                                  "'lon') lack lat/lon")):
        figures.exposure_raster_map(tmp_path, bad)


def test_forest_plot_rejects_unknown_value(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"^forest_plot: value='p_value' is not a models"):
        figures.forest_plot(tmp_path, _models(), value="p_value")


def test_failed_save_leaves_previous_figure_intact(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    figures.forest_plot(tmp_path, _models(), meta=META, formats=("png", "svg"))
    before = (tmp_path / "forest_plot.png").read_bytes()

    def boom(self: object, *args: object, **kwargs: object) -> None:
        if isinstance(args[0], str | Path):
            Path(args[0]).write_bytes(b"half")  # a half-written temporary file
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", boom)  # the SVG
    monkeypatch.setattr(Image.Image, "save", boom)  # the PNG
    for fmt in ("png", "svg"):
        with pytest.raises(OSError, match="disk full"):
            figures.forest_plot(tmp_path, _models().iloc[:2], meta=META, formats=(fmt,))
    assert (tmp_path / "forest_plot.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest_plot.png", "forest_plot.svg"]


# --------------------------------------------------------------------------- mirror


def test_prevalence_map_on_natural_earth_boundaries(mirror: Path, tmp_path: Path) -> None:
    path = mirror / "boundaries" / "ne_10m_admin_0_countries_deu.zip"
    ne = gpd.read_file(f"zip://{path}!ne_10m_admin_0_countries_deu.shp",
                       columns=["ADM0_A3", "NAME", "CONTINENT"])
    assert len(ne) == 250  # SOURCES.md: 250 features
    ne["geometry"] = ne.geometry.simplify(0.1)
    regions = ne.rename(columns={"ADM0_A3": "region_id"})
    known = {"NOR": 200.0, "SWE": 190.0, "DEU": 150.0, "ITA": 120.0, "JPN": 4.0, "BRA": 15.0}
    table = pd.DataFrame({"region_id": list(known), "prevalence_per_100k": list(known.values())})
    fig = maps._draw_prevalence_map(regions, table, "prevalence_per_100k", NOTE)
    ax = fig.axes[0]
    assert isinstance(ax.collections[0].norm, LogNorm)
    assert (ax.collections[0].norm.vmin, ax.collections[0].norm.vmax) == (4.0, 200.0)
    # 250 − 6 with data − Antarctica (entirely south of 60° S, not drawn)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no data (243)"]
    from pyproj import Transformer

    _, (y_south, y_north) = Transformer.from_crs("EPSG:4326", "EPSG:8857", always_xy=True
                                                 ).transform([0, 0], [-60, 90])
    assert ax.get_ylim() == pytest.approx((y_south, y_north), rel=1e-6)  # Antarctica trimmed
    matplotlib.pyplot.close(fig)
    paths = figures.prevalence_map(tmp_path, regions, table, meta=META, formats=("png", "svg"))
    assert [p.name for p in paths] == ["prevalence_map.png", "prevalence_map.svg"]
    assert paths[0].stat().st_size > 50_000


def test_source_note_names_only_the_figures_datasets() -> None:
    from geo_ms.report.figures import source_note

    meta = {"sources": [{"id": "ne", "title": "Natural Earth 5.1.1", "kind": "boundaries"},
                        {"id": "gbd", "title": "GBD 2016 (DDF)", "kind": "prevalence"},
                        {"id": "cru", "title": "CRU CL 1.0, monthly", "kind": "cloud"},
                        {"id": "wdi", "title": "Health expenditure", "kind": "covariate"}],
            "column_sources": {"prevalence_per_100k": ["gbd"], "cloud_cover_pct": ["cru"],
                               "resid": []}}
    caveat = "Ecological data: says nothing about individual risk; GBD values are model outputs."
    tail = ". Licences and citations: see the report. " + caveat
    assert source_note(meta, columns=["prevalence_per_100k", "cloud_cover_pct"]) == (
        "Sources: Natural Earth 5.1.1; GBD 2016; CRU CL 1.0" + tail)
    assert source_note(meta, columns=[]) == "Sources: Natural Earth 5.1.1" + tail
    # a column without known datasets, or an unknown column: every source of the run
    full = "Sources: Natural Earth 5.1.1; GBD 2016; CRU CL 1.0; Health expenditure" + tail
    assert source_note(meta, columns=["resid"]) == full
    assert source_note(meta, columns=["cloud_cover_pct", "other"]) == full
    assert source_note(meta) == full
