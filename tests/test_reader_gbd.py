"""GBD readers: the open-numbers DDF export and the IHME Results-tool CSV."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from geo_ms.errors import ConfigError, FormatError, RegionMatchError, SchemaError
from geo_ms.ingest.readers import read_gbd_ddf, read_gbd_results_csv
from geo_ms.ingest.readers.gbd import TIDY_COLUMNS

RATE = "ddf--datapoints--prevalence_rate--by--location--sex--age--cause-546--year.csv"
NUMBER = "ddf--datapoints--prevalence_number--by--location--sex--age--cause-546--year.csv"
INC_RATE = "ddf--datapoints--incidence_rate--by--location--sex--age--cause-546--year.csv"


# --------------------------------------------------------------------------- tiny DDF
def _write_ddf(folder: Path, rate_rows: str, number_rows: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ddf--entities--location.csv").write_text(
        "location,name,short_name,medium_name\n"
        "1,Global,Earth,Global\n95,United Kingdom,UK,United Kingdom\n"
        "67,Japan,Japan,Japan\n"
    )
    (folder / "ddf--entities--sex.csv").write_text("sex,name\n1,Male\n2,Female\n3,Both\n")
    (folder / "ddf--entities--age.csv").write_text(
        "age,name,short_name,type\n22,All Ages,All,aggregate\n8,15 to 19,15,specific\n"
        "27,Age-standardized,,aggregate\n"
    )
    (folder / "prevalence").mkdir(exist_ok=True)
    (folder / "prevalence" / RATE).write_text(
        "location,sex,age,cause,year,prevalence_rate\n" + rate_rows
    )
    if number_rows is not None:
        (folder / "prevalence" / NUMBER).write_text(
            "location,sex,age,cause,year,prevalence_number\n" + number_rows
        )
    return folder


TINY_RATE = (
    "95,3,27,546,2016,135.22\n"
    "95,3,22,546,2016,160.5\n"
    "95,1,27,546,2016,80.1\n"
    "95,2,27,546,2016,190.0\n"
    "95,3,8,546,2016,99.9\n"  # age 15-19: not a tidy age group, dropped silently
    "67,3,27,546,2016,27.21\n"
    "67,3,27,547,2016,999.0\n"  # another cause: ignored
    "1,3,27,546,2016,30.0\n"  # Global: not national, dropped with a warning
)
TINY_NUMBER = "95,3,22,546,2016,105000.5\n67,3,22,546,2016,34000\n"


def test_ddf_tiny_folder_exact_rows(tmp_path: Path) -> None:
    folder = _write_ddf(tmp_path / "ddf", TINY_RATE, TINY_NUMBER)
    with pytest.warns(UserWarning, match=r"dropped 1 rows of 1 non-national GBD locations \(Global\)"):
        df = read_gbd_ddf(folder)
    assert list(df.columns) == list(TIDY_COLUMNS)
    got = df[["iso3", "location_id", "location_name", "metric", "sex", "age", "value"]]
    assert got.values.tolist() == [
        ["GBR", 95, "United Kingdom", "number", "both", "all_ages", 105000.5],
        ["GBR", 95, "United Kingdom", "rate", "both", "age_standardised", 135.22],
        ["GBR", 95, "United Kingdom", "rate", "both", "all_ages", 160.5],
        ["GBR", 95, "United Kingdom", "rate", "female", "age_standardised", 190.0],
        ["GBR", 95, "United Kingdom", "rate", "male", "age_standardised", 80.1],
        ["JPN", 67, "Japan", "number", "both", "all_ages", 34000.0],
        ["JPN", 67, "Japan", "rate", "both", "age_standardised", 27.21],
    ]
    assert set(df["measure"]) == {"prevalence"}
    assert set(df["year"]) == {2016}
    assert df["upper"].isna().all() and df["lower"].isna().all()


def test_ddf_accepts_a_dict_of_paths(tmp_path: Path) -> None:
    folder = _write_ddf(tmp_path / "ddf", "95,3,27,546,2016,135.22\n")
    paths = {
        "location": folder / "ddf--entities--location.csv",
        "sex": folder / "ddf--entities--sex.csv",
        "age": folder / "ddf--entities--age.csv",
        "prevalence_rate": folder / "prevalence" / RATE,
    }
    df = read_gbd_ddf(paths, metrics=("rate",))
    assert df[["iso3", "value"]].values.tolist() == [["GBR", 135.22]]


def test_ddf_missing_number_file(tmp_path: Path) -> None:
    folder = _write_ddf(tmp_path / "ddf", "95,3,27,546,2016,135.22\n")
    with pytest.raises(FormatError, match=r"ddf: missing GBD DDF file\(s\) for prevalence_number$"):
        read_gbd_ddf(folder)


def test_ddf_missing_column(tmp_path: Path) -> None:
    folder = _write_ddf(tmp_path / "ddf", "95,3,27,546,2016,135.22\n")
    (folder / "prevalence" / RATE).write_text("location,sex,age,year,prevalence_rate\n95,3,27,2016,1\n")
    with pytest.raises(FormatError, match=r"prevalence_rate.*year\.csv: missing column\(s\) cause "):
        read_gbd_ddf(folder, metrics=("rate",))


def test_ddf_negative_value_refused(tmp_path: Path) -> None:
    folder = _write_ddf(tmp_path / "ddf", "95,3,27,546,2016,-1.5\n")
    with pytest.raises(SchemaError, match=r"fails validation \(value: \['-1\.5'\]\)"):
        read_gbd_ddf(folder, metrics=("rate",))


def test_ddf_duplicate_keys_refused(tmp_path: Path) -> None:
    folder = _write_ddf(tmp_path / "ddf", "95,3,27,546,2016,135.22\n95,3,27,546,2016,135.3\n")
    with pytest.raises(SchemaError, match=r"2 rows share the same iso3/measure/metric/sex/age/year"):
        read_gbd_ddf(folder, metrics=("rate",))


def test_ddf_no_rows_for_cause(tmp_path: Path) -> None:
    folder = _write_ddf(tmp_path / "ddf", "95,3,27,547,2016,1.0\n")
    with pytest.raises(SchemaError, match=r"year\.csv: no rows for cause 546$"):
        read_gbd_ddf(folder, metrics=("rate",))


def test_ddf_bad_measure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"measures=\('deaths',\) is not a non-empty subset"):
        read_gbd_ddf(tmp_path, measures=("deaths",))


def test_ddf_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nope: not a folder of GBD DDF files"):
        read_gbd_ddf(tmp_path / "nope")


# --------------------------------------------------------------------------- mirror DDF
@pytest.fixture(scope="module")
def gbd2016(mirror: Path) -> pd.DataFrame:
    return read_gbd_ddf(mirror / "ms/gbd2016_ddf")


def _slice(df: pd.DataFrame, *, age: str, metric: str = "rate", year: int = 2016) -> pd.Series:
    sel = df[(df["year"] == year) & (df["sex"] == "both") & (df["age"] == age) & (df["metric"] == metric)]
    return sel.set_index("iso3")["value"]


def test_mirror_shape(gbd2016: pd.DataFrame) -> None:
    # 194 countries x 27 years x (3 sexes x 2 ages rate + 3 sexes number) = 47,142
    assert len(gbd2016) == 47_142
    assert gbd2016["iso3"].nunique() == 194
    assert sorted(gbd2016["year"].unique()) == list(range(1990, 2017))


def test_mirror_spot_values(gbd2016: pd.DataFrame) -> None:
    """SOURCES.md section 7, check 5 (values are exact 2-decimal strings in the source)."""
    std = _slice(gbd2016, age="age_standardised")
    assert len(std) == 194
    expected = {"USA": 136.13, "JPN": 27.21, "CAN": 174.09, "GBR": 135.22, "NGA": 5.64}
    for iso3, value in expected.items():
        assert std[iso3] == pytest.approx(value, abs=1e-9), iso3
    assert (std.idxmax(), std.max()) == ("GRL", pytest.approx(288.26, abs=1e-9))
    assert (std.idxmin(), std.min()) == ("KIR", pytest.approx(1.71, abs=1e-9))
    assert std.median() == pytest.approx(11.32, abs=1e-9)
    crude = _slice(gbd2016, age="all_ages")
    assert crude["USA"] == pytest.approx(158.53, abs=1e-9)
    counts = _slice(gbd2016, age="all_ages", metric="number")
    assert counts.sum() == pytest.approx(2_219_849, abs=1)


def test_mirror_equals_the_derived_table(mirror: Path, gbd2016: pd.DataFrame) -> None:
    """Every row equals the mirror's independently derived country_gbd2016_ms_prevalence.csv."""
    ref = pd.read_csv(mirror / "ms/country_gbd2016_ms_prevalence.csv")
    ref = ref.rename(columns={"gbd_location_id": "location_id", "gbd_location_name": "location_name"})
    ref["sex"] = ref["sex"].str.lower()
    ref["age"] = ref["age_group"].map({"Age-standardised": "age_standardised", "All ages": "all_ages"})
    ref["metric"] = ref["metric"].map({"Rate per 100,000": "rate", "Number": "number"})
    ref["measure"] = ref["measure"].str.lower()
    keys = ["iso3", "location_id", "location_name", "measure", "metric", "sex", "age", "year"]
    ours = gbd2016.assign(location_id=gbd2016["location_id"].astype("int64"))
    merged = ours.merge(ref[keys + ["value"]], on=keys, how="outer", indicator=True,
                        suffixes=("", "_ref"), validate="1:1")
    assert (merged["_merge"] == "both").all()
    assert len(merged) == 47_142
    assert (merged["value"] == merged["value_ref"]).all()


