"""Readers of Global Burden of Disease (GBD) MS tables, and the GBD→ISO3 crosswalk.

Two product formats become one tidy table (see ``docs/architecture.md``):

- the open-numbers DDF export of GBD 2016 (``ddf--entities--*.csv`` plus
  ``<measure>/ddf--datapoints--<measure>_<metric>--by--location--sex--age--cause-546--year.csv``),
  read by :func:`read_gbd_ddf`;
- a CSV downloaded from the IHME GBD Results tool (names or ids variant), read by
  :func:`read_gbd_results_csv`.

The tidy columns are ``iso3, location_id, location_name, measure, metric, sex, age,
year, value, upper, lower`` with ``measure`` in {prevalence, incidence}, ``metric`` in
{rate, number} (rate per 100,000), ``sex`` in {both, male, female} and ``age`` in
{age_standardised, all_ages}. Multiple sclerosis is GBD cause 546.

>>> cw = gbd_crosswalk()
>>> cw.loc[cw["location_id"] == 102, ["gbd_name", "iso3"]].values.tolist()
[['United States', 'USA']]
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from geo_ms.errors import ConfigError, FormatError, RegionMatchError, SchemaError
from geo_ms.ingest.readers.prevalence import (
    _describe_unknown,
    country_name_index,
    match_region_names,
    normalise_name,
)

__all__ = [
    "MS_CAUSE_ID",
    "TIDY_COLUMNS",
    "gbd_crosswalk",
    "read_gbd_ddf",
    "read_gbd_results_csv",
]

#: GBD cause id of multiple sclerosis.
MS_CAUSE_ID: int = 546
#: Columns of the tidy GBD table, in order.
TIDY_COLUMNS: tuple[str, ...] = (
    "iso3",
    "location_id",
    "location_name",
    "measure",
    "metric",
    "sex",
    "age",
    "year",
    "value",
    "upper",
    "lower",
)
_KEYS = ["iso3", "measure", "metric", "sex", "age", "year"]
_MEASURES = ("prevalence", "incidence")
_METRICS = ("rate", "number")
_SEX = {"both": "both", "male": "male", "female": "female"}
_AGE = {
    "age standardized": "age_standardised",
    "age standardised": "age_standardised",
    "all ages": "all_ages",
}
_METRIC = {"rate": "rate", "number": "number", "percent": None}

#: GBD aggregate (non-national) location names: super-regions, regions, income and SDI
#: groups, WHO and World Bank regions. Rows for them are dropped, not refused.
_GBD_AGGREGATES = frozenset(
    normalise_name(n)
    for n in (
        "Global", "World", "Africa", "African Region", "African Union", "America", "Americas",
        "Andean Latin America", "Asia", "Australasia", "Caribbean", "Central Asia",
        "Central Europe", "Central Europe, Eastern Europe, and Central Asia",
        "Central Latin America", "Central Sub-Saharan Africa", "Commonwealth",
        "Commonwealth High Income", "Commonwealth Low Income", "Commonwealth Middle Income",
        "East Asia", "East Asia & Pacific - WB", "Eastern Europe", "Eastern Mediterranean Region",
        "Eastern Sub-Saharan Africa", "Europe", "Europe & Central Asia - WB", "European Region",
        "European Union", "Four World Regions", "G20", "High SDI", "High-income",
        "High-income Asia Pacific", "High-income North America", "High-middle SDI",
        "Latin America & Caribbean - WB", "Latin America and Caribbean", "Low SDI",
        "Low-middle SDI", "Middle East & North Africa - WB", "Middle SDI", "Nordic Region",
        "North Africa and Middle East", "North America", "OECD Countries", "Oceania",
        "Region of the Americas", "South Asia", "South Asia - WB", "South-East Asia Region",
        "Southeast Asia", "Southeast Asia, East Asia, and Oceania", "Southern Latin America",
        "Southern Sub-Saharan Africa", "Sub-Saharan Africa", "Sub-Saharan Africa - WB",
        "Tropical Latin America", "WHO region", "Western Europe", "Western Pacific Region",
        "Western Sub-Saharan Africa", "World Bank High Income", "World Bank Income Levels",
        "World Bank Low Income", "World Bank Lower Middle Income", "World Bank Regions",
        "World Bank Upper Middle Income",
    )
)
#: GBD spellings of national locations that neither the crosswalk nor Natural Earth has.
_GBD_NAME_ALIASES: dict[str, str] = {
    "Türkiye": "TUR",  # GBD 2021 onwards
    "Viet Nam": "VNM",
    "Brunei Darussalam": "BRN",
    "Tokelau": "TKL",  # GBD 2019 onwards; part of New Zealand in Natural Earth
}


# --------------------------------------------------------------------------- crosswalk
@lru_cache(maxsize=1)
def _crosswalk_cached() -> pd.DataFrame:
    text = (resources.files("geo_ms") / "data" / "gbd_location_iso3.csv").read_text("utf-8")
    frame = pd.read_csv(io.StringIO(text), dtype={"location_id": "int64"}, keep_default_na=False)
    return frame


def gbd_crosswalk() -> pd.DataFrame:
    """Return the GBD location id → ISO3 crosswalk shipped with geo_ms.

    One row per national GBD location (the 194 with MS estimates in GBD 2016 plus the US
    Virgin Islands), built by ``tools/build_crosswalk.py`` from the GBD names matched to
    Natural Earth names, with a few explicit overrides.

    Returns
    -------
    pandas.DataFrame
        Columns ``location_id`` (int), ``gbd_name``, ``iso3``, ``method`` (``name`` when
        matched by name, ``override`` when set by hand).

    Examples
    --------
    >>> cw = gbd_crosswalk()
    >>> len(cw), cw["iso3"].is_unique
    (195, True)
    >>> cw.set_index("location_id").loc[170, ["iso3", "method"]].tolist()
    ['COG', 'override']
    """
    return _crosswalk_cached().copy()


def _name_index() -> dict[str, str]:
    index = dict(country_name_index())
    index.update(_GBD_NAME_ALIASES)
    return index


# --------------------------------------------------------------------------- validation
@lru_cache(maxsize=1)
def _schema():  # -> pandera DataFrameSchema
    import pandera.pandas as pa

    iso3 = set(_crosswalk_cached()["iso3"]) | set(_name_index().values())
    return pa.DataFrameSchema(
        {
            "iso3": pa.Column(str, pa.Check.isin(sorted(iso3))),
            "location_id": pa.Column("Int64", nullable=True),
            "location_name": pa.Column(str),
            "measure": pa.Column(str, pa.Check.isin(list(_MEASURES))),
            "metric": pa.Column(str, pa.Check.isin(list(_METRICS))),
            "sex": pa.Column(str, pa.Check.isin(["both", "male", "female"])),
            "age": pa.Column(str, pa.Check.isin(["age_standardised", "all_ages"])),
            "year": pa.Column("int64"),
            "value": pa.Column(float, pa.Check.ge(0)),
            "upper": pa.Column(float, pa.Check.ge(0), nullable=True),
            "lower": pa.Column(float, pa.Check.ge(0), nullable=True),
        },
        unique=_KEYS,
        strict=True,
        ordered=True,
    )


def _finish(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Order, type, sort and validate a tidy GBD frame."""
    import pandera.errors

    frame = frame.loc[:, list(TIDY_COLUMNS)].copy()
    for col in ("iso3", "location_name", "measure", "metric", "sex", "age"):
        frame[col] = frame[col].astype(str)
    frame["location_id"] = frame["location_id"].astype("Int64")
    frame["year"] = frame["year"].astype("int64")
    for col in ("value", "upper", "lower"):
        frame[col] = frame[col].astype("float64")
    dup = frame.duplicated(_KEYS, keep=False)
    if dup.any():
        sample = frame.loc[dup, _KEYS].drop_duplicates().head(3).to_dict("records")
        raise SchemaError(
            f"{source}: {int(dup.sum())} rows share the same iso3/measure/metric/sex/age/year, "
            f"e.g. {sample}",
            hint="Export one value per location, sex, age, metric and year (one cause).",
        )
    frame = frame.sort_values(_KEYS, kind="stable").reset_index(drop=True)
    try:
        _schema().validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        summary = "; ".join(
            f"{c}: {list(g['failure_case'].astype(str).unique()[:5])}"
            for c, g in cases.groupby(cases["column"].astype(str))
        )
        raise SchemaError(
            f"{source}: the GBD table fails validation ({summary})",
            hint="Check the export: prevalence must be ≥ 0 and locations national.",
        ) from None
    return frame


