"""Region sets: Natural Earth countries and states, user polygons, antimeridian repair.

Every function here returns the canonical region form (``docs/architecture.md``): a
:class:`geopandas.GeoDataFrame` in EPSG:4326 with a unique ``region_id`` column,
``name`` and covariate columns. The common checks are:

* no CRS → :class:`~geo_ms.errors.CRSError`; a projected CRS is reprojected to
  EPSG:4326 and noted in ``gdf.attrs["notes"]``;
* duplicated ``region_id`` → :class:`~geo_ms.errors.SchemaError` listing them;
* invalid geometries are repaired with :func:`shapely.make_valid` and their ids listed
  in ``gdf.attrs["repaired"]``;
* polygons reaching beyond ±180° longitude are wrapped by :func:`split_antimeridian`.

>>> import geopandas as gpd, shapely
>>> gdf = gpd.GeoDataFrame({"code": ["A", "B"]},
...                        geometry=[shapely.box(0, 0, 1, 1), shapely.box(170, 0, 190, 1)],
...                        crs="EPSG:4326")
>>> out = split_antimeridian(gdf)
>>> [tuple(round(v, 6) for v in g.bounds) for g in out.geometry]
[(0.0, 0.0, 1.0, 1.0), (-180.0, 0.0, 180.0, 1.0)]
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo_ms.errors import CRSError, FormatError, SchemaError
from geo_ms.ingest.readers.boundaries import READ_ERRORS, read_natural_earth

__all__ = [
    "MAIN_TERRITORY_KM",
    "admin1",
    "countries",
    "main_territory_parts",
    "population_weighted_latitude",
    "read_natural_earth",
    "split_antimeridian",
    "user_regions",
]


#: Polygon parts farther than this (km, geodesic) from a country's largest part are
#: dropped by ``countries(..., main_territory=True)``.
MAIN_TERRITORY_KM = 1000.0

_COUNTRY_COLUMNS = [
    "region_id",
    "iso3",
    "name",
    "continent",
    "region_un",
    "subregion",
    "income_grp",
    "economy",
    "pop_est",
    "gdp_md",
    "gdp_per_capita",
    "abs_latitude",
    "label_x",
    "label_y",
    "is_antarctica",
    "geometry",
]


# --------------------------------------------------------------------------- reading




def user_regions(
    path: str | os.PathLike[str], id_column: str, name_column: str | None = None
) -> gpd.GeoDataFrame:
    """Read any polygon file as a region set.

    Parameters
    ----------
    path
        A vector file GDAL can read (GeoPackage, GeoJSON, shapefile, ``zip://``...).
    id_column
        Column that becomes ``region_id`` (must be unique).
    name_column
        Column that becomes ``name`` (default: the id).

    Returns
    -------
    geopandas.GeoDataFrame
        ``region_id``, ``name``, the file's other columns, geometry; EPSG:4326.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, shapely
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> gpd.GeoDataFrame({"code": ["Z1"], "label": ["Zone 1"]},
    ...                  geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326"
    ...                  ).to_file(d / "z.geojson")
    >>> user_regions(d / "z.geojson", "code", "label")[["region_id", "name"]].values.tolist()
    [['Z1', 'Zone 1']]
    """
    label = os.fspath(path)
    if not label.startswith(("zip://", "/vsi")) and not Path(label).exists():
        raise FormatError(f"{label}: region file not found", hint="give the path of a polygon file")
    if Path(label).is_file() and Path(label).stat().st_size == 0:
        raise FormatError(f"{label}: the file is empty (0 bytes)",
                          hint="give a polygon file (GeoPackage, GeoJSON or shapefile)")
    if label.lower().endswith(".zip") and not zipfile.is_zipfile(label):
        raise FormatError(f"{label}: not a readable zip archive (truncated or corrupt)",
                          hint="delete the file and download it again")
    try:
        gdf = gpd.read_file(label)
    except READ_ERRORS as exc:
        raise FormatError(
            f"{label}: not a readable vector file ({exc})",
            hint="use a GeoPackage, GeoJSON or shapefile with polygons",
        ) from None
    if len(gdf) == 0:
        raise SchemaError(
            f"{label}: no regions (empty polygon set)", hint="give a file with polygons"
        )
    for col in (id_column, name_column):
        if col is not None and col not in gdf.columns:
            raise SchemaError(
                f"{label}: no column {col!r}",
                hint=f"choose one of: {', '.join(c for c in gdf.columns if c != 'geometry')}",
            )
    out = gdf.copy()
    out.insert(0, "region_id", out[id_column].astype(str))
    name = out[name_column].astype(str) if name_column else out["region_id"]
    if "name" in out.columns and name_column != "name":
        out = out.drop(columns="name")
    if name_column == "name":
        out = out.drop(columns="name")
    out.insert(1, "name", name.to_numpy())
    return _finalise(gpd.GeoDataFrame(out, geometry="geometry", crs=gdf.crs), label)


# --------------------------------------------------------------------------- countries


def countries(gdf: gpd.GeoDataFrame, *, main_territory: bool = False) -> gpd.GeoDataFrame:
    """One row per country from a Natural Earth Admin-0 table.

    ``region_id`` is ``ISO_A3_EH`` (``ADM0_A3`` where that is ``-99``: Kosovo, the UK
    base areas, ...). Units sharing a code (ISO_A3_EH repeats AUS, BRA, FRA for small
    dependent units) are dissolved; the attributes and label point are those of the
    unit whose ``ADM0_A3`` equals the code (else the most populous unit).

    Parameters
    ----------
    gdf
        A table from :func:`read_natural_earth` (NE 4.x or 5.x; upper- or lower-case
        column names).
    main_territory
        Keep only the polygon parts within :data:`MAIN_TERRITORY_KM` (geodesic) of each
        country's largest part (France without French Guiana and Réunion, USA without
        Hawaii ...); see :func:`main_territory_parts`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``region_id, iso3, name, continent, region_un, subregion, income_grp,
        economy, pop_est, gdp_md, gdp_per_capita`` (USD, ``GDP_MD * 1e6 / POP_EST``),
        ``abs_latitude`` (``|LABEL_Y|``, the label point of the main unit, not the
        centroid), ``label_x, label_y``, ``is_antarctica`` (kept, but flagged), geometry.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> ne = gpd.GeoDataFrame({
    ...     "ADM0_A3": ["FRA", "CLP", "KOS"], "ISO_A3_EH": ["FRA", "FRA", "-99"],
    ...     "NAME": ["France", "Clipperton I.", "Kosovo"], "POP_EST": [67e6, 0, 1.8e6],
    ...     "GDP_MD": [2.7e6, 0, 7.9e3], "LABEL_X": [2.0, -109.2, 20.9],
    ...     "LABEL_Y": [46.7, 10.3, 42.6]},
    ...     geometry=[shapely.box(-4, 43, 7, 50), shapely.box(-109.3, 10.2, -109.2, 10.3),
    ...               shapely.box(20, 42, 21, 43)], crs="EPSG:4326")
    >>> c = countries(ne)
    >>> c[["region_id", "name", "abs_latitude"]].values.tolist()
    [['FRA', 'France', 46.7], ['KOS', 'Kosovo', 42.6]]
    >>> round(float(c.loc[0, "gdp_per_capita"]), 1)
    40298.5
    >>> countries(ne, main_territory=True).geometry[0].bounds
    (-4.0, 43.0, 7.0, 50.0)
    """
    if len(gdf) == 0:
        raise SchemaError(
            f"{_label(gdf)}: no features in the Natural Earth table",
            hint="check the file (it should hold about 250 countries)",
        )
    raw = gdf.rename(columns={c: c.upper() for c in gdf.columns if c != gdf.geometry.name})
    _require(raw, ["ADM0_A3", "ISO_A3_EH", "NAME"], gdf)
    code = raw["ISO_A3_EH"].astype(str).str.strip()
    bad = code.isin(["-99", "", "nan", "None"])
    code = code.where(~bad, raw["ADM0_A3"].astype(str).str.strip())
    raw = raw.assign(_code=code.to_numpy())
    pop = pd.to_numeric(_col(raw, "POP_EST"), errors="coerce")
    raw = raw.assign(_pop=pop.fillna(-1).to_numpy(), _self=(raw["ADM0_A3"] == raw["_code"]))
    main = (
        raw.sort_values(["_self", "_pop"], ascending=[False, False], kind="stable")
        .drop_duplicates("_code")
        .set_index("_code")
    )
    if gdf.crs is None:
        raise CRSError(
            f"{_label(gdf)}: has no CRS",
            hint="Natural Earth is in lon/lat degrees: gdf.set_crs('EPSG:4326')",
        )
    raw = raw.to_crs("EPSG:4326") if not raw.crs.equals("EPSG:4326") else raw
    # repair before dissolving: unary_union fails on invalid rings (Egypt in NE 5.1.1)
    valid = raw.geometry.is_valid
    repaired = sorted(set(raw.loc[~valid, "_code"]))
    geoms = raw.geometry.where(valid, raw.geometry[~valid].apply(_make_valid_polygonal))
    geometry = {}
    for code_, idx in raw.groupby("_code").indices.items():
        members = geoms.to_numpy()[idx]
        geometry[code_] = members[0] if len(members) == 1 else shapely.union_all(members)
    geometry = pd.Series(geometry)
    order = list(dict.fromkeys(raw["_code"]))  # file order of first appearance
    main = main.loc[order]

    pop_est = pd.to_numeric(_col(main, "POP_EST"), errors="coerce")
    gdp_md = pd.to_numeric(_col(main, "GDP_MD", "GDP_MD_EST"), errors="coerce")
    with np.errstate(divide="ignore", invalid="ignore"):
        gdp_pc = np.where(pop_est > 0, gdp_md * 1e6 / pop_est, np.nan)
    label_x = pd.to_numeric(_col(main, "LABEL_X"), errors="coerce")
    label_y = pd.to_numeric(_col(main, "LABEL_Y"), errors="coerce")
    if label_x.isna().any():  # NE 4.x has no label points: largest part's inner point
        pts = main.geometry.apply(lambda g: _largest_part(g).representative_point())
        label_x = label_x.fillna(pd.Series([p.x for p in pts], index=main.index))
        label_y = label_y.fillna(pd.Series([p.y for p in pts], index=main.index))
    continent = _col(main, "CONTINENT").astype(object)
    out = gpd.GeoDataFrame(
        {
            "region_id": order,
            "iso3": order,
            "name": main["NAME"].astype(str).to_numpy(),
            "continent": continent.to_numpy(),
            "region_un": _col(main, "REGION_UN").to_numpy(),
            "subregion": _col(main, "SUBREGION").to_numpy(),
            "income_grp": _col(main, "INCOME_GRP").to_numpy(),
            "economy": _col(main, "ECONOMY").to_numpy(),
            "pop_est": pop_est.to_numpy(dtype=float),
            "gdp_md": gdp_md.to_numpy(dtype=float),
            "gdp_per_capita": np.asarray(gdp_pc, dtype=float),
            "abs_latitude": np.abs(label_y.to_numpy(dtype=float)),
            "label_x": label_x.to_numpy(dtype=float),
            "label_y": label_y.to_numpy(dtype=float),
            "is_antarctica": (
                (pd.Series(order) == "ATA") | (continent.to_numpy() == "Antarctica")
            ).to_numpy(),
        },
        geometry=geometry.loc[order].to_numpy(),
        crs="EPSG:4326",
    )
    if main_territory:
        out["geometry"] = [main_territory_parts(g) for g in out.geometry]
    out = _finalise(out[_COUNTRY_COLUMNS], _label(gdf))
    out.attrs["repaired"] = sorted(set(out.attrs.get("repaired", [])) | set(repaired))
    out.attrs["main_territory"] = bool(main_territory)
    return out


def admin1(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """States/provinces from a Natural Earth Admin-1 table.

    ``region_id`` is ``iso_3166_2`` (``adm1_code`` where that is missing, ``-99`` or
    only a country prefix such as ``"FR-"``), ``iso3`` is ``adm0_a3``; ``abs_latitude``
    is ``|latitude|`` (NE's label latitude; the inner point where absent).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> ne = gpd.GeoDataFrame({"iso_3166_2": ["NO-03", "-99"], "adm1_code": ["NOR-1", "NOR-2"],
    ...                        "name": ["Oslo", "Svalbard"], "adm0_a3": ["NOR", "NOR"],
    ...                        "latitude": [59.9, 78.2], "longitude": [10.7, 16.0]},
    ...                       geometry=[shapely.box(10, 59, 11, 60), shapely.box(15, 77, 17, 79)],
    ...                       crs="EPSG:4326")
    >>> admin1(ne)[["region_id", "iso3", "abs_latitude"]].values.tolist()
    [['NO-03', 'NOR', 59.9], ['NOR-2', 'NOR', 78.2]]
    """
    raw = gdf.rename(columns={c: c.lower() for c in gdf.columns if c != gdf.geometry.name})
    _require(raw, ["iso_3166_2", "name", "adm0_a3"], gdf)
    rid = raw["iso_3166_2"].astype(str).str.strip()
    weak = rid.isin(["-99", "", "nan", "None"]) | rid.str.endswith(("-", "~"))
    if "adm1_code" in raw.columns:
        rid = rid.where(~weak, raw["adm1_code"].astype(str))
    lat = pd.to_numeric(raw["latitude"], errors="coerce") if "latitude" in raw else None
    lon = pd.to_numeric(raw["longitude"], errors="coerce") if "longitude" in raw else None
    pts = raw.geometry.apply(lambda g: _largest_part(g).representative_point() if g else None)
    px = pd.Series([p.x if p is not None else np.nan for p in pts], index=raw.index)
    py = pd.Series([p.y if p is not None else np.nan for p in pts], index=raw.index)
    lat = py if lat is None else lat.fillna(py)
    lon = px if lon is None else lon.fillna(px)
    out = gpd.GeoDataFrame(
        {
            "region_id": rid.to_numpy(),
            "iso3": raw["adm0_a3"].astype(str).to_numpy(),
            "name": raw["name"].astype(str).to_numpy(),
            "abs_latitude": np.abs(lat.to_numpy(dtype=float)),
            "label_x": lon.to_numpy(dtype=float),
            "label_y": lat.to_numpy(dtype=float),
        },
        geometry=raw.geometry.to_numpy(),
        crs=gdf.crs,
    )
    return _finalise(out, _label(gdf))


# --------------------------------------------------------------------------- geometry


def split_antimeridian(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Wrap polygons into [-180, 180] longitudes so that no part is silently lost.

    Two cases are repaired:

    * parts with longitudes beyond ±180 (a region given in 0..360, or with vertices
      at 181°) are cut at the antimeridian and the outer pieces shifted by ∓360°;
    * a ring that crosses the antimeridian drawn with a jump (an edge spanning more
      than 180° of longitude, e.g. 179 → -179) is first unwrapped, then cut.

    Rings that encircle a pole (Antarctica, whose edge runs 180 → -180 along -90°)
    and parts already split at ±180 (Natural Earth's Russia and Fiji) are left as
    they are.

    Parameters
    ----------
    gdf
        Any polygon GeoDataFrame in geographic lon/lat degrees.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with repaired geometries; ``attrs["antimeridian_split"]`` lists the row
        labels that changed.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> ring = shapely.Polygon([(170, -20), (-170, -20), (-170, -10), (170, -10)])
    >>> out = split_antimeridian(gpd.GeoDataFrame(geometry=[ring], crs="EPSG:4326"))
    >>> sorted(tuple(p.bounds) for p in out.geometry[0].geoms)
    [(-180.0, -20.0, -170.0, -10.0), (170.0, -20.0, 180.0, -10.0)]
    """
    out = gdf.copy()
    changed = []
    new = []
    for label, geom in zip(out.index, out.geometry, strict=True):
        fixed = _wrap_geometry(geom)
        if fixed is not geom:
            changed.append(label)
        new.append(fixed)
    out[out.geometry.name] = gpd.GeoSeries(new, index=out.index, crs=out.crs)
    out.attrs["antimeridian_split"] = changed
    return out