def test_mirror_incidence(mirror: Path) -> None:
    """Incidence cross-checked against the mirror's wide table (inc_rate_agestd_per100k)."""
    inc = read_gbd_ddf(mirror / "ms/gbd2016_ddf", measures=("incidence",), metrics=("rate",))
    assert set(inc["measure"]) == {"incidence"}
    wide = pd.read_csv(mirror / "ms/country_gbd2016_ms_burden_both_sexes_wide.csv")
    wide = wide.set_index(["iso3", "year"])["inc_rate_agestd_per100k"]
    ours = inc[(inc["sex"] == "both") & (inc["age"] == "age_standardised")]
    ours = ours.set_index(["iso3", "year"])["value"]
    assert len(ours) == 194 * 27
    pd.testing.assert_series_equal(ours.sort_index(), wide.sort_index(), check_names=False)


# --------------------------------------------------------------------------- Results CSV
RESULTS_HEADER = "measure,location,sex,age,cause,metric,year,val,upper,lower\n"
RESULTS_ROWS = (
    "Prevalence,Global,Both,Age-standardized,Multiple sclerosis,Rate,2019,30.26,33.92,26.91\n"
    "Prevalence,Western Europe,Both,Age-standardized,Multiple sclerosis,Rate,2019,126.1,139.0,113.2\n"
    "Prevalence,United Kingdom,Both,Age-standardized,Multiple sclerosis,Rate,2019,154.62,171.1,138.9\n"
    "Prevalence,United Kingdom,Both,All ages,Multiple sclerosis,Rate,2019,190.13,210.7,170.2\n"
    "Prevalence,United Kingdom,Both,All ages,Multiple sclerosis,Number,2019,127440.5,141200,114100\n"
    "Prevalence,United Kingdom,Both,All ages,Multiple sclerosis,Percent,2019,0.0019,0.0021,0.0017\n"
    "Prevalence,United Kingdom,Female,Age-standardized,Multiple sclerosis,Rate,2019,217.4,240.0,195.1\n"
    "Prevalence,United Kingdom,Male,Age-standardized,Multiple sclerosis,Rate,2019,92.5,102.3,83.0\n"
    "Prevalence,United Kingdom,Both,20-24 years,Multiple sclerosis,Rate,2019,60.1,70.2,50.3\n"
    "Incidence,United Kingdom,Both,Age-standardized,Multiple sclerosis,Rate,2019,7.51,8.3,6.8\n"
    "Deaths,United Kingdom,Both,Age-standardized,Multiple sclerosis,Rate,2019,1.9,2.1,1.7\n"
    "Prevalence,United Kingdom,Both,Age-standardized,Parkinson's disease,Rate,2019,100.0,110,90\n"
    "Prevalence,Côte d'Ivoire,Both,Age-standardized,Multiple sclerosis,Rate,2019,3.1,3.6,2.7\n"
    "Prevalence,Türkiye,Both,Age-standardized,Multiple sclerosis,Rate,2019,79.4,90.0,69.3\n"
    "Prevalence,Iran (Islamic Republic of),Both,Age-standardized,Multiple sclerosis,Rate,2019,"
    "75.2,85.5,65.1\n"
    "Prevalence,United States of America,Both,Age-standardized,Multiple sclerosis,Rate,2019,"
    "164.6,181.2,148.0\n"
)


