"""The specification-curve figure: C1's and C3's estimates across every specification.

For each claim two panels share the x axis (specifications sorted by estimate,
:func:`geo_ms.models.speccurve.specification_curve`): above, each estimate with its
95 % CI, coloured by whether the CI excludes 0 (and on which side); beneath, the
indicator panel — one row per choice (product, window, weights, territory, outcome,
adjustment set), a mark where the specification makes it. Written as
``specification_curve.png`` and ``.svg``, atomically; :func:`curve_sentence` gives
the Answer's sentence on the shares.
"""

from __future__ import annotations

import calendar
import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geo_ms.errors import SchemaError
from geo_ms.models.speccurve import DIMENSIONS, curve_summary
from geo_ms.report.figures._common import DEFAULT_FORMATS, label, save, source_note

__all__ = ["COLORS", "curve_sentence", "level_label", "specification_curve_figure"]

#: Colour of an estimate by its CI: excludes 0 above, below, or not.
COLORS: dict[str, str] = {"positive": "#b2182b", "negative": "#2166ac",
                          "not significant": "#9a9a9a"}

_TITLES = {"C1": ("C1 cloud cover and MS", "r (Pearson or partial)"),
           "C3": ("C3 cloud cover, adjusted", "% change per 10 points")}
_DIM_NAMES = {"product": "Cloud product", "window": "Window", "weights": "Weights",
              "territory": "Territory", "outcome": "Outcome", "adjustment": "Adjusted for"}
_OUTCOMES = {"log_prevalence": "primary outcome", "log_prevalence_allages":
             "all-ages prevalence", "log_prevalence_1990": "prevalence in 1990",
             "log_prevalence_user": "your prevalence table"}


def level_label(dimension: str, level: str) -> str:
    """Words for one choice of the indicator panel.

    >>> level_label("product", "cloud_fraction_modis_pct")
    'Cloud fraction, MODIS'
    >>> level_label("window", "m01"), level_label("weights", "population")
    ('January', 'population-weighted')
    >>> level_label("outcome", "log_ms_atlas2020")
    'Atlas of MS 2020, crude prevalence'
    """
    if dimension == "product":
        return label(level).replace(" (%)", "")
    if dimension == "window":
        if level.startswith("m") and level[1:].isdigit():
            return calendar.month_name[int(level[1:])]
        return level if level == "annual" else f"local {level}"
    if dimension == "weights":
        return f"{level}-weighted"
    if dimension == "outcome":
        if level in _OUTCOMES:
            return _OUTCOMES[level]
        from geo_ms.ingest.outcomes import OUTCOMES

        oid = level.removeprefix("log_").removeprefix("ms_")
        return OUTCOMES[oid].label if oid in OUTCOMES else level.replace("_", " ")
    return level


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def curve_sentence(claim_id: str, summary: Mapping[str, Any]) -> str:
    """The Answer's sentence on a claim's curve (whole %, n given).

    >>> curve_sentence("C3", {"n": 117, "positive": 0.06, "negative": 0.94,
    ...                       "sig_positive": 0.05, "sig_negative": 0.73})
    'Across 117 exploratory specifications of C3, 6% of the estimates are positive (5% with a CI excluding 0) and 94% negative (73% with a CI excluding 0).'
    """
    n = int(summary["n"])
    if not n or math.isnan(float(summary["positive"])):
        return f"No exploratory specification of {claim_id} has an estimate."
    return (f"Across {n} exploratory specifications of {claim_id}, "
            f"{_pct(summary['positive'])} of the estimates are positive "
            f"({_pct(summary['sig_positive'])} with a CI excluding 0) and "
            f"{_pct(summary['negative'])} negative ({_pct(summary['sig_negative'])} with a CI "
            "excluding 0).")


_ORDER = {"window": ["annual", "winter", "summer", *(f"m{m:02d}" for m in range(1, 13))],
          "weights": ["area", "population"], "territory": ["whole country", "main territory"],
          "outcome": ["log_prevalence"],
          "adjustment": ["none", "|latitude|", "|latitude| + log GDP"]}


def _order(dim: str, level: str) -> tuple[int, str]:
    """Fixed order of the levels: the usual choice first, then by name."""
    known = _ORDER.get(dim, [])
    return (known.index(level) if level in known else len(known), level)


def _rows(sub: pd.DataFrame) -> list[tuple[str, str | None]]:
    """Indicator rows: (dimension, level) with a header row (level None) per dimension."""
    rows: list[tuple[str, str | None]] = []
    for dim in DIMENSIONS:
        if dim not in sub.columns:
            continue
        levels = sorted(dict.fromkeys(sub[dim].astype(str)), key=lambda lv, d=dim: _order(d, lv))
        rows.append((dim, None))
        rows += [(dim, lv) for lv in levels]
    return rows


