"""Region covariates: the population-weighted latitude, from a population grid or city points.

:func:`grid_weighted_latitude` uses the population grid of the population-weighted
exposures (GPW v4.11 by default) with the same exact weights (covered fraction × people
per cell); :func:`population_weighted_latitude` is the fallback from city points when
no grid is available (the built-in sample).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_ms.errors import SchemaError
from geo_ms.exposures.zonal import points_in_regions

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["grid_weighted_latitude", "population_weighted_latitude"]


def population_weighted_latitude(regions: gpd.GeoDataFrame, cities: pd.DataFrame) -> pd.Series:
    """Population-weighted absolute latitude of each region from city points.

    ``abs_latitude_popw = Σ pop·|lat| / Σ pop`` over the cities of the region
    (``|lat|`` per city, so that countries straddling the equator get their mean
    distance from it). A city belongs to the first region whose polygon covers it
    (border included), the rule of the population-weighted exposures
    (:func:`geo_ms.exposures.zonal.points_in_regions`). Regions without cities get NaN and are listed in
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
    >>> cities = pd.DataFrame({"lat": [-6.0, 2.0, 4.0], "lon": [5.0, 5.0, 20.0],
    ...                        "population": [100, 300, 100]})
    >>> population_weighted_latitude(reg, cities).tolist()  # (20, 4) is on B's border
    [3.0, 4.0]
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
    lat = np.asarray(cities["lat"], dtype=float)
    lon = np.asarray(cities["lon"], dtype=float)
    pop = pd.to_numeric(cities["population"], errors="coerce").to_numpy(float)
    ok = np.flatnonzero((pop > 0) & np.isfinite(lat) & np.isfinite(lon))
    reg = regions[["region_id", regions.geometry.name]].reset_index(drop=True)
    if reg.crs is not None and not reg.crs.equals("EPSG:4326"):
        reg = reg.to_crs("EPSG:4326")
    # the same point-in-polygon rule as the population-weighted exposures (covers, first
    # region), so that a city on a border weights both in the same region
    pi, ri = points_in_regions(gpd.points_from_xy(lon[ok], lat[ok]), reg.geometry.to_numpy())
    w = pop[ok][pi]
    joined = pd.DataFrame({"region_id": reg["region_id"].to_numpy()[ri],
                           "w": w * np.abs(lat[ok][pi]), "population": w})
    sums = joined.groupby("region_id")[["w", "population"]].sum()
    value = (sums["w"] / sums["population"]).reindex(regions["region_id"].to_numpy())
    value.index.name = "region_id"
    value.name = "abs_latitude_popw"
    value.attrs["no_city_regions"] = value.index[value.isna()].tolist()
    return value


def grid_weighted_latitude(regions: gpd.GeoDataFrame, population: xr.DataArray, *,
                           cache_dir: Any = None) -> pd.Series:
    """Population-weighted absolute latitude of each region from a population grid.

    ``abs_latitude_popw = Σ f·P·|φ| / Σ f·P`` over the grid cells a region touches, with
    ``f`` the covered fraction of the cell (exactextract), ``P`` its population count
    and ``φ`` the latitude of its centre: the weights of the ``*_popw`` exposures
    (:func:`geo_ms.exposures.zonal.zonal_mean` with ``weights=population``). Regions
    whose cells hold nobody get NaN, listed in ``attrs["no_population_regions"]``.

    Parameters
    ----------
    regions
        Canonical regions (``region_id``, geometry, EPSG:4326).
    population
        Persons per cell, canonical ``(lat, lon)`` raster (snapped to its grid first,
        :func:`geo_ms.exposures.aggregate.snap_grid`).
    cache_dir
        Where the coverage weights of the grid are cached.

    Returns
    -------
    pandas.Series
        Named ``abs_latitude_popw``, indexed by ``region_id``.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, rioxarray, shapely, xarray as xr
    >>> pop = xr.DataArray(np.array([[0.0, 300.0], [100.0, 0.0]]), dims=("lat", "lon"),
    ...                    coords={"lat": [10.5, 9.5], "lon": [0.5, 1.5]}).rio.write_crs(4326)
    >>> reg = gpd.GeoDataFrame({"region_id": ["A"]}, geometry=[shapely.box(0, 9, 2, 11)],
    ...                        crs="EPSG:4326")
    >>> grid_weighted_latitude(reg, pop).round(6).tolist()  # (300·10.5 + 100·9.5) / 400
    [10.25]
    """
    import xarray as xr

    from geo_ms.exposures.aggregate import snap_grid
    from geo_ms.exposures.zonal import zonal_mean

    pop = snap_grid(population)
    if pop.rio.crs is None:
        pop = pop.rio.write_crs("EPSG:4326")
    lat = np.abs(np.asarray(pop["lat"].values, dtype=float))
    field = xr.DataArray(np.broadcast_to(lat[:, None], (pop.sizes["lat"], pop.sizes["lon"])).copy(),
                         dims=("lat", "lon"), coords={"lat": pop["lat"], "lon": pop["lon"]},
                         name="abs_latitude_popw").rio.write_crs(pop.rio.crs)
    field = field.transpose("lat", "lon")
    out = zonal_mean(field, regions, weights=pop.transpose("lat", "lon"), cache_dir=cache_dir)
    value = out["abs_latitude_popw"].reindex(regions["region_id"].to_numpy()).astype(float)
    value.index.name = "region_id"
    value.name = "abs_latitude_popw"
    value.attrs["no_population_regions"] = value.index[value.isna()].tolist()
    return value
