"""City sunshine hours per region by point in polygon (exposures.compute.sunshine_hours)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

from geo_ms.config import load_config
from geo_ms.exposures import compute
from geo_ms.exposures.aggregate import EXPOSURES, missing_report
from geo_ms.ingest import datasets

# Packaged sunshine-hours table (sunshine-hours-by-city 0.1.0): Porto 41.15 N 2562 h,
# Lisbon 38.72 N 2799 h, Algarve 37.10 N 2919 h, Funchal (Madeira) 32.65 N 2604 h.
PORTO, LISBON, ALGARVE = 2562.0, 2799.0, 2919.0


@pytest.fixture()
def iberia_cloud(tmp_path, monkeypatch):
    """A CRU-TS-like 0.5° cloud file over lon -10..-6, lat 36..42 (built here)."""
    lat = np.arange(41.75, 36, -0.5)
    lon = np.arange(-9.75, -6, 0.5)
    time = [np.datetime64(f"2001-{m:02d}-16") for m in range(1, 13)]
    cld = np.full((12, lat.size, lon.size), 50.0, dtype="float32")
    path = tmp_path / "cru_ts4.08.2001.2001.cld.dat.nc"
    xr.Dataset({"cld": (("time", "lat", "lon"), cld, {"units": "percentage"})},
               coords={"time": time, "lat": lat, "lon": lon}).to_netcdf(path)
    monkeypatch.setattr(datasets, "_fetch",
                        lambda did: {"cru_ts4.08.1901.2023.cld.dat.nc.gz": path})
    ecfg = {**load_config()["exposures"], "cru_ts_years": [2001, 2001],
            "population_weighting": False, "windows": ["annual"]}
    spec = [s for s in EXPOSURES if s.base == "cloud_cover_cruts_pct"]
    return spec, ecfg


def _run(regions, iberia_cloud):
    spec, ecfg = iberia_cloud
    return compute.compute_exposures(regions, spec, ecfg, say=lambda m: None)


def test_admin1_regions_get_their_own_cities_not_the_country_mean(iberia_cloud):
    # two "states" of one country: before, both got Portugal's mean of all four cities
    reg = gpd.GeoDataFrame(
        {"region_id": ["PT-N", "PT-S", "PT-E"], "iso3": ["PRT"] * 3},
        geometry=[shapely.box(-10, 40, -8, 42), shapely.box(-10, 36, -8, 40),
                  shapely.box(-7.8, 36.2, -6.2, 41.8)], crs="EPSG:4326")
    out = _run(reg, iberia_cloud)
    assert out.loc["PT-N", "sunshine_hours_cities"] == PORTO
    assert out.loc["PT-S", "sunshine_hours_cities"] == (LISBON + ALGARVE) / 2
    assert np.isnan(out.loc["PT-E", "sunshine_hours_cities"])
    assert out.loc["PT-N", "cloud_cover_cruts_pct"] == pytest.approx(50.0)


def test_user_polygons_without_iso3_get_city_values_and_a_true_reason(iberia_cloud):
    reg = gpd.GeoDataFrame({"region_id": ["north", "inland"], "name": ["North", "Inland"]},
                           geometry=[shapely.box(-10, 40, -8, 42), shapely.box(-7.8, 36.2, -6.2, 41.8)],
                           crs="EPSG:4326")
    out = _run(reg, iberia_cloud)
    assert out.loc["north", "sunshine_hours_cities"] == PORTO
    miss = missing_report(out, reg).set_index("region_id")
    assert list(miss.index) == ["inland"]
    assert miss.loc["inland", "missing"] == "sunshine_hours_cities"
    assert miss.loc["inland", "reason"] == (
        "no city of the sunshine-hours table (sunshine-hours-by-city) lies inside the region")


def test_a_city_on_a_shared_border_counts_once():
    reg = gpd.GeoDataFrame({"region_id": ["W", "E"]}, crs="EPSG:4326",
                           geometry=[shapely.box(-10, 40, -8.61, 42), shapely.box(-8.61, 40, -7, 42)])
    cities = pd.DataFrame({"lat": [41.15], "lon": [-8.61], "annual_hours": [PORTO]})
    out = compute.sunshine_hours(reg, cities)
    assert out.notna().sum() == 1 and out.loc["W"] == PORTO


def test_a_coastal_city_just_offshore_joins_the_nearest_region():
    # Copenhagen's rounded coordinates (55.68 N, 12.57 E) fall just off Natural Earth's
    # coastline; a city 0.05° off a polygon joins it, one 0.5° off joins none
    reg = gpd.GeoDataFrame({"region_id": ["land"]}, crs="EPSG:4326",
                           geometry=[shapely.box(10, 55, 12.52, 56)])
    cities = pd.DataFrame({"lat": [55.68, 55.5], "lon": [12.57, 13.1],
                           "annual_hours": [1775, 9999]})
    assert compute.COAST_TOLERANCE_DEG == 0.1
    assert compute.sunshine_hours(reg, cities).tolist() == [1775.0]
