"""Forest plot of the sensitivity analyses: one estimand per panel, human row labels.

Pearson r, partial r and standardised coefficients are different quantities, so
each gets its own panel and axis; rows are named with the data dictionary
(exposure, window, subset), filled markers mean the 95 % CI excludes 0 and a key
at the top says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from geo_ms.errors import SchemaError
from geo_ms.report.figures._common import (
    DEFAULT_FORMATS,
    label,
    new_figure,
    require,
    save,
    source_note,
)

__all__ = ["ESTIMANDS", "forest_plot"]

#: Models drawn in the forest plot → the estimand its panel shows.
ESTIMANDS: dict[str, str] = {
    "pearson": "Pearson r with log prevalence",
    "partial_lat_gdp": "Partial r given |latitude| and log GDP",
    "ols_adj_lat_gdp": "Standardised β, OLS adjusted for |latitude| and log GDP",
    "spatial_error": "Standardised β, spatial error model (same adjustment)",
}
_SUBSETS = {
    "all": "", "europe": "Europe (incl. Russia)", "abs_lat_gt_35": "|latitude| > 35°",
    "africa": "Africa", "asia": "Asia", "north_america": "North and Central America",
    "oceania": "Oceania", "south_america": "South America",
}
_STANDARDISED = ("ols_adj_lat_gdp", "spatial_error", "ols", "ols_adj_lat")


def row_label(exposure: str, subset: str) -> str:
    """Human row label: exposure (with window/weighting) and, when not all, the subset.

    Examples
    --------
    >>> row_label("cloud_cover_pct", "europe")
    'Cloud cover, CRU CL 1.0 (%) — Europe (incl. Russia)'
    """
    sub = _SUBSETS.get(subset, subset.replace("_", " "))
    return label(exposure) + (f" — {sub}" if sub else "")


def _outcome(name: str) -> str:
    """Outcome name for a row label.

    >>> _outcome("log_prevalence_1990")
    'prevalence in 1990'
    """
    return {"log_prevalence_allages": "all-ages prevalence",
            "log_prevalence_1990": "prevalence in 1990",
            "log_prevalence_user": "your prevalence table"}.get(name, label(name))


def _forest_rows(models: pd.DataFrame, value: str) -> pd.DataFrame:
    require(models, ["model", "subset", "exposure", "estimate", "ci_low", "ci_high"],
            "models table")
    rows = models.dropna(subset=["estimate"]).copy()
    if value == "std_estimate":
        require(models, ["std_estimate"], "models table")
        scale = rows["std_estimate"] / rows["estimate"].where(rows["estimate"] != 0)
        rows["ci_low"], rows["ci_high"] = rows["ci_low"] * scale, rows["ci_high"] * scale
        rows["estimate"] = rows["std_estimate"]
        rows = rows.dropna(subset=["estimate"])
        lo = rows[["ci_low", "ci_high"]].min(axis=1)
        hi = rows[["ci_low", "ci_high"]].max(axis=1)
        rows["ci_low"], rows["ci_high"] = lo, hi
    rows["label"] = [row_label(str(e), str(s)) for e, s in zip(rows["exposure"], rows["subset"],
                                                               strict=True)]
    if "outcome" in rows:
        other = rows["outcome"].astype(str).ne("log_prevalence") & rows["outcome"].notna()
        rows.loc[other, "label"] = (rows.loc[other, "label"] + " · outcome: "
                                    + rows.loc[other, "outcome"].astype(str).map(_outcome))
    return rows.reset_index(drop=True)


def _with_n(rows: pd.DataFrame) -> pd.DataFrame:
    """Append "(n = k)" to the rows whose n is below the panel's largest n."""
    if "n" not in rows or rows.empty:
        return rows
    n = pd.to_numeric(rows["n"], errors="coerce")
    small = n < n.max()
    rows.loc[small, "label"] = [f"{lab} (n = {int(k)})" for lab, k in
                                zip(rows.loc[small, "label"], n[small], strict=True)]
    return rows


