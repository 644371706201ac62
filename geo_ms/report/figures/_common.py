"""Shared pieces of the static figures: labels, footnotes, projection, saving.

Every figure is a bare matplotlib ``Figure`` (no pyplot state), written as PNG and
SVG through :func:`geo_ms._io.atomic_path`. The PNG is palette-quantised with Pillow
(a few hundred kB at most, so the self-contained report stays small) and carries
``Title``, ``Description`` and, for maps, ``CRS`` text chunks; the SVG carries the
same title and description (and the CRS as Dublin-Core ``Coverage``).

>>> label("cloud_cover_pct_winter")
'Cloud cover, CRU CL 1.0 (%), local winter'
>>> label("some_new_column")
'some new column'
>>> continent_of("Seven seas (open ocean)", "Africa")
'Africa'
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geo_ms._io import atomic_path
from geo_ms.errors import CRSError, SchemaError
from geo_ms.report._embed import write_sidecar

__all__ = [
    "CAVEAT",
    "DEFAULT_FORMATS",
    "FORMATS",
    "LABELS",
    "MAP_CRS",
    "MAP_TOLERANCE_M",
    "OUTCOME",
    "check_formats",
    "continent_of",
    "draw_polygons",
    "globe_outline",
    "label",
    "map_regions",
    "n_note",
    "source_note",
]

#: Caveat printed under every figure.
CAVEAT = (
    "Ecological data: says nothing about individual risk; GBD values are model outputs."
)
#: Projection of every static map (Equal Earth, equal-area), as in map.html.
MAP_CRS = "EPSG:8857"
OUTCOME = "prevalence_per_100k"
#: Figure formats geo_ms writes, and the default (the report embeds the PNGs; SVG on request).
FORMATS = ("png", "svg")
DEFAULT_FORMATS = ("png",)
#: Coverage-simplification tolerance of static maps, metres in Equal Earth: a world map
#: of ~1,400 px spans ~34,000 km, ~24 km per pixel; a fifth of a pixel cannot be seen.
MAP_TOLERANCE_M = 5_000.0
PNG_DPI = 150

#: Data dictionary: column name → human label with unit.
LABELS: dict[str, str] = {
    "prevalence_per_100k": "MS prevalence per 100,000",
    "prevalence_agestd_per_100k": "MS prevalence per 100,000, age-standardised",
    "prevalence_allages_per_100k": "MS prevalence per 100,000, all ages",
    "prevalence_1990_per_100k": "MS prevalence per 100,000 in 1990",
    "prevalence_user_per_100k": "MS prevalence per 100,000 (your table)",
    "log_prevalence": "log MS prevalence",
    "cloud_cover_pct": "Cloud cover, CRU CL 1.0 (%)",
    "cloud_fraction_modis_pct": "Cloud fraction, MODIS (%)",
    "cloud_cover_ncep_pct": "Cloud cover, NCEP reanalysis (%)",
    "cloud_cover_cruts_pct": "Cloud cover, CRU TS 4.08 (%)",
    "cloudiness_sunshine_pct": "Cloudiness from sunshine, MERRA-2 (%)",
    "cloud_cover": "Cloud cover (%)",
    "cloud_fraction": "Cloud fraction (%)",
    "uv_index": "UV index (NASA NEO, Aura/OMI)",
    "vitd_uv_clear": "Clear-sky vitamin-D UV dose (J m⁻² per day)",
    "vitd_dose_clear": "Clear-sky vitamin-D UV dose (J m⁻² per day)",
    "vitd_uv_allsky": "All-sky vitamin-D UV dose (J m⁻² per day)",
    "ghi_merra2": "Surface sunlight, MERRA-2 (W m⁻²)",
    "ghi": "Surface sunlight (W m⁻²)",
    "sunshine_hours_cities": "Sunshine hours per year (cities)",
    "sunshine_hours": "Sunshine hours per year",
    "abs_latitude": "|latitude| (°)",
    "abs_latitude_popw": "|latitude|, population-weighted (°)",
    "gdp_per_capita": "GDP per capita (US$)",
    "resid": "Residual (log units)",
    "omi_allsky_clearsky_ratio": "OMI all-sky / clear-sky UV dose ratio",
}
_SUFFIXES = (("_popw", "population-weighted"), ("_winter", "local winter"),
             ("_summer", "local summer"), ("_mainterr", "main territory only"))
_NODATA = {"facecolor": "#d9d9d9", "edgecolor": "#8c8c8c", "hatch": "////", "linewidth": 0.2}
_OCEAN = "Seven seas (open ocean)"


def label(column: str) -> str:
    """Human label (with unit) of a column; suffixes ``_winter``/``_popw`` spelled out.

    Parameters
    ----------
    column
        Column name of the analysis or models table.

    Returns
    -------
    str
        The label; never contains ``_``.

    Examples
    --------
    >>> label("uv_index_popw")
    'UV index (NASA NEO, Aura/OMI), population-weighted'
    >>> label("uv_index_mainterr")
    'UV index (NASA NEO, Aura/OMI), main territory only'
    """
    extras = []
    base = column
    changed = True
    while changed:
        changed = False
        for suffix, words in _SUFFIXES:
            if base.endswith(suffix) and base != suffix:
                base = base[: -len(suffix)]
                extras.insert(0, words)
                changed = True
    month = None
    if len(base) > 4 and base[-4:-2] == "_m" and base[-2:].isdigit():
        month = int(base[-2:])
        base = base[:-4]
    text = LABELS.get(base, base.replace("_", " "))
    if month:
        import calendar

        extras.insert(0, calendar.month_name[month])
    return ", ".join([text, *extras]).replace("_", " ")


def continent_of(continent: Any, region_un: Any = None) -> str:
    """The continent a reader expects: island states of "Seven seas" go to their UN region.

    Examples
    --------
    >>> continent_of("Europe"), continent_of(_OCEAN, None), continent_of(None)
    ('Europe', 'Oceania', 'unknown')
    """
    text = "" if continent is None or (isinstance(continent, float) and np.isnan(continent)) \
        else str(continent)
    if text == _OCEAN:
        un = "" if region_un is None or (isinstance(region_un, float) and np.isnan(region_un)) \
            else str(region_un)
        return un if un and un != _OCEAN else "Oceania"
    return text or "unknown"


def n_note(n: int, run_n: int | None, reason: str) -> str:
    """``"n = 206"``, plus why it differs from the run's n.

    Examples
    --------
    >>> n_note(206, 241, "regions with cloud cover")
    'n = 206 of 241: regions with cloud cover'
    >>> n_note(241, 241, "x")
    'n = 241'
    >>> n_note(244, 194, "every region with a value")
    'n = 244, not 194: every region with a value'
    """
    if run_n is None or n == run_n:
        return f"n = {n}"
    if n > run_n:
        return f"n = {n}, not {run_n}: {reason}"
    return f"n = {n} of {run_n}: {reason}"


def run_n(table: pd.DataFrame, outcome: str = OUTCOME) -> int | None:
    """The run's n: regions with a positive outcome value."""
    if outcome not in table:
        return None
    return int((pd.to_numeric(table[outcome], errors="coerce") > 0).sum())


