"""The UN DESA International Migrant Stock 2020 reader (Table 3, M49 codes)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from geo_ms.errors import FormatError
from geo_ms.ingest.readers.undesa import migrant_stock_from_frame, read_undesa_migrant_stock

IMS = "covariates/undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx"
NAME = "Region, development group, country or area"


def _sheet() -> pd.DataFrame:
    """Hand-made Table 3: title rows, header on row 11, three sex blocks, aggregates."""
    head = [None, NAME, "Notes", "Location code", "Type of data",
            2015, 2020, 2015, 2020, 2015, 2020]
    rows = [[None] * 11 for _ in range(10)]
    rows[1][4] = "International Migrant Stock 2020: Destination"
    rows += [head,
             [1, "WORLD", None, 900, None, 3.4, 3.6, 3.5, 3.7, 3.3, 3.5],
             [2, "Northern Africa and Western Asia", None, 1833, None, 8.7, 9.5, 9, 9, 8, 8],
             [3, "   Norway", None, 578, "B", 15.0, 15.7, 16, 16, 14, 15],
             [4, "Tokelau*", 40, 772, "B R", 95.0, 91.7, 1, 1, 1, 1],
             [5, "Channel Islands*", None, 830, "B", 15.9, 16.1, 1, 1, 1, 1],
             [6, "Holy See", None, 336, "B", "..", "..", 1, 1, 1, 1]]
    return pd.DataFrame(rows)


def test_countries_are_m49_below_900_mapped_to_iso3():
    t = migrant_stock_from_frame(_sheet())
    y = t[t["year"] == 2020]
    assert y[["m49", "name", "iso3", "is_country"]].values.tolist() == [
        [900, "WORLD", "", False], [1833, "Northern Africa and Western Asia", "", False],
        [578, "Norway", "NOR", True], [772, "Tokelau", "TKL", True],
        [830, "Channel Islands", "", True], [336, "Holy See", "VAT", True]]
    # the first (both sexes) block only
    assert y["value"].tolist()[:4] == [3.6, 9.5, 15.7, 91.7]
    assert sorted(set(t["year"])) == [2015, 2020]
    assert t.attrs["unmapped"] == ["830 Channel Islands"]


def test_two_dots_are_missing():
    t = migrant_stock_from_frame(_sheet())
    assert math.isnan(t.loc[(t["m49"] == 336) & (t["year"] == 2020), "value"].item())


def test_no_header_row_refused():
    raw = pd.DataFrame([["Table 3", None], ["WORLD", 3.6]])
    with pytest.raises(FormatError, match=r"^Table 3: no header row with 'Region, development "
                                          r"group, country or area' in the first 30 rows$"):
        migrant_stock_from_frame(raw)


def test_missing_sheet_refused(mirror):
    with pytest.raises(FormatError, match=r"no sheet 'Table 9'"):
        read_undesa_migrant_stock(mirror / IMS, sheet="Table 9")


def test_mirror_sanity_values(mirror):
    t = read_undesa_migrant_stock(mirror / IMS)
    v = t.set_index(["m49", "year"])["value"]
    assert v[(900, 2000)] == pytest.approx(2.82, abs=0.005)
    assert v[(900, 2020)] == pytest.approx(3.60, abs=0.005)
    assert v[(4, 2020)] == pytest.approx(0.37, abs=0.005)
    assert v[(8, 2020)] == pytest.approx(1.70, abs=0.005)
    c = t[t["is_country"] & (t["year"] == 2020)]
    assert len(c) == 235 and not c.loc[c["iso3"] != "", "iso3"].duplicated().any()
    assert t.attrs["unmapped"] == ["830 Channel Islands"]
    assert c.set_index("m49").loc[4, "iso3"] == "AFG"
