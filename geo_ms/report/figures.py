"""Static figures of the analysis: maps, scatter plots and the sensitivity forest plot.

Every public function draws one figure with matplotlib (a bare ``Figure``, no pyplot
state, so any backend and notebooks are unaffected), writes it as
**PNG and SVG** through :func:`geo_ms._io.atomic_path` and returns the written paths.
Each figure carries a footnote naming its data sources and caveats, and stores its
title and caption in the file metadata (PNG ``Title``/``Description`` text chunks),
which :func:`geo_ms.report.render.render_report` reads back as the caption.

Inputs follow ``docs/architecture.md``: ``regions`` is a GeoDataFrame in EPSG:4326
with ``region_id``; ``table`` is the joined analysis table; ``models`` is the tidy
models table; ``rasters`` maps names to canonical DataArrays.

>>> source_note({"sources": [{"title": "GBD 2016", "licence": "IHME, non-commercial"}]})
'Sources: GBD 2016. Licences and citations: see the report. Ecological data: says nothing about individual risk; GBD values are model outputs.'
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geo_ms._io import atomic_path
from geo_ms.errors import CRSError, GridError, SchemaError

__all__ = [
    "CAVEAT",
    "exposure_choropleth",
    "exposure_raster_map",
    "forest_plot",
    "make_all_figures",
    "partial_regression_plots",
    "prevalence_map",
    "residual_map",
    "scatter_with_fit",
    "source_note",
]

#: Caveat printed under every figure.
CAVEAT = (
    "Ecological data: says nothing about individual risk; GBD values are model outputs."
)

_OUTCOME = "prevalence_per_100k"
_CONTROLS = ("abs_latitude", "gdp_per_capita")
#: Models drawn in the forest plot (standardised estimates share one axis).
_FOREST_MODELS = ("pearson", "ols_adj_lat_gdp", "partial_lat_gdp", "spatial_error")
_KNOWN_EXPOSURES = (
    "cloud_cover_pct",
    "cloud_fraction",
    "uv_index",
    "vitd_uv_clear",
    "vitd_dose_clear",
    "sunshine_hours",
    "ghi",
    "radiation",
)
_LABELS = {
    "prevalence_per_100k": "MS prevalence per 100,000",
    "cloud_cover_pct": "Cloud cover (%)",
    "cloud_fraction": "Cloud fraction",
    "uv_index": "UV index",
    "vitd_uv_clear": "Vitamin-D-weighted clear-sky UV",
    "vitd_dose_clear": "Vitamin-D-weighted clear-sky UV dose",
    "abs_latitude": "|latitude| (°)",
    "gdp_per_capita": "GDP per capita",
    "resid": "Model residual",
}
_SIMPLIFY_DEG = 0.05  # a 11-inch world map at 150 dpi shows ~0.2° per pixel
_NODATA = {"facecolor": "#d9d9d9", "edgecolor": "#8c8c8c", "hatch": "////", "linewidth": 0.2}


# --------------------------------------------------------------------------- helpers


def source_note(meta: Mapping[str, Any] | None, extra: str | None = None) -> str:
    """Return the footnote text: the data sources named in ``meta`` plus the caveats.

    Parameters
    ----------
    meta
        Run metadata; its ``sources`` list of dicts (``title``, ``licence``) is used.
    extra
        An extra sentence (e.g. the raster's own citation), appended before the caveat.

    Returns
    -------
    str
        One paragraph, e.g. ``"Sources: A (CC-BY). <caveat>"``.

    Examples
    --------
    >>> source_note(None)
    'Sources: see the report. Ecological data: says nothing about individual risk; GBD values are model outputs.'
    >>> source_note({"sources": [{"title": "CRU CL 1.0 cloud (IPCC-DDC)", "licence": "x"}]})[:42]
    'Sources: CRU CL 1.0 cloud. Licences and ci'
    """
    parts = []
    for src in (meta or {}).get("sources", []) or []:
        title = str(src.get("title") or src.get("id") or "").strip()
        if not title:
            continue
        parts.append(title.split(" (")[0].split(", ")[0])
    text = (f"Sources: {'; '.join(dict.fromkeys(parts))}. Licences and citations: see the "
            "report." if parts else "Sources: see the report.")
    if extra:
        text += " " + extra.strip()
    return f"{text} {CAVEAT}"


def _label(column: str) -> str:
    return _LABELS.get(column, column.replace("_", " "))


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{what}: missing column(s) {', '.join(missing)}",
            hint=f"Pass a {what} with the columns listed in docs/architecture.md.",
        )


def _regions_4326(regions: Any) -> Any:
    """Regions in EPSG:4326, simplified to what a world map can show (0.05°)."""
    _require(regions, ["region_id", "geometry"], "regions")
    if regions.crs is None:
        raise CRSError("regions: GeoDataFrame has no CRS")
    if regions.attrs.get("simplified_deg") == _SIMPLIFY_DEG and regions.crs.to_epsg() == 4326:
        return regions  # already done (make_all_figures simplifies once for all maps)
    if regions.crs.to_epsg() != 4326:
        regions = regions.to_crs("EPSG:4326")
    simple = regions.geometry.simplify(_SIMPLIFY_DEG, preserve_topology=True)
    keep = simple.is_empty | simple.isna()
    out = regions.set_geometry(simple.where(~keep, regions.geometry))
    out.attrs["simplified_deg"] = _SIMPLIFY_DEG
    return out


def _joined(regions: Any, table: pd.DataFrame, columns: Sequence[str]) -> Any:
    """Left-join ``table[columns]`` onto ``regions`` by ``region_id``."""
    regions = _regions_4326(regions)
    _require(table, ["region_id", *columns], "analysis table")
    values = table[["region_id", *columns]].drop_duplicates("region_id")
    keep = [c for c in regions.columns if c not in columns or c in ("region_id", "geometry")]
    return regions[keep].merge(values, on="region_id", how="left")


def _new_figure(width: float, height: float, note: str) -> Figure:
    """A figure with constrained layout that leaves room at the bottom for ``note``."""
    fig = Figure(figsize=(width, height), layout="constrained")
    chars = max(40, int(width * 17))
    lines = textwrap.wrap(note, chars)
    frac = min(0.35, (0.16 * len(lines) + 0.12) / height)
    fig.get_layout_engine().set(rect=(0, frac, 1, 1 - frac))
    fig.text(0.01, 0.01, "\n".join(lines), ha="left", va="bottom", fontsize=7, color="#444444",
             gid="source-note")
    return fig


def _save(fig: Figure, out_dir: str | Path, stem: str, title: str, caption: str) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.svg`` atomically."""
    out = Path(out_dir)
    paths = []
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "geo_ms"}):
        for fmt in ("png", "svg"):
            target = out / f"{stem}.{fmt}"
            meta = {"Title": title, "Description": caption}
            if fmt == "svg":
                meta["Date"] = None
            kwargs: dict[str, Any] = {"dpi": 150} if fmt == "png" else {}
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, metadata=meta, **kwargs)
            paths.append(target)
    return paths


