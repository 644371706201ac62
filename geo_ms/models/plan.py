"""The analysis plan as data: the claims, their tests and the robustness set.

The plan is declared in the configuration, not in code: one ``[[claims]]`` entry per
claim plus a ``[robustness]`` table (``geo_ms/default_config.toml`` holds the default
plan; ``docs/analysis_plan.md`` states it in words with its history and hash).

A ``[[claims]]`` entry has the keys of :data:`CLAIM_KEYS`:

``id``
    Short name (``C1``); an entry of a user file with a built-in id replaces the
    built-in claim, any other id adds a claim.
``text``
    The claim in words, as the report quotes it.
``exposure``
    A column of the exposure / analysis table (``cloud_cover_pct``). For
    ``nested_dose`` the all-sky dose column (its ratio to ``clear_sky`` is the cloud
    factor). Not used by ``not_testable``.
``direction``
    ``positive`` ("more exposure, more MS") or ``negative`` (not needed by
    ``not_testable``).
``test``
    One of :data:`TESTS`.
``adjust``
    Covariate columns of the adjusted tests; default :data:`DEFAULT_ADJUST`
    (|latitude| and log GDP per capita). A ``pearson`` claim has none.
``sesoi``
    Smallest effect of interest δ in the test's units (:data:`SESOI_UNITS`);
    default ``models.sesoi_r`` for r, ``models.sesoi_pct_per10`` for
    ``ols_adjusted``, none for ``nested_dose``.
``subset``
    Regions the claim is judged on (:data:`SUBSETS`), default ``all``.
``outcomes``
    Outcome ids the claim is tested on (``geo_ms.ingest.outcomes.OUTCOMES``);
    default the two co-primary outcomes :data:`CO_PRIMARY`.
``clear_sky``
    ``nested_dose`` only: the clear-sky dose column (default ``vitd_uv_clear``).

``[robustness]`` maps a claim id to the list of members (:data:`MEMBERS`) re-run
under the same verdict rule; a verdict is robust when every member gives it.

The plan hash (:attr:`Plan.hash`) is the sha256 of the canonical form of the
*parsed* plan (:meth:`Plan.canonical`): key order, whitespace, the order of claims,
of adjustment sets and of lists, ``5`` versus ``5.0`` do not change it; any change
of substance does.

>>> plan = default_plan()
>>> [c.id for c in plan.claims][:4]
['C1', 'C2', 'C2-adj', 'C3']
>>> plan.claim("C3").adjust
('abs_latitude', 'log_gdp_per_capita')
>>> len(plan.hash)
64
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from geo_ms.errors import ConfigError
from geo_ms.models._table import _CONTINENTS, LOG_GDP

__all__ = [
    "CLAIM_KEYS",
    "CO_PRIMARY",
    "DEFAULT_ADJUST",
    "DIRECTIONS",
    "KNOWN_COVARIATES",
    "MEMBERS",
    "SESOI_UNITS",
    "SUBSETS",
    "TESTS",
    "Claim",
    "Plan",
    "build_plan",
    "default_plan",
    "parse_claim",
    "plan_from_config",
    "sesoi_defaults",
]

#: Tests a claim can name, with what they estimate.
TESTS: dict[str, str] = {
    "pearson": "Pearson r of log prevalence with the exposure (crude)",
    "partial": "partial r of log prevalence with the exposure given the adjustment set",
    "ols_adjusted": "OLS coefficient of the exposure on log prevalence given the adjustment "
                    "set, as % change in prevalence per 10 units of the exposure",
    "nested_dose": "log prevalence ~ log clear-sky dose + log cloud factor (all-sky / "
                   "clear-sky) + adjustment set; the cloud factor's coefficient",
    "not_testable": "none: regional data cannot test the claim",
}

#: Units of δ (``sesoi``) for each test.
SESOI_UNITS: dict[str, str] = {
    "pearson": "Pearson r",
    "partial": "partial r",
    "ols_adjusted": "% change per 10 units of the exposure",
    "nested_dose": "log-log coefficient (elasticity) of the cloud factor",
    "not_testable": "",
}

#: Claimed directions and their signs.
DIRECTIONS: dict[str, int] = {"positive": 1, "negative": -1}

#: Keys of a ``[[claims]]`` entry.
CLAIM_KEYS: tuple[str, ...] = ("id", "text", "exposure", "direction", "test", "adjust",
                               "sesoi", "subset", "outcomes", "clear_sky")

#: Default adjustment set: |latitude| of the label point and natural log of GDP per capita.
DEFAULT_ADJUST: tuple[str, ...] = ("abs_latitude", LOG_GDP)

#: The two co-primary outcomes: GBD 2016 (modelled, all countries) and the Atlas of
#: MS 2020 (reported, crude).
CO_PRIMARY: tuple[str, ...] = ("gbd2016_prev", "atlas2020")

#: Subsets a claim can be judged on (see :func:`geo_ms.models._table.select_subset`).
SUBSETS: tuple[str, ...] = ("all", "abs_lat_gt_35", *_CONTINENTS)

#: Covariate columns the run provides (or will provide) besides the exposures; an
#: adjustment set may also name ``models.extra_covariates`` and exposure columns.
KNOWN_COVARIATES: tuple[str, ...] = (
    "abs_latitude", "abs_latitude_popw", LOG_GDP, "gdp_per_capita",
    "ancestry_europe_share", "ancestry_north_europe_share",
    "log_health_expenditure_pc", "physicians_per_1000", "migrant_share_pct",
)

#: Robustness members: each re-runs a claim's test on transformed inputs under the
#: same verdict rule.
MEMBERS: dict[str, str] = {
    "common_sample": "the regions with both co-primary outcomes only",
    "subregion_fe": "UN sub-region fixed effects added, standard errors clustered by "
                    "sub-region",
    "spatial_error": "maximum-likelihood spatial error model (spreg, k-nearest-neighbour "
                     "weights)",
    "leave_one_subregion_out": "re-fit leaving out one sub-region at a time: the extreme "
                               "estimates and which removal changes the verdict",
    "popw": "population-weighted exposure and population-weighted |latitude|",
    "ancestry": "+ share of European ancestry (World Migration Matrix) in the adjustment set",
    "low_reported_rates": "reported rates below outcomes.min_plausible_per_100k put back",
    "main_territory": "exposures over each country's main territory (*_mainterr)",
    "health_expenditure": "+ log health expenditure per capita in the adjustment set",
    "migrant_share": "+ international migrant share in the adjustment set",
}

_DEFAULT_CLEAR_SKY = "vitd_uv_clear"
_TOML = "default_config.toml"


def _where_claim(where: str, cid: Any) -> str:
    return f"{where}: [[claims]] entry {cid!r}" if cid else f"{where}: a [[claims]] entry"


def _closest(value: str, valid: Iterable[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(str(value), list(valid), n=1, cutoff=cutoff)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _choice(value: Any, valid: Sequence[str], what: str, key: str) -> str:
    if not isinstance(value, str) or value not in valid:
        raise ConfigError(
            f"{what}: key '{key}' = {value!r} is not one of {', '.join(valid)}"
            f"{_closest(str(value), valid)}",
            hint=f"Use one of: {', '.join(valid)}")
    return value


def _names(value: Any, what: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what}: key '{key}' must be a list of names, got {value!r}",
                          hint=f'Write it like: {key} = ["abs_latitude", "log_gdp_per_capita"]')
    if len(set(value)) != len(value):
        raise ConfigError(f"{what}: key '{key}' names a column twice: {value!r}",
                          hint="Name each column once")
    return tuple(value)


@dataclass(frozen=True)
class Claim:
    """One claim of the plan (a parsed ``[[claims]]`` entry; see the module docstring).

    >>> c = Claim("C1", "MS is more common in cloudier countries", "cloud_cover_pct",
    ...           "positive", "pearson", sesoi=0.1)
    >>> c.sign, c.outcomes, c.testable
    (1, ('gbd2016_prev', 'atlas2020'), True)
    """

    id: str
    text: str
    exposure: str
    direction: str
    test: str
    adjust: tuple[str, ...] = ()
    sesoi: float | None = None
    subset: str = "all"
    outcomes: tuple[str, ...] = CO_PRIMARY
    clear_sky: str = ""

    @property
    def sign(self) -> int:
        """+1 for a ``positive`` claim, -1 for a ``negative`` one."""
        return DIRECTIONS[self.direction]

    @property
    def testable(self) -> bool:
        """False for a ``not_testable`` claim."""
        return self.test != "not_testable"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every table column the claim's test reads (exposure, dose, adjustment set)."""
        if not self.testable:
            return ()
        return tuple(c for c in (self.exposure, self.clear_sky, *self.adjust) if c)

    def canonical(self) -> dict[str, Any]:
        """Plain-data form with sorted sets and normalised text (for the hash).

        >>> Claim("X", " a  b ", "e", "positive", "partial", ("z", "a")).canonical()["adjust"]
        ['a', 'z']
        """
        return {"id": self.id, "text": " ".join(self.text.split()), "exposure": self.exposure,
                "direction": self.direction, "test": self.test,
                "adjust": sorted(self.adjust),
                "sesoi": None if self.sesoi is None else float(self.sesoi),
                "subset": self.subset, "outcomes": sorted(self.outcomes),
                "clear_sky": self.clear_sky}

    def to_config(self) -> dict[str, Any]:
        """The claim as a complete ``[[claims]]`` entry (declared order kept)."""
        out: dict[str, Any] = {"id": self.id, "text": self.text, "exposure": self.exposure,
                               "direction": self.direction, "test": self.test,
                               "adjust": list(self.adjust), "subset": self.subset,
                               "outcomes": list(self.outcomes)}
        if self.sesoi is not None:
            out["sesoi"] = self.sesoi
        if self.clear_sky:
            out["clear_sky"] = self.clear_sky
        return out


