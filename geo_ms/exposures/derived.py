"""Derived exposures: all-sky UV from clear-sky UV and cloud cover, cloudiness from GHI.

Three families, each citing its method in its docstring:

* **all-sky UV** — :func:`cloud_modification_factor` (CMF of total cloud cover,
  Kasten & Czeplak 1980 power law by default) and :func:`all_sky_uv` (TEMIS
  clear-sky vitamin-D dose x CMF of CRU cloud cover, on the cloud grid).
* **OMI agreement** — :func:`omi_allsky_ratio` (all-sky / clear-sky erythemal
  daily dose of one OMI OMUVBd day) and :func:`omi_cmf_agreement` (how well the
  CMF predicted from a climatological cloud cover matches that ratio over land).
* **cloudiness from solar radiation** — :func:`clear_sky_ghi` (pvlib Ineichen-Perez
  clear-sky GHI, monthly mean of daily means) and :func:`sunshine_cloudiness`
  (1 - all-sky / clear-sky GHI, the Heliosat cloud index).

Inputs are canonical DataArrays (``docs/architecture.md``); outputs are canonical
too (``name``, ``attrs`` units/long_name/source, CRS EPSG:4326).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from geo_ms.errors import GridError, SchemaError, UnitError
from geo_ms.ingest.readers._canonical import normalize_units

__all__ = [
    "CMF_METHODS",
    "all_sky_uv",
    "clear_sky_ghi",
    "cloud_modification_factor",
    "omi_allsky_ratio",
    "omi_cmf_agreement",
    "sunshine_cloudiness",
]

#: CMF parameterisations ``CMF = 1 - a * c**b`` (c = cloud fraction 0..1) by name.
CMF_METHODS: dict[str, tuple[float, float]] = {
    # Kasten F, Czeplak G (1980) Solar and terrestrial radiation dependent on the
    # amount and type of cloud. Solar Energy 24(2):177-189,
    # doi:10.1016/0038-092X(80)90391-6 — G/G_clear = 1 - 0.75 (N/8)^3.4.
    "kasten_czeplak1980": (0.75, 3.4),
}


# --------------------------------------------------------------------------- helpers


def _label(da: Any, default: str) -> str:
    name = getattr(da, "name", None)
    return str(name) if name is not None else default


def _canonical_out(da: xr.DataArray, name: str, attrs: dict[str, Any]) -> xr.DataArray:
    """Name, attrs and CRS of a derived field."""
    import rioxarray  # noqa: F401  (registers .rio)

    out = da.rename(name)
    out.attrs = attrs
    if "lat" in out.dims and "lon" in out.dims:
        out = out.rio.write_crs("EPSG:4326").rio.set_spatial_dims(x_dim="lon", y_dim="lat")
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


# --------------------------------------------------------------------------- all-sky UV


def cloud_modification_factor(
    cloud_cover_pct: Any,
    *,
    method: str = "kasten_czeplak1980",
    a: float | None = None,
    b: float | None = None,
) -> Any:
    """Cloud modification factor (all-sky / clear-sky irradiance) of total cloud cover.

    ``CMF = 1 - a * c**b`` with ``c`` the cloud fraction (cloud cover / 100).

    Method ``"kasten_czeplak1980"`` (default): ``a = 0.75``, ``b = 3.4``, from
    Kasten F. & Czeplak G. (1980), "Solar and terrestrial radiation dependent on
    the amount and type of cloud", *Solar Energy* 24(2):177-189,
    doi:10.1016/0038-092X(80)90391-6 (10 years of hourly data, Hamburg; the
    cloud amount N in oktas enters as N/8). The formula and its coefficients were
    cross-checked against independent implementations; the DOI and pages could
    not be checked offline. It was fitted to **broadband global (total solar)
    radiation**. Clouds attenuate erythemal / vitamin-D UV less
    than the whole solar spectrum (Josefsson & Landelius 2000, *J. Geophys. Res.*
    105(D4):4927-4935; review: Calbó, Pagès & González 2005, *Rev. Geophys.* 43,
    RG2002, doi:10.1029/2004RG000155), so for UV this CMF is expected to be too
    low under heavy cloud; UV-specific coefficient sets of the same form
    (e.g. Josefsson & Landelius 2000, den Outer et al. 2010) could not be verified
    offline and are therefore **not** built in — pass them with
    ``method="power_law", a=..., b=...`` (see :func:`omi_cmf_agreement` for an
    empirical check against OMI).

    Parameters
    ----------
    cloud_cover_pct
        Total cloud cover in percent (0-100): scalar, array or DataArray (a
        DataArray with ``attrs["units"]`` must say ``%``). NaN stays NaN.
    method
        A key of :data:`CMF_METHODS`, or ``"power_law"`` with explicit *a*, *b*.
    a, b
        Coefficients for ``method="power_law"`` (or to override a named method).

    Returns
    -------
    float, numpy.ndarray or xarray.DataArray
        The CMF (dimensionless, 1 = clear sky); a DataArray is named ``cmf`` with
        ``units = "1"`` and ``attrs["method"]``.

    Raises
    ------
    UnitError
        Cloud cover not in percent (units attr or values outside 0-100).
    SchemaError
        Unknown method or missing coefficients.

    Examples
    --------
    >>> round(float(cloud_modification_factor(50.0)), 4)  # 1 - 0.75 * 0.5**3.4
    0.929
    >>> cloud_modification_factor(np.array([0.0, 100.0])).tolist()
    [1.0, 0.25]
    >>> round(float(cloud_modification_factor(80.0, method="power_law", a=0.5, b=2.5)), 4)
    0.7138
    """
    label = _label(cloud_cover_pct, "cloud_cover_pct")
    if method == "power_law":
        if a is None or b is None:
            raise SchemaError(
                f"{label}: method 'power_law' needs both coefficients a and b",
                hint="Call cloud_modification_factor(c, method='power_law', a=0.5, b=2.5).",
            )
        coef = (float(a), float(b))
    elif method in CMF_METHODS:
        base = CMF_METHODS[method]
        coef = (float(a) if a is not None else base[0], float(b) if b is not None else base[1])
    else:
        raise SchemaError(
            f"{label}: unknown CMF method {method!r}",
            hint=f"Use one of {', '.join([*CMF_METHODS, 'power_law'])}.",
        )
    _check_percent(cloud_cover_pct, label)
    frac = cloud_cover_pct / 100.0
    cmf = 1.0 - coef[0] * frac ** coef[1]
    if isinstance(cmf, xr.DataArray):
        attrs = {
            "units": "1",
            "long_name": "cloud modification factor (all-sky / clear-sky)",
            "method": f"{method}: CMF = 1 - {coef[0]:g} * (cloud fraction)^{coef[1]:g}",
        }
        if "source" in cloud_cover_pct.attrs:
            attrs["source"] = cloud_cover_pct.attrs["source"]
        cmf = cmf.rename("cmf")
        cmf.attrs = attrs
    return cmf


def all_sky_uv(
    clear_sky: xr.DataArray,
    cloud_cover_pct: xr.DataArray,
    *,
    method: str = "kasten_czeplak1980",
    a: float | None = None,
    b: float | None = None,
) -> xr.DataArray:
    """All-sky vitamin-D UV dose = clear-sky dose x CMF(cloud cover).

    The clear-sky field (TEMIS clear-sky vitamin-D daily dose, 0.25 deg, J m-2;
    van Geffen et al. 2017, doi:10.21944/temis-uv-oper-v2) is **block-averaged
    with cos(lat) area weights onto the grid of the cloud field** (CRU CL 1.0,
    0.5 deg, %, land only; New, Hulme & Jones 1999, *J. Climate* 12:829-856), a
    conservative regridding that needs the fine grid nested in the coarse one.
    The CMF is :func:`cloud_modification_factor` (default Kasten & Czeplak 1980).
    Cells where the cloud field is NaN (ocean) are NaN.

    Parameters
    ----------
    clear_sky
        Clear-sky dose, canonical ``(month, lat, lon)`` or ``(lat, lon)``, J m-2.
    cloud_cover_pct
        Total cloud cover in %, same dims as *clear_sky* (months matched by label),
        on a grid equal to or coarser than (and nested with) *clear_sky*'s.
    method, a, b
        Passed to :func:`cloud_modification_factor`.

    Returns
    -------
    xarray.DataArray
        ``vitd_uv_allsky`` in J m-2 on the cloud grid, CRS EPSG:4326.

    Raises
    ------
    GridError
        Missing lat/lon, mismatched months, or grids that are not nested.
    UnitError
        Clear-sky dose not in J m-2, or cloud cover not in %.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> uv = xr.DataArray(np.full((2, 2), 4000.0), dims=("lat", "lon"),
    ...                   coords={"lat": [0.75, 0.25], "lon": [0.25, 0.75]},
    ...                   attrs={"units": "J m-2"})
    >>> cld = xr.DataArray([[50.0]], dims=("lat", "lon"),
    ...                    coords={"lat": [0.5], "lon": [0.5]}, attrs={"units": "%"})
    >>> round(all_sky_uv(uv, cld).item(), 1)  # 4000 * (1 - 0.75 * 0.5**3.4)
    3715.8
    """
    _check_latlon(clear_sky, "clear_sky")
    _check_latlon(cloud_cover_pct, "cloud_cover_pct")
    units = clear_sky.attrs.get("units")
    if units is not None and normalize_units(units) != "J m-2":
        raise UnitError(
            f"{_label(clear_sky, 'clear_sky')}: clear-sky UV dose must be in J m-2, "
            f"got units {units!r}",
            hint="Convert the dose to J m-2 (kJ m-2 x 1000) and set attrs['units'].",
        )
    has_m_uv, has_m_cl = "month" in clear_sky.dims, "month" in cloud_cover_pct.dims
    if has_m_uv != has_m_cl:
        raise GridError(
            "all_sky_uv: clear_sky and cloud_cover_pct must both have a 'month' dim or neither "
            f"(got {clear_sky.dims} and {cloud_cover_pct.dims})",
            hint="Reduce both to the same period with geo_ms.exposures.climatology first.",
        )
    if has_m_uv:
        mu, mc = clear_sky["month"].values.tolist(), cloud_cover_pct["month"].values.tolist()
        if sorted(mu) != sorted(mc):
            raise GridError(
                f"all_sky_uv: months differ between clear_sky {mu} and cloud_cover_pct {mc}",
                hint="Select the same months in both fields.",
            )
        clear_sky = clear_sky.sel(month=cloud_cover_pct["month"].values)
    regridded = _block_mean(
        clear_sky, cloud_cover_pct, require_all=False, label=_label(clear_sky, "clear_sky")
    )
    cmf = cloud_modification_factor(cloud_cover_pct, method=method, a=a, b=b)
    out = (regridded * cmf).transpose(*cloud_cover_pct.dims)
    coef_doc = cmf.attrs["method"] if isinstance(cmf, xr.DataArray) else method
    src = "+".join(
        s for s in (clear_sky.attrs.get("source"), cloud_cover_pct.attrs.get("source")) if s
    )
    attrs = {
        "units": "J m-2",
        "long_name": "all-sky vitamin-D-weighted daily UV dose (clear-sky x CMF)",
        "source": src or "derived",
        "method": f"clear-sky block-mean (cos lat) onto the cloud grid x {coef_doc}",
    }
    if "period" in cloud_cover_pct.attrs:
        attrs["period"] = cloud_cover_pct.attrs["period"]
    return _canonical_out(out, "vitd_uv_allsky", attrs)


# --------------------------------------------------------------------------- OMI check


def omi_allsky_ratio(omi_ds: xr.Dataset) -> xr.DataArray:
    """All-sky / clear-sky erythemal daily dose of one OMI OMUVBd day.

    ``ErythemalDailyDose / CSErythemalDailyDose`` (OMI/Aura OMUVBd V003, Daily L3
    1x1 deg, doi:10.5067/Aura/OMI/DATA3009) — the satellite's own cloud (and
    aerosol-absorption) modification factor of that day. NaN where either dose is
    missing or the clear-sky dose is not positive (polar night).

    Parameters
    ----------
    omi_ds
        Dataset with ``ErythemalDailyDose`` and ``CSErythemalDailyDose`` on lat/lon
        (as :func:`geo_ms.ingest.readers.read_omi_omuvbd` returns), fills already NaN.

    Returns
    -------
    xarray.DataArray
        ``omi_edd_ratio``, units ``1``.

    Raises
    ------
    SchemaError
        A dose variable is missing.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"ErythemalDailyDose": (("lat", "lon"), [[850.0, 10.0]]),
    ...                  "CSErythemalDailyDose": (("lat", "lon"), [[1000.0, 0.0]])},
    ...                 coords={"lat": [0.5], "lon": [0.5, 1.5]})
    >>> omi_allsky_ratio(ds).values.tolist()
    [[0.85, nan]]
    """
    missing = [v for v in ("ErythemalDailyDose", "CSErythemalDailyDose") if v not in omi_ds]
    if missing:
        raise SchemaError(
            f"OMI dataset: variable(s) {missing} missing (have {sorted(map(str, omi_ds.data_vars))})",
            hint="Read the OMUVBd file with geo_ms.ingest.readers.read_omi_omuvbd(path).",
        )
    edd = omi_ds["ErythemalDailyDose"].astype("float64")
    cs = omi_ds["CSErythemalDailyDose"].astype("float64")
    ratio = (edd / cs.where(cs > 0)).where(np.isfinite(edd))
    attrs = {
        "units": "1",
        "long_name": "OMI all-sky / clear-sky erythemal daily dose",
        "source": omi_ds.attrs.get("source", "omi_omuvbd"),
    }
    return _canonical_out(ratio, "omi_edd_ratio", attrs)


def omi_cmf_agreement(
    omi_ds: xr.Dataset,
    cloud_cover_pct_for_that_month: xr.DataArray,
    land_mask: xr.DataArray | None = None,
    *,
    method: str = "kasten_czeplak1980",
    a: float | None = None,
    b: float | None = None,
) -> dict[str, float | int | str]:
    """Compare the CMF predicted from climatological cloud cover with one OMI day.

    The cloud field (e.g. CRU CL 1.0 October cover, 0.5 deg) is block-averaged with
    cos(lat) weights onto the OMI 1 deg grid, keeping only coarse cells whose
    sub-cells are **all** valid (whole-land cells); its CMF
    (:func:`cloud_modification_factor`) is compared with :func:`omi_allsky_ratio`
    over cells valid in both (and in *land_mask* when given).

    **Caveat:** this sets one OMI day (OMUVBd, e.g. 2024-10-01) against a 30-year
    monthly climatology (CRU CL 1.0 1961-1990): day-to-day weather makes a large
    scatter inevitable; only broad agreement (correlation, bias) is meaningful.
    OMI's ratio also includes absorbing aerosols, and its clear-sky reference
    differs from a broadband one.

    Parameters
    ----------
    omi_ds
        OMUVBd Dataset (see :func:`omi_allsky_ratio`), canonical 1 deg lat/lon.
    cloud_cover_pct_for_that_month
        ``(lat, lon)`` total cloud cover in % for the OMI day's calendar month, on
        a grid nested in OMI's (e.g. 0.5 deg or 1 deg).
    land_mask
        Optional boolean ``(lat, lon)`` mask on the OMI grid (True = use the cell).
    method, a, b
        Passed to :func:`cloud_modification_factor`.

    Returns
    -------
    dict
        ``n_cells``; ``median_abs_diff`` (median of |CMF - ratio|); ``bias`` (mean
        CMF - ratio); ``rmse``; ``correlation`` (Pearson r) and ``spearman``;
        ``mean_cmf`` and ``mean_omi_ratio``; ``method``; ``note`` (the caveat).

    Raises
    ------
    GridError
        A 'month' dim on the cloud field, non-nested grids, or fewer than 3
        common valid cells.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"ErythemalDailyDose": (("lat", "lon"), [[990.0, 900.0, 700.0]]),
    ...                  "CSErythemalDailyDose": (("lat", "lon"), [[1000.0] * 3])},
    ...                 coords={"lat": [0.5], "lon": [0.5, 1.5, 2.5]})
    >>> cld = xr.DataArray([[10.0, 60.0, 90.0]], dims=("lat", "lon"),
    ...                    coords={"lat": [0.5], "lon": [0.5, 1.5, 2.5]}, attrs={"units": "%"})
    >>> res = omi_cmf_agreement(ds, cld)
    >>> res["n_cells"], round(res["correlation"], 3)
    (3, 0.998)
    """
    cloud = cloud_cover_pct_for_that_month
    _check_latlon(cloud, "cloud_cover_pct_for_that_month")
    if set(cloud.dims) != {"lat", "lon"}:
        raise GridError(
            f"{_label(cloud, 'cloud cover')}: expected a single (lat, lon) month, "
            f"got dims {cloud.dims}",
            hint="Select the OMI day's month first, e.g. cld.sel(month=10).",
        )
    ratio = omi_allsky_ratio(omi_ds)
    _check_latlon(ratio, "OMI dataset")
    cloud_on_omi = _block_mean(cloud, ratio, require_all=True, label=_label(cloud, "cloud cover"))
    cmf = cloud_modification_factor(cloud_on_omi.assign_attrs(units="%"), method=method, a=a, b=b)
    ok = np.isfinite(cmf.values) & np.isfinite(ratio.transpose("lat", "lon").values)
    if land_mask is not None:
        lm = land_mask.reindex_like(ratio, method="nearest", tolerance=1e-6)
        ok &= np.asarray(lm.transpose("lat", "lon").fillna(False).values, dtype=bool)
    x = cmf.transpose("lat", "lon").values[ok]
    y = ratio.transpose("lat", "lon").values[ok]
    if x.size < 3:
        raise GridError(
            f"OMI agreement: only {x.size} cell(s) valid in both the OMI ratio and the cloud field",
            hint="Check that both cover the same land area and the cloud field is in %.",
        )
    from scipy.stats import spearmanr

    d = x - y
    return {
        "n_cells": int(x.size),
        "median_abs_diff": float(np.median(np.abs(d))),
        "bias": float(d.mean()),
        "rmse": float(np.sqrt(np.mean(d**2))),
        "correlation": float(np.corrcoef(x, y)[0, 1]),
        "spearman": float(spearmanr(x, y)[0]),
        "mean_cmf": float(x.mean()),
        "mean_omi_ratio": float(y.mean()),
        "method": str(cmf.attrs["method"]),
        "note": f"one OMI day ({omi_ds.attrs.get('date', 'date unknown')}) against a "
        "multi-year monthly cloud climatology: expect large scatter; "
        "read correlation and bias only",
    }


# --------------------------------------------------------------------------- clear-sky GHI


def _pvlib_data_file(name: str) -> Path:
    import pvlib

    return Path(os.path.dirname(pvlib.__file__)) / "data" / name


def _pvlib_index(deg: np.ndarray, coordinate: str) -> np.ndarray:
    """Vectorised ``pvlib.tools._degrees_to_index`` (5' grid of LinkeTurbidities.h5)."""
    if coordinate == "latitude":
        inputmin, inputmax, outputmax = 90.0, -90.0, 2160
    else:
        inputmin, inputmax, outputmax = -180.0, 180.0, 4320
    scale = outputmax / (inputmax - inputmin)
    center = inputmin + 1 / scale / 2
    idx = np.round((np.asarray(deg, dtype="float64") - center) * scale)
    return np.clip(idx, 0, outputmax - 1).astype("int64")


def _h5_rows(path: Path, key: str, rows: np.ndarray) -> np.ndarray:
    import h5py

    uniq, inverse = np.unique(rows, return_inverse=True)
    with h5py.File(path, "r") as fh:
        block = fh[key][uniq.tolist(), ...]
    return block[inverse]


def _linke_turbidity(lat: np.ndarray, lon: np.ndarray, months: Sequence[int]) -> np.ndarray:
    """Monthly Linke turbidity (month, lat, lon) from pvlib's LinkeTurbidities.h5."""
    rows = _pvlib_index(lat, "latitude")
    cols = _pvlib_index(lon, "longitude")
    block = _h5_rows(_pvlib_data_file("LinkeTurbidities.h5"), "LinkeTurbidity", rows)
    lt = block[:, cols, :].astype("float64") / 20.0  # (lat, lon, 12)
    return np.moveaxis(lt[:, :, [m - 1 for m in months]], -1, 0)


def _altitude(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Altitude (lat, lon) in m from pvlib's Altitude.h5 (as pvlib.location.lookup_altitude)."""
    rows = _pvlib_index(lat, "latitude")
    cols = _pvlib_index(lon, "longitude")
    block = _h5_rows(_pvlib_data_file("Altitude.h5"), "Altitude", rows)[:, cols]
    alt = block.astype("float64") * 28.0 - 450.0
    alt[block == 255] = 0.0
    return alt


@functools.lru_cache(maxsize=1)
def _has_linke_file() -> bool:
    return _pvlib_data_file("LinkeTurbidities.h5").is_file()


_MONTH_START_DOY = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30])


