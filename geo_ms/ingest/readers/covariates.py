"""Reader of a user covariate table: ``region_id`` plus numeric columns.

Ancestry and diagnostic capacity have no open global table; an analyst can bring
one (for example the share of Northern-European ancestry, or neurologists per
100,000) and name its columns in ``models.extra_covariates`` to add them to every
adjusted model. The file goes through the same parsing path as the prevalence table
(encoding, delimiter and decimal-comma sniffing, ragged rows and repeated names
refused), then a pandera schema: every problem is a
:class:`geo_ms.errors.SchemaError` naming the file, the rows or columns and the fix.

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "cov.csv"
>>> _ = p.write_text("region_id;neurologists_per_100k\\nfra;3,5\\nDEU;\\n")
>>> t = read_covariate_table(p)
>>> t["region_id"].tolist(), t["neurologists_per_100k"].tolist()
(['FRA', 'DEU'], [3.5, nan])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo_ms.errors import SchemaError
from geo_ms.ingest.readers.prevalence import (
    _decode,
    _listing,
    _parse,
    _sniff_delimiter,
    _to_number,
)

__all__ = ["read_covariate_table"]


def read_covariate_table(
    path: str | os.PathLike[str], *, columns: Sequence[str] | None = None,
    id_kind: str = "iso3",
) -> pd.DataFrame:
    """Read and validate a covariate table.

    Parameters
    ----------
    path
        CSV (``,`` ``;`` tab or ``|`` delimited; UTF-8 with or without BOM, cp1252).
    columns
        Covariate columns that must be present (``models.extra_covariates``); the
        default keeps every column besides ``region_id``.
    id_kind
        ``iso3``: region ids are upper-cased country codes; ``other``: kept as written.

    Returns
    -------
    pandas.DataFrame
        ``region_id`` (str) and one float column per covariate (blank cells NaN).

    Raises
    ------
    SchemaError
        Missing file, empty file, no ``region_id`` column, a requested column
        missing, a non-numeric value, or a repeated region id.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemaError(f"{path}: the covariate table does not exist",
                          hint="Check models.covariates_file (relative paths are relative to "
                               "the configuration file)") from None
    text = _decode(raw, path)
    if not text.strip():
        raise SchemaError(f"{path}: the covariate table is empty",
                          hint="Write a header line 'region_id,<covariate>,...' and one row "
                               "per region")
    delimiter = _sniff_delimiter(text)
    frame = _parse(text, delimiter, path)
    if "region_id" not in frame.columns:
        raise SchemaError(f"{path}: no 'region_id' column (columns: {', '.join(frame.columns)})",
                          hint="Name the id column region_id (ISO3 for countries)")
    wanted = list(columns) if columns is not None else [c for c in frame.columns
                                                        if c != "region_id"]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{path}: covariate column(s) {', '.join(missing)} not in the table",
            hint=f"Use columns of the file ({', '.join(c for c in frame.columns if c != 'region_id')}) "
                 "in models.extra_covariates")
    if not wanted:
        raise SchemaError(f"{path}: no covariate column besides region_id",
                          hint="Add at least one numeric column")
    out = pd.DataFrame({"region_id": frame["region_id"].str.strip()})
    if id_kind == "iso3":
        out["region_id"] = out["region_id"].str.upper()
    blank = out["region_id"] == ""
    if blank.any():
        raise SchemaError(f"{path}: empty region_id in {_listing(frame, blank, 'region_id')}",
                          hint="Give every row its region id")
    dup = out["region_id"].duplicated(keep=False)
    if dup.any():
        raise SchemaError(f"{path}: repeated region_id in {_listing(out, dup, 'region_id')}",
                          hint="Keep one row per region")
    for c in wanted:
        values = _to_number(frame[c], decimal_comma=delimiter == ";")
        bad = values.isna() & frame[c].ne("")
        if bad.any():
            raise SchemaError(f"{path}: column '{c}' has non-numeric value(s): "
                              f"{_listing(frame, bad, c)}",
                              hint="Write numbers (leave a cell empty when unknown)")
        inf = values.notna() & ~np.isfinite(values.astype(float))
        if inf.any():
            raise SchemaError(f"{path}: column '{c}' has infinite value(s): "
                              f"{_listing(frame, inf, c)}",
                              hint="Write finite numbers (leave a cell empty when unknown)")
        out[c] = values.astype(float)
    _schema(wanted).validate(out)
    return out


def _schema(columns: Sequence[str]):  # -> pandera DataFrameSchema (import kept lazy)
    import pandera.pandas as pa

    cols = {"region_id": pa.Column(str, pa.Check.str_length(min_value=1), unique=True)}
    cols.update({c: pa.Column(float, nullable=True) for c in columns})
    return pa.DataFrameSchema(cols, strict=True, coerce=False)
