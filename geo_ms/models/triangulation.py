"""Triangulation: each claim's primary test on every MS outcome of the run.

GBD 2016 is a model output; the MSIF Atlas of MS editions are reported figures.
:func:`triangulate` runs each claim's pre-specified test
(:func:`~geo_ms.models.primary.claim_estimate`) on every outcome of
``[outcomes] fit`` whose column is in the analysis table; :func:`add_agreement`
writes, per claim, in how many of the *independent* sources (GBD prevalence and the
crude Atlas editions, :attr:`geo_ms.ingest.outcomes.Outcome.independent`) the same
rule gives the primary outcome's verdict; the other outcomes (GBD incidence, the
indirectly age-adjusted Atlas rates) are listed apart. The headline verdict stays
the primary outcome's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import pandas as pd

from geo_ms.errors import SchemaError
from geo_ms.ingest.outcomes import OUTCOMES
from geo_ms.models.primary import PrimarySpec, claim_estimate, outcome_columns

__all__ = ["TRIANGULATION_CLAIMS", "TRIANGULATION_COLUMNS", "add_agreement", "agreement_text",
           "triangulate"]

log = logging.getLogger("geo_ms.models")

#: Columns of ``triangulation.csv``.
TRIANGULATION_COLUMNS: tuple[str, ...] = (
    "claim_id", "outcome", "outcome_label", "independent", "n", "estimate", "ci_low",
    "ci_high", "ci_low_spatial", "ci_high_spatial", "n_eff", "verdict",
)

#: Claims triangulated across outcomes.
TRIANGULATION_CLAIMS: tuple[str, ...] = ("C1", "C2", "C2-adj", "C3")


def triangulate(
    df: pd.DataFrame,
    spec: PrimarySpec | None = None,
    outcome_ids: Sequence[str] | None = None,
    *,
    claims: Sequence[str] = TRIANGULATION_CLAIMS,
    min_regions: int = 10,
) -> pd.DataFrame:
    """Each claim's primary test on each outcome present in *df*.

    Parameters
    ----------
    df
        The analysis table with ``ms_<id>`` outcome columns (the primary outcome may
        be only ``prevalence_per_100k``).
    spec
        The primary analysis (its ``outcome`` is always included, first).
    outcome_ids
        Outcome ids to try (default: every known outcome); absent columns are skipped.
    min_regions
        Outcomes with fewer complete regions are kept with NaN and ``inconclusive``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRIANGULATION_COLUMNS`, one row per claim × outcome.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"cloud_cover_pct": rng.uniform(10, 90, 50),
    ...                   "lon": rng.uniform(-170, 170, 50), "lat": rng.uniform(-60, 60, 50)})
    >>> d["prevalence_per_100k"] = np.exp(0.03 * d["cloud_cover_pct"] + rng.normal(0, .3, 50))
    >>> d["ms_atlas2020"] = d["prevalence_per_100k"] * np.exp(rng.normal(0, .3, 50))
    >>> t = triangulate(d, PrimarySpec(n_boot=100), claims=["C1"])
    >>> t[["outcome", "independent", "n", "verdict"]].values.tolist()
    [['gbd2016_prev', True, 50, 'supported'], ['atlas2020', True, 50, 'supported']]
    """
    spec = spec or PrimarySpec()
    ids = list(OUTCOMES) if outcome_ids is None else list(outcome_ids)
    ids = [spec.outcome] + [i for i in ids if i != spec.outcome]
    cols = outcome_columns(df, ids, spec.outcome)
    rows = []
    for cid in claims:
        for oid, col in cols.items():
            try:
                est = claim_estimate(df, cid, col, spec, min_regions=min_regions)
            except SchemaError as exc:  # e.g. a value <= 0 in an outcome column
                log.warning("triangulation %s on %s skipped: %s", cid, oid, exc)
                est = {"n": 0, "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                       "ci_low_spatial": math.nan, "ci_high_spatial": math.nan,
                       "n_eff": math.nan, "verdict": "inconclusive"}
            meta = OUTCOMES.get(oid)
            rows.append({
                "claim_id": cid, "outcome": oid,
                "outcome_label": meta.label if meta else oid,
                "independent": bool(meta.independent) if meta else False,
                "n": int(est["n"]), "estimate": est["estimate"], "ci_low": est["ci_low"],
                "ci_high": est["ci_high"], "ci_low_spatial": est["ci_low_spatial"],
                "ci_high_spatial": est["ci_high_spatial"], "n_eff": est["n_eff"],
                "verdict": est["verdict"],
            })
    return pd.DataFrame(rows, columns=list(TRIANGULATION_COLUMNS))


def agreement_text(tri: pd.DataFrame, claim_id: str, primary: str) -> str:
    """"agrees in k of m independent sources" for one claim, with the sources named.

    An outcome counts when it has an estimate; it agrees when its verdict equals the
    primary outcome's. Non-independent outcomes are listed apart with their verdicts.

    >>> tri = pd.DataFrame({"claim_id": "C1",
    ...     "outcome": ["gbd2016_prev", "atlas2020", "atlas2013", "gbd2016_inc"],
    ...     "outcome_label": ["GBD", "Atlas 2020", "Atlas 2013", "GBD inc"],
    ...     "independent": [True, True, True, False], "estimate": [0.1, 0.2, 0.3, 0.1],
    ...     "verdict": ["inconclusive", "inconclusive", "supported", "inconclusive"]})
    >>> agreement_text(tri, "C1", "gbd2016_prev")
    'agrees in 2 of 3 independent sources (agree: GBD +0.10, Atlas 2020 +0.20; differ: Atlas 2013 +0.30 supported); not independent: GBD inc +0.10 inconclusive'

    Point estimates of opposite sign among the independent sources are said, even
    when every verdict agrees:

    >>> tri.loc[1, "estimate"] = -0.2
    >>> "differ in sign across independent sources (-0.20 to +0.30)" in agreement_text(
    ...     tri, "C1", "gbd2016_prev")
    True
    """
    sub = tri[(tri["claim_id"] == claim_id) & tri["estimate"].notna()]
    prim = sub[sub["outcome"] == primary]
    if prim.empty:
        return ""
    verdict = prim["verdict"].iloc[0]
    ind = sub[sub["independent"].astype(bool)]
    agree = ind[ind["verdict"] == verdict]
    differ = ind[ind["verdict"] != verdict]
    text = f"agrees in {len(agree)} of {len(ind)} independent sources (agree: " + \
        ", ".join(f"{r.outcome_label} {_signed(r.estimate)}" for r in agree.itertuples()) + ")"
    if len(differ):
        text = text[:-1] + "; differ: " + ", ".join(
            f"{r.outcome_label} {_signed(r.estimate)} {r.verdict}"
            for r in differ.itertuples()) + ")"
    est = ind["estimate"].astype(float)
    if (est > 0).any() and (est < 0).any():
        text += ("; point estimates differ in sign across independent sources "
                 f"({_signed(est.min())} to {_signed(est.max())})")
    other = sub[~sub["independent"].astype(bool)]
    if len(other):
        text += "; not independent: " + ", ".join(
            f"{r.outcome_label} {_signed(r.estimate)} {r.verdict}" for r in other.itertuples())
    return text


def _signed(x: float) -> str:
    """An estimate with its sign: 2 decimals below 1 in magnitude (r), else 1 (%).

    >>> _signed(-0.1236), _signed(-14.02)
    ('-0.12', '-14.0')
    """
    return f"{x:+.2f}" if abs(x) < 1 else f"{x:+.1f}"


def add_agreement(claims: pd.DataFrame, tri: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Fill the claims table's ``agreement`` column from the triangulation table.

    >>> c = pd.DataFrame({"claim_id": ["C1", "C4"], "agreement": ["", ""]})
    >>> tri = pd.DataFrame({"claim_id": ["C1"], "outcome": ["gbd2016_prev"],
    ...     "outcome_label": ["GBD"], "independent": [True], "estimate": [0.1],
    ...     "verdict": ["inconclusive"]})
    >>> add_agreement(c, tri, "gbd2016_prev")["agreement"].tolist()
    ['agrees in 1 of 1 independent sources (agree: GBD +0.10)', '']
    """
    out = claims.copy()
    out["agreement"] = [
        agreement_text(tri, cid, primary) if cid in set(tri["claim_id"]) else (
            "" if not isinstance(a, str) else a)
        for cid, a in zip(out["claim_id"], out["agreement"], strict=True)
    ]
    return out