def _drop_said(frame: pd.DataFrame, mask: pd.Series, source: str, what: str) -> pd.DataFrame:
    if mask.any():
        examples = sorted(set(frame.loc[mask, "location_name"].astype(str)))
        warnings.warn(
            f"{source}: dropped {int(mask.sum())} rows of {len(examples)} {what} "
            f"({', '.join(examples[:6])}{', ...' if len(examples) > 6 else ''})",
            UserWarning,
            stacklevel=3,
        )
    return frame.loc[~mask]


# --------------------------------------------------------------------------- DDF
def _ddf_paths(
    folder_or_paths: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    measures: tuple[str, ...],
    metrics: tuple[str, ...],
    cause_id: int,
) -> dict[str, Path]:
    needed = ["location", "sex", "age"] + [f"{m}_{k}" for m in measures for k in metrics]
    if isinstance(folder_or_paths, Mapping):
        paths = {str(k): Path(v) for k, v in folder_or_paths.items()}
        where = "read_gbd_ddf paths"
    else:
        folder = Path(folder_or_paths)
        where = str(folder)
        if not folder.is_dir():
            raise FormatError(
                f"{folder}: not a folder of GBD DDF files",
                hint="Pass the DDF folder (with ddf--entities--location.csv) or a dict of paths.",
            )
        paths = {}
        for entity in ("location", "sex", "age"):
            hit = folder / f"ddf--entities--{entity}.csv"
            if hit.is_file():
                paths[entity] = hit
        for key in needed[3:]:
            pattern = f"ddf--datapoints--{key}--by--location--sex--age--cause*--year.csv"
            hits = sorted(folder.rglob(pattern))
            exact = [h for h in hits if f"cause-{cause_id}--" in h.name] or hits
            if exact:
                paths[key] = exact[0]
    missing = [k for k in needed if k not in paths]
    if missing:
        raise FormatError(
            f"{where}: missing GBD DDF file(s) for {', '.join(missing)}",
            hint="Fetch the whole DDF folder (entities and datapoints), or pass a dict with keys "
            + ", ".join(needed)
            + ".",
        )
    absent = [str(paths[k]) for k in needed if not paths[k].is_file()]
    if absent:
        raise FormatError(
            f"{absent[0]}: GBD DDF file does not exist",
            hint="Fetch the dataset again ('geo-ms data fetch') or fix the path.",
        )
    return {k: paths[k] for k in needed}


