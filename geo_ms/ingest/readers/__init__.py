"""Readers: each public product's own format → one canonical form.

Rasters become an :class:`xarray.DataArray` (see ``docs/architecture.md``), tables a
tidy :class:`pandas.DataFrame`, boundaries a :class:`geopandas.GeoDataFrame`.
Submodules are imported lazily so that ``import geo_ms.ingest.readers`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Every reader: name → (submodule, what it returns). The catalog's reader names come
#: from here (:data:`geo_ms.ingest.catalog.READERS`). ``raster`` readers take one file
#: and return a canonical :class:`xarray.DataArray`; ``rasters`` readers take a list of
#: files (one per month) and return one; ``dataset`` readers return an
#: :class:`xarray.Dataset`; ``table``/``points``/``boundaries`` readers a data frame.
READERS: dict[str, tuple[str, str]] = {
    # rasters
    "read_ipcc_ddc_grid": ("ipcc", "raster"),
    "read_cf_netcdf": ("netcdf", "raster"),
    "read_cru_ts": ("netcdf", "raster"),
    "read_temis": ("netcdf", "raster"),
    "read_ncep_gaussian": ("netcdf", "raster"),
    "read_merra2_gsee": ("netcdf", "raster"),
    "read_omi_omuvbd": ("hdfeos", "dataset"),
    "read_neo_geotiff": ("geotiff", "rasters"),
    "read_geotiff": ("geotiff", "raster"),
    "read_modis_cloud_json": ("modis_json", "raster"),
    "read_user_raster": ("user_raster", "raster"),
    # tables
    "read_gbd_ddf": ("gbd", "table"),
    "read_gbd_results_csv": ("gbd", "table"),
    "read_prevalence_table": ("prevalence", "table"),
    "read_atlas_2008": ("atlas", "table"),
    "read_atlas_2013": ("atlas", "table"),
    "read_atlas_2020": ("atlas", "table"),
    "read_sunshine_cities": ("points", "points"),
    "read_geonames_cities": ("points", "points"),
    "read_natural_earth": ("boundaries", "boundaries"),
    # country covariates
    "read_world_migration_matrix": ("ancestry", "table"),
    "read_wdi_csv": ("worldbank", "table"),
    "read_undesa_migrant_stock": ("undesa", "table"),
}

_WHERE = {name: module for name, (module, _) in READERS.items()} | {"gbd_crosswalk": "gbd", "read_atlas": "atlas"}

__all__ = [
    "READERS",
    "gbd_crosswalk",
    "read_atlas",
    "read_atlas_2008",
    "read_atlas_2013",
    "read_atlas_2020",
    "read_cf_netcdf",
    "read_cru_ts",
    "read_gbd_ddf",
    "read_gbd_results_csv",
    "read_geonames_cities",
    "read_geotiff",
    "read_ipcc_ddc_grid",
    "read_merra2_gsee",
    "read_modis_cloud_json",
    "read_natural_earth",
    "read_ncep_gaussian",
    "read_neo_geotiff",
    "read_omi_omuvbd",
    "read_prevalence_table",
    "read_sunshine_cities",
    "read_temis",
    "read_undesa_migrant_stock",
    "read_user_raster",
    "read_wdi_csv",
    "read_world_migration_matrix",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"geo_ms.ingest.readers.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'geo_ms.ingest.readers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
