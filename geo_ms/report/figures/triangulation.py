"""The triangulation figure: each claim's primary estimate across MS outcomes.

One forest panel per claim (C1, C2, C2-adj, C3), one row per outcome (human
labels from :data:`geo_ms.ingest.outcomes.OUTCOMES`): the iid 95 % CI as a thin
line, the spatially corrected CI as a thick line, the estimate as a marker — filled
for the independent sources (GBD prevalence and the crude Atlas editions), open for
the others (GBD incidence, the age-adjusted Atlas rates) — and the verdict written
beside it. Written as ``triangulation.png`` (and ``.svg`` when asked), atomically.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geo_ms.errors import SchemaError
from geo_ms.report.figures._common import DEFAULT_FORMATS, save, source_note

__all__ = ["triangulation_figure"]

_TITLES = {
    "C1": "C1 cloud cover: Pearson r",
    "C2": "C2 UV index: Pearson r",
    "C2-adj": "C2-adj UV, adjusted: partial r",
    "C3": "C3 cloud, adjusted: % per 10 points",
}
_NEEDED = ("claim_id", "outcome", "outcome_label", "independent", "estimate", "ci_low",
           "ci_high", "verdict")


def triangulation_figure(tri: pd.DataFrame, out_dir: str | Path,
                         meta: Mapping[str, Any] | None = None,
                         stem: str = "triangulation",
                         formats: Sequence[str] = DEFAULT_FORMATS) -> list[Path]:
    """Draw the forest plot per claim across outcomes; return the paths written.

    Parameters
    ----------
    tri
        ``triangulation.csv`` (:func:`geo_ms.models.run_plan.run_plan`).
    out_dir
        Folder of the figures (created if needed).
    meta
        Run metadata (its ``sources`` name the data in the caption).
    stem
        File name stem.
    formats
        Formats to write, ``"png"`` and/or ``"svg"`` (one file each).

    Raises
    ------
    SchemaError
        A column is missing, or no row has an estimate.
    """
    missing = [c for c in _NEEDED if c not in tri.columns]
    if missing:
        raise SchemaError(f"triangulation table: missing column(s) {', '.join(missing)}",
                          hint="Pass the table written to data/processed/triangulation.csv")
    rows = tri.dropna(subset=["estimate"])
    if rows.empty:
        raise SchemaError("triangulation table: no rows with an estimate",
                          hint="Run the models stage with at least one outcome column present")
    claims = [c for c in _TITLES if c in set(rows["claim_id"])] + sorted(
        set(rows["claim_id"]) - set(_TITLES))
    sizes = [int((rows["claim_id"] == c).sum()) for c in claims]
    caption_in = 1.5
    panels_in = sum(0.25 * k + 0.55 for k in sizes)
    height = panels_in + caption_in
    fig = Figure(figsize=(10, height))
    axes = fig.subplots(len(claims), 1, squeeze=False,
                        gridspec_kw={"height_ratios": [k + 1.2 for k in sizes]}).ravel()
    for ax, cid in zip(axes, claims, strict=True):
        sub = rows[rows["claim_id"] == cid].reset_index(drop=True)
        ys = np.arange(len(sub))[::-1]
        for y, r in zip(ys, sub.itertuples(index=False), strict=True):
            ind = bool(r.independent)
            color = "#1f4e79" if ind else "#8c8c8c"
            ax.plot([r.ci_low, r.ci_high], [y, y], color=color, lw=1.2)
            slo = getattr(r, "ci_low_spatial", np.nan)
            shi = getattr(r, "ci_high_spatial", np.nan)
            if np.isfinite(slo) and np.isfinite(shi):
                ax.plot([slo, shi], [y, y], color=color, lw=4, alpha=0.35,
                        solid_capstyle="butt")
            ax.plot([r.estimate], [y], "o", color=color, mfc=color if ind else "white", ms=6)
            ax.annotate(f"{r.verdict}", (1.0, y), xycoords=("axes fraction", "data"),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
        ax.axvline(0, color="black", lw=0.6, ls=":")
        ax.set_yticks(ys)
        ax.set_yticklabels([textwrap.shorten(str(label), 44, placeholder="…")
                            + ("" if ind else " *")
                            for label, ind in zip(sub["outcome_label"], sub["independent"],
                                                  strict=True)], fontsize=7)
        ax.set_ylim(-0.7, len(sub) - 0.3)
        ax.set_title(_TITLES.get(cid, cid), fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
    caption = (
        "Each claim's pre-specified test on every MS outcome: dot = estimate, thin line = "
        "95% CI (bootstrap for r, Fisher for partial r, HC3 for the coefficient), thick "
        "line = spatially corrected CI (Dutilleul effective n), verdict at the right. "
        "Filled dots: GBD 2016 prevalence (a model output) and the crude Atlas of MS "
        "editions (reported figures; one source family, not three independent sources). "
        "Open dots and *: not independent (GBD incidence, same "
        "model; Atlas rates age-adjusted with GBD's age structure). Atlas rates are crude "
        "unless marked age-adjusted and follow national case ascertainment."
    )
    fig.text(0.01, 0.01, textwrap.fill(caption + " " + source_note(meta), 160), fontsize=6.5,
             va="bottom")
    fig.subplots_adjust(left=0.3, right=0.82, top=1 - 0.3 / height,
                        bottom=(caption_in + 0.25) / height, hspace=0.45)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return save(fig, out_dir, stem, "Triangulation across MS outcomes", caption,
                formats=formats)
