"""Static figures of the analysis, by kind: maps, scatter, added-variable and forest plots.

Every public function draws one figure with matplotlib (a bare ``Figure``, no pyplot
state, so any backend and notebooks are unaffected), writes it once per format asked
for (``formats``: PNG by default, SVG on request) through
:func:`geo_ms._io.atomic_path` and returns the written paths; :func:`make_all_figures`
can draw a run's figures in parallel worker processes (:mod:`._pool`). Each figure
carries a footnote naming its data sources and caveats, and stores its title and
caption in the file metadata (PNG ``Title``/``Description`` text chunks), which
:func:`geo_ms.report.render.render_report` reads back as the caption. Titles and
axis labels come from one data dictionary (:data:`LABELS`); static maps are drawn
in Equal Earth (EPSG:8857) from polygons simplified there (:func:`map_regions`).

- :mod:`~geo_ms.report.figures._common` — labels, footnote, projection, map polygons, saving
- :mod:`~geo_ms.report.figures._pool` — figures as jobs, drawn in worker processes
- :mod:`~geo_ms.report.figures.maps` — prevalence, exposure, raster, residual maps
- :mod:`~geo_ms.report.figures.scatter` — prevalence against one exposure
- :mod:`~geo_ms.report.figures.partial` — added-variable plots
- :mod:`~geo_ms.report.figures.forest` — sensitivity forest plot
- :mod:`~geo_ms.report.figures.triangulation` — each claim across MS outcomes
- :mod:`~geo_ms.report.figures.specification_curve` — C1 and C3 across every specification

>>> source_note({"sources": [{"title": "GBD 2016", "licence": "IHME, non-commercial"}]})
'Sources: GBD 2016. Licences and citations: see the report. Ecological data: says nothing about individual risk; GBD values are model outputs.'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from geo_ms.report.figures._common import (
    CAVEAT,
    DEFAULT_FORMATS,
    FORMATS,
    LABELS,
    MAP_CRS,
    OUTCOME,
    check_formats,
    label,
    map_regions,
    source_note,
)
from geo_ms.report.figures._pool import FigureJob, available_workers, render
from geo_ms.report.figures.forest import ESTIMANDS, forest_plot
from geo_ms.report.figures.maps import (
    exposure_choropleth,
    exposure_raster_map,
    prevalence_map,
    project_raster,
    residual_map,
)
from geo_ms.report.figures.partial import CONTROLS, partial_regression_plots
from geo_ms.report.figures.scatter import scatter_with_fit

__all__ = [
    "CAVEAT",
    "DEFAULT_FORMATS",
    "FORMATS",
    "LABELS",
    "MAP_CRS",
    "FigureJob",
    "available_workers",
    "check_formats",
    "exposure_choropleth",
    "exposure_raster_map",
    "figure_jobs",
    "forest_plot",
    "label",
    "make_all_figures",
    "map_regions",
    "partial_regression_plots",
    "prevalence_map",
    "project_raster",
    "render",
    "residual_map",
    "scatter_with_fit",
    "source_note",
]

_KNOWN_EXPOSURES = (
    "cloud_cover_pct", "cloud_fraction_modis_pct", "cloudiness_sunshine_pct", "uv_index",
    "vitd_uv_clear", "vitd_uv_allsky", "ghi_merra2", "sunshine_hours_cities",
    "cloud_fraction", "vitd_dose_clear", "sunshine_hours", "ghi", "radiation",
)


def _exposures(table: pd.DataFrame, models: pd.DataFrame | None, limit: int = 4) -> list[str]:
    found: list[str] = []
    if models is not None and "exposure" in models:
        for exp in models["exposure"].dropna().astype(str):
            if exp in table.columns and exp not in found and exp != "abs_latitude":
                found.append(exp)
    for exp in _KNOWN_EXPOSURES:
        if exp in table.columns and exp not in found:
            found.append(exp)
    base = [e for e in found if not e.endswith(("_winter", "_popw"))] or found
    return base[:limit]


def _complete(table: pd.DataFrame, exposure: str, controls: list[str] | tuple[()]) -> int:
    """Rows with a positive outcome, the exposure and every control (what a fit can use)."""
    if OUTCOME not in table or exposure not in table:
        return 0
    ok = pd.to_numeric(table[OUTCOME], errors="coerce") > 0
    for c in (exposure, *controls):
        ok &= pd.to_numeric(table[c], errors="coerce").notna()
    return int(ok.sum())


def figure_jobs(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    models: pd.DataFrame,
    rasters: Mapping[str, Any],
    meta: Mapping[str, Any] | None,
    *,
    cloud: str | None = None,
    exposures: list[str] | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[FigureJob]:
    """The figures of :func:`make_all_figures`, as jobs for :func:`render` (same order).

    ``regions`` are prepared once for every map (:func:`map_regions`: projected and
    simplified) and each raster is projected once (:func:`project_raster`; rasters
    already projected, e.g. from a cache, are used as they are).
    """
    out = Path(out_dir)
    formats = check_formats(formats)
    regions = map_regions(regions)
    kw: dict[str, Any] = {"meta": meta, "formats": formats}
    # costs ~ seconds of one core (245 countries); region maps grow with the regions
    region_map = 1.0 + len(regions) / 10_000
    jobs = [FigureJob(prevalence_map, (out, regions, table), kw, cost=region_map)]
    for name, raster in rasters.items():
        jobs.append(FigureJob(exposure_raster_map, (out, project_raster(raster), regions),
                              {**kw, "stem": f"raster_{name}"}, cost=0.8 + region_map / 10))
    exposures = [e for e in exposures if e in table.columns] if exposures else _exposures(
        table, models)
    for exp in exposures:
        jobs.append(FigureJob(exposure_choropleth, (out, regions, table, exp), kw,
                              cost=region_map))
    for exp in [e for e in exposures if _complete(table, e, ()) >= 3]:
        jobs.append(FigureJob(scatter_with_fit, (out, table, exp), kw))
    controls = [c for c in CONTROLS if c in table.columns]
    fit = [e for e in exposures if _complete(table, e, controls) >= len(controls) + 3]
    if fit:
        jobs.append(FigureJob(partial_regression_plots, (out, table, fit),
                              {**kw, "controls": controls}, cost=1.2))
    if "resid" in table.columns and table["resid"].notna().any():
        x = cloud or (exposures[0] if exposures else "the exposure")
        model = f"OLS: log prevalence ~ {label(x)} + |latitude| + log GDP per capita"
        jobs.append(FigureJob(residual_map, (out, regions, table), {**kw, "model": model},
                              cost=region_map))
    if models is not None and len(models):
        forest = models[models["model"].isin(list(ESTIMANDS))] if "model" in models else models
        jobs.append(FigureJob(forest_plot, (out, forest if len(forest) else models), kw,
                              cost=2.5))
    return jobs


def make_all_figures(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    models: pd.DataFrame,
    rasters: Mapping[str, Any],
    meta: Mapping[str, Any] | None,
    *,
    cloud: str | None = None,
    exposures: list[str] | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    workers: int = 1,
) -> list[Path]:
    """Draw every figure of the report into ``out_dir``; return all written paths.

    Draws the prevalence map, each raster, a choropleth and a scatter plot per main
    exposure (up to four, taken from the models table, else known exposure columns;
    scatter and added-variable panels only where enough regions have the values),
    the added-variable plots, the residual map (when ``table`` has ``resid``) and the
    forest plot (when ``models`` has rows of the models in :data:`ESTIMANDS`, else
    of all rows).

    Parameters
    ----------
    out_dir
        Output folder.
    regions, table, models, rasters, meta
        Regions (GeoDataFrame with ``region_id``), the joined analysis table, the
        tidy models table, ``{name: DataArray}`` rasters and the run metadata.
    cloud
        The cloud column of the residual model (default: the first exposure).
    exposures
        Exposure columns to draw (default: up to four from the models table).
    formats
        Formats to write, ``"png"`` and/or ``"svg"``: each figure is drawn once and
        saved once per format.
    workers
        Worker processes drawing the figures in parallel (1: in this process).

    Returns
    -------
    list of Path
        The written paths, in drawing order (per figure, one per format).
    """
    jobs = figure_jobs(out_dir, regions, table, models, rasters, meta, cloud=cloud,
                       exposures=exposures, formats=formats)
    return render(jobs, workers)
