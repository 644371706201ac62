"""Stage 5, the pipeline: cached stages chained into one run.

:mod:`~geo_ms.pipeline.cache` (stage keys and the cache folder) →
:mod:`~geo_ms.pipeline.stages` (regions, prevalence, exposures, join, models,
report) → :mod:`~geo_ms.pipeline.run` (:func:`run`, :func:`run_exposures`: lock,
sample switch, run log).
"""

from __future__ import annotations

from geo_ms.pipeline.cache import RunContext, RunResult
from geo_ms.pipeline.run import run, run_exposures

__all__ = ["RunContext", "RunResult", "run", "run_exposures"]