def main_territory_parts(geom: BaseGeometry, max_km: float = MAIN_TERRITORY_KM) -> BaseGeometry:
    """Keep the polygon parts within *max_km* (geodesic) of the largest part.

    The largest part is chosen by area scaled with cos(latitude). For each other part
    the nearest pair of points to the largest part (simplified to 0.01°, about 1 km)
    is found in an azimuthal-equidistant projection centred on the largest part, and
    the distance of that pair is measured on the WGS84 ellipsoid (pyproj.Geod).

    Examples
    --------
    >>> import shapely
    >>> france = shapely.MultiPolygon([shapely.box(-4, 43, 7, 50),   # mainland
    ...                                shapely.box(8.5, 41.4, 9.5, 43),  # Corsica
    ...                                shapely.box(-54, 2, -51.6, 5.7)])  # French Guiana
    >>> [g.bounds for g in main_territory_parts(france).geoms]
    [(-4.0, 43.0, 7.0, 50.0), (8.5, 41.4, 9.5, 43.0)]
    """
    parts = _polygon_parts(geom)
    if len(parts) <= 1:
        return geom
    big = max(parts, key=_scaled_area)
    # 0.01° (≈ 1 km) simplification: negligible against the threshold, much faster
    simple = shapely.simplify(big, 0.01, preserve_topology=False)
    simple = big if simple.is_empty else simple
    others = [p for p in parts if p is not big]
    dist = _nearest_geodesic_m(simple, others)
    keep = [big] + [p for p, d in zip(others, dist, strict=True) if d <= max_km * 1e3]
    keep.sort(key=parts.index)
    return keep[0] if len(keep) == 1 else MultiPolygon(keep)


