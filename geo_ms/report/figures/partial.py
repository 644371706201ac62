"""Added-variable (partial regression) plots of log prevalence on each exposure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geo_ms.errors import SchemaError
from geo_ms.report.figures._common import (
    DEFAULT_FORMATS,
    OUTCOME,
    label,
    new_figure,
    run_n,
    save,
    source_note,
)
from geo_ms.report.figures.scatter import _fit_frame

__all__ = ["CONTROLS", "partial_regression_plots"]

CONTROLS = ("abs_latitude", "gdp_per_capita")


def _added_variable(frame: pd.DataFrame, controls: Sequence[str]) -> tuple[np.ndarray,
                                                                          np.ndarray, float]:
    """Residualise log y and x on the controls; return (e_x, e_y, slope)."""
    z = np.column_stack([np.ones(len(frame)), *(frame[c].to_numpy() for c in controls)])
    x = frame["x"].to_numpy()
    y = frame["logy"].to_numpy()
    ex = x - z @ np.linalg.lstsq(z, x, rcond=None)[0]
    ey = y - z @ np.linalg.lstsq(z, y, rcond=None)[0]
    slope = float(ex @ ey / (ex @ ex)) if ex @ ex > 0 else float("nan")
    return ex, ey, slope


def _short(column: str) -> str:
    """A label short enough for a panel title (unit kept, source dropped)."""
    text = label(column)
    head, _, rest = text.partition(" (")
    head = head.split(", ")[0]
    return head + (f" ({rest}" if rest else "")


def _draw_partial(table: pd.DataFrame, exposures: Sequence[str], outcome: str,
                  controls: Sequence[str], note: str, what: str | None = None) -> Figure:
    n = len(exposures)
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig = new_figure(5.6 * cols, 4.3 * rows + 0.8, note)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    total = run_n(table, outcome)
    for ax, exposure in zip(axes, exposures, strict=False):
        frame = _fit_frame(table, exposure, outcome, controls)
        ex, ey, slope = _added_variable(frame, controls)
        ax.scatter(ex, ey, s=16, alpha=0.8, color="#3b6ea8", edgecolor="white", linewidth=0.3)
        grid = np.array([ex.min(), ex.max()])
        ax.plot(grid, slope * grid, color="black", lw=1.3, gid=f"avp-{exposure}")
        ax.axhline(0, color="#999999", lw=0.6)
        ax.set_xlabel(f"{_short(exposure)}, given controls", fontsize=9)
        ax.set_ylabel("log prevalence, given controls", fontsize=9)
        nn = f"n = {len(frame)}" + (f" of {total}" if total and total != len(frame) else "")
        ax.set_title(f"{_short(exposure)}: slope {slope:.3g} ({nn})", fontsize=10)
    for ax in axes[n:]:
        ax.set_visible(False)
    ctrl = ", ".join("log GDP per capita" if c == "gdp_per_capita" else label(c)
                     for c in controls)
    of = f" of log prevalence ({what})," if what else ""
    fig.suptitle(f"Added-variable plots{of} given {ctrl}")
    return fig


def partial_regression_plots(
    out_dir: str | Path,
    table: pd.DataFrame,
    exposures: Sequence[str],
    *,
    outcome: str = OUTCOME,
    controls: Sequence[str] = CONTROLS,
    meta: Mapping[str, Any] | None = None,
    stem: str = "partial_regression",
    formats: Sequence[str] = DEFAULT_FORMATS,
) -> list[Path]:
    """Added-variable (partial regression) plots of log prevalence on each exposure.

    Both log prevalence and the exposure are residualised on an intercept and the
    controls (``abs_latitude`` and log ``gdp_per_capita`` by default); by the
    Frisch–Waugh–Lovell theorem the slope in each panel equals the exposure's
    coefficient in the full multiple regression. Panels whose n is below the run's
    n say so (regions lacking the exposure or a control).

    Parameters
    ----------
    out_dir, meta, stem
        Output folder, run metadata (footnote), file stem.
    table
        Analysis table.
    exposures
        Exposure columns, one panel each.
    outcome
        Outcome column (log-transformed).
    controls
        Control columns; ``gdp_per_capita`` is log-transformed.

    formats
        Formats to write, ``"png"`` and/or ``"svg"``.

    Returns
    -------
    list of Path
        The paths written, one per format in ``formats``.
    """
    if not exposures:
        raise SchemaError("partial_regression_plots: no exposure columns given",
                          hint="Pass at least one exposure column of the analysis table.")
    what = (meta or {}).get("outcome_label") if outcome == OUTCOME else None
    note = source_note(meta, columns=[outcome, *exposures, *controls])
    fig = _draw_partial(table, list(exposures), outcome, list(controls), note, what)
    return save(fig, out_dir, stem, "Added-variable plots",
                "Log prevalence and each exposure after removing what |latitude| and "
                "log GDP per capita explain; the slope is the adjusted coefficient. "
                "n is lower where a region lacks the exposure or a control.", formats=formats)
