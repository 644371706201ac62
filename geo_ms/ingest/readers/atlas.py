"""Readers of the MSIF Atlas of MS country tables (editions 2008, 2013 and 2020).

The Atlas of MS (Multiple Sclerosis International Federation) collects the figures
national MS organisations and experts report (registries, studies, administrative
data, expert estimates): unlike GBD they are not model outputs. Rates are **crude**
(all ages) per 100,000. Each reader returns the canonical prevalence table
(``region_id`` ISO3, ``prevalence_per_100k``, ``year``, ``age_standardised=False``,
``source``) plus ``region_name`` (as written by MSIF), ``cases`` (people with MS) and
``incidence_per_100k`` where the edition gives them; the 2020 reader adds
``prevalence_stated`` (MSIF's integer-rounded rate), ``population_2019``,
``confidence_prevalence`` (High / Moderate / Low / Very Low / Unknown) and
``national_registry`` (Yes / No / Unsure / None), fields a model can filter on.

Format traps handled (see the data mirror's ``ms/SOURCES.md`` §14): a UTF-8 byte-order
mark, thousands separators (``"2,770,107"``), the text codes ``NOT KNOWN`` and ``NO DATA
PROVIDED``, blank cells, trailing spaces in names, 2013's ``0`` = not known and its
shifted later columns (only the first six are read), 2008's long header cells (matched
on their start) and the aggregate rows after the 2020 country rows (skipped).

Country names become ISO3 codes through :func:`match_atlas_names`: the committed table
``geo_ms/data/atlas_name_overrides.csv`` first, then the project's country-name matcher
(:func:`~geo_ms.ingest.readers.prevalence.match_region_names` on
:func:`~geo_ms.ingest.readers.prevalence.country_name_index`). A row with a value whose
name matches nothing is dropped with a :class:`UserWarning` listing the names.

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "atlas2008.csv"
>>> _ = p.write_text('Country,"Total Number of people with MS, 2008","Prevalence of MS, 2008",'
...                  '"Incidence of MS, 2008"\\nNorway,"5,800",125,NOT KNOWN\\n'
...                  'Albania,,,NO DATA PROVIDED\\n')
>>> t = read_atlas_2008(p)
>>> t[["region_id", "prevalence_per_100k", "cases", "year"]].values.tolist()
[['NOR', 125.0, 5800.0, 2008]]
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from geo_ms.errors import FormatError
from geo_ms.ingest.readers.prevalence import (
    country_name_index,
    match_region_names,
    normalise_name,
)

__all__ = [
    "ATLAS_EDITIONS",
    "atlas_name_overrides",
    "match_atlas_names",
    "parse_atlas_number",
    "read_atlas",
    "read_atlas_2008",
    "read_atlas_2013",
    "read_atlas_2020",
]

#: Edition year → (catalog id, citation used in the ``source`` column).
ATLAS_EDITIONS: dict[int, tuple[str, str]] = {
    2020: ("atlas_ms_2020", "MSIF Atlas of MS, 3rd edition (data Sep 2019-Jul 2020)"),
    2013: ("atlas_ms_2013", "MSIF Atlas of MS 2013"),
    2008: ("atlas_ms_2008", "WHO/MSIF Atlas: Multiple Sclerosis Resources in the World 2008"),
}

_MISSING_CODES = {"", "not known", "no data provided", "n/a", "na", "-", "unknown"}
_NUMBER = re.compile(r"[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?")


def parse_atlas_number(text: object) -> float:
    """One Atlas cell as a number: thousands separators removed, text codes → NaN.

    Parameters
    ----------
    text
        The cell as read (str, number or None).

    Returns
    -------
    float
        The value, or NaN for a blank cell, ``NOT KNOWN``, ``NO DATA PROVIDED`` or any
        other text.

    Examples
    --------
    >>> parse_atlas_number("2,770,107"), parse_atlas_number(" 95.6 ")
    (2770107.0, 95.6)
    >>> import math
    >>> math.isnan(parse_atlas_number("NOT KNOWN")), math.isnan(parse_atlas_number(""))
    (True, True)
    """
    if text is None:
        return float("nan")
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    s = str(text).replace("\u00a0", "").strip()
    if s.casefold() in _MISSING_CODES or not _NUMBER.fullmatch(s) or not any(c.isdigit() for c in s):
        return float("nan")
    return float(s.replace(",", ""))


@lru_cache(maxsize=1)
def atlas_name_overrides() -> dict[str, str]:
    """MSIF country names that the general matcher misses, → ISO3.

    Read from ``geo_ms/data/atlas_name_overrides.csv`` (``name, iso3, note``; the note
    says why each entry is needed).

    Examples
    --------
    >>> atlas_name_overrides()["Palestinian Authority"]
    'PSE'
    """
    text = (resources.files("geo_ms") / "data" / "atlas_name_overrides.csv").read_text("utf-8")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return {n.strip(): i.strip() for n, i in zip(table["name"], table["iso3"], strict=True)}


def match_atlas_names(names: Iterable[str]) -> dict[str, str | None]:
    """Match MSIF country names to ISO3: the override table first, then the general matcher.

    Examples
    --------
    >>> match_atlas_names(["Moldova, Republic of ", "Germany", "Atlantis"])
    {'Moldova, Republic of ': 'MDA', 'Germany': 'DEU', 'Atlantis': None}
    """
    names = list(dict.fromkeys(names))
    overrides = {normalise_name(k): v for k, v in atlas_name_overrides().items()}
    general = match_region_names(names, country_name_index())
    return {n: overrides.get(normalise_name(n), general[n]) for n in names}


# --------------------------------------------------------------------------- parsing
def _rows(path: Path) -> list[list[str]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{path}: the Atlas of MS file does not exist",
                          hint="Fetch it with 'geo-ms data fetch atlas_ms_2020' (or 2013/2008), "
                               "or set GEO_MS_DATA_MIRROR.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or rows[0][0].strip().casefold() != "country":
        raise FormatError(f"{path}: not an Atlas of MS country table (first header cell is not "
                          "'Country')",
                          hint="Fetch the file again; it should be the MSIF CSV of §14 of "
                               "ms/SOURCES.md.")
    return rows


def _column(path: Path, header: list[str], start: str, *, limit: int | None = None) -> int:
    """Index of the first header cell that starts with *start* (case and spacing ignored)."""
    key = " ".join(start.casefold().split())
    cells = header if limit is None else header[:limit]
    for i, cell in enumerate(cells):
        if " ".join(cell.casefold().split()).startswith(key):
            return i
    raise FormatError(f"{path}: no column starting with {start!r} "
                      f"(found: {', '.join(c for c in cells if c)[:200]})",
                      hint="This is not the expected Atlas of MS edition; check which file "
                           "the catalog entry points at.")


def _finish(path: Path, frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """Drop rows without a value, match names to ISO3, add the canonical columns."""
    value_cols = [c for c in ("prevalence_per_100k", "incidence_per_100k") if c in frame]
    frame = frame[frame[value_cols].notna().any(axis=1)].copy()
    iso = match_atlas_names(frame["region_name"])
    frame["region_id"] = frame["region_name"].map(iso)
    unmatched = sorted(frame.loc[frame["region_id"].isna(), "region_name"].unique())
    if unmatched:
        warnings.warn(
            f"{path}: {len(unmatched)} Atlas country name(s) with a value match no ISO3 code "
            f"and are dropped: {', '.join(map(repr, unmatched))}; add them to "
            "geo_ms/data/atlas_name_overrides.csv",
            UserWarning, stacklevel=3)
        frame = frame[frame["region_id"].notna()]
    dup = frame["region_id"].duplicated(keep=False)
    if dup.any():
        raise FormatError(
            f"{path}: two Atlas rows map to the same ISO3 code: "
            + ", ".join(f"{n} → {i}" for n, i in frame.loc[dup, ["region_name", "region_id"]]
                        .itertuples(index=False)),
            hint="Fix geo_ms/data/atlas_name_overrides.csv so each country has one code.")
    _, citation = ATLAS_EDITIONS[year]
    frame["year"] = np.int64(year)
    frame["age_standardised"] = False
    frame["source"] = citation + ", crude rate per 100,000"
    first = ["region_id", "prevalence_per_100k", "year", "age_standardised", "source",
             "region_name"]
    rest = [c for c in frame.columns if c not in first]
    out = frame[first + rest].reset_index(drop=True)
    out["year"] = out["year"].astype("int64")
    out["age_standardised"] = out["age_standardised"].astype(bool)
    return out


def read_atlas_2020(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the Atlas of MS 3rd edition epidemiology sheet (``MS_GLOBAL_STATS.csv``).

    The stated rate is rounded to an integer (Ethiopia: 15 cases → 0), so
    ``prevalence_per_100k`` is recomputed as cases ÷ 2019 estimated population × 10⁵
    wherever both are given, else the stated rate (``prevalence_method`` says which).
    A stated 0 without cases is missing. Incidence keeps the stated rate (one decimal);
    a stated 0 with incident cases is recomputed the same way. The aggregate rows
    (``Global``, income groups, WHO regions; they have no ``WHO Region``) are skipped.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The canonical columns, ``region_name``, ``cases``, ``prevalence_stated``,
        ``prevalence_method``, ``population_2019``, ``incidence_per_100k``,
        ``confidence_prevalence``, ``national_registry``, ``who_region``; one row per
        country with a prevalence or an incidence value.

    Raises
    ------
    FormatError
        Not the 3rd-edition layout (a key column missing).
    """
    path = Path(path)
    rows = _rows(path)
    header = rows[0]
    col = {
        "country": 0,
        "cases": _column(path, header, "Number of Prevalent Cases"),
        "prev": _column(path, header, "Prevalence of MS per 100"),
        "conf": _column(path, header, "Confidence Rating Prevalence"),
        "inc_cases": _column(path, header, "Number of Incident Cases"),
        "inc": _column(path, header, "Incidence of MS per 100"),
        "registry": _column(path, header, "MS Registry with National"),
        "who": _column(path, header, "WHO Region"),
        "pop": _column(path, header, "2019 Estimated Population"),
    }
    width = max(col.values()) + 1
    records = []
    for row in rows[1:]:
        row = row + [""] * (width - len(row))
        if not row[0].strip() or not row[col["who"]].strip():
            continue  # blank separator and aggregate rows have no WHO region
        records.append({
            "region_name": row[0].strip(),
            "cases": parse_atlas_number(row[col["cases"]]),
            "prevalence_stated": parse_atlas_number(row[col["prev"]]),
            "population_2019": parse_atlas_number(row[col["pop"]]),
            "incidence_stated": parse_atlas_number(row[col["inc"]]),
            "incident_cases": parse_atlas_number(row[col["inc_cases"]]),
            "confidence_prevalence": row[col["conf"]].strip() or None,
            "national_registry": row[col["registry"]].strip() or None,
            "who_region": row[col["who"]].strip(),
        })
    if not records:
        raise FormatError(f"{path}: no country rows (rows with a WHO Region)",
                          hint="Fetch the file again; it should be MS_GLOBAL_STATS.csv.")
    f = pd.DataFrame.from_records(records)
    pop_ok = f["population_2019"] > 0
    computed = f["cases"] / f["population_2019"] * 1e5
    use = pop_ok & (f["cases"] > 0)
    stated = f["prevalence_stated"].where(f["prevalence_stated"] > 0)
    f["prevalence_per_100k"] = computed.where(use, stated)
    f["prevalence_method"] = np.where(use, "cases / 2019 population",
                                      np.where(stated.notna(), "stated (rounded)", ""))
    inc_computed = f["incident_cases"] / f["population_2019"] * 1e5
    inc_zero = (f["incidence_stated"] == 0) & (f["incident_cases"] > 0) & pop_ok
    inc = f["incidence_stated"].where(~inc_zero, inc_computed)
    f["incidence_per_100k"] = inc.where(inc > 0)
    f = f.drop(columns=["incidence_stated"])
    return _finish(path, f, 2020)