def population_weighted_latitude(regions: gpd.GeoDataFrame, cities: pd.DataFrame) -> pd.Series:
    """Population-weighted absolute latitude of each region from city points.

    ``abs_latitude_popw = Σ pop·|lat| / Σ pop`` over the cities inside the region
    (``|lat|`` per city, so that countries straddling the equator get their mean
    distance from it). Regions without cities get NaN and are listed in
    ``attrs["no_city_regions"]``.

    Parameters
    ----------
    regions
        Canonical regions (``region_id``, geometry, EPSG:4326).
    cities
        Columns ``lat``, ``lon``, ``population``.

    Returns
    -------
    pandas.Series
        Named ``abs_latitude_popw``, indexed by ``region_id``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> reg = gpd.GeoDataFrame({"region_id": ["A", "B"]},
    ...                        geometry=[shapely.box(0, -10, 10, 10), shapely.box(20, 0, 30, 5)],
    ...                        crs="EPSG:4326")
    >>> cities = pd.DataFrame({"lat": [-6.0, 2.0], "lon": [5.0, 5.0],
    ...                        "population": [100, 300]})
    >>> population_weighted_latitude(reg, cities).tolist()
    [3.0, nan]
    """
    missing = [c for c in ("lat", "lon", "population") if c not in cities.columns]
    if missing:
        raise SchemaError(
            f"cities table: missing column(s) {', '.join(missing)}",
            hint="give a DataFrame with lat, lon, population (readers.read_geonames_cities())",
        )
    if "region_id" not in regions.columns:
        raise SchemaError(
            "regions: no 'region_id' column", hint="build regions with geo_ms.exposures.regions"
        )
    pts = gpd.GeoDataFrame(
        {"population": pd.to_numeric(cities["population"], errors="coerce").to_numpy(float)},
        geometry=gpd.points_from_xy(cities["lon"], cities["lat"]),
        crs="EPSG:4326",
    )
    pts["abs_lat"] = np.abs(np.asarray(cities["lat"], dtype=float))
    pts = pts[(pts["population"] > 0) & np.isfinite(pts["abs_lat"])]
    reg = regions[["region_id", regions.geometry.name]]
    if reg.crs is not None and not reg.crs.equals("EPSG:4326"):
        reg = reg.to_crs("EPSG:4326")
    joined = gpd.sjoin(pts, reg, how="inner", predicate="within")
    joined = joined.drop_duplicates(subset=None).assign(w=lambda t: t["population"] * t["abs_lat"])
    sums = joined.groupby("region_id")[["w", "population"]].sum()
    value = (sums["w"] / sums["population"]).reindex(regions["region_id"].to_numpy())
    value.index.name = "region_id"
    value.name = "abs_latitude_popw"
    value.attrs["no_city_regions"] = value.index[value.isna()].tolist()
    return value