def _world_axes(ax: Any, gdf: Any) -> None:
    minx, miny, maxx, maxy = gdf.total_bounds
    if maxx - minx > 180:  # a world map: trim Antarctica, keep the aspect
        ax.set_ylim(max(miny, -60), min(maxy, 85))
        ax.set_xlim(max(minx, -180), min(maxx, 180))
    ax.set_axis_off()


def _plot_nodata(ax: Any, gdf: Any, mask: Any) -> Patch | None:
    n = int(mask.sum())
    if n == 0:
        return None
    gdf[mask].plot(ax=ax, **_NODATA)
    return Patch(label=f"no data ({n})", **_NODATA)


def _colorbar(fig: Figure, ax: Any, mappable: Any, label: str) -> Any:
    cbar = fig.colorbar(mappable, ax=ax, orientation="horizontal", shrink=0.6, pad=0.02,
                        aspect=40)
    cbar.set_label(label)
    return cbar


def _log_outcome(table: pd.DataFrame, outcome: str) -> pd.Series:
    y = pd.to_numeric(table[outcome], errors="coerce")
    return np.log(y.where(y > 0))


# --------------------------------------------------------------------------- maps


def _draw_prevalence_map(regions: Any, table: pd.DataFrame, column: str, note: str) -> Figure:
    gdf = _joined(regions, table, [column])
    values = pd.to_numeric(gdf[column], errors="coerce")
    ok = values > 0
    if not ok.any():
        raise SchemaError(
            f"analysis table: column {column} has no positive values to map",
            hint="Check that prevalence was joined to the regions (region_id = ISO3).",
        )
    fig = _new_figure(11, 6.2, note)
    ax = fig.add_subplot()
    norm = LogNorm(vmin=float(values[ok].min()), vmax=float(values[ok].max()))
    gdf[ok].plot(ax=ax, column=column, cmap="viridis", norm=norm, edgecolor="white",
                 linewidth=0.2)
    handle = _plot_nodata(ax, gdf, ~ok)
    mappable = ax.collections[0]
    mappable.set_norm(norm)
    _colorbar(fig, ax, mappable, f"{_label(column)} (log scale)")
    if handle is not None:
        ax.legend(handles=[handle], loc="lower left", fontsize=8, frameon=True)
    _world_axes(ax, gdf)
    ax.set_title(f"{_label(column)} by region (n = {int(ok.sum())})")
    return fig