def read_atlas_2013(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the Atlas of MS 2013 country table (``MS_ATLAS_2013.csv``).

    Only the first six columns are read (later ones are shifted in some rows). ``0``
    means "not known" in this edition, so 0 becomes missing, as do blanks.

    Returns
    -------
    pandas.DataFrame
        The canonical columns, ``region_name``, ``cases``, ``incidence_per_100k``;
        one row per country with a prevalence or incidence above 0.
    """
    path = Path(path)
    rows = _rows(path)
    header = rows[0]
    c_cases = _column(path, header, "Number of people with MS", limit=6)
    c_prev = _column(path, header, "Prevalence of MS", limit=6)
    c_inc = _column(path, header, "Incidence of MS", limit=6)
    records = []
    for row in rows[1:]:
        row = row + [""] * (6 - len(row))
        if not row[0].strip():
            continue
        vals = [parse_atlas_number(row[c]) for c in (c_cases, c_prev, c_inc)]
        vals = [v if v > 0 else float("nan") for v in vals]  # 0 = not known
        records.append({"region_name": row[0].strip(), "cases": vals[0],
                        "prevalence_per_100k": vals[1], "incidence_per_100k": vals[2]})
    return _finish(path, pd.DataFrame.from_records(records), 2013)


def read_atlas_2008(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the WHO/MSIF Atlas 2008 country table (``MS_ATLAS_2008.csv``).

    Header cells are long (``"Prevalence of MS, 2008"``) and matched on their start.
    ``NOT KNOWN``, ``NO DATA PROVIDED`` and blanks are missing; so is 0 (one row,
    Benin, reports 0 people and 0 per 100,000 next to an unknown age of onset, i.e.
    no case known, which a log-scale analysis cannot use either).

    Returns
    -------
    pandas.DataFrame
        The canonical columns, ``region_name``, ``cases``, ``incidence_per_100k``.
    """
    path = Path(path)
    rows = _rows(path)
    header = rows[0]
    c_cases = _column(path, header, "Total Number of people with MS")
    c_prev = _column(path, header, "Prevalence of MS")
    c_inc = _column(path, header, "Incidence of MS")
    width = max(c_cases, c_prev, c_inc) + 1
    records = []
    for row in rows[1:]:
        row = row + [""] * (width - len(row))
        if not row[0].strip():
            continue
        vals = [parse_atlas_number(row[c]) for c in (c_cases, c_prev, c_inc)]
        vals = [v if v > 0 else float("nan") for v in vals]
        records.append({"region_name": row[0].strip(), "cases": vals[0],
                        "prevalence_per_100k": vals[1], "incidence_per_100k": vals[2]})
    return _finish(path, pd.DataFrame.from_records(records), 2008)


def read_atlas(path: str | os.PathLike[str], edition: int) -> pd.DataFrame:
    """Read one Atlas of MS edition (2008, 2013 or 2020).

    Examples
    --------
    >>> read_atlas("x.csv", 2011)
    Traceback (most recent call last):
    ...
    geo_ms.errors.FormatError: read_atlas: edition 2011 is not one of 2008, 2013, 2020
    """
    readers = {2020: read_atlas_2020, 2013: read_atlas_2013, 2008: read_atlas_2008}
    if edition not in readers:
        raise FormatError(f"read_atlas: edition {edition} is not one of 2008, 2013, 2020",
                          hint="Pass edition=2008, 2013 or 2020.")
    return readers[edition](path)
