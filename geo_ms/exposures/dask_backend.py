"""Dask: zonal means of dask-backed stacks through the coverage weights, chunk by chunk.

The coverage weights ``W`` (regions × cells, :mod:`geo_ms.exposures.weights`) are split once by
the stack's spatial chunks; each chunk ``(bands, rows, cols)`` then contributes its
NaN-aware partial sums ``Σ w·v``, ``Σ w`` and ``Σ area`` over valid cells, and the
partial sums of all chunks are added before dividing. Nothing is loaded whole: a
chunk is read, reduced to ``3 × regions × bands`` numbers and dropped. The result
equals :meth:`CoverageWeights.mean` on the loaded stack (up to summation order).

:func:`get_client` connects to an existing dask.distributed scheduler (the
``--scheduler ADDRESS`` option) or starts a local cluster.

>>> import numpy as np, xarray as xr, geopandas as gpd, shapely, dask.array as dsa
>>> v = dsa.from_array(np.array([[[1.0, 2.0], [3.0, 4.0]]]), chunks=(1, 1, 1))
>>> da = xr.DataArray(v, dims=("month", "lat", "lon"),
...                   coords={"month": [1], "lat": [0.5, -0.5], "lon": [-0.5, 0.5]})
>>> reg = gpd.GeoDataFrame({"region_id": ["top"]}, geometry=[shapely.box(-1, 0, 1, 1)],
...                        crs="EPSG:4326")
>>> zonal_mean_dask(da.rio.write_crs("EPSG:4326"), reg)[1].tolist()
[1.5]
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from geo_ms._parallel import cores
from geo_ms.errors import ConfigError, GridError
from geo_ms.exposures.weights import (
    CoverageWeights,
    _as_dataarray,
    _north_up,
    band_sums,
    coverage_weights,
    grid_spec,
    valid_fractions,
    with_valid_fraction,
)

__all__ = ["LARGE_INPUT_BYTES", "get_client", "weighted_sums", "zonal_mean_dask"]

#: Stacks at least this large (bytes, as float) start a local cluster when no
#: scheduler or client is given; smaller ones use dask's threaded scheduler.
LARGE_INPUT_BYTES = 4 * 1024**3


def get_client(
    scheduler: str | None = None,
    *,
    processes: bool = True,
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
    timeout: float = 10.0,
) -> Any:
    """A :class:`dask.distributed.Client` for *scheduler*, or on a new local cluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:8786``); ``None`` or empty
        (after stripping blanks) starts a :class:`~dask.distributed.LocalCluster`
        owned by the client (closed with it).
    processes
        Local cluster only: worker processes (``True``) or threads in this process.
    n_workers, threads_per_worker
        Local cluster only; by default one worker per core (processes) or one worker
        with a thread per core (threads).
    timeout
        Seconds to wait for the scheduler.

    Raises
    ------
    ConfigError
        The scheduler cannot be reached.

    Examples
    --------
    >>> client = get_client("", processes=False, n_workers=1, threads_per_worker=1)
    >>> client.submit(sum, [1, 2, 3]).result()
    6
    >>> client.close()
    """
    from dask.distributed import Client

    address = (scheduler or "").strip()
    if address:
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"scheduler {address!r}: cannot connect ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())})",
                hint="start it ('dask scheduler'), check the address, or leave the "
                "scheduler option empty to use a local cluster",
            ) from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError) as exc:  # dask raises TimeoutError
            client.close(timeout=2)
            raise ConfigError(
                f"scheduler {address!r}: no worker joined within {timeout:g} s",
                hint="start workers ('dask worker " + address + "'), or leave the scheduler "
                "option empty to use a local cluster") from exc
        return client
    n_cores = cores()
    if n_workers is None:
        n_workers = n_cores if processes else 1
    if threads_per_worker is None:
        threads_per_worker = 1 if processes else n_cores
    return Client(
        processes=processes,
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        # TCP on the loopback only: the in-process transport would look up this
        # machine's outward address first
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        set_as_default=False,
    )


def zonal_mean_dask(
    da: xr.DataArray,
    regions: Any,
    *,
    weights: CoverageWeights | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    id_column: str = "region_id",
    client: Any | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Area-weighted mean of each band of a (dask-backed) raster over each region.

    Parameters
    ----------
    da
        Canonical raster, dims ``(band, lat, lon)`` or ``(lat, lon)`` — or ``(band, y, x)``
        / ``(y, x)`` for a projected user raster — usually backed by dask
        (``xr.open_dataset(..., chunks=...)``); a NumPy-backed one is wrapped with one
        chunk per band.
    regions
        Canonical regions (unused when *weights* is given); for a projected raster, in
        its CRS (:func:`geo_ms.exposures.weights.regions_on_grid`), as for
        :func:`geo_ms.exposures.zonal.zonal_mean`.
    weights
        Coverage weights for *da*'s grid (default: :func:`coverage_weights`, cached).
    cache_dir
        Where the coverage weights are cached on disk.
    client
        A :class:`dask.distributed.Client` to compute on; coverage weights not yet
        cached are built on its workers too, in chunks of regions
        (:func:`geo_ms.exposures.weights.build_parallel`).
    scheduler
        Address of a scheduler to connect to when no *client* is given. With neither,
        stacks of :data:`LARGE_INPUT_BYTES` or more run on a local cluster and
        smaller ones on dask's threaded scheduler.

    Returns
    -------
    pandas.DataFrame
        As :meth:`CoverageWeights.mean` (band columns labelled as in
        :func:`geo_ms.exposures.zonal.zonal_mean`, ``valid_fraction``);
        ``attrs["path"] = "dask"``.
    """
    da = _north_up(_as_dataarray(da))
    owned = None
    if client is None and (scheduler or "").strip():
        client = owned = get_client(scheduler)
    try:
        return _zonal_mean_dask(da, regions, weights, cache_dir, id_column, client)
    finally:
        if owned is not None:
            owned.close()


