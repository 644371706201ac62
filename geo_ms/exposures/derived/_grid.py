"""Shared helpers of the derived exposures: labels, canonical output, nested-grid block means, checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from geo_ms.errors import GridError, UnitError
from geo_ms.ingest.readers._canonical import normalize_units

__all__ = ["_block_mean", "_canonical_out", "_check_latlon", "_check_percent", "_label"]


def _label(da: Any, default: str) -> str:
    name = getattr(da, "name", None)
    return str(name) if name is not None else default


def _canonical_out(da: xr.DataArray, name: str, attrs: dict[str, Any]) -> xr.DataArray:
    """Name, attrs and CRS of a derived field."""
    import rioxarray  # noqa: F401  (registers .rio)

    out = da.rename(name)
    out.attrs = attrs
    if "lat" in out.dims and "lon" in out.dims:
        out.rio.write_crs("EPSG:4326", inplace=True)  # ``out`` is new: no deep copy
        out.rio.set_spatial_dims(x_dim="lon", y_dim="lat", inplace=True)
    return out


def _step(coord: np.ndarray, label: str, axis: str) -> float:
    if coord.size < 2:
        raise GridError(
            f"{label}: '{axis}' has fewer than 2 cells, cannot infer the grid spacing",
            hint="Pass a regular lat/lon grid with at least 2 cells per axis.",
        )
    d = np.diff(coord.astype("float64"))
    if not np.allclose(d, d[0], rtol=1e-6, atol=1e-9):
        raise GridError(
            f"{label}: '{axis}' is not regularly spaced",
            hint="Regrid to a regular lat/lon grid first.",
        )
    return float(d[0])


def _block_factor(src: np.ndarray, dst: np.ndarray, label: str, axis: str) -> tuple[int, int]:
    """Aggregation factor and start offset from *src* cell centres to *dst* cell centres."""
    if src.shape == dst.shape and np.allclose(src, dst, atol=1e-6):
        return 1, 0
    ds = _step(src, label, axis)
    if dst.size == 1:  # one coarse cell: the whole fine axis
        f, start = src.size, 0
    else:
        dd = _step(dst, label, axis)
        if np.sign(ds) != np.sign(dd):
            raise GridError(
                f"{label}: '{axis}' runs in opposite directions on the two grids",
                hint="Canonicalise both rasters (lat descending, lon ascending) first.",
            )
        ratio = dd / ds
        f = round(ratio)
        if f < 1 or abs(ratio - f) > 1e-6:
            raise GridError(
                f"{label}: '{axis}' spacing {abs(dd):g} deg is not a whole multiple of "
                f"{abs(ds):g} deg",
                hint="Bring the finer field to a grid nested in the coarser one first.",
            )
        # centre of the first dst cell must be the centre of the first f src cells
        start = round((dst[0] - (src[0] + (f - 1) * ds / 2.0)) / ds)
    if start < 0 or start + f * dst.size > src.size:
        raise GridError(
            f"{label}: the coarse '{axis}' axis reaches beyond the fine one",
            hint="Subset the coarse field to the extent of the fine one.",
        )
    centres = src[start : start + f * dst.size].astype("float64").reshape(dst.size, f).mean(1)
    if not np.allclose(centres, dst, atol=1e-4 * abs(ds)):
        raise GridError(
            f"{label}: '{axis}' cells of the two grids are not nested",
            hint="Use grids whose coarse cells are exact blocks of fine cells.",
        )
    return f, start


def _block_mean(
    fine: xr.DataArray, coarse: xr.DataArray, *, require_all: bool, label: str
) -> xr.DataArray:
    """Area-weighted (cos lat) block mean of *fine* onto the lat/lon grid of *coarse*.

    ``require_all``: a coarse cell is NaN unless every fine sub-cell is valid
    (otherwise the mean of the valid sub-cells).
    """
    flat, flon = fine["lat"].values, fine["lon"].values
    clat, clon = coarse["lat"].values, coarse["lon"].values
    fy, y0 = _block_factor(flat, clat, label, "lat")
    fx, x0 = _block_factor(flon, clon, label, "lon")
    fine = fine.isel(lat=slice(y0, y0 + fy * clat.size), lon=slice(x0, x0 + fx * clon.size))
    if fy == 1 and fx == 1:
        return fine.assign_coords(lat=clat, lon=clon)
    other = [d for d in fine.dims if d not in ("lat", "lon")]
    fine = fine.transpose(*other, "lat", "lon")
    lead = [fine.sizes[d] for d in other]
    wlat = np.cos(np.deg2rad(fine["lat"].values.astype("float64")))[:, None]
    mean = np.empty((int(np.prod(lead)), clat.size, clon.size))
    block = (clat.size, fy, clon.size, fx)
    stack = np.asarray(fine.values).reshape(-1, fine.sizes["lat"], fine.sizes["lon"])
    for i, layer in enumerate(stack):  # one 2-D field at a time keeps memory low
        vals = layer.astype("float64")
        valid = np.isfinite(vals)
        num = (np.where(valid, vals, 0.0) * wlat).reshape(block).sum(axis=(1, 3))
        den = (valid * wlat).reshape(block).sum(axis=(1, 3))
        n_ok = valid.reshape(block).sum(axis=(1, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            m = num / den
        m[n_ok == 0] = np.nan
        if require_all:
            m[n_ok < fy * fx] = np.nan
        mean[i] = m
    mean = mean.reshape(*lead, clat.size, clon.size)
    coords = {d: fine[d].values for d in other}
    coords.update(lat=clat, lon=clon)
    return xr.DataArray(mean, dims=(*other, "lat", "lon"), coords=coords, attrs=fine.attrs)


def _check_percent(cloud: Any, label: str) -> None:
    units = getattr(cloud, "attrs", {}).get("units")
    if units is not None and normalize_units(units) != "%":
        raise UnitError(
            f"{label}: cloud cover must be in percent, got units {units!r}",
            hint="Multiply a 0-1 fraction by 100 and set attrs['units'] = '%'.",
        )
    vals = np.asarray(cloud, dtype="float64")
    finite = vals[np.isfinite(vals)]
    if finite.size and (finite.min() < 0 or finite.max() > 100):
        raise UnitError(
            f"{label}: cloud cover outside 0-100 % (min {finite.min():g}, max {finite.max():g})",
            hint="Pass total cloud cover in percent (0-100); mask fill values as NaN.",
        )


def _check_latlon(da: Any, label: str) -> None:
    if not isinstance(da, xr.DataArray) or "lat" not in da.dims or "lon" not in da.dims:
        dims = getattr(da, "dims", None)
        raise GridError(
            f"{label}: expected a DataArray with 'lat' and 'lon' dims, got {dims}",
            hint="Open the raster with a geo_ms reader (canonical lat/lon form).",
        )