def prevalence_map(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    *,
    column: str = _OUTCOME,
    meta: Mapping[str, Any] | None = None,
    stem: str = "prevalence_map",
) -> list[Path]:
    """World choropleth of MS prevalence on a logarithmic colour scale.

    Regions without a positive value are drawn hatched grey and counted in a
    "no data" legend entry.

    Parameters
    ----------
    out_dir
        Folder for ``<stem>.png`` and ``<stem>.svg``.
    regions
        GeoDataFrame (EPSG:4326) with ``region_id`` and ``geometry``.
    table
        Analysis table with ``region_id`` and ``column``.
    column
        Prevalence column to map.
    meta
        Run metadata for the source footnote (see :func:`source_note`).
    stem
        File name stem.

    Returns
    -------
    list of Path
        The PNG and SVG paths.
    """
    fig = _draw_prevalence_map(regions, table, column, source_note(meta))
    return _save(fig, out_dir, stem, f"{_label(column)} by region",
                 "Colour scale is logarithmic; hatched grey regions have no data.")


def _annual_field(raster: Any) -> Any:
    dims = tuple(raster.dims)
    if "lat" not in dims or "lon" not in dims:
        raise GridError(
            f"raster {raster.name!r}: dims {dims} lack lat/lon",
            hint="Pass a canonical raster (dims lat/lon, or month/lat/lon).",
        )
    for dim in ("month", "time"):
        if dim in dims:
            raster = raster.mean(dim, skipna=True, keep_attrs=True)
    extra = [d for d in raster.dims if d not in ("lat", "lon")]
    if extra:
        raise GridError(
            f"raster {raster.name!r}: unexpected dims {extra}",
            hint="Select or average the extra dimension before mapping.",
        )
    return raster.transpose("lat", "lon")


def _edges(centres: np.ndarray) -> tuple[float, float]:
    if centres.size < 2:
        return float(centres[0]) - 0.5, float(centres[0]) + 0.5
    step = abs(float(centres[1] - centres[0]))
    return float(centres.min()) - step / 2, float(centres.max()) + step / 2


