"""End to end: `geo-ms run` on the mirror and on the built-in sample.

The full run is done once per session (module fixture) in a temporary project home;
the tests then read what it wrote.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from geo_ms.cli import main

pytestmark = pytest.mark.slow


def test_full_run_writes_every_output(full_run):
    home = full_run["home"]
    for name in ("exposures.csv", "exposures.gpkg", "exposures.parquet", "exposures.md",
                 "analysis_table.csv",
                 "exposures_missing.csv",
                 "analysis_table.md", "models.csv", "claims.csv"):
        assert (home / "data/processed" / name).stat().st_size > 100, name
    rep = full_run["first"].report_dir
    for name in ("report.html", "report.md", "map.html", "manifest.json"):
        assert (rep / name).exists(), name
    pngs = list((rep / "figures").glob("*.png"))
    svgs = list((rep / "figures").glob("*.svg"))
    assert len(pngs) >= 8 and svgs == []  # SVG only when report.svg asks for it
    assert (home / "reports/latest").resolve() == rep.resolve()


def test_report_answers_first_in_small_files(full_run):
    rep = full_run["first"].report_dir
    md = (rep / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Is MS more common in cloudier countries?\n\n## Answer\n\n")
    answer = md.split("## Answer\n\n", 1)[1].split("## Claims", 1)[0]
    assert answer.startswith("Analysis plan ")  # the plan hash first
    assert "**C1 · Is MS more common in cloudier countries?**" in answer
    # the limits (were 7,636,854 and 5,345,290 bytes); later figures cannot
    # silently grow them
    assert (rep / "report.html").stat().st_size <= 3_000_000
    assert (rep / "map.html").stat().st_size <= 2_000_000
    manifest = json.loads((rep / "manifest.json").read_text())
    sunshine = [s for s in manifest["sources"] if s["id"] == "sunshine_cities"]
    assert sunshine and sunshine[0]["licence"].startswith("CC-BY-4.0")


def test_exposure_columns_and_values(full_run):
    expo = pd.read_csv(full_run["home"] / "data/processed/exposures.csv", index_col="region_id")
    for col in ("iso3", "name", "abs_latitude", "abs_latitude_popw", "gdp_per_capita",
                "continent", "income_grp",
                "cloud_cover_pct", "cloud_cover_pct_winter", "cloud_cover_pct_popw", "uv_index",
                "vitd_uv_clear", "vitd_uv_allsky", "cloudiness_sunshine_pct",
                "cloud_fraction_modis_pct"):
        assert col in expo.columns, col
    # Egypt is desert, the UK cloudy (CRU CL 1.0 station climatology).
    assert expo.loc["EGY", "cloud_cover_pct"] < 35
    assert expo.loc["GBR", "cloud_cover_pct"] > 70
    # NEO UV index: equatorial countries far above Nordic ones.
    assert expo.loc["UGA", "uv_index"] > 10
    assert expo.loc["NOR", "uv_index"] < 4


def test_analysis_table_joins_gbd(full_run):
    t = pd.read_csv(full_run["home"] / "data/processed/analysis_table.csv")
    t = t.set_index("region_id")
    assert t.loc["USA", "prevalence_per_100k"] == pytest.approx(136.13)
    assert t.loc["JPN", "prevalence_per_100k"] == pytest.approx(27.21)
    assert t["prevalence_per_100k"].notna().sum() >= 185
    assert t.loc["FRA", "name"] == "France"  # ISO_A3 is -99 for France in Natural Earth


def test_analysis_table_has_every_outcome_and_lists_the_unfitted(full_run):
    """Done-when numbers of the Atlas outcomes; outcomes_missing.csv lists the rest."""
    home = full_run["home"]
    t = pd.read_csv(home / "data/processed/analysis_table.csv").set_index("region_id")
    expo = t["cloud_cover_pct"].notna() & t["uv_index"].notna()
    n = {c: int((t[c].notna() & expo).sum()) for c in t.columns if c.startswith("ms_")}
    # 194 GBD countries, less those whose cloud or UV value falls below
    # exposures.min_valid_fraction (each listed in exposures_missing.csv)
    gbd = t["ms_gbd2016_prev"].notna()
    dropped = set(t.index[gbd & ~expo])
    em = pd.read_csv(home / "data/processed/exposures_missing.csv")
    listed = set(em.loc[em["reason"].str.contains("min_valid_fraction", na=False), "region_id"])
    assert dropped <= listed
    assert n["ms_gbd2016_prev"] == n["ms_gbd2016_inc"] == 194 - len(dropped) >= 190
    assert n["ms_atlas2020"] >= 90 and n["ms_atlas2013"] >= 80 and n["ms_atlas2008"] >= 80
    assert (t["ms_gbd2016_prev"].dropna() == t["prevalence_per_100k"].dropna()).all()
    assert t.loc["DEU", "ms_atlas2020"] == pytest.approx(252000 / 83517046 * 1e5)
    assert t.loc["CAN", "ms_atlas2013"] == 291.0 and t.loc["NOR", "ms_atlas2008"] == 125.0
    miss = pd.read_csv(home / "data/processed/outcomes_missing.csv")
    assert list(miss.columns) == ["outcome", "region_id", "region_name", "value", "reason"]
    # every Atlas value (104 + 93 + 91 crude, and the adjusted ones) is fitted or listed;
    # rates below outcomes.min_plausible_per_100k (1.0) stay in the analysis table but are
    # set aside by the models and listed with that reason
    fitted = {c: int((t[c].notna() & expo & (t[c] >= 1.0)).sum()) for c in n}
    low = miss[miss["reason"].str.contains("below outcomes.min_plausible_per_100k = 1", na=False)]
    assert (low["value"] < 1.0).all() and "NER" in set(low.loc[low["outcome"] == "atlas2020",
                                                               "region_id"])
    for oid, total in (("atlas2020", 104), ("atlas2013", 93), ("atlas2008", 91)):
        listed = set(miss.loc[miss["outcome"] == oid, "region_id"])
        assert fitted[f"ms_{oid}"] + len(listed) == total, oid
        listed_adj = set(miss.loc[miss["outcome"] == f"{oid}_adj", "region_id"])
        assert fitted[f"ms_{oid}_adj"] + len(listed_adj) == total, oid
    meta = json.loads((full_run["first"].report_dir / "manifest.json").read_text())
    assert {"atlas_ms_2020", "atlas_ms_2013", "atlas_ms_2008"} <= {s["id"] for s in meta["sources"]}


def test_models_and_claims(full_run):
    m = pd.read_csv(full_run["home"] / "data/processed/models.csv")
    for col in ("model", "subset", "exposure", "outcome", "n", "estimate", "ci_low",
                "ci_high", "p_value"):
        assert col in m.columns
    for model in ("pearson", "spearman", "ols", "ols_adj_lat", "ols_adj_lat_gdp", "partial_lat",
                  "moran_resid"):
        assert model in set(m["model"]), model
    assert {"all", "europe", "abs_lat_gt_35"} <= set(m["subset"])
    c = pd.read_csv(full_run["home"] / "data/processed/claims.csv")
    assert {"C1", "C2", "C2-adj", "C3", "C4", "C5-mechanism", "C1-europe",
            "C3-europe"} == set(c["claim_id"])
    from geo_ms.models.verdicts import VOCABULARY

    c1 = c[c["headline"].astype(bool)].set_index("claim_id").loc["C1", "caveat"]
    assert "Other cloud products and windows" in c1 and "cloud_fraction_modis_pct r = " in c1
    assert set(c["verdict"]) <= set(VOCABULARY)
    # one row per claim x outcome x sample; the first row of a claim is its headline row
    assert c.drop_duplicates("claim_id")["headline"].astype(bool).all()
    assert {"all", "common", "modelled_only"} <= set(c["sample"].dropna())
    processed = full_run["home"] / "data/processed"
    rob = pd.read_csv(processed / "robustness.csv")
    assert {"common_sample", "subregion_fe", "spatial_error",
            "leave_one_subregion_out"} <= set(rob.loc[rob["status"] == "ran", "member"])
    infl = pd.read_csv(processed / "influence.csv")
    assert set(infl["claim_id"]) == {"C1", "C2", "C2-adj", "C3"}
    assert (infl.groupby(["claim_id", "outcome"]).size() == 10).all()
    curve = pd.read_csv(processed / "specification_curve.csv")
    assert {"C1", "C3"} == set(curve["claim_id"])
    # pre-specified rows and the multiplicity control over the exploratory family
    assert {"primary", "exploratory"} == set(m["role"])
    prim = m[m["role"] == "primary"]
    assert {"pearson", "ols_adj_lat_gdp", "partial_lat_gdp", "pct_per10_adj",
            "mechanism_clear", "mechanism_allsky"} <= set(prim["model"])
    assert m.loc[m["role"] == "exploratory", "q_value"].notna().sum() > 1000
    tri = pd.read_csv(full_run["home"] / "data/processed/triangulation.csv")
    assert {"C1", "C2", "C2-adj", "C3"} <= set(tri["claim_id"])
    assert (full_run["first"].report_dir / "figures/triangulation.png").exists()


def test_second_run_is_cached_and_quick(full_run):
    second = full_run["second"]
    assert all(second.cached.values()), second.cached
    assert full_run["t_second"] < 60


def test_one_changed_option_recomputes_only_what_depends_on_it(full_run):
    third = full_run["third"]  # models.knn changed
    assert third.cached == {"regions": True, "prevalence": True, "covariates": True,
                            "exposures": True, "regions_main_territory": True,
                            "exposures_main_territory": True, "models": False,
                            "figinputs": True, "report": False}


def test_manifest_names_sources_and_licences(full_run):
    meta = json.loads((full_run["first"].report_dir / "manifest.json").read_text())
    ids = {s["id"] for s in meta["sources"]}
    assert {"gbd2016_ms", "cru_cl1_cloud", "neo_uvi_clim", "ne_admin0_10m"} <= ids
    assert all(s["licence"] for s in meta["sources"])
    assert meta["sample"] is False


def test_sample_run_without_mirror_or_network(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    from geo_ms.ingest import fetch

    monkeypatch.setattr(fetch, "network_available", lambda timeout=3.0: False)
    capsys.readouterr()
    assert main(["run", "--name", "smoke"]) == 0
    out = capsys.readouterr().out
    rep = tmp_path / "reports" / "latest"
    html = (rep / "report.html").read_text()
    assert "BUILT-IN SAMPLE" in html
    scope = "19 European countries, built-in sample; not the full analysis"
    verdicts = [ln for ln in out.splitlines() if re.match(r"  C\d", ln)]
    assert len(verdicts) >= 3
    assert all(ln.endswith(f"[{scope}]") for ln in verdicts), verdicts
    # not a terminal: no hard wrapping, the report path stays on one line
    assert f"report: {tmp_path / 'reports'}" in out
    md = (rep / "report.md").read_text(encoding="utf-8")
    answer = md.split("## Answer\n\n", 1)[1].split("\n> ", 1)[0]
    # every sentence of the Answer (not the claims' question headings) names the scope
    sentences = [ln for ln in answer.splitlines()
                 if ln.strip() and not ln.startswith(("**C", "![", "*Specification curve"))]
    assert len(sentences) >= 3
    assert all(scope in s for s in sentences), sentences
    t = pd.read_csv(tmp_path / "data/processed/analysis_table.csv").set_index("region_id")
    assert t.loc["IRL", "prevalence_per_100k"] == pytest.approx(230.6)
    assert t["prevalence_per_100k"].notna().sum() == 19
    assert not [c for c in t.columns if c.startswith("ms_")]  # no national outcome files


def test_regions_without_exposure_values_are_reported(full_run):
    miss = pd.read_csv(full_run["home"] / "data/processed/exposures_missing.csv")
    expo = pd.read_csv(full_run["home"] / "data/processed/exposures.csv", index_col="region_id")
    # Every region with a NaN exposure is listed, with the columns and a reason.
    covariates = ["iso3", "name", "continent", "region_un", "subregion", "income_grp",
                  "abs_latitude", "abs_latitude_popw", "gdp_per_capita", "pop_est", "lon", "lat",
                  "valid_fraction"]
    nan_regions = set(expo.index[expo.drop(columns=covariates).isna().any(axis=1)])
    assert set(miss["region_id"]) == nan_regions
    assert miss["reason"].str.len().gt(20).all()
    # Antarctica has no CRU land cells (the grid stops at 55.75°S).
    ata = miss.set_index("region_id").loc["ATA", "missing"]
    assert "cloud_cover_pct" in ata


def test_any_polygons_with_a_user_table(mirror, tmp_path, monkeypatch):
    """25 boxes over Europe with a table keyed by the polygon file's own ids."""
    import geopandas as gpd
    import numpy as np
    import shapely

    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    boxes, ids = [], []
    for lat0 in range(36, 66, 6):
        for lon0 in range(-10, 30, 8):
            boxes.append(shapely.box(lon0, lat0, lon0 + 8, lat0 + 6))
            ids.append(f"R{len(ids):02d}")
    gpd.GeoDataFrame({"rid": ids}, geometry=boxes, crs="EPSG:4326").to_file(
        tmp_path / "boxes.gpkg")
    lat = np.array([b.centroid.y for b in boxes])
    prev = np.exp(2 + 0.05 * lat + np.random.default_rng(0).normal(0, 0.3, len(ids)))
    pd.DataFrame({"region_id": ids, "prevalence_per_100k": prev.round(1), "year": 2016,
                  "age_standardised": True, "source": "synthetic"}).to_csv(
        tmp_path / "prev.csv", index=False)
    assert main(["run", "--regions", "polygons", "--regions-file", str(tmp_path / "boxes.gpkg"),
                 "--id-column", "rid", "--prevalence", str(tmp_path / "prev.csv"),
                 "--name", "boxes"]) == 0
    t = pd.read_csv(tmp_path / "data/processed/analysis_table.csv").set_index("region_id")
    assert len(t) == 25
    assert t["prevalence_per_100k"].notna().all()
    # The box over Germany (48-54N, 6-14E) is cloudier than the one over Portugal and
    # W. Spain (36-42N, 10-2W).
    assert t.loc["R12", "cloud_cover_pct"] > t.loc["R00", "cloud_cover_pct"]
    # Boxes mostly over sea (e.g. the North Sea, 54-60N, 2W-6E) have too few CRU land
    # cells (< exposures.min_valid_fraction of their area): missing, with that reason.
    assert np.isnan(t.loc["R16", "cloud_cover_pct"])
    miss = pd.read_csv(tmp_path / "data/processed/exposures_missing.csv").set_index("region_id")
    assert "< min_valid_fraction 0.5" in miss.loc["R16", "reason"]
    n_cloud = int(t["cloud_cover_pct"].notna().sum())
    assert 12 <= n_cloud < 25
    assert not [c for c in t.columns if c.startswith("ms_")]  # GBD/Atlas are national
    m = pd.read_csv(tmp_path / "data/processed/models.csv")
    pearson = m[(m["model"] == "pearson") & (m["exposure"] == "cloud_cover_pct")]
    assert (pearson["n"] == n_cloud).any()
    assert (tmp_path / "reports/latest/report.html").exists()


