"""Correlations of log MS prevalence with each exposure, with bootstrap CIs.

Pearson's r and Spearman's rho between ``log_prevalence`` and each exposure (and
``abs_latitude``), each with a 95 % percentile bootstrap CI (regions resampled
with replacement, a fixed seed) and a p-value (the exact t-test for Pearson,
:func:`scipy.stats.spearmanr` for Spearman).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from geo_ms.models._table import (
    log_outcome_name,
    make_row,
    prepare,
    rows_to_frame,
    select_subset,
)

__all__ = ["bootstrap_ci", "correlations", "pearson_p", "resample_index"]


def pearson_p(r: float, n: int) -> float:
    """Two-sided p-value of a Pearson correlation *r* from *n* pairs.

    Uses ``t = r * sqrt((n - 2) / (1 - r**2))`` with ``n - 2`` degrees of freedom.

    Parameters
    ----------
    r
        The correlation coefficient, in [-1, 1].
    n
        Number of pairs (> 2).

    Returns
    -------
    float
        The p-value (NaN when ``n <= 2`` or r is NaN; 0 when ``|r| == 1``).

    Examples
    --------
    >>> round(pearson_p(-0.91, 6), 4)
    0.0118
    >>> round(pearson_p(-0.46, 22), 4)
    0.0312
    >>> round(pearson_p(0.0, 10), 3)
    1.0
    """
    if n <= 2 or r is None or math.isnan(r):
        return math.nan
    if abs(r) >= 1.0:
        return 0.0
    t = r * math.sqrt((n - 2) / (1.0 - r * r))
    return float(2.0 * stats.t.sf(abs(t), n - 2))


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / den
    r[den == 0] = np.nan
    return r


#: Resample-index matrices kept for reuse, keyed by (n, n_boot, seed): every bootstrap
#: of a run with the same number of regions shares one matrix.
_INDEX_CACHE: dict[tuple[int, int, int], np.ndarray] = {}
_INDEX_CACHE_BYTES = 512 * 2**20
#: Resamples processed at once (bounds the temporaries to ~ 6 x rows x n x 8 bytes).
_CHUNK_CELLS = 4_000_000


def resample_index(n: int, n_boot: int, seed: int) -> np.ndarray:
    """The bootstrap's resample indices: ``default_rng(seed).integers(0, n, (n_boot, n))``.

    Computed once per ``(n, n_boot, seed)`` and shared (read-only) by every bootstrap
    of a run on *n* regions; int32, which draws the same values as the default int64
    (the bounded generator is the same below 2**32) in half the memory.

    >>> a = resample_index(5, 3, 1)
    >>> a is resample_index(5, 3, 1), bool((a == np.random.default_rng(1).integers(0, 5, (3, 5))).all())
    (True, True)
    """
    key = (int(n), int(n_boot), int(seed))
    idx = _INDEX_CACHE.get(key)
    if idx is None:
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n), dtype=np.int32)
        idx.setflags(write=False)
        while _INDEX_CACHE and (sum(a.nbytes for a in _INDEX_CACHE.values()) + idx.nbytes
                                > _INDEX_CACHE_BYTES):
            _INDEX_CACHE.pop(next(iter(_INDEX_CACHE)))
        _INDEX_CACHE[key] = idx
    return idx


def _resample_ranks(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(values[idx], axis=1)`` (average ranks) without sorting
    each resample: the ranks follow from how often each tie group of *values* is drawn.
    """
    n_rows, n = idx.shape
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(sorted_vals[1:], sorted_vals[:-1], out=new_group[1:])
    group_of_sorted = np.cumsum(new_group) - 1
    n_groups = int(group_of_sorted[-1]) + 1
    group = np.empty(n, dtype=np.intp)
    group[order] = group_of_sorted
    g = group[idx]  # tie group of every drawn element
    flat = (g + (np.arange(n_rows, dtype=np.intp) * n_groups)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_rows * n_groups).reshape(n_rows, n_groups)
    below = np.cumsum(counts, axis=1) - counts
    avg = below + (counts + 1) / 2.0
    return np.take_along_axis(avg, g, axis=1)