def _zonal_mean_dask(da: xr.DataArray, regions: Any, weights: CoverageWeights | None,
                     cache_dir: str | os.PathLike[str] | None, id_column: str,
                     client: Any) -> pd.DataFrame:
    if weights is None and not grid_spec(da).projected:
        from geo_ms.exposures.zonal import _wrapped  # parts beyond ±180°, as zonal_mean

        regions = _wrapped(regions)  # (a projected grid gets regions already in its CRS)
    # with a scheduler the weights (when not cached) are built on its workers too
    cw = weights if weights is not None else coverage_weights(
        da, regions, cache_dir, id_column=id_column, client=client
    )
    band_dim, labels, stack = _dask_bands(da)
    if (stack.shape[1], stack.shape[2]) != (cw.grid.ny, cw.grid.nx):
        raise GridError(
            f"raster {da.name!r}: shape {stack.shape[1:]} differs from the weights' grid "
            f"({cw.grid.ny}, {cw.grid.nx})",
            hint="compute coverage_weights() for this raster's grid",
        )
    g = grid_spec(da)
    if not np.allclose((g.west, g.north, g.dx, g.dy),
                       (cw.grid.west, cw.grid.north, cw.grid.dx, cw.grid.dy),
                       rtol=0, atol=1e-6 * cw.grid.dx):
        raise GridError(
            f"raster {da.name!r}: grid origin (west {g.west:g}, north {g.north:g}, cell "
            f"{g.dx:g}x{g.dy:g}) differs from the weights' grid (west {cw.grid.west:g}, "
            f"north {cw.grid.north:g}, cell {cw.grid.dx:g}x{cw.grid.dy:g})",
            hint="compute coverage_weights() for this raster's grid",
        )
    local = None
    if client is None and stack.size * 8 >= LARGE_INPUT_BYTES:
        client = local = get_client(None, processes=False)
    try:
        num, den, area_valid = weighted_sums(stack, cw, client=client)
    finally:
        if local is not None:
            local.close()
    total = np.asarray(cw.matrix.sum(axis=1), dtype=float).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    frac = valid_fractions(area_valid, total, cw.share)
    out = pd.DataFrame(mean, index=pd.Index(cw.region_ids, name="region_id"), columns=labels)
    out = with_valid_fraction(out, frac, labels)
    out.columns.name = band_dim
    out.attrs["path"] = "dask"
    out.attrs["weights"] = "area"
    return out