# --------------------------------------------------------------------------- private


def _label(gdf: gpd.GeoDataFrame) -> str:
    return str(gdf.attrs.get("source_path", "regions"))


def _col(df: pd.DataFrame, *names: str) -> pd.Series:
    for name in names:
        if name in df.columns:
            return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _require(df: pd.DataFrame, cols: list[str], original: gpd.GeoDataFrame) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{_label(original)}: missing column(s) {', '.join(missing)}",
            hint="pass a Natural Earth table as read by read_natural_earth()",
        )


def _polygon_parts(geom: BaseGeometry | None) -> list[Polygon]:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygon_parts(g)]
    return []


def _largest_part(geom: BaseGeometry) -> BaseGeometry:
    parts = _polygon_parts(geom)
    return max(parts, key=_scaled_area) if parts else geom


def _scaled_area(poly: Polygon) -> float:
    return poly.area * np.cos(np.deg2rad(poly.centroid.y))


def _nearest_geodesic_m(target: BaseGeometry, parts: list[BaseGeometry]) -> np.ndarray:
    """Geodesic length (m, WGS84) of the shortest line from each part to *target*.

    The pair of nearest points is found in an azimuthal-equidistant projection
    centred on *target*; the distance between that pair is then measured on the
    ellipsoid (so the projection only chooses the pair, it does not scale the result).
    """
    from pyproj import Geod, Transformer

    if not parts:
        return np.zeros(0)
    centre = target.representative_point()
    tr = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m",
        always_xy=True,
    )

    def fwd(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    t = shapely.transform(target, fwd)
    others = shapely.transform(np.asarray(parts, dtype=object), fwd)
    ends = shapely.get_coordinates(shapely.shortest_line(others, t)).reshape(-1, 2, 2)
    lon, lat = tr.transform(ends[..., 0].ravel(), ends[..., 1].ravel(), direction="INVERSE")
    lon, lat = np.asarray(lon).reshape(-1, 2), np.asarray(lat).reshape(-1, 2)
    _, _, dist = Geod(ellps="WGS84").inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])
    return np.asarray(dist, dtype=float)


