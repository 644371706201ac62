"""A user's own claim on a user's own raster: ``[[exposures.user]]`` + ``[[claims]]``.

The raster is written here from the mirrored CRU CL 1.0 radiation (annual mean, read
through the project's readers) as a lat/lon GeoTIFF; the claim ``U1`` ("less radiation,
more MS", Pearson r) runs through the plan's registry like C1-C5. Its estimate is
recomputed independently with scipy from the analysis table the run wrote.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from scipy import stats

from geo_ms.config import load_config

pytestmark = [pytest.mark.mirror, pytest.mark.slow]

NODATA = -9999.0


def test_user_claim_on_a_user_raster_gets_a_row_and_a_card(
        mirror: Path, tmp_path: Path) -> None:
    from geo_ms.exposures.climatology import annual_mean
    from geo_ms.ingest.datasets import load_raster
    from geo_ms.models.plan import default_plan
    from geo_ms.pipeline.run import run

    da = annual_mean(load_raster("cru_cl1_radiation"))
    lat, lon = da["lat"].values, da["lon"].values
    v = np.where(np.isfinite(da.values), da.values, NODATA).astype("float32")
    with rasterio.open(tmp_path / "rad.tif", "w", driver="GTiff", width=v.shape[1],
                       height=v.shape[0], count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(lon[0] - 0.25, lat[0] + 0.25, 0.5, 0.5),
                       nodata=NODATA) as dst:
        dst.write(v[None])
    cfg_file = tmp_path / "own.toml"
    cfg_file.write_text("""
[models]
n_boot = 200
[[exposures.user]]
id = "rad_wm2"
path = "rad.tif"
label = "Solar radiation, CRU CL 1.0"
units = "W m-2"
[[claims]]
id = "U1"
text = "Less solar radiation goes with more MS"
exposure = "rad_wm2"
direction = "negative"
test = "pearson"
""", encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    old = os.environ.get("GEO_MS_HOME")
    os.environ["GEO_MS_HOME"] = str(home)
    try:
        cfg = load_config(cfg_file)
        assert cfg["plan"]["added"] == ["U1"]
        assert cfg["plan"]["hash"] != default_plan().hash
        run(cfg, say=lambda m: None)
    finally:
        if old is None:
            os.environ.pop("GEO_MS_HOME", None)
        else:
            os.environ["GEO_MS_HOME"] = old
    processed = home / "data/processed"
    claims = pd.read_csv(processed / "claims.csv")
    row = claims[(claims["claim_id"] == "U1") & (claims["outcome_id"] == "gbd2016_prev")
                 & (claims["sample"] == "all")].iloc[0]
    table = pd.read_csv(processed / "analysis_table.csv")
    ok = table[["rad_wm2", "prevalence_per_100k"]].dropna()
    ok = ok[ok["prevalence_per_100k"] > 0]
    r = stats.pearsonr(ok["rad_wm2"], np.log(ok["prevalence_per_100k"]))[0]
    assert row["n"] == len(ok) > 150
    assert row["estimate"] == pytest.approx(r, abs=1e-12)
    assert r < -0.3  # sunnier countries have less MS in GBD (CRU radiation vs GBD 2016)
    html = (home / "reports/latest/report.html").read_text(encoding="utf-8")
    assert "U1" in html and "Less solar radiation goes with more MS" in html
