"""The analysis configuration: one TOML file with documented defaults.

The defaults live in ``geo_ms/default_config.toml`` (shipped with the package).
A user file overrides any subset of keys; unknown keys and wrong types are refused
with a :class:`~geo_ms.errors.ConfigError` naming the key, the closest valid key and
the expected type.

>>> cfg = load_config(overrides={"prevalence.year": 2010})
>>> cfg["prevalence"]["year"], cfg["regions"]["set"]
(2010, 'countries')
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from geo_ms.errors import ConfigError

__all__ = ["CHOICES", "PATH_KEYS", "RANGES", "check_for_run", "config_hash", "default_config",
           "load_config"]

#: Allowed values of the keys that take one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {
    "run.sample": ("auto", "always", "never"),
    "prevalence.source": ("gbd2016", "gbd_results", "user"),
    "prevalence.age": ("age_standardised", "all_ages"),
    "prevalence.sex": ("both", "male", "female"),
    "regions.set": ("countries", "admin1", "polygons"),
    "primary.subset": ("all", "europe", "abs_lat_gt_35"),
    "primary.c1_test": ("pearson",),
    "primary.c2_test": ("pearson",),
    "primary.c3_test": ("ols_adj_lat_gdp",),
}

#: Allowed ranges (inclusive; None = open) of numeric keys.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "exposures.min_valid_fraction": (0.0, 1.0),
    "models.min_regions": (3, None),
    "models.spatial_ml_max_n": (0, None),
}


def default_config() -> dict[str, Any]:
    """Return the default configuration as nested dicts (a fresh copy)."""
    text = resources.files("geo_ms").joinpath("default_config.toml").read_text("utf-8")
    return tomllib.loads(text)


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string",
            list: "a list"}.get(type(value), type(value).__name__)


def _check_value(key: str, default: Any, value: Any, where: str) -> Any:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(
            f"{where}: key '{key}' must be {_type_name(default)}, got {value!r}",
            hint=f"Write it like the default: {key} = {json.dumps(default)}",
        )
    if key == "exposures.windows":
        bad = [w for w in value if not re.fullmatch(r"annual|winter|summer|m0[1-9]|m1[0-2]",
                                                    str(w))]
        if bad:
            raise ConfigError(
                f"{where}: key 'exposures.windows' has unknown window(s) {bad}",
                hint="Use annual, winter, summer, or one month as m01 … m12")
    if key == "outcomes.fit":
        _check_outcome_ids(key, value, where)
    if key in RANGES:
        lo, hi = RANGES[key]
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = (f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}")
            raise ConfigError(
                f"{where}: key '{key}' = {value!r} is out of range (must be {span})",
                hint=f"Write it like the default: {key} = {json.dumps(default)}",
            )
    if key in CHOICES and value not in CHOICES[key]:
        close = difflib.get_close_matches(str(value), CHOICES[key], n=1)
        sugg = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"{where}: key '{key}' = {value!r} is not one of {', '.join(CHOICES[key])}.{sugg}",
            hint=f"Use one of: {', '.join(CHOICES[key])}",
        )
    return value


def _check_outcome_ids(key: str, ids: list[Any], where: str) -> None:
    """Refuse outcome ids not in :data:`geo_ms.ingest.outcomes.OUTCOMES`, naming the closest."""
    from geo_ms.ingest.outcomes import OUTCOMES

    for oid in ids:
        if oid not in OUTCOMES:
            close = difflib.get_close_matches(str(oid), list(OUTCOMES), n=1)
            sugg = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{where}: key '{key}' has unknown outcome {oid!r}{sugg}",
                hint=f"Use outcome ids among: {', '.join(OUTCOMES)}")


def _merge(base: dict[str, Any], user: dict[str, Any], where: str) -> None:
    for section, body in user.items():
        if section not in base:
            close = difflib.get_close_matches(section, list(base), n=1)
            sugg = f" (did you mean '[{close[0]}]'?)" if close else ""
            raise ConfigError(
                f"{where}: unknown section '[{section}]'{sugg}",
                hint=f"Valid sections: {', '.join('[' + s + ']' for s in base)}",
            )
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: '{section}' must be a [section] table, got {body!r}",
                              hint=f"Write it as [{section}] followed by key = value lines")
        for key, value in body.items():
            full = f"{section}.{key}"
            if key not in base[section]:
                valid = [f"{section}.{k}" for k in base[section]]
                close = difflib.get_close_matches(full, valid, n=1, cutoff=0.5)
                sugg = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(
                    f"{where}: unknown key '{full}'{sugg}",
                    hint=f"Valid keys in [{section}]: {', '.join(base[section])}",
                )
            base[section][key] = _check_value(full, base[section][key], value, where)


#: Keys holding file paths: relative paths in a configuration file are taken relative to
#: that file's folder (on the command line, relative to the current folder).
PATH_KEYS: tuple[str, ...] = ("prevalence.file", "prevalence.compare_table", "regions.file",
                              "exposures.population_raster", "models.covariates_file")


def _resolve_paths(cfg: dict[str, Any], user: dict[str, Any], folder: Path) -> None:
    for dotted in PATH_KEYS:
        section, key = dotted.split(".")
        value = user.get(section, {}).get(key)
        if value and not Path(value).is_absolute():
            cfg[section][key] = str((folder / value).resolve())


def load_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Load the defaults, then *path* (TOML), then dotted *overrides*.

    Parameters
    ----------
    path
        A TOML file with any subset of the keys of ``default_config.toml``; relative
        file paths in it (:data:`PATH_KEYS`) are relative to its folder.
    overrides
        ``{"section.key": value}`` pairs, e.g. from command-line flags.

    Raises
    ------
    ConfigError
        Unreadable file, unknown section or key, or a value of the wrong type.
    """
    cfg = default_config()
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: configuration file not found",
                              hint="Check the path, or run without --config to use the defaults")
        try:
            user = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML ({exc})",
                              hint="Fix the syntax; every value needs quotes unless a number, "
                                   "true/false or a [list]") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{p}: not a UTF-8 text file",
                              hint="Save the configuration as UTF-8 TOML") from None
        _merge(cfg, user, str(p))
        _resolve_paths(cfg, user, p.parent)
    if overrides:
        nested: dict[str, dict[str, Any]] = {}
        for dotted, value in overrides.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            nested.setdefault(section, {})[key] = value
        _merge(cfg, nested, "command line")
    where = str(path) if path is not None else "configuration"
    _check_primary(cfg, where)
    if cfg["regions"]["set"] == "polygons" and not cfg["regions"]["file"]:
        raise ConfigError(
            f"{where}: regions.set = 'polygons' but regions.file is empty",
            hint="Give the polygon file with --regions-file FILE and its id column with "
                 "--id-column")
    return cfg


