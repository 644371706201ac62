"""Reader of the user prevalence table, and the region-name matcher.

The schema is documented in ``docs/prevalence_table.md``. In short, one row per region
(and sex) with the required columns ``region_id, prevalence_per_100k, year,
age_standardised, source`` and the optional columns ``region_name, sex, ci_low,
ci_high``; extra columns are kept as text.

The reader is forgiving about the *form* of the file (``;`` or tab delimiter, UTF-8 with
or without BOM, cp1252/latin-1, ``yes``/``1``/``TRUE`` booleans, padding whitespace,
decimal commas in ``;`` files) and strict about its *content*: every problem is reported
as a :class:`geo_ms.errors.SchemaError` (or :class:`geo_ms.errors.RegionMatchError`)
naming the file, the rows or columns and the fix.

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "prev.csv"
>>> _ = p.write_text("region_id;prevalence_per_100k;year;age_standardised;source\\n"
...                  "fra;94,7;2011;yes;EMSP 2011\\n")
>>> df = read_prevalence_table(p)
>>> df.loc[0, "region_id"], float(df.loc[0, "prevalence_per_100k"]), bool(df.loc[0, "age_standardised"])
('FRA', 94.7, True)
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from geo_ms.errors import RegionMatchError, SchemaError

__all__ = [
    "MAX_PREVALENCE_PER_100K",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "country_name_index",
    "match_region_names",
    "normalise_name",
    "read_prevalence_table",
]

#: Columns every prevalence table must have, in output order.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "region_id",
    "prevalence_per_100k",
    "year",
    "age_standardised",
    "source",
)
#: Columns a prevalence table may have, in output order.
OPTIONAL_COLUMNS: tuple[str, ...] = ("region_name", "sex", "ci_low", "ci_high")
#: Values above this many cases per 100,000 are refused as absurd (1 %).
MAX_PREVALENCE_PER_100K: float = 1000.0

_TRUE = {"true", "t", "yes", "y", "1", "1.0", "ja", "oui", "wahr"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "nein", "non", "falsch"}
_SEX = {
    "both": "both",
    "b": "both",
    "all": "both",
    "total": "both",
    "male": "male",
    "m": "male",
    "men": "male",
    "female": "female",
    "f": "female",
    "women": "female",
}
_SHOW = 8  # how many offending rows/values an error message lists


# --------------------------------------------------------------------------- names
def normalise_name(name: str) -> str:
    """Return a matching key for a place name: case, accents, punctuation and spacing removed.

    ``&`` becomes ``and``, ``St.``/``Ste.`` become ``saint``, a leading ``The`` is
    dropped and ``Is.``/``I.`` become ``islands``/``island``.

    Parameters
    ----------
    name
        Any place name or id.

    Returns
    -------
    str
        The key (lower-case ASCII letters and digits separated by single spaces).

    Examples
    --------
    >>> normalise_name("  Côte d'Ivoire ")
    'cote d ivoire'
    >>> normalise_name("The Bahamas") == normalise_name("bahamas")
    True
    >>> normalise_name("St. Lucia"), normalise_name("Solomon Is.")
    ('saint lucia', 'solomon islands')
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss").replace("ø", "o").replace("Ø", "o").replace("æ", "ae")
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"\bste?\.", "saint ", text)
    text = re.sub(r"\bis\.", "islands ", text)
    text = re.sub(r"\bi\.", "island ", text)
    text = re.sub(r"[^0-9a-z]+", " ", text).strip()
    text = re.sub(r"^the ", "", text)
    return text


def _strip_brackets(key_source: str) -> str:
    """Drop a parenthesised part, e.g. ``Iran (Islamic Republic of)`` → ``Iran``."""
    return re.sub(r"\s*\([^)]*\)", " ", key_source).strip()