def parse_claim(entry: Mapping[str, Any], where: str = "configuration",
                sesoi_defaults: Mapping[str, float | None] | None = None) -> Claim:
    """One ``[[claims]]`` entry → :class:`Claim`, refusing unknown keys and bad values.

    Parameters
    ----------
    entry
        The TOML table of the entry.
    where
        The file the entry comes from (for messages).
    sesoi_defaults
        Test → default δ when the entry has no ``sesoi`` (``models.sesoi_r`` for the
        r tests, ``models.sesoi_pct_per10`` for ``ols_adjusted``).

    Raises
    ------
    ConfigError
        Unknown key (with the closest valid one), missing key, wrong type or value.

    Examples
    --------
    >>> parse_claim({"id": "C9", "text": "t", "exposure": "uv_index",
    ...              "direction": "negative", "test": "partial"}).adjust
    ('abs_latitude', 'log_gdp_per_capita')
    >>> parse_claim({"id": "C9", "text": "t", "exposre": "uv_index",
    ...              "direction": "negative", "test": "partial"})
    Traceback (most recent call last):
    ...
    geo_ms.errors.ConfigError: configuration: [[claims]] entry 'C9': unknown key 'exposre' (did you mean 'exposure'?)
    """
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: a [[claims]] entry must be a table, got {entry!r}",
                          hint='Write each claim as [[claims]] followed by id = "...", '
                               'text = "...", ...')
    cid = entry.get("id")
    what = _where_claim(where, cid)
    for key in entry:
        if key not in CLAIM_KEYS:
            raise ConfigError(f"{what}: unknown key '{key}'{_closest(key, CLAIM_KEYS)}",
                              hint=f"Valid keys of a [[claims]] entry: {', '.join(CLAIM_KEYS)}")
    required = ("id", "text", "test") if entry.get("test") == "not_testable" else \
        ("id", "text", "direction", "test")
    for key in required:
        if key not in entry:
            raise ConfigError(f"{what}: key '{key}' is missing",
                              hint="Every [[claims]] entry needs id, text, exposure, direction "
                                   "and test")
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise ConfigError(f"{what}: key '{key}' must be a non-empty string, got "
                              f"{entry[key]!r}", hint=f'Write it like: {key} = "..."')
    test = _choice(entry["test"], tuple(TESTS), what, "test")
    direction = _choice(entry.get("direction", "positive"), tuple(DIRECTIONS), what,
                        "direction")
    exposure = entry.get("exposure", "")
    if test != "not_testable" and (not isinstance(exposure, str) or not exposure):
        raise ConfigError(f"{what}: key 'exposure' is missing" if "exposure" not in entry
                          else f"{what}: key 'exposure' must be a column name, got {exposure!r}",
                          hint='Name a column of the exposure table, e.g. exposure = '
                               '"cloud_cover_pct"')
    if "adjust" in entry:
        adjust = _names(entry["adjust"], what, "adjust")
    else:
        adjust = () if test in ("pearson", "not_testable") else DEFAULT_ADJUST
    if test == "pearson" and adjust:
        raise ConfigError(f"{what}: a 'pearson' test is crude but 'adjust' = {list(adjust)}",
                          hint="Use test = \"partial\" or \"ols_adjusted\" for an adjusted test, "
                               "or drop 'adjust'")
    if test in ("partial", "ols_adjusted") and not adjust:
        raise ConfigError(f"{what}: a {test!r} test needs a non-empty 'adjust'",
                          hint="Name the covariates, or use test = \"pearson\"")
    defaults = dict(sesoi_defaults or {})
    sesoi = entry.get("sesoi", defaults.get(test))
    if sesoi is not None:
        if isinstance(sesoi, bool) or not isinstance(sesoi, (int, float)) or not sesoi > 0:
            raise ConfigError(f"{what}: key 'sesoi' must be a number > 0, got {sesoi!r}",
                              hint=f"δ in {SESOI_UNITS[test] or 'the estimate'}'s units, "
                                   "e.g. sesoi = 0.1")
        sesoi = float(sesoi)
    subset = _choice(entry.get("subset", "all"), SUBSETS, what, "subset")
    if "outcomes" in entry:
        outcomes = _names(entry["outcomes"], what, "outcomes")
    else:
        outcomes = CO_PRIMARY
    from geo_ms.ingest.outcomes import OUTCOMES

    for oid in outcomes:
        if oid not in OUTCOMES:
            raise ConfigError(f"{what}: key 'outcomes' has unknown outcome {oid!r}"
                              f"{_closest(oid, OUTCOMES)}",
                              hint=f"Use outcome ids among: {', '.join(OUTCOMES)}")
    clear_sky = entry.get("clear_sky", _DEFAULT_CLEAR_SKY if test == "nested_dose" else "")
    if clear_sky and test != "nested_dose":
        raise ConfigError(f"{what}: key 'clear_sky' is only used by test = \"nested_dose\"",
                          hint="Drop 'clear_sky', or use test = \"nested_dose\"")
    if not isinstance(clear_sky, str):
        raise ConfigError(f"{what}: key 'clear_sky' must be a column name, got {clear_sky!r}",
                          hint='Write it like: clear_sky = "vitd_uv_clear"')
    if not outcomes and test != "not_testable":
        raise ConfigError(f"{what}: key 'outcomes' is empty",
                          hint=f"Name at least one outcome, e.g. {list(CO_PRIMARY)}")
    return Claim(id=cid.strip(), text=entry["text"], exposure=exposure if test != "not_testable"
                 else "", direction=direction, test=test, adjust=adjust, sesoi=sesoi,
                 subset=subset, outcomes=outcomes, clear_sky=clear_sky)


