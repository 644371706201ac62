"""The outcome table (ms_<id> columns), the indirect age adjustment of the Atlas rates,
the [outcomes] configuration and the list of Atlas values a run does not fit."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from geo_ms.config import load_config
from geo_ms.errors import ConfigError
from geo_ms.ingest.outcome_table import (
    age_adjustment_ratio,
    build_outcomes,
    load_outcomes,
    nearest_gbd_year,
)
from geo_ms.pipeline.cache import RunContext
from geo_ms.pipeline.stages import _national_outcomes, outcomes_missing


def _gbd() -> pd.DataFrame:
    """GBD rows for NOR and JPN in 2008 and 2016 (rates per 100,000, both sexes)."""
    rows = []
    for iso3, year, std, crude, inc in (("NOR", 2008, 150.0, 180.0, 7.0),
                                        ("NOR", 2016, 160.0, 200.0, 8.0),
                                        ("JPN", 2008, 20.0, 25.0, 0.9),
                                        ("JPN", 2016, 27.0, 36.0, 1.0)):
        for measure, age, value in (("prevalence", "age_standardised", std),
                                    ("prevalence", "all_ages", crude),
                                    ("incidence", "age_standardised", inc)):
            rows.append({"iso3": iso3, "measure": measure, "metric": "rate", "sex": "both",
                         "age": age, "year": year, "value": value})
    rows.append({"iso3": "NOR", "measure": "prevalence", "metric": "rate", "sex": "female",
                 "age": "age_standardised", "year": 2016, "value": 230.0})
    return pd.DataFrame(rows)


def _atlas() -> dict[int, pd.DataFrame]:
    return {
        2020: pd.DataFrame({"region_id": ["NOR", "JPN", "KOS"],
                            "region_name": ["Norway", "Japan", "Kosovo"],
                            "prevalence_per_100k": [250.0, 4.0, 53.0]}),
        2008: pd.DataFrame({"region_id": ["NOR", "JPN"], "region_name": ["Norway", "Japan"],
                            "prevalence_per_100k": [125.0, math.nan]}),
    }


def test_columns_and_hand_computed_age_adjustment() -> None:
    fit = ["gbd2016_prev", "gbd2016_inc", "atlas2020", "atlas2020_adj", "atlas2008",
           "atlas2008_adj"]
    out = build_outcomes(fit, gbd=_gbd(), atlas=_atlas())
    w = out.wide.set_index("region_id")
    assert list(w.columns) == [f"ms_{o}" for o in fit]
    assert list(w.index) == ["JPN", "KOS", "NOR"]
    assert w.loc["NOR", "ms_gbd2016_prev"] == 160.0
    assert w.loc["NOR", "ms_gbd2016_inc"] == 8.0
    assert w.loc["NOR", "ms_atlas2020"] == 250.0
    # 2020 → GBD 2016: 250 × 160/200 = 200; JPN 4 × 27/36 = 3
    assert w.loc["NOR", "ms_atlas2020_adj"] == pytest.approx(200.0)
    assert w.loc["JPN", "ms_atlas2020_adj"] == pytest.approx(3.0)
    # 2008 → GBD 2008: 125 × 150/180
    assert w.loc["NOR", "ms_atlas2008_adj"] == pytest.approx(125 * 150 / 180)
    assert math.isnan(w.loc["JPN", "ms_atlas2008"])  # no Atlas 2008 value
    # Kosovo is not a GBD location: crude kept, no adjusted value, and the reason is listed
    assert w.loc["KOS", "ms_atlas2020"] == 53.0
    assert math.isnan(w.loc["KOS", "ms_atlas2020_adj"])
    a = out.atlas.set_index(["outcome", "region_id"])
    assert a.loc[("atlas2020_adj", "KOS"), "note"].startswith("no GBD 2016 age structure")
    assert a.loc[("atlas2020", "KOS"), "note"] == ""
    assert set(out.atlas["outcome"]) == {"atlas2020", "atlas2020_adj", "atlas2008",
                                         "atlas2008_adj"}
    assert out.skipped == {}


def test_configured_gbd_sex_and_missing_sources_are_skipped_with_a_reason() -> None:
    out = build_outcomes(["gbd2016_prev"], gbd=_gbd(), atlas={}, gbd_sex="female")
    assert out.wide.set_index("region_id")["ms_gbd2016_prev"].to_dict() == {"NOR": 230.0}
    out = build_outcomes(["gbd2016_inc", "atlas2013", "atlas2020_adj", "atlas2020"],
                         gbd=None, atlas=_atlas())
    assert out.skipped == {
        "gbd2016_inc": "GBD 2016 is not available",
        "atlas2013": "the Atlas of MS 2013 is not available",
        "atlas2020_adj": "GBD 2016 (needed for the age adjustment) is not available",
    }
    assert list(out.wide.columns) == ["region_id", "ms_atlas2020"]


def test_ratio_and_nearest_year() -> None:
    assert age_adjustment_ratio(_gbd(), 2020).to_dict() == {"JPN": 0.75, "NOR": 0.8}
    assert age_adjustment_ratio(_gbd(), 2013).empty  # no GBD row for 2013 in this fixture
    assert age_adjustment_ratio(_gbd(), 2008).round(6).to_dict() == {"JPN": 0.8,
                                                                     "NOR": 0.833333}
    assert [nearest_gbd_year(y) for y in (1980, 2008, 2020)] == [1990, 2008, 2016]


def test_outcome_ids_are_validated_with_the_closest_id(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[outcomes]\nfit = ["gbd2016_prev", "atlas_2020"]\n')
    with pytest.raises(ConfigError, match=r"key 'outcomes\.fit' has unknown outcome "
                                          r"'atlas_2020' \(did you mean 'atlas2020'\?\)"):
        load_config(p)
    with pytest.raises(ConfigError, match=r"unknown key 'outcomes\.primary'"):
        load_config(overrides={"outcomes.primary": "atlas2020"})  # declared once: primary.outcome
    assert load_config(overrides={"outcomes.fit": ["atlas2013"]})["outcomes"]["fit"] == [
        "atlas2013"]


def _ctx(tmp_path: Path, **over) -> tuple[RunContext, list[str]]:
    said: list[str] = []
    cfg = load_config(overrides=over)
    return RunContext(cfg=cfg, home=tmp_path, say=said.append), said


def test_national_outcomes_skipped_for_subnational_regions_and_the_sample(tmp_path: Path) -> None:
    ctx, said = _ctx(tmp_path, **{"regions.set": "admin1"})
    assert _national_outcomes(ctx, by_iso3=False) == []
    assert said == [("  outcomes: gbd2016_prev, gbd2016_inc, atlas2020, atlas2013, atlas2008, "
                     "atlas2020_adj, atlas2013_adj, atlas2008_adj skipped: they are national "
                     "tables and the region set is 'admin1'")]
    ctx, said = _ctx(tmp_path, **{"outcomes.fit": ["atlas2020"]})
    ctx.sample = True
    assert _national_outcomes(ctx, by_iso3=True) == []
    assert said == ["  outcomes: atlas2020 skipped on the built-in sample (no GBD or Atlas files)"]
    ctx.sample = False
    assert _national_outcomes(ctx, by_iso3=True) == ["atlas2020"]


def test_outcomes_missing_names_every_unfitted_atlas_value(tmp_path: Path) -> None:
    ctx, _ = _ctx(tmp_path)
    folder = ctx.cache / "prevalence-k1"
    folder.mkdir(parents=True)
    pd.DataFrame({
        "outcome": ["atlas2020", "atlas2020", "atlas2020", "atlas2020", "atlas2020_adj"],
        "region_id": ["NOR", "SMR", "ISL", "MLT", "KOS"],
        "region_name": ["Norway", "San Marino", "Iceland", "Malta", "Kosovo"],
        "value": [250.0, 337.0, 212.0, 91.0, float("nan")],
        "note": ["", "", "", "", ("no GBD 2016 age structure for this country (not a GBD "
                                  "location)")],
    }).to_csv(folder / "outcomes_atlas.csv", index=False)
    table = pd.DataFrame({"region_id": ["NOR", "ISL", "MLT", "KOS"],
                          "cloud_cover_pct": [70.0, float("nan"), 40.0, 55.0],
                          "uv_index": [2.0, 1.5, 6.0, 4.0],
                          "abs_latitude": [61.0, 65.0, 35.9, 42.6],
                          "gdp_per_capita": [75000.0, 70000.0, float("nan"), 4000.0]})
    miss = outcomes_missing(ctx, table, "k1")
    assert miss.drop(columns="value").values.tolist() == [
        ["atlas2020", "SMR", "San Marino", "SMR is not in the region set"],
        ["atlas2020", "ISL", "Iceland", "no value of cloud_cover_pct"],
        ["atlas2020", "MLT", "Malta", "no gdp_per_capita (adjusted models only)"],
        ["atlas2020_adj", "KOS", "Kosovo",
         "no GBD 2016 age structure for this country (not a GBD location)"],
    ]
    assert outcomes_missing(ctx, table, "absent").empty


def test_a_zero_drops_one_country_with_its_reason_not_the_whole_outcome(tmp_path: Path) -> None:
    atlas = _atlas()
    atlas[2020].loc[1, "prevalence_per_100k"] = 0.0  # Japan reports 0
    out = build_outcomes(["atlas2020", "atlas2020_adj"], gbd=_gbd(), atlas=atlas)
    wide = out.wide.set_index("region_id").reindex(["NOR", "JPN", "KOS"])
    assert wide.loc["JPN"].isna().all()
    assert wide.loc["NOR", "ms_atlas2020"] == 250.0  # the others stay
    reason = ("value is not above 0: the models use log prevalence, so this country is not "
              "fitted for this outcome")
    jpn = out.atlas[out.atlas["region_id"] == "JPN"]
    assert jpn["note"].tolist() == [reason, reason]
    ctx, _ = _ctx(tmp_path)
    folder = ctx.cache / "prevalence-k0"
    folder.mkdir(parents=True)
    out.atlas.to_csv(folder / "outcomes_atlas.csv", index=False)
    table = pd.DataFrame({"region_id": ["NOR", "JPN"], "cloud_cover_pct": [70.0, 60.0],
                          "uv_index": [2.0, 5.0], "abs_latitude": [61.0, 36.0],
                          "gdp_per_capita": [75000.0, 40000.0]})
    miss = outcomes_missing(ctx, table, "k0")
    assert miss[miss["region_id"] == "JPN"]["reason"].tolist() == [reason, reason]


# --------------------------------------------------------------------------- mirror
def test_mirror_outcome_table(mirror: Path, workdir: Path) -> None:
    out = load_outcomes(load_config())
    w = out.wide.set_index("region_id")
    assert out.skipped == {}
    n = w.notna().sum()
    assert n["ms_gbd2016_prev"] == 194 and n["ms_gbd2016_inc"] == 194
    assert (n["ms_atlas2020"], n["ms_atlas2013"], n["ms_atlas2008"]) == (104, 93, 91)
    # GBD 2016 spot values (ms/SOURCES.md §7): USA 136.13, Japan 27.21 age-standardised
    assert w.loc["USA", "ms_gbd2016_prev"] == 136.13
    assert w.loc["JPN", "ms_gbd2016_prev"] == 27.21
    # Atlas 2020 Japan: 5,712 cases / 126,860,299 people, × GBD 2016 27.21 / 36.80
    crude = 5712 / 126860299 * 1e5
    assert w.loc["JPN", "ms_atlas2020"] == pytest.approx(crude)
    assert w.loc["JPN", "ms_atlas2020_adj"] == pytest.approx(crude * 27.21 / 36.80)
    # Atlas 2013 Canada 291 × GBD 2013 ratio; Atlas values outside GBD keep no adjusted rate
    assert w.loc["CAN", "ms_atlas2013"] == 291.0
    assert 0.6 < w.loc["CAN", "ms_atlas2013_adj"] / 291.0 < 1.0
    no_ratio = out.atlas[out.atlas["note"] != ""]
    assert set(no_ratio["outcome"]) <= {"atlas2020_adj", "atlas2013_adj", "atlas2008_adj"}
    assert "KOS" in set(no_ratio["region_id"])


@pytest.mark.parametrize(("sample", "source", "file", "expected"), [
    (False, "gbd2016", "", "GBD 2016 prevalence, age-standardised"),
    (False, "user", "data/raw/ms_by_state.csv", "your table ms_by_state.csv"),
    (False, "gbd_results", "IHME-GBD_2021.csv", "GBD Results-tool table IHME-GBD_2021.csv"),
    (True, "gbd2016", "", "built-in sample prevalence"),
])
def test_outcome_label_says_which_ms_table_the_run_maps(sample, source, file, expected):
    from types import SimpleNamespace

    from geo_ms.pipeline.stages import outcome_label

    ctx = SimpleNamespace(sample=sample, cfg={"prevalence": {"source": source, "file": file}})
    assert outcome_label(ctx) == expected


def test_column_sources_name_each_columns_datasets():
    from types import SimpleNamespace

    from geo_ms.pipeline.stages import column_sources

    used = {"ne_admin0_10m": {"kind": "boundaries"}, "gbd2016_ms": {"kind": "prevalence"},
            "cru_cl1_cloud": {"kind": "cloud"}, "gpw_pop_2020_30min": {"kind": "population"},
            "sunshine_cities": {"kind": "points"}}
    ctx = SimpleNamespace(sample=False, used=used,
                          cfg={"prevalence": {"source": "gbd2016"}, "exposures": {}})
    got = column_sources(ctx, ["prevalence_per_100k", "cloud_cover_pct", "cloud_cover_pct_popw",
                               "gdp_per_capita", "sunshine_hours_cities", "resid"])
    assert got == {
        "prevalence_per_100k": ["gbd2016_ms"],
        "cloud_cover_pct": ["cru_cl1_cloud"],
        "cloud_cover_pct_popw": ["cru_cl1_cloud", "gpw_pop_2020_30min"],
        "gdp_per_capita": ["ne_admin0_10m"],
        "sunshine_hours_cities": ["sunshine_cities"],
        "resid": [],  # a model output: a figure showing it names every source
    }
    ctx.cfg["prevalence"].update(source="user", file="t.csv")  # not a catalog dataset
    assert column_sources(ctx, ["prevalence_per_100k"]) == {"prevalence_per_100k": []}