def _draw_raster_map(raster: Any, regions: Any, note: str) -> Figure:
    field = _annual_field(raster)
    lat = np.asarray(field["lat"].values, dtype=float)
    lon = np.asarray(field["lon"].values, dtype=float)
    data = np.asarray(field.values, dtype=float)
    if lat.size > 1 and lat[0] < lat[-1]:
        data, lat = data[::-1], lat[::-1]
    if not np.isfinite(data).any():
        raise GridError(f"raster {raster.name!r}: no valid cells",
                        hint="Check the reader's nodata handling.")
    fig = _new_figure(11, 6.2, note)
    ax = fig.add_subplot()
    x0, x1 = _edges(lon)
    y0, y1 = _edges(lat)
    image = ax.imshow(np.ma.masked_invalid(data), extent=(x0, x1, y0, y1), origin="upper",
                      cmap="cividis", interpolation="nearest", aspect="equal")
    if regions is not None:
        _regions_4326(regions).boundary.plot(ax=ax, color="black", linewidth=0.25)
    units = raster.attrs.get("units", "")
    name = raster.attrs.get("long_name") or str(raster.name or "raster")
    _colorbar(fig, ax, image, f"{name}" + (f" ({units})" if units else ""))
    ax.set_xlim(max(x0, -180), min(x1, 180))
    ax.set_ylim(max(y0, -60), min(y1, 85))
    ax.set_axis_off()
    period = "annual mean of monthly values" if "month" in raster.dims else field.attrs.get(
        "period", "")
    ax.set_title(name + (f" — {period}" if period else ""))
    return fig


def exposure_raster_map(
    out_dir: str | Path,
    raster: Any,
    regions: Any | None = None,
    *,
    meta: Mapping[str, Any] | None = None,
    stem: str | None = None,
) -> list[Path]:
    """Map an exposure raster (its annual mean if monthly) with region borders.

    Parameters
    ----------
    out_dir
        Output folder.
    raster
        Canonical DataArray (dims ``lat, lon`` or ``month/time, lat, lon``).
    regions
        Optional GeoDataFrame whose borders are drawn on top.
    meta
        Run metadata for the footnote; the raster's ``citation`` attr is added.
    stem
        File name stem (default ``raster_<name>``).

    Returns
    -------
    list of Path
        The PNG and SVG paths.
    """
    citation = raster.attrs.get("citation")
    extra = f"Raster: {citation}." if citation else None
    fig = _draw_raster_map(raster, regions, source_note(meta, extra))
    name = str(raster.name or "raster")
    title = raster.attrs.get("long_name") or name
    return _save(fig, out_dir, stem or f"raster_{name}", f"{title} (gridded)",
                 "Gridded exposure; monthly climatologies are averaged over the 12 months.")


def _draw_choropleth(regions: Any, table: pd.DataFrame, column: str, note: str) -> Figure:
    gdf = _joined(regions, table, [column])
    values = pd.to_numeric(gdf[column], errors="coerce")
    ok = values.notna()
    if not ok.any():
        raise SchemaError(f"analysis table: column {column} is empty",
                          hint="Compute the exposure before plotting it.")
    fig = _new_figure(11, 6.2, note)
    ax = fig.add_subplot()
    norm = Normalize(vmin=float(values[ok].min()), vmax=float(values[ok].max()))
    gdf[ok].plot(ax=ax, column=column, cmap="cividis", norm=norm, edgecolor="white",
                 linewidth=0.2)
    mappable = ax.collections[0]
    mappable.set_norm(norm)
    handle = _plot_nodata(ax, gdf, ~ok)
    _colorbar(fig, ax, mappable, _label(column))
    if handle is not None:
        ax.legend(handles=[handle], loc="lower left", fontsize=8)
    _world_axes(ax, gdf)
    ax.set_title(f"{_label(column)}: regional mean (n = {int(ok.sum())})")
    return fig


def exposure_choropleth(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    column: str,
    *,
    meta: Mapping[str, Any] | None = None,
    stem: str | None = None,
) -> list[Path]:
    """Choropleth of one per-region exposure value (linear colour scale).

    Parameters
    ----------
    out_dir, regions, table, meta
        As in :func:`prevalence_map`.
    column
        Exposure column of ``table``.
    stem
        File name stem (default ``choropleth_<column>``).

    Returns
    -------
    list of Path
        The PNG and SVG paths.
    """
    fig = _draw_choropleth(regions, table, column, source_note(meta))
    return _save(fig, out_dir, stem or f"choropleth_{column}", f"{_label(column)} by region",
                 "Area-weighted regional mean of the gridded exposure.")