def _read_csv(path: Path, required: Iterable[str], **kwargs) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, **kwargs)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FormatError(
            f"{path}: not a readable CSV ({type(exc).__name__}: {str(exc).strip()[:80]})",
            hint="The file is truncated or not the GBD export; fetch it again.",
        ) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise FormatError(
            f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(map(str, frame.columns))})",
            hint="This is not the GBD DDF layout; fetch the open-numbers export again.",
        )
    return frame


def _entity_labels(path: Path, key: str, mapping: Mapping[str, str]) -> dict[int, str]:
    frame = _read_csv(path, [key, "name"])
    out = {}
    for ident, name in zip(frame[key], frame["name"], strict=True):
        label = mapping.get(normalise_name(str(name)))
        if label is not None:
            out[int(ident)] = label
    return out


def read_gbd_ddf(
    folder_or_paths: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]],
    *,
    measures: Iterable[str] = ("prevalence",),
    metrics: Iterable[str] = ("rate", "number"),
    cause_id: int = MS_CAUSE_ID,
) -> pd.DataFrame:
    """Read the GBD DDF export (open-numbers layout) into the tidy GBD table.

    Parameters
    ----------
    folder_or_paths
        The DDF folder (``ddf--entities--{location,sex,age}.csv`` at the top, datapoint
        files anywhere below), or a dict with keys ``location``, ``sex``, ``age`` and
        ``<measure>_<metric>`` (e.g. ``prevalence_rate``) giving each file's path.
    measures
        Any of ``prevalence``, ``incidence``.
    metrics
        Any of ``rate`` (per 100,000), ``number``.
    cause_id
        GBD cause id to keep (546, multiple sclerosis).

    Returns
    -------
    pandas.DataFrame
        The tidy GBD table (columns :data:`TIDY_COLUMNS`), sorted by iso3, measure,
        metric, sex, age and year. ``upper``/``lower`` are NaN (the DDF export holds
        medians only). Only the age groups All Ages (id 22) and Age-standardized (27)
        are kept; non-national locations are dropped with a ``UserWarning``.

    Raises
    ------
    FormatError
        Missing files or columns.
    SchemaError
        Negative values, duplicated keys, or no rows for the cause.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ddf--entities--location.csv").write_text("location,name\\n95,United Kingdom\\n")
    >>> _ = (d / "ddf--entities--sex.csv").write_text("sex,name\\n3,Both\\n")
    >>> _ = (d / "ddf--entities--age.csv").write_text("age,name\\n27,Age-standardized\\n")
    >>> _ = (d / "ddf--datapoints--prevalence_rate--by--location--sex--age--cause-546--year.csv"
    ...      ).write_text("location,sex,age,cause,year,prevalence_rate\\n95,3,27,546,2016,135.22\\n")
    >>> df = read_gbd_ddf(d, metrics=("rate",))
    >>> df[["iso3", "sex", "age", "year", "value"]].values.tolist()
    [['GBR', 'both', 'age_standardised', 2016, 135.22]]
    """
    measures = tuple(measures)
    metrics = tuple(metrics)
    for given, allowed, name in ((measures, _MEASURES, "measures"), (metrics, _METRICS, "metrics")):
        bad = [m for m in given if m not in allowed]
        if bad or not given:
            raise ConfigError(
                f"read_gbd_ddf: {name}={given!r} is not a non-empty subset of {allowed}",
                hint=f"Pass {name} from {', '.join(allowed)}.",
            )
    paths = _ddf_paths(folder_or_paths, measures, metrics, cause_id)
    locations = _read_csv(paths["location"], ["location", "name"])
    loc_names = dict(zip(locations["location"].astype(int), locations["name"].astype(str), strict=True))
    sexes = _entity_labels(paths["sex"], "sex", _SEX)
    ages = _entity_labels(paths["age"], "age", _AGE)
    crosswalk = _crosswalk_cached().set_index("location_id")["iso3"]

    parts = []
    for measure in measures:
        for metric in metrics:
            key = f"{measure}_{metric}"
            path = paths[key]
            frame = _read_csv(path, ["location", "sex", "age", "cause", "year", key])
            frame = frame[frame["cause"] == cause_id]
            if frame.empty:
                raise SchemaError(
                    f"{path}: no rows for cause {cause_id}",
                    hint="Use the datapoint file of the MS cause (…--cause-546--year.csv).",
                )
            values = pd.to_numeric(frame[key], errors="coerce")
            if values.isna().any():
                bad = frame.loc[values.isna(), key].astype(str).unique()[:5]
                raise SchemaError(
                    f"{path}: column {key} has non-numeric values {list(bad)}",
                    hint="The file is damaged; fetch it again.",
                )
            part = pd.DataFrame(
                {
                    "location_id": frame["location"].astype(int),
                    "location_name": frame["location"].astype(int).map(loc_names),
                    "measure": measure,
                    "metric": metric,
                    "sex": frame["sex"].astype(int).map(sexes),
                    "age": frame["age"].astype(int).map(ages),
                    "year": frame["year"].astype(int),
                    "value": values.astype(float),
                }
            )
            part = part[part["age"].notna() & part["sex"].notna()]
            parts.append(part)
    tidy = pd.concat(parts, ignore_index=True)
    tidy["location_name"] = tidy["location_name"].fillna(tidy["location_id"].astype(str))
    tidy["iso3"] = tidy["location_id"].map(crosswalk)
    source = str(folder_or_paths) if not isinstance(folder_or_paths, Mapping) else str(
        paths["location"].parent
    )
    tidy = _drop_said(tidy, tidy["iso3"].isna(), source, "non-national GBD locations")
    tidy = tidy.assign(upper=np.nan, lower=np.nan)
    return _finish(tidy, source)


