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
from typing import Any, NamedTuple

from geo_ms.errors import ConfigError

__all__ = ["CHOICES", "PATH_KEYS", "RANGES", "RANGE_EXTRA", "RUN_NAME", "Range",
           "check_for_run", "claim_exposures", "config_hash", "default_config", "load_config",
           "plan"]

#: Allowed values of the keys that take one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {
    "run.sample": ("auto", "always", "never"),
    "prevalence.source": ("gbd2016", "gbd_results", "user"),
    "prevalence.age": ("age_standardised", "all_ages"),
    "prevalence.sex": ("both", "male", "female"),
    "regions.set": ("countries", "admin1", "polygons"),
    "primary.subset": ("all", "europe", "abs_lat_gt_35"),
}

def _num(x: float) -> str:
    """``100000`` → ``100,000``; years and small numbers as they are (``1990``, ``0.5``)."""
    if float(x).is_integer():
        return f"{int(x):,}" if abs(x) >= 10_000 else f"{int(x)}"
    return f"{x:g}"


class Range(NamedTuple):
    """The valid range of a numeric key (see :data:`RANGES`).

    ``lo``/``hi`` are the bounds (None: unbounded), inclusive unless ``lo_open`` /
    ``hi_open``; ``below``/``above`` are the closest sensible values the error's hint
    proposes for a value under/over the range (default: the bound itself, for open
    bounds the bound ± 1 for integers); ``why`` says what the key means.

    >>> Range(0, 1, lo_open=True).contains(1.0), Range(0, 1, lo_open=True).contains(0.0)
    (True, False)
    >>> Range(100, 100_000).closest(10**9)
    100000
    """

    lo: float | None
    hi: float | None
    why: str = ""
    lo_open: bool = False
    hi_open: bool = False
    below: float | None = None
    above: float | None = None

    def contains(self, v: float) -> bool:
        """Whether *v* is in the range."""
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        return not (self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)))

    def span(self) -> str:
        """The range in words: ``between 100 and 100,000``, ``above 0 and at most 1`` …"""
        lo = None if self.lo is None else _num(self.lo)
        hi = None if self.hi is None else _num(self.hi)
        if lo is not None and hi is not None:
            if self.lo_open and self.hi_open:
                return f"strictly between {lo} and {hi}"
            if self.lo_open:
                return f"above {lo} and at most {hi}"
            if self.hi_open:
                return f"at least {lo} and below {hi}"
            return f"between {lo} and {hi}"
        if lo is not None:
            return f"above {lo}" if self.lo_open else f"at least {lo}"
        return f"below {hi}" if self.hi_open else f"at most {hi}"

    def closest(self, v: float) -> float:
        """The closest sensible valid value to *v* (for the error's hint)."""
        integer = isinstance(v, int)
        if self.lo is not None and v <= self.lo:
            if self.below is not None:
                return self.below
            return self.lo + (1 if integer else 0) if self.lo_open else self.lo
        if self.above is not None:
            return self.above
        assert self.hi is not None
        return self.hi - (1 if integer else 0) if self.hi_open else self.hi