def _make_valid_polygonal(geom: BaseGeometry) -> BaseGeometry:
    fixed = shapely.make_valid(geom)
    parts = _polygon_parts(fixed)
    if not parts:
        return fixed
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _unwrap_ring(coords: np.ndarray) -> np.ndarray | None:
    """Unwrap a ring's longitudes across jumps > 180°.

    None when there is no jump, or when the ring encircles a pole (winding 360°).
    """
    lon = coords[:, 0]
    jumps = np.diff(lon)
    if not np.any(np.abs(jumps) > 180):
        return None
    steps = np.concatenate([[0.0], -360.0 * np.round(jumps / 360.0) * (np.abs(jumps) > 180)])
    new_lon = lon + np.cumsum(steps)
    if abs(new_lon[-1] - new_lon[0]) > 1e-9:
        return None  # encircles a pole (winding 360°): leave untouched
    out = coords.copy()
    out[:, 0] = new_lon
    return out


def _unwrap_polygon(poly: Polygon) -> Polygon:
    shell = _unwrap_ring(np.asarray(poly.exterior.coords))
    if shell is None:
        return poly  # no jump in the shell (or a polar ring): keep as drawn
    holes = []
    centre = shell[:, 0].mean()
    for ring in poly.interiors:
        coords = np.asarray(ring.coords)
        h = _unwrap_ring(coords)
        h = coords.copy() if h is None else h
        h[:, 0] += 360.0 * np.round((centre - h[:, 0].mean()) / 360.0)
        holes.append(h)
    return Polygon(shell, holes)


