"""Correlation CIs that respect space: Dutilleul's effective sample size.

Neighbouring countries share climate and MS prevalence, so n countries carry less
information than n independent draws. Dutilleul's modified t-test (Dutilleul 1993,
after Clifford, Richardson & Hémon 1989) estimates the variance of Pearson's r under
the two variables' spatial autocorrelation and turns it into an *effective sample
size*:

.. math::

   \\widehat{\\mathrm{Var}}(r) = \\frac{\\mathrm{tr}(B\\hat\\Sigma_x B\\hat\\Sigma_y)}
   {\\mathrm{tr}(B\\hat\\Sigma_x)\\,\\mathrm{tr}(B\\hat\\Sigma_y)},\\qquad
   n_\\text{eff} = 1 + 1/\\widehat{\\mathrm{Var}}(r),

with :math:`B = I - 11^\\top/n` and :math:`\\hat\\Sigma` the autocorrelation matrix
whose (i, j) entry is the variable's Moran-type autocorrelation in the distance class
of the pair (i, j) (great-circle distances between the label points; equal-frequency
classes, their number by Sturges' rule on the number of pairs). For independent data
``n_eff`` ≈ n. The spatially corrected CI is Fisher's z interval with ``n_eff`` in place
of n (:func:`spatial_corr_ci`); partial correlations use residuals on the controls and
``n_eff - k`` (:func:`spatial_partial_ci`).

Distance classes. Each class holds the same number of pairs (edges = quantiles of
the n(n-1)/2 pair distances; 16 classes on 200 points, 31 on 50,000). SpatialPack's
``modified.ttest`` (the R implementation of Dutilleul's test) defaults to 13
equal-width classes from 0 to the largest distance; on a worldwide set of regions
its far classes hold few pairs (antipodal countries) whose autocorrelation estimates
are noisy, while the near classes, where the autocorrelation is, are coarse.
Equal-frequency classes give every class's estimate the same number of pairs and
resolve short distances finely. ``tests/test_models_spatial_ci.py`` computes both on
one SAR field (ρ = 0.8, 200 points): n_eff = 32.7 with 16 equal-frequency classes,
31.6 with SpatialPack's 13 equal-width classes, 33.9 with 13 equal-frequency classes
(``test_equal_frequency_and_spatialpack_equal_width_classes_on_one_field``).

Scale. Nothing n x n is built: :func:`dutilleul_n_eff` works from the class sums
of centred products, per-class pair counts and per-point class counts, computed in
chunked passes over the pairs (O(n²) time, O(n x classes) memory). Above
``_EXACT_MAX_N`` (5,000) points those passes would take about a minute per set of label
points at 35,000 (and a run asks for dozens of sets), so the same quantities are
estimated from a seeded sample of ``_PARTNERS`` (500) partners per point (O(n x 500):
edges = quantiles of the sampled distances, class autocorrelations = class means over
the sampled pairs, partner counts scaled, the sum of their products corrected to be
unbiased); on 3,000 and 9,000 points it stays within ~2 % of the exact value
(``test_sampled_pairs_above_the_exact_size_agree_with_the_exact_n_eff``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
from scipy import stats

from geo_ms.models.adjust import residualise

__all__ = [
    "dutilleul_n_eff",
    "fisher_ci",
    "great_circle_km",
    "spatial_corr_ci",
    "spatial_partial_ci",
]

_EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray) -> np.ndarray:
    """Matrix of great-circle (haversine) distances in km between points.

    >>> d = great_circle_km([0.0, 0.0, 180.0], [0.0, 90.0, 0.0])
    >>> [round(float(v)) for v in d[0]]
    [0, 10008, 20015]
    """
    lam = np.radians(np.asarray(lon, dtype=float))
    phi = np.radians(np.asarray(lat, dtype=float))
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


#: Pair distances handled at once by the chunked passes (memory ~ 10 x this x 8 bytes).
_CHUNK_PAIRS = 2_000_000
#: Fine bins of s = -cos(angle) in [-1, 1] used to locate the class edges.
_FINE = 1 << 16
_DUMP = _FINE + 2  # bin of the pairs a block must not count (j <= i)
#: Above this many points n_eff comes from a seeded sample of pairs
#: (:class:`_SampledClasses`, O(n x _PARTNERS)): the exact passes are O(n²), about a
#: minute per set of label points at 35,000 on one core, and a run asks for dozens.
_EXACT_MAX_N = 5_000
#: Partners drawn per point above _EXACT_MAX_N, and the seed of the draws.
_PARTNERS = 500
_SAMPLE_SEED = 20161
#: Class structures kept for reuse (the same label points serve several calls: a
#: default run asks for ~240 structures of ~85 sets of points), up to this many bytes.
_STRUCT_CACHE: dict[tuple[int, int, bytes], _Classes | _SampledClasses] = {}
_STRUCT_CACHE_BYTES = 128 * 2**20
#: n_eff already computed, by a digest of (x, y, lon, lat, n_classes): the claims and
#: the triangulation ask for the same correlation several times.
_RESULT_CACHE: dict[bytes, float] = {}
_RESULT_CACHE_SIZE = 256


class _Classes:
    """Equal-frequency distance classes of one set of label points, without the
    n x n matrix: class edges (km), pair counts per class, and per point the number
    of partners in each class (``point_counts``, n x C)."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, n_classes: int | None) -> None:
        self.lam = np.radians(np.asarray(lon, dtype=float))
        self.phi = np.radians(np.asarray(lat, dtype=float))
        self.cos_phi = np.cos(self.phi)
        n = self.n = self.phi.size
        self.xyz = np.column_stack([self.cos_phi * np.cos(self.lam),
                                    self.cos_phi * np.sin(self.lam), np.sin(self.phi)])
        n_pairs = n * (n - 1) // 2
        if n_classes is None:
            n_classes = math.ceil(1 + math.log2(max(n_pairs, 1)))
        self.n_classes = int(n_classes)
        self.edges = self._edges(n_pairs)
        self.point_counts: np.ndarray | None = None
        self.pair_counts: np.ndarray | None = None

    # -- pair blocks --------------------------------------------------------------
    def _blocks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """(first row a, rows m, fine bin of every pair (a + r, a + c), c indexing
        columns a..n-1); pairs with column <= row are put in the dump bin."""
        n = self.n
        step = max(1, _CHUNK_PAIRS // max(n, 1))
        # (K/2)(1 - cos) in [0, K] grows with distance; the scale is a power of two, so
        # folding it into the product changes no bit; truncation maps [-eps, 0) to bin 0
        scaled = self.xyz.T * (-_FINE / 2)
        for a in range(0, n - 1, step):
            m = min(step, n - a)
            s = self.xyz[a:a + m] @ scaled[:, a:]
            s += _FINE / 2
            k = s.astype(np.intp)
            k[:, :m][np.tri(m, m, dtype=bool)] = _DUMP
            yield a, m, k

    def _km(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        # great_circle_km's haversine, element by element (same operations, same bits)
        dphi = self.phi[i] - self.phi[j]
        dlam = self.lam[i] - self.lam[j]
        a = np.sin(dphi / 2) ** 2 + self.cos_phi[i] * self.cos_phi[j] * np.sin(dlam / 2) ** 2
        return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))

    def _edges(self, n_pairs: int) -> np.ndarray:
        """``np.quantile(d, linspace(0, 1, C + 1)[1:-1])`` of the pair distances d,
        from a histogram pass and a pass collecting the pairs near each quantile."""
        q = np.linspace(0, 1, self.n_classes + 1)[1:-1]
        self.amb_lo = np.zeros(0, dtype=np.intp)
        self.amb_hi = np.zeros(0, dtype=np.intp)
        if q.size == 0:
            return np.zeros(0)
        hist = np.zeros(_DUMP + 1, dtype=np.int64)
        for _, _, k in self._blocks():
            hist += np.bincount(k.ravel(), minlength=_DUMP + 1)
        hist[_DUMP] = 0
        cum = np.cumsum(hist)
        # numpy's "linear" method: virtual index (N - 1) q, its floor and the next one
        virtual = (n_pairs - 1) * q
        prev = np.floor(virtual)
        nxt = prev + 1
        above = virtual >= n_pairs - 1
        prev[above] = nxt[above] = n_pairs - 1
        gamma = virtual - prev
        ranks = np.unique(np.concatenate([prev, nxt]).astype(np.int64))
        rank_bin = np.searchsorted(cum, ranks, side="right")
        lo = np.maximum(rank_bin - 2, 0)
        hi = np.minimum(rank_bin + 2, _FINE + 1)
        want = np.zeros(_DUMP + 1, dtype=bool)
        for a_, b_ in zip(lo, hi, strict=True):
            want[a_:b_ + 1] = True
        ii, jj, kk = [], [], []
        for a, _, k in self._blocks():
            r, c = np.nonzero(want[k])
            ii.append(a + r)
            jj.append(a + c)
            kk.append(k[r, c])
        i_all, j_all, k_all = np.concatenate(ii), np.concatenate(jj), np.concatenate(kk)
        d_all = self._km(i_all, j_all)
        value = {}
        for rank, a_, b_ in zip(ranks, lo, hi, strict=True):
            sel = (k_all >= a_) & (k_all <= b_)
            below = int(cum[a_ - 1]) if a_ > 0 else 0
            d_sorted = np.sort(d_all[sel])
            value[int(rank)] = (float(d_sorted[int(rank) - below]),
                                int(np.argmax(d_all == d_sorted[int(rank) - below])))
        d_prev = np.array([value[int(r)][0] for r in prev])
        d_next = np.array([value[int(r)][0] for r in nxt])
        diff = d_next - d_prev
        edges = d_prev + diff * gamma
        np.subtract(d_next, diff * (1 - gamma), out=edges, where=gamma >= 0.5)
        # fine bins where a pair may fall on either side of an edge: classified exactly
        k_prev = np.array([k_all[value[int(r)][1]] for r in prev])
        k_next = np.array([k_all[value[int(r)][1]] for r in nxt])
        self.amb_lo = np.minimum(k_prev, k_next) - 2
        self.amb_hi = np.maximum(k_prev, k_next) + 2
        return edges

    def _lookup(self) -> np.ndarray:
        """Class of each fine bin; -1 where the bin straddles an edge, C for the dump."""
        bins = np.arange(_DUMP + 1)
        # the number of edge zones ending below each bin
        lut = np.searchsorted(np.sort(self.amb_hi), bins, side="left")
        for a_, b_ in zip(self.amb_lo, self.amb_hi, strict=True):
            lut[max(a_, 0):b_ + 1] = -1
        lut[_DUMP] = self.n_classes
        return lut

    def _structure(self) -> None:
        """Pair counts per class and per point; the pairs of the fine bins that
        straddle an edge, with their exact classes (kept: a few per bin)."""
        n, nc = self.n, self.n_classes
        lut = self._lookup()
        counts = np.zeros(n * (nc + 1))
        amb_i, amb_j, amb_c = [], [], []
        for a, m, k in self._blocks():
            cls = lut[k]
            r, c = np.nonzero(cls < 0)
            if r.size:
                exact = np.searchsorted(self.edges, self._km(a + r, a + c), side="right")
                cls[r, c] = exact
                amb_i.append(a + r)
                amb_j.append(a + c)
                amb_c.append(exact)
            rows = (np.arange(a, a + m) * (nc + 1))[:, None]
            cols = (np.arange(a, n) * (nc + 1))[None, :]
            counts += np.bincount((rows + cls).ravel(), minlength=n * (nc + 1))
            counts += np.bincount((cols + cls).ravel(), minlength=n * (nc + 1))
        pc = counts.reshape(n, nc + 1)[:, :nc]
        self.point_counts = pc
        self.pair_counts = pc.sum(axis=0) / 2.0
        empty = np.zeros(0, dtype=np.intp)
        self.amb_i = np.concatenate(amb_i) if amb_i else empty
        self.amb_j = np.concatenate(amb_j) if amb_j else empty
        self.amb_cls = np.concatenate(amb_c) if amb_c else empty
        # fine bin -> class, with the straddling bins and the dump sent to class C (int16:
        # a cached structure keeps it; there are ~30 classes, never 32,768)
        self.bin_class = np.where(lut < 0, nc, lut).astype(np.int16)

    @property
    def nbytes(self) -> int:
        """Memory held by the structure's arrays."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))

    def sums(self, values: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per class, the sum of v_i v_j over its unordered pairs, for each of *values*:
        one pass summing the products per fine bin, then fine bins to classes, and
        the kept straddling pairs by their exact classes."""
        if self.point_counts is None:
            self._structure()
        nc = self.n_classes
        per_bin = [np.zeros(_DUMP + 1) for _ in values]
        for a, m, k in self._blocks():
            flat = k.ravel()
            for acc, v in zip(per_bin, values, strict=True):
                acc += np.bincount(flat, weights=np.multiply.outer(v[a:a + m], v[a:]).ravel(),
                                   minlength=_DUMP + 1)
        out = []
        for acc, v in zip(per_bin, values, strict=True):
            tot = np.bincount(self.bin_class, weights=acc, minlength=nc + 1)
            tot += np.bincount(self.amb_cls, weights=v[self.amb_i] * v[self.amb_j],
                               minlength=nc + 1)
            out.append(tot[:nc])
        return out