def _draw_residual_map(regions: Any, table: pd.DataFrame, column: str, note: str) -> Figure:
    gdf = _joined(regions, table, [column])
    values = pd.to_numeric(gdf[column], errors="coerce")
    ok = values.notna()
    if not ok.any():
        raise SchemaError(f"analysis table: column {column} is empty",
                          hint="Fit the model and store its residuals in the table.")
    fig = _new_figure(11, 6.2, note)
    ax = fig.add_subplot()
    bound = float(values[ok].abs().max()) or 1.0
    norm = Normalize(vmin=-bound, vmax=bound)
    gdf[ok].plot(ax=ax, column=column, cmap="RdBu_r", norm=norm, edgecolor="#666666",
                 linewidth=0.2)
    mappable = ax.collections[0]
    mappable.set_norm(norm)
    handle = _plot_nodata(ax, gdf, ~ok)
    _colorbar(fig, ax, mappable, f"{_label(column)} (red: more MS than the model predicts)")
    if handle is not None:
        ax.legend(handles=[handle], loc="lower left", fontsize=8)
    _world_axes(ax, gdf)
    ax.set_title(f"Model residuals by region (n = {int(ok.sum())})")
    return fig


def residual_map(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    *,
    column: str = "resid",
    meta: Mapping[str, Any] | None = None,
    stem: str = "residual_map",
) -> list[Path]:
    """Choropleth of model residuals, diverging colormap centred at 0.

    Parameters
    ----------
    out_dir, regions, table, meta, stem
        As in :func:`prevalence_map`.
    column
        Residual column of ``table``.

    Returns
    -------
    list of Path
        The PNG and SVG paths.
    """
    fig = _draw_residual_map(regions, table, column, source_note(meta))
    return _save(fig, out_dir, stem, "Model residuals by region",
                 "Residuals of the main model; the colour scale is symmetric about 0.")


# --------------------------------------------------------------------------- models


def _fit_frame(table: pd.DataFrame, exposure: str, outcome: str,
               controls: Sequence[str] = ()) -> pd.DataFrame:
    _require(table, [exposure, outcome, *controls], "analysis table")
    frame = pd.DataFrame({
        "x": pd.to_numeric(table[exposure], errors="coerce"),
        "logy": _log_outcome(table, outcome),
    })
    for c in controls:
        v = pd.to_numeric(table[c], errors="coerce")
        frame[c] = np.log(v.where(v > 0)) if c == "gdp_per_capita" else v
    frame["label"] = (table["iso3"] if "iso3" in table else table.get("region_id")).astype(str)
    frame["continent"] = table["continent"].fillna("unknown") if "continent" in table else "all"
    frame = frame.dropna(subset=["x", "logy", *controls])
    if len(frame) < len(controls) + 3:
        raise SchemaError(
            f"analysis table: only {len(frame)} complete rows for {outcome} ~ {exposure}",
            hint="Need at least a few regions with both values to fit a line.",
        )
    return frame


