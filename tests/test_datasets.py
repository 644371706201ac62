"""The datasets glue: the MS table of a configuration, and source records."""

from __future__ import annotations

import pytest

from geo_ms.config import load_config
from geo_ms.errors import ConfigError
from geo_ms.ingest.datasets import load_prevalence, prevalence_source, sample_path


def test_gbd_table_of_the_default_configuration(mirror):
    prev = load_prevalence(load_config()["prevalence"]).set_index("region_id")
    assert len(prev) == 194
    assert prev.loc["USA", "prevalence_per_100k"] == pytest.approx(136.13)
    assert prev.loc["USA", "prevalence_allages_per_100k"] == pytest.approx(158.53)
    assert prev.loc["JPN", "prevalence_allages_per_100k"] == pytest.approx(36.80)
    assert prev["prevalence_1990_per_100k"].notna().all()


def test_all_ages_as_primary_outcome(mirror):
    cfg = load_config(overrides={"prevalence.age": "all_ages"})["prevalence"]
    prev = load_prevalence(cfg).set_index("region_id")
    assert prev.loc["USA", "prevalence_per_100k"] == pytest.approx(158.53)
    assert prev.loc["USA", "prevalence_agestd_per_100k"] == pytest.approx(136.13)


def test_year_without_gbd_rows_is_refused(mirror):
    cfg = load_config(overrides={"prevalence.year": 2020})["prevalence"]
    with pytest.raises(ConfigError, match=r"prevalence.year = 2020: no GBD rows for that year"):
        load_prevalence(cfg)


def test_compare_table_joins_a_user_outcome(mirror):
    table = str(sample_path("prevalence"))
    cfg = load_config(overrides={"prevalence.compare_table": table})["prevalence"]
    prev = load_prevalence(cfg).set_index("region_id")
    assert prev.loc["IRL", "prevalence_user_per_100k"] == pytest.approx(230.6)
    assert prev.loc["IRL", "prevalence_per_100k"] == pytest.approx(
        load_prevalence(load_config()["prevalence"]).set_index("region_id").loc[
            "IRL", "prevalence_per_100k"])
    assert prev["prevalence_user_per_100k"].notna().sum() == 19
    # The user table's hash is part of the source record (and so of the stage cache key).
    rec = prevalence_source(cfg, sample=False)
    assert rec["files"][-1]["name"] == "emsp_barometer_2011.csv"
    assert rec["sha256"].count(";") >= 1


def test_missing_compare_table_is_named(mirror, tmp_path):
    cfg = load_config(overrides={"prevalence.compare_table": str(tmp_path / "x.csv")})
    with pytest.raises(ConfigError, match=r"prevalence.compare_table: '.*x.csv' not found"):
        prevalence_source(cfg["prevalence"], sample=False)


def test_cru_ts_year_window_reaches_the_exposures(tmp_path, monkeypatch):
    """A CRU TS file (not mirrored: built here) → exposure of the configured years."""
    import geopandas as gpd
    import numpy as np
    import shapely
    import xarray as xr

    from geo_ms.exposures import compute
    from geo_ms.exposures.aggregate import EXPOSURES
    from geo_ms.ingest import datasets

    time = [np.datetime64(f"{y}-{m:02d}-16") for y in (2000, 2001, 2002) for m in range(1, 13)]
    years = np.repeat([0.0, 10.0, 20.0], 12)
    cld = (years + np.tile(np.arange(1, 13), 3))[:, None, None] * np.ones((36, 2, 2))
    path = tmp_path / "cru_ts4.08.2000.2002.cld.dat.nc"
    xr.Dataset({"cld": (("time", "lat", "lon"), cld.astype("float32"), {"units": "percentage"})},
               coords={"time": time, "lat": [10.25, 10.75], "lon": [0.25, 0.75]}).to_netcdf(path)
    monkeypatch.setattr(datasets, "_fetch",
                        lambda did: {"cru_ts4.08.1901.2023.cld.dat.nc.gz": path})
    regions = gpd.GeoDataFrame({"region_id": ["R"]}, geometry=[shapely.box(0, 10, 1, 11)],
                               crs="EPSG:4326")
    ecfg = {**load_config()["exposures"], "cru_ts_years": [2001, 2002],
            "population_weighting": False, "windows": ["annual"]}
    spec = [s for s in EXPOSURES if s.base == "cloud_cover_cruts_pct"]
    out = compute.compute_exposures(regions, spec, ecfg, say=lambda m: None)
    # Years 2001-2002 add 10 and 20 → +15; months 1..12 weighted by their length in days.
    days = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    expected = 15 + (np.arange(1, 13) * days).sum() / days.sum()
    assert out.loc["R", "cloud_cover_cruts_pct"] == pytest.approx(expected, rel=1e-6)