def test_main_territory_sensitivity_runs_by_default(full_run):
    """France's UV over its whole territory includes French Guiana and Réunion; over its
    main territory it does not. The sensitivity columns are fitted as exploratory rows."""
    t = pd.read_csv(full_run["home"] / "data/processed/analysis_table.csv").set_index("region_id")
    for col in ("cloud_cover_pct", "uv_index"):
        assert f"{col}_mainterr" in t.columns
    assert t.loc["FRA", "uv_index"] - t.loc["FRA", "uv_index_mainterr"] > 1.0
    assert t.loc["DNK", "uv_index_mainterr"] == pytest.approx(t.loc["DNK", "uv_index"])
    m = pd.read_csv(full_run["home"] / "data/processed/models.csv")
    rows = m[(m["exposure"] == "cloud_cover_pct_mainterr") & (m["model"] == "pearson")
             & (m["subset"] == "all") & (m["outcome"] == "log_prevalence")]
    assert len(rows) == 1 and rows["role"].iloc[0] == "exploratory"
    assert rows["q_value"].notna().all()
    # the sensitivity's own regions and exposures stages are timed beside the primary ones
    first = full_run["first"]
    assert {"regions", "exposures", "regions_main_territory",
            "exposures_main_territory"} <= set(first.timings) == set(first.cached)
    log = (first.report_dir / "run.log").read_text()
    # (the later runs of the fixture rewrite run.log: running or cached)
    assert re.search(r"^\d\d:\d\d:\d\d \[stage\] exposures_main_territory: (running|cached) ",
                     log, re.MULTILINE), log
    stage_line = next(ln for ln in log.splitlines() if "stage seconds: " in ln)
    assert "'exposures_main_territory': " in stage_line and "'exposures': " in stage_line