def _class_structure(lon: np.ndarray, lat: np.ndarray, n_classes: int | None) -> _Classes:
    import hashlib

    lon = np.ascontiguousarray(lon, dtype=float)
    lat = np.ascontiguousarray(lat, dtype=float)
    digest = hashlib.blake2b(lon.tobytes() + lat.tobytes(), digest_size=16).digest()
    key = (lon.size, -1 if n_classes is None else int(n_classes), digest)
    hit = _STRUCT_CACHE.get(key)
    if hit is None:
        hit = _Classes(lon, lat, n_classes)
        hit._structure()
        _remember(key, hit)
    return hit


def _remember(key: tuple[int, int, bytes], hit: _Classes | _SampledClasses) -> None:
    """Cache a class structure, dropping the oldest while the cache would exceed
    :data:`_STRUCT_CACHE_BYTES` (the newest is always kept)."""
    while _STRUCT_CACHE and (sum(c.nbytes for c in _STRUCT_CACHE.values()) + hit.nbytes
                             > _STRUCT_CACHE_BYTES):
        _STRUCT_CACHE.pop(next(iter(_STRUCT_CACHE)))
    _STRUCT_CACHE[key] = hit


def dutilleul_n_eff(
    x: np.ndarray,
    y: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    n_classes: int | None = None,
) -> float:
    r"""Dutilleul's effective sample size for the correlation of *x* and *y*.

    Parameters
    ----------
    x, y
        The two variables (no NaN).
    lon, lat
        Label points in degrees.
    n_classes
        Number of equal-frequency distance classes (default: Sturges' rule,
        ``ceil(1 + log2(n (n - 1) / 2))``).

    Returns
    -------
    float
        ``1 + 1 / Var(r)``, clipped to [3, n]: spatial autocorrelation can only
        reduce the information, and Fisher's z needs more than 3.

    Notes
    -----
    With :math:`\hat\Sigma_{ij} = \rho_{c(i,j)}` (1 on the diagonal), :math:`N_c`
    the pairs of class c and :math:`n_{ic}` the partners of point i in class c, the
    traces need no n x n product:

    .. math::

       t = \textstyle\sum_{ij}\hat\Sigma_{ij} = n + 2\sum_c N_c\rho_c,\quad
       r_i = 1 + \textstyle\sum_c n_{ic}\rho_c,\quad
       \mathrm{tr}(B\hat\Sigma) = n - t/n,

       \mathrm{tr}(B\hat\Sigma_x B\hat\Sigma_y) = n + 2\textstyle\sum_c N_c
       \rho^x_c\rho^y_c - \tfrac{2}{n}\sum_i r^x_i r^y_i + t_x t_y/n^2 .

    The class sums :math:`\sum_{(i,j)\in c} z_i z_j` come from chunked passes over
    the pairs (O(n²) time, memory O(n C) plus a block of ``_CHUNK_PAIRS`` pairs);
    the edges are ``np.quantile`` of the n(n-1)/2 great-circle distances, found
    from a histogram pass and the exact distances of the pairs near each quantile.
    The class structure of a set of label points is kept for the next call. Above
    ``_EXACT_MAX_N`` points every quantity comes from a seeded sample of pairs
    (:class:`_SampledClasses`: O(n) time and memory, within ~2 % of the exact value).

    Examples
    --------
    A smooth gradient shared by both variables leaves few effective points:

    >>> lon = np.linspace(0, 40, 60); lat = np.zeros(60)
    >>> rng = np.random.default_rng(0)
    >>> dutilleul_n_eff(lon + rng.normal(size=60), lon + rng.normal(size=60), lon, lat) < 15
    True
    >>> n_iid = dutilleul_n_eff(rng.normal(size=60), rng.normal(size=60), lon, lat)
    >>> 40 < n_iid <= 60
    True
    """
    import hashlib

    x = np.ascontiguousarray(x, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    n = x.size
    if n < 4:
        return float(n)
    lon = np.ascontiguousarray(lon, dtype=float)
    lat = np.ascontiguousarray(lat, dtype=float)
    h = hashlib.blake2b(digest_size=20)
    for arr in (x, y, lon, lat):
        h.update(arr.tobytes())
    h.update(str(n_classes).encode())
    key = h.digest()
    if key in _RESULT_CACHE:
        return _RESULT_CACHE[key]
    if n > _EXACT_MAX_N:
        # the exact pair passes are O(n²): minutes per set of label points at tens of
        # thousands of regions; above _EXACT_MAX_N from a seeded sample of pairs
        value = _n_eff_sampled(x, y, _sampled_structure(lon, lat, n_classes))
    else:
        value = _n_eff(x, y, _class_structure(lon, lat, n_classes))
    while len(_RESULT_CACHE) >= _RESULT_CACHE_SIZE:
        _RESULT_CACHE.pop(next(iter(_RESULT_CACHE)))
    _RESULT_CACHE[key] = value
    return value


def _n_eff(x: np.ndarray, y: np.ndarray, st: _Classes) -> float:
    n = x.size
    zx = x - x.mean()
    zy = y - y.mean()
    sx, sy = st.sums([zx, zy])
    assert st.point_counts is not None and st.pair_counts is not None
    npairs = st.pair_counts
    rhos = []
    for z, s in ((zx, sx), (zy, sy)):
        var = float(z @ z) / n
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(npairs > 0, s / npairs, 0.0) / var if var > 0 else np.zeros_like(s)
        rhos.append(rho)
    rx, ry = rhos
    tx = n + 2.0 * float(npairs @ rx)
    ty = n + 2.0 * float(npairs @ ry)
    row_x = 1.0 + st.point_counts @ rx
    row_y = 1.0 + st.point_counts @ ry
    num = n + 2.0 * float(npairs @ (rx * ry)) - 2.0 / n * float(row_x @ row_y) + tx * ty / n**2
    den = (n - tx / n) * (n - ty / n)
    if not (num > 0 and den > 0):
        return float(n)
    n_eff = 1.0 + den / num
    return float(min(max(n_eff, 3.0), n))


class _SampledClasses:
    """Distance classes of many label points from a seeded sample of pairs (O(n s)).

    Each point draws :data:`_PARTNERS` partners uniformly among the others (with
    replacement); the class edges are the quantiles of the sampled pair distances,
    and per point the partner counts ``k_ic`` of each class are kept (n x C). Memory:
    the partners (int32) and their classes (int16), 6 bytes x n x _PARTNERS."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, n_classes: int | None) -> None:
        lam, phi = np.radians(lon), np.radians(lat)
        n = self.n = phi.size
        xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam),
                               np.sin(phi)])
        self.n_pairs = n * (n - 1) // 2
        self.n_classes = nc = int(n_classes if n_classes is not None
                                  else math.ceil(1 + math.log2(max(self.n_pairs, 1))))
        s = self.partners = _PARTNERS
        rng = np.random.default_rng(_SAMPLE_SEED)
        # partner j of point i: i + U{1..n-1} mod n, uniform among the others
        self.j = ((np.arange(n)[:, None] + rng.integers(1, n, size=(n, s))) % n).astype(
            np.int32)
        # angle between the points (monotone in the great-circle distance), in blocks
        ang = np.empty((n, s), dtype=np.float32)
        step = max(1, _CHUNK_PAIRS // s)
        for a in range(0, n, step):
            dot = np.einsum("ik,ijk->ij", xyz[a:a + step], xyz[self.j[a:a + step]])
            ang[a:a + step] = np.arccos(np.clip(dot, -1.0, 1.0))
        edges = np.quantile(ang, np.linspace(0, 1, nc + 1)[1:-1])
        self.edges = edges * _EARTH_RADIUS_KM
        self.cls = np.searchsorted(edges, ang, side="right").astype(np.int16)
        del ang
        self.sampled = np.bincount(self.cls.ravel(), minlength=nc).astype(float)
        rows = np.repeat(np.arange(n, dtype=np.int64) * nc, s)
        self.point_counts = np.bincount(rows + self.cls.ravel(), minlength=n * nc).reshape(
            n, nc).astype(float)

    @property
    def nbytes(self) -> int:
        """Memory held by the sample's arrays."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))

    def class_means(self, z: np.ndarray) -> np.ndarray:
        """Mean of z_i z_j over the sampled pairs of each class."""
        tot = np.bincount(self.cls.ravel(), weights=(z[:, None] * z[self.j]).ravel(),
                          minlength=self.n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.sampled > 0, tot / self.sampled, 0.0)


def _sampled_structure(lon: np.ndarray, lat: np.ndarray,
                       n_classes: int | None) -> _SampledClasses:
    import hashlib

    digest = hashlib.blake2b(lon.tobytes() + lat.tobytes(), digest_size=16).digest()
    key = (-lon.size, -1 if n_classes is None else int(n_classes), digest)
    hit = _STRUCT_CACHE.get(key)
    if not isinstance(hit, _SampledClasses):
        hit = _SampledClasses(lon, lat, n_classes)
        _remember(key, hit)
    return hit


def _n_eff_sampled(x: np.ndarray, y: np.ndarray, st: _SampledClasses) -> float:
    """:func:`_n_eff` with the class quantities estimated from the sampled pairs.

    The class autocorrelations are the class means of the centred products over the
    sampled pairs divided by the variance; the class pair counts are the sampled
    class shares of the n(n-1)/2 pairs; each point's partner counts are ``K_ic`` ≈
    ``(n-1) k_ic / s``, and the sum of the products ``r_i^x r_i^y`` uses
    ``E[k_c k_d - [c = d] k_c] = s(s-1) p_c p_d`` (multinomial draws) so that it is
    unbiased.
    """
    n, s = x.size, st.partners
    zx = x - x.mean()
    zy = y - y.mean()
    npairs = st.n_pairs * st.sampled / st.sampled.sum()
    rhos = []
    for z in (zx, zy):
        var = float(z @ z) / n
        rhos.append(st.class_means(z) / var if var > 0 else np.zeros(st.n_classes))
    rx, ry = rhos
    f = (n - 1) / s
    g = (n - 1) ** 2 / (s * (s - 1))
    ax, ay = st.point_counts @ rx, st.point_counts @ ry
    axy = st.point_counts @ (rx * ry)
    rr = float(np.sum(1.0 + f * (ax + ay) + g * (ax * ay - axy)))
    tx = n + 2.0 * float(npairs @ rx)
    ty = n + 2.0 * float(npairs @ ry)
    num = n + 2.0 * float(npairs @ (rx * ry)) - 2.0 / n * rr + tx * ty / n**2
    den = (n - tx / n) * (n - ty / n)
    if not (num > 0 and den > 0):
        return float(n)
    return float(min(max(1.0 + den / num, 3.0), n))


def fisher_ci(r: float, n_eff: float, *, k: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Fisher-z CI of a (partial, *k* controls) correlation with *n_eff* points.

    >>> [round(v, 3) for v in fisher_ci(0.5, 103)]
    [0.339, 0.632]
    >>> fisher_ci(0.5, 3)
    (-1.0, 1.0)
    """
    if r is None or math.isnan(r) or math.isnan(n_eff):
        return (math.nan, math.nan)
    if n_eff - k - 3 <= 0:
        return (-1.0, 1.0)
    if abs(r) >= 1:
        return (float(r), float(r))
    zc = float(stats.norm.ppf(0.5 + level / 2.0))
    se = 1.0 / math.sqrt(n_eff - k - 3)
    z = math.atanh(r)
    return (math.tanh(z - zc * se), math.tanh(z + zc * se))


def spatial_corr_ci(
    x: np.ndarray, y: np.ndarray, lon: np.ndarray, lat: np.ndarray, *, level: float = 0.95,
    n_classes: int | None = None,
) -> tuple[float, float, float, float]:
    """Pearson's r with its spatially corrected CI.

    Returns
    -------
    r, ci_low, ci_high, n_eff

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> lon, lat = rng.uniform(-60, 60, 80), rng.uniform(-60, 60, 80)
    >>> x = rng.normal(size=80); y = x + rng.normal(size=80)
    >>> r, lo, hi, n_eff = spatial_corr_ci(x, y, lon, lat)
    >>> lo < r < hi and n_eff > 50
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return (math.nan,) * 4
    r = float(np.corrcoef(x, y)[0, 1])
    n_eff = dutilleul_n_eff(x, y, lon, lat, n_classes=n_classes)
    lo, hi = fisher_ci(r, n_eff, level=level)
    return r, lo, hi, n_eff


def spatial_partial_ci(
    x: np.ndarray, y: np.ndarray, controls: np.ndarray | None, lon: np.ndarray,
    lat: np.ndarray, *, level: float = 0.95,
) -> tuple[float, float, float, float]:
    """Partial correlation of *x* and *y* given *controls*, spatially corrected CI.

    Both are residualised on ``[1, controls]`` (Frisch-Waugh); ``n_eff`` is
    :func:`dutilleul_n_eff` of the residuals; the Fisher interval uses
    ``n_eff - k - 3`` degrees of freedom (k controls).

    Returns
    -------
    r, ci_low, ci_high, n_eff

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> lon, lat = rng.uniform(-60, 60, 80), rng.uniform(-60, 60, 80)
    >>> z = rng.normal(size=80); x = z + rng.normal(size=80); y = z + rng.normal(size=80)
    >>> r, lo, hi, n_eff = spatial_partial_ci(x, y, z[:, None], lon, lat)
    >>> lo < 0 < hi
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    Z = np.ones((n, 1))
    if controls is not None and np.size(controls):
        Z = np.column_stack([Z, np.asarray(controls, dtype=float)])
    k = Z.shape[1] - 1
    if n - k < 4:
        return (math.nan,) * 4
    rx, ry = residualise(Z[:, 1:], x, y)
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return (math.nan,) * 4
    r = float(np.corrcoef(rx, ry)[0, 1])
    n_eff = dutilleul_n_eff(rx, ry, lon, lat)
    lo, hi = fisher_ci(r, n_eff, k=k, level=level)
    return r, lo, hi, n_eff
