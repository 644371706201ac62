"""World maps in Equal Earth (EPSG:8857): prevalence, exposures, rasters and residuals.

Every map is projected to :data:`~geo_ms.report.figures._common.MAP_CRS` (an
equal-area projection, so Greenland, Canada and Russia, where prevalence is
highest, are not inflated), trimmed to 60° S – 90° N, and records the CRS in its
PNG (``CRS`` text chunk) and SVG (``Coverage``) metadata. Titles name the quantity,
its unit and the number of regions drawn, with the reason when it differs from the
run's n.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from geo_ms.errors import GridError, SchemaError
from geo_ms.report.figures._common import (
    DEFAULT_FORMATS,
    MAP_CRS,
    OUTCOME,
    colorbar,
    draw_polygons,
    label,
    log_ticks,
    map_regions,
    n_note,
    new_figure,
    nodata_patch,
    require,
    run_n,
    save,
    source_note,
    world_frame,
)

__all__ = ["exposure_choropleth", "exposure_raster_map", "prevalence_map", "project_raster",
           "residual_map"]

#: Model whose residuals the residual map shows (geo_ms.models.with_residuals).
RESIDUAL_MODEL = "OLS: log prevalence ~ cloud cover + |latitude| + log GDP per capita"


def _joined(regions: Any, table: pd.DataFrame, columns: list[str]) -> Any:
    """Left-join ``table[columns]`` onto the map regions by ``region_id``; Equal Earth."""
    regions = map_regions(regions)
    require(table, ["region_id", *columns], "analysis table")
    values = table[["region_id", *columns]].drop_duplicates("region_id")
    keep = [c for c in regions.columns if c not in columns or c in ("region_id", "geometry")]
    return regions[keep].merge(values, on="region_id", how="left")


def _choropleth(gdf: Any, column: str, ok: Any, norm: Any, cmap: str, note: str,
                bar: str, title: str) -> Figure:
    fig = new_figure(11, 6.2, note)
    ax = fig.add_subplot()
    world_frame(ax)
    sub = gdf[ok]
    mappable = draw_polygons(ax, sub.geometry.values, sub[column].to_numpy(float), cmap=cmap,
                             norm=norm, edgecolor="white", linewidth=0.2)
    mappable.set_norm(norm)
    handle = nodata_patch(ax, gdf, ~ok)
    cbar = colorbar(fig, ax, mappable, bar)
    if isinstance(norm, LogNorm):
        log_ticks(cbar.ax.xaxis, float(norm.vmin), float(norm.vmax))
    if handle is not None:
        ax.legend(handles=[handle], loc="lower left", fontsize=8, frameon=True)
    fig.suptitle(title.replace("_", " "))  # an axes title is clipped above a map
    return fig


def _draw_prevalence_map(regions: Any, table: pd.DataFrame, column: str, note: str,
                         what: str | None = None) -> Figure:
    gdf = _joined(regions, table, [column])
    values = pd.to_numeric(gdf[column], errors="coerce")
    ok = values > 0
    if not ok.any():
        raise SchemaError(
            f"analysis table: column {column} has no positive values to map",
            hint="Check that prevalence was joined to the regions (region_id = ISO3).",
        )
    norm = LogNorm(vmin=float(values[ok].min()), vmax=float(values[ok].max()))
    which = f"{what}; " if what else ""
    return _choropleth(gdf, column, ok, norm, "viridis", note, f"{label(column)} (log scale)",
                       f"{label(column)} by region ({which}n = {int(ok.sum())})")


def prevalence_map(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    *,
    column: str = OUTCOME,
    meta: Mapping[str, Any] | None = None,
    stem: str = "prevalence_map",
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """World choropleth of MS prevalence on a logarithmic colour scale (Equal Earth).

    Regions without a positive value are drawn hatched grey and counted in a
    "no data" legend entry.

    Parameters
    ----------
    out_dir
        Folder for ``<stem>.png`` and ``<stem>.svg``.
    regions
        GeoDataFrame (any CRS) with ``region_id`` and ``geometry``.
    table
        Analysis table with ``region_id`` and ``column``.
    column
        Prevalence column to map.
    meta
        Run metadata for the source footnote (see :func:`source_note`); its
        ``outcome_label`` (which MS table the column holds) goes into the title.
    stem
        File name stem.
    formats
        Formats to write, ``"png"`` and/or ``"svg"``.

    Returns
    -------
    list of Path
        The paths written, one per format in ``formats``.
    """
    fig = _draw_prevalence_map(regions, table, column, source_note(meta, columns=[column]),
                               (meta or {}).get("outcome_label"))
    return save(fig, out_dir, stem, f"{label(column)} by region",
                "Colour scale is logarithmic; hatched grey regions have no data. "
                "Equal Earth projection.", crs=MAP_CRS,
                formats=formats)


def _annual_field(raster: Any) -> tuple[Any, str]:
    dims = tuple(raster.dims)
    if "lat" not in dims or "lon" not in dims:
        raise GridError(
            f"raster {raster.name!r}: dims {dims} lack lat/lon",
            hint="Pass a canonical raster (dims lat/lon, or month/lat/lon).",
        )
    period = str(raster.attrs.get("period", ""))
    for dim, words in (("month", "annual mean of the 12 monthly values"),
                       ("time", "mean over the time steps")):
        if dim in dims:
            raster = raster.mean(dim, skipna=True, keep_attrs=True)
            period = words
    extra = [d for d in raster.dims if d not in ("lat", "lon")]
    if extra:
        raise GridError(
            f"raster {raster.name!r}: unexpected dims {extra}",
            hint="Select or average the extra dimension before mapping.",
        )
    return raster.transpose("lat", "lon"), period


def _unit(units: str) -> str:
    """Unit for a label: '' for dimensionless ('1'), superscripts for powers."""
    if units in ("", "1", "-", "none"):
        return ""
    return units.replace("m-2", "m⁻²").replace("s-1", "s⁻¹")


def _no_unit(name: str) -> str:
    """What a dimensionless quantity is, for its colour-bar label (never "(1)").

    >>> _no_unit("OMI all-sky / clear-sky dose"), _no_unit("UV index"), _no_unit("x")
    ('ratio, no unit', 'index, no unit', 'no unit')
    """
    low = name.lower()
    for word in ("ratio", "index", "fraction"):
        if word in low:
            return f"{word}, no unit"
    return "ratio, no unit" if "/" in name else "no unit"


def _project_field(field: Any) -> Any:
    """Resample a lat/lon field onto an Equal Earth grid (nearest neighbour, NaN outside).

    Every output cell is transformed back to lon/lat with pyproj and takes the value of
    the source cell that contains it, so no cell can land in the wrong place (GDAL's
    approximate warp shifted whole row blocks of global grids sideways).

    >>> import xarray as xr
    >>> lon = np.arange(-179.5, 180.0, 1.0)
    >>> f = xr.DataArray(np.stack([lon, lon + 1000.0]), dims=("lat", "lon"),
    ...                  coords={"lat": [45.0, -45.0], "lon": lon})
    >>> p = _project_field(f)
    >>> from pyproj import Transformer
    >>> back = Transformer.from_crs(MAP_CRS, "EPSG:4326", always_xy=True)
    >>> for y in (3e6, -3e6):  # each cell takes the source cell its centre falls in
    ...     c = p.sel(x=1e6, y=y, method="nearest")
    ...     lon_c, lat_c = back.transform(float(c.x), float(c.y))
    ...     print(float(c) == np.floor(lon_c) + 0.5 + (1000.0 if lat_c < 0 else 0.0))
    True
    True
    """
    import xarray as xr
    from pyproj import Transformer

    lat = np.asarray(field["lat"].values, dtype=float)
    lon = np.asarray(field["lon"].values, dtype=float)
    if lat.size > 1 and lat[0] < lat[-1]:
        field = field.isel(lat=slice(None, None, -1))
        lat = lat[::-1]
    values = np.asarray(field.values, dtype="float32")
    step = abs(float(lon[1] - lon[0])) if lon.size > 1 else 1.0
    res = max(step, 0.25) * 111_000.0
    fwd = Transformer.from_crs("EPSG:4326", MAP_CRS, always_xy=True)
    back = Transformer.from_crs(MAP_CRS, "EPSG:4326", always_xy=True)
    xmax, _ = fwd.transform(180.0, 0.0)
    _, ytop = fwd.transform(0.0, 90.0)
    _, ybot = fwd.transform(0.0, -60.0)
    xs = np.arange(-xmax + res / 2, xmax, res)
    ys = np.arange(ytop - res / 2, ybot, -res)
    gx, gy = np.meshgrid(xs, ys)
    glon, glat = back.transform(gx, gy)
    inside = _inside_globe(xs, ys).values & np.isfinite(glon) & np.isfinite(glat)
    # nearest source row (lat descending) and column (lon ascending, periodic)
    lat_asc = lat[::-1]
    k = np.clip(np.searchsorted(lat_asc, glat), 1, max(lat.size - 1, 1))
    k -= (np.abs(glat - lat_asc[k - 1]) < np.abs(glat - lat_asc[np.minimum(k, lat.size - 1)]))
    row = lat.size - 1 - np.clip(k, 0, lat.size - 1)
    half = abs(float(lat[0] - lat[1])) / 2 if lat.size > 1 else 90.0
    inside &= (glat <= lat.max() + half) & (glat >= lat.min() - half)
    col = np.mod(np.rint((glon - lon[0]) / step), lon.size).astype(int) if lon.size > 1 \
        else np.zeros(glon.shape, dtype=int)
    out = np.where(inside, values[row, col], np.nan)
    return xr.DataArray(out, dims=("y", "x"), coords={"y": ys, "x": xs})


def _inside_globe(x: np.ndarray, y: np.ndarray) -> Any:
    """Mask of projected cells inside the Equal Earth outline."""
    import xarray as xr
    from pyproj import Transformer

    back = Transformer.from_crs(MAP_CRS, "EPSG:4326", always_xy=True)
    fwd = Transformer.from_crs("EPSG:4326", MAP_CRS, always_xy=True)
    _, lat = back.transform(np.zeros_like(y, dtype=float), y.astype(float))
    edge, _ = fwd.transform(np.full_like(lat, 180.0), lat)  # y depends on latitude only
    inside = np.abs(x[None, :]) <= np.asarray(edge)[:, None]
    return xr.DataArray(inside, dims=("y", "x"), coords={"y": y, "x": x})


def project_raster(raster: Any) -> Any:
    """A raster as the raster maps draw it: its annual (or time) mean on an Equal Earth grid.

    The result (dims ``y, x``, metres in :data:`MAP_CRS`) keeps the raster's name and
    attributes and records what was averaged (``attrs["map_averaged"]``: ``"month"``,
    ``"time"`` or ``""``) and the period words of the map's title
    (``attrs["map_period"]``), so a pipeline can cache it with the other figure inputs
    and :func:`exposure_raster_map` draws it without reprojecting.

    >>> import xarray as xr
    >>> f = xr.DataArray(np.ones((2, 2, 4)), dims=("month", "lat", "lon"), name="c",
    ...                  coords={"month": [1, 2], "lat": [45.0, -45.0],
    ...                          "lon": [-135.0, -45.0, 45.0, 135.0]}, attrs={"units": "%"})
    >>> p = project_raster(f)
    >>> p.dims, p.name, p.attrs["map_averaged"], p.attrs["units"], project_raster(p) is p
    (('y', 'x'), 'c', 'month', '%', True)
    """
    if raster.attrs.get("map_crs") == MAP_CRS and tuple(raster.dims) == ("y", "x"):
        return raster
    averaged = "month" if "month" in raster.dims else "time" if "time" in raster.dims else ""
    field, period = _annual_field(raster)
    if not np.isfinite(np.asarray(field.values, dtype=float)).any():
        raise GridError(f"raster {raster.name!r}: no valid cells",
                        hint="Check the reader's nodata handling.")
    proj = _project_field(field)
    proj.name = raster.name
    proj.attrs = {**raster.attrs, "map_crs": MAP_CRS, "map_averaged": averaged,
                  "map_period": period}
    return proj


def _draw_raster_map(raster: Any, regions: Any, note: str) -> Figure:
    proj = project_raster(raster)
    period = str(proj.attrs.get("map_period", ""))
    x = np.asarray(proj["x"].values)
    y = np.asarray(proj["y"].values)
    dx = abs(float(x[1] - x[0])) if x.size > 1 else 1.0
    dy = abs(float(y[1] - y[0])) if y.size > 1 else 1.0
    fig = new_figure(11, 6.2, note)
    ax = fig.add_subplot()
    world_frame(ax)
    image = ax.imshow(np.ma.masked_invalid(np.asarray(proj.values, dtype=float)),
                      extent=(x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2,
                              y.max() + dy / 2),
                      origin="upper" if y[0] > y[-1] else "lower", cmap="cividis",
                      interpolation="nearest")
    if regions is not None:
        map_regions(regions).boundary.plot(ax=ax, color="black", linewidth=0.25)
    world_frame(ax)
    units = _unit(str(raster.attrs.get("units", "")))
    name = str(raster.attrs.get("long_name") or label(str(raster.name or "raster")))
    colorbar(fig, ax, image, f"{name} ({units or _no_unit(name)})")
    title = (name + (f" — {period}" if period else "")).replace("_", " ")
    fig.suptitle("\n".join(textwrap.wrap(title, 90)))  # an axes title gets clipped here
    return fig


def exposure_raster_map(
    out_dir: str | Path,
    raster: Any,
    regions: Any | None = None,
    *,
    meta: Mapping[str, Any] | None = None,
    stem: str | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """Map an exposure raster (its annual mean if monthly) with region borders, Equal Earth.

    Parameters
    ----------
    out_dir
        Output folder.
    raster
        Canonical DataArray (dims ``lat, lon`` or ``month/time, lat, lon``), or one
        already prepared by :func:`project_raster`; a single field's
        ``attrs["period"]`` (e.g. "one day, 2024-10-01") is its caption.
    regions
        Optional GeoDataFrame whose borders are drawn on top (see
        :func:`~geo_ms.report.figures._common.map_regions`).
    meta
        Run metadata for the footnote; the raster's ``citation`` attr is added.
    stem
        File name stem (default ``raster_<name>``).
    formats
        Formats to write, ``"png"`` and/or ``"svg"``.

    Returns
    -------
    list of Path
        The paths written, one per format in ``formats``.
    """
    citation = raster.attrs.get("citation")
    extra = f"Raster: {citation}." if citation else None
    fig = _draw_raster_map(raster, regions, source_note(meta, extra, columns=[]))
    name = str(raster.name or "raster")
    title = str(raster.attrs.get("long_name") or label(name))
    averaged = raster.attrs.get("map_averaged") if raster.attrs.get("map_crs") == MAP_CRS \
        else "month" if "month" in raster.dims else "time" if "time" in raster.dims else ""
    if averaged == "month":
        caption = "Gridded exposure; the 12 monthly climatology values are averaged."
    elif averaged == "time":
        caption = "Gridded exposure averaged over its time steps."
    else:
        period = raster.attrs.get("period")
        caption = (f"Gridded field of {period}." if period
                   else "Gridded field as provided (a single field, no averaging).")
    return save(fig, out_dir, stem or f"raster_{name}", f"{title} (gridded)",
                caption + " Equal Earth projection.", crs=MAP_CRS,
                formats=formats)


def _draw_choropleth(regions: Any, table: pd.DataFrame, column: str, note: str) -> Figure:
    gdf = _joined(regions, table, [column])
    values = pd.to_numeric(gdf[column], errors="coerce")
    ok = values.notna()
    if not ok.any():
        raise SchemaError(f"analysis table: column {column} is empty",
                          hint="Compute the exposure before plotting it.")
    norm = Normalize(vmin=float(values[ok].min()), vmax=float(values[ok].max()))
    total = run_n(table)
    n = n_note(int(ok.sum()), total,
               "every region with a value; the models use those with MS prevalence"
               if total is not None and ok.sum() > total
               else "regions with MS prevalence and valid cells of the product")
    return _choropleth(gdf, column, ok, norm, "cividis", note, label(column),
                       f"{label(column)}: regional mean\n({n})")


def exposure_choropleth(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    column: str,
    *,
    meta: Mapping[str, Any] | None = None,
    stem: str | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """Choropleth of a regional exposure on a linear scale (Equal Earth).

    Parameters
    ----------
    out_dir, regions, table, meta
        As in :func:`prevalence_map`.
    column
        Exposure column of ``table``.
    stem
        File name stem (default ``choropleth_<column>``).
    formats
        Formats to write, ``"png"`` and/or ``"svg"``.

    Returns
    -------
    list of Path
        The paths written, one per format in ``formats``.
    """
    fig = _draw_choropleth(regions, table, column, source_note(meta, columns=[column]))
    return save(fig, out_dir, stem or f"choropleth_{column}", f"{label(column)} by region",
                "Area-weighted regional mean of the gridded exposure; hatched grey regions "
                "have no valid cells. Equal Earth projection.", crs=MAP_CRS,
                formats=formats)


def _draw_residual_map(regions: Any, table: pd.DataFrame, column: str, note: str,
                       model: str = RESIDUAL_MODEL, what: str | None = None) -> Figure:
    gdf = _joined(regions, table, [column])
    values = pd.to_numeric(gdf[column], errors="coerce")
    ok = values.notna()
    if not ok.any():
        raise SchemaError(f"analysis table: column {column} is empty",
                          hint="Fit the model and add its residuals before mapping them.")
    bound = float(values[ok].abs().max()) or 1.0
    norm = Normalize(vmin=-bound, vmax=bound)
    outcome_n = run_n(table)
    n = n_note(int(ok.sum()), outcome_n, "regions with prevalence, cloud cover, latitude "
               "and GDP")
    return _choropleth(
        gdf, column, ok, norm, "RdBu_r", note,
        "Residual, log units (red: more MS than the model predicts; +0.69 = twice)",
        f"Residuals in log units of {model}\n({f'{what}; ' if what else ''}{n})")


def residual_map(
    out_dir: str | Path,
    regions: Any,
    table: pd.DataFrame,
    *,
    column: str = "resid",
    meta: Mapping[str, Any] | None = None,
    stem: str = "residual_map",
    model: str = RESIDUAL_MODEL,
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """Choropleth of model residuals (log units), diverging colormap centred at 0.

    Parameters
    ----------
    out_dir, regions, table, meta, stem
        As in :func:`prevalence_map`.
    column
        Residual column of ``table``.
    model
        The model whose residuals these are (named in the title).
    formats
        Formats to write, ``"png"`` and/or ``"svg"``.

    Returns
    -------
    list of Path
        The paths written, one per format in ``formats``.
    """
    cloud = (meta or {}).get("primary_cloud")
    shown = [OUTCOME, cloud, "abs_latitude", "gdp_per_capita"] if cloud else None
    fig = _draw_residual_map(regions, table, column, source_note(meta, columns=shown), model,
                             (meta or {}).get("outcome_label"))
    return save(fig, out_dir, stem, f"Residuals in log units of {model}",
                "Residuals in log units (observed minus predicted log prevalence); the "
                "colour scale is symmetric about 0. Equal Earth projection.", crs=MAP_CRS,
                formats=formats)
