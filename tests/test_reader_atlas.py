"""The MSIF Atlas of MS readers (2008, 2013, 2020): tiny files in each edition's layout,
and the mirror files against the sanity values of the mirror's ms/SOURCES.md §14."""

from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

from geo_ms.errors import FormatError
from geo_ms.ingest.readers import read_atlas, read_atlas_2008, read_atlas_2013, read_atlas_2020
from geo_ms.ingest.readers.atlas import atlas_name_overrides, match_atlas_names, parse_atlas_number

# The 3rd-edition sheet has 91 columns; the ones geo_ms reads sit at these positions.
_COLS_2020 = {0: "Country", 1: "Did Country provide Data_for filtering",
              2: "Number of Prevalent Cases", 3: "Prevalence of MS per 100,000",
              17: "Confidence Rating Prevalence Sources", 18: "Number of Incident Cases",
              19: "Incidence of MS per 100,000", 28: "",
              69: "MS Registry with National Geographic Coverage", 83: "WHO Region",
              84: "Global Health Data Exchange_sub regions", 85: "World Income Bank Level",
              86: "2019 Estimated Population"}


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def _row_2020(**cells: str) -> list[str]:
    row = [""] * 91
    for pos, name in _COLS_2020.items():
        if name in cells:
            row[pos] = cells[name]
    return row


def _file_2020(tmp_path: Path) -> Path:
    header = [_COLS_2020.get(i, f"other column {i}") for i in range(91)]
    rows = [
        header,
        _row_2020(**{"Country": "Afghanistan", "WHO Region": "Eastern Mediterranean",
                     "2019 Estimated Population": "38041757"}),
        _row_2020(**{"Country": "Germany", "Number of Prevalent Cases": "252000",
                     "Prevalence of MS per 100,000": "303",
                     "Confidence Rating Prevalence Sources": "Moderate",
                     "Number of Incident Cases": "14,600", "Incidence of MS per 100,000": "17.6",
                     "MS Registry with National Geographic Coverage": "Yes",
                     "WHO Region": "European", "2019 Estimated Population": "83517046"}),
        _row_2020(**{"Country": "Ethiopia", "Number of Prevalent Cases": "15",
                     "Prevalence of MS per 100,000": "0",
                     "Confidence Rating Prevalence Sources": "Unknown", "WHO Region": "African",
                     "2019 Estimated Population": "112,078,727"}),
        _row_2020(**{"Country": "Moldova, Republic of ", "Number of Prevalent Cases": "1,348",
                     "Prevalence of MS per 100,000": "33",
                     "Confidence Rating Prevalence Sources": "High",
                     "MS Registry with National Geographic Coverage": "None",
                     "WHO Region": "European", "2019 Estimated Population": "4043258"}),
        _row_2020(**{"Country": "Dominican Republic", "Number of Prevalent Cases": "280",
                     "Prevalence of MS per 100,000": "3", "Number of Incident Cases": "3",
                     "Incidence of MS per 100,000": "0", "WHO Region": "Americas",
                     "2019 Estimated Population": "10738957"}),
        _row_2020(**{"Country": "Cabo Verde", "Incidence of MS per 100,000": "1.8",
                     "Number of Incident Cases": "10", "WHO Region": "African",
                     "2019 Estimated Population": "549936"}),
        _row_2020(**{"Country": "Malta", "Prevalence of MS per 100,000": "91",
                     "WHO Region": "European"}),
        [""] * 91,
        _row_2020(**{"Country": "Global", "Number of Prevalent Cases": "2,770,107",
                     "Prevalence of MS per 100,000": "36"}),
        _row_2020(**{"Country": "European", "Prevalence of MS per 100,000": "133"}),
    ]
    path = tmp_path / "MS_GLOBAL_STATS.csv"
    path.write_bytes(_csv(rows).encode("utf-8-sig"))
    return path


