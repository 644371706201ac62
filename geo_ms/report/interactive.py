"""An offline, single-file interactive map of per-region values and residuals.

:func:`interactive_map` draws the regions as GeoJSON with folium **once** (tooltips
with every value) and writes one HTML file whose
Leaflet JavaScript and CSS are **inlined** from the vendored copies in
``geo_ms/report/assets/`` (npm ``leaflet@1.9.3``, BSD-2-Clause). There is no tile
layer and no CDN reference, so the file opens without network access. A radio-button
switch (``#geo-ms-layers``) restyles that one layer per value column in JavaScript from
a small colour table (``<script type="application/json" id="geo-ms-colours">``,
region id → fill colour per column), so each geometry is embedded once however many
columns are mapped. The per-region values are also embedded as a JSON block
(``<script type="application/json" id="geo-ms-data">``) for reuse. Above
:data:`MAX_MAP_REGIONS` regions (or an estimated 4.5 MB) the layer shows square bins
of area-weighted means instead (:func:`binned_layer`), so the page stays under 5 MB.

>>> _hex_colour(0.0, "viridis")
'#440154'
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Sequence
from html import escape as html_escape
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_ms._io import atomic_write_text
from geo_ms.errors import CRSError, FormatError, SchemaError
from geo_ms.report.figures import CAVEAT

__all__ = ["MAX_MAP_REGIONS", "MAX_PAGE_BYTES", "binned_layer", "interactive_map", "page_bytes"]

_NODATA_COLOUR = "#c8c8c8"
_BACKGROUND = "#eef3f7"
_LABELS = {
    "prevalence_per_100k": "MS prevalence per 100,000",
    "cloud_cover_pct": "Cloud cover (%)",
    "cloud_fraction_modis_pct": "Cloud fraction, MODIS (%)",
    "cloudiness_sunshine_pct": "Cloudiness from sunshine (%)",
    "uv_index": "UV index",
    "vitd_uv_clear": "Vitamin-D-weighted clear-sky UV (J m⁻² per day)",
    "ghi_merra2": "Surface sunlight, MERRA-2 (W m⁻²)",
    "resid": "Model residual (log units)",
}
_EXTERNAL = re.compile(r"""<(script|link)\b[^>]*?\b(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


def _label(column: str) -> str:
    return _LABELS.get(column, column.replace("_", " "))


def _hex_colour(fraction: float, cmap: str) -> str:
    """Colour of ``fraction`` (0..1) in a matplotlib colormap, as ``#rrggbb``."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    return str(to_hex(colormaps[cmap](min(max(fraction, 0.0), 1.0))))


def _scale(column: str, values: pd.Series) -> dict[str, Any]:
    """Pick a colour scale for a column: log for prevalence, diverging for residuals."""
    ok = values.dropna()
    if ok.empty:
        return {"kind": "empty", "cmap": "viridis", "vmin": math.nan, "vmax": math.nan}
    if column.startswith("resid"):
        bound = float(ok.abs().max()) or 1.0
        return {"kind": "diverging", "cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    if column.startswith("prevalence") and (ok > 0).all() and ok.max() > ok.min():
        return {"kind": "log", "cmap": "viridis", "vmin": float(ok.min()),
                "vmax": float(ok.max())}
    return {"kind": "linear", "cmap": "cividis", "vmin": float(ok.min()),
            "vmax": float(ok.max())}


def _colour(value: Any, scale: dict[str, Any]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _NODATA_COLOUR
    lo, hi = scale["vmin"], scale["vmax"]
    if scale["kind"] == "log":
        frac = (math.log(max(value, lo)) - math.log(lo)) / (math.log(hi) - math.log(lo))
    else:
        frac = (value - lo) / (hi - lo) if hi > lo else 0.5
    return _hex_colour(frac, scale["cmap"])


def _colours(values: Sequence[Any], scale: dict[str, Any]) -> list[str]:
    """:func:`_colour` of each value, with one colormap call for all of them.

    >>> s = {"kind": "linear", "cmap": "cividis", "vmin": 0.0, "vmax": 10.0}
    >>> _colours([0.0, 2.5, None, float("nan"), 10.0], s) == [
    ...     _colour(v, s) for v in (0.0, 2.5, None, float("nan"), 10.0)]
    True
    """
    from matplotlib import colormaps

    v = np.array([np.nan if x is None or x is pd.NA else x for x in values], dtype=float)
    out = np.full(v.size, _NODATA_COLOUR, dtype=object)
    ok = ~np.isnan(v)
    if ok.any():
        lo, hi = scale["vmin"], scale["vmax"]
        if scale["kind"] == "log":
            frac = (np.log(np.maximum(v[ok], lo)) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:
            frac = (v[ok] - lo) / (hi - lo) if hi > lo else np.full(int(ok.sum()), 0.5)
        rgb = colormaps[scale["cmap"]](np.clip(frac, 0.0, 1.0))[:, :3]
        out[ok] = [f"#{r:02x}{g:02x}{b:02x}"
                   for r, g, b in np.round(rgb * 255).astype(int).tolist()]
    return out.tolist()


def _asset(name: str) -> bytes:
    return (resources.files("geo_ms.report") / "assets" / name).read_bytes()


def _leaflet_css() -> str:
    css = _asset("leaflet.css").decode("utf-8")

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        try:
            data = _asset(name)
        except FileNotFoundError:
            return "url(data:,)"
        return "url(data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    return re.sub(r"url\(images/([\w.-]+)\)", inline, css)


def _legend_html(scales: dict[str, dict[str, Any]], names: dict[str, str]) -> str:
    from html import escape

    blocks = []
    for column, scale in scales.items():
        if scale["kind"] == "empty":
            continue
        stops = []
        for i in range(11):
            frac = i / 10
            stops.append(_hex_colour(frac, scale["cmap"]))
        lo, hi = scale["vmin"], scale["vmax"]
        note = " (log scale)" if scale["kind"] == "log" else ""
        hidden = ' style="display:none"' if blocks else ""
        blocks.append(
            f'<div class="gm-legend-item" data-column="{escape(column)}"{hidden}>'
            f'<div class="gm-legend-title">{escape(names[column])}'
            f'{note}</div><div class="gm-legend-bar" style="background:linear-gradient(to right,'
            f'{",".join(stops)})"></div><div class="gm-legend-ends"><span>{lo:.3g}</span>'
            f"<span>{hi:.3g}</span></div></div>"
        )
    blocks.append(f'<div class="gm-legend-item"><span class="gm-nodata" style="background:'
                  f'{_NODATA_COLOUR}"></span> no data</div>')
    style = (
        f"<style>.leaflet-container{{background:{_BACKGROUND}}}.gm-legend{{position:fixed;left:10px;"
        "bottom:10px;z-index:1000;background:rgba(255,255,255,.92);padding:6px 9px;"
        "border-radius:4px;font:12px/1.3 system-ui,sans-serif;max-width:min(260px,70vw);"
        "box-shadow:0 1px 4px rgba(0,0,0,.3)}.gm-legend-item{margin:3px 0}"
        ".gm-legend-bar{height:9px;border:1px solid #999}.gm-legend-ends{display:flex;"
        "justify-content:space-between}.gm-nodata{display:inline-block;width:12px;"
        "height:9px;border:1px solid #999}.gm-legend-title{font-weight:600;overflow-wrap:anywhere}</style>"
    )
    return style + '<div class="gm-legend" id="geo-ms-legend">' + "".join(blocks) + "</div>"


_SWITCH_JS = """
(function () {
  var colours = JSON.parse(document.getElementById('geo-ms-colours').textContent);
  function show(column) {
    var layer = %s;  /* defined further down the page; looked up when switching */
    var base = layer.options.style;
    var style = function (f) {
      var out = Object.assign({}, typeof base === 'function' ? base(f) : base);
      out.fillColor = colours[column][String(f.id)] || '#c8c8c8';
      return out;
    };
    layer.options.style = style;  /* so that un-highlighting keeps the new colours */
    layer.setStyle(style);
    document.querySelectorAll('#geo-ms-legend [data-column]').forEach(function (el) {
      el.style.display = el.getAttribute('data-column') === column ? '' : 'none';
    });
  }
  document.querySelectorAll('#geo-ms-layers input[name=gm-layer]').forEach(function (el) {
    el.addEventListener('change', function () { if (el.checked) { show(el.value); } });
  });
})();
"""


def _safe_json(obj: Any) -> str:
    """JSON for a ``<script>`` block: ``<``, ``>`` and ``&`` as ``\\u`` escapes, so no
    value (a region name like ``</script><script>…``) can close or comment out the block.

    >>> _safe_json({"name": "</script>&"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u0026"}'
    """
    return (json.dumps(obj, ensure_ascii=False).replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("&", "\\u0026"))


class _TextTooltip:
    """A Leaflet tooltip whose cells are set with ``textContent``, never ``innerHTML``.

    folium's ``GeoJsonTooltip`` builds the tooltip's HTML from the raw property
    values, so a region name such as ``"><img src=x onerror=alert(2)>`` would run as
    script when its tooltip opens; here every label and value is text.
    """

    _JS = """
(function () {
  var fields = %s;
  %s.bindTooltip(function (layer) {
    var table = document.createElement('table');
    fields.forEach(function (f) {
      var row = table.insertRow(), th = document.createElement('th');
      th.textContent = f[1];
      row.appendChild(th);
      var v = layer.feature.properties[f[0]];
      row.insertCell().textContent = (v === null || v === undefined) ? '' :
        (typeof v === 'number' ? v.toLocaleString() : String(v));
    });
    return table;
  }, {sticky: true, className: 'foliumtooltip'});
})();
"""

    @classmethod
    def script(cls, layer_name: str, fields: list[str], names: dict[str, str]) -> str:
        """The JavaScript binding the tooltip to the layer called *layer_name*."""
        return cls._JS % (_safe_json([[f, names.get(f, _label(f))] for f in fields]),
                          layer_name)


def _script_element(js: str) -> Any:
    """A folium element that adds *js* to the page's script after its parent's own."""
    from branca.element import MacroElement
    from jinja2 import Template

    el = MacroElement()
    el._template = Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")
    el.js = js  # type: ignore[attr-defined]
    return el


def _switch_html(columns: list[str]) -> str:
    """Radio buttons that restyle the one region layer per value column (short labels:
    the legend says more, and a wide switch would cover the map)."""
    from html import escape

    items = "".join(
        f'<label><input type="radio" name="gm-layer" value="{escape(c)}"'
        f'{" checked" if i == 0 else ""}> {escape(_label(c))}</label>'
        for i, c in enumerate(columns))
    style = ("<style>.gm-layers{position:fixed;right:10px;top:10px;z-index:1000;"
             "background:rgba(255,255,255,.94);padding:6px 9px;border-radius:4px;"
             "font:13px/1.5 system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)}"
             ".gm-layers label{display:block;cursor:pointer}</style>")
    return style + f'<form class="gm-layers" id="geo-ms-layers">{items}</form>'


def _prepare(regions: Any, table: pd.DataFrame, columns: list[str], tolerance: float) -> Any:
    import shapely

    if "region_id" not in regions.columns or "region_id" not in table.columns:
        raise SchemaError(
            "interactive_map: regions or table lacks the region_id column",
            hint="Both need region_id (ISO3 for countries) to be joined.",
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"interactive_map: table lacks value column(s) {', '.join(missing)}",
            hint="Pass value_columns that exist in the analysis table.",
        )
    if regions.crs is None:
        raise CRSError("interactive_map: regions have no CRS")
    gdf = regions.to_crs("EPSG:4326") if regions.crs.to_epsg() != 4326 else regions
    info = [c for c in ("name", "iso3", "continent") if c in table.columns and c not in columns]
    values = table[["region_id", *info, *columns]].drop_duplicates("region_id")
    gdf = gdf[["region_id", "geometry"]].merge(values, on="region_id", how="inner")
    if gdf.empty:
        raise SchemaError(
            "interactive_map: no region_id of the table matches the regions",
            hint="Check that both use the same ids (ISO3 for countries).",
        )
    if tolerance > 0:
        simple = shapely.simplify(gdf.geometry.values, tolerance, preserve_topology=True)
        simple = shapely.set_precision(simple, 1e-3)
        keep = shapely.is_empty(simple) | ~shapely.is_valid(simple)
        gdf = gdf.set_geometry(np.where(keep, gdf.geometry.values, simple), crs="EPSG:4326")
    for c in columns:
        gdf[c] = pd.to_numeric(gdf[c], errors="coerce")
    return gdf


#: map.html is drawn in the static maps' projection (``MAP_CRS``: Equal Earth,
#: equal-area), so a region's colour covers an area in proportion to its land (Web
#: Mercator would make Greenland as large as Africa). Leaflet draws it with its plain
#: ``Simple`` CRS, in units of :data:`_MAP_UNIT_M` metres.
_MAP_UNIT_M = 100_000.0
_OCEAN = "#dde8f0"


def _project_lonlat(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes in map units (Equal Earth, 100 km).

    On the equator at 180° Equal Earth's x is 2√3·π / (3·A1) times the authalic
    radius (A1 = 1.340264, R = 6,371,007 m): 2.7066 × 6,371 km = 17,244 km.

    >>> x, y = _project_lonlat(np.array([0.0, 180.0]), np.array([0.0, 0.0]))
    >>> round(float(x[0]), 6), round(float(x[1]), 1), round(float(y[0]), 6)
    (0.0, 172.4, 0.0)
    """
    from pyproj import Transformer

    from geo_ms.report.figures._common import MAP_CRS

    tr = Transformer.from_crs("EPSG:4326", MAP_CRS, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x) / _MAP_UNIT_M, np.asarray(y) / _MAP_UNIT_M


def _equal_earth(gdf: Any) -> Any:
    """Regions (EPSG:4326) in map units, to 0.001 (100 m): long edges densified to 1°."""
    import shapely

    geoms = shapely.segmentize(gdf.geometry.values, 1.0)
    projected = shapely.transform(geoms, lambda xy: np.round(np.column_stack(
        _project_lonlat(xy[:, 0], xy[:, 1])), 3))
    return gdf.set_geometry(projected, crs=None)


def _sphere() -> list[tuple[float, float]]:
    """The globe's outline as Leaflet ``(y, x)`` pairs in map units.

    >>> ring = _sphere()
    >>> len(ring), ring[0] == ring[-1]
    (362, False)
    """
    from geo_ms.report.figures._common import globe_outline

    x, y = globe_outline()
    return [(round(float(b) / _MAP_UNIT_M, 3), round(float(a) / _MAP_UNIT_M, 3))
            for a, b in zip(x, y, strict=True)]


#: Above this many regions the map shows square bins instead of the regions.
MAX_MAP_REGIONS = 5_000
#: Pages estimated above this size (bytes) draw bins whatever the region count.
MAX_PAGE_BYTES = 4_500_000
#: Bin sizes tried, finest first (degrees).
_BIN_SIZES = (0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 15.0, 30.0)


def binned_layer(gdf: Any, columns: Sequence[str], max_features: int = MAX_MAP_REGIONS) -> Any:
    """Regions aggregated into square lon/lat bins: what the map draws for many regions.

    Each region goes to the bin of its representative point (a point inside it); a bin's
    value per column is the area-weighted mean over its regions with a value (spherical
    areas, as the zonal statistics use: :func:`geo_ms.exposures.weights.region_areas_m2`). The finest bin size of :data:`_BIN_SIZES` giving at most
    *max_features* bins is used. Every feature is then a square of 5 vertices and a
    handful of numbers, so the page size stops growing with the region count (~50,000
    admin-2 units or grid cells would otherwise write tens of MB).

    Returns a GeoDataFrame (EPSG:4326) with ``region_id`` (the bin's south-west corner),
    ``name`` (how many regions it holds), ``n_regions`` and the columns;
    ``attrs["binned"]`` holds the bin size and the counts.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"region_id": ["a", "b", "c"], "v": [1.0, 4.0, 10.0]},
    ...     geometry=[shapely.box(0, 0, 0.1, 0.1), shapely.box(0.1, 0, 0.3, 0.1),
    ...               shapely.box(50, 50, 50.1, 50.1)], crs="EPSG:4326")
    >>> b = binned_layer(g, ["v"], max_features=2)
    >>> b[["region_id", "n_regions"]].values.tolist(), b.attrs["binned"]["size_deg"]
    ([['0°, 0°', 2], ['50°, 50°', 1]], 0.25)
    >>> round(float(b["v"].iloc[0]), 6)  # (1·1 + 4·2) / 3 with b twice the area of a
    3.0
    """
    import geopandas as gpd
    import shapely

    from geo_ms.exposures.weights import region_areas_m2

    pts = shapely.point_on_surface(np.asarray(gdf.geometry.values, dtype=object))
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    area = region_areas_m2(gdf.geometry.to_numpy())
    for size in _BIN_SIZES:
        ix = np.floor((np.clip(x, -180, 179.999999) + 180) / size).astype(np.int64)
        iy = np.floor((np.clip(y, -90, 89.999999) + 90) / size).astype(np.int64)
        key = ix * 100_000 + iy
        if np.unique(key).size <= max_features:
            break
    frame = pd.DataFrame({"key": key, "ix": ix, "iy": iy, "w": area})
    for c in columns:
        v = pd.to_numeric(gdf[c], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(v)
        frame[f"{c}__wv"] = np.where(ok, v * area, 0.0)
        frame[f"{c}__w"] = np.where(ok, area, 0.0)
    agg = frame.groupby("key", sort=True).agg(
        ix=("ix", "first"), iy=("iy", "first"), n_regions=("w", "size"),
        **{f"{c}__wv": (f"{c}__wv", "sum") for c in columns},
        **{f"{c}__w": (f"{c}__w", "sum") for c in columns})
    west = -180.0 + agg["ix"].to_numpy() * size
    south = -90.0 + agg["iy"].to_numpy() * size
    out = pd.DataFrame({
        "region_id": [f"{s:g}°, {w:g}°" for s, w in zip(south, west, strict=True)],
        "name": [f"{n} region{'s' if n != 1 else ''} (bin of {size:g}°)"
                 for n in agg["n_regions"]],
        "n_regions": agg["n_regions"].to_numpy(),
    })
    for c in columns:
        w = agg[f"{c}__w"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where(w > 0, agg[f"{c}__wv"].to_numpy() / np.where(w > 0, w, 1), np.nan)
    geoms = shapely.box(west, south, west + size, south + size)
    binned = gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
    binned.attrs["binned"] = {"size_deg": size, "regions": len(gdf),
                              "bins": len(binned)}
    return binned


def page_bytes(gdf: Any, columns: Sequence[str]) -> float:
    """Estimated size of the page for *gdf*: fixed part, vertices and per-region data.

    Calibrated on pages this module wrote (245 countries, 1,500 and 4,000 squares with
    four value columns): ~195 kB of Leaflet and styles, ~19 bytes per vertex, ~300
    bytes per region plus ~45 per value column (tooltip values, colours, data block).

    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)] * 1000)
    >>> round(page_bytes(g, ["a", "b"]) / 1e6, 2)
    0.68
    """
    import shapely

    coords = float(shapely.get_num_coordinates(np.asarray(gdf.geometry.values)).sum())
    return 195_000 + 19.0 * coords + (300 + 45 * len(columns)) * len(gdf)


def _binned_note(info: dict[str, Any]) -> str:
    """A fixed banner saying that the map shows bins, not the regions."""
    from html import escape

    text = (f"{info['regions']:,} regions are shown as {info['bins']:,} square bins of "
            f"{info['size_deg']:g}° (area-weighted means of the regions whose interior point "
            "falls in each bin); every region's values are in analysis_table.csv.")
    # top left, beside the zoom buttons: the layer switch takes the top right
    return ('<div id="geo-ms-binned" style="position:fixed;left:56px;top:10px;'
            "z-index:1000;background:rgba(255,255,255,.94);"
            "padding:4px 9px;border-radius:4px;font:12px/1.4 system-ui,sans-serif;"
            "max-width:max(240px,calc(100vw - 400px));box-shadow:0 1px 4px rgba(0,0,0,.3)"
            f'">{escape(text)}</div>')


def _note_html(note: str) -> str:
    """The sources-and-caveats box in the bottom-right corner: the caveat in view, the
    sources one click away (a ``<details>`` element: a long list would hide the map).

    >>> _note_html("Sources: <A>. " + CAVEAT).endswith("</summary>Sources: &lt;A&gt;.</details>")
    True
    """
    from html import escape

    sources = note.replace(CAVEAT, "").strip()
    style = ('<style>#geo-ms-note{position:fixed;right:10px;bottom:10px;z-index:1000;'
             "background:rgba(255,255,255,.92);padding:5px 9px;border-radius:4px;"
             "font:11px/1.35 system-ui,sans-serif;color:#333;max-width:min(420px,45vw);"
             "box-shadow:0 1px 4px rgba(0,0,0,.3)}#geo-ms-note summary{cursor:pointer}"
             "#geo-ms-note[open] summary{margin-bottom:4px}</style>")
    if not sources:
        return style + f'<div id="geo-ms-note">{escape(note)}</div>'
    return (style + '<details id="geo-ms-note" title="data sources">'
            f"<summary>{escape(CAVEAT)}</summary>{escape(sources)}</details>")


def _clean(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return None
        short = round(float(value), 6)
        # a tiny value (1e-9 per 100,000) keeps six significant digits, never becomes 0
        return short if short != 0 or value == 0 else float(f"{float(value):.6g}")
    if isinstance(value, np.integer):
        return int(value)
    return None if value is pd.NA else value


def interactive_map(
    path: str | os.PathLike[str],
    regions: Any,
    table: pd.DataFrame,
    value_columns: Sequence[str],
    *,
    simplify_tolerance: float = 0.05,
    title: str = "geo_ms: MS prevalence, exposures and residuals by region",
    max_regions: int = MAX_MAP_REGIONS,
    note: str = CAVEAT,
    labels: dict[str, str] | None = None,
) -> Path:
    """Write a self-contained, offline Leaflet map of per-region values.

    Parameters
    ----------
    path
        Output HTML file (written atomically).
    regions
        GeoDataFrame with ``region_id`` and polygons (reprojected to EPSG:4326).
    table
        Analysis table with ``region_id`` and the value columns (``name``, ``iso3``
        and ``continent`` are shown in the tooltip when present).
    value_columns
        Columns to map, one switchable layer each; ``resid`` is appended when the
        table has it. Prevalence columns use a log scale, residuals a diverging one.
    simplify_tolerance
        Douglas–Peucker tolerance in degrees to keep the file small (0 disables).
    title
        Page title.
    max_regions
        Above this many regions, or when the page would exceed ~4.5 MB
        (:func:`page_bytes`), the map draws square bins of area-weighted means
        (:func:`binned_layer`, at most *max_regions* bins) instead of the regions and
        says so in a banner: the page stays under 5 MB, also for 50,000 regions.
    note
        The data sources and caveats (the pipeline passes
        :func:`geo_ms.report.figures.source_note`): a box in the bottom-right corner
        shows the caveat and opens on the sources.
    labels
        Legend and tooltip labels by column, in place of the built-in ones (e.g. which
        MS table ``prevalence_per_100k`` holds); the layer switch keeps the short ones.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    SchemaError
        When columns are missing or no region matches.
    FormatError
        When the rendered page would still load anything from the network.
    """
    import folium
    from branca.element import Element

    columns = list(dict.fromkeys(value_columns))
    if "resid" in table.columns and "resid" not in columns:
        columns.append("resid")
    if not columns:
        raise SchemaError("interactive_map: no value_columns given",
                          hint="Pass at least one column of the analysis table to map.")
    names = {c: (labels or {}).get(c) or _label(c) for c in columns}
    many = len(regions) > max_regions
    gdf = _prepare(regions, table, columns, 0.0 if many else simplify_tolerance)
    if len(gdf) > max_regions or page_bytes(gdf, columns) > MAX_PAGE_BYTES:
        gdf = binned_layer(gdf, columns, max_regions)
    gdf = _equal_earth(gdf)
    scales = {c: _scale(c, gdf[c]) for c in columns}
    props = [c for c in gdf.columns if c != "geometry"]
    features = []
    for rec, geom in zip(gdf[props].to_dict("records"), gdf.geometry, strict=True):
        features.append({
            "type": "Feature", "id": str(rec["region_id"]),
            "properties": {k: _clean(v) for k, v in rec.items()},
            "geometry": geom.__geo_interface__,
        })
    collection = {"type": "FeatureCollection", "features": features}

    fmap = folium.Map(location=[0, 0], zoom_start=1, tiles=None, min_zoom=0, crs="Simple",
                      zoom_snap=0.25, world_copy_jump=False, attribution_control=False)
    fmap.default_js = []
    fmap.default_css = []
    header = fmap.get_root().header
    header.add_child(Element(f"<title>{html_escape(title)}</title>"), name="geo_ms_title")
    header.add_child(Element("<style>" + _leaflet_css() + "</style>"), name="leaflet_css")
    header.add_child(Element("<script>" + _asset("leaflet.js").decode("utf-8") + "</script>"),
                     name="leaflet_js")
    tip_fields = [c for c in ("name", "region_id", "continent") if c in props] + columns
    first, first_scale = columns[0], scales[columns[0]]

    first_colours = dict(zip(
        (f["id"] for f in features),
        _colours([f["properties"].get(first) for f in features], first_scale), strict=True))

    def style(feature: dict[str, Any]) -> dict:
        fill = first_colours.get(feature.get("id"))
        if fill is None:
            fill = _colour(feature["properties"].get(first), first_scale)
        return {"fillColor": fill, "color": "#555555", "weight": 0.5, "fillOpacity": 0.85}

    globe = folium.Polygon(_sphere(), fill=True, fill_color=_OCEAN, fill_opacity=1.0,
                           color="#9aa5b1", weight=0.8)
    globe.options["interactive"] = False  # a backdrop: no hover, no tooltip
    globe.add_to(fmap)
    layer = folium.GeoJson(
        collection,
        name="regions",
        style_function=style,
        highlight_function=lambda f: {"weight": 2, "color": "#000000"},
    ).add_to(fmap)
    # after the layer's own script: the tooltip sets every cell as text
    layer.add_child(_script_element(_TextTooltip.script(layer.get_name(), tip_fields, names)),
                    name="geo_ms_tooltip")
    colours = {c: dict(zip((str(rid) for rid in gdf["region_id"]),
                           _colours(gdf[c].tolist(), scales[c]), strict=True))
               for c in columns}
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    south = float(_project_lonlat(np.array([0.0]), np.array([-60.0]))[1][0])
    fmap.fit_bounds([[max(miny, south), minx], [maxy, maxx]])
    html_root = fmap.get_root().html
    html_root.add_child(Element(_legend_html(scales, names)), name="geo_ms_legend")
    html_root.add_child(Element(_note_html(note)), name="geo_ms_note")
    if "binned" in gdf.attrs:
        html_root.add_child(Element(_binned_note(gdf.attrs["binned"])), name="geo_ms_binned")
    html_root.add_child(Element(_switch_html(columns)), name="geo_ms_layers")
    colour_json = _safe_json(colours)
    html_root.add_child(
        Element(f'<script type="application/json" id="geo-ms-colours">{colour_json}</script>'),
        name="geo_ms_colours",
    )
    fmap.get_root().script.add_child(Element(_SWITCH_JS % layer.get_name()),
                                     name="geo_ms_switch")
    records = [{k: _clean(v) for k, v in rec.items()} for rec in gdf[props].to_dict("records")]
    data_json = _safe_json(records)
    html_root.add_child(
        Element(f'<script type="application/json" id="geo-ms-data">{data_json}</script>'),
        name="geo_ms_data",
    )
    page = fmap.get_root().render()
    bad = _EXTERNAL.search(page)
    if bad:
        raise FormatError(
            f"{path}: interactive map still references the network ({bad.group(0)[:80]}...)",
            hint="A folium element added a CDN asset; vendor it in geo_ms/report/assets/.",
        )
    return atomic_write_text(path, page)
