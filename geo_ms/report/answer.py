"""The report's Answer: three to five plain sentences and one card per claim.

Sentences are filled from the run's own claims table by templates chosen by the
verdict (so two runs with opposite C1 verdicts read differently), quoting each
estimate and CI in the claims cards' format (three significant digits). In a
sample run every sentence carries the scope.

>>> fmt_num(-0.1300294443060062), fmt_num(0.0083), fmt_num(float("nan"))
('-0.13', '0.0083', '—')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "ECOLOGICAL_FALLACY",
    "answer_sentences",
    "claim_cards",
    "fmt_num",
    "scope_text",
    "short_agreement",
]

#: The one ecological-fallacy statement near the top of the report.
ECOLOGICAL_FALLACY = (
    "All results compare countries (ecological data): they say nothing about any "
    "individual's risk of MS."
)

_TEMPLATES: dict[str, dict[str, str]] = {
    "C1": {
        "supported": ("Yes: across {where}, MS is more common where it is cloudier "
                      "({est})."),
        "not supported": ("No: across {where}, MS is not more common where it is "
                          "cloudier ({est})."),
        "inconclusive": ("Not clearly: across {where}, the link between cloud cover and MS "
                         "is too weak to call either way ({est})."),
        "_": "Across {where}, cloud cover and MS: {verdict} ({est}).",
    },
    "C2": {
        "supported": "Less UV does go with more MS ({est}).",
        "not supported": "Less UV does not go with more MS ({est}).",
        "inconclusive": "Whether less UV goes with more MS is unclear ({est}).",
        "_": "Less UV and more MS: {verdict} ({est}).",
    },
    "C3": {
        "supported": ("The cloud association survives adjustment for latitude and wealth "
                      "({est})."),
        "not supported": ("Once latitude and wealth are accounted for, cloudier countries "
                          "do not have more MS ({est})."),
        "explained by confounding": ("The cloud association disappears once latitude and "
                                     "wealth are accounted for ({est})."),
        "inconclusive": ("Adjusted for latitude and wealth, the cloud association is "
                         "unclear ({est})."),
        "_": "Adjusted for latitude and wealth, the cloud association: {verdict} ({est}).",
    },
}
_KIND = {"% change in prevalence per 10 points": "% change per 10 points of cloud cover",
         "Pearson r": "r", "partial r": "partial r", "R2": "all-sky dose coefficient",
         "OLS coefficient": "adjusted coefficient", "coefficient": "coefficient"}


def fmt_num(value: Any) -> str:
    """A number as the claims cards print it: three significant digits, '—' if missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(v):
        return "—"
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def _kind(test: str) -> str:
    for key, name in _KIND.items():
        if key in test:
            return name
    return "estimate"


def estimate_text(rec: Mapping[str, Any]) -> str:
    """``"r = -0.13, 95 % CI -0.269 to 0.0083"`` for a claims row (CI omitted if missing).

    >>> estimate_text({"test": "Pearson r of x", "estimate": 0.5, "ci_low": 0.2,
    ...                "ci_high": 0.7})
    'r = 0.5, 95 % CI 0.2 to 0.7'
    >>> estimate_text({"test": "Pearson r of x", "estimate": 0.5, "ci_low": 0.2,
    ...                "ci_high": 0.7, "ci_low_spatial": -0.1, "ci_high_spatial": 0.8, "n": 90})
    'r = 0.5, spatially corrected 95 % CI -0.1 to 0.8, n = 90'
    """
    text = f"{_kind(str(rec.get('test', '')))} = {fmt_num(rec.get('estimate'))}"
    if fmt_num(rec.get("ci_low_spatial")) != "—":  # the interval the verdict rule uses
        text += (f", spatially corrected 95 % CI {fmt_num(rec.get('ci_low_spatial'))} to "
                 f"{fmt_num(rec.get('ci_high_spatial'))}")
    elif fmt_num(rec.get("ci_low")) != "—":
        text += f", 95 % CI {fmt_num(rec.get('ci_low'))} to {fmt_num(rec.get('ci_high'))}"
    if fmt_num(rec.get("n")) != "—":
        text += f", n = {fmt_num(rec.get('n'))}"
    return text


def short_agreement(text: str) -> str:
    """The agreement count (and a sign difference), without the per-source list.

    >>> short_agreement("agrees in 4 of 4 independent sources (agree: A -0.12, B +0.2); "
    ...                 "point estimates differ in sign across independent sources "
    ...                 "(-0.12 to +0.20); not independent: C -0.1 inconclusive")
    'agrees in 4 of 4 independent sources; point estimates differ in sign (-0.12 to +0.20)'
    """
    head = text.split(" (", 1)[0].strip()
    marker = "point estimates differ in sign across independent sources "
    if marker in text:
        rng = text.split(marker, 1)[1].split(")", 1)[0] + ")"
        head += f"; point estimates differ in sign {rng}"
    return head


