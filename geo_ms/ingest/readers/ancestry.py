"""Reader of the Putterman–Weil World Migration Matrix, 1500–2000 (version 1.1).

For each present-day country (row) the matrix gives the share of its year-2000
population whose ancestors lived in each source country (column) in 1500 — the standard
country-level measure of *ancestry* as opposed to location. The file is Excel 97
(``.xls``, one sheet): ``wbcode``, ``wbname``, 172 lower-case source-country codes,
``update``; read with pandas' ``calamine`` engine (python-calamine).

Format traps handled (data mirror ``covariates/SOURCES.md`` §1):

* the codes are **World Bank codes of the mid-2000s**, not all ISO3. They are mapped
  through :data:`WB_TO_ISO3` (``ROM`` → ``ROU``, ``ZAR`` → ``COD``, ``TMP`` → ``TLS``,
  ``OAN`` → ``TWN``, ``CIL`` → ``COK``; ``YUG``, Serbia and Montenegro, as a row → both
  successor states ``SRB`` and ``MNE``, as a source column → ``SCG``, the withdrawn
  ISO 3166 code of that state); any other code that is not an ISO 3166-1 alpha-3 code
  (pycountry) is *unmapped*: its row is left out and listed in ``attrs["unmapped"]``;
* rows that are **all zero** (Iceland, Cook Islands, Niue, Saint Vincent and the
  Grenadines, Samoa, Sao Tome and Principe, Tonga) are missing data, not zero
  ancestry: their values become NaN and they are listed in ``attrs["no_data"]``.

:func:`ancestry_share` sums the columns of a list of source countries (an analysis
choice: the configuration's ``[covariates]`` lists, see ``default_config.toml``).

>>> m = pd.DataFrame({"wbcode": ["AAA", "ROM", "ISL"], "gbr": [0.7, 0.0, 0.0],
...                   "rom": [0.3, 1.0, 0.0]})
>>> out = matrix_from_frame(m, "demo")
>>> out.index.tolist(), out.columns.tolist()
(['ROU', 'ISL'], ['GBR', 'ROU'])
>>> out.attrs["unmapped"], out.attrs["no_data"]
(['AAA'], ['ISL'])
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from geo_ms.errors import FormatError, SchemaError

__all__ = ["WB_TO_ISO3", "ancestry_share", "matrix_from_frame", "read_world_migration_matrix"]

#: World Bank codes of the matrix that are not the ISO3 code of their country: row code
#: → ISO3 code(s) of the row (several: the row stands for each successor state).
WB_TO_ISO3: dict[str, tuple[str, ...]] = {
    "ROM": ("ROU",),          # Romania
    "ZAR": ("COD",),          # Congo, Dem. Rep.
    "TMP": ("TLS",),          # East Timor
    "OAN": ("TWN",),          # Taiwan, China
    "CIL": ("COK",),          # Cook Islands
    "YUG": ("SRB", "MNE"),    # Serbia and Montenegro (split in 2006)
}

#: Source-column codes that differ from their row mapping (a column is one code).
_SOURCE_CODE = {"YUG": "SCG"}  # ISO 3166-1 alpha-3 of Serbia and Montenegro, 2003-2006

#: Tolerance of "all zero" for a row.
_ZERO = 1e-12


@lru_cache(maxsize=1)
def _iso3_codes() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.countries)


def read_world_migration_matrix(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the World Migration Matrix into an ISO3 × ISO3 share matrix.

    Parameters
    ----------
    path
        The ``.xls`` workbook (sheet ``matrix version 1p1``; the first sheet is read).

    Returns
    -------
    pandas.DataFrame
        Index ``iso3`` (present-day country), one float column per source country
        (ISO3; ``SCG`` for Serbia and Montenegro), rows summing to 1 (±4e-5); NaN rows
        for the countries without data. ``attrs``: ``unmapped`` (row and column codes
        with no ISO3 code), ``no_data`` (ISO3 of all-zero rows), ``remapped``
        (``{wbcode: [iso3, ...]}`` of the codes :data:`WB_TO_ISO3` translated),
        ``names`` (``{iso3: wbname}``).

    Raises
    ------
    FormatError
        Missing or unreadable file, or no ``wbcode`` column.
    """
    from python_calamine import CalamineError

    path = Path(path)
    try:
        raw = pd.read_excel(path, sheet_name=0, engine="calamine")
    except FileNotFoundError:
        raise FormatError(f"{path}: the World Migration Matrix does not exist",
                          hint="Fetch it with 'geo-ms data fetch world_migration_matrix'") from None
    except (CalamineError, OSError) as exc:  # a damaged or foreign file
        raise FormatError(f"{path}: cannot be read as an Excel workbook ({exc})",
                          hint="Delete the file and fetch it again "
                               "('geo-ms data fetch world_migration_matrix')") from None
    return matrix_from_frame(raw, str(path))


