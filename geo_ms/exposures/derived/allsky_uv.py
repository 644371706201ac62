"""All-sky UV: cloud modification factor of total cloud cover and all-sky vitamin-D dose.

:func:`cloud_modification_factor` (CMF of total cloud cover, Kasten & Czeplak 1980
power law by default) and :func:`all_sky_uv` (TEMIS clear-sky vitamin-D dose x CMF of
CRU cloud cover, on the cloud grid).
"""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (doctests)
import xarray as xr

from geo_ms.errors import GridError, SchemaError, UnitError
from geo_ms.exposures.derived._grid import (
    _block_mean,
    _canonical_out,
    _check_latlon,
    _check_percent,
    _label,
)
from geo_ms.ingest.readers._canonical import normalize_units

__all__ = ["CMF_METHODS", "all_sky_uv", "cloud_modification_factor"]

#: CMF parameterisations ``CMF = 1 - a * c**b`` (c = cloud fraction 0..1) by name.
CMF_METHODS: dict[str, tuple[float, float]] = {
    # Kasten F, Czeplak G (1980) Solar and terrestrial radiation dependent on the
    # amount and type of cloud. Solar Energy 24(2):177-189,
    # doi:10.1016/0038-092X(80)90391-6 — G/G_clear = 1 - 0.75 (N/8)^3.4.
    "kasten_czeplak1980": (0.75, 3.4),
}



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

