"""Scatter of log prevalence against one exposure, with the OLS line and its 95 % band.

Labels (ISO3 codes of the largest studentised residuals and of the extreme points)
are placed with ``adjustText`` so that no two collide; the legend sits outside the
data, to the right of the axes; the log axis is ticked with plain numbers
(2, 5, 10, 20, 50, 100, 200); colours follow the continent a reader expects (island
states of Natural Earth's "Seven seas" under their UN region).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geo_ms.errors import SchemaError
from geo_ms.report.figures._common import (
    DEFAULT_FORMATS,
    OUTCOME,
    continent_of,
    label,
    log_outcome,
    log_ticks,
    n_note,
    new_figure,
    require,
    run_n,
    save,
    source_note,
)

__all__ = ["DEFINITIONS", "scatter_with_fit"]

#: One-sentence definitions of exposures, added to the caption of their figures.
DEFINITIONS: dict[str, str] = {
    "uv_index": ("UV index: erythemally weighted UV irradiance in units of 25 mW m⁻² "
                 "(NASA NEO Aura/OMI climatology, annual mean)."),
    "cloudiness_sunshine_pct": ("Cloudiness from sunshine: 1 − all-sky / clear-sky "
                                "surface sunlight (MERRA-2 / pvlib), in %."),
    "sunshine_hours_cities": ("Sunshine hours: mean annual hours of bright sunshine of "
                              "the country's cities (sunshine-hours-by-city)."),
    "vitd_uv_clear": ("Clear-sky vitamin-D UV dose: daily UV dose weighted by the "
                      "vitamin-D action spectrum, cloudless sky (TEMIS)."),
    "vitd_uv_allsky": ("All-sky vitamin-D UV dose: the clear-sky dose times a cloud "
                       "modification factor of CRU cloud cover."),
}


def _definition(exposure: str) -> str:
    for key, text in DEFINITIONS.items():
        if exposure == key or exposure.startswith(key + "_"):
            return " " + text
    return ""


def _fit_frame(table: pd.DataFrame, exposure: str, outcome: str,
               controls: Sequence[str] = ()) -> pd.DataFrame:
    require(table, [exposure, outcome, *controls], "analysis table")
    frame = pd.DataFrame({
        "x": pd.to_numeric(table[exposure], errors="coerce"),
        "logy": log_outcome(table, outcome),
    })
    for c in controls:
        v = pd.to_numeric(table[c], errors="coerce")
        frame[c] = np.log(v.where(v > 0)) if c == "gdp_per_capita" else v
    frame["label"] = (table["iso3"] if "iso3" in table else table.get("region_id")).astype(str)
    if "continent" in table:
        un = table["region_un"] if "region_un" in table else pd.Series(None, index=table.index)
        frame["continent"] = [continent_of(c, u) for c, u in zip(table["continent"], un,
                                                                 strict=True)]
    else:
        frame["continent"] = "all"
    frame = frame.dropna(subset=["x", "logy", *controls])
    if len(frame) < len(controls) + 3:
        raise SchemaError(
            f"analysis table: only {len(frame)} complete rows for {outcome} ~ {exposure}",
            hint="Need at least a few regions with both values to fit a line.",
        )
    return frame


def _studentized_residuals(fit: Any) -> np.ndarray:
    """Externally studentised residuals of an OLS fit, in closed form.

    ``e_i / (s_(i) √(1 − h_ii))`` with the leave-one-out variance
    ``s_(i)² = (SSE − e_i² / (1 − h_ii)) / (n − p − 1)``: what statsmodels'
    ``get_influence().resid_studentized_external`` gives, without its n
    leave-one-out refits (quadratic in n: hours for 50,000 regions).

    >>> import statsmodels.api as sm
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=40)
    >>> fit = sm.OLS(x + rng.normal(size=40), sm.add_constant(x)).fit()
    >>> bool(np.allclose(_studentized_residuals(fit),
    ...                  fit.get_influence().resid_studentized_external, rtol=1e-10))
    True
    """
    from geo_ms.models.sensitivity import loo_variance

    q, _ = np.linalg.qr(np.asarray(fit.model.exog, dtype=float))
    hat = np.einsum("ij,ij->i", q, q)
    return np.asarray(fit.resid, dtype=float) / np.sqrt(loo_variance(fit, hat) * (1 - hat))


def _label_rows(frame: pd.DataFrame, stud: np.ndarray, n_labels: int) -> list[int]:
    """Positions to label: the largest studentised residuals, then the extreme points."""
    picks = [int(i) for i in np.argsort(-np.abs(stud))[:n_labels]]
    x = frame["x"].to_numpy()
    y = frame["logy"].to_numpy()
    for i in (int(np.argmin(x)), int(np.argmax(x)), int(np.argmax(y)), int(np.argmin(y))):
        if i not in picks:
            picks.append(i)
    return picks


#: Above this many points, labels keep clear of each other and of the labelled points
#: only: adjustText compares every label with every point it must avoid (pairs of
#: overlapping intervals, quadratic in their number), minutes for 50,000 points, and
#: a cloud that dense leaves no free space to find anyway.
MAX_LABEL_OBSTACLES = 2_000


def place_labels(fig: Figure, ax: Any, texts: list[Any], xs: Any, ys: Any) -> None:
    """Move ``texts`` apart with adjustText after the layout is fixed, clear of the
    points ``xs``, ``ys`` (of the labelled points only above
    :data:`MAX_LABEL_OBSTACLES` points)."""
    from adjustText import adjust_text
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # constrained layout places the axes once ...
    fig.set_layout_engine("none")  # ... and keeps them there, so labels stay apart
    if texts and np.size(xs) > MAX_LABEL_OBSTACLES:
        xs, ys = zip(*(t.get_position() for t in texts), strict=True)
    if texts:
        adjust_text(texts, x=np.asarray(xs, float), y=np.asarray(ys, float), ax=ax,
                    expand=(1.15, 1.3), arrowprops={"arrowstyle": "-", "color": "#777777",
                                                    "lw": 0.5})


def _draw_scatter(table: pd.DataFrame, exposure: str, outcome: str, n_labels: int,
                  note: str, what: str | None = None) -> Figure:
    import statsmodels.api as sm

    frame = _fit_frame(table, exposure, outcome)
    fit = sm.OLS(frame["logy"], sm.add_constant(frame["x"])).fit()
    stud = _studentized_residuals(fit)
    fig = new_figure(9.5, 6, note)
    ax = fig.add_subplot()
    continents = sorted(frame["continent"].unique())
    cmap = matplotlib.colormaps["tab10"]
    for i, cont in enumerate(continents):
        sub = frame[frame["continent"] == cont]
        ax.scatter(sub["x"], np.exp(sub["logy"]), s=22, color=cmap(i % 10), label=cont,
                   alpha=0.85, edgecolor="white", linewidth=0.4)
    grid = np.linspace(frame["x"].min(), frame["x"].max(), 100)
    pred = fit.get_prediction(sm.add_constant(pd.Series(grid, name="x"), has_constant="add"))
    band = pred.summary_frame(alpha=0.05)
    ax.plot(grid, np.exp(band["mean"]), color="black", lw=1.5,
            label=f"OLS fit: slope {fit.params['x']:.3g} (log units)")
    ax.fill_between(grid, np.exp(band["mean_ci_lower"]), np.exp(band["mean_ci_upper"]),
                    color="black", alpha=0.15, label="95 % confidence band")
    ax.set_yscale("log")
    y = np.exp(frame["logy"])
    log_ticks(ax.yaxis, float(y.min()) / 1.3, float(y.max()) * 1.3)
    ax.set_ylim(float(y.min()) / 1.3, float(y.max()) * 1.3)
    ax.set_xlabel(label(exposure))
    ax.set_ylabel(f"{label(outcome)} (log scale)" + (f"\n{what}" if what else ""))
    n = n_note(len(frame), run_n(table, outcome), f"regions with {label(exposure)}")
    ax.set_title(f"{label(outcome)} vs {label(exposure)}\n({n}, R² = {fit.rsquared:.2f})"
                 .replace("_", " "), fontsize=11)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    picks = _label_rows(frame, stud, n_labels)
    texts = [ax.text(frame["x"].iloc[i], math.exp(frame["logy"].iloc[i]),
                     frame["label"].iloc[i], fontsize=7, gid="point-label") for i in picks]
    place_labels(fig, ax, texts, frame["x"].to_numpy(), np.exp(frame["logy"].to_numpy()))
    return fig


def scatter_with_fit(
    out_dir: str | Path,
    table: pd.DataFrame,
    exposure: str,
    *,
    outcome: str = OUTCOME,
    n_labels: int = 5,
    meta: Mapping[str, Any] | None = None,
    stem: str | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """Scatter of log prevalence against an exposure with the OLS line and its 95 % band.

    Points are coloured by continent; the ``n_labels`` regions with the largest
    absolute externally studentised residual, and the extreme points, are labelled
    with their ISO3 code without overlaps.

    Parameters
    ----------
    out_dir, meta
        Output folder and run metadata (footnote).
    table
        Analysis table with ``exposure``, ``outcome``, ``iso3`` and ``continent``.
    exposure, outcome
        Column names; the outcome is log-transformed (non-positive values dropped).
    n_labels
        How many outliers to label.
    stem
        File name stem (default ``scatter_<exposure>``).

    formats
        Formats to write, ``"png"`` and/or ``"svg"``.

    Returns
    -------
    list of Path
        The paths written, one per format in ``formats``.
    """
    what = (meta or {}).get("outcome_label") if outcome == OUTCOME else None
    note = source_note(meta, columns=[outcome, exposure])
    fig = _draw_scatter(table, exposure, outcome, n_labels, note, what)
    return save(fig, out_dir, stem or f"scatter_{exposure}",
                f"{label(outcome)} vs {label(exposure)}",
                "OLS of log prevalence on the exposure with its 95 % confidence band; "
                f"labels mark the {n_labels} largest studentised residuals and the extreme "
                "points." + _definition(exposure), formats=formats)