def match_region_names(
    names: Iterable[str], candidates: Iterable[str] | Mapping[str, str]
) -> dict[str, str | None]:
    """Match region names (or ids) to candidates, ignoring case, accents and punctuation.

    Parameters
    ----------
    names
        The names to look up.
    candidates
        Either an iterable of canonical names/ids (a name matches the candidate with the
        same :func:`normalise_name` key), or a mapping ``alias -> id`` (a name matches when
        its key equals an alias's key and yields that id). Aliases whose key points to
        two different ids are ambiguous and ignored.

    Returns
    -------
    dict
        ``{name: matched candidate or id, or None}`` for every distinct input name.
        A name that fails as written is tried once more without a parenthesised part
        (``"Bolivia (Plurinational State of)"`` → ``"Bolivia"``).

    Examples
    --------
    >>> match_region_names(["FRANCE ", "Cote d'Ivoire", "Atlantis"],
    ...                    {"France": "FRA", "Côte d'Ivoire": "CIV"})
    {'FRANCE ': 'FRA', "Cote d'Ivoire": 'CIV', 'Atlantis': None}
    >>> match_region_names(["deu"], ["DEU", "FRA"])
    {'deu': 'DEU'}
    """
    index = _build_index(candidates)
    out: dict[str, str | None] = {}
    for name in names:
        if name in out:
            continue
        found = index.get(normalise_name(name))
        if found is None and "(" in str(name):
            found = index.get(normalise_name(_strip_brackets(str(name))))
        out[name] = found
    return out


