"""The claims table: each claim of the article, its pre-specified test, a verdict.

Each claim is judged by its primary test (:mod:`~geo_ms.models.primary`) under a
rule of :mod:`~geo_ms.models.verdicts`, stated in the ``rule`` column:

- **C1** cloudier countries have more MS — Pearson r, directional rule;
- **C2** less UV goes with more MS — Pearson r, directional rule (crude), and
  **C2-adj** — the partial r given |latitude| and log GDP, confounding rule;
- **C3** the cloud association survives adjustment — adjusted OLS coefficient in %
  change per 10 points of cloud cover, confounding rule;
- **C4** the dosing advice — not testable with regional data;
- **C5-mechanism** — does the all-sky vitamin-D dose predict MS better than the
  clear-sky dose (:mod:`~geo_ms.models.mechanism`)?

The headline verdict is the primary outcome's; ``agreement`` (filled by
:func:`geo_ms.models.triangulation.add_agreement`) says in how many independent MS
sources the same rule gives the same verdict.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from geo_ms.models.primary import PrimarySpec, claim_estimate
from geo_ms.models.verdicts import NOT_TESTABLE, VERDICTS

__all__ = [
    "CLAIM_COLUMNS",
    "CLAIM_TEXT",
    "DOSING_CAVEAT",
    "ECOLOGICAL_CAVEAT",
    "VERDICTS",
    "claims_table",
]

#: Columns of the claims table.
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id", "claim", "outcome", "exposure", "test", "rule", "estimate", "ci_low",
    "ci_high", "ci_low_spatial", "ci_high_spatial", "n", "verdict", "agreement", "caveat",
)

#: The article's claims, in words.
CLAIM_TEXT: dict[str, str] = {
    "C1": ('MS is more common in cloudier countries ("There is a higher rate of MS patients '
           'in countries where the climates are cloudier.")'),
    "C2": "Less sunshine / UV goes with more MS",
    "C2-adj": "The UV association holds once latitude and wealth are accounted for",
    "C3": "The cloud association holds once latitude and wealth are accounted for",
    "C4": 'Vitamin D dosing: "14,000 IU or higher ... as high as 40,000 IU" a day',
}

#: Caveat of every claim tested with regional data.
ECOLOGICAL_CAVEAT = (
    "Ecological fallacy: regional averages say nothing about an individual's risk; "
    "GBD prevalence values are model outputs (DisMod-MR), not counts; recorded "
    "prevalence follows diagnostic access (neurologists, MRI), which tracks wealth."
)

#: Caveat of the dosing claim.
DOSING_CAVEAT = (
    "individual dosing cannot be tested with regional data; 4,000 IU/day is the adult "
    "tolerable upper intake"
)

_TEST_TEXT = {
    "C1": "Pearson r of log prevalence with {e} ({s} regions); 95% bootstrap CI and "
          "spatially corrected CI (Dutilleul effective n)",
    "C2": "Pearson r of log prevalence with {e} ({s} regions); 95% bootstrap CI and "
          "spatially corrected CI (Dutilleul effective n)",
    "C2-adj": "partial r of log prevalence with {e} given {c} ({s} regions); Fisher-z 95% CI "
              "and spatially corrected CI",
    "C3": "OLS of log prevalence on {e} + {c} ({s} regions), coefficient as % change in "
          "prevalence per 10 points of cloud cover; HC3 95% CI and spatially corrected CI",
}


def _fmt(t: tuple[float, float, float], digits: str = ".3g") -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in t):
        return "not available"
    return f"{t[0]:{digits}} [{t[1]:{digits}}, {t[2]:{digits}}]"


def _row(models: pd.DataFrame, model: str, exposure: str, subset: str,
         outcome: str) -> pd.Series | None:
    if models is None or models.empty:
        return None
    hit = models[(models["model"] == model) & (models["exposure"] == exposure)
                 & (models["subset"] == subset) & (models["outcome"] == outcome)]
    return None if hit.empty else hit.iloc[0]


def _sensitivity_text(models: pd.DataFrame, exposure: str, subset: str,
                      log_outcome: str) -> str:
    parts = []
    fe = _row(models, "ols_adj_lat_gdp_fe", exposure, subset, log_outcome)
    if fe is not None:
        parts.append(f"with sub-region fixed effects (SE clustered by sub-region) the "
                     f"coefficient is {_fmt((fe['estimate'], fe['ci_low'], fe['ci_high']))}")
    sp = _row(models, "spatial_error", exposure, subset, log_outcome)
    if sp is not None and pd.isna(sp["estimate"]):
        parts.append("the ML spatial error model was skipped for size (models.spatial_ml_max_n)")
    elif sp is not None:
        parts.append("in the ML spatial error model "
                     f"{_fmt((sp['estimate'], sp['ci_low'], sp['ci_high']))}")
    mo = _row(models, "moran_resid", exposure, subset, log_outcome)
    if mo is not None:
        parts.append(f"residual Moran's I = {mo['estimate']:.2f} (two-sided p = "
                     f"{mo['p_value']:.2g})")
    return ("Sensitivity: " + "; ".join(parts) + ".") if parts else ""


def claims_table(
    models_df: pd.DataFrame | None,
    df: pd.DataFrame,
    *,
    spec: PrimarySpec | None = None,
    outcome_col: str = "prevalence_per_100k",
    outcome_label: str = "primary outcome",
    mechanism: dict[str, Any] | None = None,
    cloud_exposure: str | None = None,
    uv_exposure: str | None = None,
) -> pd.DataFrame:
    """The claims of the article, each with its primary test, rule and verdict.

    Parameters
    ----------
    models_df
        The tidy models table (for the sensitivity sentences of the caveats;
        may be None).
    df
        The analysis table.
    spec
        The pre-specified primary analysis (its ``exposures`` decide the columns).
    outcome_col, outcome_label
        Column and human label of the outcome the claims are judged on.
    mechanism
        Result of :func:`geo_ms.models.mechanism.mechanism_test` (adds C5).
    cloud_exposure, uv_exposure
        Override the cloud (C1, C3) / UV (C2) exposure of *spec*.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CLAIM_COLUMNS`; rows C1, C2, C2-adj, C3, C4 (and
        C5-mechanism). ``agreement`` is empty until triangulation fills it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> lat = rng.uniform(-50, 65, 80)
    >>> d = pd.DataFrame({"abs_latitude": np.abs(lat), "lat": lat,
    ...                   "lon": rng.uniform(-170, 170, 80),
    ...                   "gdp_per_capita": np.exp(rng.normal(9, 1, 80)),
    ...                   "cloud_cover_pct": rng.uniform(20, 80, 80),
    ...                   "uv_index": 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, 80)})
    >>> d["prevalence_per_100k"] = np.exp(0.05 * d["abs_latitude"] + rng.normal(0, .3, 80))
    >>> t = claims_table(None, d, spec=PrimarySpec(n_boot=200))
    >>> t["claim_id"].tolist()
    ['C1', 'C2', 'C2-adj', 'C3', 'C4']
    >>> t.set_index("claim_id").loc[["C2", "C4"], "verdict"].tolist()
    ['supported', 'not testable with regional data']
    """
    import dataclasses

    from geo_ms.models._table import log_outcome_name

    spec = spec or PrimarySpec()
    if cloud_exposure or uv_exposure:
        ex = dict(spec.exposures)
        if cloud_exposure:
            ex.update({"C1": cloud_exposure, "C3": cloud_exposure})
        if uv_exposure:
            ex.update({"C2": uv_exposure, "C2-adj": uv_exposure})
        spec = dataclasses.replace(spec, exposures=ex)
    log_outcome = log_outcome_name(outcome_col)
    total = len(df)
    rows = []
    for cid in ("C1", "C2", "C2-adj", "C3"):
        est = claim_estimate(df, cid, outcome_col, spec)
        e = spec.exposures[cid]
        covs = ", ".join(spec.covariates)
        test = _TEST_TEXT[cid].format(e=e, s=spec.subset, c=covs) + ". " + est["detail"] + "."
        caveat = ECOLOGICAL_CAVEAT
        if est["n"]:
            caveat += f" Based on {int(est['n'])} of {total} regions."
        if cid in ("C2-adj", "C3"):
            caveat += " " + _sensitivity_text(models_df, e, spec.subset, log_outcome)
            caveat += (" Latitude, GDP" + (" and " + ", ".join(spec.covariates[2:])
                                           if len(spec.covariates) > 2 else "")
                       + " are the only confounders adjusted for.")
        if cid == "C1" and models_df is not None:
            adj = _row(models_df, "pct_per10_adj", e, spec.subset, log_outcome)
            if adj is not None:
                caveat += (" Adjusted for |latitude| and log GDP, prevalence changes by "
                           f"{_fmt((adj['estimate'], adj['ci_low'], adj['ci_high']), '+.1f')} "
                           "% per 10 points of cloud cover (HC3 CI).")
        rows.append({
            "claim_id": cid, "claim": CLAIM_TEXT[cid], "outcome": outcome_label,
            "exposure": e, "test": test, "rule": spec.rule(cid),
            "estimate": est["estimate"], "ci_low": est["ci_low"], "ci_high": est["ci_high"],
            "ci_low_spatial": est["ci_low_spatial"], "ci_high_spatial": est["ci_high_spatial"],
            "n": est["n"] or None, "verdict": est["verdict"], "agreement": "",
            "caveat": caveat.strip(),
        })
    rows.append({
        "claim_id": "C4", "claim": CLAIM_TEXT["C4"], "outcome": "", "exposure": "",
        "test": "None: the data are regional prevalences, not individual doses or outcomes.",
        "rule": "fixed: regional data cannot test individual dosing", "estimate": math.nan,
        "ci_low": math.nan, "ci_high": math.nan, "ci_low_spatial": math.nan,
        "ci_high_spatial": math.nan, "n": None, "verdict": NOT_TESTABLE, "agreement": "",
        "caveat": DOSING_CAVEAT,
    })
    if mechanism is not None:
        rows.append(mechanism["claim_row"])
    out = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    out["n"] = out["n"].astype("Int64")
    return out