def source_note(meta: Mapping[str, Any] | None, extra: str | None = None,
                columns: Sequence[str] | None = None) -> str:
    """Return the footnote text: the data sources named in ``meta`` plus the caveats.

    Parameters
    ----------
    meta
        Run metadata; its ``sources`` list of dicts (``id``, ``title``, ``kind``) is used.
    extra
        An extra sentence (e.g. the raster's own citation), appended before the caveat.
    columns
        The analysis-table columns the figure shows: only their datasets
        (``meta["column_sources"]``: column → dataset ids) and the region boundaries are
        named. When a column's datasets are unknown (or *meta* has no
        ``column_sources``), every source of the run is.

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
    >>> meta = {"sources": [{"id": "ne", "title": "Natural Earth", "kind": "boundaries"},
    ...                     {"id": "cru", "title": "CRU CL 1.0"}, {"id": "neo", "title": "NEO UV"}],
    ...         "column_sources": {"cloud_cover_pct": ["cru"], "uv_index": ["neo"]}}
    >>> source_note(meta, columns=["cloud_cover_pct"])[:36]
    'Sources: Natural Earth; CRU CL 1.0. '
    """
    sources = (meta or {}).get("sources", []) or []
    known = (meta or {}).get("column_sources")
    if columns is not None and known is not None:
        ids = [known.get(c) for c in columns]
        if all(ids):  # every column's datasets are known
            keep = {i for part in ids for i in part}
            sources = [s for s in sources
                       if s.get("id") in keep or s.get("kind") == "boundaries"]
    parts = []
    for src in sources:
        title = str(src.get("title") or src.get("id") or "").strip()
        if not title:
            continue
        parts.append(title.split(" (")[0].split(", ")[0])
    text = (f"Sources: {'; '.join(dict.fromkeys(parts))}. Licences and citations: see the "
            "report." if parts else "Sources: see the report.")
    if extra:
        text += " " + extra.strip()
    return f"{text} {CAVEAT}"


