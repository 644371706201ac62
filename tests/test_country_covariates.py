"""Country covariates (ancestry, health care, migration) as analysis-table columns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo_ms.config import load_config
from geo_ms.errors import ConfigError, DownloadError
from geo_ms.ingest.country_covariates import (
    COUNTRY_COVARIATES,
    VALUE_COLUMNS,
    load_country_covariates,
    missing_covariates,
)
from geo_ms.ingest.readers.ancestry import matrix_from_frame


def _tables() -> dict[str, pd.DataFrame]:
    """Hand-made source tables in each reader's canonical form."""
    wmm = matrix_from_frame(pd.DataFrame({
        "wbcode": ["FRA", "USA", "ISL"], "wbname": ["France", "United States", "Iceland"],
        "fra": [1.0, 0.1, 0.0], "gbr": [0.0, 0.5, 0.0], "ita": [0.0, 0.1, 0.0],
        "chn": [0.0, 0.3, 0.0]}))
    health = pd.DataFrame({"iso3": ["FRA", "FRA", "USA", "NER"], "country_name": "",
                           "year": [2018, 2019, 2016, 2012], "value": [4000.0, 4520.0, 9000.0, 30.0]})
    health.attrs.update(countries=["FRA", "USA", "NER", "ISL"], indicator="SH.XPD.CHEX.PC.CD",
                        unmapped=["CHI"])
    phys = pd.DataFrame({"iso3": ["USA"], "country_name": "", "year": [2018], "value": [2.61]})
    phys.attrs.update(countries=["USA", "FRA"], indicator="SH.MED.PHYS.ZS", unmapped=[])
    mig = pd.DataFrame({"m49": [900, 250, 840, 570], "name": ["WORLD", "France", "USA", "Niue"],
                        "iso3": ["", "FRA", "USA", "NIU"], "is_country": [False, True, True, True],
                        "type_of_data": "", "year": 2020, "value": [3.6, 13.1, 15.3, np.nan]})
    mig.attrs["unmapped"] = []
    return {"world_migration_matrix": wmm, "wdi_health_expenditure": health,
            "wdi_physicians": phys, "undesa_migrant_stock_2020": mig}


def _cfg(**kw) -> dict:
    c = {"ancestry_europe": ["FRA", "GBR", "ITA"], "ancestry_north_europe": ["GBR"],
         "health_expenditure_years": [2015, 2019], "physicians_years": [2015, 2020],
         "migrant_stock_year": 2020}
    return c | kw


def test_columns_values_and_years():
    cov = load_country_covariates(_cfg(), read=_tables().__getitem__)
    t = cov.table.set_index("region_id")
    assert t.loc["USA", "ancestry_europe_share"] == pytest.approx(0.7)
    assert t.loc["USA", "ancestry_north_europe_share"] == pytest.approx(0.5)
    assert t.loc["FRA", "log_health_expenditure_pc"] == pytest.approx(math.log(4520.0))
    assert t.loc["FRA", "health_expenditure_year"] == 2019  # the latest in the window
    assert t.loc["USA", "health_expenditure_year"] == 2016
    assert t.loc["USA", "physicians_per_1000"] == 2.61 and t.loc["USA", "physicians_year"] == 2018
    assert t.loc["FRA", "migrant_share_pct"] == 13.1
    assert "WORLD" not in t.index and "" not in t.index
    assert math.isnan(t.loc["ISL", "ancestry_europe_share"])  # all-zero row: no data
    assert cov.unmapped["wdi_health_expenditure"] == ["CHI"]


def test_every_region_without_a_value_is_listed_with_its_reason():
    cov = load_country_covariates(_cfg(), read=_tables().__getitem__)
    regions = pd.DataFrame({"region_id": ["FRA", "USA", "ISL", "NER", "NIU"],
                            "name": ["France", "United States", "Iceland", "Niger", "Niue"]})
    miss = missing_covariates(cov, regions)
    got = {(r.covariate, r.region_id): r.reason for r in miss.itertuples()}
    assert got == {
        ("ancestry_europe_share", "ISL"): "all-zero row in the World Migration Matrix (no data)",
        ("ancestry_europe_share", "NER"): "not in the World Migration Matrix (172 countries)",
        ("ancestry_europe_share", "NIU"): "not in the World Migration Matrix (172 countries)",
        ("ancestry_north_europe_share", "ISL"):
            "all-zero row in the World Migration Matrix (no data)",
        ("ancestry_north_europe_share", "NER"): "not in the World Migration Matrix (172 countries)",
        ("ancestry_north_europe_share", "NIU"): "not in the World Migration Matrix (172 countries)",
        ("log_health_expenditure_pc", "ISL"): "no value in 2015–2019 (no value in any year)",
        ("log_health_expenditure_pc", "NER"): "no value in 2015–2019 (latest 2012)",
        ("log_health_expenditure_pc", "NIU"): "not in the World Bank table SH.XPD.CHEX.PC.CD",
        ("physicians_per_1000", "FRA"): "no value in 2015–2020 (no value in any year)",
        ("physicians_per_1000", "ISL"): "not in the World Bank table SH.MED.PHYS.ZS",
        ("physicians_per_1000", "NER"): "not in the World Bank table SH.MED.PHYS.ZS",
        ("physicians_per_1000", "NIU"): "not in the World Bank table SH.MED.PHYS.ZS",
        ("migrant_share_pct", "ISL"): "not in UN DESA International Migrant Stock 2020",
        ("migrant_share_pct", "NER"): "not in UN DESA International Migrant Stock 2020",
        ("migrant_share_pct", "NIU"):
            "no value for 2020 ('..') in UN DESA International Migrant Stock 2020",
    }