def scope_text(n: int | None, sample: bool) -> str:
    """The scope every verdict carries.

    >>> scope_text(19, True)
    '19 European countries, built-in sample; not the full analysis'
    >>> scope_text(194, False)
    '194 countries'
    """
    if sample:
        return f"{n} European countries, built-in sample; not the full analysis"
    return f"{n} countries" if n else "the regions of this run"


def _row(claims: pd.DataFrame, claim_id: str) -> dict[str, Any] | None:
    rows = claims[claims["claim_id"].astype(str) == claim_id]
    return None if rows.empty else rows.iloc[0].to_dict()


#: What the adjusted UV test (C2-adj) adds to the C2 sentence.
_UV_ADJUSTED = {
    "explained by confounding": "but this cannot be separated from latitude and wealth",
    "supported": "and this holds once latitude and wealth are accounted for",
    "not supported": "but it reverses once latitude and wealth are accounted for",
}

_EUROPE = {
    "supported": "cloudier countries do have more MS",
    "not supported": "cloudier countries do not have more MS",
    "inconclusive": "the link between cloud cover and MS is unclear",
}


def _sentence(claim_id: str, rec: dict[str, Any], where: str, tail: str) -> str:
    verdict = str(rec.get("verdict", "")).strip()
    templates = _TEMPLATES[claim_id]
    text = templates.get(verdict, templates["_"])
    return text.format(where=where, est=estimate_text(rec) + tail, verdict=verdict)


def answer_sentences(claims: pd.DataFrame, *, n: int | None, sample: bool) -> list[str]:
    """Three to five plain sentences answering the question from the claims table.

    Parameters
    ----------
    claims
        Claims table (``claim_id, test, estimate, ci_low, ci_high, verdict``; optional
        ``agreement``).
    n
        The run's number of regions with prevalence.
    sample
        Whether this is the built-in sample (then every sentence names its scope).

    Returns
    -------
    list of str
        The sentences, in reading order.
    """
    scope = scope_text(n, sample)
    tail = f"; {scope}" if sample else ""
    where = "the countries of the built-in sample" if sample else f"the {scope}"
    out: list[str] = []
    for claim_id in ("C1", "C2", "C3"):
        rec = _row(claims, claim_id)
        if rec is not None:
            out.append(_sentence(claim_id, rec, where, tail))
            adj = _row(claims, "C2-adj") if claim_id == "C2" else None
            if adj is not None and str(adj.get("verdict")) in _UV_ADJUSTED:
                out[-1] = (f"{out[-1][:-1]}; {_UV_ADJUSTED[str(adj['verdict'])]} "
                           f"({estimate_text(adj)}{tail}).")
    eu = _row(claims, "C1-europe")
    c1 = _row(claims, "C1")
    if eu is not None and len(out) < 4 and not sample:  # the sample is all European
        what = _EUROPE.get(str(eu["verdict"]), f"C1 is {eu['verdict']}")
        out.append(f"Within Europe (incl. Russia) alone, {what} ({estimate_text(eu)}{tail}).")
    if c1 is not None and "agreement" in claims and isinstance(c1.get("agreement"), str) \
            and c1["agreement"].strip():
        if len(out) >= 4:
            out = out[:3]
        out.append(f"Across independent MS sources (GBD 2016 and the Atlas of MS editions), "
                   f"the cloud verdict {short_agreement(c1['agreement'])}"
                   f"{f' ({scope})' if sample else ''}.")
    out.append("These data cannot say anything about an individual's risk, nor test the "
               "article's vitamin D doses.")
    if sample:
        out = [s if scope in s else f"{s[:-1]} ({scope})." for s in out]
    return out[:5]


def claim_cards(claims: pd.DataFrame) -> list[dict[str, str]]:
    """One compact card per claim: claim, verdict, one number with its CI, agreement."""
    cards = []
    for rec in claims.to_dict("records"):
        agreement = rec.get("agreement")
        cards.append({
            "claim_id": str(rec.get("claim_id", "")),
            "claim": str(rec.get("claim", "")),
            "verdict": str(rec.get("verdict", "")),
            "number": (estimate_text({**rec, "n": None}) if fmt_num(rec.get("estimate")) != "—"
                       else "no estimate"),
            "n": fmt_num(rec.get("n")),
            "agreement": short_agreement(agreement) if isinstance(agreement, str) else "",
        })
    return cards
