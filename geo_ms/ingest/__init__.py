"""Stage 1, ingest: the catalog of public datasets, verified fetching, and readers.

:mod:`~geo_ms.ingest.catalog` (one TOML entry per dataset: URL, sha256, licence,
citation, reader) → :mod:`~geo_ms.ingest.fetch` (package, cache, data mirror or pooch
download, hash-checked; ``unpack`` puts archives once into ``data/raw/<id>/`` through
:mod:`~geo_ms.ingest.archive`'s safe extraction, hash-checked on reuse) →
:mod:`~geo_ms.ingest.readers` (each product's own format → one canonical form) →
:mod:`~geo_ms.ingest.datasets` (``load_raster(id)`` and the other loaders: the
catalog's reader for the copy obtained) and :mod:`~geo_ms.ingest.outcome_table`
(``load_outcomes(cfg)``: the ``ms_<id>`` columns of the outcomes registered in
:mod:`~geo_ms.ingest.outcomes`).

This package imports nothing from the later stages (exposures, models, report,
pipeline).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "get_dataset": "catalog",
    "list_datasets": "catalog",
    "fetch": "fetch",
    "load_boundaries": "datasets",
    "load_gbd": "datasets",
    "load_outcomes": "outcome_table",
    "load_prevalence": "datasets",
    "load_raster": "datasets",
}

__all__ = [
    "fetch",
    "get_dataset",
    "list_datasets",
    "load_boundaries",
    "load_gbd",
    "load_outcomes",
    "load_prevalence",
    "load_raster",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"geo_ms.ingest.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'geo_ms.ingest' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