def test_unavailable_source_is_named_not_dropped():
    tables = _tables()

    def read(did):
        if did == "wdi_physicians":
            raise DownloadError("wdi_physicians: not in the mirror and no network")
        return tables[did]

    cov = load_country_covariates(_cfg(), read=read)
    assert "physicians_per_1000" not in cov.table.columns
    assert cov.skipped == {"wdi_physicians": "wdi_physicians: not in the mirror and no network"}
    regions = pd.DataFrame({"region_id": ["FRA"], "name": ["France"]})
    miss = missing_covariates(cov, regions)
    assert miss[miss["covariate"] == "physicians_per_1000"]["reason"].tolist() == [
        "source wdi_physicians not available: wdi_physicians: not in the mirror and no network"]


def test_bad_source_country_and_year_refused():
    read = _tables().__getitem__
    with pytest.raises(ConfigError, match=r"^covariates.ancestry_north_europe: GRB not a source "
                                          r"country of the World Migration Matrix \(did you mean "
                                          r"'GBR'\?\)$"):
        load_country_covariates(_cfg(ancestry_north_europe=["GRB"]), read=read)
    with pytest.raises(ConfigError, match=r"^covariates.migrant_stock_year = 2019: UN DESA "
                                          r"International Migrant Stock 2020 has 2020$"):
        load_country_covariates(_cfg(migrant_stock_year=2019), read=read)
    with pytest.raises(ConfigError, match=r"^covariates.physicians_years: year window \[2020, "
                                          r"2015\]: the first year is after the last$"):
        load_country_covariates(_cfg(physicians_years=[2020, 2015]), read=read)


def test_unknown_covariates_key_refused():
    with pytest.raises(ConfigError, match=r"unknown key 'covariates.ancestry_eu' \(did you mean "
                                          r"'covariates.ancestry_europe'\?\)"):
        load_config(overrides={"covariates.ancestry_eu": ["GBR"]})


def test_data_dictionary_documents_each_column():
    from geo_ms.exposures.aggregate import data_dictionary

    dd = data_dictionary(list(COUNTRY_COVARIATES)).set_index("column")
    assert dd.loc["ancestry_europe_share", "source"] == "world_migration_matrix"
    assert dd.loc["log_health_expenditure_pc", "unit"] == "ln(current US$)"
    assert (dd["method"].str.len() > 15).all()


def test_mirror_default_coverage(mirror, monkeypatch):
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(mirror))
    cov = load_country_covariates(load_config()["covariates"])
    t = cov.table.set_index("region_id")
    n = t[list(VALUE_COLUMNS)].notna().sum()
    assert n["ancestry_europe_share"] == 173 - 7  # 172 rows + YUG twice, 7 all-zero rows
    assert n["log_health_expenditure_pc"] == 193  # all with a 2019 value (SOURCES.md §2)
    assert 170 <= n["physicians_per_1000"] <= 185  # "~178" in 2015-2020 (SOURCES.md §3)
    assert n["migrant_share_pct"] >= 225
    assert t.loc["USA", "log_health_expenditure_pc"] == pytest.approx(math.log(10550.22), abs=1e-4)
    assert t.loc["USA", "physicians_per_1000"] == 2.61 and t.loc["USA", "physicians_year"] == 2018
    assert t.loc["AFG", "migrant_share_pct"] == pytest.approx(0.37, abs=0.005)
    assert t.loc["USA", "ancestry_europe_share"] == pytest.approx(0.76, abs=0.005)
    assert cov.remapped["world_migration_matrix"] == {
        "ZAR": ["COD"], "CIL": ["COK"], "TMP": ["TLS"], "ROM": ["ROU"], "OAN": ["TWN"],
        "YUG": ["SRB", "MNE"]}
    assert cov.unmapped == {"world_migration_matrix": [], "wdi_health_expenditure": ["CHI"],
                            "wdi_physicians": ["CHI"],
                            "undesa_migrant_stock_2020": ["830 Channel Islands"]}


def test_full_run_joins_the_columns_and_lists_what_is_missing(full_run):
    processed = full_run["home"] / "snapshot"
    table = pd.read_csv(processed / "analysis_table.csv", keep_default_na=False,
                        na_values={c: [""] for c in VALUE_COLUMNS})
    miss = pd.read_csv(processed / "covariates_missing.csv", keep_default_na=False)
    for col in VALUE_COLUMNS:
        assert col in table.columns
        lacking = set(table.loc[table[col].isna(), "region_id"])
        assert lacking == set(miss.loc[miss["covariate"] == col, "region_id"]), col
        assert lacking  # e.g. Antarctica
    assert miss["reason"].str.len().gt(10).all()