def clear_sky_ghi(
    lat: Iterable[float],
    lon: Iterable[float],
    months: Iterable[int] = range(1, 13),
    *,
    model: Literal["auto", "ineichen", "haurwitz"] = "auto",
    days: Sequence[int] = (5, 15, 25),
    step_minutes: float = 30.0,
    altitude: float | Literal["lookup"] = "lookup",
) -> xr.DataArray:
    """Monthly mean of the daily-mean clear-sky GHI on a lat/lon grid (pvlib).

    For each month, the clear-sky GHI is averaged over 24 h of local solar time
    at *step_minutes* steps (mid-interval samples) on the given *days* of the
    month (non-leap year), then over those days.

    * Solar geometry: declination of Spencer (1971) and the analytical zenith
      (``pvlib.solarposition.declination_spencer71`` / ``solar_zenith_analytical``)
      in local solar time — longitude and the equation of time only shift the
      day, which a 24-h mean does not see; refraction is neglected.
    * ``model="ineichen"`` (the default when pvlib ships ``LinkeTurbidities.h5``,
      which it does): Ineichen & Perez (2002), "A new airmass independent
      formulation for the Linke turbidity coefficient", *Solar Energy* 73:151-157,
      via ``pvlib.clearsky.ineichen``, with the
      monthly Linke turbidity climatology of that file (Remund et al. 2003; the
      same values as ``pvlib.clearsky.lookup_linke_turbidity(...,
      interp_turbidity=False)``), Kasten & Young (1989) air mass and extraterrestrial
      irradiance of Spencer (1971) (``pvlib.irradiance.get_extra_radiation``).
      *altitude* ``"lookup"`` reads pvlib's ``Altitude.h5`` at each cell centre (as
      ``pvlib.location.lookup_altitude``); a number is used everywhere.
    * ``model="haurwitz"`` (fallback without the turbidity file): Haurwitz (1945),
      ``GHI = 1098 cos z exp(-0.059 / cos z)`` (``pvlib.clearsky.haurwitz``).

    Parameters
    ----------
    lat, lon
        1-D cell-centre coordinates (degrees north / east) of the output grid.
    months
        Calendar months 1..12.
    model
        ``"auto"``, ``"ineichen"`` or ``"haurwitz"``.
    days
        Days of the month sampled (default 5, 15, 25).
    step_minutes
        Sampling step within the day (default 30 min; must divide 1440).
    altitude
        ``"lookup"`` or a fixed altitude in metres (Ineichen only).

    Returns
    -------
    xarray.DataArray
        ``ghi_clear`` (month, lat, lon) in W m-2, CRS EPSG:4326.

    Raises
    ------
    GridError
        Latitudes outside [-90, 90], bad months/days or a step not dividing a day.

    Examples
    --------
    >>> g = clear_sky_ghi([0.0], [0.0], [3], model="haurwitz", days=(15,))
    >>> round(g.item(), 1)
    319.5
    """
    lat_a = np.atleast_1d(np.asarray(list(lat), dtype="float64"))
    lon_a = np.atleast_1d(np.asarray(list(lon), dtype="float64"))
    month_l = [int(m) for m in months]
    if lat_a.size == 0 or lon_a.size == 0 or np.any(np.abs(lat_a) > 90):
        raise GridError(
            "clear_sky_ghi: latitudes must be non-empty and within [-90, 90]",
            hint="Pass cell-centre coordinates in degrees, e.g. da['lat'].values.",
        )
    lon_a = ((lon_a + 180.0) % 360.0) - 180.0
    if not month_l or any(not 1 <= m <= 12 for m in month_l):
        raise GridError(
            f"clear_sky_ghi: months must be integers 1..12, got {month_l}",
            hint="Use e.g. range(1, 13).",
        )
    if not days or any(not 1 <= int(d) <= 28 for d in days):
        raise GridError(
            f"clear_sky_ghi: days must be day numbers 1..28, got {list(days)}",
            hint="Use e.g. days=(5, 15, 25).",
        )
    n_steps = 1440.0 / step_minutes
    if step_minutes <= 0 or abs(n_steps - round(n_steps)) > 1e-9:
        raise GridError(
            f"clear_sky_ghi: step_minutes={step_minutes} does not divide a day",
            hint="Use a divisor of 1440, e.g. 30 or 15.",
        )
    if model == "auto":
        model = "ineichen" if _has_linke_file() else "haurwitz"
    if model not in ("ineichen", "haurwitz"):
        raise GridError(
            f"clear_sky_ghi: unknown model {model!r}",
            hint="Use 'auto', 'ineichen' or 'haurwitz'.",
        )

    import pvlib

    n_steps = round(n_steps)
    hours = (np.arange(n_steps) + 0.5) * 24.0 / n_steps
    hour_angle = np.deg2rad(15.0 * (hours - 12.0))  # (step,)
    lat_r = np.deg2rad(lat_a)

    if model == "ineichen":
        lt_all = _linke_turbidity(lat_a, lon_a, month_l)  # (month, lat, lon)
        alt = (
            _altitude(lat_a, lon_a)
            if altitude == "lookup"
            else np.full((lat_a.size, lon_a.size), float(altitude))
        )
        pressure = pvlib.atmosphere.alt2pres(alt)

    out = np.zeros((len(month_l), lat_a.size, lon_a.size))
    for i, m in enumerate(month_l):
        for d in days:
            doy = float(_MONTH_START_DOY[m - 1] + int(d))
            decl = float(pvlib.solarposition.declination_spencer71(doy))
            zen = np.rad2deg(
                pvlib.solarposition.solar_zenith_analytical(
                    lat_r[:, None], hour_angle[None, :], decl
                )
            )  # (lat, step)
            dni_extra = float(pvlib.irradiance.get_extra_radiation(doy))
            for k in range(n_steps):
                z = zen[:, k]
                if np.all(z >= 90.0):
                    continue
                if model == "haurwitz":
                    cz = np.cos(np.deg2rad(z))
                    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                        g = np.where(cz > 0, 1098.0 * cz * np.exp(-0.059 / cz), 0.0)
                    out[i] += g[:, None]
                    continue
                zz = np.broadcast_to(z[:, None], alt.shape)
                am_rel = pvlib.atmosphere.get_relative_airmass(zz, model="kastenyoung1989")
                am_abs = pvlib.atmosphere.get_absolute_airmass(am_rel, pressure)
                with np.errstate(divide="ignore", invalid="ignore"):  # night cells -> 0
                    cs = pvlib.clearsky.ineichen(zz, am_abs, lt_all[i], alt, dni_extra)
                out[i] += np.nan_to_num(np.asarray(cs["ghi"], dtype="float64"), nan=0.0)
        out[i] /= len(days) * n_steps
    da = xr.DataArray(
        out,
        dims=("month", "lat", "lon"),
        coords={
            "month": np.asarray(month_l, dtype="int64"),
            "lat": ("lat", lat_a, {"units": "degrees_north"}),
            "lon": ("lon", lon_a, {"units": "degrees_east"}),
        },
    )
    attrs = {
        "units": "W m-2",
        "long_name": "clear-sky global horizontal irradiance, monthly mean of daily means",
        "source": "pvlib",
        "method": (
            f"pvlib {model}"
            + (
                " (LinkeTurbidities.h5 monthly, altitude " + str(altitude) + ")"
                if model == "ineichen"
                else ""
            )
            + f"; days {list(days)} of each month, {step_minutes:g}-min steps"
        ),
    }
    return _canonical_out(da, "ghi_clear", attrs)