#: Valid ranges of numeric keys, checked when the configuration is loaded. To add a
#: key, add a row; a value outside gets one line naming the range and a hint with the
#: closest sensible value.
RANGES: dict[str, Range] = {
    "prevalence.year": Range(1950, 2030, "the year of the MS values (GBD 2016: 1990-2016)"),
    "prevalence.compare_year": Range(1950, 2030, "0 = no comparison year", below=0),
    "exposures.min_valid_fraction": Range(
        0.0, 1.0, "share of a region's area that valid cells must cover", lo_open=True,
        below=0.5),
    "models.n_boot": Range(100, 100_000, "bootstrap resamples: 2,000 is plenty"),
    "models.seed": Range(0, 2**32 - 1, "any seed of numpy's random generator"),
    "models.knn": Range(1, None, "neighbours of each region in the spatial weights"),
    "models.min_subset": Range(3, None, "regions a subset needs to be fitted"),
    "models.min_regions": Range(3, None, "regions a prevalence table must match"),
    "models.sesoi_r": Range(0.0, 1.0, "the smallest correlation of interest; Cohen's "
                            "small is 0.1", lo_open=True, hi_open=True, below=0.1, above=0.5),
    "models.sesoi_pct_per10": Range(0.0, 100.0, "smallest % change per 10 points of cloud "
                                    "cover", lo_open=True, hi_open=True, below=5.0, above=50.0),
    "covariates.migrant_stock_year": Range(1990, 2020, "a year of UN DESA International "
                                           "Migrant Stock 2020: 1990, 1995, ..., 2020"),
    "models.max_vif": Range(1.0, None, "variance inflation factor above which an exposure's effect is not identifiable between regions"),
    "outcomes.min_plausible_per_100k": Range(
        0.0, None, "reported MS rate per 100,000 below which a value is set aside as "
                   "implausible (0 = keep every value > 0)"),
    "report.workers": Range(0, 64, "worker processes drawing the figures; 0 = one per core"),
    "models.spatial_ml_max_n": Range(0, None, "regions above which the ML spatial error/lag "
                                     "models are skipped (their variance inverts an n x n matrix)"),
}

#: Values some range-checked keys take besides their range (``0`` = off).
RANGE_EXTRA: dict[str, tuple[float, ...]] = {"prevalence.compare_year": (0,)}

#: A dask.distributed scheduler address: optional tcp/tls scheme, host, numeric port.
SCHEDULER = re.compile(r"((tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                       r":(6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})")

#: A run name: one path component of letters, digits, '.', '_' and '-' (reports/<name>/).
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


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
    if key == "exposures.user":
        from geo_ms.ingest.user_rasters import check_entries

        value = check_entries(value, where)
    if key in RANGES and value not in RANGE_EXTRA.get(key, ()):
        rng = RANGES[key]
        if not rng.contains(value):
            extra = " or ".join(_num(x) for x in RANGE_EXTRA.get(key, ()))
            raise ConfigError(
                f"{where}: key '{key}' = {value!r} is out of range (must be {rng.span()}"
                + (f", or {extra}" if extra else "") + ")",
                hint=f"Use {key} = {json.dumps(rng.closest(value))}"
                + (f" ({rng.why})" if rng.why else ""),
            )
    if key == "exposures.cru_ts_years":
        _check_year_window(key, value, where)
    if key == "run.name":
        _check_run_name(value, where)
    if key == "compute.scheduler" and value.strip() and not SCHEDULER.fullmatch(value.strip()):
        raise ConfigError(
            f"{where}: key 'compute.scheduler' = {value!r} is not a scheduler address "
            "([tcp|tls]://host:port)",
            hint="Write it like tcp://127.0.0.1:8786 (the address 'dask scheduler' prints), "
                 "or leave it empty to use a local cluster")
    if key in CHOICES and value not in CHOICES[key]:
        close = difflib.get_close_matches(str(value), CHOICES[key], n=1)
        sugg = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"{where}: key '{key}' = {value!r} is not one of {', '.join(CHOICES[key])}.{sugg}",
            hint=f"Use one of: {', '.join(CHOICES[key])}",
        )
    return value


def _check_year_window(key: str, years: list[Any], where: str) -> None:
    """A ``[first, last]`` pair of whole years within CRU TS 4.08 (1901-2023)."""
    ok = (len(years) == 2 and all(isinstance(y, int) and not isinstance(y, bool)
                                  for y in years))
    if ok and 1901 <= years[0] <= years[1] <= 2023:
        return
    raise ConfigError(
        f"{where}: key '{key}' = {years!r} is not a [first, last] year window within "
        "1901-2023", hint=f"Use {key} = [1961, 1990] (CRU TS 4.08 covers 1901-2023)")