def _panels(models: pd.DataFrame, value: str | None) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows) per estimand; models outside :data:`ESTIMANDS` share one panel."""
    out = []
    known = models["model"].astype(str).isin(list(ESTIMANDS))
    for model, title in ESTIMANDS.items():
        sub = models[models["model"] == model]
        if sub.empty:
            continue
        use = value or ("std_estimate" if model in _STANDARDISED and "std_estimate" in sub
                        and sub["std_estimate"].notna().all() else "estimate")
        rows = _with_n(_forest_rows(sub, use))
        if len(rows):
            out.append((title, rows))
    for model, sub in models[~known].groupby("model", sort=False):
        use = value or "estimate"
        rows = _with_n(_forest_rows(sub, use))
        if len(rows):
            what = "standardised estimate" if use == "std_estimate" else "estimate"
            out.append((f"{str(model).replace('_', ' ')}: {what}", rows))
    return out


def _draw_forest(models: pd.DataFrame, value: str | None, note: str) -> Figure:
    require(models, ["model", "subset", "exposure", "estimate", "ci_low", "ci_high"],
            "models table")
    panels = _panels(models, value)
    if not panels:
        raise SchemaError("models table: no rows with an estimate",
                          hint="Fit the models before drawing the forest plot.")
    heights = [0.9 + 0.26 * len(rows) for _, rows in panels]
    fig = new_figure(9, sum(heights) + 1.6, note)
    axes = fig.subplots(len(panels), 1, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (title, rows) in zip(axes, panels, strict=True):
        y = np.arange(len(rows))[::-1]
        excludes = (rows["ci_low"] > 0) | (rows["ci_high"] < 0)
        for yi, (_, row), solid in zip(y, rows.iterrows(), excludes, strict=True):
            ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color="#333333", lw=1.2)
            ax.plot(row["estimate"], yi, "o", color="#1f4e79",
                    markerfacecolor="#1f4e79" if solid else "white", markersize=5)
        ax.axvline(0, color="#b22222", lw=1, ls="--")
        ax.set_yticks(y, rows["label"], fontsize=8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_xlabel(f"{title.split(',')[0]} with 95 % CI", fontsize=8)
        ax.grid(axis="x", color="#eeeeee")
    key = [Line2D([], [], marker="o", ls="", color="#1f4e79", label="95 % CI excludes 0"),
           Line2D([], [], marker="o", ls="", color="#1f4e79", markerfacecolor="white",
                  label="95 % CI includes 0"),
           Line2D([], [], color="#b22222", ls="--", label="no association")]
    fig.legend(handles=key, loc="outside upper right", ncols=3, fontsize=8, frameon=False)
    fig.suptitle("Sensitivity analyses: one estimand per panel", x=0.02, ha="left")
    return fig


def forest_plot(
    out_dir: str | Path,
    models: pd.DataFrame,
    *,
    value: str | None = None,
    meta: Mapping[str, Any] | None = None,
    stem: str = "forest_plot",
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """Forest plot of the model estimates with 95 % CIs, one panel per estimand.

    Parameters
    ----------
    out_dir, meta, stem
        Output folder, run metadata (footnote), file stem.
    models
        Tidy models table (``model, subset, exposure, estimate, ci_low, ci_high`` ...).
    value
        ``"estimate"`` or ``"std_estimate"`` for every panel; by default correlations
        are drawn as they are and regression coefficients standardised (CIs scaled by
        the same factor), so that exposures in different units share a panel.

    formats
        Formats to write, ``"png"`` and/or ``"svg"``.

    Returns
    -------
    list of Path
        The paths written, one per format in ``formats``.
    """
    if value not in (None, "estimate", "std_estimate"):
        raise SchemaError(f"forest_plot: value={value!r} is not a models column",
                          hint="Use 'estimate' or 'std_estimate'.")
    fig = _draw_forest(models, value, source_note(meta))
    return save(fig, out_dir, stem, "Sensitivity analyses (forest plot)",
                "One panel per estimand; each row one exposure (window, weighting) and "
                "subset, with its n when fewer regions have the exposure or belong to the "
                "subset; bars are 95 % confidence intervals; the dashed line marks no "
                "association.", formats=formats)