def require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`SchemaError` naming the columns ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{what}: missing column(s) {', '.join(missing)}",
            hint=f"Pass a {what} with the columns listed in docs/architecture.md.",
        )


def regions_4326(regions: Any) -> Any:
    """Regions in EPSG:4326 (checked: ``region_id``, ``geometry`` and a CRS)."""
    require(regions, ["region_id", "geometry"], "regions")
    if regions.crs is None:
        raise CRSError("regions: GeoDataFrame has no CRS",
                       hint="Set the CRS of the regions (e.g. gdf.set_crs('EPSG:4326')).")
    if regions.crs.to_epsg() != 4326:
        regions = regions.to_crs("EPSG:4326")
    return regions


def map_regions(regions: Any, tolerance: float = MAP_TOLERANCE_M) -> Any:
    """Regions as every static map draws them: clipped to 60° S – 85° N, projected to
    Equal Earth and simplified there as a coverage (``tolerance`` metres).

    The 1:10m polygons are for the statistics; a ~1,400-pixel world map cannot show
    their detail, and drawing it dominated the time spent on figures. The coverage is
    simplified in the map's own projected CRS with :func:`shapely.coverage_simplify`,
    which keeps shared borders shared (no gaps or overlaps between neighbours) and never
    drops a polygon (a tiny island stays a triangle); polygons that are not a valid
    coverage fall back to per-polygon, topology-preserving simplification. Regions
    already prepared (``attrs["map_tolerance_m"]``) are returned as they are.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"region_id": ["A", "B", "Z"]}, crs="EPSG:4326",
    ...                      geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(0, -80, 1, -70)])
    >>> m = map_regions(g)
    >>> list(m["region_id"]), m.crs.to_epsg(), m.attrs["map_tolerance_m"]
    (['A', 'B'], 8857, 5000.0)
    >>> map_regions(m) is m
    True
    """
    import shapely

    if regions.attrs.get("map_tolerance_m") == tolerance and regions.crs is not None \
            and regions.crs.to_epsg() == 8857:
        return regions
    gdf = project(regions_4326(regions))
    geoms = gdf.geometry.values
    if tolerance > 0 and len(gdf):
        try:
            simple = shapely.coverage_simplify(geoms, tolerance)
            if not shapely.coverage_is_valid(simple):
                raise ValueError("not a coverage")
        except (ValueError, shapely.errors.GEOSException):
            simple = shapely.simplify(geoms, tolerance, preserve_topology=True)
        bad = shapely.is_empty(simple) | shapely.is_missing(simple)
        geoms = np.where(bad, geoms, simple)
    out = gdf.set_geometry(gpd_array(geoms, gdf.crs))
    out.attrs["map_tolerance_m"] = tolerance
    return out


def gpd_array(geoms: Any, crs: Any) -> Any:
    """A GeoSeries-compatible array of ``geoms`` in ``crs``."""
    from geopandas.array import from_shapely

    return from_shapely(np.asarray(geoms, dtype=object), crs=crs)


def project(gdf: Any) -> Any:
    """Clip to 60° S – 85° N (no Antarctica) and project to Equal Earth."""
    if gdf.attrs.get("map_tolerance_m") is not None and gdf.crs is not None \
            and gdf.crs.to_epsg() == 8857:
        return gdf  # already clipped, projected and simplified (map_regions)
    clipped = gdf.clip_by_rect(-180.0, -60.0, 180.0, 85.0)
    out = gdf.set_geometry(clipped)
    out = out[~(out.geometry.is_empty | out.geometry.isna())]
    return out.to_crs(MAP_CRS)


