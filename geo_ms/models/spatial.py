"""Spatial autocorrelation of the regression residuals, and spatial regressions.

Neighbours are the *k* nearest regions by great-circle distance between label
points (``lon``, ``lat``): the points are projected to 3-D unit vectors, where the
straight-line (chord) distance orders neighbours exactly as the arc distance
does; the weights are row-standardised (:func:`knn_weights`).

On the OLS residuals (by default of the model adjusted for latitude and log GDP)
we compute Moran's I with its expectation and variance for regression residuals
(Cliff & Ord 1981; :class:`spreg.diagnostics_sp.MoranRes`: E[I] = n tr(MW) /
(S0 (n - k)), not the -1/(n-1) of a raw variable) and a **two-sided** normal
p-value; the seeded permutation pseudo p-value of :class:`esda.Moran` (one-sided,
"more clustered than random") is given in the note. Then the Lagrange-multiplier tests (:class:`spreg.LMtests`: LM-error, LM-lag and
their robust forms). If the residuals are autocorrelated (Moran p < *alpha*), the
maximum-likelihood spatial error (:class:`spreg.ML_Error`) and spatial lag
(:class:`spreg.ML_Lag`) models are fitted and the exposure's coefficient is
reported beside the OLS one.

Scale: the weights are a sparse :class:`libpysal.weights.W` (k entries per row) and
Moran's I, its Cliff-Ord moments and the LM tests use only sparse products. The ML
models take the log-Jacobian log|I - λW| from W's eigenvalues computed once
(``method="ord"``) up to 400 regions and from a sparse LU decomposition
(``method="LU"``) above (spreg's default ``"full"`` builds a dense n × n
determinant at every likelihood evaluation), but spreg's
asymptotic variance of λ / ρ still inverts I - λW, which fills in to n × n: above
``ml_max_n`` regions (``[models] spatial_ml_max_n``, default 2,000; about 2 s per
model at 2,000 regions and 23 s at 5,000 on a 2-core machine) the ML models are
skipped with a logged reason and a ``spatial_error`` / ``spatial_lag`` row whose
note says so (estimate NaN).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from geo_ms.errors import SchemaError
from geo_ms.models._table import (
    LOG_GDP,
    float_matrix,
    log_outcome_name,
    make_row,
    prepare,
    rows_to_frame,
    select_subset,
)

__all__ = ["SpatialFit", "fit_spatial", "knn_weights", "ml_model", "moran", "spatial"]

log = logging.getLogger("geo_ms.models")

#: Up to this many regions the ML models take log|I - lambda W| from W's eigenvalues
#: (spreg method="ord"); above it from a sparse LU factorisation (method="LU").
_ORD_MAX_N = 400

#: kNN weights kept for the next fit on the same label points (read-only for callers).
_W_CACHE: dict[tuple[int, bytes], Any] = {}
_W_CACHE_SIZE = 4

_OLS_NAME = {
    (): "ols",
    ("abs_latitude",): "ols_adj_lat",
    ("abs_latitude", LOG_GDP): "ols_adj_lat_gdp",
}


def _unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam = np.radians(np.asarray(lon, dtype=float))
    phi = np.radians(np.asarray(lat, dtype=float))
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def knn_weights(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    k: int = 6,
    ids: Sequence[Any] | None = None,
) -> Any:
    """Row-standardised k-nearest-neighbour weights by great-circle distance.

    Parameters
    ----------
    lon, lat
        Label points in degrees.
    k
        Number of neighbours (must be < number of points).
    ids
        Region ids (default 0..n-1).

    Returns
    -------
    libpysal.weights.W
        With ``transform == "R"``; the same object for the same points, ids and k
        (the last few are kept: read it, do not change it).

    Examples
    --------
    Across the antimeridian, 179°E and 179°W are neighbours:

    >>> w = knn_weights([179.0, -179.0, 0.0, 10.0], [0.0, 0.0, 0.0, 0.0], k=1)
    >>> [int(i) for i in w.neighbors[0]], [int(i) for i in w.neighbors[1]], w.transform
    ([1], [0], 'R')
    """
    import hashlib

    from libpysal.weights import KNN

    xyz = _unit_vectors(np.asarray(lon), np.asarray(lat))
    n = xyz.shape[0]
    if not 0 < k < n:
        raise SchemaError(
            f"spatial weights: k={k} neighbours asked for {n} regions",
            hint="Use fewer neighbours (models.knn) or more regions (k must be < n)",
        )
    id_list = list(ids) if ids is not None else list(range(n))
    # the same label points serve many fits (every exposure with the same missing
    # regions): building W is per-region Python in libpysal, seconds at 35,000 regions
    key = (k, hashlib.blake2b(xyz.tobytes() + repr(id_list).encode(),
                              digest_size=16).digest())
    if key in _W_CACHE:
        return _W_CACHE[key]
    with warnings.catch_warnings():
        # islands make several components; that is fine for Moran's I and the ML models
        warnings.filterwarnings("ignore", message=".*not fully connected.*")
        # silenced: its own connectivity check builds the sparse matrix once more
        w = KNN.from_array(xyz, k=k, ids=id_list, silence_warnings=True)
    w.transform = "R"
    components = w.n_components
    if components > 1:
        log.info("kNN weights (k=%d): %d disconnected components", k, components)
    while len(_W_CACHE) >= _W_CACHE_SIZE:
        _W_CACHE.pop(next(iter(_W_CACHE)))
    _W_CACHE[key] = w
    return w


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    # esda draws permutations from NumPy's global generator: seed it, then restore it.
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def moran(values: np.ndarray, w: Any, *, permutations: int = 999, seed: int = 20161) -> Any:
    """Moran's I of *values* with a seeded permutation test (:class:`esda.Moran`).

    Examples
    --------
    >>> w = knn_weights(np.arange(30.0), np.zeros(30), k=2)
    >>> mi = moran(np.arange(30.0), w, permutations=99, seed=1)
    >>> round(float(mi.I), 3) > 0.8, float(mi.p_sim)
    (True, 0.01)
    """
    import esda

    with _seeded(seed):
        return esda.Moran(np.asarray(values, dtype=float), w, permutations=permutations)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # spreg's output tables use pandas keywords that pandas 3 deprecates, its ML
    # optimiser warns about tolerances, spreg 1.9 prints the model class name, and its
    # LU path hands scipy CSR matrices where CSC is faster
    from scipy.sparse import SparseEfficiencyWarning

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        warnings.filterwarnings("ignore", message=".*does not support relative tolerance.*")
        warnings.filterwarnings("ignore", category=SparseEfficiencyWarning)
        yield


@dataclass
class SpatialFit:
    """Residual autocorrelation diagnostics and spatial models for one exposure.

    Attributes
    ----------
    moran_i, moran_p, moran_expected
        Moran's I of the OLS residuals, its two-sided normal p-value and its
        expectation for OLS residuals (Cliff-Ord).
    moran_p_sim
        esda's one-sided permutation pseudo p-value.
    lm
        ``{"lm_error", "lm_lag", "rlm_error", "rlm_lag"}`` → (statistic, p).
    lam, lam_se, rho, rho_se
        Spatial error λ and spatial lag ρ (NaN when not fitted).
    ols, error, lag
        The exposure's (coefficient, ci_low, ci_high, p) in each model
        (``error``/``lag`` None when not fitted).
    ml_skipped
        Why the ML models were skipped for size ("" when they were not).
    """

    exposure: str
    outcome: str
    subset: str
    n: int
    k: int
    covariates: tuple[str, ...]
    permutations: int
    seed: int
    moran_i: float
    moran_p: float
    moran_expected: float
    lm: dict[str, tuple[float, float]]
    ols: tuple[float, float, float, float]
    sd_ratio: float
    error: tuple[float, float, float, float] | None = None
    lag: tuple[float, float, float, float] | None = None
    lam: float = math.nan
    lam_se: float = math.nan
    rho: float = math.nan
    rho_se: float = math.nan
    moran_p_sim: float = math.nan
    notes: list[str] = field(default_factory=list)
    ml_skipped: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The tidy models rows: ``moran_resid``, ``lm_error``, ``lm_lag`` and, when
        fitted, ``spatial_error`` and ``spatial_lag`` (or, when they were skipped for
        size, those rows with a NaN estimate and the reason in the note)."""
        ols_name = _OLS_NAME.get(self.covariates, "ols(" + "+".join(self.covariates) + ")")
        wdesc = f"{self.k}-nearest neighbours (great-circle), row-standardised"
        b, lo, hi, _ = self.ols
        ols_txt = f"OLS ({ols_name}) b={b:.4g} [{lo:.4g}, {hi:.4g}]"
        extra = "; ".join(self.notes)
        rows = [
            make_row(
                "moran_resid", self.subset, self.exposure, self.outcome, self.n, self.moran_i,
                p_value=self.moran_p,
                note=f"Moran's I of {ols_name} residuals; {wdesc}; p two-sided (normal "
                f"approximation, Cliff-Ord moments for OLS residuals); E[I]="
                f"{self.moran_expected:.4f}; permutation pseudo p (one-sided, {self.permutations} "
                f"permutations, seed {self.seed}) = {self.moran_p_sim:.3g}"
                + (f"; {extra}" if extra else ""),
            )
        ]
        for key, robust in (("lm_error", "rlm_error"), ("lm_lag", "rlm_lag")):
            stat, p = self.lm[key]
            rstat, rp = self.lm[robust]
            rows.append(make_row(
                key, self.subset, self.exposure, self.outcome, self.n, stat, p_value=p,
                note=f"LM statistic on {ols_name} residuals; robust {key.replace('_', '-')}"
                f"={rstat:.3f} (p={rp:.3g}); {wdesc}",
            ))
        for name, coef, par, val, se in (
            ("spatial_error", self.error, "lambda", self.lam, self.lam_se),
            ("spatial_lag", self.lag, "rho", self.rho, self.rho_se),
        ):
            if coef is None:
                if self.ml_skipped:
                    rows.append(make_row(name, self.subset, self.exposure, self.outcome,
                                         self.n, math.nan, note=self.ml_skipped))
                continue
            cb, clo, chi, cp = coef
            note = f"ML {name.replace('_', ' ')} model with {ols_name} covariates; {par}="
            note += f"{val:.3f} (SE {se:.3f}); {ols_txt}"
            if name == "spatial_lag" and val < 1:
                note += f"; total impact b/(1-rho)={cb / (1 - val):.4g}"
            rows.append(make_row(name, self.subset, self.exposure, self.outcome, self.n, cb,
                                 clo, chi, cp, cb * self.sd_ratio, note))
        return rows_to_frame(rows)