def test_2020_layout_bom_separators_recomputed_rate_and_aggregates(tmp_path: Path) -> None:
    t = read_atlas_2020(_file_2020(tmp_path)).set_index("region_id")
    assert list(t.index) == ["DEU", "ETH", "MDA", "DOM", "CPV", "MLT"]  # no AFG, no aggregates
    assert t.loc["DEU", "prevalence_per_100k"] == pytest.approx(252000 / 83517046 * 1e5)
    assert t.loc["DEU", "prevalence_per_100k"] == pytest.approx(301.7348, abs=1e-4)
    assert t.loc["DEU", "prevalence_stated"] == 303.0
    assert t.loc["DEU", "incidence_per_100k"] == 17.6
    assert t.loc["DEU", "incident_cases"] == 14600.0
    assert t.loc["DEU", "confidence_prevalence"] == "Moderate"
    assert t.loc["DEU", "national_registry"] == "Yes"
    # rounded to 0 in the file: the rate comes from cases ÷ population (with separators)
    assert t.loc["ETH", "prevalence_per_100k"] == pytest.approx(15 / 112078727 * 1e5)
    assert t.loc["ETH", "population_2019"] == 112078727.0
    assert t.loc["MDA", "region_name"] == "Moldova, Republic of"
    assert t.loc["MDA", "cases"] == 1348.0
    assert t.loc["MDA", "prevalence_per_100k"] == pytest.approx(1348 / 4043258 * 1e5)
    # a stated incidence of 0 with cases is recomputed the same way
    assert t.loc["DOM", "incidence_per_100k"] == pytest.approx(3 / 10738957 * 1e5)
    assert math.isnan(t.loc["CPV", "prevalence_per_100k"])
    assert t.loc["CPV", "incidence_per_100k"] == 1.8
    assert t.loc["MLT", "prevalence_per_100k"] == 91.0
    assert t.loc["MLT", "prevalence_method"] == "stated (rounded)"
    assert t.loc["DEU", "prevalence_method"] == "cases / 2019 population"
    assert set(t["year"]) == {2020}
    assert not t["age_standardised"].any()
    assert t.loc["DEU", "source"].startswith("MSIF Atlas of MS, 3rd edition")


_HEADER_2013 = ("Country,Number of people with MS,Prevalence of MS,Incidence of MS,"
                "Female/male ratio,Mean age of onset,Is data available for the incidence and/or "
                "prevalence of MS in different regions within the country?,Is data available "
                "for the incidence and/or prevalence of MS within different ethnic groups in the "
                "country?,% Relapsing Remitting MS,% Primary Progressive MS,% Progressive "
                "Relapsing MS,Number with pediatric MS,Pediatric Prevalence,Pediatric "
                "Incidence,\n")


def test_2013_layout_zero_is_unknown_and_shifted_columns_ignored(tmp_path: Path) -> None:
    text = _HEADER_2013 + (
        "Argentina,8000,18,1,1.66,33,Yes,No,82,15,3,Pediatric Female/Male ratio,0.21,0,0\n"
        "Armenia,0,0,0,0,0,,,,,,,,,\n"
        "Canada,97366,291,13.4,2.66,31,Yes,Yes,85,15,0,200,0.56,,0\n"
        "Cameroon,4,0.018,0,3,37.75,,,,,,,,,\n"
        "Dominican Republic,,,,,,,,,,,,,,\n"
        "Palestinian Authority,2000,45,0,1.5,0,,,,,,,,,\n"
        "Germany,\"120,000\",149,3.5,2.3,32,,,,,,,,,\n"
    )
    path = tmp_path / "MS_ATLAS_2013.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    t = read_atlas_2013(path).set_index("region_id")
    assert list(t.index) == ["ARG", "CAN", "CMR", "PSE", "DEU"]
    assert t["prevalence_per_100k"].tolist() == [18.0, 291.0, 0.018, 45.0, 149.0]
    assert t.loc["DEU", "cases"] == 120000.0
    assert t.loc["CAN", "incidence_per_100k"] == 13.4
    assert math.isnan(t.loc["CMR", "incidence_per_100k"])  # 0 = not known
    assert set(t["year"]) == {2013}


