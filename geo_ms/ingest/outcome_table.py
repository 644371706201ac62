"""The outcome table: one row per country, one ``ms_<id>`` column per fitted MS outcome.

The outcomes are those of :data:`geo_ms.ingest.outcomes.OUTCOMES` listed in the
configuration key ``outcomes.fit``:

- ``gbd2016_prev``: the configured GBD 2016 prevalence (``prevalence.year``, ``.age``,
  ``.sex``; by default 2016, age-standardised, both sexes), per 100,000;
- ``gbd2016_inc``: GBD 2016 age-standardised incidence, same year and sex;
- ``atlas2020``, ``atlas2013``, ``atlas2008``: the MSIF Atlas of MS crude prevalence of
  each edition (see :mod:`geo_ms.ingest.readers.atlas`);
- ``atlas20XX_adj``: the same crude rate, **indirectly age-adjusted** with GBD's age
  structure: crude × (GBD age-standardised ÷ GBD all-ages prevalence of the same
  country, both sexes, in the GBD year nearest the edition: 2008 → 2008, 2013 → 2013,
  2020 → 2016, since GBD 2016 covers 1990-2016). The ratio moves a crude rate towards
  what the GBD world standard population would show; it borrows GBD's modelled age
  pattern, so these outcomes are not independent of GBD. Countries GBD does not cover
  (e.g. Kosovo, Taiwan) get no adjusted value.

Besides the wide table, :func:`build_outcomes` returns the long list of every Atlas
value (outcome, ISO3, MSIF name, value, note), from which the pipeline writes
``outcomes_missing.csv``: each Atlas country with a value that a run does not fit, and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from geo_ms.ingest.outcomes import OUTCOMES, outcome_column

__all__ = [
    "ATLAS_DATASETS",
    "GBD_YEARS",
    "OutcomeTables",
    "age_adjustment_ratio",
    "build_outcomes",
    "load_outcomes",
    "nearest_gbd_year",
    "outcome_datasets",
]

#: The years GBD 2016 covers.
GBD_YEARS: tuple[int, int] = (1990, 2016)
#: Atlas edition year → catalog dataset id.
ATLAS_DATASETS: dict[int, str] = {2020: "atlas_ms_2020", 2013: "atlas_ms_2013",
                                  2008: "atlas_ms_2008"}
_NOT_POSITIVE = ("value is not above 0: the models use log prevalence, so this country is "
                 "not fitted for this outcome")
_NO_RATIO = "no GBD 2016 age structure for this country (not a GBD location)"


@dataclass
class OutcomeTables:
    """What :func:`build_outcomes` / :func:`load_outcomes` return.

    Attributes
    ----------
    wide
        ``region_id`` plus one ``ms_<id>`` column per outcome (per 100,000).
    atlas
        Long list of the Atlas values: ``outcome, region_id, region_name, value, note``
        (``value`` NaN with a ``note`` when an adjusted rate cannot be formed).
    skipped
        ``{outcome id: reason}`` of listed outcomes that were not built.
    """

    wide: pd.DataFrame
    atlas: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)


def nearest_gbd_year(year: int, years: tuple[int, int] = GBD_YEARS) -> int:
    """The GBD year closest to *year* (GBD 2016 covers 1990-2016).

    >>> nearest_gbd_year(2020), nearest_gbd_year(2013), nearest_gbd_year(1985)
    (2016, 2013, 1990)
    """
    return int(min(max(year, years[0]), years[1]))


def _gbd_rate(gbd: pd.DataFrame, measure: str, age: str, sex: str, year: int) -> pd.Series:
    sel = gbd[(gbd["measure"] == measure) & (gbd["metric"] == "rate") & (gbd["age"] == age)
              & (gbd["sex"] == sex) & (gbd["year"] == year)]
    s = sel.set_index("iso3")["value"].astype("float64")
    return s[~s.index.duplicated()]


def age_adjustment_ratio(gbd: pd.DataFrame, year: int, sex: str = "both") -> pd.Series:
    """GBD age-standardised ÷ all-ages prevalence per country, in the GBD year nearest *year*.

    Parameters
    ----------
    gbd
        The tidy GBD table (:func:`geo_ms.ingest.readers.read_gbd_ddf`).
    year
        The year of the rate to adjust (an Atlas edition).
    sex
        ``both`` (Atlas rates are for both sexes).

    Returns
    -------
    pandas.Series
        ISO3 → ratio (> 1 in young populations, < 1 in old ones); countries with an
        all-ages rate of 0 are left out.

    Examples
    --------
    >>> g = pd.DataFrame({"iso3": ["JPN", "JPN", "NGA", "NGA"], "measure": "prevalence",
    ...                   "metric": "rate", "sex": "both", "year": 2016,
    ...                   "age": ["age_standardised", "all_ages"] * 2,
    ...                   "value": [27.21, 36.80, 5.64, 3.74]})
    >>> age_adjustment_ratio(g, 2020).round(4).to_dict()
    {'JPN': 0.7394, 'NGA': 1.508}
    """
    y = nearest_gbd_year(year)
    std = _gbd_rate(gbd, "prevalence", "age_standardised", sex, y)
    crude = _gbd_rate(gbd, "prevalence", "all_ages", sex, y)
    crude = crude[crude > 0]
    ratio = (std / crude).dropna()
    ratio.index.name = "region_id"
    return ratio


def build_outcomes(
    fit: Iterable[str],
    *,
    gbd: pd.DataFrame | None,
    atlas: Mapping[int, pd.DataFrame],
    gbd_year: int = 2016,
    gbd_age: str = "age_standardised",
    gbd_sex: str = "both",
) -> OutcomeTables:
    """Form the ``ms_<id>`` columns of the outcomes in *fit* from loaded tables.

    Parameters
    ----------
    fit
        Outcome ids (keys of :data:`~geo_ms.ingest.outcomes.OUTCOMES`).
    gbd
        The tidy GBD 2016 table with prevalence and incidence rates, or None when GBD is
        not available (its outcomes and the adjusted Atlas rates are then skipped).
    atlas
        Edition year → the Atlas reader's table (editions not given are skipped).
    gbd_year, gbd_age, gbd_sex
        The configured GBD prevalence (``[prevalence]`` year, age, sex).

    Returns
    -------
    OutcomeTables

    Examples
    --------
    >>> g = pd.DataFrame({"iso3": ["NOR"] * 3, "measure": ["prevalence"] * 2 + ["incidence"],
    ...                   "metric": "rate", "sex": "both", "year": 2016,
    ...                   "age": ["age_standardised", "all_ages", "age_standardised"],
    ...                   "value": [160.0, 200.0, 8.0]})
    >>> a = {2020: pd.DataFrame({"region_id": ["NOR", "XKX"], "region_name": ["Norway", "Kosovo"],
    ...                          "prevalence_per_100k": [250.0, 50.0]})}
    >>> out = build_outcomes(["gbd2016_prev", "gbd2016_inc", "atlas2020", "atlas2020_adj"],
    ...                      gbd=g, atlas=a)
    >>> out.wide.set_index("region_id").loc["NOR"].tolist()
    [160.0, 8.0, 250.0, 200.0]
    >>> out.atlas["note"].iloc[-1][:22]
    'no GBD 2016 age struct'
    """
    fit = list(dict.fromkeys(fit))
    columns: dict[str, pd.Series] = {}
    long_parts: list[pd.DataFrame] = []
    skipped: dict[str, str] = {}
    for oid in fit:
        spec = OUTCOMES[oid]
        if spec.source == "gbd2016_ms":
            if gbd is None:
                skipped[oid] = "GBD 2016 is not available"
                continue
            if spec.measure == "prevalence":
                s = _gbd_rate(gbd, "prevalence", gbd_age, gbd_sex, gbd_year)
            else:
                s = _gbd_rate(gbd, "incidence", "age_standardised", gbd_sex, gbd_year)
            columns[oid] = s
            continue
        year = int(spec.source.rsplit("_", 1)[1])
        table = atlas.get(year)
        if table is None:
            skipped[oid] = f"the Atlas of MS {year} is not available"
            continue
        rows = table[table["prevalence_per_100k"].notna()]
        crude = rows.set_index("region_id")["prevalence_per_100k"].astype("float64")
        names = rows.set_index("region_id")["region_name"]
        note = pd.Series("", index=crude.index)
        if spec.age_adjusted:
            if gbd is None:
                skipped[oid] = "GBD 2016 (needed for the age adjustment) is not available"
                continue
            ratio = age_adjustment_ratio(gbd, year)
            value = crude * ratio.reindex(crude.index)
            note = note.where(value.notna(), _NO_RATIO)
        else:
            value = crude
        # log prevalence is modelled: a value <= 0 is dropped from this outcome (one row,
        # with its reason in outcomes_missing.csv), not the whole outcome
        bad = value.notna() & (value <= 0)
        note = note.where(~bad, _NOT_POSITIVE)
        value = value.where(~bad)
        columns[oid] = value.dropna()
        long_parts.append(pd.DataFrame({"outcome": oid, "region_id": crude.index,
                                        "region_name": names.to_numpy(),
                                        "value": value.to_numpy(), "note": note.to_numpy()}))
    ids = sorted(set().union(*(s.index for s in columns.values()))) if columns else []
    wide = pd.DataFrame({"region_id": pd.Series(ids, dtype=str)})
    for oid, s in columns.items():
        wide[outcome_column(oid)] = s.reindex(ids).to_numpy(dtype="float64")
    atlas_long = (pd.concat(long_parts, ignore_index=True) if long_parts else
                  pd.DataFrame(columns=["outcome", "region_id", "region_name", "value", "note"]))
    return OutcomeTables(wide, atlas_long, skipped)


def outcome_datasets(fit: Iterable[str]) -> list[str]:
    """Catalog ids the outcomes in *fit* read (GBD also for the age adjustment).

    >>> outcome_datasets(["atlas2013_adj", "atlas2020"])
    ['atlas_ms_2013', 'gbd2016_ms', 'atlas_ms_2020']
    """
    out: list[str] = []
    for oid in fit:
        spec = OUTCOMES[oid]
        out.append(spec.source)
        if spec.age_adjusted and spec.source != "gbd2016_ms":
            out.append("gbd2016_ms")
    return list(dict.fromkeys(out))


def load_outcomes(cfg: dict[str, Any], *, gbd: pd.DataFrame | None = None) -> OutcomeTables:
    """Build the outcome table of a configuration from the cache, the mirror or a download.

    Parameters
    ----------
    cfg
        The run configuration (``outcomes.fit`` and ``[prevalence]`` are read).
    gbd
        An already loaded GBD table with prevalence and incidence (else it is loaded).

    Returns
    -------
    OutcomeTables
        A dataset that cannot be fetched (no mirror, no network) skips its outcomes with
        the reason in ``skipped``.
    """
    from geo_ms.errors import DownloadError
    from geo_ms.ingest import datasets, fetch
    from geo_ms.ingest.readers.atlas import read_atlas

    fit = list(cfg["outcomes"]["fit"])
    needed = outcome_datasets(fit)
    pcfg = cfg["prevalence"]
    if "gbd2016_ms" in needed and gbd is None:
        try:
            gbd = datasets.load_gbd(measures=("prevalence", "incidence"))
        except DownloadError:
            gbd = None
    atlas: dict[int, pd.DataFrame] = {}
    for year, did in ATLAS_DATASETS.items():
        if did not in needed:
            continue
        try:
            path = next(iter(fetch.fetch(did).values()))
        except DownloadError:
            continue
        atlas[year] = read_atlas(path, year)
    return build_outcomes(fit, gbd=gbd, atlas=atlas, gbd_year=nearest_gbd_year(pcfg["year"]),
                          gbd_age=pcfg["age"], gbd_sex=pcfg["sex"])