def bootstrap_ci(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 20161,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap CIs of Pearson's r and Spearman's rho.

    Pairs are resampled with replacement *n_boot* times from a
    :func:`numpy.random.default_rng` seeded with *seed* (:func:`resample_index`:
    one index matrix per number of regions, shared by every call); the same
    resamples serve both coefficients. Resamples with a constant variable are
    ignored. Vectorised over blocks of resamples (memory O(block x n)); the ranks
    of each resample come from tie-group counts (:func:`_resample_ranks`), equal to
    :func:`scipy.stats.rankdata` on it.

    Returns
    -------
    dict
        ``{"pearson": (low, high), "spearman": (low, high)}``.

    Examples
    --------
    >>> x = np.arange(20.0); y = x + np.sin(x) * 3
    >>> ci = bootstrap_ci(x, y, n_boot=200, seed=1)
    >>> 0.7 < ci["pearson"][0] < ci["pearson"][1] <= 1.0
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if n < 3 or n_boot < 1:
        return {"pearson": (math.nan, math.nan), "spearman": (math.nan, math.nan)}
    idx_all = resample_index(n, n_boot, seed)
    r = np.empty(n_boot)
    rho = np.empty(n_boot)
    step = max(1, _CHUNK_CELLS // n)
    for a in range(0, n_boot, step):
        idx = idx_all[a:a + step]
        r[a:a + step] = _rowwise_pearson(x[idx], y[idx])
        rho[a:a + step] = _rowwise_pearson(_resample_ranks(x, idx), _resample_ranks(y, idx))
    a = (1.0 - level) / 2.0 * 100.0
    out = {}
    for name, vals in (("pearson", r), ("spearman", rho)):
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            out[name] = (math.nan, math.nan)
        else:
            lo, hi = np.percentile(vals, [a, 100.0 - a])
            out[name] = (float(lo), float(hi))
    return out


def correlations(
    df: pd.DataFrame,
    exposures: Sequence[str],
    outcome: str = "prevalence_per_100k",
    *,
    n_boot: int = 2000,
    seed: int = 20161,
    subset: str = "all",
    with_latitude: bool = True,
) -> pd.DataFrame:
    """Pearson and Spearman correlations of log prevalence with each exposure.

    Parameters
    ----------
    df
        The joined analysis table (one row per region).
    exposures
        Exposure column names; ``abs_latitude`` is added when *with_latitude* and
        present in *df*.
    outcome
        Prevalence column (per 100,000); its natural log is correlated.
    n_boot, seed
        Bootstrap resamples and the seed of the generator (same seed for every
        exposure, so a row does not depend on which other exposures were asked).
    subset
        Name of the subset of regions (see ``select_subset``); used to filter and
        to label the rows.

    Returns
    -------
    pandas.DataFrame
        The tidy models table: two rows (``pearson``, ``spearman``) per exposure;
        ``estimate`` = ``std_estimate`` = the coefficient; ``note`` reports the
        rows dropped for missing values.

    Examples
    --------
    >>> d = pd.DataFrame({"prevalence_per_100k": np.exp(np.arange(12.0)),
    ...                   "x": np.arange(12.0) ** 2})
    >>> out = correlations(d, ["x"], n_boot=100)
    >>> out[["model", "n", "estimate"]].round(3).values.tolist()
    [['pearson', 12, 0.964], ['spearman', 12, 1.0]]
    """
    data = select_subset(df, subset)
    lname = log_outcome_name(outcome)
    cols = list(dict.fromkeys(exposures))
    if with_latitude and "abs_latitude" in df.columns and "abs_latitude" not in cols:
        cols.append("abs_latitude")
    rows = []
    for exposure in cols:
        frame, dropped = prepare(data, outcome, [exposure], what=f"correlation with {exposure}")
        n = len(frame)
        note = f"{dropped} region(s) dropped for missing values" if dropped else ""
        if n < 3:
            for model in ("pearson", "spearman"):
                rows.append(make_row(model, subset, exposure, lname, n, math.nan,
                                     note=(note + "; " if note else "") + "fewer than 3 regions"))
            continue
        x = frame[exposure].to_numpy(float)
        y = frame[lname].to_numpy(float)
        ci = bootstrap_ci(x, y, n_boot=n_boot, seed=seed)
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            r = rho = p_rho = math.nan
        else:
            r = float(np.corrcoef(x, y)[0, 1])
            sp = stats.spearmanr(x, y)
            rho, p_rho = float(sp.statistic), float(sp.pvalue)
        bnote = f"bootstrap 95% percentile CI, {n_boot} resamples, seed {seed}"
        full = f"{bnote}; {note}" if note else bnote
        rows.append(make_row("pearson", subset, exposure, lname, n, r, *ci["pearson"],
                             pearson_p(r, n), r, full))
        rows.append(make_row("spearman", subset, exposure, lname, n, rho, *ci["spearman"],
                             p_rho, rho, full))
    return rows_to_frame(rows)