def _wrap_geometry(geom: BaseGeometry | None) -> BaseGeometry | None:
    if geom is None or geom.is_empty:
        return geom
    parts = _polygon_parts(geom)
    if not parts:
        return geom
    unwrapped = [_unwrap_polygon(p) for p in parts]
    moved = any(u is not p for u, p in zip(unwrapped, parts, strict=True))
    xmin = min(u.bounds[0] for u in unwrapped)
    xmax = max(u.bounds[2] for u in unwrapped)
    if not moved and xmin >= -180.0 and xmax <= 180.0:
        return geom
    pieces: list[Polygon] = []
    for u in unwrapped:
        lo, hi = u.bounds[0], u.bounds[2]
        for k in range(
            int(np.floor((lo + 180.0) / 360.0)), int(np.floor((hi + 180.0) / 360.0)) + 1
        ):
            window = shapely.box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0)
            piece = (
                u.intersection(window) if (lo < window.bounds[0] or hi > window.bounds[2]) else u
            )
            piece = shapely.affinity.translate(piece, xoff=-360.0 * k) if k else piece
            pieces.extend(_polygon_parts(piece))
    if not pieces:
        return geom
    merged = shapely.union_all(pieces)
    parts_out = _polygon_parts(merged)
    return parts_out[0] if len(parts_out) == 1 else MultiPolygon(parts_out)