def globe_outline(south: float = -90.0, n: int = 181) -> tuple[np.ndarray, np.ndarray]:
    """The outline of the globe north of *south* in :data:`MAP_CRS` metres: the 180° W
    meridian northwards, then 180° E southwards (*n* points each).

    >>> x, y = globe_outline(n=3)  # south pole, equator, north pole on each side
    >>> len(x), bool(np.isclose(x[0], -x[-1])), bool(np.isclose(y[0], -y[2])), float(y[1])
    (6, True, True, 0.0)
    """
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", MAP_CRS, always_xy=True)
    lats = np.linspace(south, 90.0, n)
    xw, ys = tr.transform(np.full_like(lats, -180.0), lats)
    xe, _ = tr.transform(np.full_like(lats, 180.0), lats)
    return np.r_[xw, xe[::-1]], np.r_[ys, ys[::-1]]


def world_frame(ax: Any) -> None:
    """Equal-Earth world limits (60° S – 90° N) and a light outline of the globe."""
    x, y = globe_outline(-60.0, 60)
    ax.fill(x, y, color="#f2f6f9", zorder=-1, lw=0)
    ax.set_xlim(float(x.min()) * 1.01, float(x.max()) * 1.01)
    ax.set_ylim(float(y.min()), float(y.max()))
    ax.set_aspect("equal")
    ax.set_axis_off()