def _build_index(candidates: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    pairs: Iterable[tuple[str, str]]
    if isinstance(candidates, Mapping):
        pairs = ((str(k), str(v)) for k, v in candidates.items())
    else:
        pairs = ((str(c), str(c)) for c in candidates)
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for alias, value in pairs:
        key = normalise_name(alias)
        if not key:
            continue
        if key in index and index[key] != value:
            ambiguous.add(key)
        index.setdefault(key, value)
    for key in ambiguous:
        del index[key]
    return index


def _close_matches(name: str, candidates: Iterable[str] | Mapping[str, str], n: int = 3) -> list[str]:
    """Up to *n* candidates that look like *name* (difflib on the normalised keys).

    An exact key match (e.g. ``"FRANCE"`` against the name ``"France"``) is the only one
    shown; otherwise each target id is shown once.
    """
    labels: dict[str, tuple[str, str]] = {}
    if isinstance(candidates, Mapping):
        for alias, value in candidates.items():
            same = normalise_name(alias) == normalise_name(value)
            labels.setdefault(normalise_name(alias), (value if same else f"{alias} ({value})", value))
    else:
        for c in candidates:
            labels.setdefault(normalise_name(c), (str(c), str(c)))
    key = normalise_name(name)
    if key in labels:
        return [labels[key][0]]
    out: list[str] = []
    seen: set[str] = set()
    for k in difflib.get_close_matches(key, list(labels), n=3 * n, cutoff=0.6):
        label, value = labels[k]
        if value not in seen:
            seen.add(value)
            out.append(label)
    return out[:n]


def _describe_unknown(
    unknown: Iterable[str], candidates: Iterable[str] | Mapping[str, str], limit: int = _SHOW
) -> str:
    unknown = list(unknown)
    parts = []
    for name in unknown[:limit]:
        close = _close_matches(name, candidates)
        parts.append(f"{name!r} (did you mean {', '.join(close)}?)" if close else repr(name))
    more = f" and {len(unknown) - limit} more" if len(unknown) > limit else ""
    return ", ".join(parts) + more


@lru_cache(maxsize=1)
def country_name_index() -> dict[str, str]:
    """Map country names to ISO3 codes (Natural Earth names plus the GBD names).

    Built from the package files ``geo_ms/data/ne_country_names.csv`` (names from Natural
    Earth 5.1.1, public domain) and ``geo_ms/data/gbd_location_iso3.csv``.

    Returns
    -------
    dict
        ``{name: ISO3}``; each ISO3 code also maps to itself.

    Examples
    --------
    >>> idx = country_name_index()
    >>> idx["France"], idx["Swaziland"], idx["FRA"]
    ('FRA', 'SWZ', 'FRA')
    """
    data = resources.files("geo_ms") / "data"
    names = pd.read_csv(io.StringIO((data / "ne_country_names.csv").read_text("utf-8")),
                        dtype=str, keep_default_na=False)
    gbd = pd.read_csv(io.StringIO((data / "gbd_location_iso3.csv").read_text("utf-8")),
                      dtype=str, keep_default_na=False)
    index: dict[str, str] = {}
    for name, iso3 in zip(names["name"], names["iso3"], strict=True):
        index.setdefault(name, iso3)
    for name, iso3 in zip(gbd["gbd_name"], gbd["iso3"], strict=True):
        index.setdefault(name, iso3)
    for iso3 in set(names["iso3"]) | set(gbd["iso3"]):
        index[iso3] = iso3
    return index


# --------------------------------------------------------------------------- reading
#: Earliest year a prevalence table may refer to (the latest is the current year).
MIN_YEAR = 1900


def _max_year() -> int:
    import datetime

    return datetime.date.today().year


def _decode(raw: bytes, path: str | os.PathLike[str] | None = None) -> str:
    """Text of a table: UTF-8 (with or without BOM), UTF-16/32 with a BOM, else cp1252.

    >>> _decode("région,x".encode("utf-16"))
    'région,x'
    """
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                break
    if b"\x00" in raw[:4096]:
        raise SchemaError(
            f"{path or 'table'}: not a text table in UTF-8 or cp1252 (it has NUL bytes: UTF-16 "
            "without a byte-order mark, or a binary file such as .xlsx)",
            hint="Save it as 'CSV UTF-8 (comma delimited)' (in Excel: File > Save As)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        try:
            return csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            return ","
    return best


def _parse(text: str, delimiter: str, path: Path) -> pd.DataFrame:
    """Split *text* into a frame of stripped strings, refusing ragged rows and repeated names."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise SchemaError(
            f"{path}: not a readable delimited table ({exc})",
            hint="Save it as CSV with one header line and the same number of cells on each row.",
        ) from None
    header = [c.strip().lower().replace(" ", "_") for c in rows[0]]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise SchemaError(
            f"{path}: column name(s) appear twice: {', '.join(repeated)}",
            hint="Keep one column of each name.",
        )
    ragged = [i + 2 for i, r in enumerate(rows[1:]) if len(r) != len(header)]
    if ragged:
        raise SchemaError(
            f"{path}: row(s) {ragged[:_SHOW]} do not have {len(header)} cells like the header "
            f"(delimiter {delimiter!r})",
            hint="Quote cells that contain the delimiter, and give every row one cell per column.",
        )
    return pd.DataFrame([[c.strip() for c in r] for r in rows[1:]], columns=header, dtype=str)


def _rows(mask: pd.Series) -> list[int]:
    """File line numbers (header = line 1) of the rows where *mask* is true."""
    return [int(i) + 2 for i in np.flatnonzero(mask.to_numpy())]


def _listing(frame: pd.DataFrame, mask: pd.Series, column: str) -> str:
    lines = _rows(mask)
    values = frame.loc[mask, column].tolist()
    shown = ", ".join(f"row {r}: {v!r}" for r, v in zip(lines[:_SHOW], values[:_SHOW], strict=True))
    more = f" and {len(lines) - _SHOW} more" if len(lines) > _SHOW else ""
    return shown + more


def _to_number(text: pd.Series, decimal_comma: bool) -> pd.Series:
    cleaned = text.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    if decimal_comma:
        cleaned = cleaned.where(~cleaned.str.fullmatch(r"[-+]?\d*,\d+"),
                                cleaned.str.replace(",", ".", regex=False))
    return pd.to_numeric(cleaned.where(cleaned != "", None), errors="coerce")


def read_prevalence_table(
    path: str | os.PathLike[str],
    *,
    known_ids: Iterable[str] | None = None,
    id_kind: Literal["iso3", "other"] = "iso3",
) -> pd.DataFrame:
    """Read and validate a user prevalence table (CSV; see ``docs/prevalence_table.md``).

    Parameters
    ----------
    path
        The CSV file (``,``, ``;``, tab or ``|`` delimited; UTF-8, UTF-8 with BOM,
        cp1252 or latin-1).
    known_ids
        The region ids of the polygon set the table will be joined to. When given, ids
        not among them raise :class:`~geo_ms.errors.RegionMatchError` listing them with
        close matches.
    id_kind
        ``"iso3"`` (countries: ids are upper-cased and unknown ids are also matched by
        country name, so ``"France"`` suggests ``FRA``) or ``"other"`` (ISO 3166-2 or the
        polygon file's own ids, kept as written).

    Returns
    -------
    pandas.DataFrame
        Columns ``region_id`` (str), ``prevalence_per_100k`` (float), ``year`` (int),
        ``age_standardised`` (bool), ``source`` (str), then the optional columns present
        (``region_name``, ``sex`` in {both, male, female}, ``ci_low``, ``ci_high`` as
        float) and any extra columns as text, in file order.

    Raises
    ------
    SchemaError
        Empty file, missing required columns, non-numeric or missing values, negative or
        absurd (> 1,000 per 100,000) prevalences, bad years or booleans, duplicated ids.
    RegionMatchError
        Unknown region ids (only when *known_ids* is given).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("region_id,prevalence_per_100k,year,age_standardised,source\\n"
    ...                  "IRL,230.6,2011,false,EMSP\\nMLT,17,2011,false,EMSP\\n")
    >>> read_prevalence_table(p)["prevalence_per_100k"].tolist()
    [230.6, 17.0]
    """
    path = Path(path)
    if id_kind not in ("iso3", "other"):
        raise SchemaError(
            f"read_prevalence_table: id_kind={id_kind!r} is not one of 'iso3', 'other'",
            hint="Pass id_kind='iso3' for countries or id_kind='other' for other region ids.",
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemaError(
            f"{path}: the prevalence table does not exist",
            hint="Check the path; see docs/prevalence_table.md for the expected CSV.",
        ) from None
    text = _decode(raw, path)
    if not text.strip():
        raise SchemaError(
            f"{path}: the prevalence table is empty",
            hint="Write a header line 'region_id,prevalence_per_100k,year,age_standardised,"
            "source' and one row per region (see docs/prevalence_table.md).",
        )
    delimiter = _sniff_delimiter(text)
    frame = _parse(text, delimiter, path)
    return _validate(frame, path, delimiter, known_ids, id_kind)


def _validate(
    frame: pd.DataFrame,
    path: Path,
    delimiter: str,
    known_ids: Iterable[str] | None,
    id_kind: str,
) -> pd.DataFrame:
    """Coerce the text cells to types, then validate in one lazy pandera pass.

    Every failed check is collected; the first in :data:`_ORDER` becomes the one-line
    :class:`SchemaError` (or :class:`RegionMatchError`) naming the file rows.
    """
    import pandera.pandas as pa

    typed = _coerce(frame, delimiter, id_kind)
    known = None if known_ids is None else [str(k) for k in known_ids]
    try:
        _schema(tuple(c for c in ("sex", "ci_low", "ci_high") if c in typed),
                None if known is None else frozenset(known)).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise _problem(exc.failure_cases, frame, typed, path, known, id_kind) from None
    out = typed.copy()
    out["year"] = out["year"].astype("int64")
    out["age_standardised"] = out["age_standardised"].astype(bool)
    return out.reset_index(drop=True)


def _coerce(frame: pd.DataFrame, delimiter: str, id_kind: str) -> pd.DataFrame:
    """Typed columns (nothing refused here): numbers NaN where unreadable, flags NA."""
    decimal_comma = delimiter != ","
    out = pd.DataFrame(index=frame.index)
    for col in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
        if col not in frame:
            continue
        text = frame[col]
        if col == "region_id":
            out[col] = text.str.upper() if id_kind == "iso3" else text
        elif col == "prevalence_per_100k":
            out[col] = _to_number(text, decimal_comma).astype("float64")
        elif col == "year":
            out[col] = pd.to_numeric(text.where(text != "", None), errors="coerce").astype("float64")
        elif col == "age_standardised":
            flag = text.str.lower()
            out[col] = flag.map(lambda v: True if v in _TRUE else (False if v in _FALSE else None))
        elif col == "sex":
            sex = text.str.lower().replace("", "both")
            out[col] = sex.map(lambda v: _SEX.get(v, v))
        elif col in ("ci_low", "ci_high"):
            values = _to_number(text, decimal_comma).astype("float64")
            # an unreadable bound becomes -inf, so that the ≥ 0 check reports it
            out[col] = values.where(values.notna() | (text == ""), -np.inf)
        else:
            out[col] = text
    for col in frame.columns:
        if col not in out:
            out[col] = frame[col]
    return out


#: Checks in the order their failures are reported (the first failing one is raised).
_ORDER = (
    "column_in_dataframe", "has_rows", "region_id_present", "prevalence_number",
    "prevalence_negative", "prevalence_zero", "prevalence_absurd", "year_whole", "year_range",
    "age_standardised_flag", "source_present", "sex_known", "ci_low_number", "ci_high_number",
    "ci_order", "unique_ids", "known_ids",
)  # fmt: skip


@lru_cache(maxsize=16)
def _schema(optional: tuple[str, ...], known: frozenset[str] | None):  # -> pa.DataFrameSchema
    import pandera.pandas as pa

    def check(fn, name: str, na: bool = False):  # type: ignore[no-untyped-def]
        return pa.Check(fn, name=name, ignore_na=not na)

    columns = {
        "region_id": pa.Column(str, check(lambda s: s != "", "region_id_present")),
        "prevalence_per_100k": pa.Column(float, [
            check(lambda s: s.notna(), "prevalence_number", na=True),
            check(lambda s: s >= 0, "prevalence_negative"),
            check(lambda s: s != 0, "prevalence_zero"),
            check(lambda s: s <= MAX_PREVALENCE_PER_100K, "prevalence_absurd"),
        ], nullable=True),
        "year": pa.Column(float, [
            check(lambda s: s.notna() & (s == np.floor(s)), "year_whole", na=True),
            check(lambda s: (s >= MIN_YEAR) & (s <= _max_year()), "year_range"),
        ], nullable=True),
        "age_standardised": pa.Column(None, check(
            lambda s: s.map(lambda v: isinstance(v, bool)).astype(bool),
            "age_standardised_flag", na=True), nullable=True),
        "source": pa.Column(str, check(lambda s: s != "", "source_present")),
        "region_name": pa.Column(str, required=False),
        "sex": pa.Column(str, check(lambda s: s.isin(["both", "male", "female"]), "sex_known"),
                         required=False),
        "ci_low": pa.Column(float, check(lambda s: s >= 0, "ci_low_number"), nullable=True,
                            required=False),
        "ci_high": pa.Column(float, check(lambda s: s >= 0, "ci_high_number"), nullable=True,
                             required=False),
    }
    keys = ["region_id", "sex"] if "sex" in optional else ["region_id"]
    frame_checks = [
        pa.Check(lambda df: len(df) > 0, name="has_rows"),
        pa.Check(lambda df: ~df.duplicated(keys, keep=False), name="unique_ids"),
    ]
    if "ci_low" in optional and "ci_high" in optional:
        frame_checks.append(pa.Check(lambda df: ~(df["ci_low"] > df["ci_high"]), name="ci_order"))
    if known is not None:
        frame_checks.append(pa.Check(lambda df: df["region_id"].isin(known), name="known_ids"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False)


def _problem(
    cases: pd.DataFrame,
    frame: pd.DataFrame,
    typed: pd.DataFrame,
    path: Path,
    known: list[str] | None,
    id_kind: str,
) -> SchemaError | RegionMatchError:
    """The one-line error for the first failed check (in :data:`_ORDER`) of *cases*."""
    failed = [c for c in _ORDER if (cases["check"] == c).any()]
    if not failed:  # a dtype or an unforeseen check: say which, do not hide it
        first = cases.iloc[0]
        return SchemaError(
            f"{path}: column {first['column']} fails check {first['check']} "
            f"({first['failure_case']!r})",
            hint="See docs/prevalence_table.md for the expected columns and values.",
        )
    name = failed[0]
    rows = cases.loc[cases["check"] == name]
    mask = pd.Series(frame.index.isin(rows["index"].dropna().astype(int)), index=frame.index)
    if name == "column_in_dataframe":
        missing = [c for c in REQUIRED_COLUMNS if c in set(rows["failure_case"])]
        found = ", ".join(frame.columns) or "none"
        return SchemaError(
            f"{path}: missing required column(s) {', '.join(missing)} (found: {found})",
            hint="Rename or add the columns; required are "
            + ", ".join(REQUIRED_COLUMNS)
            + " (see docs/prevalence_table.md).",
        )
    if name == "has_rows":
        return SchemaError(
            f"{path}: the prevalence table has a header but no rows",
            hint="Add one row per region (see docs/prevalence_table.md).",
        )
    prev = "prevalence_per_100k"
    simple: dict[str, Callable[[], tuple[str, str]]] = {
        "region_id_present": lambda: (
            f"column region_id is empty in row(s) {_rows(mask)[:_SHOW]}",
            "Give every row a region id (ISO3 for countries)."),
        "prevalence_number": lambda: (
            f"column {prev} is not a number in {_listing(frame, mask, prev)}",
            "Write plain numbers (cases per 100,000, e.g. 94.7); drop rows without a value."),
        "prevalence_negative": lambda: (
            f"column {prev} is negative in {_listing(frame, mask, prev)}",
            "Prevalence is a count per 100,000 people and cannot be negative; fix the rows."),
        "prevalence_zero": lambda: (
            f"column {prev} is 0 in " + ", ".join(
                f"row {r} (region {i})" for r, i in
                zip(_rows(mask)[:_SHOW], typed.loc[mask, "region_id"][:_SHOW], strict=True))
            + (f" and {int(mask.sum()) - _SHOW} more" if mask.sum() > _SHOW else ""),
            ("A prevalence of 0 cannot be log-transformed (the models use log prevalence): "
             "give the measured rate, or drop the row if the value is unknown.")),
        "prevalence_absurd": lambda: (
            (f"column {prev} is above {MAX_PREVALENCE_PER_100K:,.0f} per "
            f"100,000 in {_listing(frame, mask, prev)}"),
            "Give the rate per 100,000 people (not per million, not a case count)."),
        "year_whole": lambda: (
            f"column year is not a whole year in {_listing(frame, mask, 'year')}",
            "Write the year the prevalence refers to as a whole number, e.g. 2016."),
        "year_range": lambda: (
            f"column year is outside {MIN_YEAR}-{_max_year()} in {_listing(frame, mask, 'year')}",
            (f"Write the year the prevalence refers to, between {MIN_YEAR} and this year "
             f"({_max_year()}), e.g. 2016.")),
        "age_standardised_flag": lambda: (
            (f"column age_standardised is not true/false in "
            f"{_listing(frame, mask, 'age_standardised')}"),
            ("Write true or false (yes/no and 1/0 also work); if unknown, write false "
             "and say so in a note column.")),
        "source_present": lambda: (
            f"column source is empty in row(s) {_rows(mask)[:_SHOW]}",
            "Cite where each value comes from (publication, table, URL)."),
        "sex_known": lambda: (
            f"column sex is not both/male/female in {_listing(frame, mask, 'sex')}",
            "Write both, male or female (or leave the cell empty for both)."),
        "ci_low_number": lambda: (
            f"column ci_low is not a number ≥ 0 in {_listing(frame, mask, 'ci_low')}",
            "Write the interval bound per 100,000 or leave the cell empty."),
        "ci_high_number": lambda: (
            f"column ci_high is not a number ≥ 0 in {_listing(frame, mask, 'ci_high')}",
            "Write the interval bound per 100,000 or leave the cell empty."),
        "ci_order": lambda: (
            f"ci_low is above ci_high in row(s) {_rows(mask)[:_SHOW]}",
            "Swap the two bounds."),
    }
    if name in simple:
        message, hint = simple[name]()
        return SchemaError(f"{path}: {message}", hint=hint)
    if name == "unique_ids":
        has_sex = "sex" in typed
        listed = sorted(set(typed.loc[mask, "region_id"]))
        return SchemaError(
            f"{path}: duplicated region id(s) {', '.join(listed[:_SHOW])}"
            + (f" and {len(listed) - _SHOW} more" if len(listed) > _SHOW else "")
            + f" (rows {_rows(mask)[:_SHOW]})",
            hint="Keep one row per region" + (" and sex" if has_sex else "")
            + "; average or drop the others.",
        )
    # known_ids
    assert known is not None
    known_set = set(known)
    unknown = list(dict.fromkeys(typed.loc[mask, "region_id"]))
    candidates: Iterable[str] | Mapping[str, str] = known
    if id_kind == "iso3":
        candidates = {n: i for n, i in country_name_index().items() if i in known_set}
        candidates.update({k: k for k in known})
    return RegionMatchError(
        f"{path}: {len(unknown)} region id(s) not in the region set: "
        + _describe_unknown(unknown, candidates),
        hint="Use the region set's ids"
        + (" (ISO3 codes, e.g. FRA for France)" if id_kind == "iso3" else "")
        + " or drop those rows.",
    )
