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
- :mod:`~geo_ms.models.spatial_ci` — spatially corrected correlation CIs
  (Dutilleul's effective sample size);
- :mod:`~geo_ms.models.confounding` — sub-region fixed effects with clustered SEs,
  cloud effects in % per 10 points;
- :mod:`~geo_ms.models.mechanism` — clear-sky vs all-sky vitamin-D dose;
- :mod:`~geo_ms.models.primary` — the pre-specified primary analysis, roles and
  Benjamini–Hochberg q-values;
- :mod:`~geo_ms.models.verdicts` — the verdict rules;
- :mod:`~geo_ms.models.plan` — the analysis plan as data (``[[claims]]``, ``[robustness]``);
- :mod:`~geo_ms.models.registry` — one function per test of the plan;
- :mod:`~geo_ms.models.robustness` — the robustness members and influential regions;
- :mod:`~geo_ms.models.run_plan` — every claim on both co-primary outcomes and their
  samples, robust or fragile, and the triangulation across MS outcomes.

:func:`fit_all` runs everything for a configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from geo_ms.errors import ConfigError, SchemaError
from geo_ms.models._table import (
    LOG_GDP,
    MODEL_COLUMNS,
    MODEL_NAMES,
    detect_exposures,
    rows_to_frame,
    select_subset,
)
from geo_ms.models.adjust import adjustment_set, residualise
from geo_ms.models.confounding import fixed_effects, pct_per10_rows
from geo_ms.models.correlation import correlations, pearson_p
from geo_ms.models.mechanism import mechanism_test
from geo_ms.models.primary import (
    PrimarySpec,
    annotate_models,
    claim_estimate,
    primary_outcome_column,
    primary_spec,
)
from geo_ms.models.regression import fit_ols, partial_correlation, regressions, with_residuals
from geo_ms.models.run_plan import run_plan
from geo_ms.models.sensitivity import expand_exposures, loo_influence, sensitivity
from geo_ms.models.spatial import fit_spatial, knn_weights, spatial
from geo_ms.models.verdicts import VERDICTS, confounding_verdict, directional_verdict

__all__ = [
    "MODEL_COLUMNS",
    "MODEL_NAMES",
    "VERDICTS",
    "PrimarySpec",
    "adjustment_set",
    "annotate_models",
    "claim_estimate",
    "confounding_verdict",
    "correlations",
    "directional_verdict",
    "fit_all",
    "fit_ols",
    "fit_spatial",
    "fixed_effects",
    "knn_weights",
    "loo_influence",
    "mechanism_test",
    "partial_correlation",
    "pct_per10_rows",
    "pearson_p",
    "primary_outcome_column",
    "primary_spec",
    "regressions",
    "residualise",
    "run_plan",
    "sensitivity",
    "spatial",
    "with_residuals",
]

log = logging.getLogger("geo_ms.models")

#: Defaults of the ``[models]`` section used by :func:`fit_all`.
_DEFAULTS: dict[str, Any] = {
    "n_boot": 2000,
    "seed": 20161,
    "knn": 6,
    "min_subset": 15,
    "min_regions": 10,
    "permutations": 999,
    "exposures": None,
    "extra_covariates": [],
    "fixed_effects": "subregion",
    "spatial_ml_max_n": 2000,
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
    spec: PrimarySpec | None = None,
    outcome: str | None = None,
    mechanism: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Fit every model and sensitivity analysis; return the tidy models table.

    Parameters
    ----------
    df
        The joined analysis table (one row per region).
    config
        The full configuration (``geo_ms.config.load_config()``) or just its
        ``[models]`` section: ``n_boot``, ``seed``, ``knn`` (neighbours
        of the spatial weights), ``min_subset`` (regions a continent needs to be a
        subset); optional ``min_regions`` (default 10), ``permutations`` (999),
        ``spatial_ml_max_n`` (2,000: above it the ML spatial models are skipped, see
        :mod:`~geo_ms.models.spatial`) and ``exposures``. ``None`` uses these defaults.
    exposures
        Exposure columns (default: ``config`` ``exposures``, else every cloud / UV
        column found by name, see ``detect_exposures``); their ``_winter`` /
        ``_popw`` variants are added.
    spatial_subsets
        Subsets on which the spatial diagnostics and models run.
    spec
        The pre-specified primary analysis (default: from *config*); marks the
        primary rows.
    outcome
        Outcome column (default: the primary outcome's,
        :func:`~geo_ms.models.primary.primary_outcome_column`).
    mechanism
        A :func:`mechanism_test` result already computed on *outcome* (computed here
        when None).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MODEL_COLUMNS` plus ``role`` and ``q_value``
        (:func:`annotate_models`); ``model`` in :data:`MODEL_NAMES`. Subsets
        and exposures with fewer than ``min_regions`` complete regions are skipped
        (logged), as are estimates that could not be computed. Besides the
        sensitivity and spatial rows: sub-region fixed effects
        (``ols_adj_lat_gdp_fe``) of each base exposure, ``pct_per10_adj`` rows of
        the adjusted cloud coefficients and the mechanism comparison.

    Raises
    ------
    SchemaError
        No exposure column, or a column the models need is missing.
    """
    cfg = _settings(config)
    # one block per dtype: the thousands of row selections below take a few blocks, not
    # one per column (pandas' copy consolidates; a joined table has a block per column)
    df = df.copy()
    if exposures is None:
        exposures = cfg["exposures"] or detect_exposures(df)
    if not exposures:
        raise SchemaError(
            "analysis table: no exposure column (cloud_*, uv_*, vitd_*, ghi*, sunshine*)",
            hint="Add exposures with geo_ms.exposures.aggregate, or pass exposures=[...] to fit_all",
        )
    base = [e for e in exposures if e in df.columns]
    missing = [e for e in exposures if e not in df.columns]
    if missing:
        log.info("exposures not in the table, skipped: %s", ", ".join(missing))
    if not base:
        raise SchemaError(
            f"analysis table: none of the exposure columns {', '.join(exposures)} is present",
            hint="Check the exposure names against the table's columns",
        )
    if spec is None:
        full = config if isinstance(config, Mapping) and "models" in config else {
            "models": dict(config or {})}
        spec = primary_spec(full)
    if outcome is None:
        outcome = primary_outcome_column(df, spec.outcome)
    extra = [c for c in (cfg["extra_covariates"] or []) if c in df.columns]
    parts = [
        sensitivity(df, base, outcome, n_boot=int(cfg["n_boot"]), seed=int(cfg["seed"]),
                    min_regions=int(cfg["min_regions"]), min_continent=int(cfg["min_subset"]),
                    extra_covariates=extra)
    ]
    if cfg["fixed_effects"]:
        for e in base:
            try:
                parts.append(fixed_effects(df, e, outcome, group=cfg["fixed_effects"],
                                           extra_covariates=extra))
            except SchemaError as exc:
                log.info("fixed effects of %s skipped: %s", e, exc)
    mech = mechanism if mechanism is not None else mechanism_test(
        df, outcome, min_regions=int(cfg["min_regions"]), extra_covariates=extra)
    if mech is not None:
        parts.append(mech["rows"])
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
            covs = tuple(c for c in adjustment_set(df, e, extra=extra)
                         if c in df.columns or (c == LOG_GDP and "gdp_per_capita" in df.columns))
            parts.append(spatial(df, e, k=int(cfg["knn"]), outcome=outcome, subset=subset,
                                 covariates=covs, permutations=int(cfg["permutations"]),
                                 seed=int(cfg["seed"]), ml_max_n=int(cfg["spatial_ml_max_n"])))
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True) if parts else rows_to_frame([])
    # a NaN estimate is dropped, except the rows saying a model was skipped for size
    skipped = table["model"].isin(("spatial_error", "spatial_lag")) & table["note"].str.contains(
        "skipped", regex=False)
    bad = table["estimate"].isna() & ~skipped
    if bad.any():
        for _, r in table[bad].iterrows():
            log.info("no estimate for %s / %s / %s (%s): dropped", r["model"], r["subset"],
                     r["exposure"], r["note"])
        table = table[~bad].reset_index(drop=True)
    table = pd.concat([table, pct_per10_rows(table)], ignore_index=True)
    table = table.drop_duplicates(subset=["model", "subset", "exposure", "outcome"],
                                  keep="first").reset_index(drop=True)
    from geo_ms.models._table import log_outcome_name

    return annotate_models(table, spec, log_outcome_name(outcome))