def polygon_paths(geoms: Any) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """The vertices and path codes of one matplotlib path per (multi)polygon, as
    geopandas' plotting makes them, built from the coordinate arrays at once; and the
    positions of the geometries drawn.

    As geopandas: geometries normalised (ring orientation for holes), empty or missing
    ones left out, every ring a ``MOVETO``, ``LINETO`` codes and a ``CLOSEPOLY``, the rings
    of one geometry (exterior, then holes, part by part) one compound path. geopandas
    builds a ``PathPatch`` per region in Python, which dominated drawing maps of tens
    of thousands of regions.

    >>> from shapely.geometry import box
    >>> verts, codes, drawn = polygon_paths(np.array([box(0, 0, 1, 1), None, box(0, 0, 2, 2)]))
    >>> drawn.tolist(), codes[0].tolist(), verts[1][:2].tolist()
    ([0, 2], [1, 2, 2, 2, 79], [[0.0, 0.0], [0.0, 2.0]])
    """
    import shapely
    from matplotlib.path import Path as MplPath

    geoms = np.asarray(geoms, dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    drawn = np.flatnonzero(keep)
    if drawn.size == 0:
        return [], [], drawn
    parts, part_of = shapely.get_parts(shapely.normalize(geoms[drawn]), return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, coord_of = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    counts = np.bincount(coord_of, minlength=len(rings))
    ends = np.cumsum(counts)
    codes[(ends - counts)[counts > 0]] = MplPath.MOVETO
    codes[ends[counts > 0] - 1] = MplPath.CLOSEPOLY
    cuts = np.cumsum(np.bincount(part_of[ring_of[coord_of]], minlength=drawn.size))[:-1]
    return np.split(xy, cuts), np.split(codes, cuts), drawn


def draw_polygons(ax: Any, geoms: Any, values: Any = None, **kwargs: Any) -> Any:
    """Draw (multi)polygons as one collection, as ``GeoSeries.plot`` (and
    ``GeoDataFrame.plot(column=...)`` with ``values``) draws them; return it.

    ``kwargs`` go to the collection (``cmap``, ``norm``, ``facecolor``, ``edgecolor``,
    ``linewidth``, ``hatch``, ...). Values of empty or missing geometries are left
    out with them.
    """
    from matplotlib.collections import PolyCollection

    verts, codes, drawn = polygon_paths(geoms)
    cmap = kwargs.pop("cmap", None)
    coll = PolyCollection([], **kwargs)
    coll.set_verts_and_codes(verts, codes)
    if cmap is not None:
        coll.set_cmap(cmap)
    if values is not None:
        coll.set_array(np.asarray(values)[drawn])
    ax.add_collection(coll, autolim=True)
    ax.autoscale_view()
    return coll


def nodata_patch(ax: Any, gdf: Any, mask: Any) -> Any:
    """Draw ``gdf[mask]`` hatched grey; return its legend handle (or None)."""
    from matplotlib.patches import Patch

    n = int(mask.sum())
    if n == 0:
        return None
    draw_polygons(ax, gdf[mask].geometry.values, **_NODATA)
    return Patch(label=f"no data ({n})", **_NODATA)


def new_figure(width: float, height: float, note: str) -> Figure:
    """A figure with constrained layout that leaves room at the bottom for ``note``."""
    fig = Figure(figsize=(width, height), layout="constrained")
    chars = max(40, int(width * 17))
    lines = textwrap.wrap(note, chars)
    frac = min(0.35, (0.16 * len(lines) + 0.12) / height)
    fig.get_layout_engine().set(rect=(0, frac, 1, 1 - frac))
    fig.text(0.01, 0.01, "\n".join(lines), ha="left", va="bottom", fontsize=7, color="#444444",
             gid="source-note")
    return fig


def colorbar(fig: Figure, ax: Any, mappable: Any, text: str) -> Any:
    """A horizontal colour bar under ``ax``."""
    cbar = fig.colorbar(mappable, ax=ax, orientation="horizontal", shrink=0.6, pad=0.02,
                        aspect=40)
    cbar.set_label(text)
    return cbar


def log_ticks(axis: Any, low: float, high: float) -> list[float]:
    """Tick a log axis with plain numbers 1, 2, 5, 10, 20, 50, ... within [low, high]."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ticks = [m * 10.0 ** e for e in range(-3, 7) for m in (1, 2, 5)
             if low <= m * 10.0 ** e <= high]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_locator(NullLocator())
    return ticks


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The figure formats asked for, validated (``"png"`` and/or ``"svg"``).

    >>> check_formats(["svg", "png", "png"])
    ('svg', 'png')
    """
    out = tuple(dict.fromkeys(str(f).lower() for f in formats))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise SchemaError(
            f"figure formats: {', '.join(bad) or 'none'} not supported",
            hint="Ask for 'png' and/or 'svg' (configuration key report.svg adds SVG).")
    return out


def _rgb(fig: Figure, dpi: float) -> Any:
    """The figure drawn by Agg at ``dpi``, as a Pillow RGB image (no PNG round trip)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    old_dpi, old_canvas = fig.dpi, fig.canvas
    canvas = FigureCanvasAgg(fig)
    try:
        fig.dpi = dpi
        canvas.draw()
        renderer = canvas.get_renderer()
        size = (int(renderer.width), int(renderer.height))
        img = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        return img.convert("RGB")
    finally:
        fig.dpi = old_dpi
        fig.set_canvas(old_canvas)


def save(fig: Figure, out_dir: str | Path, stem: str, title: str, caption: str,
         crs: str | None = None, formats: Sequence[str] = DEFAULT_FORMATS) -> list[Path]:
    """Write ``fig`` once per format asked for, atomically: ``<stem>.png`` (128-colour
    palette: the report embeds every PNG and must stay under 3 MB) and/or ``<stem>.svg``
    (full colour). Beside a PNG wider than the report embeds, its embedded copy
    (:func:`geo_ms.report._embed.write_sidecar`), which the report takes and removes."""
    from PIL import Image, PngImagePlugin

    out = Path(out_dir)
    title = title.replace("_", " ")
    paths = []
    formats = check_formats(formats)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "geo_ms"}):
        if "png" in formats:
            rgb = _rgb(fig, PNG_DPI)
            pal = rgb.quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                               dither=Image.Dither.NONE)
            info = PngImagePlugin.PngInfo()
            info.add_text("Title", title)
            info.add_text("Description", caption)
            if crs:
                info.add_text("CRS", crs)
            target = out / f"{stem}.png"
            with atomic_path(target) as tmp:
                # zlib level 7: 4 % larger than level 9 and five times faster
                pal.save(tmp, format="PNG", compress_level=7, pnginfo=info)
            # the report's embedded copy, drawn here (in the figure's worker process)
            write_sidecar(target, rgb)
            paths.append(target)
        if "svg" in formats:
            meta = {"Title": title, "Description": caption, "Date": None}
            if crs:
                meta["Coverage"] = f"CRS {crs}"
            target = out / f"{stem}.svg"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format="svg", metadata=meta)
            paths.append(target)
    return paths


def log_outcome(table: pd.DataFrame, outcome: str) -> pd.Series:
    """Natural log of the outcome; non-positive values become NaN."""
    y = pd.to_numeric(table[outcome], errors="coerce")
    return np.log(y.where(y > 0))