def matrix_from_frame(raw: pd.DataFrame, label: str = "matrix") -> pd.DataFrame:
    """ISO3 matrix from the sheet read as a frame (see :func:`read_world_migration_matrix`)."""
    cols = {str(c).strip().lower(): c for c in raw.columns}
    if "wbcode" not in cols:
        raise FormatError(f"{label}: no 'wbcode' column (columns: "
                          f"{', '.join(map(str, list(raw.columns)[:5]))}, ...)",
                          hint="Give the World Migration Matrix v1.1 workbook as published")
    source = [c for c in raw.columns
              if str(c).strip().lower() not in ("wbcode", "wbname", "update")]
    values = raw[source].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    known = _iso3_codes()
    unmapped: list[str] = []
    remapped: dict[str, list[str]] = {}

    def to_iso3(code: str) -> tuple[str, ...]:
        if code in WB_TO_ISO3:
            remapped[code] = list(WB_TO_ISO3[code])
            return WB_TO_ISO3[code]
        if code in known:
            return (code,)
        if code not in unmapped:
            unmapped.append(code)
        return ()

    col_codes = []
    keep_cols = []
    for j, c in enumerate(source):
        code = str(c).strip().upper()
        iso = _SOURCE_CODE.get(code) or (to_iso3(code)[:1] or (None,))[0]
        if iso is not None:
            col_codes.append(iso)
            keep_cols.append(j)
    names = raw[cols["wbname"]].astype(str).str.strip() if "wbname" in cols else None
    rows, index, no_data, label_names = [], [], [], {}
    for i, code in enumerate(raw[cols["wbcode"]].astype(str).str.strip().str.upper()):
        row = values[i, keep_cols]
        empty = not np.any(np.abs(np.nan_to_num(row)) > _ZERO)
        for iso in to_iso3(code):
            rows.append(np.full(len(keep_cols), np.nan) if empty else row)
            index.append(iso)
            if names is not None:
                label_names[iso] = names.iloc[i]
            if empty:
                no_data.append(iso)
    out = pd.DataFrame(np.vstack(rows) if rows else np.empty((0, len(keep_cols))),
                       index=pd.Index(index, name="iso3"), columns=col_codes)
    out.attrs.update(unmapped=unmapped, no_data=no_data, remapped=remapped,
                     names=label_names)
    return out


def ancestry_share(matrix: pd.DataFrame, sources: Sequence[str], *,
                   key: str = "sources") -> pd.Series:
    """Share of each country's ancestors from the *sources* countries (NaN: no data).

    Parameters
    ----------
    matrix
        From :func:`read_world_migration_matrix`.
    sources
        ISO3 codes of source countries (columns of the matrix; ``SCG`` for Serbia and
        Montenegro).
    key
        Configuration key the list came from (named in errors).

    Raises
    ------
    SchemaError
        A code that is not a source country of the matrix (the closest is named).

    >>> m = pd.DataFrame({"GBR": [0.5, np.nan], "FRA": [0.2, np.nan], "CHN": [0.3, np.nan]},
    ...                  index=pd.Index(["USA", "ISL"], name="iso3"))
    >>> ancestry_share(m, ["GBR", "FRA"]).tolist()
    [0.7, nan]
    """
    wanted = [str(s).strip().upper() for s in sources]
    bad = [s for s in wanted if s not in matrix.columns]
    if bad:
        close = difflib.get_close_matches(bad[0], list(matrix.columns), n=1)
        sugg = f" (did you mean '{close[0]}'?)" if close else ""
        raise SchemaError(
            f"{key}: {', '.join(bad)} not a source country of the World Migration Matrix{sugg}",
            hint="Use ISO3 codes of the matrix's source countries (SCG = Serbia and Montenegro)")
    rows = matrix[wanted]
    share = rows.sum(axis=1, min_count=1).where(rows.notna().all(axis=1))
    return share.astype(float)