def sunshine_cloudiness(
    ghi_allsky: xr.DataArray,
    ghi_clear: xr.DataArray | None = None,
    **clear_sky_kwargs: Any,
) -> xr.DataArray:
    """Cloudiness from solar radiation: ``1 - GHI_all-sky / GHI_clear-sky``, clipped to [0, 1].

    This is the Heliosat cloud index *n* from the clear-sky index ``k* = 1 - n``
    (Beyer, Costanzo & Heinemann 1996, "Modifications of the Heliosat procedure
    for irradiance estimates from satellite images", *Solar Energy* 56(3):207-212;
    volume and pages not checked offline) — an effective radiative cloudiness, not a
    cloud-cover fraction (overcast skies still pass ~25-40 % of GHI, so *n*
    rarely exceeds ~0.7). The all-sky field is typically MERRA-2 monthly mean
    GHI (``merra2_ghi_monthly_2011-2015_3deg_land_from_gsee.nc``, variable ``ghi``).

    Parameters
    ----------
    ghi_allsky
        Monthly (or single) all-sky GHI, W m-2, with lat/lon (and ``month``) dims.
    ghi_clear
        Clear-sky GHI on the same grid; computed with :func:`clear_sky_ghi` on
        *ghi_allsky*'s grid and months when omitted.
    **clear_sky_kwargs
        Passed to :func:`clear_sky_ghi` (e.g. ``model``, ``days``).

    Returns
    -------
    xarray.DataArray
        ``cloudiness_sunshine``, units ``1``, NaN where the all-sky GHI is NaN or
        the clear-sky GHI is not positive (polar night).

    Raises
    ------
    UnitError
        GHI not in W m-2.
    GridError
        No lat/lon, or clear-sky and all-sky grids differ.

    Examples
    --------
    >>> import xarray as xr
    >>> allsky = xr.DataArray([[[150.0, 300.0]]], dims=("month", "lat", "lon"),
    ...     coords={"month": [1], "lat": [0.0], "lon": [0.0, 1.0]}, attrs={"units": "W m-2"})
    >>> clear = xr.DataArray([[[300.0, 250.0]]], dims=("month", "lat", "lon"),
    ...     coords={"month": [1], "lat": [0.0], "lon": [0.0, 1.0]}, attrs={"units": "W m-2"})
    >>> sunshine_cloudiness(allsky, clear).values.ravel().tolist()
    [0.5, 0.0]
    """
    _check_latlon(ghi_allsky, _label(ghi_allsky, "ghi_allsky"))
    for fld, lab in ((ghi_allsky, "ghi_allsky"), (ghi_clear, "ghi_clear")):
        if fld is None:
            continue
        units = fld.attrs.get("units")
        if units is not None and normalize_units(units) != "W m-2":
            raise UnitError(
                f"{_label(fld, lab)}: GHI must be in W m-2, got units {units!r}",
                hint="Convert to W m-2 (e.g. kWh m-2 day-1 x 1000 / 24) and set attrs['units'].",
            )
    if ghi_clear is None:
        months = ghi_allsky["month"].values.tolist() if "month" in ghi_allsky.dims else None
        ghi_clear = clear_sky_ghi(
            ghi_allsky["lat"].values,
            ghi_allsky["lon"].values,
            months if months is not None else range(1, 13),
            **clear_sky_kwargs,
        )
        if months is None:
            from geo_ms.exposures.climatology import annual_mean

            ghi_clear = annual_mean(ghi_clear)
    else:
        _check_latlon(ghi_clear, _label(ghi_clear, "ghi_clear"))
    for axis in ("lat", "lon"):
        a_, c_ = ghi_allsky[axis].values, ghi_clear[axis].values
        if a_.shape != c_.shape or not np.allclose(a_, c_, atol=1e-6):
            raise GridError(
                f"sunshine_cloudiness: '{axis}' of the all-sky and clear-sky GHI differ",
                hint="Compute the clear-sky GHI on the all-sky grid (omit ghi_clear).",
            )
    ghi_clear = ghi_clear.assign_coords(lat=ghi_allsky["lat"], lon=ghi_allsky["lon"])
    if "month" in ghi_allsky.dims:
        ghi_clear = ghi_clear.sel(month=ghi_allsky["month"].values)
    ratio = ghi_allsky.astype("float64") / ghi_clear.where(ghi_clear > 0)
    n = (1.0 - ratio).clip(0.0, 1.0).where(np.isfinite(ratio))
    n = n.transpose(*ghi_allsky.dims)
    attrs = {
        "units": "1",
        "long_name": "cloudiness from solar radiation (1 - all-sky / clear-sky GHI)",
        "source": ghi_allsky.attrs.get("source", "derived"),
        "method": "Heliosat cloud index n = 1 - k* (Beyer et al. 1996); clear sky: "
        + str(ghi_clear.attrs.get("method", "given")),
    }
    if "period" in ghi_allsky.attrs:
        attrs["period"] = ghi_allsky.attrs["period"]
    return _canonical_out(n, "cloudiness_sunshine", attrs)