@dataclass(frozen=True)
class Plan:
    """The analysis plan: the claims in report order and each one's robustness members.

    Attributes
    ----------
    claims
        The claims, built-in ones first in their declared order, then added ones.
    robustness
        ``(claim id, members)`` pairs (see :meth:`members`).
    added, replaced
        Ids a user configuration added to / replaced in the default plan.
    """

    claims: tuple[Claim, ...]
    robustness: tuple[tuple[str, tuple[str, ...]], ...] = ()
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = field(default=())

    @property
    def ids(self) -> tuple[str, ...]:
        """The claim ids in report order."""
        return tuple(c.id for c in self.claims)

    def claim(self, claim_id: str) -> Claim:
        """The claim with id *claim_id* (KeyError naming the valid ids otherwise)."""
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"no claim {claim_id!r} in the plan (claims: {', '.join(self.ids)})")

    def members(self, claim_id: str) -> tuple[str, ...]:
        """The robustness members declared for *claim_id* (empty when none).

        >>> default_plan().members("C4")
        ()
        """
        return dict(self.robustness).get(claim_id, ())

    def canonical(self) -> dict[str, Any]:
        """The plan as plain data, order- and formatting-insensitive (claims by id,
        sorted lists). ``added``/``replaced`` are provenance, not substance: left out."""
        return {"claims": [c.canonical() for c in sorted(self.claims, key=lambda c: c.id)],
                "robustness": {cid: sorted(m) for cid, m in sorted(self.robustness) if m}}

    @property
    def hash(self) -> str:
        """sha256 (hex) of the canonical plan as compact, key-sorted JSON."""
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of :attr:`hash` (as the run log and report show it)."""
        return self.hash[:12]

    def provenance(self) -> str:
        """One line for the report's first lines: the hash and what a user changed.

        >>> default_plan().provenance().endswith("(the default plan)")
        True
        """
        changes = []
        if self.replaced:
            changes.append("replaced " + ", ".join(self.replaced))
        if self.added:
            changes.append("added " + ", ".join(self.added))
        said = ("user configuration " + "; ".join(changes)) if changes else "the default plan"
        return f"analysis plan {self.short_hash} ({said})"

    def check_columns(self, columns: Iterable[str], where: str = "configuration") -> None:
        """Refuse a claim that names a column not in *columns*.

        Raises
        ------
        ConfigError
            Naming the claim, its key and the column, with the closest valid column.

        >>> p = Plan((Claim("C1", "t", "cloud_cover_pct", "positive", "pearson"),))
        >>> p.check_columns(["cloud_cover_pct"])
        >>> p.check_columns(["cloud_cover_pc", "uv_index"])
        Traceback (most recent call last):
        ...
        geo_ms.errors.ConfigError: configuration: [[claims]] entry 'C1': exposure 'cloud_cover_pct' is not a column of the table (did you mean 'cloud_cover_pc'?)
        """
        cols = set(columns)
        for c in self.claims:
            keys = [("exposure", c.exposure), ("clear_sky", c.clear_sky),
                    *(("adjust", a) for a in c.adjust)]
            for key, col in keys:
                if c.testable and col and col not in cols:
                    raise ConfigError(
                        f"{_where_claim(where, c.id)}: {key} {col!r} is not a column of the "
                        f"table{_closest(col, sorted(cols))}",
                        hint="Name an exposure column (geo-ms run writes them to "
                             "exposures.md) or a covariate column")

    def to_config(self) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        """The plan as complete ``[[claims]]`` entries and a ``[robustness]`` table."""
        return ([c.to_config() for c in self.claims],
                {cid: list(m) for cid, m in self.robustness})


def _parse_robustness(table: Any, ids: Sequence[str], where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: '[robustness]' must be a table, got {table!r}",
                          hint='Write it as [robustness] then C1 = ["common_sample", ...]')
    out: dict[str, tuple[str, ...]] = {}
    for cid, members in table.items():
        if cid not in ids:
            raise ConfigError(f"{where}: [robustness] names claim '{cid}', which is not in the "
                              f"plan{_closest(cid, ids)}",
                              hint=f"Claims of the plan: {', '.join(ids)}")
        names = _names(members, f"{where}: [robustness]", cid)
        for m in names:
            if m not in MEMBERS:
                raise ConfigError(
                    f"{where}: [robustness] {cid} has unknown member {m!r}{_closest(m, MEMBERS)}",
                    hint=f"Members: {', '.join(MEMBERS)}")
        out[cid] = names
    return out


def build_plan(
    default_claims: Sequence[Mapping[str, Any]],
    default_robustness: Mapping[str, Any],
    user_claims: Any = None,
    user_robustness: Any = None,
    *,
    where: str = "configuration",
    sesoi_defaults: Mapping[str, float | None] | None = None,
) -> Plan:
    """Merge a user's ``[[claims]]``/``[robustness]`` into the default plan.

    A user entry whose id is a built-in id replaces that claim in place; any other
    entry is appended. A user ``[robustness]`` key replaces that claim's members; a
    replaced claim keeps the built-in members otherwise.

    Raises
    ------
    ConfigError
        A bad entry (:func:`parse_claim`), an id declared twice in one file,
        ``[claims]`` written as a single table, or a bad ``[robustness]``.

    Examples
    --------
    >>> base = [{"id": "C1", "text": "t", "exposure": "e", "direction": "positive",
    ...          "test": "pearson"}]
    >>> p = build_plan(base, {"C1": ["popw"]},
    ...                [{"id": "C1", "text": "t2", "exposure": "e2", "direction": "positive",
    ...                  "test": "pearson"},
    ...                 {"id": "C9", "text": "u", "exposure": "e", "direction": "negative",
    ...                  "test": "partial"}])
    >>> p.ids, p.replaced, p.added, p.members("C1")
    (('C1', 'C9'), ('C1',), ('C9',), ('popw',))
    """
    base = [parse_claim(e, "default_config.toml", sesoi_defaults) for e in default_claims]
    _no_duplicates([c.id for c in base], "default_config.toml")
    claims = {c.id: c for c in base}
    added: list[str] = []
    replaced: list[str] = []
    if user_claims is not None:
        if isinstance(user_claims, Mapping):
            raise ConfigError(f"{where}: 'claims' must be an array of tables ([[claims]]), "
                              "not a single [claims] table",
                              hint="Write each claim under its own [[claims]] header "
                                   "(double brackets)")
        if not isinstance(user_claims, list):
            raise ConfigError(f"{where}: 'claims' must be an array of tables, got "
                              f"{user_claims!r}", hint="Write each claim under [[claims]]")
        parsed = [parse_claim(e, where, sesoi_defaults) for e in user_claims]
        _no_duplicates([c.id for c in parsed], where)
        for c in parsed:
            (replaced if c.id in claims else added).append(c.id)
            claims[c.id] = c
    ids = list(claims)
    robustness = _parse_robustness(default_robustness, ids, "default_config.toml")
    if user_robustness is not None:
        robustness.update(_parse_robustness(user_robustness, ids, where))
    return Plan(claims=tuple(claims.values()),
                robustness=tuple((cid, robustness[cid]) for cid in ids if cid in robustness),
                added=tuple(added), replaced=tuple(replaced))


def _no_duplicates(ids: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for cid in ids:
        if cid in seen:
            raise ConfigError(f"{where}: claim id '{cid}' is declared twice in [[claims]]",
                              hint="Give each [[claims]] entry its own id")
        seen.add(cid)


def sesoi_defaults(models: Mapping[str, Any]) -> dict[str, float | None]:
    """Default δ of each test from a ``[models]`` table (``sesoi_r``, ``sesoi_pct_per10``).

    >>> sesoi_defaults({"sesoi_r": 0.2})["partial"], sesoi_defaults({})["ols_adjusted"]
    (0.2, 5.0)
    """
    r = float(models.get("sesoi_r", 0.1))
    return {"pearson": r, "partial": r,
            "ols_adjusted": float(models.get("sesoi_pct_per10", 5.0)),
            "nested_dose": None, "not_testable": None}


def _default_toml() -> dict[str, Any]:
    return tomllib.loads(resources.files("geo_ms").joinpath(_TOML).read_text("utf-8"))


def default_plan(models: Mapping[str, Any] | None = None) -> Plan:
    """The plan of ``geo_ms/default_config.toml`` (δ defaults from *models* or its
    own ``[models]``)."""
    toml = _default_toml()
    return build_plan(toml.get("claims", []), toml.get("robustness", {}),
                      sesoi_defaults=sesoi_defaults(models or toml.get("models", {})))


def plan_from_config(cfg: Mapping[str, Any] | None) -> Plan:
    """The :class:`Plan` of a configuration from :func:`geo_ms.config.load_config`.

    ``load_config`` stores the merged plan as complete entries in ``cfg["claims"]``
    and ``cfg["robustness"]`` and the provenance in ``cfg["plan"]``; a hand-made
    configuration without ``claims`` gets the default plan.

    >>> plan_from_config({}).hash == default_plan().hash
    True
    """
    cfg = cfg or {}
    models = cfg.get("models") or {}
    if "claims" not in cfg:
        return default_plan(models or None)
    plan = build_plan(cfg["claims"], cfg.get("robustness") or {},
                      where="configuration", sesoi_defaults=sesoi_defaults(models))
    prov = cfg.get("plan") or {}
    return Plan(plan.claims, plan.robustness, tuple(prov.get("added", ())),
                tuple(prov.get("replaced", ())))
