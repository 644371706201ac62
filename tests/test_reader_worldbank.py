"""The World Bank WDI bulk-CSV reader: preamble, BOM, aggregates, latest value in a window."""

from __future__ import annotations

import pytest

from geo_ms.errors import FormatError, SchemaError
from geo_ms.ingest.readers.worldbank import latest_in_window, read_wdi_csv

HEALTH = "covariates/API_SH.XPD.CHEX.PC.CD_DS2_en_csv_v2_4562.csv"
PHYS = "covariates/API_SH.MED.PHYS.ZS_DS2_en_csv_v2_5359574.csv"

# Hand-made in the World Bank's layout: BOM, 4 preamble lines, trailing commas, an
# aggregate (WLD), an income group (HIC), Kosovo (XKX), the Channel Islands (CHI).
_CSV = (
    '"Data Source","World Development Indicators",\n'
    '\n'
    '"Last Updated Date","2026-07-01",\n'
    '\n'
    '"Country Name","Country Code","Indicator Name","Indicator Code","2014","2015","2016",'
    '"2017",\n'
    '"Norway","NOR","Physicians","SH.MED.PHYS.ZS","4.4","","4.6","",\n'
    '"World","WLD","Physicians","SH.MED.PHYS.ZS","1.5","1.6","1.6","1.7",\n'
    '"High income","HIC","Physicians","SH.MED.PHYS.ZS","3.0","3.1","3.1","3.2",\n'
    '"Kosovo","XKX","Physicians","SH.MED.PHYS.ZS","","","","1.9",\n'
    '"Channel Islands","CHI","Physicians","SH.MED.PHYS.ZS","","","","",\n'
    '"Niger","NER","Physicians","SH.MED.PHYS.ZS","0.02","","","",\n'
)


@pytest.fixture
def wdi(tmp_path):
    p = tmp_path / "API_SH.MED.PHYS.ZS_DS2_en_csv_v2_1.csv"
    p.write_bytes(_CSV.encode("utf-8-sig"))
    return p


def test_preamble_bom_and_aggregates(wdi):
    t = read_wdi_csv(wdi)
    assert t.columns.tolist() == ["iso3", "country_name", "year", "value"]
    assert t[["iso3", "year", "value"]].values.tolist() == [
        ["KOS", 2017, 1.9], ["NER", 2014, 0.02], ["NOR", 2014, 4.4], ["NOR", 2016, 4.6]]
    assert t.attrs["aggregates"] == ["WLD", "HIC"]
    assert t.attrs["unmapped"] == ["CHI"]
    assert t.attrs["indicator"] == "SH.MED.PHYS.ZS"
    assert t.attrs["countries"] == ["NOR", "KOS", "NER"]


def test_latest_value_in_window_keeps_its_year(wdi):
    t = read_wdi_csv(wdi)
    assert latest_in_window(t, [2015, 2016]).values.tolist() == [["NOR", 4.6, 2016]]
    assert latest_in_window(t, (2014, 2015)).values.tolist() == [["NER", 0.02, 2014],
                                                                 ["NOR", 4.4, 2014]]


def test_reversed_window_refused(wdi):
    with pytest.raises(SchemaError, match=r"^year window \[2020, 2015\]: the first year is after "
                                          r"the last$"):
        latest_in_window(read_wdi_csv(wdi), [2020, 2015])


def test_metadata_csv_refused(tmp_path):
    p = tmp_path / "Metadata_Country_API.csv"
    p.write_text('"Country Code","Region","IncomeGroup"\n"ABW","Latin America","High income"\n')
    with pytest.raises(FormatError, match=r"Metadata_Country_API\.csv: no World Bank header"):
        read_wdi_csv(p)


def test_mirror_health_expenditure_2019(mirror):
    t = read_wdi_csv(mirror / HEALTH)
    y = t[t["year"] == 2019].set_index("iso3")["value"]
    assert len(y) == 193  # covariates/SOURCES.md §2: 193 countries with a 2019 value
    for iso3, value in {"USA": 10550.2, "NOR": 8007.4, "FRA": 4520.0, "NER": 31.9,
                        "AFG": 74.06}.items():
        assert y[iso3] == pytest.approx(value, abs=0.06), iso3
    assert "WLD" in t.attrs["aggregates"] and "EUU" in t.attrs["aggregates"]
    assert len(t.attrs["aggregates"]) + len(t.attrs["countries"]) + 1 == 265  # + CHI


def test_mirror_physicians_2018_and_window(mirror):
    t = read_wdi_csv(mirror / PHYS)
    y = t[t["year"] == 2018].set_index("iso3")["value"]
    for iso3, value in {"USA": 2.61, "FRA": 3.24, "NOR": 4.834, "NER": 0.0162}.items():
        assert y[iso3] == pytest.approx(value, rel=1e-9), iso3
    assert len(y) == 130  # SOURCES.md §3: 130 countries for 2018
    latest = latest_in_window(t, [2015, 2020])
    assert 170 <= len(latest) <= 185  # "~178 countries"
    assert latest["year"].between(2015, 2020).all()
