"""The MS outcomes a run can fit: one registry, shared by ingest, models and report.

Each outcome becomes one column of the analysis table, ``ms_<id>`` (cases per
100,000). ``prevalence_per_100k`` stays the primary outcome's column. GBD 2016 is a
model output (DisMod-MR); the MSIF Atlas of MS editions are reported figures, so GBD
prevalence and the three crude Atlas editions count as independent sources, while
GBD incidence (same model) and the age-adjusted Atlas rates (which borrow GBD's age
structure) do not.

>>> OUTCOMES["atlas2020"].column
'ms_atlas2020'
>>> sorted(o.id for o in OUTCOMES.values() if o.independent)
['atlas2008', 'atlas2013', 'atlas2020', 'gbd2016_prev']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OUTCOMES", "Outcome", "outcome_column"]


@dataclass(frozen=True)
class Outcome:
    """One MS outcome: what it measures, where it comes from, whether it is independent."""

    id: str
    label: str
    measure: str  # "prevalence" | "incidence"
    source: str  # catalog dataset id
    independent: bool  # counts towards "agrees in k of 4 independent sources"
    age_adjusted: bool
    note: str = ""

    @property
    def column(self) -> str:
        """Column of the analysis table holding this outcome (per 100,000)."""
        return outcome_column(self.id)


def outcome_column(outcome_id: str) -> str:
    """Analysis-table column of an outcome id.

    >>> outcome_column("gbd2016_inc")
    'ms_gbd2016_inc'
    """
    return f"ms_{outcome_id}"


#: Every outcome geo_ms knows, in report order.
OUTCOMES: dict[str, Outcome] = {
    o.id: o
    for o in (
        Outcome("gbd2016_prev", "GBD 2016 prevalence, age-standardised", "prevalence",
                "gbd2016_ms", True, True, "modelled (DisMod-MR 2.1)"),
        Outcome("gbd2016_inc", "GBD 2016 incidence, age-standardised", "incidence",
                "gbd2016_ms", False, True, "modelled; same model as GBD prevalence"),
        Outcome("atlas2020", "Atlas of MS 2020, crude prevalence", "prevalence",
                "atlas_ms_2020", True, False, "reported by national sources"),
        Outcome("atlas2013", "Atlas of MS 2013, crude prevalence", "prevalence",
                "atlas_ms_2013", True, False, "reported by national sources"),
        Outcome("atlas2008", "Atlas of MS 2008, crude prevalence", "prevalence",
                "atlas_ms_2008", True, False, "reported by national sources"),
        Outcome("atlas2020_adj", "Atlas of MS 2020, indirectly age-adjusted", "prevalence",
                "atlas_ms_2020", False, True, "crude × GBD age-standardised/all-ages ratio"),
        Outcome("atlas2013_adj", "Atlas of MS 2013, indirectly age-adjusted", "prevalence",
                "atlas_ms_2013", False, True, "crude × GBD age-standardised/all-ages ratio"),
        Outcome("atlas2008_adj", "Atlas of MS 2008, indirectly age-adjusted", "prevalence",
                "atlas_ms_2008", False, True, "crude × GBD age-standardised/all-ages ratio"),
    )
}