def test_results_names_variant(tmp_path: Path) -> None:
    path = tmp_path / "IHME-GBD_2019_DATA-1.csv"
    path.write_text(RESULTS_HEADER + RESULTS_ROWS, encoding="utf-8")
    with pytest.warns(UserWarning) as record:
        df = read_gbd_results_csv(path)
    messages = [str(w.message) for w in record]
    assert any("dropped 1 rows of other measures ['Deaths']" in m for m in messages)
    assert any("dropped 1 rows of other metrics ['Percent']" in m for m in messages)
    assert any("dropped 1 rows of other age groups ['20-24 years']" in m for m in messages)
    assert any("dropped 2 rows of 2 aggregate locations (Global, Western Europe)" in m
               for m in messages)
    assert list(df.columns) == list(TIDY_COLUMNS)
    got = df[["iso3", "location_id", "measure", "metric", "sex", "age", "value", "upper", "lower"]]
    assert got.astype(object).values.tolist() == [
        ["CIV", 205, "prevalence", "rate", "both", "age_standardised", 3.1, 3.6, 2.7],
        ["GBR", 95, "incidence", "rate", "both", "age_standardised", 7.51, 8.3, 6.8],
        ["GBR", 95, "prevalence", "number", "both", "all_ages", 127440.5, 141200.0, 114100.0],
        ["GBR", 95, "prevalence", "rate", "both", "age_standardised", 154.62, 171.1, 138.9],
        ["GBR", 95, "prevalence", "rate", "both", "all_ages", 190.13, 210.7, 170.2],
        ["GBR", 95, "prevalence", "rate", "female", "age_standardised", 217.4, 240.0, 195.1],
        ["GBR", 95, "prevalence", "rate", "male", "age_standardised", 92.5, 102.3, 83.0],
        ["IRN", 142, "prevalence", "rate", "both", "age_standardised", 75.2, 85.5, 65.1],
        ["TUR", 155, "prevalence", "rate", "both", "age_standardised", 79.4, 90.0, 69.3],
        ["USA", 102, "prevalence", "rate", "both", "age_standardised", 164.6, 181.2, 148.0],
    ]
    assert df.loc[df["iso3"] == "CIV", "location_name"].item() == "Côte d'Ivoire"
    assert set(df["year"]) == {2019}