def _check_run_name(name: str, where: str) -> None:
    """One path component of safe characters, and not ``latest`` (the link to the newest).

    >>> _check_run_name("default-2", "cfg")
    >>> _check_run_name("../x", "cfg")
    Traceback (most recent call last):
    ...
    geo_ms.errors.ConfigError: cfg: run name '../x' is not one folder name of letters, digits, '.', '_' and '-'
    """
    if name == "latest" or name.startswith("latest-") or name in (".", ".."):
        raise ConfigError(f"{where}: run name {name!r} is reserved (reports/latest points at "
                          "the newest run)", hint="Choose another name, e.g. --name run1")
    if not RUN_NAME.fullmatch(name) or set(name) == {"."}:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")[:100] or "run1"
        raise ConfigError(
            f"{where}: run name {name!r} is not one folder name of letters, digits, '.', '_' "
            "and '-'", hint=f"Use e.g. --name {safe} (reports/<name>/ holds the report)")


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
        if section in ("claims", "robustness") and section not in base:
            raise ConfigError(f"{where}: the plan ([[claims]], [robustness]) is set in a "
                              "configuration file, not here",
                              hint="Write the [[claims]] entries in a TOML file and pass "
                                   "--config FILE")
        if section not in base:
            close = difflib.get_close_matches(section, list(base), n=1)
            sugg = f" (did you mean '[{close[0]}]'?)" if close else ""
            raise ConfigError(
                f"{where}: unknown section '[{section}]'{sugg}",
                hint=f"Valid sections: {', '.join('[' + s + ']' for s in base)}, "
                     "[[claims]], [robustness]",
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
        if dotted == "exposures.population_raster" and value and _is_catalog_id(value):
            continue  # a catalog id, not a path
        if value and not Path(value).is_absolute():
            cfg[section][key] = str((folder / value).resolve())
    value = user.get("report", {}).get("notebooks")  # a folder, not a file: not in PATH_KEYS
    if value and not Path(value).is_absolute():
        cfg["report"]["notebooks"] = str((folder / value).resolve())
    if "user" in user.get("exposures", {}):  # [[exposures.user]] rasters
        for entry in cfg["exposures"]["user"]:
            if not Path(entry["path"]).is_absolute():
                entry["path"] = str((folder / entry["path"]).resolve())


def _kind(p: Path) -> str:
    import stat

    mode = p.stat().st_mode
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISBLK(mode)
            or stat.S_ISCHR(mode) else "not a regular file")


def _check_path_kinds(cfg: dict[str, Any], where: str) -> None:
    """Refuse a path key naming something other than a regular file (a FIFO would block
    the run forever, a folder or device gives an obscure error). Missing files are left
    to the reader of each file, which names the key."""
    for dotted in PATH_KEYS:
        section, _, key = dotted.partition(".")
        value = cfg.get(section, {}).get(key)
        for v in value if isinstance(value, list) else [value]:
            if not v:
                continue
            p = Path(v)
            if p.exists() and not p.is_file():
                raise ConfigError(
                    f"{where}: key '{dotted}' = '{p}' is {_kind(p)}, not a regular file",
                    hint=f"Give {dotted} the path of a file (a copy on disk, not a pipe or "
                         "folder)")