def weighted_sums(
    stack: Any, weights: CoverageWeights, *, client: Any | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-aware ``Σ w·v``, ``Σ w`` and ``Σ area`` (regions × bands) of a dask stack.

    *stack* is a ``(bands, ny, nx)`` dask array on the weights' grid (north-up). Each
    chunk is reduced on its own with the weights of its cells; partial sums are added.

    Examples
    --------
    >>> import dask.array as dsa, scipy.sparse as sp
    >>> from geo_ms.exposures.weights import GridSpec
    >>> g = GridSpec(1, 3, 0.0, 1.0, 1.0, 1.0, "")
    >>> cw = CoverageWeights(sp.csr_matrix(np.array([[1.0, 1.0, 2.0]])), ["r"], g, "k")
    >>> v = dsa.from_array(np.array([[[1.0, np.nan, 4.0]]]), chunks=(1, 1, 2))
    >>> [a.tolist() for a in weighted_sums(v, cw)]
    [[[9.0]], [[3.0]], [[3.0]]]
    """
    import dask

    nb, _ny, nx = stack.shape
    n = len(weights.region_ids)
    if nb == 0:
        return np.zeros((n, 0)), np.zeros((n, 0)), np.zeros((n, 0))
    row_edges = np.concatenate([[0], np.cumsum(stack.chunks[1])])
    col_edges = np.concatenate([[0], np.cumsum(stack.chunks[2])])
    pieces = _split_weights(weights.matrix, nx, row_edges, col_edges)
    blocks = stack.to_delayed()
    band_parts = []
    for i in range(blocks.shape[0]):
        parts = [
            dask.delayed(_chunk_sums)(blocks[i, j, k], pieces[j][k], n)
            for j in range(blocks.shape[1])
            for k in range(blocks.shape[2])
            if pieces[j][k] is not None
        ]
        band_parts.append(dask.delayed(_add)(parts, n, stack.chunks[0][i]))
    if client is not None:
        results = client.gather(client.compute(band_parts))
    else:
        results = dask.compute(*band_parts)
    num = np.concatenate([r[0] for r in results], axis=1)
    den = np.concatenate([r[1] for r in results], axis=1)
    area = np.concatenate([r[2] for r in results], axis=1)
    return num, den, area


# --------------------------------------------------------------------------- private


def _dask_bands(da: xr.DataArray) -> tuple[str | None, list[Any], Any]:
    """Band dim, column labels and a ``(bands, ny, nx)`` dask array (lat/lon or, for a
    projected raster, y/x)."""
    import dask.array as dsa

    ydim, xdim = ("y", "x") if "y" in da.dims and "x" in da.dims else ("lat", "lon")
    others = [d for d in da.dims if d not in (ydim, xdim)]
    if ydim not in da.dims or xdim not in da.dims or len(others) > 1:
        raise GridError(
            f"raster {da.name!r}: dims {tuple(da.dims)} are not (band, lat, lon) or (lat, lon)",
            hint="select or stack the extra dims first, e.g. da.sel(...) or "
            "da.stack(band=[...])",
        )
    if not others:
        name = da.name if da.name is not None else "value"
        dim, labels, arr = None, [name], da.transpose(ydim, xdim).data[None]
    else:
        dim = others[0]
        labels = (
            list(da[dim].values.tolist())
            if dim in da.coords
            else list(range(1, da.sizes[dim] + 1))
        )
        arr = da.transpose(dim, ydim, xdim).data
    if not isinstance(arr, dsa.Array):
        arr = dsa.from_array(np.asarray(arr), chunks=(1, -1, -1))
    return (None if dim is None else str(dim)), labels, arr


def _split_weights(
    w: sp.csr_matrix, nx: int, row_edges: np.ndarray, col_edges: np.ndarray
) -> list[list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]] | None]]:
    """The weights' entries of each spatial chunk: ``(rows, local cells, values, shape)``."""
    coo = w.tocoo()
    cell = coo.col.astype(np.int64)
    r, c = cell // nx, cell % nx
    bj = np.searchsorted(row_edges, r, side="right") - 1
    bk = np.searchsorted(col_edges, c, side="right") - 1
    nk = len(col_edges) - 1
    block = bj * nk + bk
    order = np.argsort(block, kind="stable")
    starts = np.searchsorted(block[order], np.arange((len(row_edges) - 1) * nk + 1))
    out: list[list[Any]] = []
    for j in range(len(row_edges) - 1):
        row: list[Any] = []
        for k in range(nk):
            sel = order[starts[j * nk + k] : starts[j * nk + k + 1]]
            if sel.size == 0:
                row.append(None)
                continue
            h = int(row_edges[j + 1] - row_edges[j])
            wd = int(col_edges[k + 1] - col_edges[k])
            local = (r[sel] - row_edges[j]) * wd + (c[sel] - col_edges[k])
            row.append((coo.row[sel], local, coo.data[sel], (h, wd)))
        out.append(row)
    return out


def _chunk_sums(
    block: np.ndarray, piece: tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, local, data, (h, wd) = piece
    w = sp.csr_matrix((data, (rows, local)), shape=(n, h * wd))
    return band_sums(w, w, np.asarray(block).reshape(block.shape[0], -1))


def _add(parts: list[tuple[np.ndarray, ...]], n: int, nb: int) -> tuple[np.ndarray, ...]:
    acc = [np.zeros((n, nb)) for _ in range(3)]
    for p in parts:
        for i in range(3):
            acc[i] += p[i]
    return tuple(acc)