def test_results_ids_variant(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(
        "measure_id,measure_name,location_id,location_name,sex_id,sex_name,age_id,age_name,"
        "cause_id,cause_name,metric_id,metric_name,year,val,upper,lower\n"
        "5,Prevalence,35,Georgia,3,Both,27,Age-standardized,546,Multiple sclerosis,3,Rate,2019,"
        "20.5,23.0,18.1\n"
        "5,Prevalence,533,Georgia,3,Both,27,Age-standardized,546,Multiple sclerosis,3,Rate,2019,"
        "150.0,160.0,140.0\n"
        "5,Prevalence,1,Global,3,Both,22,All ages,546,Multiple sclerosis,1,Number,2019,"
        "2800000,3100000,2500000\n",
        encoding="utf-8",
    )
    # id 533 is the US state of Georgia: its name is a country's, its id is not national
    with pytest.warns(UserWarning) as record:
        df = read_gbd_results_csv(path)
    messages = [str(w.message) for w in record]
    assert any("dropped 1 rows of 1 aggregate locations (Global)" in m for m in messages)
    assert any("dropped 1 rows of 1 sub-national locations named like countries (Georgia)" in m
               for m in messages)
    assert df[["iso3", "location_id", "location_name", "value"]].astype(object).values.tolist() == [
        ["GEO", 35, "Georgia", 20.5]
    ]


def test_results_without_bounds_and_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        (
            "measure,location,sex,age,cause,metric,year,val\n"
            "Prevalence,Japan,Both,Age-standardized,Multiple sclerosis,Rate,2016,27.21\n"
        ).encode("utf-8-sig")
    )
    df = read_gbd_results_csv(path)
    assert df[["iso3", "value"]].values.tolist() == [["JPN", 27.21]]
    assert math.isnan(df["upper"].item()) and math.isnan(df["lower"].item())


def test_results_unknown_location_lists_close_matches(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text(
        RESULTS_HEADER
        + "Prevalence,Untied Kingdom,Both,Age-standardized,Multiple sclerosis,Rate,2019,1,2,0.5\n"
        + "Prevalence,Atlantis,Both,Age-standardized,Multiple sclerosis,Rate,2019,1,2,0.5\n"
    )
    with pytest.raises(
        RegionMatchError,
        match=r"typo\.csv: 2 location name\(s\) match no country: 'Untied Kingdom' \(did you "
        r"mean United Kingdom \(GBR\)\?\), 'Atlantis' \(did you mean Albania \(ALB\), Åland "
        r"\(ALA\)\?\)$",
    ):
        read_gbd_results_csv(path)


def test_results_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("measure,location,sex,age,year,val\nPrevalence,Japan,Both,All ages,2019,1\n")
    with pytest.raises(SchemaError, match=r"cols\.csv: missing GBD Results column\(s\) cause, metric "):
        read_gbd_results_csv(path)


def test_results_no_ms_rows(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text(
        RESULTS_HEADER + "Prevalence,Japan,Both,All ages,Parkinson's disease,Rate,2019,1,2,0.5\n"
    )
    with pytest.raises(SchemaError, match=r"other\.csv: no rows for cause 'Multiple sclerosis' "
                       r"\(causes found: \[\"Parkinson's disease\"\]\)"):
        read_gbd_results_csv(path)


def test_results_non_numeric_value(tmp_path: Path) -> None:
    path = tmp_path / "nan.csv"
    path.write_text(
        RESULTS_HEADER + "Prevalence,Japan,Both,All ages,Multiple sclerosis,Rate,2019,n/a,2,0.5\n"
    )
    with pytest.raises(SchemaError, match=r"nan\.csv: column val is not numeric in 1 row\(s\), "
                       r"e\.g\. \['n/a'\]"):
        read_gbd_results_csv(path)
