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


def _reference_missing_report(table, regions, low, mvf):
    # the row-by-row version the vectorised missing_report replaced
    import pandas as pd

    from geo_ms.exposures.aggregate import _missing_reason

    names = dict(zip(regions["region_id"], regions["name"], strict=True))
    cols = [c for c in table.columns if c != "valid_fraction"]
    rows = []
    for rid, row in table[cols].iterrows():
        miss = [c for c in cols if pd.isna(row[c])]
        if not miss:
            continue
        reasons: dict[str, list[str]] = {}
        for c in miss:
            reasons.setdefault(_missing_reason(c, str(rid), low, mvf), []).append(c)
        reason = (next(iter(reasons)) if len(reasons) == 1 else
                  "; ".join(f"{', '.join(cs)}: {why}" for why, cs in reasons.items()))
        rows.append({"region_id": rid, "name": names.get(rid, ""), "missing": ", ".join(miss),
                     "reason": reason})
    return pd.DataFrame(rows, columns=["region_id", "name", "missing", "reason"])


def test_missing_report_equals_the_row_by_row_reference_on_many_regions():
    import pandas as pd

    rng = np.random.default_rng(4)
    n = 3000
    ids = [f"R{i}" for i in range(n)]
    cols = ["cloud_cover_pct", "uv_index_popw", "sunshine_hours_cities", "ghi_merra2"]
    table = pd.DataFrame({c: np.where(rng.random(n) < 0.2, np.nan, 1.0) for c in cols},
                         index=pd.Index(ids, name="region_id"))
    table["valid_fraction"] = 1.0
    blanked = [i for i in ids if np.isnan(table.loc[i, "cloud_cover_pct"])][:40]
    low = {"cloud_cover_pct": {i: 0.25 for i in blanked}}
    regions = pd.DataFrame({"region_id": ids, "name": [f"Region {i}" for i in ids]})
    got = missing_report(table, regions, low, 0.5)
    ref = _reference_missing_report(table, regions, low, 0.5)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), ref)
    assert len(got) > 0.5 * n  # 1 - 0.8**4 of the regions lack something