def _is_catalog_id(value: str) -> bool:
    from geo_ms.ingest.catalog import load_catalog

    return value in load_catalog()


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

    Returns
    -------
    dict
        Nested dicts of the keys, plus the analysis plan as plain data: the merged
        ``[[claims]]`` entries (``cfg["claims"]``), ``cfg["robustness"]`` and
        ``cfg["plan"]`` = ``{"hash", "added", "replaced"}``; :func:`plan` gives the
        :class:`~geo_ms.models.plan.Plan`.

    Raises
    ------
    ConfigError
        Unreadable file, unknown section or key, or a value of the wrong type; a
        ``[[claims]]`` entry with an unknown key or naming a column no run produces.
    """
    cfg = default_config()
    plan_parts = (cfg.pop("claims", []), cfg.pop("robustness", {}), None, None)
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
        plan_parts = (*plan_parts[:2], user.pop("claims", None), user.pop("robustness", None))
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
    _check_path_kinds(cfg, where)
    if cfg["report"]["notebooks"]:
        from geo_ms.report.notebooks import check_notebooks

        check_notebooks(cfg["report"]["notebooks"], where)
    _check_primary(cfg, where)
    _check_user_columns(cfg, where)
    _attach_plan(cfg, plan_parts, where)
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
    fit = cfg["outcomes"]["fit"]
    # gbd2016_prev is the [prevalence] table itself (prevalence_per_100k), always joined
    if outcome != "gbd2016_prev" and outcome not in fit:
        raise ConfigError(
            f"{where}: key 'primary.outcome' = {outcome!r} is not fitted (not in outcomes.fit)",
            hint=f"Add {outcome!r} to [outcomes] fit, or choose a fitted outcome"
                 + (f": {', '.join(fit)}" if fit else ""))
    if not isinstance(cfg["models"]["extra_covariates"], list) or not all(
            isinstance(c, str) for c in cfg["models"]["extra_covariates"]):
        raise ConfigError(f"{where}: key 'models.extra_covariates' must be a list of column "
                          "names", hint='Write it like: extra_covariates = ["neurologists"]')
    if cfg["models"]["extra_covariates"] and not cfg["models"]["covariates_file"]:
        raise ConfigError(
            f"{where}: 'models.extra_covariates' is set but 'models.covariates_file' is empty",
            hint="Give the covariate table with models.covariates_file = \"FILE.csv\"")


def _attach_plan(cfg: dict[str, Any], parts: tuple[Any, Any, Any, Any], where: str) -> None:
    """Merge the user's ``[[claims]]``/``[robustness]`` into the default plan, check its
    columns against those a run can produce, and store it back as plain data:
    ``cfg["claims"]``, ``cfg["robustness"]`` (complete entries) and ``cfg["plan"]``
    (hash, added and replaced ids). :func:`plan` gives the
    :class:`~geo_ms.models.plan.Plan` object.

    The columns are checked only when a user file declares claims (the default
    plan's columns are checked by ``tests/test_plan.py``), so that the exposure
    registry and xarray are imported only then."""
    from geo_ms.models.plan import KNOWN_COVARIATES, build_plan, sesoi_defaults

    the_plan = build_plan(parts[0], parts[1], parts[2], parts[3], where=where,
                          sesoi_defaults=sesoi_defaults(cfg["models"]))
    if parts[2] is not None:
        from geo_ms.exposures.compute import exposure_columns

        the_plan.check_columns({*exposure_columns(cfg["exposures"]), *KNOWN_COVARIATES,
                                *cfg["models"]["extra_covariates"]}, where)
    cfg["claims"], cfg["robustness"] = the_plan.to_config()
    cfg["plan"] = {"hash": the_plan.hash, "added": list(the_plan.added),
                   "replaced": list(the_plan.replaced)}


def plan(cfg: dict[str, Any]) -> Any:
    """The analysis plan (:class:`geo_ms.models.plan.Plan`) of a loaded configuration.

    >>> p = plan(load_config())
    >>> p.ids[:3], p.hash == load_config()["plan"]["hash"]
    (('C1', 'C2', 'C2-adj'), True)
    """
    from geo_ms.models.plan import plan_from_config

    return plan_from_config(cfg)


def _check_user_columns(cfg: dict[str, Any], where: str) -> None:
    """Refuse a ``[[exposures.user]]`` id whose columns would collide with existing ones."""
    entries = cfg["exposures"].get("user") or []
    if not entries:
        return
    from geo_ms.exposures.compute import reserved_columns, user_columns

    taken = reserved_columns()
    for e in entries:
        mine = user_columns(e["id"], monthly=e["bands"] == "months")
        clash = sorted(c for c in mine
                       if c in taken or c.startswith(("prevalence_", "ms_")))
        if clash:
            what = ("is already a column" if e["id"] in clash
                    else f"would give column(s) {', '.join(clash)}, already taken")
            raise ConfigError(
                f"{where}: [[exposures.user]] id = {e['id']!r} {what}",
                hint=f"Choose another id, e.g. \"{e['id']}_user\" (ids become columns of "
                     "exposures.csv and the analysis table)")
        taken = taken | mine  # the next user raster may not take these either


def check_for_run(cfg: dict[str, Any], where: str = "configuration") -> None:
    """Refuse combinations a full run cannot work with (prevalence vs region set).

    Raises
    ------
    ConfigError
        Sub-national regions with a national MS table, a user source without a file, or
        a claim's exposure whose product the configuration switches off.
    """
    rset, source = cfg["regions"]["set"], cfg["prevalence"]["source"]
    if rset != "countries" and source != "user":
        raise ConfigError(
            f"{where}: regions.set = '{rset}' needs a sub-national MS table, but "
            f"prevalence.source = '{source}' is national",
            hint="Give your table with --prevalence FILE (region_id = the polygons' ids, "
                 "ISO 3166-2 for admin1), or use regions.set = 'countries'")
    _check_primary_exposures(cfg, where)
    if source in ("user", "gbd_results") and not cfg["prevalence"]["file"]:
        raise ConfigError(
            f"{where}: prevalence.source = '{source}' but prevalence.file is empty",
            hint="Give the table with --prevalence FILE (or --gbd-results FILE)")


def claim_exposures(cfg: dict[str, Any]) -> tuple[str, str]:
    """The cloud and UV exposure columns of the run: C1's and C2's ``exposure`` in the
    plan (one configuration home: the ``[[claims]]`` entries). C3 and C2-adj name their
    own, by default the same columns.

    >>> claim_exposures(load_config())
    ('cloud_cover_pct', 'uv_index')
    """
    the_plan = plan(cfg)
    return the_plan.claim("C1").exposure, the_plan.claim("C2").exposure


def _check_primary_exposures(cfg: dict[str, Any], where: str) -> None:
    """Refuse a claim's built-in exposure whose product the configuration switches off:
    a missing exposure is never replaced. Columns geo_ms does not make (a user raster, a
    covariate) are checked against the table when the claims are run."""
    from geo_ms.exposures.aggregate import EXPOSURES

    e = cfg["exposures"]
    on = set(e["cloud"]) | set(e["uv"]) | set(e["solar"])
    made = {s.base: s for s in EXPOSURES}
    suffix = re.compile(r"(_mainterr)?(_winter|_summer|_m(0[1-9]|1[0-2]))?(_popw)?(_mainterr)?$")
    for claim in plan(cfg).claims:
        if not claim.testable:
            continue
        for key, col in (("exposure", claim.exposure), ("clear_sky", claim.clear_sky)):
            spec = made.get(suffix.sub("", col)) if col else None
            if spec is None:
                continue
            off = [d for d in spec.datasets if d not in on]
            if off:
                raise ConfigError(
                    f"{where}: [[claims]] entry '{claim.id}': {key} {col!r} needs product(s) "
                    f"{', '.join(off)}, which [exposures] does not switch on",
                    hint=f"Add {', '.join(off)} to [exposures] {spec.kind}, or give the claim "
                         "an exposure of the products you use")


def config_hash(cfg: dict[str, Any], sections: tuple[str, ...] | None = None) -> str:
    """A short stable hash of the configuration (or of some sections).

    >>> config_hash({"a": {"x": 1}}) == config_hash({"a": {"x": 1}})
    True
    """
    part = cfg if sections is None else {s: cfg.get(s) for s in sections}
    blob = json.dumps(part, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