# --------------------------------------------------------------------------- Results tool
_IDS_RENAME = {
    "measure_name": "measure",
    "location_name": "location",
    "sex_name": "sex",
    "age_name": "age",
    "cause_name": "cause",
    "metric_name": "metric",
}
_RESULTS_REQUIRED = ("measure", "location", "sex", "age", "cause", "metric", "year", "val")


def read_gbd_results_csv(
    path: str | os.PathLike[str], *, cause: str = "Multiple sclerosis"
) -> pd.DataFrame:
    """Read a CSV exported from the IHME GBD Results tool into the tidy GBD table.

    Both export variants are accepted: names (``measure, location, sex, age, cause,
    metric, year, val, upper, lower``) and ids (``measure_id, measure_name, location_id,
    location_name, ...``).

    Parameters
    ----------
    path
        The CSV (one file of the downloaded zip).
    cause
        The cause name to keep.

    Returns
    -------
    pandas.DataFrame
        The tidy GBD table (columns :data:`TIDY_COLUMNS`). Rows of other measures than
        prevalence/incidence, of the ``Percent`` metric, of age groups other than
        "Age-standardized"/"All ages" and of aggregate locations (Global, GBD regions,
        SDI groups...) are dropped with a ``UserWarning``. Locations are mapped to ISO3 by
        GBD id (ids variant) or by name (the crosswalk and Natural Earth names).

    Raises
    ------
    SchemaError
        Missing columns, no rows for the cause, unknown sex labels, non-numeric values.
    RegionMatchError
        Location names that match no country, listed with close matches.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "IHME-GBD_2019_DATA-1.csv"
    >>> _ = p.write_text("measure,location,sex,age,cause,metric,year,val,upper,lower\\n"
    ...     "Prevalence,Japan,Both,Age-standardized,Multiple sclerosis,Rate,2019,28.3,33.1,24.0\\n")
    >>> read_gbd_results_csv(p)[["iso3", "location_id", "value", "upper"]].values.tolist()
    [['JPN', 67, 28.3, 33.1]]
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise FormatError(
            f"{path}: GBD Results file does not exist",
            hint="Download the export from https://vizhub.healthdata.org/gbd-results/ and unzip it.",
        ) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise FormatError(
            f"{path}: not a readable CSV ({type(exc).__name__})",
            hint="Unzip the Results-tool download and pass the CSV inside.",
        ) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if "measure_name" in raw.columns:
        raw = raw.drop(columns=[c for c in _IDS_RENAME.values() if c in raw.columns])
        raw = raw.rename(columns=_IDS_RENAME)
    missing = [c for c in _RESULTS_REQUIRED if c not in raw.columns]
    if missing:
        raise SchemaError(
            f"{path}: missing GBD Results column(s) {', '.join(missing)} "
            f"(found: {', '.join(raw.columns)})",
            hint="Export from the GBD Results tool as CSV with names (or names and ids).",
        )
    raw = raw.apply(lambda s: s.str.strip())
    keep = raw["cause"].map(normalise_name) == normalise_name(cause)
    if not keep.any():
        found = sorted(set(raw["cause"]))[:6]
        raise SchemaError(
            f"{path}: no rows for cause {cause!r} (causes found: {found})",
            hint="Select Cause 'Multiple sclerosis' in the GBD Results tool.",
        )
    frame = raw.loc[keep].copy()
    frame["location_name"] = frame["location"]
    source = str(path)

    def _recode(column: str, mapping: Mapping[str, str | None], what: str) -> None:
        nonlocal frame
        coded = frame[column].map(normalise_name).map(mapping)
        drop = coded.isna()
        if drop.any():
            labels = sorted(set(frame.loc[drop, column]))
            warnings.warn(
                f"{source}: dropped {int(drop.sum())} rows of {what} {labels[:6]}",
                UserWarning,
                stacklevel=3,
            )
        frame = frame.loc[~drop].assign(**{column: coded[~drop]})

    _recode("measure", {m: m for m in _MEASURES}, "other measures")
    _recode("metric", _METRIC, "other metrics")
    _recode("age", _AGE, "other age groups")
    sex = frame["sex"].map(normalise_name).map(_SEX)
    if sex.isna().any():
        raise SchemaError(
            f"{path}: unknown sex label(s) {sorted(set(frame.loc[sex.isna(), 'sex']))}",
            hint="Use Both, Male or Female.",
        )
    frame["sex"] = sex
    if frame.empty:
        raise SchemaError(
            f"{path}: no prevalence/incidence rows with metric Rate or Number and age "
            "'Age-standardized' or 'All ages'",
            hint="Select those measures, metrics and ages in the GBD Results tool.",
        )

    crosswalk = _crosswalk_cached()
    by_id = crosswalk.set_index("location_id")["iso3"]
    id_of = crosswalk.set_index("iso3")["location_id"]
    iso3 = pd.Series(pd.NA, index=frame.index, dtype="object")
    if "location_id" in frame.columns:
        ids = pd.to_numeric(frame["location_id"], errors="coerce")
        iso3 = ids.map(by_id).astype("object")
    aggregate = frame["location"].map(normalise_name).isin(_GBD_AGGREGATES) & iso3.isna()
    frame = _drop_said(frame.assign(iso3=iso3), aggregate, source, "aggregate locations")
    todo = frame["iso3"].isna()
    if todo.any():
        index = _name_index()
        matched = match_region_names(frame.loc[todo, "location"].unique(), index)
        unknown = [n for n, v in matched.items() if v is None]
        if unknown:
            raise RegionMatchError(
                f"{path}: {len(unknown)} location name(s) match no country: "
                + _describe_unknown(unknown, {k: v for k, v in index.items() if len(k) > 3}),
                hint="Drop sub-national rows, or rename the locations to country names "
                "(the crosswalk is geo_ms/data/gbd_location_iso3.csv).",
            )
        frame.loc[todo, "iso3"] = frame.loc[todo, "location"].map(matched)
        if "location_id" in frame.columns:
            # a GBD id outside the crosswalk whose name is a country already present by id
            # is a sub-national unit with a country's name (e.g. the US state of Georgia)
            by_id_iso3 = set(frame.loc[~todo, "iso3"])
            clash = todo & frame["iso3"].isin(by_id_iso3)
            frame = _drop_said(frame, clash, source, "sub-national locations named like countries")
    if "location_id" in frame.columns:
        location_id = pd.to_numeric(frame["location_id"], errors="coerce")
    else:
        location_id = frame["iso3"].map(id_of)
    frame["location_id"] = location_id.astype("Int64")

    def _number(column: str, required: bool) -> pd.Series:
        if column not in frame.columns:
            return pd.Series(np.nan, index=frame.index)
        text = frame[column]
        values = pd.to_numeric(text.where(text != "", None), errors="coerce")
        bad = values.isna() & ((text != "") | required)
        if bad.any():
            raise SchemaError(
                f"{path}: column {column} is not numeric in {int(bad.sum())} row(s), e.g. "
                f"{list(text[bad].unique()[:5])}",
                hint="The export is damaged; download it again.",
            )
        odd = values.notna() & (~np.isfinite(values.astype(float)) | (values < 0))
        if odd.any():
            rows = [int(i) + 2 for i in np.flatnonzero(odd.to_numpy())[:5]]
            raise SchemaError(
                f"{path}: column {column} is infinite or negative in {int(odd.sum())} row(s) "
                f"(rows {rows}: {list(text[odd].unique()[:5])})",
                hint="A GBD rate or count is a finite number >= 0; the export is damaged or "
                     "was edited: download it again.",
            )
        return values.astype(float)

    year = pd.to_numeric(frame["year"], errors="coerce")
    if year.isna().any():
        raise SchemaError(
            f"{path}: column year is not a whole number, e.g. {list(frame.loc[year.isna(), 'year'][:3])}",
            hint="The export is damaged; download it again.",
        )
    tidy = frame.assign(
        year=year.astype(int),
        value=_number("val", True),
        upper=_number("upper", False),
        lower=_number("lower", False),
    )
    return _finish(tidy, source)