def _draw_scatter(table: pd.DataFrame, exposure: str, outcome: str, n_labels: int,
                  note: str) -> Figure:
    import statsmodels.api as sm

    frame = _fit_frame(table, exposure, outcome)
    fit = sm.OLS(frame["logy"], sm.add_constant(frame["x"])).fit()
    stud = fit.get_influence().resid_studentized_external
    fig = _new_figure(8, 6, note)
    ax = fig.add_subplot()
    continents = sorted(frame["continent"].unique())
    cmap = matplotlib.colormaps["tab10"]
    for i, cont in enumerate(continents):
        sub = frame[frame["continent"] == cont]
        ax.scatter(sub["x"], np.exp(sub["logy"]), s=22, color=cmap(i % 10), label=cont,
                   alpha=0.85, edgecolor="white", linewidth=0.4)
    grid = np.linspace(frame["x"].min(), frame["x"].max(), 100)
    pred = fit.get_prediction(sm.add_constant(pd.Series(grid, name="x"), has_constant="add"))
    band = pred.summary_frame(alpha=0.05)
    ax.plot(grid, np.exp(band["mean"]), color="black", lw=1.5,
            label=f"OLS fit: slope {fit.params['x']:.3g} (log units)")
    ax.fill_between(grid, np.exp(band["mean_ci_lower"]), np.exp(band["mean_ci_upper"]),
                    color="black", alpha=0.15, label="95 % confidence band")
    for idx in np.argsort(-np.abs(stud))[:n_labels]:
        row = frame.iloc[idx]
        ax.annotate(row["label"], (row["x"], math.exp(row["logy"])), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_xlabel(_label(exposure))
    ax.set_ylabel(f"{_label(outcome)} (log scale)")
    ax.set_title(f"{_label(outcome)} vs {_label(exposure)} (n = {len(frame)}, "
                 f"R² = {fit.rsquared:.2f})")
    ax.legend(fontsize=7, loc="best")
    return fig


def scatter_with_fit(
    out_dir: str | Path,
    table: pd.DataFrame,
    exposure: str,
    *,
    outcome: str = _OUTCOME,
    n_labels: int = 5,
    meta: Mapping[str, Any] | None = None,
    stem: str | None = None,
) -> list[Path]:
    """Scatter of log prevalence against an exposure with the OLS line and its 95 % band.

    Points are coloured by ``continent``; the ``n_labels`` regions with the largest
    absolute externally studentised residual are labelled with their ISO3 code.

    Parameters
    ----------
    out_dir, meta
        As in :func:`prevalence_map`.
    table
        Analysis table with ``exposure``, ``outcome``, ``iso3`` and ``continent``.
    exposure, outcome
        Column names; the outcome is log-transformed (non-positive values dropped).
    n_labels
        How many outliers to label.
    stem
        File name stem (default ``scatter_<exposure>``).

    Returns
    -------
    list of Path
        The PNG and SVG paths.
    """
    fig = _draw_scatter(table, exposure, outcome, n_labels, source_note(meta))
    return _save(fig, out_dir, stem or f"scatter_{exposure}",
                 f"{_label(outcome)} vs {_label(exposure)}",
                 "OLS of log prevalence on the exposure with its 95 % confidence band; "
                 f"labels mark the {n_labels} largest studentised residuals.")


def _added_variable(frame: pd.DataFrame, controls: Sequence[str]) -> tuple[np.ndarray,
                                                                          np.ndarray, float]:
    """Residualise log y and x on the controls; return (e_x, e_y, slope)."""
    z = np.column_stack([np.ones(len(frame)), *(frame[c].to_numpy() for c in controls)])
    x = frame["x"].to_numpy()
    y = frame["logy"].to_numpy()
    ex = x - z @ np.linalg.lstsq(z, x, rcond=None)[0]
    ey = y - z @ np.linalg.lstsq(z, y, rcond=None)[0]
    slope = float(ex @ ey / (ex @ ex)) if ex @ ex > 0 else float("nan")
    return ex, ey, slope


def _draw_partial(table: pd.DataFrame, exposures: Sequence[str], outcome: str,
                  controls: Sequence[str], note: str) -> Figure:
    n = len(exposures)
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig = _new_figure(5.2 * cols, 4.3 * rows + 0.6, note)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, exposure in zip(axes, exposures, strict=False):
        frame = _fit_frame(table, exposure, outcome, controls)
        ex, ey, slope = _added_variable(frame, controls)
        ax.scatter(ex, ey, s=16, alpha=0.8, color="#3b6ea8", edgecolor="white", linewidth=0.3)
        grid = np.array([ex.min(), ex.max()])
        ax.plot(grid, slope * grid, color="black", lw=1.3, gid=f"avp-{exposure}")
        ax.axhline(0, color="#999999", lw=0.6)
        ax.set_xlabel(f"{_label(exposure)} | controls")
        ax.set_ylabel(f"log {_label(outcome)} | controls")
        ax.set_title(f"{_label(exposure)}: slope {slope:.3g} (n = {len(frame)})", fontsize=10)
    for ax in axes[n:]:
        ax.set_visible(False)
    ctrl = ", ".join("log GDP per capita" if c == "gdp_per_capita" else _label(c)
                     for c in controls)
    fig.suptitle(f"Added-variable plots given {ctrl}")
    return fig


def partial_regression_plots(
    out_dir: str | Path,
    table: pd.DataFrame,
    exposures: Sequence[str],
    *,
    outcome: str = _OUTCOME,
    controls: Sequence[str] = _CONTROLS,
    meta: Mapping[str, Any] | None = None,
    stem: str = "partial_regression",
) -> list[Path]:
    """Added-variable (partial regression) plots of log prevalence on each exposure.

    Both log prevalence and the exposure are residualised on an intercept and the
    controls (``abs_latitude`` and log ``gdp_per_capita`` by default); by the
    Frisch–Waugh–Lovell theorem the slope in each panel equals the exposure's
    coefficient in the full multiple regression.

    Parameters
    ----------
    out_dir, meta, stem
        As in :func:`prevalence_map`.
    table
        Analysis table.
    exposures
        Exposure columns, one panel each.
    outcome
        Outcome column (log-transformed).
    controls
        Control columns; ``gdp_per_capita`` is log-transformed.

    Returns
    -------
    list of Path
        The PNG and SVG paths.
    """
    if not exposures:
        raise SchemaError("partial_regression_plots: no exposure columns given",
                          hint="Pass at least one exposure column of the analysis table.")
    fig = _draw_partial(table, list(exposures), outcome, list(controls), source_note(meta))
    return _save(fig, out_dir, stem, "Added-variable plots",
                 "Log prevalence and each exposure after removing what |latitude| and "
                 "log GDP per capita explain; the slope is the adjusted coefficient.")


_MODEL_COLUMNS = ["model", "subset", "exposure", "outcome", "n", "estimate", "ci_low",
                  "ci_high", "p_value", "std_estimate", "note"]


def _forest_rows(models: pd.DataFrame, value: str) -> pd.DataFrame:
    _require(models, ["model", "subset", "exposure", "estimate", "ci_low", "ci_high"],
             "models table")
    rows = models.dropna(subset=["estimate"]).copy()
    if value == "std_estimate":
        _require(models, ["std_estimate"], "models table")
        scale = rows["std_estimate"] / rows["estimate"].where(rows["estimate"] != 0)
        rows["ci_low"], rows["ci_high"] = rows["ci_low"] * scale, rows["ci_high"] * scale
        rows["estimate"] = rows["std_estimate"]
        rows = rows.dropna(subset=["estimate"])
        lo = rows[["ci_low", "ci_high"]].min(axis=1)
        hi = rows[["ci_low", "ci_high"]].max(axis=1)
        rows["ci_low"], rows["ci_high"] = lo, hi
    rows["label"] = (rows["model"].astype(str) + " · " + rows["subset"].astype(str) + " · "
                     + rows["exposure"].astype(str))
    if "outcome" in rows and rows["label"].duplicated(keep=False).any():
        rows["label"] = rows["label"] + " · " + rows["outcome"].astype(str)
    return rows.reset_index(drop=True)


def _draw_forest(models: pd.DataFrame, value: str, note: str) -> Figure:
    rows = _forest_rows(models, value)
    if rows.empty:
        raise SchemaError("models table: no rows with an estimate",
                          hint="Fit the models before drawing the forest plot.")
    fig = _new_figure(9, 1.6 + 0.32 * len(rows), note)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    excludes = (rows["ci_low"] > 0) | (rows["ci_high"] < 0)
    for yi, (_, row), solid in zip(y, rows.iterrows(), excludes, strict=True):
        ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color="#333333", lw=1.2)
        ax.plot(row["estimate"], yi, "o", color="#1f4e79",
                markerfacecolor="#1f4e79" if solid else "white", markersize=5)
    ax.axvline(0, color="#b22222", lw=1, ls="--")
    ax.set_yticks(y, rows["label"], fontsize=8)
    what = "standardised estimate (SD of log prevalence per SD of exposure)" \
        if value == "std_estimate" else "estimate"
    ax.set_xlabel(f"{what} with 95 % CI (filled: CI excludes 0)")
    ax.set_title("Sensitivity analyses")
    ax.grid(axis="x", color="#eeeeee")
    return fig


