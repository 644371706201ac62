"""OMI agreement: OMI all-sky / clear-sky ratio and its agreement with the CMF of cloud cover."""

from __future__ import annotations

import numpy as np
import xarray as xr

from geo_ms.errors import GridError, SchemaError
from geo_ms.exposures.derived._grid import _block_mean, _canonical_out, _check_latlon, _label
from geo_ms.exposures.derived.allsky_uv import cloud_modification_factor

__all__ = ["omi_allsky_ratio", "omi_cmf_agreement"]


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