def test_2008_layout_text_codes_and_long_headers(tmp_path: Path) -> None:
    text = (
        'Country,"Total Number of people with MS, 2008","Prevalence of MS, 2008",'
        '"Incidence of MS, 2008","Mean age of onset, 2008","Male / Female Ratio, 2008 (NB: in '
        'the 2013 we use Female/Male ratio so not comparible)"\n'
        "Afghanistan,1500,4,2.5,NOT KNOWN,1\n"
        "Albania,,,NO DATA PROVIDED,NO DATA PROVIDED,NO DATA PROVIDED\n"
        "Belarus,4700,47,NOT KNOWN,24,4\n"
        "Benin,0,0,0,NOT KNOWN,NOT KNOWN\n"
        'Canada,"50,000",240,3.5,24.5,2\n'
        "Cape Verde,,,NO DATA PROVIDED,NO DATA PROVIDED,NO DATA PROVIDED\n"
    )
    path = tmp_path / "MS_ATLAS_2008.csv"
    path.write_text(text, encoding="utf-8")
    t = read_atlas(path, 2008).set_index("region_id")
    assert list(t.index) == ["AFG", "BLR", "CAN"]
    assert t["prevalence_per_100k"].tolist() == [4.0, 47.0, 240.0]
    assert t.loc["CAN", "cases"] == 50000.0
    assert math.isnan(t.loc["BLR", "incidence_per_100k"])
    assert t.loc["AFG", "incidence_per_100k"] == 2.5


def test_unmatched_name_with_a_value_is_reported_and_dropped(tmp_path: Path) -> None:
    text = (_HEADER_2013 + "Atlantis,10,5,0,0,0,,,,,,,,,\nNarnia,0,0,0,0,0,,,,,,,,,\n"
            "Norway,7000,160,8,2,30,,,,,,,,,\n")
    path = tmp_path / "a.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.warns(UserWarning, match=r"a\.csv: 1 Atlas country name\(s\) with a value match "
                                         r"no ISO3 code and are dropped: 'Atlantis'; add them"):
        t = read_atlas_2013(path)
    assert t["region_id"].tolist() == ["NOR"]


