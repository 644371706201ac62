"""Models: does MS prevalence follow cloud cover / UV across regions?

Input is the joined analysis table (``docs/architecture.md``); the outcome is the
natural log of prevalence per 100,000. Output is one tidy table, one row per
estimate, with the columns of :data:`MODEL_COLUMNS`:

- :mod:`~geo_ms.models.correlation` — Pearson / Spearman with bootstrap CIs;
- :mod:`~geo_ms.models.regression` — crude and adjusted OLS (HC3), partial
  correlations, VIFs;
- :mod:`~geo_ms.models.spatial` — residual Moran's I, LM tests, spatial error /
  lag models on great-circle kNN weights;
- :mod:`~geo_ms.models.sensitivity` — subsets, outcome variants, exposure
  variants, leave-one-out influence;
- :mod:`~geo_ms.models.claims` — the article's claims with explicit verdict rules.

:func:`fit_all` runs everything for a configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from geo_ms.errors import ConfigError, SchemaError
from geo_ms.models._table import (
    MODEL_COLUMNS,
    MODEL_NAMES,
    detect_exposures,
    rows_to_frame,
    select_subset,
)
from geo_ms.models.claims import (
    VERDICTS,
    claims_table,
    verdict_for_adjusted,
    verdict_for_correlation,
)
from geo_ms.models.correlation import correlations, pearson_p
from geo_ms.models.regression import fit_ols, partial_correlation, regressions, with_residuals
from geo_ms.models.sensitivity import expand_exposures, loo_influence, sensitivity
from geo_ms.models.spatial import fit_spatial, knn_weights, spatial

__all__ = [
    "MODEL_COLUMNS",
    "MODEL_NAMES",
    "VERDICTS",
    "claims_table",
    "correlations",
    "fit_all",
    "fit_ols",
    "fit_spatial",
    "knn_weights",
    "loo_influence",
    "partial_correlation",
    "pearson_p",
    "regressions",
    "sensitivity",
    "spatial",
    "verdict_for_adjusted",
    "verdict_for_correlation",
    "with_residuals",
]

log = logging.getLogger("geo_ms.models")

#: Defaults of the ``[models]`` section used by :func:`fit_all`.
_DEFAULTS: dict[str, Any] = {
    "outcome": "prevalence_per_100k",
    "n_boot": 2000,
    "seed": 20161,
    "knn": 6,
    "min_subset": 15,
    "min_regions": 10,
    "permutations": 999,
    "exposures": None,
}


def _settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    section: Mapping[str, Any] = {}
    if config is not None:
        section = config.get("models", config) if isinstance(config, Mapping) else {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"configuration: [models] must be a table, got {section!r}",
                              hint="Write [models] followed by key = value lines")
    out = dict(_DEFAULTS)
    out.update({k: v for k, v in section.items() if k in _DEFAULTS})
    return out


def fit_all(
    df: pd.DataFrame,
    config: Mapping[str, Any] | None = None,
    *,
    exposures: Sequence[str] | None = None,
    spatial_subsets: Sequence[str] = ("all",),
) -> pd.DataFrame:
    """Fit every model and sensitivity analysis; return the tidy models table.

    Parameters
    ----------
    df
        The joined analysis table (one row per region).
    config
        The full configuration (``geo_ms.config.load_config()``) or just its
        ``[models]`` section: ``outcome``, ``n_boot``, ``seed``, ``knn`` (neighbours
        of the spatial weights), ``min_subset`` (regions a continent needs to be a
        subset); optional ``min_regions`` (default 10), ``permutations`` (999) and
        ``exposures``. ``None`` uses these defaults.
    exposures
        Exposure columns (default: ``config`` ``exposures``, else every cloud / UV
        column found by name, see ``detect_exposures``); their ``_winter`` /
        ``_popw`` variants are added.
    spatial_subsets
        Subsets on which the spatial diagnostics and models run.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MODEL_COLUMNS`; ``model`` in :data:`MODEL_NAMES`. Subsets
        and exposures with fewer than ``min_regions`` complete regions are skipped
        (logged), as are estimates that could not be computed.

    Raises
    ------
    SchemaError
        No exposure column, or a column the models need is missing.
    """
    cfg = _settings(config)
    if exposures is None:
        exposures = cfg["exposures"] or detect_exposures(df)
    if not exposures:
        raise SchemaError(
            "analysis table: no exposure column (cloud_*, uv_*, vitd_*, ghi*, sunshine*)",
            hint="Add exposures with geo_ms.exposures.aggregate, or pass exposures=[...] to fit_all",
        )
    outcome = cfg["outcome"]
    base = [e for e in exposures if e in df.columns]
    missing = [e for e in exposures if e not in df.columns]
    if missing:
        log.info("exposures not in the table, skipped: %s", ", ".join(missing))
    if not base:
        raise SchemaError(
            f"analysis table: none of the exposure columns {', '.join(exposures)} is present",
            hint="Check the exposure names against the table's columns",
        )
    parts = [
        sensitivity(df, base, outcome, n_boot=int(cfg["n_boot"]), seed=int(cfg["seed"]),
                    min_regions=int(cfg["min_regions"]), min_continent=int(cfg["min_subset"]))
    ]
    if not {"lon", "lat"} <= set(df.columns):
        log.warning("analysis table has no lon/lat label points: spatial models skipped")
        spatial_subsets = ()
    for subset in spatial_subsets:
        data = select_subset(df, subset)
        for e in expand_exposures(df, base):
            n_ok = int((pd.to_numeric(data[outcome], errors="coerce").notna()
                        & pd.to_numeric(data[e], errors="coerce").notna()).sum())
            if n_ok < max(int(cfg["min_regions"]), int(cfg["knn"]) + 2):
                log.info("spatial %s (%s) skipped: %d complete region(s)", e, subset, n_ok)
                continue
            parts.append(spatial(df, e, k=int(cfg["knn"]), outcome=outcome, subset=subset,
                                 permutations=int(cfg["permutations"]), seed=int(cfg["seed"])))
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True) if parts else rows_to_frame([])
    bad = table["estimate"].isna()
    if bad.any():
        for _, r in table[bad].iterrows():
            log.info("no estimate for %s / %s / %s (%s): dropped", r["model"], r["subset"],
                     r["exposure"], r["note"])
        table = table[~bad].reset_index(drop=True)
    table = table.drop_duplicates(subset=["model", "subset", "exposure", "outcome"],
                                  keep="first").reset_index(drop=True)
    return table
