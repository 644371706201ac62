"""Triangulation across MS outcomes, the agreement sentence and the forest figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo_ms.models.primary import PrimarySpec
from geo_ms.models.triangulation import TRIANGULATION_COLUMNS, add_agreement, triangulate


def _table(seed: int = 2, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-50, 65, n)
    d = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "abs_latitude": np.abs(lat),
                      "lat": lat, "lon": rng.uniform(-170, 170, n),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "cloud_cover_pct": rng.uniform(10, 90, n),
                      "uv_index": 12 - 0.15 * np.abs(lat) + rng.normal(0, 1, n)})
    base = 0.03 * d["cloud_cover_pct"] + rng.normal(0, 0.3, n)
    d["prevalence_per_100k"] = np.exp(base)
    d["ms_atlas2020"] = np.exp(base + rng.normal(0, 0.2, n))
    d["ms_atlas2013"] = np.exp(-0.03 * d["cloud_cover_pct"] + rng.normal(0, 0.3, n))
    d.loc[d.index[:40], "ms_atlas2013"] = np.nan
    d["ms_gbd2016_inc"] = np.exp(base - 3)
    return d


def test_triangulation_rows_and_columns():
    tri = triangulate(_table(), PrimarySpec(n_boot=100))
    assert tuple(tri.columns) == TRIANGULATION_COLUMNS
    c1 = tri[tri["claim_id"] == "C1"].set_index("outcome")
    # primary first, then the registry order of the outcomes present
    assert c1.index.tolist() == ["gbd2016_prev", "gbd2016_inc", "atlas2020", "atlas2013"]
    assert c1["n"].tolist() == [120, 120, 120, 80]
    assert c1.loc["gbd2016_prev", "independent"] and not c1.loc["gbd2016_inc", "independent"]
    assert c1["verdict"].tolist() == ["supported", "supported", "supported", "not supported"]
    assert set(tri["claim_id"]) == {"C1", "C2", "C2-adj", "C3"}


def test_agreement_counts_independent_sources_only():
    from scipy import stats

    d = _table()
    tri = triangulate(d, PrimarySpec(n_boot=100), claims=["C1"])
    claims = pd.DataFrame({"claim_id": ["C1", "C4"], "agreement": ["", ""]})
    text = add_agreement(claims, tri, "gbd2016_prev").set_index("claim_id").loc["C1", "agreement"]

    def r(col: str) -> str:  # Pearson r by scipy on the complete cases, as the sentence rounds it
        ok = d[col].notna()
        return f"{stats.pearsonr(d.loc[ok, 'cloud_cover_pct'], np.log(d.loc[ok, col])).statistic:+.2f}"

    # by construction: GBD and Atlas 2020 rise with cloud (supported), Atlas 2013 falls
    # (its CI lies below 0.1: not supported), GBD incidence is GBD prevalence / e^3
    assert text == (
        f"agrees in 2 of 3 independent sources (agree: GBD 2016 prevalence, age-standardised "
        f"{r('prevalence_per_100k')}, Atlas of MS 2020, crude prevalence {r('ms_atlas2020')}; "
        f"differ: Atlas of MS 2013, crude prevalence {r('ms_atlas2013')} not supported); point "
        f"estimates differ in sign across independent sources ({r('ms_atlas2013')} to "
        f"{r('prevalence_per_100k')}); not independent: GBD 2016 incidence, age-standardised "
        f"{r('ms_gbd2016_inc')} supported")


def test_primary_from_prevalence_column_when_ms_column_absent():
    d = _table().drop(columns=["ms_atlas2020", "ms_atlas2013", "ms_gbd2016_inc"])
    tri = triangulate(d, PrimarySpec(n_boot=100), claims=["C3"])
    assert tri["outcome"].tolist() == ["gbd2016_prev"]


def test_triangulation_figure(tmp_path):
    from geo_ms.report.figures.triangulation import triangulation_figure

    tri = triangulate(_table(), PrimarySpec(n_boot=100))
    paths = triangulation_figure(tri, tmp_path, {"sources": []}, formats=("png", "svg"))
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


def test_outcome_with_a_zero_is_kept_as_inconclusive():
    d = _table()
    d.loc[0, "ms_atlas2020"] = 0.0
    tri = triangulate(d, PrimarySpec(n_boot=100), claims=["C1"]).set_index("outcome")
    assert tri.loc["atlas2020", "verdict"] == "inconclusive"
    assert np.isnan(tri.loc["atlas2020", "estimate"]) and tri.loc["atlas2020", "n"] == 0
