"""Reader of World Bank World Development Indicators bulk-download CSVs.

The CSV of one indicator (``API_<indicator>_DS2_en_csv_v2_<n>.csv``, e.g. current health
expenditure per capita ``SH.XPD.CHEX.PC.CD`` or physicians per 1,000 ``SH.MED.PHYS.ZS``)
has one row per country or aggregate and one column per year.

Format traps handled (data mirror ``covariates/SOURCES.md`` §2–3):

* UTF-8 with a byte-order mark, then **4 lines of preamble** (``"Data Source",...``, a
  blank line, ``"Last Updated Date",...``, a blank line) before the header
  ``"Country Name","Country Code","Indicator Name","Indicator Code","1960",...``;
* a trailing comma on every line (an empty last column, dropped);
* about 50 rows are **regional and income-group aggregates** (``WLD``, ``EUU``, ``HIC``
  ...): a row is a country when its code is an ISO 3166-1 alpha-3 code (pycountry) or
  Kosovo's ``XKX`` (the region id ``KOS`` of Natural Earth); the others are dropped and
  listed in ``attrs["aggregates"]``, except the Channel Islands (``CHI``), a territory
  without an ISO3 code, listed in ``attrs["unmapped"]``.

:func:`latest_in_window` keeps each country's latest value within a year window and
records its year.

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "API_X_DS2.csv"
>>> _ = p.write_text('\\ufeff"Data Source","World Development Indicators",\\n\\n'
...     '"Last Updated Date","2026-07-01",\\n\\n'
...     '"Country Name","Country Code","Indicator Name","Indicator Code","2018","2019",\\n'
...     '"France","FRA","X","X.Y","4000","4520",\\n"World","WLD","X","X.Y","1000","1100",\\n',
...     encoding="utf-8")
>>> t = read_wdi_csv(p)
>>> t.values.tolist(), t.attrs["aggregates"]
([['FRA', 'France', 2018, 4000.0], ['FRA', 'France', 2019, 4520.0]], ['WLD'])
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from geo_ms.errors import FormatError, SchemaError

__all__ = ["WDI_ALIASES", "latest_in_window", "read_wdi_csv"]

#: World Bank country codes that are not ISO 3166-1 alpha-3 → the project's region id.
WDI_ALIASES: dict[str, str] = {"XKX": "KOS"}  # Kosovo (Natural Earth ADM0_A3)

#: Territories the World Bank lists as economies that have no ISO3 code.
_UNMAPPED = ("CHI",)  # Channel Islands (Jersey and Guernsey are separate ISO codes)

_HEADER = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")


def read_wdi_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a WDI bulk-download CSV into a tidy country × year table.

    Parameters
    ----------
    path
        The indicator's CSV (as in the World Bank's zip).

    Returns
    -------
    pandas.DataFrame
        Columns ``iso3`` (ISO3; ``KOS`` for Kosovo), ``country_name``, ``year`` (int),
        ``value`` (float), one row per country and year with a value. ``attrs``:
        ``indicator`` (code), ``indicator_name``, ``aggregates`` (codes of the rows
        that are not countries), ``unmapped`` (economies without an ISO3 code),
        ``countries`` (every country row, with or without values).

    Raises
    ------
    FormatError
        Missing file, or no WDI header within the first lines.
    """
    from geo_ms.ingest.readers.ancestry import _iso3_codes

    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise FormatError(f"{path}: the World Bank CSV does not exist",
                          hint="Fetch it with 'geo-ms data fetch' (see 'geo-ms data list')") from None
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text (a World Bank CSV is UTF-8)",
                          hint="Give the CSV from the World Bank's zip unchanged") from None
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines[:20])
                  if ln.startswith('"Country Name","Country Code"')), None)
    if start is None:
        raise FormatError(f"{path}: no World Bank header ('\"Country Name\",\"Country Code\",...') "
                          "in the first 20 lines",
                          hint="Give a World Development Indicators bulk-download CSV "
                               "(API_<indicator>_DS2_*.csv), not its metadata files")
    wide = pd.read_csv(io.StringIO("\n".join(lines[start:])), dtype=str, keep_default_na=False)
    wide = wide.loc[:, [c for c in wide.columns if not str(c).startswith("Unnamed")]]
    years = [c for c in wide.columns if str(c).strip().isdigit()]
    known = _iso3_codes()
    code = wide["Country Code"].str.strip()
    mapped = code.map(lambda c: c if c in known else WDI_ALIASES.get(c))
    is_country = mapped.notna()
    aggregates = [c for c in code[~is_country] if c not in _UNMAPPED]
    unmapped = [c for c in code[~is_country] if c in _UNMAPPED]
    countries = wide[is_country].assign(iso3=mapped[is_country])
    if countries["iso3"].duplicated().any():
        dup = countries.loc[countries["iso3"].duplicated(), "iso3"].tolist()
        raise SchemaError(f"{path}: repeated country code(s) {', '.join(dup)}",
                          hint="Give the World Bank's CSV unchanged (one row per economy)")
    tidy = countries.melt(id_vars=["iso3", "Country Name"], value_vars=years,
                          var_name="year", value_name="value")
    tidy["value"] = pd.to_numeric(tidy["value"].str.strip(), errors="coerce").astype(float)
    tidy = tidy[tidy["value"].notna()].rename(columns={"Country Name": "country_name"})
    tidy["year"] = tidy["year"].astype(int)
    out = tidy[["iso3", "country_name", "year", "value"]].sort_values(
        ["iso3", "year"], kind="stable").reset_index(drop=True)
    first = wide.iloc[0] if len(wide) else pd.Series(dtype=str)
    out.attrs.update(indicator=str(first.get("Indicator Code", "")),
                     indicator_name=str(first.get("Indicator Name", "")),
                     aggregates=aggregates, unmapped=unmapped,
                     countries=countries["iso3"].tolist())
    return out


def latest_in_window(tidy: pd.DataFrame, years: tuple[int, int] | list[int]) -> pd.DataFrame:
    """Each country's latest value with ``years[0] <= year <= years[1]``, and its year.

    >>> t = pd.DataFrame({"iso3": ["A", "A", "A", "B"], "year": [2014, 2016, 2021, 2013],
    ...                   "value": [1.0, 2.0, 3.0, 4.0]})
    >>> latest_in_window(t, (2015, 2020)).values.tolist()
    [['A', 2.0, 2016]]
    """
    lo, hi = int(years[0]), int(years[1])
    if lo > hi:
        raise SchemaError(f"year window [{lo}, {hi}]: the first year is after the last",
                          hint="Write the window as [first, last], e.g. [2015, 2020]")
    inside = tidy[(tidy["year"] >= lo) & (tidy["year"] <= hi) & tidy["value"].notna()]
    last = inside.sort_values(["iso3", "year"], kind="stable").groupby("iso3").tail(1)
    return last[["iso3", "value", "year"]].reset_index(drop=True)