def test_not_an_atlas_file_and_missing_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("region,value\nX,1\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.csv: not an Atlas of MS country table"):
        read_atlas_2013(bad)
    short = tmp_path / "short.csv"
    short.write_text("Country,Number of people with MS\nNorway,7000\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"short\.csv: no column starting with 'Prevalence of MS'"):
        read_atlas_2013(short)
    with pytest.raises(FormatError, match=r"missing\.csv: the Atlas of MS file does not exist"):
        read_atlas_2020(tmp_path / "missing.csv")


def test_parse_number_and_overrides() -> None:
    assert parse_atlas_number('2,770,107') == 2770107.0
    assert parse_atlas_number("0.018") == 0.018
    for text in ("NOT KNOWN", "NO DATA PROVIDED", "", "  ", "Pediatric Female/Male ratio", "1,2"):
        assert math.isnan(parse_atlas_number(text)), text
    assert match_atlas_names(["Cote d'lvoire", "Iran, Islamic Republic of", "Hong Kong "]) == {
        "Cote d'lvoire": "CIV", "Iran, Islamic Republic of": "IRN", "Hong Kong ": "HKG"}
    assert all(len(v) == 3 and v.isupper() for v in atlas_name_overrides().values())


# --------------------------------------------------------------------------- mirror
def _strict(fn, path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unmatched Atlas name would fail here
        return fn(path)


def test_mirror_2020_sanity_values(mirror: Path) -> None:
    path = mirror / "ms/atlas_of_ms/MS_GLOBAL_STATS.csv"
    t = _strict(read_atlas_2020, path).set_index("region_id")
    assert int(t["prevalence_per_100k"].notna().sum()) == 104
    assert int(t["incidence_per_100k"].notna().sum()) == 75
    stated = t["prevalence_stated"]
    assert stated[["DEU", "USA", "GBR", "CAN", "JPN"]].tolist() == [303, 288, 196, 250, 4]
    assert int((stated == 0).sum()) == 10
    assert t.loc["USA", "prevalence_per_100k"] == pytest.approx(913925 / 329064917 * 1e5)
    # SOURCES.md names NZL, NGA, PAN, PRI, ROU, SRB, SYR as > 10 % off; where the stated
    # rate is ≥ 20 (integer rounding below 2.5 %) exactly these five of 59 are
    big = t[stated >= 20]
    off = (big["prevalence_per_100k"] / big["prevalence_stated"] - 1).abs() > 0.10
    assert len(big) == 59
    assert sorted(big.index[off]) == ["NZL", "PRI", "ROU", "SRB", "SYR"]
    assert set(t["confidence_prevalence"].dropna()) <= {"High", "Moderate", "Low", "Very Low",
                                                        "Unknown"}
    assert t.loc["CAN", "national_registry"] == "No"
    assert t.loc["DEU", "national_registry"] == "Yes"


def test_mirror_2013_sanity_values(mirror: Path) -> None:
    t = _strict(read_atlas_2013, mirror / "ms/atlas_of_ms/MS_ATLAS_2013.csv")
    s = t.set_index("region_id")["prevalence_per_100k"]
    assert int(s.notna().sum()) == 93
    assert s[["CAN", "USA", "GBR", "DEU", "DNK", "SWE", "JPN", "AUS"]].tolist() == [
        291, 135, 164, 149, 227, 189, 8, 95.6]
    assert "ARM" not in s.index and "DOM" not in s.index and "SVK" not in s.index


def test_mirror_2008_sanity_values(mirror: Path) -> None:
    t = _strict(read_atlas_2008, mirror / "ms/atlas_of_ms/MS_ATLAS_2008.csv")
    s = t.set_index("region_id")["prevalence_per_100k"]
    assert int(s.notna().sum()) == 91
    assert s[["USA", "CAN", "DEU", "GBR", "JPN", "SWE", "NOR"]].tolist() == [
        135, 240, 149, 110, 8, 100, 125]


# --------------------------------------------------------------------------- catalog
# ms/SOURCES.md §14 (copied here so the check also runs without the mirror)
_ATLAS_SHA256 = {
    "atlas_ms_2020": ("MS_GLOBAL_STATS.csv",
                      "09e883af263947b489a3f714aa891f1ff1ff4504942d522554b97ed8f1ccb83d"),
    "atlas_ms_2013": ("MS_ATLAS_2013.csv",
                      "6f2bb6e04992ab7c28b31112f0211cc3fc86b7e1c28c4283581db4ca26487fda"),
    "atlas_ms_2008": ("MS_ATLAS_2008.csv",
                      "2e12b09c11b73dab187641e8de26ea39f70c83a210a82ec3904fa9eb109125ed"),
}


def test_catalog_entries_pin_url_hash_and_mirror_path() -> None:
    from geo_ms.ingest.catalog import get_dataset, resolve_reader

    for dataset_id, (name, sha) in _ATLAS_SHA256.items():
        ds = get_dataset(dataset_id)
        (spec,) = ds.files
        assert spec.sha256 == sha
        assert spec.url == ("https://raw.githubusercontent.com/darrengeary/MS-Project-Python/"
                            f"54b7a75a1c1f5e9c1287db4baaa442963bb277db/{name}")
        assert spec.mirror_path == f"ms/atlas_of_ms/{name}"
        assert ds.kind == "prevalence" and "Atlas" in ds.citation
        assert resolve_reader(ds.reader).__name__ == f"read_atlas_{dataset_id[-4:]}"


def test_mirror_fetch_verifies_the_pinned_hashes(mirror: Path, workdir: Path) -> None:
    from geo_ms.ingest import fetch

    for dataset_id, (name, _) in _ATLAS_SHA256.items():
        paths = fetch.fetch(dataset_id)
        assert paths[name] == mirror / "ms/atlas_of_ms" / name
