"""Correlations of log MS prevalence with each exposure, with bootstrap CIs.

Pearson's r and Spearman's rho between ``log_prevalence`` and each exposure (and
``abs_latitude``), each with a 95 % percentile bootstrap CI (regions resampled
with replacement, a fixed seed) and a p-value (the exact t-test for Pearson,
:func:`scipy.stats.spearmanr` for Spearman).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from geo_ms._parallel import cores, run_threads
from geo_ms.models._table import (
    log_outcome_name,
    make_row,
    prepare,
    rows_to_frame,
    select_subset,
)

__all__ = ["bootstrap_ci", "correlations", "pearson_p", "resample_counts", "resample_index"]


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


#: Resample-count matrices kept for reuse, keyed by (n, n_boot, seed): every bootstrap
#: of a run with the same number of regions shares one matrix.
_COUNTS_CACHE: dict[tuple[int, int, int], np.ndarray] = {}
_COUNTS_CACHE_BYTES = 512 * 2**20
#: Resample x region cells handled at once (a few cache-sized temporaries).
_CHUNK_CELLS = 1 << 18
#: Threads of the bootstrap loop, and the resamples x regions below which one runs it.
_N_THREADS = min(4, cores())
_THREAD_MIN_CELLS = 1 << 22


def resample_index(n: int, n_boot: int, seed: int) -> np.ndarray:
    """The bootstrap's resamples: ``default_rng(seed).integers(0, n, (n_boot, n))``.

    int32, which draws the same values as the default int64 (the bounded generator
    is the same below 2**32) in half the memory.

    >>> bool((resample_index(5, 3, 1) == np.random.default_rng(1).integers(0, 5, (3, 5))).all())
    True
    """
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n), dtype=np.int32)


def resample_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each region is drawn in each resample of :func:`resample_index`.

    ``counts[b, i]`` (uint8, uint16 if a count exceeds 255); computed once per
    ``(n, n_boot, seed)`` and shared, read-only, by every bootstrap of a run on *n*
    regions (n_boot x n bytes: 100 MB for 2,000 resamples of 50,000 regions).

    >>> resample_counts(4, 2, 0).tolist(), resample_index(4, 2, 0).tolist()
    ([[0, 1, 2, 1], [3, 1, 0, 0]], [[3, 2, 2, 1], [1, 0, 0, 0]])
    """
    key = (int(n), int(n_boot), int(seed))
    counts = _COUNTS_CACHE.get(key)
    if counts is None:
        idx = resample_index(n, n_boot, seed)
        counts = np.empty((n_boot, n), dtype=np.uint16)
        step = max(1, _CHUNK_CELLS // n)
        for a in range(0, n_boot, step):
            block = idx[a:a + step]
            flat = (block + (np.arange(block.shape[0]) * n)[:, None]).ravel()
            counts[a:a + step] = np.bincount(flat, minlength=block.size).reshape(block.shape)
        del idx
        if counts.max() <= 255:
            counts = counts.astype(np.uint8)
        counts.setflags(write=False)
        while _COUNTS_CACHE and (sum(c.nbytes for c in _COUNTS_CACHE.values()) + counts.nbytes
                                 > _COUNTS_CACHE_BYTES):
            _COUNTS_CACHE.pop(next(iter(_COUNTS_CACHE)))
        _COUNTS_CACHE[key] = counts
    return counts


def _tie_starts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort order of *values*, and the sorted positions where a tie group starts."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    new = np.empty(v.size, dtype=bool)
    new[0] = True
    np.not_equal(v[1:], v[:-1], out=new[1:])
    return order, np.flatnonzero(new)


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
    :func:`numpy.random.default_rng` seeded with *seed* (:func:`resample_index`);
    the same resamples serve both coefficients. Resamples with a constant
    variable are ignored.

    Computed from the count of each region in each resample (:func:`resample_counts`,
    shared by every call with the same n) by one compiled loop
    (:func:`geo_ms.models.kernels.resample_correlations`): Pearson's r from
    count-weighted sums of the centred values, Spearman's rho from the average ranks,
    which follow from cumulative counts in sorted order (ties: per tie group). Equal
    to r and rho computed on each resampled array (the resampling sequence is the
    same; the sums differ only by rounding, ~1e-15). Memory: the count matrix
    (n_boot x n bytes) and two arrays of n.

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
    from geo_ms.models.kernels import resample_correlations  # numba: loaded when needed

    counts = resample_counts(n, n_boot, seed)
    r = np.empty(n_boot)
    rho = np.empty(n_boot)
    args = (counts, x - x.mean(), y - y.mean(), *_tie_starts(x), *_tie_starts(y), r, rho)
    threads = min(_N_THREADS, n_boot) if n * n_boot >= _THREAD_MIN_CELLS else 1
    # resamples are independent: each thread takes a range of them
    cuts = np.linspace(0, n_boot, threads + 1).astype(int).tolist()
    run_threads(lambda ab: resample_correlations(*args, *ab), itertools.pairwise(cuts), threads)
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
