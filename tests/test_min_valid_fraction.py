"""exposures.min_valid_fraction: a value needs valid cells over enough of the region's area."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

from geo_ms.exposures.aggregate import aggregate_fields, missing_report


def _field() -> xr.DataArray:
    """A 1° field of 20.0 over lon 0..10 E, lat 0..42 N only."""
    lat = np.arange(41.5, 0, -1.0)
    lon = np.arange(0.5, 10, 1.0)
    da = xr.DataArray(np.full((lat.size, lon.size), 20.0), dims=("lat", "lon"),
                      coords={"lat": lat, "lon": lon}, name="cloud_cover_pct")
    return da.rio.write_crs("EPSG:4326")


def _regions() -> gpd.GeoDataFrame:
    # "edge" spans lat 41..44 but the raster stops at 42 N: valid share
    # (sin 42 − sin 41) / (sin 44 − sin 41) = 0.3386
    return gpd.GeoDataFrame({"region_id": ["edge", "in"], "name": ["Edge", "In"]},
                            geometry=[shapely.box(2, 41, 4, 44), shapely.box(2, 10, 4, 12)],
                            crs="EPSG:4326")


def _share() -> float:
    s = [math.sin(math.radians(d)) for d in (41, 42, 44)]
    return (s[1] - s[0]) / (s[2] - s[0])


def test_region_mostly_beyond_the_raster_is_missing_with_the_reason():
    assert _share() == pytest.approx(0.3386, abs=1e-4)
    out = aggregate_fields({"cloud_cover_pct": _field()}, _regions(), min_valid_fraction=0.5)
    assert np.isnan(out.loc["edge", "cloud_cover_pct"])
    assert out.loc["in", "cloud_cover_pct"] == pytest.approx(20.0)
    assert out.loc["edge", "valid_fraction"] == pytest.approx(_share(), rel=1e-6)
    assert out.attrs["low_valid_fraction"] == {"cloud_cover_pct": {"edge": pytest.approx(_share())}}
    miss = missing_report(out, _regions())
    assert miss[["region_id", "missing"]].values.tolist() == [["edge", "cloud_cover_pct"]]
    assert miss.loc[0, "reason"] == (
        "valid cells cover 0.34 of the region's area < min_valid_fraction 0.5")


def test_a_lower_threshold_keeps_the_value():
    out = aggregate_fields({"cloud_cover_pct": _field()}, _regions(), min_valid_fraction=0.3)
    assert out.loc["edge", "cloud_cover_pct"] == pytest.approx(20.0)
    assert out.attrs["low_valid_fraction"] == {}
    assert missing_report(out, _regions()).empty
