"""Mirror files and lat/lon boxes shared by the derived-field tests (rasters/SOURCES.md §9)."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["BOXES", "CRU_FILE", "MERRA_FILE", "OMI_FILE", "TEMIS_FILE", "box_mean", "kc"]

OMI_FILE = "OMI-Aura_L3-OMUVBd_2024m1001_v003-2024m1005t090002.he5"
CRU_FILE = "cru_cl1.0_cld_rad_1961-1990_0.5deg.nc"
TEMIS_FILE = "temis_uvdvc_clearsky_vitd_dose_clim_monthly_0.25deg.nc"
MERRA_FILE = "merra2_ghi_monthly_2011-2015_3deg_land_from_gsee.nc"

# Boxes (lat0, lat1, lon0, lon1) as in rasters/SOURCES.md section 9.
BOXES = {
    "Sahara": (18, 30, 0, 25),
    "UK+IE": (50, 59, -11, 2),
    "Congo": (-5, 5, 15, 30),
    "Amazon": (-10, 0, -70, -50),
}


def box_mean(da: xr.DataArray, box: str) -> float:
    """cos(lat)-weighted mean over a box of a canonical (lat descending) field."""
    la0, la1, lo0, lo1 = BOXES[box]
    sub = da.sel(lat=slice(la1, la0), lon=slice(lo0, lo1))
    w = np.cos(np.deg2rad(sub["lat"]))
    return float(sub.weighted(w).mean())


def kc(c_pct: float) -> float:
    """Kasten & Czeplak cloud modification factor of a cloud cover in percent."""
    return 1.0 - 0.75 * (c_pct / 100.0) ** 3.4
