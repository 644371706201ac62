"""Private helpers shared by the model modules: the tidy row form, the log outcome,
complete-case selection, subsets of regions and exposure detection.

The tidy *models table* has one row per estimate with the columns in
:data:`MODEL_COLUMNS`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo_ms.errors import SchemaError

__all__ = [
    "EXPOSURE_STEMS",
    "MODEL_COLUMNS",
    "MODEL_NAMES",
    "detect_exposures",
    "float_matrix",
    "log_outcome_name",
    "make_row",
    "prepare",
    "rows_to_frame",
    "select_subset",
    "subset_names",
]

log = logging.getLogger("geo_ms.models")

#: Columns of the tidy models table, in order.
MODEL_COLUMNS: tuple[str, ...] = (
    "model",
    "subset",
    "exposure",
    "outcome",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "std_estimate",
    "note",
    "r2",
    "aic",
)

#: Every value the ``model`` column can take.
MODEL_NAMES: tuple[str, ...] = (
    "pearson",
    "spearman",
    "ols",
    "ols_adj_lat",
    "ols_adj_lat_gdp",
    "ols_adj_lat_gdp_income",
    "partial_lat",
    "partial_lat_gdp",
    "moran_resid",
    "lm_error",
    "lm_lag",
    "spatial_error",
    "spatial_lag",
    "vif",
    "loo_influence",
    "ols_adj_lat_gdp_fe",
    "pct_per10_adj",
    "mechanism_clear",
    "mechanism_allsky",
)

#: Name prefixes of exposure columns (cloud, UV, vitamin-D dose, sunlight products).
EXPOSURE_STEMS: tuple[str, ...] = (
    "cloud",
    "uv_",
    "vitd_",
    "ghi",
    "sunshine",
    "radiation",
)

#: Derived covariate: natural log of GDP per capita.
LOG_GDP = "log_gdp_per_capita"


def log_outcome_name(outcome: str) -> str:
    """Name of the log-transformed outcome column.

    ``_per_100k`` is dropped and ``log_`` prefixed.

    >>> log_outcome_name("prevalence_per_100k")
    'log_prevalence'
    >>> log_outcome_name("prevalence_allages_per_100k")
    'log_prevalence_allages'
    >>> log_outcome_name("ms_rate")
    'log_ms_rate'
    """
    stem = re.sub(r"_per_100k$", "", outcome)
    return f"log_{stem}"


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"analysis table: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"needed for {what}",
            hint="Build the table with geo_ms.exposures.aggregate / the pipeline, or pass the name of a "
            f"column that exists (available: {', '.join(map(str, df.columns[:30]))})",
        )


def prepare(
    df: pd.DataFrame, outcome: str, columns: Sequence[str], *, what: str = "the model"
) -> tuple[pd.DataFrame, int]:
    """Complete cases of *outcome* and *columns*, with the log outcome added.

    Adds ``log_<outcome>`` (natural log; see :func:`log_outcome_name`) and, when
    ``log_gdp_per_capita`` is asked for, derives it from ``gdp_per_capita``
    (values <= 0 count as missing). Rows with NaN in any used column are dropped.

    Returns
    -------
    frame, n_dropped
        The complete-case rows (index reset) and how many rows were dropped.

    Raises
    ------
    SchemaError
        A column is missing, or the outcome has values <= 0 (no logarithm).

    >>> d = pd.DataFrame({"prevalence_per_100k": [10.0, 100.0, np.nan], "x": [1.0, 2.0, 3.0]})
    >>> frame, dropped = prepare(d, "prevalence_per_100k", ["x"])
    >>> frame["log_prevalence"].round(3).tolist(), dropped
    ([2.303, 4.605], 1)
    """
    needed = [outcome] + [c for c in columns if c != LOG_GDP]
    derive_gdp = LOG_GDP in columns and LOG_GDP not in df.columns
    if derive_gdp:
        needed.append("gdp_per_capita")
    _require(df, dict.fromkeys(needed), what)
    # numpy throughout: the models call this thousands of times on a wide table, so the
    # new and converted columns are computed on arrays and only the complete rows copied
    y = pd.to_numeric(df[outcome], errors="coerce").astype(float).to_numpy()
    with np.errstate(invalid="ignore"):
        bad = y <= 0
    if bad.any():
        ids = df.loc[bad, "region_id"] if "region_id" in df.columns else df.index[bad]
        shown = ", ".join(map(str, list(ids)[:5]))
        raise SchemaError(
            f"analysis table: column {outcome!r} has {int(bad.sum())} value(s) <= 0 "
            f"(regions {shown}); the model uses its logarithm",
            hint="Prevalence must be > 0 per 100,000: drop or correct those rows (set them "
            "to NaN to exclude them)",
        )
    lname = log_outcome_name(outcome)
    added = {lname: np.log(y)}
    if derive_gdp:
        g = pd.to_numeric(df["gdp_per_capita"], errors="coerce").astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            added[LOG_GDP] = np.log(np.where(g > 0, g, np.nan))
    used = [lname] + list(dict.fromkeys(columns))
    for c in used:
        if c not in added and c != "income_grp" and not pd.api.types.is_numeric_dtype(df[c]):
            added[c] = pd.to_numeric(df[c], errors="coerce").to_numpy()
    keep = np.ones(len(df), dtype=bool)
    for c in used:
        keep &= ~pd.isna(added[c] if c in added else df[c].to_numpy())
    if "income_grp" in used:  # as .astype(str).str.strip() != "", without pandas strings
        keep &= np.array([str(g).strip() != "" for g in df["income_grp"].to_numpy()], dtype=bool)
    rows = np.flatnonzero(keep)
    frame = df.take(rows).reset_index(drop=True)
    for c, values in added.items():
        frame[c] = values[rows]
    return frame, int(len(df) - rows.size)


def float_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The (n, k) float array of *columns*, stacked column by column.

    Equal to ``frame[list(columns)].to_numpy(float)``, which is many times slower on a
    wide frame (it first builds a sub-frame); the models call this thousands of times.

    >>> f = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"]})
    >>> float_matrix(f, ["b", "a"]).tolist(), float_matrix(f, []).shape
    ([[0.5, 1.0], [1.5, 2.0]], (2, 0))
    """
    if not len(columns):
        return np.empty((len(frame), 0))
    return np.column_stack([frame[c].to_numpy(dtype=float) for c in columns])


