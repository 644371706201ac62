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

import csv
import difflib
import io
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
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
def _decode(raw: bytes) -> str:
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
    text = _decode(raw)
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
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        found = ", ".join(frame.columns) or "none"
        raise SchemaError(
            f"{path}: missing required column(s) {', '.join(missing)} (found: {found})",
            hint="Rename or add the columns; required are "
            + ", ".join(REQUIRED_COLUMNS)
            + " (see docs/prevalence_table.md).",
        )
    if frame.empty:
        raise SchemaError(
            f"{path}: the prevalence table has a header but no rows",
            hint="Add one row per region (see docs/prevalence_table.md).",
        )
    out = pd.DataFrame(index=frame.index)
    decimal_comma = delimiter != ","

    # region_id
    ids = frame["region_id"]
    if id_kind == "iso3":
        ids = ids.str.upper()
    empty = ids == ""
    if empty.any():
        raise SchemaError(
            f"{path}: column region_id is empty in row(s) {_rows(empty)[:_SHOW]}",
            hint="Give every row a region id (ISO3 for countries).",
        )
    out["region_id"] = ids

    # prevalence_per_100k
    prev = _to_number(frame["prevalence_per_100k"], decimal_comma)
    bad = prev.isna()
    if bad.any():
        raise SchemaError(
            f"{path}: column prevalence_per_100k is not a number in "
            f"{_listing(frame, bad, 'prevalence_per_100k')}",
            hint="Write plain numbers (cases per 100,000, e.g. 94.7); drop rows without a value.",
        )
    neg = prev < 0
    if neg.any():
        raise SchemaError(
            f"{path}: column prevalence_per_100k is negative in "
            f"{_listing(frame, neg, 'prevalence_per_100k')}",
            hint="Prevalence is a count per 100,000 people and cannot be negative; fix the rows.",
        )
    big = prev > MAX_PREVALENCE_PER_100K
    if big.any():
        raise SchemaError(
            f"{path}: column prevalence_per_100k is above {MAX_PREVALENCE_PER_100K:,.0f} per "
            f"100,000 in {_listing(frame, big, 'prevalence_per_100k')}",
            hint="Give the rate per 100,000 people (not per million, not a case count).",
        )
    out["prevalence_per_100k"] = prev.astype("float64")

    # year
    year = pd.to_numeric(frame["year"].where(frame["year"] != "", None), errors="coerce")
    bad = year.isna() | (year != np.floor(year)) | (year < 1800) | (year > 2200)
    if bad.any():
        raise SchemaError(
            f"{path}: column year is not a whole year in {_listing(frame, bad, 'year')}",
            hint="Write the year the prevalence refers to as a whole number, e.g. 2016.",
        )
    out["year"] = year.astype("int64")

    # age_standardised
    flag = frame["age_standardised"].str.lower()
    bad = ~flag.isin(_TRUE | _FALSE)
    if bad.any():
        raise SchemaError(
            f"{path}: column age_standardised is not true/false in "
            f"{_listing(frame, bad, 'age_standardised')}",
            hint="Write true or false (yes/no and 1/0 also work); if unknown, write false "
            "and say so in a note column.",
        )
    out["age_standardised"] = flag.isin(_TRUE).astype(bool)

    # source
    empty = frame["source"] == ""
    if empty.any():
        raise SchemaError(
            f"{path}: column source is empty in row(s) {_rows(empty)[:_SHOW]}",
            hint="Cite where each value comes from (publication, table, URL).",
        )
    out["source"] = frame["source"]

    # optional columns
    if "region_name" in frame:
        out["region_name"] = frame["region_name"]
    if "sex" in frame:
        sex = frame["sex"].str.lower().replace("", "both")
        bad = ~sex.isin(list(_SEX))
        if bad.any():
            raise SchemaError(
                f"{path}: column sex is not both/male/female in {_listing(frame, bad, 'sex')}",
                hint="Write both, male or female (or leave the cell empty for both).",
            )
        out["sex"] = sex.map(_SEX)
    for col in ("ci_low", "ci_high"):
        if col in frame:
            values = _to_number(frame[col], decimal_comma)
            bad = values.isna() & (frame[col] != "")
            bad |= values < 0
            if bad.any():
                raise SchemaError(
                    f"{path}: column {col} is not a number ≥ 0 in {_listing(frame, bad, col)}",
                    hint="Write the interval bound per 100,000 or leave the cell empty.",
                )
            out[col] = values.astype("float64")
    if "ci_low" in out and "ci_high" in out:
        bad = out["ci_low"] > out["ci_high"]
        if bad.any():
            raise SchemaError(
                f"{path}: ci_low is above ci_high in row(s) {_rows(bad)[:_SHOW]}",
                hint="Swap the two bounds.",
            )
    extras = [c for c in frame.columns if c not in out.columns]
    for col in extras:
        out[col] = frame[col]

    # duplicates
    keys = ["region_id", "sex"] if "sex" in out else ["region_id"]
    dup = out.duplicated(keys, keep=False)
    if dup.any():
        listed = sorted(set(out.loc[dup, "region_id"]))
        raise SchemaError(
            f"{path}: duplicated region id(s) {', '.join(listed[:_SHOW])}"
            + (f" and {len(listed) - _SHOW} more" if len(listed) > _SHOW else "")
            + f" (rows {_rows(dup)[:_SHOW]})",
            hint="Keep one row per region" + (" and sex" if "sex" in out else "")
            + "; average or drop the others.",
        )

    # known ids
    if known_ids is not None:
        known = [str(k) for k in known_ids]
        known_set = set(known)
        unknown = [i for i in dict.fromkeys(out["region_id"]) if i not in known_set]
        if unknown:
            candidates: Iterable[str] | Mapping[str, str] = known
            if id_kind == "iso3":
                candidates = {n: i for n, i in country_name_index().items() if i in known_set}
                candidates.update({k: k for k in known})
            raise RegionMatchError(
                f"{path}: {len(unknown)} region id(s) not in the region set: "
                + _describe_unknown(unknown, candidates),
                hint="Use the region set's ids"
                + (" (ISO3 codes, e.g. FRA for France)" if id_kind == "iso3" else "")
                + " or drop those rows.",
            )

    out = out.reset_index(drop=True)
    _schema().validate(out)
    return out


@lru_cache(maxsize=1)
def _schema():  # -> pandera DataFrameSchema (import kept lazy)
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            "region_id": pa.Column(str, pa.Check.str_length(min_value=1)),
            "prevalence_per_100k": pa.Column(
                float, [pa.Check.ge(0), pa.Check.le(MAX_PREVALENCE_PER_100K)]
            ),
            "year": pa.Column(int),
            "age_standardised": pa.Column(bool),
            "source": pa.Column(str),
            "region_name": pa.Column(str, required=False),
            "sex": pa.Column(str, pa.Check.isin(["both", "male", "female"]), required=False),
            "ci_low": pa.Column(float, pa.Check.ge(0), nullable=True, required=False),
            "ci_high": pa.Column(float, pa.Check.ge(0), nullable=True, required=False),
        },
        strict=False,
        coerce=False,
    )