def ml_model(kind: str, y: np.ndarray, x: np.ndarray, w: Any, method: str) -> Any:
    """spreg's ML spatial ``"error"`` or ``"lag"`` model of *y* on *x* (no constant column).

    The estimates of :class:`spreg.ML_Error` / :class:`spreg.ML_Lag` (the same
    constant handling, ``spreg.check_constant``) from their base classes, with
    ``std_err`` and ``z_stat`` as the full classes set them: the full classes also
    build printed summary tables, which took about a third of each fit's time.
    """
    from spreg import check_constant, diagnostics
    from spreg.ml_error import BaseML_Error
    from spreg.ml_lag import BaseML_Lag

    cls = {"error": BaseML_Error, "lag": BaseML_Lag}[kind]
    with np.errstate(all="ignore"), _quiet():
        model = cls(y, check_constant(x)[0], w, method=method.upper())
    model.std_err = diagnostics.se_betas(model)
    model.z_stat = diagnostics.t_stat(model, z_stat=True)
    return model


def _coef(model: Any, j: int) -> tuple[float, float, float, float]:
    b = float(np.ravel(model.betas)[j])
    se = float(np.ravel(model.std_err)[j])
    z = float(stats.norm.ppf(0.975))
    p = float(model.z_stat[j][1])
    return b, b - z * se, b + z * se, p


