"""Country covariates: ancestry, health-care access and migration, one column each.

The confounders the MS literature names first, from public country tables in the
catalog (``kind = "covariate"``), each read by its own reader:

=============================== ======================================================
column                          from
=============================== ======================================================
``ancestry_europe_share``       World Migration Matrix (Putterman & Weil 2010): share of
                                the year-2000 population whose ancestors lived in 1500
                                in a country of ``covariates.ancestry_europe``
``ancestry_north_europe_share`` the same for ``covariates.ancestry_north_europe``
``log_health_expenditure_pc``   ln of current health expenditure per capita (current
                                US$, WDI ``SH.XPD.CHEX.PC.CD``), the latest value in
                                ``covariates.health_expenditure_years``; its year in
                                ``health_expenditure_year``
``physicians_per_1000``         WDI ``SH.MED.PHYS.ZS``, latest in
                                ``covariates.physicians_years``; year in
                                ``physicians_year``
``migrant_share_pct``           international migrants, % of the population, in
                                ``covariates.migrant_stock_year`` (UN DESA 2020)
=============================== ======================================================

Which source countries count as "European" and "northern European" is an analysis
choice: the defaults (``default_config.toml``) are the UN M49 region *Europe* (150) and
its sub-regions *Northern Europe* (154) and *Western Europe* (155), restricted to the
matrix's source countries. These columns are joined to the analysis table; the models
use them only where the configuration says so. :func:`missing_covariates` says, for
every country of the region set, which of them it lacks and why.

>>> cov = CountryCovariates(
...     table=pd.DataFrame({"region_id": ["FRA"], "migrant_share_pct": [13.1]}),
...     reasons={"migrant_share_pct": {"NIU": "no value for 2020 ('..')"}},
...     absent={"migrant_share_pct": "not in UN DESA International Migrant Stock 2020"})
>>> regions = pd.DataFrame({"region_id": ["FRA", "NIU", "ATA"],
...                         "name": ["France", "Niue", "Antarctica"]})
>>> missing_covariates(cov, regions)[["covariate", "region_id", "reason"]].values.tolist()
[['migrant_share_pct', 'NIU', "no value for 2020 ('..')"], ['migrant_share_pct', 'ATA', 'not in UN DESA International Migrant Stock 2020']]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_ms.errors import ConfigError, DownloadError

__all__ = [
    "COUNTRY_COVARIATES",
    "VALUE_COLUMNS",
    "CountryCovariates",
    "covariate_datasets",
    "load_country_covariates",
    "missing_covariates",
    "read_covariate_dataset",
]

#: Column → (unit, catalog dataset, method): the data dictionary of these columns.
COUNTRY_COVARIATES: dict[str, tuple[str, str, str]] = {
    "ancestry_europe_share": (
        "1", "world_migration_matrix",
        ("share of the year-2000 population whose ancestors lived in 1500 in a source country "
         "of covariates.ancestry_europe (default: UN M49 Europe); World Migration Matrix v1.1 "
         "(Putterman & Weil 2010); all-zero rows = no data")),
    "ancestry_north_europe_share": (
        "1", "world_migration_matrix",
        ("the same share for covariates.ancestry_north_europe (default: UN M49 Northern and "
         "Western Europe)")),
    "log_health_expenditure_pc": (
        "ln(current US$)", "wdi_health_expenditure",
        ("natural log of current health expenditure per capita (WDI SH.XPD.CHEX.PC.CD, WHO "
         "GHED), each country's latest value in covariates.health_expenditure_years")),
    "health_expenditure_year": ("year", "wdi_health_expenditure",
                                "year of log_health_expenditure_pc's value"),
    "physicians_per_1000": (
        "per 1,000 people", "wdi_physicians",
        ("physicians per 1,000 people (WDI SH.MED.PHYS.ZS, WHO), each country's latest value "
         "in covariates.physicians_years")),
    "physicians_year": ("year", "wdi_physicians", "year of physicians_per_1000's value"),
    "migrant_share_pct": (
        "%", "undesa_migrant_stock_2020",
        ("international migrant stock as % of the total population, both sexes, in "
         "covariates.migrant_stock_year (UN DESA International Migrant Stock 2020, Table 3)")),
}

#: Value columns (not the ``*_year`` companions), in order.
VALUE_COLUMNS = ("ancestry_europe_share", "ancestry_north_europe_share",
                 "log_health_expenditure_pc", "physicians_per_1000", "migrant_share_pct")

_DATASETS = ("world_migration_matrix", "wdi_health_expenditure", "wdi_physicians",
             "undesa_migrant_stock_2020")


@dataclass
class CountryCovariates:
    """The covariate columns and why countries lack them.

    Attributes
    ----------
    table
        ``region_id`` (ISO3) and the covariate columns of the sources that could be read.
    reasons
        ``{column: {iso3: reason}}`` for countries a source knows but has no value for.
    absent
        ``{column: reason}`` for countries the source does not list at all.
    unmapped
        ``{dataset id: [codes]}``: codes of a source with no ISO3 code (left out).
    skipped
        ``{dataset id: why}``: sources that could not be obtained (their columns absent).
    remapped
        ``{dataset id: {code: [iso3, ...]}}``: source codes translated to other ISO3 codes
        (the World Migration Matrix's World Bank codes).
    """

    table: pd.DataFrame
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)
    unmapped: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    remapped: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def covariate_datasets() -> tuple[str, ...]:
    """Catalog ids of the country-covariate sources."""
    return _DATASETS


def read_covariate_dataset(dataset_id: str) -> pd.DataFrame:
    """Fetch (sha256-checked) and read one covariate dataset with its catalog reader."""
    from geo_ms.ingest import fetch
    from geo_ms.ingest.catalog import get_dataset, resolve_reader

    ds = get_dataset(dataset_id)
    name, path = next(iter(fetch.fetch(dataset_id).items()))
    reader, kw = ds.reader_for(name, path)
    return resolve_reader(reader)(Path(path), **kw)


def load_country_covariates(
    ccfg: dict[str, Any],
    read: Callable[[str], pd.DataFrame] = read_covariate_dataset,
) -> CountryCovariates:
    """Build the covariate columns of the configuration's ``[covariates]`` section.

    Parameters
    ----------
    ccfg
        ``ancestry_europe``, ``ancestry_north_europe`` (ISO3 lists),
        ``health_expenditure_years``, ``physicians_years`` (``[first, last]``),
        ``migrant_stock_year``.
    read
        ``read(dataset_id) -> table`` (default: fetch and read through the catalog).

    Returns
    -------
    CountryCovariates
        A source that cannot be obtained (no mirror, no network) is skipped and named
        in ``skipped``; its columns are absent.

    Raises
    ------
    ConfigError
        A source-country code not in the matrix, a reversed year window, or a migrant
        stock year the table does not have.
    """
    from geo_ms.errors import SchemaError
    from geo_ms.ingest.readers.ancestry import ancestry_share
    from geo_ms.ingest.readers.worldbank import latest_in_window

    parts: list[pd.DataFrame] = []
    out = CountryCovariates(table=pd.DataFrame({"region_id": pd.Series(dtype=str)}))

    def get(did: str) -> pd.DataFrame | None:
        try:
            return read(did)
        except DownloadError as exc:
            out.skipped[did] = exc.message
            return None

    wmm = get("world_migration_matrix")
    if wmm is not None:
        out.unmapped["world_migration_matrix"] = list(wmm.attrs.get("unmapped", []))
        out.remapped["world_migration_matrix"] = dict(wmm.attrs.get("remapped", {}))
        cols = {}
        for col, key in (("ancestry_europe_share", "ancestry_europe"),
                         ("ancestry_north_europe_share", "ancestry_north_europe")):
            try:
                cols[col] = ancestry_share(wmm, ccfg[key], key=f"covariates.{key}")
            except SchemaError as exc:
                raise ConfigError(exc.message, hint=exc.hint) from None
            no_data = {str(i): "all-zero row in the World Migration Matrix (no data)"
                       for i in wmm.attrs.get("no_data", [])}
            out.reasons[col] = no_data
            out.absent[col] = "not in the World Migration Matrix (172 countries)"
        frame = pd.DataFrame(cols)
        parts.append(frame.rename_axis("region_id").reset_index())
    for did, col, year_col, key, transform in (
            ("wdi_health_expenditure", "log_health_expenditure_pc", "health_expenditure_year",
             "health_expenditure_years", np.log),
            ("wdi_physicians", "physicians_per_1000", "physicians_year", "physicians_years",
             None)):
        tidy = get(did)
        if tidy is None:
            continue
        years = ccfg[key]
        try:
            latest = latest_in_window(tidy, years)
        except SchemaError as exc:
            raise ConfigError(f"covariates.{key}: {exc.message}", hint=exc.hint) from None
        value = latest["value"].astype(float)
        if transform is not None:
            value = value.where(value > 0)
            value = pd.Series(transform(value.to_numpy()), index=latest.index)
        parts.append(pd.DataFrame({"region_id": latest["iso3"], col: value.to_numpy(),
                                   year_col: latest["year"].astype(int).to_numpy()}))
        seen = tidy.groupby("iso3")["year"].max()
        why = {}
        have = set(latest["iso3"])
        for iso in tidy.attrs.get("countries", list(seen.index)):
            if iso in have:
                continue
            last = seen.get(iso)
            why[str(iso)] = (f"no value in {years[0]}–{years[1]}"
                             + (f" (latest {int(last)})" if last is not None else
                                " (no value in any year)"))
        out.reasons[col] = why
        out.absent[col] = f"not in the World Bank table {tidy.attrs.get('indicator', did)}"
        out.unmapped[did] = list(tidy.attrs.get("unmapped", []))
    mig = get("undesa_migrant_stock_2020")
    if mig is not None:
        year = int(ccfg["migrant_stock_year"])
        have = sorted(set(mig["year"]))
        if year not in have:
            raise ConfigError(
                f"covariates.migrant_stock_year = {year}: UN DESA International Migrant Stock "
                f"2020 has {', '.join(map(str, have))}",
                hint=f"Use one of {', '.join(map(str, have))} (default 2020)")
        rows = mig[mig["is_country"] & (mig["iso3"] != "") & (mig["year"] == year)]
        ok = rows[rows["value"].notna()]
        parts.append(pd.DataFrame({"region_id": ok["iso3"].to_numpy(),
                                   "migrant_share_pct": ok["value"].to_numpy(float)}))
        out.reasons["migrant_share_pct"] = {
            str(i): f"no value for {year} ('..') in UN DESA International Migrant Stock 2020"
            for i in rows.loc[rows["value"].isna(), "iso3"]}
        out.absent["migrant_share_pct"] = "not in UN DESA International Migrant Stock 2020"
        out.unmapped["undesa_migrant_stock_2020"] = list(mig.attrs.get("unmapped", []))
    table = out.table
    for p in parts:
        table = table.merge(p, on="region_id", how="outer")
    for c in ("health_expenditure_year", "physicians_year"):
        if c in table.columns:
            table[c] = table[c].astype("Int64")
    out.table = table.sort_values("region_id", kind="stable").reset_index(drop=True)
    return out


def missing_covariates(cov: CountryCovariates, regions: Any) -> pd.DataFrame:
    """Every region of the set without a value of each covariate column, and why.

    Returns
    -------
    pandas.DataFrame
        ``covariate, region_id, name, reason`` (one row per column and region), in the
        order of :data:`VALUE_COLUMNS` and of the regions. A source that was skipped
        gives one row per region with the reason it was skipped.
    """
    ids = regions["region_id"].astype(str).tolist()
    names = dict(zip(ids, regions["name"] if "name" in regions.columns else ids, strict=True))
    table = cov.table.set_index("region_id")
    rows = []
    for col in VALUE_COLUMNS:
        did = COUNTRY_COVARIATES[col][1]
        if col not in table.columns:
            why = cov.skipped.get(did)
            if why is None:
                continue
            rows += [{"covariate": col, "region_id": r, "name": names[r],
                      "reason": f"source {did} not available: {why}"} for r in ids]
            continue
        have = table[col].dropna()
        for r in ids:
            if r in have.index:
                continue
            reason = cov.reasons.get(col, {}).get(r) or cov.absent.get(col, "no value")
            rows.append({"covariate": col, "region_id": r, "name": names[r], "reason": reason})
    return pd.DataFrame(rows, columns=["covariate", "region_id", "name", "reason"])