def forest_plot(
    out_dir: str | Path,
    models: pd.DataFrame,
    *,
    value: str | None = None,
    meta: Mapping[str, Any] | None = None,
    stem: str = "forest_plot",
) -> list[Path]:
    """Forest plot of the model estimates with 95 % CIs, one row per (model, subset, exposure).

    Parameters
    ----------
    out_dir, meta, stem
        As in :func:`prevalence_map`.
    models
        Tidy models table (``model, subset, exposure, estimate, ci_low, ci_high`` ...).
    value
        ``"estimate"`` or ``"std_estimate"``; the default uses the standardised
        estimates when every row has one (CIs scaled by the same factor), so that
        exposures in different units share one axis.

    Returns
    -------
    list of Path
        The PNG and SVG paths.
    """
    if value is None:
        has_std = "std_estimate" in models and models["std_estimate"].notna().all()
        value = "std_estimate" if has_std else "estimate"
    if value not in ("estimate", "std_estimate"):
        raise SchemaError(f"forest_plot: value={value!r} is not a models column",
                          hint="Use 'estimate' or 'std_estimate'.")
    fig = _draw_forest(models, value, source_note(meta))
    return _save(fig, out_dir, stem, "Sensitivity analyses (forest plot)",
                 "Each row is one model, subset and exposure; bars are 95 % confidence "
                 "intervals; the dashed line marks no association.")


