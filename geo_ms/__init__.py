"""geo_ms: the geospatial epidemiology of multiple sclerosis with public data.

The package follows the data's way: :mod:`geo_ms.catalog` and :mod:`geo_ms.fetch`
(public datasets, verified downloads) → :mod:`geo_ms.readers` (each product's own
format) → :mod:`geo_ms.regions` and :mod:`geo_ms.exposures` (zonal statistics) →
:mod:`geo_ms.models` → :mod:`geo_ms.report` → :mod:`geo_ms.pipeline` and
:mod:`geo_ms.cli`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
