"""Triangulation across MS outcomes (all regions and the common sample) and its figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geo_ms.models.plan import default_plan
from geo_ms.models.run_plan import TRIANGULATION_COLUMNS, run_plan


def _table(seed: int = 2, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-50, 65, n)
    d = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "abs_latitude": np.abs(lat),
                      "lat": lat, "lon": rng.uniform(-170, 170, n),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "cloud_cover_pct": rng.uniform(10, 90, n),
                      "uv_index": 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, n)})
    base = 3 + 0.03 * d["cloud_cover_pct"] + rng.normal(0, 0.3, n)
    d["prevalence_per_100k"] = np.exp(base)
    d["ms_atlas2020"] = np.exp(base + rng.normal(0, 0.2, n))
    d.loc[d.index[100:], "ms_atlas2020"] = np.nan
    d["ms_atlas2013"] = np.exp(5 - 0.03 * d["cloud_cover_pct"] + rng.normal(0, 0.3, n))
    d.loc[d.index[:40], "ms_atlas2013"] = np.nan
    d["ms_gbd2016_inc"] = np.exp(base - 3)
    return d


def _tri(d: pd.DataFrame) -> pd.DataFrame:
    plan = default_plan()
    return run_plan(d, plan, n_boot=0, robustness=False).triangulation


def test_triangulation_rows_and_columns():
    d = _table()
    tri = _tri(d)
    assert tuple(tri.columns) == TRIANGULATION_COLUMNS
    c1 = tri[(tri["claim_id"] == "C1") & (tri["sample"] == "all")].set_index("outcome")
    # the co-primary outcomes first, then the registry order of the outcomes present
    assert c1.index.tolist() == ["gbd2016_prev", "atlas2020", "gbd2016_inc", "atlas2013"]
    assert c1["n"].tolist() == [120, 100, 120, 80]
    assert c1.loc["gbd2016_prev", "independent"] and not c1.loc["gbd2016_inc", "independent"]
    assert c1["represents_family"].tolist() == [True, True, False, False]
    assert c1["family"].tolist() == ["GBD", "Atlas of MS", "GBD", "Atlas of MS"]
    assert c1.loc["atlas2013", "verdict"] == "contradicted"  # built to fall with cloud
    common = tri[(tri["claim_id"] == "C1") & (tri["sample"] == "common")].set_index("outcome")
    both = d[d["ms_atlas2020"].notna()]
    assert common.loc["gbd2016_prev", "n"] == 100
    assert common.loc["gbd2016_prev", "estimate"] == pytest.approx(
        stats.pearsonr(both["cloud_cover_pct"], np.log(both["prevalence_per_100k"])).statistic,
        abs=1e-12)
    assert set(tri["claim_id"]) == {"C1", "C2", "C2-adj", "C3"}  # all-region claims, not C5


def test_triangulation_figure(tmp_path):
    from geo_ms.report.figures.triangulation import triangulation_figure

    tri = _tri(_table())
    paths = triangulation_figure(tri[tri["sample"] == "all"], tmp_path, {"sources": []})
    names = sorted(p.name for p in paths)
    assert names == ["triangulation.png", "triangulation.svg"]
    svg = (tmp_path / "triangulation.svg").read_text()
    assert "Atlas of MS 2013" in svg and "C3" in svg
    assert not list(tmp_path.glob("*.tmp*"))


def test_triangulation_figure_needs_rows(tmp_path):
    from geo_ms.errors import SchemaError
    from geo_ms.report.figures.triangulation import triangulation_figure

    with pytest.raises(SchemaError, match=r"^triangulation table: no rows with an estimate$"):
        triangulation_figure(pd.DataFrame(columns=list(TRIANGULATION_COLUMNS)), tmp_path, {})


def test_outcome_with_a_zero_is_set_aside_with_its_reason():
    d = _table()
    d.loc[0, "ms_atlas2020"] = 0.0
    res = run_plan(d, default_plan(), n_boot=0, robustness=False)
    tri = res.triangulation
    row = tri[(tri["claim_id"] == "C1") & (tri["outcome"] == "atlas2020")
              & (tri["sample"] == "all")].iloc[0]
    assert row["n"] == 99
    gone = res.set_aside
    assert gone[["outcome", "region_id", "reason"]].values.tolist() == [
        ["atlas2020", "R0", "not above 0 (no logarithm)"]]
