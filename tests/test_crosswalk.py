"""The GBD location → ISO3 crosswalk (geo_ms/data/gbd_location_iso3.csv) and country names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo_ms.ingest.readers import gbd_crosswalk
from geo_ms.ingest.readers.gbd import _name_index
from geo_ms.ingest.readers.prevalence import country_name_index, match_region_names
from tools import build_crosswalk as _build_crosswalk

PACKAGE_DATA = Path(_build_crosswalk.__file__).resolve().parents[1] / "geo_ms" / "data"


def test_crosswalk_columns_and_uniqueness() -> None:
    cw = gbd_crosswalk()
    assert list(cw.columns) == ["location_id", "gbd_name", "iso3", "method"]
    assert len(cw) == 195  # 194 locations with MS rows + US Virgin Islands
    assert cw["location_id"].is_unique
    assert cw["iso3"].is_unique
    assert cw["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert set(cw["method"]) == {"name", "override"}


def test_crosswalk_known_locations() -> None:
    cw = gbd_crosswalk().set_index("location_id")
    expected = {
        102: ("United States", "USA"),
        95: ("United Kingdom", "GBR"),
        67: ("Japan", "JPN"),
        349: ("Greenland", "GRL"),
        35: ("Georgia", "GEO"),  # the country, not the US state (533)
        197: ("Swaziland", "SWZ"),
        49: ("Macedonia", "MKD"),
        170: ("Congo", "COG"),
        171: ("Democratic Republic of the Congo", "COD"),
        422: ("Virgin Islands, U.S.", "VIR"),
    }
    for loc, (name, iso3) in expected.items():
        assert (cw.loc[loc, "gbd_name"], cw.loc[loc, "iso3"]) == (name, iso3)
    overrides = cw[cw["method"] == "override"]
    assert sorted(overrides.index) == sorted(_build_crosswalk.OVERRIDES)


def test_crosswalk_returns_a_copy() -> None:
    cw = gbd_crosswalk()
    cw.loc[0, "iso3"] = "XXX"
    assert "XXX" not in set(gbd_crosswalk()["iso3"])


def test_country_name_index_contains_gbd_and_natural_earth_names() -> None:
    index = country_name_index()
    assert index["Swaziland"] == "SWZ"  # GBD 2016 name and Natural Earth NAME_ALT
    assert index["eSwatini"] == "SWZ"  # Natural Earth NAME
    assert index["Czechia"] == "CZE"
    assert index["Côte d'Ivoire"] == "CIV"
    assert index["FRA"] == "FRA"
    found = match_region_names(["ESWATINI", "Cote d'Ivoire", "czech republic"], index)
    assert found == {"ESWATINI": "SWZ", "Cote d'Ivoire": "CIV", "czech republic": "CZE"}


# --------------------------------------------------------------------------- mirror
@pytest.fixture(scope="module")
def ms_locations(mirror: Path) -> set[int]:
    rate = (
        mirror / "ms/gbd2016_ddf/prevalence/"
        "ddf--datapoints--prevalence_rate--by--location--sex--age--cause-546--year.csv"
    )
    frame = pd.read_csv(rate, usecols=["location", "cause"])
    return set(frame.loc[frame["cause"] == 546, "location"])


def test_every_ms_location_maps_to_a_unique_iso3(ms_locations: set[int]) -> None:
    assert len(ms_locations) == 194
    cw = gbd_crosswalk().set_index("location_id")
    assert ms_locations <= set(cw.index)
    assert cw.loc[sorted(ms_locations), "iso3"].is_unique


def test_crosswalk_agrees_with_panchovg_reference(mirror: Path, ms_locations: set[int]) -> None:
    ref = pd.read_csv(mirror / "ms/gbd2019_location_iso3_panchoVG_HLI.csv")
    merged = gbd_crosswalk().merge(ref, on="location_id", how="left", validate="1:1")
    assert merged["ISO3"].notna().all()  # all 195 ids, US Virgin Islands included, are in it
    mismatched = merged[merged["iso3"] != merged["ISO3"]]
    assert mismatched.empty, mismatched[["location_id", "gbd_name", "iso3", "ISO3"]]
    assert ms_locations <= set(merged["location_id"])


def test_name_index_resolves_every_gbd2019_name(mirror: Path) -> None:
    """GBD 2019 spellings (Eswatini, Türkiye-era UN names...) resolve to the reference ISO3."""
    ref = pd.read_csv(mirror / "ms/gbd2019_location_iso3_panchoVG_HLI.csv")
    assert len(ref) == 204
    found = match_region_names(ref["location_name"], _name_index())
    got = ref["location_name"].map(found)
    assert (got == ref["ISO3"]).all(), ref.loc[got != ref["ISO3"], ["location_name", "ISO3"]]


def test_build_script_reproduces_the_committed_files(mirror: Path, tmp_path: Path) -> None:
    rc = _build_crosswalk.main(
        [
            str(mirror / "ms/gbd2016_ddf"),
            str(mirror / "boundaries/ne_10m_admin_0_countries_deu.zip"),
            str(tmp_path),
        ]
    )
    assert rc == 0
    for name in ("gbd_location_iso3.csv", "ne_country_names.csv"):
        assert (tmp_path / name).read_bytes() == (PACKAGE_DATA / name).read_bytes(), name
