"""Region sets: Natural Earth countries and states, user polygons.

Every function here returns the canonical region form (``docs/architecture.md``): a
:class:`geopandas.GeoDataFrame` in EPSG:4326 with a unique ``region_id`` column,
``name`` and covariate columns. The common checks are:

* no CRS → :class:`~geo_ms.errors.CRSError`; a projected CRS is reprojected to
  EPSG:4326 and noted in ``gdf.attrs["notes"]``;
* duplicated ``region_id`` → :class:`~geo_ms.errors.SchemaError` listing them;
* invalid geometries are repaired with :func:`shapely.make_valid` and their ids listed
  in ``gdf.attrs["repaired"]``;
* polygons reaching beyond ±180° longitude are wrapped by
  :func:`geo_ms.exposures.antimeridian.split_antimeridian`.

The geometry rules live beside this module: :mod:`~geo_ms.exposures.antimeridian`
(split/wrap/unwrap), :mod:`~geo_ms.exposures.territory` (main-territory rule) and
:mod:`~geo_ms.exposures.covariates` (population-weighted latitude); their public names
are re-exported here.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from geo_ms.errors import CRSError, FormatError, SchemaError
from geo_ms.exposures.antimeridian import _polygon_parts, split_antimeridian
from geo_ms.exposures.covariates import population_weighted_latitude
from geo_ms.exposures.territory import MAIN_TERRITORY_KM, _largest_part, main_territory_parts
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
        ``region_id``, ``name``, the file's other columns, ``label_x``, ``label_y``
        (the largest part's inner point) and ``abs_latitude`` (``|label_y|``) unless
        the file has them, geometry; EPSG:4326.

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
    ids = out[id_column].astype(str)
    name = out[name_column].astype(str) if name_column else ids
    # the id and name columns become region_id and name (also when already so called)
    out = out.drop(columns=[c for c in ("region_id", "name") if c in out.columns])
    out.insert(0, "region_id", ids.to_numpy())
    out.insert(1, "name", name.to_numpy())
    out = _finalise(gpd.GeoDataFrame(out, geometry="geometry", crs=gdf.crs), label)
    if not {"label_x", "label_y"} <= set(out.columns):
        # label points (the largest part's inner point), as for countries and admin-1:
        # the spatial models, Dutilleul's n_eff and the latitude adjustment need them
        pts = [_largest_part(g).representative_point() if g is not None and not g.is_empty
               else None for g in out.geometry]
        out["label_x"] = [p.x if p is not None else np.nan for p in pts]
        out["label_y"] = [p.y if p is not None else np.nan for p in pts]
    if "abs_latitude" not in out.columns:
        out["abs_latitude"] = np.abs(pd.to_numeric(out["label_y"], errors="coerce"))
    return out


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



def _make_valid_polygonal(geom: BaseGeometry) -> BaseGeometry:
    fixed = shapely.make_valid(geom)
    parts = _polygon_parts(fixed)
    if not parts:
        return fixed
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)



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
