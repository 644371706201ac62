"""Reader of UN DESA *International Migrant Stock 2020* (by destination and sex).

Sheet ``Table 3`` of ``undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx`` holds the
international migrant stock as a **percentage of the total population**, 1990, 1995,
..., 2020, for both sexes (then male, then female).

Format traps handled (data mirror ``covariates/SOURCES.md`` §4):

* ten lines of title, citation and licence: the header is on spreadsheet **row 11**
  (``Region, development group, country or area``, ``Notes``, ``Location code``,
  ``Type of data``, ``1990`` ... ``2020`` three times; the first block, both sexes, is
  read);
* rows are a hierarchy of world, regions, development groups and countries: a row is a
  **country or area** when its numeric UN M49 ``Location code`` is **below 900**
  (codes ≥ 900 are aggregates); names carry footnote asterisks (``Tokelau*``) and
  indentation, stripped;
* M49 codes become ISO3 through pycountry's numeric codes; areas without one (the
  Channel Islands, 830) keep ``iso3`` empty and are listed in ``attrs["unmapped"]``;
* ``..`` marks a missing value.

>>> raw = pd.DataFrame([[None] * 6] * 10 + [
...     [None, "Region, development group, country or area", "Notes", "Location code",
...      "Type of data", 2020],
...     [1, "WORLD", None, 900, None, 3.6], [2, "  Afghanistan*", None, 4, "B R", 0.37],
...     [3, "Channel Islands", None, 830, "B", ".."]])
>>> t = migrant_stock_from_frame(raw, "demo")
>>> t[["m49", "name", "iso3", "is_country", "value"]].values.tolist()
[[900, 'WORLD', '', False, 3.6], [4, 'Afghanistan', 'AFG', True, 0.37], [830, 'Channel Islands', '', True, nan]]
>>> t.attrs["unmapped"]
['830 Channel Islands']
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from geo_ms.errors import FormatError

__all__ = ["migrant_stock_from_frame", "read_undesa_migrant_stock"]

_NAME = "Region, development group, country or area"


def read_undesa_migrant_stock(path: str | os.PathLike[str], *,
                              sheet: str = "Table 3") -> pd.DataFrame:
    """Read the migrant stock (% of population, both sexes) into a tidy table.

    Parameters
    ----------
    path
        The ``.xlsx`` workbook.
    sheet
        Its sheet (``Table 3``: migrant stock as a percentage of the population).

    Returns
    -------
    pandas.DataFrame
        Columns ``m49`` (int), ``name``, ``iso3`` (``""`` for aggregates and unmapped
        areas), ``is_country`` (M49 code < 900), ``type_of_data``, ``year`` (int),
        ``value`` (% of population; NaN where ``..``); one row per row of the sheet and
        year. ``attrs["unmapped"]``: countries or areas with no ISO3 code
        (``"<m49> <name>"``).

    Raises
    ------
    FormatError
        Missing or unreadable workbook, no such sheet, or no header row.
    """
    from python_calamine import CalamineError

    path = Path(path)
    try:
        raw = pd.read_excel(path, sheet_name=sheet, header=None, engine="calamine")
    except FileNotFoundError:
        raise FormatError(f"{path}: the UN DESA migrant-stock workbook does not exist",
                          hint="Fetch it with 'geo-ms data fetch undesa_migrant_stock_2020'") from None
    except ValueError as exc:
        raise FormatError(f"{path}: no sheet {sheet!r} ({exc})",
                          hint="Give the 'by destination and sex' workbook of International "
                               "Migrant Stock 2020 unchanged") from None
    except (CalamineError, OSError) as exc:  # a damaged or foreign file
        raise FormatError(f"{path}: cannot be read as an Excel workbook ({exc})",
                          hint="Delete the file and fetch it again") from None
    return migrant_stock_from_frame(raw, f"{path} [{sheet}]")


def migrant_stock_from_frame(raw: pd.DataFrame, label: str = "Table 3") -> pd.DataFrame:
    """Tidy the sheet read without header (see :func:`read_undesa_migrant_stock`)."""
    import pycountry

    head = next((i for i in range(min(len(raw), 30))
                 if any(str(v).strip() == _NAME for v in raw.iloc[i].tolist())), None)
    if head is None:
        raise FormatError(f"{label}: no header row with '{_NAME}' in the first 30 rows",
                          hint="Give Table 3 of International Migrant Stock 2020 unchanged")
    header = [str(v).strip() if pd.notna(v) else "" for v in raw.iloc[head].tolist()]
    col = {h: j for j, h in reversed(list(enumerate(header)))}  # first occurrence
    if "Location code" not in col:
        raise FormatError(f"{label}: no 'Location code' column in the header row {head + 1}",
                          hint="Give Table 3 of International Migrant Stock 2020 unchanged")
    year_cols: list[tuple[int, int]] = []
    for j, h in enumerate(header):
        y = h.split(".")[0]
        if y.isdigit() and len(y) == 4:
            if year_cols and int(y) <= year_cols[-1][0]:
                break  # the male block starts: keep both sexes only
            year_cols.append((int(y), j))
    body = raw.iloc[head + 1:]
    m49 = pd.to_numeric(body.iloc[:, col["Location code"]], errors="coerce")
    body, m49 = body[m49.notna()], m49[m49.notna()].astype(int)
    names = (body.iloc[:, col[_NAME]].astype(str).str.replace("*", "", regex=False)
             .str.strip())
    tod = (body.iloc[:, col["Type of data"]].fillna("").astype(str).str.strip()
           if "Type of data" in col else pd.Series("", index=body.index))
    iso3, unmapped = [], []
    for code, nm in zip(m49, names, strict=True):
        hit = pycountry.countries.get(numeric=f"{code:03d}") if code < 900 else None
        iso3.append(hit.alpha_3 if hit is not None else "")
        if code < 900 and hit is None:
            unmapped.append(f"{code} {nm}")
    base = pd.DataFrame({"m49": m49.to_numpy(), "name": names.to_numpy(), "iso3": iso3,
                         "is_country": (m49 < 900).to_numpy(), "type_of_data": tod.to_numpy()})
    parts = []
    for year, j in year_cols:
        vals = pd.to_numeric(body.iloc[:, j].astype(str).str.strip(), errors="coerce")
        parts.append(base.assign(year=year, value=vals.to_numpy(float)))
    out = (pd.concat(parts, ignore_index=True) if parts
           else base.assign(year=pd.Series(dtype=int), value=pd.Series(dtype=float)))
    order = {m: i for i, m in enumerate(base["m49"])}
    out = out.sort_values(["m49", "year"], key=lambda s: s.map(order) if s.name == "m49" else s,
                          kind="stable").reset_index(drop=True)
    out.attrs["unmapped"] = unmapped
    return out
