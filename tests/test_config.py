"""The analysis configuration: defaults, overrides, refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geo_ms.config import check_for_run, config_hash, default_config, load_config
from geo_ms.errors import ConfigError


def test_defaults_are_the_documented_analysis():
    cfg = default_config()
    assert cfg["prevalence"]["source"] == "gbd2016"
    assert cfg["prevalence"]["year"] == 2016
    assert cfg["prevalence"]["age"] == "age_standardised"
    assert cfg["regions"]["set"] == "countries"
    assert cfg["exposures"]["cloud"][0] == "cru_cl1_cloud"
    assert cfg["exposures"]["uv"][0] == "neo_uvi_clim"


def test_user_file_overrides_some_keys(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[prevalence]\nyear = 2000\nsex = "female"\n')
    cfg = load_config(p)
    assert cfg["prevalence"]["year"] == 2000
    assert cfg["prevalence"]["sex"] == "female"
    assert cfg["prevalence"]["age"] == "age_standardised"  # untouched default


def test_unknown_key_named_with_closest_valid_key(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[prevalence]\nyeer = 2000\n")
    with pytest.raises(ConfigError, match=r"unknown key 'prevalence\.yeer' \(did you mean 'prevalence\.year'\?\)"):
        load_config(p)


def test_unknown_section(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[model]\nknn = 4\n")
    with pytest.raises(ConfigError, match=r"unknown section '\[model\]' \(did you mean '\[models\]'\?\)"):
        load_config(p)


def test_wrong_type_names_key_and_expected_type(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[prevalence]\nyear = "2016"\n')
    with pytest.raises(ConfigError, match=r"key 'prevalence\.year' must be an integer, got '2016'"):
        load_config(p)


def test_bad_choice_suggests(tmp_path):
    with pytest.raises(ConfigError, match=r"'regions\.set' = 'country' is not one of .* Did you mean 'countries'\?"):
        load_config(overrides={"regions.set": "country"})


def test_invalid_toml(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[run\nname = x\n")
    with pytest.raises(ConfigError, match=r"c\.toml: not valid TOML"):
        load_config(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"configuration file not found"):
        load_config(tmp_path / "nope.toml")


def test_hash_changes_with_one_option():
    a = load_config()
    b = load_config(overrides={"models.knn": 5})
    assert config_hash(a, ("prevalence",)) == config_hash(b, ("prevalence",))
    assert config_hash(a, ("models",)) != config_hash(b, ("models",))


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "examples").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_example_configurations_are_valid(path):
    cfg = load_config(path)
    assert cfg["run"]["name"] == path.stem.replace("_", "-")


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "c.toml"
    p.write_text('[prevalence]\nsource = "user"\nfile = "../tables/prev.csv"\n')
    cfg = load_config(p)
    assert cfg["prevalence"]["file"] == str((tmp_path / "tables" / "prev.csv").resolve())
    # Paths given on the command line stay as given (relative to the current folder).
    cfg = load_config(overrides={"prevalence.file": "x.csv"})
    assert cfg["prevalence"]["file"] == "x.csv"


def test_subnational_regions_need_a_user_table():
    with pytest.raises(ConfigError, match=r"regions.set = 'admin1' needs a sub-national MS "
                                          r"table, but prevalence.source = 'gbd2016' is national"):
        check_for_run(load_config(overrides={"regions.set": "admin1"}))
    cfg = load_config(overrides={"regions.set": "admin1", "prevalence.source": "user",
                                 "prevalence.file": "states.csv"})
    check_for_run(cfg)  # fine


def test_user_source_needs_a_file():
    with pytest.raises(ConfigError, match=r"prevalence.source = 'user' but prevalence.file is "
                                          r"empty"):
        check_for_run(load_config(overrides={"prevalence.source": "user"}))


def test_polygons_need_a_file():
    with pytest.raises(ConfigError, match=r"regions.set = 'polygons' but regions.file is empty"):
        load_config(overrides={"regions.set": "polygons", "prevalence.source": "user",
                               "prevalence.file": "x.csv"})


def test_windows_are_checked():
    cfg = load_config(overrides={"exposures.windows": ["annual", "m07"]})
    assert cfg["exposures"]["windows"] == ["annual", "m07"]
    with pytest.raises(ConfigError, match=r"'exposures.windows' has unknown window\(s\) "
                                          r"\['july', 'm13'\]"):
        load_config(overrides={"exposures.windows": ["annual", "july", "m13"]})


def test_min_valid_fraction_and_min_regions_defaults_and_ranges():
    cfg = load_config()
    assert cfg["exposures"]["min_valid_fraction"] == 0.5
    assert cfg["models"]["min_regions"] == 10
    assert load_config(overrides={"exposures.min_valid_fraction": 1})["exposures"][
        "min_valid_fraction"] == 1.0
    with pytest.raises(ConfigError, match=r"^command line: key 'exposures\.min_valid_fraction' = "
                       r"1\.5 is out of range \(must be above 0 and at most 1\)$"):
        load_config(overrides={"exposures.min_valid_fraction": 1.5})
    with pytest.raises(ConfigError, match=r"key 'models\.min_regions' = 2 is out of range "
                       r"\(must be at least 3\)$"):
        load_config(overrides={"models.min_regions": 2})


@pytest.mark.parametrize(("key", "value", "span", "closest"), [
    ("models.sesoi_r", 2.0, "strictly between 0 and 1", "0.5"),
    ("models.sesoi_r", 0.0, "strictly between 0 and 1", "0.1"),
    ("models.n_boot", 0, "between 100 and 100,000", "100"),
    ("models.n_boot", 10**9, "between 100 and 100,000", "100000"),
    ("models.knn", 0, "at least 1", "1"),
    ("models.min_subset", 1, "at least 3", "3"),
    ("models.seed", -1, "between 0 and 4,294,967,295", "0"),
    ("models.sesoi_pct_per10", -5.0, "strictly between 0 and 100", "5.0"),
    ("exposures.min_valid_fraction", 0.0, "above 0 and at most 1", "0.5"),
    ("prevalence.year", 3000, "between 1950 and 2030", "2030"),
    ("prevalence.compare_year", 5, "between 1950 and 2030, or 0", "0"),
])
def test_numeric_keys_out_of_range_are_refused_with_the_closest_value(
        key: str, value: float, span: str, closest: str) -> None:
    with pytest.raises(ConfigError, match=rf"^command line: key '{re.escape(key)}' = "
                       rf"{re.escape(repr(value))} is out of range \({re.escape(span)}\)$".replace(
                           r"\(", r"\(must be ", 1)) as info:
        load_config(overrides={key: value})
    assert info.value.hint.startswith(f"Use {key} = {closest} (")


def test_every_numeric_key_has_a_range() -> None:
    from geo_ms.config import RANGES, default_config

    # [[claims]] entries are checked by the plan (geo_ms/models/plan.py), not by RANGES
    numeric = {f"{s}.{k}" for s, body in default_config().items() if isinstance(body, dict)
               for k, v in body.items()
               if isinstance(v, int | float) and not isinstance(v, bool)}
    assert numeric - set(RANGES) == set()
    assert load_config(overrides={"prevalence.compare_year": 0})["prevalence"][
        "compare_year"] == 0


def test_cru_ts_year_window_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"'exposures\.cru_ts_years' = \[1990, 1961\] is not a "
                       r"\[first, last\] year window within 1901-2023$"):
        load_config(overrides={"exposures.cru_ts_years": [1990, 1961]})


@pytest.mark.parametrize("name", ["../../escaped_run", "latest", "", "a/b", ".", "..",
                                  "-rf", "x" * 101, "run name", "r\u00e9sum\u00e9"])
def test_unsafe_run_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"^command line: run name .* (is reserved|is not one "
                       r"folder name)"):
        load_config(overrides={"run.name": name})


def test_safe_run_names_are_kept() -> None:
    for name in ("default", "run-2026.12.04", "eu_only", "A1"):
        assert load_config(overrides={"run.name": name})["run"]["name"] == name