def _check_primary(cfg: dict[str, Any], where: str) -> None:
    """The primary analysis names a known outcome, consistent with [outcomes]."""
    from geo_ms.ingest.outcomes import OUTCOMES

    outcome = cfg["primary"]["outcome"]
    if outcome not in OUTCOMES:
        close = difflib.get_close_matches(outcome, list(OUTCOMES), n=1)
        sugg = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"{where}: key 'primary.outcome' = {outcome!r} is not a known outcome.{sugg}",
            hint=f"Use one of: {', '.join(OUTCOMES)}")
    if not isinstance(cfg["models"]["extra_covariates"], list) or not all(
            isinstance(c, str) for c in cfg["models"]["extra_covariates"]):
        raise ConfigError(f"{where}: key 'models.extra_covariates' must be a list of column "
                          "names", hint='Write it like: extra_covariates = ["neurologists"]')
    if cfg["models"]["extra_covariates"] and not cfg["models"]["covariates_file"]:
        raise ConfigError(
            f"{where}: 'models.extra_covariates' is set but 'models.covariates_file' is empty",
            hint="Give the covariate table with models.covariates_file = \"FILE.csv\"")


def check_for_run(cfg: dict[str, Any], where: str = "configuration") -> None:
    """Refuse combinations a full run cannot work with (prevalence vs region set).

    Raises
    ------
    ConfigError
        Sub-national regions with a national MS table, or a user source without a file.
    """
    rset, source = cfg["regions"]["set"], cfg["prevalence"]["source"]
    if rset != "countries" and source != "user":
        raise ConfigError(
            f"{where}: regions.set = '{rset}' needs a sub-national MS table, but "
            f"prevalence.source = '{source}' is national",
            hint="Give your table with --prevalence FILE (region_id = the polygons' ids, "
                 "ISO 3166-2 for admin1), or use regions.set = 'countries'")
    if source in ("user", "gbd_results") and not cfg["prevalence"]["file"]:
        raise ConfigError(
            f"{where}: prevalence.source = '{source}' but prevalence.file is empty",
            hint="Give the table with --prevalence FILE (or --gbd-results FILE)")


def config_hash(cfg: dict[str, Any], sections: tuple[str, ...] | None = None) -> str:
    """A short stable hash of the configuration (or of some sections).

    >>> config_hash({"a": {"x": 1}}) == config_hash({"a": {"x": 1}})
    True
    """
    part = cfg if sections is None else {s: cfg.get(s) for s in sections}
    blob = json.dumps(part, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


