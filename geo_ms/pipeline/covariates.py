"""The country-covariate stage: ancestry, health-care access and migration columns.

:func:`stage_country_covariates` reads the ``kind = "covariate"`` catalog datasets
(:mod:`geo_ms.ingest.country_covariates`), caches the per-country table and the list of
countries each column lacks, and :func:`join_country_covariates` adds the columns to the
analysis table. ``data/processed/covariates_missing.csv`` lists, for every column, the
regions without a value and why (not in the source, an all-zero ancestry row, no value
in the year window, a source not available), so nothing is dropped silently.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from geo_ms._io import atomic_write_text
from geo_ms.pipeline.cache import RunContext, Stage, stage_key, write_csv

__all__ = ["join_country_covariates", "stage_country_covariates"]

_MISSING_COLUMNS = ["covariate", "region_id", "name", "reason"]


def stage_country_covariates(ctx: RunContext, regions: Any, regions_key: str,
                             ) -> tuple[pd.DataFrame | None, pd.DataFrame, str]:
    """Country covariate columns of the region set (cached), and the countries lacking them.

    Returns ``(table, missing, key)``: *table* (``region_id`` + columns) is None when
    the run joins none (``covariates.country = false``, the built-in sample, or a
    region set other than countries); *missing* is the ``covariates_missing.csv`` table.
    """
    from geo_ms.ingest import datasets
    from geo_ms.ingest.country_covariates import (
        covariate_datasets,
        load_country_covariates,
        missing_covariates,
    )

    ccfg = ctx.cfg.get("covariates", {})
    empty = pd.DataFrame(columns=_MISSING_COLUMNS)
    if not ccfg.get("country", False):
        return None, empty, ""
    if ctx.sample or ctx.cfg["regions"]["set"] != "countries":
        why = ("on the built-in sample" if ctx.sample
               else f"for region set '{ctx.cfg['regions']['set']}' (national tables)")
        ctx.say(f"  covariates: ancestry, health-care and migration columns skipped {why}")
        return None, empty, ""
    sources = datasets.sources_for(list(covariate_datasets()))
    key = stage_key("covariates", regions_key, ccfg, [s.get("sha256") for s in sources])
    with Stage(ctx, "covariates", key) as st:
        out, miss_out, notes_out = (st.path("covariates.csv"), st.path("missing.csv"),
                                    st.path("notes.json"))
        if st.hit:
            table = pd.read_csv(out, dtype={"region_id": str})
            missing = pd.read_csv(miss_out, dtype=str, keep_default_na=False)
            notes = json.loads(notes_out.read_text())
        else:
            cov = load_country_covariates(ccfg)
            ids = set(regions["region_id"].astype(str))
            table = cov.table[cov.table["region_id"].isin(ids)].reset_index(drop=True)
            missing = missing_covariates(cov, regions)
            notes = {"unmapped": cov.unmapped, "skipped": cov.skipped,
                     "remapped": cov.remapped}
            write_csv(table, out)
            write_csv(missing, miss_out)
            atomic_write_text(notes_out, json.dumps(notes))
    for did, why in notes["skipped"].items():
        ctx.say(f"  covariates: {did} not available ({why}); its columns are absent")
    for did, codes in notes.get("remapped", {}).items():
        if codes:
            ctx.say(f"  covariates: {did} codes mapped to ISO3: " + ", ".join(
                f"{c}→{'+'.join(v)}" for c, v in codes.items()))
    ctx.say("  covariates: codes without an ISO3 code (left out): " + ("; ".join(
        f"{k}: {', '.join(v) if v else 'none'}" for k, v in notes["unmapped"].items())
        or "none"))
    for s in sources:
        if s["id"] not in notes["skipped"]:
            ctx.used[s["id"]] = s
    cols = [c for c in table.columns if c != "region_id" and not c.endswith("_year")]
    if cols:
        counts = missing["covariate"].value_counts() if len(missing) else pd.Series(dtype=int)
        n = len(regions)
        ctx.say("  covariates: " + ", ".join(
            f"{c} {n - int(counts.get(c, 0))}/{n}" for c in cols)
            + " regions (the others: covariates_missing.csv)")
    return table, missing, key


def join_country_covariates(table: pd.DataFrame, cov: pd.DataFrame | None) -> pd.DataFrame:
    """Add the covariate columns to the analysis table (left join on ``region_id``).

    >>> t = pd.DataFrame({"region_id": ["FRA", "ATA"], "x": [1.0, 2.0]})
    >>> c = pd.DataFrame({"region_id": ["FRA"], "migrant_share_pct": [13.1]})
    >>> join_country_covariates(t, c)["migrant_share_pct"].tolist()
    [13.1, nan]
    """
    if cov is None or cov.empty and len(cov.columns) <= 1:
        return table
    out = table.merge(cov, on="region_id", how="left")
    for c in out.columns:
        if c.endswith("_year") and c in cov.columns:
            out[c] = out[c].astype("Int64")
    return out
