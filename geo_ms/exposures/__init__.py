"""Stage 2, exposures: regions, coverage weights, zonal statistics, climatology, derived fields.

:mod:`~geo_ms.exposures.regions` (countries, admin-1, user polygons; with
:mod:`~geo_ms.exposures.antimeridian`, :mod:`~geo_ms.exposures.territory`,
:mod:`~geo_ms.exposures.covariates`) →
:mod:`~geo_ms.exposures.weights` (cached exact coverage × spherical-area weights) and
:mod:`~geo_ms.exposures.zonal` (exactextract) → :mod:`~geo_ms.exposures.climatology`
(annual, seasonal, monthly windows) and :mod:`~geo_ms.exposures.derived` (all-sky UV,
sunshine cloudiness) → :mod:`~geo_ms.exposures.aggregate` (the exposure registry and
per-region table) → :mod:`~geo_ms.exposures.compute` (the one path the pipeline, CLI
and notebooks use). :mod:`~geo_ms.exposures.dask_backend` runs the same sums on a
dask cluster.

Imports only from :mod:`geo_ms.ingest` and the package root, never from models,
report or pipeline.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "EXPOSURES": "aggregate",
    "aggregate_fields": "aggregate",
    "annual_mean": "climatology",
    "compute_exposures": "compute",
    "countries": "regions",
    "exposure_fields": "aggregate",
    "exposure_specs": "compute",
    "load_regions": "compute",
    "zonal_mean": "zonal",
}

__all__ = [
    "EXPOSURES",
    "aggregate_fields",
    "annual_mean",
    "compute_exposures",
    "countries",
    "exposure_fields",
    "exposure_specs",
    "load_regions",
    "zonal_mean",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"geo_ms.exposures.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'geo_ms.exposures' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