def fit_spatial(
    df: pd.DataFrame,
    exposure: str,
    outcome: str = "prevalence_per_100k",
    *,
    k: int = 6,
    covariates: Sequence[str] | None = None,
    subset: str = "all",
    permutations: int = 999,
    seed: int = 20161,
    alpha: float = 0.05,
    always_fit: bool = False,
    ml_max_n: int | None = 2000,
) -> SpatialFit:
    """Moran's I and LM tests of the OLS residuals; spatial models if needed.

    Parameters
    ----------
    df
        The analysis table with label points ``lon`` and ``lat``.
    exposure, outcome
        Columns; the outcome is log-transformed.
    k
        Neighbours of the kNN weights.
    covariates
        OLS covariates besides the exposure. Default: ``abs_latitude`` and
        ``log_gdp_per_capita``, those of them available in *df*.
    subset
        Subset of regions (filter and label).
    permutations, seed
        Moran permutation test.
    alpha
        Spatial models are fitted when Moran's p < *alpha* (or *always_fit*).
    ml_max_n
        Largest number of regions for the ML spatial models (``None``: no limit);
        above it they are skipped with a logged reason (:attr:`SpatialFit.ml_skipped`).

    Returns
    -------
    SpatialFit
    """
    import spreg

    if covariates is None:
        covariates = tuple(
            c for c in ("abs_latitude", LOG_GDP)
            if c in df.columns or (c == LOG_GDP and "gdp_per_capita" in df.columns)
        )
    covariates = tuple(covariates)
    data = select_subset(df, subset)
    frame, dropped = prepare(data, outcome, [exposure, *covariates, "lon", "lat"],
                             what=f"the spatial model of {exposure}")
    lname = log_outcome_name(outcome)
    n = len(frame)
    ids = frame["region_id"].tolist() if "region_id" in frame.columns else None
    w = knn_weights(frame["lon"].to_numpy(), frame["lat"].to_numpy(), k=k, ids=ids)
    y = float_matrix(frame, [lname])
    xnames = [exposure, *covariates]
    x = float_matrix(frame, xnames)
    from spreg import check_constant
    from spreg.ols import BaseOLS

    # the OLS of spreg.OLS without its printed summary (MoranRes and LMtests need its
    # residuals and cross-products)
    ols = BaseOLS(y, check_constant(x)[0])
    resid = np.ravel(ols.u)
    mi = moran(resid, w, permutations=permutations, seed=seed)
    from spreg.diagnostics_sp import MoranRes

    with _quiet():
        mres = MoranRes(ols, w, z=True)
    lmt = spreg.LMtests(ols, w, tests=["lme", "lml", "rlme", "rlml"])
    lm = {
        "lm_error": (float(lmt.lme[0]), float(lmt.lme[1])),
        "lm_lag": (float(lmt.lml[0]), float(lmt.lml[1])),
        "rlm_error": (float(lmt.rlme[0]), float(lmt.rlme[1])),
        "rlm_lag": (float(lmt.rlml[0]), float(lmt.rlml[1])),
    }
    # OLS coefficient with HC3 CI, as in the regression table
    import statsmodels.api as sm

    res = sm.OLS(np.ravel(y), sm.add_constant(x, has_constant="add")).fit(cov_type="HC3",
                                                                         use_t=True)
    lo, hi = (float(v) for v in res.conf_int()[1])  # the exposure follows the constant
    sd_y = float(frame[lname].std(ddof=1))
    fit = SpatialFit(
        exposure=exposure, outcome=lname, subset=subset, n=n, k=k, covariates=covariates,
        permutations=permutations, seed=seed, moran_i=float(mres.I), moran_p=float(mres.p_norm),
        moran_expected=float(mres.eI), moran_p_sim=float(mi.p_sim), lm=lm,
        ols=(float(res.params[1]), lo, hi, float(res.pvalues[1])),
        sd_ratio=float(frame[exposure].std(ddof=1)) / sd_y if sd_y > 0 else math.nan,
    )
    if dropped:
        fit.notes.append(f"{dropped} region(s) dropped for missing values")
    if (fit.moran_p < alpha or always_fit) and ml_max_n is not None and n > ml_max_n:
        fit.ml_skipped = (
            f"ML spatial model skipped: {n} regions > models.spatial_ml_max_n = {ml_max_n} "
            f"(its variance inverts the n x n matrix I - lambda W; raise the key to fit it)")
        log.info("spatial %s (%s): %s", exposure, subset, fit.ml_skipped)
    elif fit.moran_p < alpha or always_fit:
        # log|I - lambda W|: spreg's default "full" takes a dense n x n determinant at
        # every likelihood evaluation; "ord" takes W's eigenvalues once (dense, cheap for
        # a few hundred regions), "LU" a sparse LU factorisation per evaluation
        method = "ord" if n <= _ORD_MAX_N else "LU"
        err = ml_model("error", y, x, w, method)
        lag = ml_model("lag", y, x, w, method)
        fit.error = _coef(err, 1)
        fit.lam = float(np.ravel(err.betas)[-1])
        fit.lam_se = float(np.ravel(err.std_err)[-1])
        fit.lag = _coef(lag, 1)
        fit.rho = float(np.ravel(lag.betas)[-1])
        fit.rho_se = float(np.ravel(lag.std_err)[-1])
    else:
        fit.notes.append(
            f"spatial models not fitted: residual Moran p={fit.moran_p:.3g} >= {alpha}")
    log.info("spatial %s (%s): I=%.3f p=%.3g", exposure, subset, fit.moran_i, fit.moran_p)
    return fit


def spatial(
    df: pd.DataFrame,
    exposure: str,
    k: int = 6,
    outcome: str = "prevalence_per_100k",
    **kwargs: Any,
) -> pd.DataFrame:
    """Tidy rows of :func:`fit_spatial` (``moran_resid``, ``lm_error``, ``lm_lag``,
    and ``spatial_error`` / ``spatial_lag`` when the residuals are autocorrelated).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"lon": rng.uniform(-20, 20, 40), "lat": rng.uniform(-20, 20, 40),
    ...                   "x": rng.normal(size=40)})
    >>> d["prevalence_per_100k"] = np.exp(1 + 0.5 * d["x"] + rng.normal(0, 0.1, 40))
    >>> spatial(d, "x", covariates=(), permutations=99)["model"].tolist()
    ['moran_resid', 'lm_error', 'lm_lag']
    """
    return fit_spatial(df, exposure, outcome, k=k, **kwargs).to_frame()
