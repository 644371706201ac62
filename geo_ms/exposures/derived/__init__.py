"""Derived exposures: all-sky UV from clear-sky UV and cloud cover, cloudiness from GHI.

Three families, each citing its method in its docstring:

* **all-sky UV** — :func:`cloud_modification_factor` (CMF of total cloud cover,
  Kasten & Czeplak 1980 power law by default) and :func:`all_sky_uv` (TEMIS
  clear-sky vitamin-D dose x CMF of CRU cloud cover, on the cloud grid).
* **OMI agreement** — :func:`omi_allsky_ratio` (all-sky / clear-sky erythemal
  daily dose of one OMI OMUVBd day) and :func:`omi_cmf_agreement` (how well the
  CMF predicted from a climatological cloud cover matches that ratio over land).
* **cloudiness from solar radiation** — :func:`clear_sky_ghi` (pvlib Ineichen-Perez
  clear-sky GHI, monthly mean of daily means) and :func:`sunshine_cloudiness`
  (1 - all-sky / clear-sky GHI, the Heliosat cloud index).

Inputs are canonical DataArrays (``docs/architecture.md``); outputs are canonical
too (``name``, ``attrs`` units/long_name/source, CRS EPSG:4326).
"""

from __future__ import annotations

from geo_ms.exposures.derived.allsky_uv import CMF_METHODS, all_sky_uv, cloud_modification_factor
from geo_ms.exposures.derived.omi import omi_allsky_ratio, omi_cmf_agreement
from geo_ms.exposures.derived.sunshine import clear_sky_ghi, sunshine_cloudiness

__all__ = [
    "CMF_METHODS",
    "all_sky_uv",
    "clear_sky_ghi",
    "cloud_modification_factor",
    "omi_allsky_ratio",
    "omi_cmf_agreement",
    "sunshine_cloudiness",
]