def _draw_claim(fig: Figure, spec: Any, sub: pd.DataFrame, claim_id: str) -> None:
    rows = _rows(sub)
    gs = spec.subgridspec(2, 1, height_ratios=[2.3, 0.15 * len(rows)], hspace=0.04)
    ax, ind = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
    x = np.arange(1, len(sub) + 1)
    colors = [COLORS[s] for s in sub["significance"]]
    ax.vlines(x, sub["ci_low"], sub["ci_high"], colors=colors, lw=0.8, alpha=0.7)
    ax.scatter(x, sub["estimate"], c=colors, s=9, zorder=3)
    ax.axhline(0, color="black", lw=0.6, ls=":")
    title, units = _TITLES.get(claim_id, (claim_id, "estimate"))
    s = curve_summary(sub)
    ax.set_title(f"{title}: {s['n']} specifications sorted by estimate — "
                 f"{_pct(s['positive'])} positive ({_pct(s['sig_positive'])} significantly), "
                 f"{_pct(s['negative'])} negative ({_pct(s['sig_negative'])} significantly)",
                 fontsize=8.5, loc="left")
    ax.set_ylabel(units, fontsize=7.5)
    ax.tick_params(labelsize=7, labelbottom=False)
    ax.set_xlim(0.3, len(sub) + 0.7)
    ys = np.arange(len(rows))[::-1]
    for y, (dim, lv) in zip(ys, rows, strict=True):
        if lv is None:
            ind.axhline(y, color="#dddddd", lw=0.5)
            continue
        hit = (sub[dim].astype(str) == lv).to_numpy()
        ind.scatter(x[hit], np.full(hit.sum(), y), marker="s", s=5,
                    c=[c for c, h in zip(colors, hit, strict=True) if h], linewidths=0)
    ind.set_yticks(ys)
    labels = [_DIM_NAMES.get(d, d) if lv is None else level_label(d, lv) for d, lv in rows]
    ind.set_yticklabels([textwrap.shorten(t, 46, placeholder="…") for t in labels],
                        fontsize=6.5)
    for tick, (_, lv) in zip(ind.get_yticklabels(), rows, strict=True):
        if lv is None:
            tick.set_fontweight("bold")
    ind.set_ylim(-0.6, len(rows) - 0.4)
    ind.set_xlim(ax.get_xlim())
    ind.tick_params(axis="y", length=0)
    ind.tick_params(axis="x", labelsize=7)
    ind.set_xlabel("specification (rank by estimate)", fontsize=7.5)
    for side in ("top", "right"):
        ind.spines[side].set_visible(False)
        ax.spines[side].set_visible(False)


def specification_curve_figure(curve: pd.DataFrame, out_dir: str | Path,
                               meta: Mapping[str, Any] | None = None,
                               stem: str = "specification_curve",
                               formats: Sequence[str] = DEFAULT_FORMATS) -> list[Path]:
    """Draw each claim's specification curve with its indicator panel; return the files
    written, one per format of *formats* (PNG by default; ``"svg"`` too when asked).

    Parameters
    ----------
    curve
        ``specification_curve.csv`` (:func:`geo_ms.models.speccurve.specification_curve`).
    out_dir
        Folder of the figures (created if needed).
    meta
        Run metadata (its ``sources`` name the data in the caption).

    Raises
    ------
    SchemaError
        A column is missing, or no row has an estimate.
    """
    need = ("claim_id", "estimate", "ci_low", "ci_high", "rank", "significance")
    missing = [c for c in need if c not in curve.columns]
    if missing:
        raise SchemaError(f"specification curve: missing column(s) {', '.join(missing)}",
                          hint="Pass the table written to data/processed/"
                               "specification_curve.csv")
    curve = curve.dropna(subset=["estimate"])
    if curve.empty:
        raise SchemaError("specification curve: no specification has an estimate",
                          hint="Run the models stage with the cloud exposures present")
    claims = list(dict.fromkeys(curve["claim_id"]))
    parts = [curve[curve["claim_id"] == c].sort_values("rank") for c in claims]
    heights = [2.3 + 0.15 * len(_rows(p)) + 0.9 for p in parts]
    caption = (
        "Specification curve: each claim's estimate in every exploratory specification "
        "(cloud product × window × weights × territory × outcome × adjustment set), sorted "
        "by estimate, with its 95% CI; red: CI above 0, blue: CI below 0, grey: CI includes "
        "0. Beneath: the choices each specification makes. Descriptive only: the "
        "specifications share data and are not independent tests, so the shares are not a "
        "vote; the verdicts rest on the analysis plan's primary tests."
    )
    text = textwrap.fill(caption + " " + source_note(meta), 175)
    # the caption's own height (6.5 pt lines) plus room for the last panel's x axis
    caption_in = 0.1 + (text.count("\n") + 1) * 6.5 * 1.3 / 72
    axis_in = 0.55
    height = sum(heights) + caption_in + axis_in
    fig = Figure(figsize=(11, height))
    # between claims: room for the x label above and the next title (~0.8 in)
    outer = fig.add_gridspec(len(claims), 1, height_ratios=heights,
                             hspace=0.8 / (sum(heights) / len(heights)),
                             left=0.22, right=0.98, top=1 - 0.25 / height,
                             bottom=(caption_in + axis_in) / height)
    for i, (cid, sub) in enumerate(zip(claims, parts, strict=True)):
        _draw_claim(fig, outer[i], sub.reset_index(drop=True), cid)
    fig.text(0.01, 0.1 / height, text, fontsize=6.5, va="bottom", color="#444444")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return save(fig, out_dir, stem, "Specification curve of C1 and C3", caption,
                formats=formats)
