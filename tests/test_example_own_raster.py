"""examples/own_raster.toml end to end: the example's GeoTIFF, its column and its claim U1.

``examples/make_own_raster.py`` writes the raster from the mirrored CRU CL 1.0 monthly
radiation; the GeoTIFF is checked against the month-length-weighted mean computed with
xarray from the mirror's netCDF re-encoding of the same grids (another file, another
reader). The example configuration then runs unchanged (copied beside a folder laid
out like the repository, so its relative ``path`` resolves) and its ``U1`` row of
``claims.csv`` is recomputed with scipy from the analysis table the run wrote.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from scipy import stats

from geo_ms.config import load_config

pytestmark = [pytest.mark.mirror, pytest.mark.slow]

EXAMPLES = Path(__file__).parents[1] / "examples"
DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@pytest.fixture(scope="module")
def example_home(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("own_raster")
    (home / "examples").mkdir()
    shutil.copy(EXAMPLES / "own_raster.toml", home / "examples" / "own_raster.toml")
    mp = pytest.MonkeyPatch()
    mp.setenv("GEO_MS_HOME", str(home))
    try:
        script = runpy.run_path(str(EXAMPLES / "make_own_raster.py"))
        script["write_own_raster"](home / "data" / "processed" / "examples" / "rad_wm2.tif")
    finally:
        mp.undo()
    return home


def test_the_example_raster_is_the_annual_mean_of_the_mirrored_grids(
        example_home: Path, mirror: Path) -> None:
    tif = example_home / "data/processed/examples/rad_wm2.tif"
    assert tif.stat().st_size < 2_000_000
    with rasterio.open(tif) as src:
        assert src.count == 1 and src.crs.to_epsg() == 4326 and src.res == (0.5, 0.5)
        assert src.bounds == (-180.0, -90.0, 180.0, 90.0)
        got = src.read(1, masked=True)
    rad = xr.open_dataset(mirror / "rasters/cru_cl1.0_cld_rad_1961-1990_0.5deg.nc")["rad"]
    want = (rad.values.astype("float64") * DAYS[:, None, None]).sum(0) / DAYS.sum()
    assert np.array_equal(got.mask, ~np.isfinite(want))
    assert np.allclose(got.filled(np.nan)[~got.mask], want[~got.mask], rtol=1e-6, atol=0)
    # the Alps (46.25 N, 10.25 E): about 150 W m-2 over the year
    row, col = int((90 - 46.25) / 0.5), int((10.25 + 180) / 0.5)
    assert got[row, col] == pytest.approx(want[row, col], rel=1e-6)
    assert 100 < want[row, col] < 200


def test_the_example_config_gives_a_u1_row_equal_to_scipy(
        example_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo_ms.models.plan import default_plan
    from geo_ms.pipeline.run import run

    monkeypatch.setenv("GEO_MS_HOME", str(example_home))
    cfg = load_config(example_home / "examples/own_raster.toml", {"models.n_boot": 200})
    assert cfg["plan"]["added"] == ["U1"] and cfg["plan"]["hash"] != default_plan().hash
    assert cfg["exposures"]["user"][0]["path"] == str(
        example_home / "data/processed/examples/rad_wm2.tif")
    result = run(cfg, say=lambda m: None)

    processed = example_home / "data/processed"
    claims = pd.read_csv(processed / "claims.csv")
    row = claims[(claims["claim_id"] == "U1") & (claims["outcome_id"] == "gbd2016_prev")
                 & (claims["sample"] == "all")].iloc[0]
    table = pd.read_csv(processed / "analysis_table.csv")
    ok = table[["rad_wm2", "ms_gbd2016_prev"]].dropna()
    ok = ok[ok["ms_gbd2016_prev"] > 0]
    r = stats.pearsonr(ok["rad_wm2"], np.log(ok["ms_gbd2016_prev"]))[0]
    assert row["n"] == len(ok) > 150
    assert row["estimate"] == pytest.approx(r, abs=1e-12)
    assert row["robustness"] in ("robust", "fragile")
    rob = pd.read_csv(processed / "robustness.csv")
    assert {"subregion_fe", "spatial_error"} <= set(rob.loc[rob["claim_id"] == "U1", "member"])

    report = result.report_dir
    assert report == example_home / "reports/own-raster"
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "U1" in html and "Less solar radiation goes with more MS" in html
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    src = next(s for s in manifest["sources"] if s["id"] == "user:rad_wm2")
    tif = example_home / "data/processed/examples/rad_wm2.tif"
    assert src["sha256"] == hashlib.sha256(tif.read_bytes()).hexdigest()