# --------------------------------------------------------------------------- all


def _exposures(table: pd.DataFrame, models: pd.DataFrame | None, limit: int = 4) -> list[str]:
    found: list[str] = []
    if models is not None and "exposure" in models:
        for exp in models["exposure"].dropna().astype(str):
            if exp in table.columns and exp not in found:
                found.append(exp)
    for exp in _KNOWN_EXPOSURES:
        if exp in table.columns and exp not in found:
            found.append(exp)
    base = [e for e in found if not e.endswith(("_winter", "_popw"))] or found
    return base[:limit]


def make_all_figures(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    models: pd.DataFrame,
    rasters: Mapping[str, Any],
    meta: Mapping[str, Any] | None,
) -> list[Path]:
    """Draw every figure of the report into ``out_dir``; return all written paths.

    Draws the prevalence map, each raster, a choropleth and a scatter plot per main
    exposure (up to four, taken from the models table, else known exposure columns),
    the added-variable plots, the residual map (when ``table`` has ``resid``) and the
    forest plot (when ``models`` has rows).

    Parameters
    ----------
    out_dir
        Output folder.
    regions, table, models, rasters, meta
        See the module docstring.

    Returns
    -------
    list of Path
        PNG and SVG paths, in drawing order.
    """
    out = Path(out_dir)
    regions = _regions_4326(regions)
    paths = prevalence_map(out, regions, table, meta=meta)
    for name, raster in rasters.items():
        paths += exposure_raster_map(out, raster, regions, meta=meta, stem=f"raster_{name}")
    exposures = _exposures(table, models)
    for exp in exposures:
        paths += exposure_choropleth(out, regions, table, exp, meta=meta)
    for exp in exposures:
        paths += scatter_with_fit(out, table, exp, meta=meta)
    controls = [c for c in _CONTROLS if c in table.columns]
    if exposures:
        paths += partial_regression_plots(out, table, exposures, controls=controls, meta=meta)
    if "resid" in table.columns and table["resid"].notna().any():
        paths += residual_map(out, regions, table, meta=meta)
    if models is not None and len(models):
        forest = models[models["model"].isin(_FOREST_MODELS)] if "model" in models else models
        paths += forest_plot(out, forest if len(forest) else models, meta=meta)
    return paths