#: Natural Earth continent names, as subset names (a subset may be empty).
_CONTINENTS: tuple[str, ...] = (
    "africa",
    "antarctica",
    "asia",
    "europe",
    "north_america",
    "oceania",
    "seven_seas_open_ocean",
    "south_america",
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def select_subset(df: pd.DataFrame, subset: str) -> pd.DataFrame:
    """Rows of one named subset of regions.

    ``all``; ``europe`` (``continent == "Europe"``); ``abs_lat_gt_35``
    (``abs_latitude > 35``); any continent by its lower-case, underscored name
    (``africa``, ``south_america``, ...).

    Raises
    ------
    SchemaError
        Unknown subset name, or the column it needs is missing.

    >>> d = pd.DataFrame({"continent": ["Europe", "Asia", "South America"],
    ...                   "abs_latitude": [50.0, 30.0, 10.0]})
    >>> len(select_subset(d, "all")), len(select_subset(d, "abs_lat_gt_35"))
    (3, 1)
    >>> select_subset(d, "south_america")["continent"].tolist()
    ['South America']
    """
    if subset == "all":
        return df
    if subset == "abs_lat_gt_35":
        _require(df, ["abs_latitude"], "subset 'abs_lat_gt_35'")
        return df.loc[pd.to_numeric(df["abs_latitude"], errors="coerce") > 35]
    _require(df, ["continent"], f"subset {subset!r}")
    # slug each continent name once, not each row
    names = {c: _slug(c) for c in df["continent"].unique() if isinstance(c, str)}
    slugs = set(names.values())
    if subset not in slugs | set(_CONTINENTS):
        known = ["all", "abs_lat_gt_35", *sorted((slugs | set(_CONTINENTS)) - {""})]
        raise SchemaError(
            f"analysis table: unknown subset {subset!r}",
            hint=f"Use one of: {', '.join(known)}",
        )
    return df.loc[df["continent"].isin([c for c, slug in names.items() if slug == subset])]


def subset_names(df: pd.DataFrame, *, min_continent: int = 15) -> list[str]:
    """Subsets for the sensitivity analysis.

    ``all``, ``europe``, ``abs_lat_gt_35``, then every other continent with at
    least *min_continent* regions.

    >>> d = pd.DataFrame({"continent": ["Europe"] * 2 + ["Africa"] * 3,
    ...                   "abs_latitude": [50.0, 60.0, 5.0, 10.0, 20.0]})
    >>> subset_names(d, min_continent=3)
    ['all', 'europe', 'abs_lat_gt_35', 'africa']
    """
    names = ["all", "europe", "abs_lat_gt_35"]
    if "continent" in df.columns:
        counts = df["continent"].dropna().map(_slug).value_counts()
        for slug, count in sorted(counts.items()):
            if slug and slug not in names and count >= min_continent:
                names.append(slug)
    return names


def detect_exposures(df: pd.DataFrame) -> list[str]:
    """Numeric columns whose names start with an exposure stem (:data:`EXPOSURE_STEMS`).

    Columns ending in ``valid_fraction`` are coverage diagnostics, not exposures.

    >>> d = pd.DataFrame({"cloud_cover_pct": [1.0], "uv_index": [2.0], "gdp_per_capita": [3.0],
    ...                   "cloud_cover_pct_valid_fraction": [1.0]})
    >>> detect_exposures(d)
    ['cloud_cover_pct', 'uv_index']
    """
    found = []
    for c in df.columns:
        name = str(c)
        if not name.startswith(EXPOSURE_STEMS) or name.endswith("valid_fraction"):
            continue
        if pd.api.types.is_numeric_dtype(df[c]):
            found.append(name)
    return found


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def make_row(
    model: str,
    subset: str,
    exposure: str,
    outcome: str,
    n: int,
    estimate: Any,
    ci_low: Any = None,
    ci_high: Any = None,
    p_value: Any = None,
    std_estimate: Any = None,
    note: str = "",
    r2: Any = None,
    aic: Any = None,
) -> dict[str, Any]:
    """One row of the tidy models table (missing numbers become NaN).

    >>> make_row("pearson", "all", "x", "log_prevalence", 10, 0.5)["ci_low"]
    nan
    """
    return {
        "model": model,
        "subset": subset,
        "exposure": exposure,
        "outcome": outcome,
        "n": int(n),
        "estimate": _num(estimate),
        "ci_low": _num(ci_low),
        "ci_high": _num(ci_high),
        "p_value": _num(p_value),
        "std_estimate": _num(std_estimate),
        "note": note,
        "r2": _num(r2),
        "aic": _num(aic),
    }


def rows_to_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The tidy models table from rows (empty rows give the right columns).

    >>> rows_to_frame([]).columns.tolist()[:3]
    ['model', 'subset', 'exposure']
    """
    rows = list(rows)
    floats = ("estimate", "ci_low", "ci_high", "p_value", "std_estimate", "r2", "aic")
    columns: dict[str, Any] = {}
    for c in MODEL_COLUMNS:
        values = [r.get(c) for r in rows]
        if c == "n":
            columns[c] = np.array(values, dtype="int64")
        elif c in floats:
            columns[c] = np.array(values, dtype=float)
        elif c == "note":
            columns[c] = pd.Series(values, dtype=object).fillna("").astype(str)
        else:  # text: pandas's string dtype (object when there are no rows, as before)
            columns[c] = pd.Series(values, dtype=None if rows else object)
    return pd.DataFrame(columns)
