"""The World Migration Matrix reader (ancestry): codes, all-zero rows, source lists."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo_ms.errors import FormatError, SchemaError
from geo_ms.ingest.readers.ancestry import (
    ancestry_share,
    matrix_from_frame,
    read_world_migration_matrix,
)

WMM = "covariates/world_migration_matrix_v1.1.xls"


def _sheet() -> pd.DataFrame:
    """A hand-made sheet with the traps: World Bank codes, an all-zero row, YUG, a bad code."""
    return pd.DataFrame({
        "wbcode": ["USA", "ROM", "YUG", "ISL", "XXQ"],
        "wbname": ["United States", "Romania", "Serbia and Montenegro", "Iceland", "Nowhere"],
        "gbr": [0.5, 0.0, 0.0, 0.0, 0.2],
        "rom": [0.1, 1.0, 0.05, 0.0, 0.0],
        "yug": [0.0, 0.0, 0.95, 0.0, 0.0],
        "chn": [0.4, 0.0, 0.0, 0.0, 0.8],
        "update": [None, None, None, None, None],
    })


def test_world_bank_codes_become_iso3_and_unmapped_are_listed():
    m = matrix_from_frame(_sheet())
    assert m.index.tolist() == ["USA", "ROU", "SRB", "MNE", "ISL"]
    assert m.columns.tolist() == ["GBR", "ROU", "SCG", "CHN"]
    assert m.attrs["unmapped"] == ["XXQ"]
    assert m.attrs["remapped"] == {"ROM": ["ROU"], "YUG": ["SRB", "MNE"]}
    # both successor states carry Serbia and Montenegro's row
    assert m.loc["SRB"].tolist() == m.loc["MNE"].tolist() == [0.0, 0.05, 0.95, 0.0]


def test_all_zero_row_is_missing_not_zero():
    m = matrix_from_frame(_sheet())
    assert m.attrs["no_data"] == ["ISL"]
    assert m.loc["ISL"].isna().all()
    share = ancestry_share(m, ["GBR", "ROU", "SCG"])
    assert math.isnan(share["ISL"])
    assert share["USA"] == pytest.approx(0.6) and share["SRB"] == pytest.approx(1.0)


def test_unknown_source_code_names_the_closest():
    m = matrix_from_frame(_sheet())
    with pytest.raises(SchemaError, match=r"^covariates.ancestry_europe: ROM not a source country "
                                          r"of the World Migration Matrix \(did you mean 'ROU'\?\)$"):
        ancestry_share(m, ["GBR", "ROM"], key="covariates.ancestry_europe")


def test_no_wbcode_column_refused():
    with pytest.raises(FormatError, match=r"^m\.xls: no 'wbcode' column \(columns: code, gbr, "
                                          r"\.\.\.\)$"):
        matrix_from_frame(pd.DataFrame({"code": ["USA"], "gbr": [1.0]}), "m.xls")


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match=r"wmm\.xls: the World Migration Matrix does not exist$"):
        read_world_migration_matrix(tmp_path / "wmm.xls")


def test_mirror_matrix_sanity_values(mirror):
    from geo_ms.config import default_config

    m = read_world_migration_matrix(mirror / WMM)
    assert m.attrs["unmapped"] == []
    assert sorted(m.attrs["no_data"]) == ["COK", "ISL", "NIU", "STP", "TON", "VCT", "WSM"]
    assert set(m.attrs["remapped"]) == {"ROM", "ZAR", "TMP", "OAN", "CIL", "YUG"}
    # 172 rows, YUG counted twice (SRB, MNE); 172 source columns
    assert m.shape == (173, 172)
    sums = m.dropna().sum(axis=1)
    assert np.allclose(sums, 1.0, atol=5e-5)
    # covariates/SOURCES.md §1: share of ancestors from "the 35 European source countries";
    # the default list is UN M49 Europe (38 source countries of the matrix), whose extra
    # small sources move Australia from 0.89 to 0.8995: within 0.01 of every value
    eu = ancestry_share(m, default_config()["covariates"]["ancestry_europe"])
    expected = {"USA": 0.76, "CAN": 0.85, "AUS": 0.89, "NZL": 0.81, "ARG": 0.90, "URY": 0.92,
                "BRA": 0.74, "CHL": 0.59, "MEX": 0.30, "ZAF": 0.18, "JPN": 0.0, "IRN": 0.0}
    for iso3, value in expected.items():
        assert eu[iso3] == pytest.approx(value, abs=0.01), iso3
    north = ancestry_share(m, default_config()["covariates"]["ancestry_north_europe"])
    assert (north <= eu + 1e-12)[eu.notna()].all()  # a subset of the European sources
    assert north.isna().equals(eu.isna())
    assert north["NOR"] == pytest.approx(1.0, abs=1e-3)
    assert north["ITA"] < 0.05
    assert eu["ITA"] > 0.99


def test_damaged_workbook_refused(tmp_path):
    p = tmp_path / "wmm.xls"
    p.write_bytes(b"<html>not a workbook</html>")
    with pytest.raises(FormatError, match=r"wmm\.xls: cannot be read as an Excel workbook \("):
        read_world_migration_matrix(p)
