"""The user prevalence table reader, the region-name matcher and the built-in EMSP sample."""

from __future__ import annotations

import csv
import datetime
import io
import unicodedata
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_ms.errors import RegionMatchError, SchemaError
from geo_ms.ingest.readers import gbd_crosswalk, read_prevalence_table
from geo_ms.ingest.readers.prevalence import country_name_index, match_region_names

HEADER = "region_id,prevalence_per_100k,year,age_standardised,source\n"


def _write(tmp_path: Path, text: str, name: str = "prev.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- valid tables
def test_minimal_table_types_and_values(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "IRL,230.6,2011,false,EMSP 2011\nMLT,17,2011,true,EMSP 2011\n")
    df = read_prevalence_table(path)
    assert list(df.columns) == ["region_id", "prevalence_per_100k", "year", "age_standardised",
                                "source"]
    assert df.values.tolist() == [["IRL", 230.6, 2011, False, "EMSP 2011"],
                                  ["MLT", 17.0, 2011, True, "EMSP 2011"]]
    assert df["prevalence_per_100k"].dtype == "float64"
    assert df["year"].dtype == "int64"
    assert df["age_standardised"].dtype == bool


def test_semicolon_decimal_comma_bom_whitespace_and_booleans(tmp_path: Path) -> None:
    text = (
        " region_id ; prevalence_per_100k ; year ; age_standardised ; source ; note\n"
        " fra ; 94,7 ; 2011 ; TRUE ; CNAMTS 2004 ; as printed \n"
        "DEU;128;2011;yes;EMSP;\n"
        "ITA;91;2011;1;EMSP;\n"
        "ESP;78.7;2011;No;EMSP;\n"
    )
    df = read_prevalence_table(_write(tmp_path, text, encoding="utf-8-sig"))
    assert df["region_id"].tolist() == ["FRA", "DEU", "ITA", "ESP"]
    assert df["prevalence_per_100k"].tolist() == [94.7, 128.0, 91.0, 78.7]
    assert df["age_standardised"].tolist() == [True, True, True, False]
    assert df["note"].tolist() == ["as printed", "", "", ""]


def test_tab_delimiter_and_cp1252(tmp_path: Path) -> None:
    text = (
        "region_id\tregion_name\tprevalence_per_100k\tyear\tage_standardised\tsource\n"
        "CIV\tCôte d'Ivoire\t3.1\t2019\tfalse\tGBD 2019 – Results tool\n"
    )
    df = read_prevalence_table(_write(tmp_path, text, encoding="cp1252"))
    assert df.loc[0, "region_name"] == "Côte d'Ivoire"
    assert df.loc[0, "source"] == "GBD 2019 – Results tool"
    assert df.loc[0, "prevalence_per_100k"] == 3.1


def test_latin1_fallback(tmp_path: Path) -> None:
    # byte 0x81 is undefined in cp1252: the reader falls back to latin-1
    path = tmp_path / "l1.csv"
    path.write_bytes(HEADER.encode() + b"ISL,119,2011,false,Reykjav\xedk \x81\n")
    assert read_prevalence_table(path).loc[0, "source"] == "Reykjavík \x81"


def test_optional_columns_and_sex(tmp_path: Path) -> None:
    text = (
        "region_id,region_name,sex,prevalence_per_100k,ci_low,ci_high,year,age_standardised,source\n"
        "GB-SCT,Scotland,Both,290,280.5,300,2018,false,MS Society\n"
        "GB-SCT,Scotland,F,400,,,2018,false,MS Society\n"
        "GB-SCT,Scotland,male,170,160,180,2018,false,MS Society\n"
    )
    df = read_prevalence_table(_write(tmp_path, text), id_kind="other")
    assert list(df.columns) == ["region_id", "prevalence_per_100k", "year", "age_standardised",
                                "source", "region_name", "sex", "ci_low", "ci_high"]
    assert df["sex"].tolist() == ["both", "female", "male"]
    assert df["ci_low"].tolist()[0] == 280.5 and pd.isna(df["ci_low"].tolist()[1])
    assert df["region_id"].tolist() == ["GB-SCT"] * 3


def test_known_ids_accepts_matching_table(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "fra,94.7,2011,false,X\n")
    assert read_prevalence_table(path, known_ids=["FRA", "DEU"])["region_id"].tolist() == ["FRA"]


# --------------------------------------------------------------------------- refusals
def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"prev\.csv: the prevalence table is empty$"):
        read_prevalence_table(_write(tmp_path, "  \n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"prev\.csv: the prevalence table has a header but no rows$"):
        read_prevalence_table(_write(tmp_path, HEADER))


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "region_id,prevalence_per_100k,age_standardised\nFRA,94.7,false\n")
    with pytest.raises(
        SchemaError,
        match=r"prev\.csv: missing required column\(s\) year, source "
        r"\(found: region_id, prevalence_per_100k, age_standardised\)$",
    ) as info:
        read_prevalence_table(path)
    assert "region_id, prevalence_per_100k, year, age_standardised, source" in info.value.hint


def test_non_numeric_cells_listed_with_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,94.7,2011,false,X\nDEU,n/a,2011,false,X\nITA,,2011,false,X\n")
    with pytest.raises(
        SchemaError,
        match=r"prev\.csv: column prevalence_per_100k is not a number in row 3: 'n/a', row 4: ''$",
    ):
        read_prevalence_table(path)


def test_negative_value(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,94.7,2011,false,X\nDEU,-3,2011,false,X\n")
    with pytest.raises(SchemaError, match=r"column prevalence_per_100k is negative in row 3: '-3'$"):
        read_prevalence_table(path)


def test_zero_value_is_refused_at_read_time(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,94.7,2011,false,X\nMLT,0,2011,false,X\n"
                                     "cyp,0.0,2011,false,X\n")
    with pytest.raises(
        SchemaError,
        match=r"prev\.csv: column prevalence_per_100k is 0 in row 3 \(region MLT\), "
        r"row 4 \(region CYP\)$",
    ) as info:
        read_prevalence_table(path)
    assert "cannot be log-transformed" in info.value.hint


def test_all_problems_are_collected_and_the_first_is_raised(tmp_path: Path) -> None:
    """One lazy pandera pass: a table with a bad year *and* a zero reports the zero
    (prevalence checks come first), like the former check-by-check order."""
    path = _write(tmp_path, HEADER + "FRA,0,20x1,maybe,\n")
    with pytest.raises(SchemaError, match=r"prevalence_per_100k is 0 in row 2 \(region FRA\)$"):
        read_prevalence_table(path)
    path = _write(tmp_path, HEADER + "FRA,1,20x1,maybe,\n")
    with pytest.raises(SchemaError, match=r"column year is not a whole year in row 2: '20x1'$"):
        read_prevalence_table(path)


def test_absurd_value(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,9470,2011,false,X\n")
    with pytest.raises(
        SchemaError, match=r"column prevalence_per_100k is above 1,000 per 100,000 in row 2: '9470'$"
    ) as info:
        read_prevalence_table(path)
    assert "per 100,000" in info.value.hint


def test_bad_year_and_boolean(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,94.7,2011.5,false,X\n")
    with pytest.raises(SchemaError, match=r"column year is not a whole year in row 2: '2011\.5'$"):
        read_prevalence_table(path)
    path = _write(tmp_path, HEADER + "FRA,94.7,2011,unknown,X\n")
    with pytest.raises(SchemaError, match=r"column age_standardised is not true/false in row 2: 'unknown'$"):
        read_prevalence_table(path)


def test_empty_source(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,94.7,2011,false,\n")
    with pytest.raises(SchemaError, match=r"column source is empty in row\(s\) \[2\]$"):
        read_prevalence_table(path)


def test_duplicated_ids_listed(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,94.7,2011,false,X\nDEU,1,2011,false,X\nfra,95,2012,false,Y\n")
    with pytest.raises(SchemaError, match=r"prev\.csv: duplicated region id\(s\) FRA \(rows \[2, 4\]\)$"):
        read_prevalence_table(path)


def test_ci_bounds_swapped(tmp_path: Path) -> None:
    path = _write(tmp_path, "region_id,prevalence_per_100k,ci_low,ci_high,year,age_standardised,source\n"
                            "FRA,94.7,100,90,2011,false,X\n")
    with pytest.raises(SchemaError, match=r"ci_low is above ci_high in row\(s\) \[2\]$"):
        read_prevalence_table(path)


def test_unknown_iso3_ids_suggest_codes_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "France,94.7,2011,false,X\nGermany,128,2011,false,X\n"
                                     "ITA,91,2011,false,X\n")
    with pytest.raises(
        RegionMatchError,
        match=r"prev\.csv: 2 region id\(s\) not in the region set: 'FRANCE' \(did you mean "
        r"France \(FRA\)\?\), 'GERMANY' \(did you mean Germany \(DEU\)\?\)$",
    ):
        read_prevalence_table(path, known_ids=["FRA", "DEU", "ITA"])


def test_unknown_other_ids_suggest_close_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "GB-SCO,290,2018,false,X\n")
    with pytest.raises(
        RegionMatchError,
        match=r"1 region id\(s\) not in the region set: 'GB-SCO' \(did you mean GB-SCT, GB-WLS\?\)$",
    ):
        read_prevalence_table(path, known_ids=["GB-SCT", "GB-ENG", "GB-WLS", "GB-NIR"],
                              id_kind="other")


def test_ragged_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "FRA,94.7,2011,false,EMSP, 2011\nDEU,128,2011,false,EMSP\n")
    with pytest.raises(
        SchemaError, match=r"prev\.csv: row\(s\) \[2\] do not have 5 cells like the header \(delimiter ','\)$"
    ):
        read_prevalence_table(path)


def test_repeated_column(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER.strip() + ",Year\nFRA,94.7,2011,false,X,2012\n")
    with pytest.raises(SchemaError, match=r"prev\.csv: column name\(s\) appear twice: year$"):
        read_prevalence_table(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"nope\.csv: the prevalence table does not exist$"):
        read_prevalence_table(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- name matcher
def test_match_region_names_brackets_and_ambiguity() -> None:
    found = match_region_names(
        ["Bolivia (Plurinational State of)", "congo", "Atlantis"],
        {"Bolivia": "BOL", "Congo": "COG", "CONGO": "COD"},  # 'Congo' is ambiguous here
    )
    assert found == {"Bolivia (Plurinational State of)": "BOL", "congo": None, "Atlantis": None}


_GBD_NAMES = sorted(gbd_crosswalk()["gbd_name"])


@st.composite
def _mangled(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(_GBD_NAMES))
    out = []
    for ch in name:
        if ch.isalpha():
            if draw(st.booleans()):
                ch = ch.swapcase()
            if ch.isascii() and draw(st.integers(0, 4)) == 0:
                ch = unicodedata.normalize("NFC", ch + draw(st.sampled_from("\u0301\u0308\u0300")))
        elif ch == " ":
            ch = " " * draw(st.integers(1, 3))
        out.append(ch)
    pad = draw(st.sampled_from(["", " ", "\t", "  "]))
    return name, pad + "".join(out) + draw(st.sampled_from(["", " ", " \t"]))


@given(_mangled())
@settings(max_examples=150, deadline=None)
def test_known_name_with_random_case_space_accents_matches(pair: tuple[str, str]) -> None:
    name, mangled = pair
    expected = gbd_crosswalk().set_index("gbd_name").loc[name, "iso3"]
    assert match_region_names([mangled], country_name_index()) == {mangled: expected}


# --------------------------------------------------------------------------- round trip
_TEXT = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ 0123456789,;.'\"-éüñ()")),
    min_size=1,
    max_size=30,
).map(str.strip).filter(bool)


@st.composite
def _tables(draw: st.DrawFn) -> pd.DataFrame:
    ids = draw(st.lists(st.from_regex(r"[A-Z]{3}", fullmatch=True), min_size=1, max_size=12,
                        unique=True))
    n = len(ids)
    return pd.DataFrame(
        {
            "region_id": ids,
            "prevalence_per_100k": draw(st.lists(
                st.floats(0, 1000, exclude_min=True, allow_nan=False, allow_infinity=False),
                min_size=n, max_size=n)),  # 0 is refused (cannot be log-transformed)
            # the valid years: 1900 to this year (a table cannot report the future)
            "year": draw(st.lists(st.integers(1900, datetime.date.today().year), min_size=n,
                                  max_size=n)),
            "age_standardised": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "source": draw(st.lists(_TEXT, min_size=n, max_size=n)),
        }
    )


def _dump(frame: pd.DataFrame, delimiter: str, encoding: str) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=delimiter, quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue().encode(encoding)


@given(
    _tables(),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_valid_table_round_trips(
    tmp_path: Path, frame: pd.DataFrame, delimiter: str, encoding: str
) -> None:
    path = tmp_path / "rt.csv"
    path.write_bytes(_dump(frame, delimiter, encoding))
    got = read_prevalence_table(path)
    pd.testing.assert_frame_equal(got, frame, check_dtype=False)
    assert got["age_standardised"].dtype == bool and got["year"].dtype == "int64"


@given(_tables(), st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_negative_value_is_refused(tmp_path: Path, frame: pd.DataFrame, data: st.DataObject) -> None:
    row = data.draw(st.integers(0, len(frame) - 1))
    frame.loc[row, "prevalence_per_100k"] = data.draw(st.floats(-1e6, -1e-6))
    path = tmp_path / "neg.csv"
    path.write_bytes(_dump(frame, ",", "utf-8"))
    with pytest.raises(SchemaError, match=rf"is negative in row {row + 2}: '-"):
        read_prevalence_table(path)


# --------------------------------------------------------------------------- built-in sample
SAMPLE = resources.files("geo_ms") / "data" / "sample" / "emsp_barometer_2011.csv"


def test_builtin_emsp_sample_reads() -> None:
    with resources.as_file(SAMPLE) as path:
        df = read_prevalence_table(path, known_ids=set(gbd_crosswalk()["iso3"]))
    assert len(df) == 19
    by_id = df.set_index("region_id")
    assert by_id.loc["IRL", "prevalence_per_100k"] == 230.6
    assert by_id.loc["IRL", "region_name"] == "Ireland"
    assert by_id.loc["MLT", "prevalence_per_100k"] == 17.0
    assert set(df["year"]) == {2011}
    assert not df["age_standardised"].any()
    assert df["note"].str.startswith("age-standardisation not stated").all()
    assert df["source"].str.startswith("EMSP MS Barometer 2011").all()


def test_builtin_sample_matches_but_is_not_a_copy_of_the_mirror(mirror: Path) -> None:
    original = mirror / "ms/country_emsp_ms_barometer_2011.csv"
    assert SAMPLE.read_bytes() != original.read_bytes()
    ref = pd.read_csv(original)
    with resources.as_file(SAMPLE) as path:
        ours = read_prevalence_table(path)
    assert ours["region_id"].tolist() == ref["iso3"].tolist()
    assert ours["prevalence_per_100k"].tolist() == ref["prevalence_per_100k"].tolist()
    assert ours["source"].tolist() == ref["source"].tolist()