def _finalise(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Common checks of every region set (see the module docstring)."""
    if len(gdf) == 0:
        raise SchemaError(
            f"{source}: no regions (empty polygon set)", hint="give a file with polygons"
        )
    if gdf.crs is None:
        raise CRSError(
            f"{source}: regions have no CRS",
            hint="set it: gdf.set_crs('EPSG:4326') for lon/lat degrees (or restore the .prj file)",
        )
    notes = list(gdf.attrs.get("notes", []))
    if not gdf.crs.equals("EPSG:4326"):
        notes.append(f"reprojected from {gdf.crs.to_string()} to EPSG:4326")
        gdf = gdf.to_crs("EPSG:4326")
    ids = gdf["region_id"]
    if ids.isna().any():
        raise SchemaError(
            f"{source}: {int(ids.isna().sum())} region(s) without region_id",
            hint="fill the id column or choose another one",
        )
    dup = sorted(set(ids[ids.duplicated()].astype(str)))
    if dup:
        raise SchemaError(
            f"{source}: duplicated region_id: {', '.join(dup[:20])}"
            + (f" (+{len(dup) - 20} more)" if len(dup) > 20 else ""),
            hint="make the id column unique (or dissolve the duplicated units first)",
        )
    types = set(gdf.geometry.dropna().geom_type)
    if types - {"Polygon", "MultiPolygon"}:
        raise SchemaError(
            f"{source}: non-polygon geometries ({', '.join(sorted(types))})",
            hint="regions must be polygons or multipolygons",
        )
    gdf = gdf.copy()
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna()
    repaired = list(gdf.attrs.get("repaired", []))
    if invalid.any():
        geoms = gdf.geometry.copy()
        geoms[invalid] = geoms[invalid].apply(_make_valid_polygonal)
        gdf[gdf.geometry.name] = geoms
        repaired += gdf.loc[invalid, "region_id"].astype(str).tolist()
    gdf = split_antimeridian(gdf)
    wrapped = gdf.loc[gdf.attrs.get("antimeridian_split", []), "region_id"].astype(str).tolist()
    gdf = gdf.reset_index(drop=True)
    gdf.attrs.update(
        {"notes": notes, "repaired": repaired, "source_path": source, "antimeridian_split": wrapped}
    )
    return gdf
