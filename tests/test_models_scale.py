"""The models at 20,000 regions: no dense n x n array (peak memory), the ML spatial
models skipped above ``models.spatial_ml_max_n`` with a row saying so."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

N = 20_000

_SCRIPT = """
import json, resource, sys
import numpy as np, pandas as pd
from geo_ms import models
from geo_ms.config import default_config

n = int(sys.argv[1])
rng = np.random.default_rng(0)
lon = rng.uniform(-180, 180, n)
lat = np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, n)))
cloud = 50 + 20 * np.sin(np.radians(lat) * 3) + rng.normal(0, 5, n)
df = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "lon": lon, "lat": lat,
                   "abs_latitude": np.abs(lat), "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                   "continent": np.where(lon > 0, "Europe", "Asia"),
                   "subregion": np.where(lat > 0, "North", "South"),
                   "cloud_cover_pct": cloud,
                   "uv_index": 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, n)})
df["prevalence_per_100k"] = np.exp(3 + 0.01 * cloud + 0.02 * np.abs(lat) + rng.normal(0, .3, n))
cfg = default_config()
spec = models.primary_spec(cfg)
# what the pipeline's models stage runs (geo_ms.pipeline.stages.stage_models)
mdf = models.fit_all(df, cfg, exposures=["cloud_cover_pct", "uv_index"], spec=spec)
from geo_ms.models.plan import default_plan
# the plan's claims on the outcome (robustness members re-run the same tests on subsets;
# left out here to keep the test's time down: they add no new kind of array)
res = models.run_plan(df, default_plan(), n_boot=spec.n_boot, fit_ids=["gbd2016_prev"],
                      robustness=False)
claims = res.claims[(res.claims["outcome_id"] == "gbd2016_prev")
                    & (res.claims["sample"] == "all")]
tri = res.triangulation
rows = mdf[mdf["model"].isin(["spatial_error", "spatial_lag"])]
print(json.dumps({
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "skipped_notes": rows["note"].tolist(),
    "skipped_estimates": rows["estimate"].tolist(),
    "c1_n": int(claims.set_index("claim_id").loc["C1", "n"]),
    "c1_spatial_ci": [float(claims.set_index("claim_id").loc["C1", c])
                      for c in ("ci_low_spatial", "ci_high_spatial")],
    "tri_rows": len(tri),
}))
"""


@pytest.mark.slow
def test_models_stage_at_20000_regions_stays_under_2_gb():
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", _SCRIPT, str(N)], capture_output=True,
                         text=True, env=env, timeout=600, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    # a single dense 20,000 x 20,000 float64 matrix is 3.2 GB
    assert res["peak_mb"] < 2048
    # the UV residuals are spatially autocorrelated: the ML models were due, and skipped
    assert len(res["skipped_notes"]) == 2
    for note in res["skipped_notes"]:
        assert note.startswith(
            f"ML spatial model skipped: {N} regions > models.spatial_ml_max_n = 2000 (its "
            "variance inverts the n x n matrix I - lambda W; raise the key to fit it)")
    assert all(math.isnan(v) for v in res["skipped_estimates"])
    assert res["c1_n"] == N
    lo, hi = res["c1_spatial_ci"]
    assert -1 < lo < hi < 1
