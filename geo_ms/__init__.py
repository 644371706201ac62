"""geo_ms: the geospatial epidemiology of multiple sclerosis with public data.

The package follows the data's way, one sub-package per stage, imports running only
down the list:

1. :mod:`geo_ms.ingest` — catalog, verified fetching, readers, ``load_raster(id)``;
2. :mod:`geo_ms.exposures` — regions, coverage weights, zonal statistics,
   climatology, derived fields, the per-region exposure table;
3. :mod:`geo_ms.models` — correlations, regressions, spatial models, claims;
4. :mod:`geo_ms.report` — figures, the HTML/Markdown report, the interactive map;
5. :mod:`geo_ms.pipeline` — cached stages and :func:`~geo_ms.pipeline.run`; with
   :mod:`geo_ms.config` and :mod:`geo_ms.cli` on top.

:mod:`geo_ms.errors` and :mod:`geo_ms._io` are the ground floor every stage may use.
The functions the README and notebooks use are importable from here.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_WHERE = {
    "load_raster": "geo_ms.ingest.datasets",
    "load_gbd": "geo_ms.ingest.datasets",
    "load_prevalence": "geo_ms.ingest.datasets",
    "list_datasets": "geo_ms.ingest.catalog",
    "load_regions": "geo_ms.exposures.compute",
    "compute_exposures": "geo_ms.exposures.compute",
    "exposure_specs": "geo_ms.exposures.compute",
    "zonal_mean": "geo_ms.exposures.zonal",
    "annual_mean": "geo_ms.exposures.climatology",
    "fit_all": "geo_ms.models",
    "run_plan": "geo_ms.models",
    "load_config": "geo_ms.config",
    "run": "geo_ms.pipeline.run",
}

__all__ = [
    "__version__",
    "annual_mean",
    "compute_exposures",
    "exposure_specs",
    "fit_all",
    "list_datasets",
    "load_config",
    "load_gbd",
    "load_prevalence",
    "load_raster",
    "load_regions",
    "run",
    "run_plan",
    "zonal_mean",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'geo_ms' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
