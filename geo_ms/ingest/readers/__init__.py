"""Readers: each public product's own format → one canonical form.

Rasters become an :class:`xarray.DataArray` (see ``docs/architecture.md``), tables a
tidy :class:`pandas.DataFrame`, boundaries a :class:`geopandas.GeoDataFrame`.
Submodules are imported lazily so that ``import geo_ms.ingest.readers`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    # rasters
    "read_ipcc_ddc_grid": "ipcc",
    "read_cf_netcdf": "netcdf",
    "read_cru_ts": "netcdf",
    "read_temis": "netcdf",
    "read_ncep_gaussian": "netcdf",
    "read_merra2_gsee": "netcdf",
    "read_omi_omuvbd": "hdfeos",
    "read_neo_geotiff": "geotiff",
    "read_geotiff": "geotiff",
    "read_modis_cloud_json": "modis_json",
    # tables
    "read_gbd_ddf": "gbd",
    "read_gbd_results_csv": "gbd",
    "gbd_crosswalk": "gbd",
    "read_prevalence_table": "prevalence",
    "read_atlas": "atlas",
    "read_atlas_2008": "atlas",
    "read_atlas_2013": "atlas",
    "read_atlas_2020": "atlas",
    "read_sunshine_cities": "points",
    "read_geonames_cities": "points",
    "read_natural_earth": "boundaries",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"geo_ms.ingest.readers.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'geo_ms.ingest.readers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
