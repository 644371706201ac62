"""The report's Answer and claim cards, written from the run's own tables.

``claims.csv`` has one row per claim × outcome × sample (``docs/analysis_plan.md``,
"The tables the plan writes"). The Answer gives, for each primary claim, its verdict
on both co-primary outcomes (the modelled GBD 2016 and the reported Atlas of MS
2020), one sentence when the two differ, and whether each verdict is robust or
fragile over the plan's robustness members; it opens with the plan hash and closes
with the specification curve's shares. Sentences are chosen by verdict, so opposite
verdicts read oppositely; numbers are rounded one way everywhere: two decimals for r
and coefficients, whole % for changes, n always given.

>>> fmt_r(-0.1249), fmt_r(-0.001), fmt_pct(-13.96), fmt_pct(float("nan"))
('−0.12', '0.00', '−14 %', '—')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = [
    "CANNOT_SAY",
    "ECOLOGICAL_FALLACY",
    "MECHANISM_NOTE",
    "MEMBER_NAMES",
    "PRIMARY",
    "ROBUSTNESS_NOTE",
    "answer_blocks",
    "answer_sentences",
    "claim_cards",
    "curve_sentences",
    "differ_sentence",
    "estimate_text",
    "fmt_pct",
    "fmt_r",
    "header_lines",
    "is_post_hoc",
    "outcome_name",
    "robustness_text",
    "scope_text",
    "scoped",
]

#: The one ecological-fallacy statement near the top of the report.
ECOLOGICAL_FALLACY = (
    "All results compare countries (ecological data): they say nothing about any "
    "individual's risk of MS."
)

#: The claims the Answer speaks about, in reading order.
PRIMARY: tuple[str, ...] = ("C1", "C2", "C2-adj", "C3")

#: Robustness members in words (``geo_ms.models.plan.MEMBERS`` keys).
MEMBER_NAMES: dict[str, str] = {
    "common_sample": "common sample",
    "subregion_fe": "sub-region fixed effects",
    "spatial_error": "spatial error model",
    "leave_one_subregion_out": "leaving out one sub-region",
    "popw": "population weights",
    "ancestry": "+ ancestry",
    "low_reported_rates": "low reported rates put back",
    "main_territory": "main territory",
    "health_expenditure": "+ health expenditure",
    "migrant_share": "+ migrant share",
}

_CLOUD_ADJ = "once latitude and wealth are accounted for"

#: Per claim: the question, and per verdict what the data say (a clause).
_PHRASES: dict[str, dict[str, str]] = {
    "C1": {
        "question": "Is MS more common in cloudier countries?",
        "supported": "MS is more common in cloudier countries",
        "contradicted": "MS is less common in cloudier countries, the opposite of the claim",
        "not supported": "MS is not appreciably more common in cloudier countries",
        "inconclusive": ("the estimate is imprecise: it cannot tell whether MS is more or "
                         "less common in cloudier countries"),
    },
    "C2": {
        "question": "Does less UV go with more MS?",
        "supported": "less UV goes with more MS",
        "contradicted": "less UV goes with less MS, the opposite of the claim",
        "not supported": "less UV does not go with appreciably more MS",
        "inconclusive": ("the estimate is imprecise: it cannot tell whether less UV goes "
                         "with more or less MS"),
    },
    "C2-adj": {
        "question": "Does UV matter once latitude and wealth are accounted for?",
        "supported": f"less UV goes with more MS {_CLOUD_ADJ}",
        "contradicted": f"less UV goes with less MS {_CLOUD_ADJ}, the opposite of the claim",
        "not supported": f"less UV does not go with appreciably more MS {_CLOUD_ADJ}",
        "inconclusive": f"the estimate {_CLOUD_ADJ} is imprecise",
        "not identifiable between regions": (
            "UV cannot be told apart from latitude between countries (its variance "
            "inflation factor exceeds the limit); the estimate is shown, not judged"),
        "explained by confounding": f"the UV association disappears {_CLOUD_ADJ}",
    },
    "C3": {
        "question": "Does cloud cover matter once latitude and wealth are accounted for?",
        "supported": f"cloudier countries have more MS {_CLOUD_ADJ}",
        "contradicted": (f"cloudier countries have less MS {_CLOUD_ADJ}, the opposite of "
                         "the claim"),
        "not supported": f"cloudier countries do not have appreciably more MS {_CLOUD_ADJ}",
        "inconclusive": f"the estimate {_CLOUD_ADJ} is imprecise",
        "not identifiable between regions": (
            "cloud cover cannot be told apart from latitude and wealth between countries; "
            "the estimate is shown, not judged"),
        "explained by confounding": f"the cloud association disappears {_CLOUD_ADJ}",
    },
}

_SHORT_OUTCOME = {"gbd2016_prev": "GBD 2016", "atlas2020": "Atlas of MS 2020",
                  "atlas2013": "Atlas of MS 2013", "atlas2008": "Atlas of MS 2008"}

_MINUS = "\u2212"


# --------------------------------------------------------------------------- numbers


def _num(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


def _sign(text: str) -> str:
    """ASCII minus to a typographic one; no ``−0``."""
    if re.fullmatch(r"-0(\.0+)?", text):
        text = text[1:]
    return text.replace("-", _MINUS)


def fmt_r(value: Any) -> str:
    """A correlation or coefficient with two decimals ('—' if missing).

    >>> fmt_r(0.2649), fmt_r(None)
    ('0.26', '—')
    """
    v = _num(value)
    return "—" if math.isnan(v) else _sign(f"{v:.2f}")


def fmt_pct(value: Any, unit: bool = True) -> str:
    """A % change, whole percent, with its sign when negative.

    >>> fmt_pct(9.6), fmt_pct(-0.4), fmt_pct(-13.96, unit=False)
    ('10 %', '0 %', '−14')
    """
    v = _num(value)
    if math.isnan(v):
        return "—"
    return _sign(f"{v:.0f}") + (" %" if unit else "")


def _fmt3(value: Any) -> str:
    """A coefficient of unknown scale with three significant digits.

    >>> _fmt3(-0.015113), _fmt3(2.0)
    ('−0.0151', '2')
    """
    v = _num(value)
    return "—" if math.isnan(v) else _sign(f"{v:.3g}")


def _n(value: Any) -> str:
    v = _num(value)
    return "—" if math.isnan(v) else str(round(v))


def _scale(rec: Mapping[str, Any]) -> str:
    """``r``, ``partial r``, ``pct`` or ``coef`` from the row's test."""
    test = str(rec.get("test", "")).lower()
    if "% change" in test or "per 10" in test or "ols_adjusted" in test:
        return "pct"
    if "partial" in test:
        return "partial r"
    if "pearson" in test:
        return "r"
    if "nested" in test or "cloud factor" in test or "cloud-factor" in test:
        return "cloud-factor coefficient"
    return "coefficient"


def estimate_text(rec: Mapping[str, Any], *, with_n: bool = True) -> str:
    """The row's estimate with the CI its verdict is judged on, and n.

    The spatially corrected CI when the row has one (the verdict rule uses it), else
    the 95 % CI.

    >>> estimate_text({"test": "Pearson r", "estimate": -0.124, "ci_low": -0.27,
    ...                "ci_high": 0.02, "ci_low_spatial": -0.51, "ci_high_spatial": 0.306,
    ...                "n": 191})
    'r = −0.12, spatially corrected 95 % CI −0.51 to 0.31, n = 191'
    >>> estimate_text({"test": "OLS ..., as % change in prevalence per 10 points",
    ...                "estimate": -13.96, "ci_low": -18.1, "ci_high": -9.7, "n": 191})
    '−14 % per 10 points of cloud cover, 95 % CI −18 to −10 %, n = 191'
    """
    scale = _scale(rec)
    spatial = not math.isnan(_num(rec.get("ci_low_spatial")))
    lo, hi = ((rec.get("ci_low_spatial"), rec.get("ci_high_spatial")) if spatial
              else (rec.get("ci_low"), rec.get("ci_high")))
    ci_name = "spatially corrected 95 % CI" if spatial else "95 % CI"
    if scale == "pct":
        per = ("of cloud cover" if "cloud" in str(rec.get("exposure", "cloud"))
               else "of the exposure")
        text = f"{fmt_pct(rec.get('estimate'))} per 10 points {per}"
        ci = f"{fmt_pct(lo, unit=False)} to {fmt_pct(hi)}"
    else:
        f = fmt_r if scale != "coefficient" else _fmt3
        text = f"{scale} = {f(rec.get('estimate'))}"
        ci = f"{f(lo)} to {f(hi)}"
    if fmt_r(lo) != "—":
        text += f", {ci_name} {ci}"
    if with_n:
        text += f", n = {_n(rec.get('n'))}"
    return text


# --------------------------------------------------------------------------- rows


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _sample_of(rec: Mapping[str, Any]) -> str:
    return _text(rec.get("sample")) or "all"


def _outcome_key(rec: Mapping[str, Any]) -> str:
    return _text(rec.get("outcome_id")) or _text(rec.get("outcome"))


def outcome_name(rec: Mapping[str, Any]) -> str:
    """'the modelled GBD 2016' / 'the reported Atlas of MS 2020' / the outcome's words.

    >>> outcome_name({"outcome_id": "atlas2020", "outcome_kind": "reported"})
    'the reported Atlas of MS 2020'
    >>> outcome_name({"outcome": "GBD 2016 prevalence, age-standardised"})
    'GBD 2016 prevalence, age-standardised'
    """
    oid = _text(rec.get("outcome_id"))
    label = _SHORT_OUTCOME.get(oid) or _text(rec.get("outcome")) or "the outcome"
    kind = _text(rec.get("outcome_kind"))
    return f"the {kind} {label}" if kind else label


def _rows(claims: pd.DataFrame, claim_id: str, sample: str = "all") -> list[dict[str, Any]]:
    """The claim's rows on *sample*, in table order (the headline row first)."""
    sub = claims[claims["claim_id"].astype(str) == claim_id]
    return [r for r in sub.to_dict("records") if _sample_of(r) == sample]


def _verdict(rec: Mapping[str, Any]) -> str:
    return _text(rec.get("verdict"))


def _clause(claim_id: str, rec: Mapping[str, Any]) -> str:
    verdict = _verdict(rec)
    phrases = _PHRASES.get(claim_id, {})
    return phrases.get(verdict) or verdict or "no verdict"


def is_post_hoc(rec: Mapping[str, Any]) -> bool:
    """From ``provenance``; without it, GBD 2016 results are post hoc (they were seen
    before the plan was frozen, ``docs/analysis_plan.md``).

    >>> is_post_hoc({"provenance": "first analysed under the frozen plan"})
    False
    >>> is_post_hoc({"outcome": "GBD 2016 prevalence, age-standardised"})
    True
    """
    prov = _text(rec.get("provenance")).lower()
    if prov:
        return prov.startswith("post hoc")
    return (_text(rec.get("outcome_id")).startswith("gbd")
            or _text(rec.get("outcome")).startswith("GBD"))


def _members(text: str) -> list[tuple[str, str]]:
    """``members_differing`` → [(member in words, its verdict)].

    >>> _members("subregion_fe (inconclusive); leave_one_subregion_out without "
    ...          "Western Asia (inconclusive)")
    [('sub-region fixed effects', 'inconclusive'), ('without Western Asia', 'inconclusive')]
    """
    out = []
    for part in (p.strip() for p in re.split(r";", text) if p.strip()):
        m = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", part)
        name, verdict = (m.group(1), m.group(2)) if m else (part, "")
        key, _, rest = name.partition(" ")
        if key == "leave_one_subregion_out" and rest:
            name = rest
        else:
            name = MEMBER_NAMES.get(name, MEMBER_NAMES.get(key, name).strip() + (
                f" {rest}" if rest and key in MEMBER_NAMES else ""))
        out.append((name, verdict))
    return out


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def robustness_text(rec: Mapping[str, Any]) -> str:
    """'robust', 'fragile: <verdict> with <members>, or without <sub-regions>', or ''.

    The members that differ are grouped by the verdict they give; more than two
    sub-regions left out in turn are counted, the first three named.

    >>> robustness_text({"robustness": "fragile",
    ...                  "members_differing": "subregion_fe (inconclusive)"})
    'fragile: inconclusive with sub-region fixed effects'
    >>> robustness_text({"robustness": "fragile", "members_differing":
    ...     "popw (inconclusive); spatial_error (contradicted); " + "; ".join(
    ...     f"leave_one_subregion_out without {g} (inconclusive)" for g in "ABCD")})
    'fragile: inconclusive with population weights, or without any one of 4 sub-regions (A, B, C, …); contradicted with spatial error model'
    >>> robustness_text({"robustness": "robust"})
    'robust'
    """
    label = _text(rec.get("robustness"))
    if label == "robust":
        return "robust"
    if label == "not assessed":
        return "robustness not assessed"
    if label != "fragile":
        return ""
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for name, verdict in _members(_text(rec.get("members_differing"))):
        withs, withouts = groups.setdefault(verdict, ([], []))
        if name.startswith("without "):
            withouts.append(name.removeprefix("without "))
        else:
            withs.append(name)
    parts = []
    for verdict, (withs, withouts) in groups.items():
        bits = [f"with {_and(withs)}"] if withs else []
        if 0 < len(withouts) <= 2:
            bits.append(f"without {' or '.join(withouts)}")
        elif withouts:
            bits.append(f"without any one of {len(withouts)} sub-regions "
                        f"({', '.join(withouts[:3])}, …)")
        parts.append(" ".join(filter(None, [verdict, ", or ".join(bits)])))
    return "fragile: " + "; ".join(parts) if parts else "fragile"


def differ_sentence(rows: list[Mapping[str, Any]]) -> str:
    """One sentence when the outcomes' verdicts differ ('' when they agree).

    >>> differ_sentence([{"verdict": "inconclusive", "outcome_id": "gbd2016_prev",
    ...                   "outcome_kind": "modelled"},
    ...                  {"verdict": "contradicted", "outcome_id": "atlas2020",
    ...                   "outcome_kind": "reported"}])
    'The two outcomes differ: inconclusive on the modelled GBD 2016, contradicted on the reported Atlas of MS 2020.'
    """
    judged = [r for r in rows if _verdict(r)]
    if len({_verdict(r) for r in judged}) < 2:
        return ""
    parts = [f"{_verdict(r)} on {outcome_name(r)}" for r in judged]
    word = "two outcomes" if len(parts) == 2 else "outcomes"
    return f"The {word} differ: {', '.join(parts)}."


def _outcome_sentence(claim_id: str, rec: Mapping[str, Any], tail: str = "",
                      where: str = "the regions of this run") -> str:
    lead = (f"On {outcome_name(rec)}{' (post hoc)' if is_post_hoc(rec) else ''}"
            if _outcome_key(rec) else f"Across {where}")
    text = f"{lead}, {_clause(claim_id, rec)} ({estimate_text(rec)}{tail})"
    rob = robustness_text(rec)
    if rob and not rob.startswith("robustness not"):
        text += f"; {rob}"
    return text + "."


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


# --------------------------------------------------------------------------- the Answer


#: What robust and fragile mean, said once in the Answer's first lines.
ROBUSTNESS_NOTE = ("A verdict is robust when every robustness member of the plan (common "
                   "sample, sub-region fixed effects, spatial error model, leaving out each "
                   "sub-region, population weights, + ancestry, …) gives it, else fragile; "
                   "the members that differ are named.")


def header_lines(claims: pd.DataFrame, plan_line: str = "") -> list[str]:
    """The Answer's first lines: the plan (hash and what a configuration changed) and
    which outcomes' verdicts are post hoc.

    >>> c = pd.DataFrame({"claim_id": ["C1", "C1"], "outcome_id": ["gbd2016_prev",
    ...     "atlas2020"], "outcome_kind": ["modelled", "reported"],
    ...     "provenance": ["post hoc", "first analysed under the frozen plan"],
    ...     "plan_hash": ["ab12" * 16] * 2})
    >>> header_lines(c)[0]
    'Analysis plan ab12ab12ab12.'
    >>> header_lines(c)[1]
    'Verdicts on the modelled GBD 2016 are post hoc (its results were seen before the plan was frozen); the reported Atlas of MS 2020 was first analysed under the frozen plan.'
    """
    lines = []
    if not plan_line and "plan_hash" in claims:
        hashes = [h for h in claims["plan_hash"].map(_text).unique() if h]
        if hashes:
            plan_line = f"analysis plan {hashes[0][:12]}"
    if plan_line:
        lines.append(plan_line[:1].upper() + plan_line[1:] + ".")
    if "provenance" in claims:
        seen: dict[str, tuple[str, bool]] = {}
        for rec in claims.to_dict("records"):
            if _sample_of(rec) == "all" and _outcome_key(rec) and _text(rec.get("provenance")):
                seen.setdefault(_outcome_key(rec), (outcome_name(rec), is_post_hoc(rec)))
        post = [n for n, p in seen.values() if p]
        first = [n for n, p in seen.values() if not p]
        parts = []
        if post:
            whose = "its" if len(post) == 1 else "their"
            parts.append(f"Verdicts on {' and '.join(post)} are post hoc ({whose} results "
                         "were seen before the plan was frozen)")
        if first:
            verb = "was" if len(first) == 1 else "were"
            parts.append(f"{' and '.join(first)} {verb} first analysed under the frozen plan")
        if parts:
            text = "; ".join(parts)
            lines.append(text[:1].upper() + text[1:] + ".")
    if "robustness" in claims and claims["robustness"].map(_text).isin(
            ["robust", "fragile"]).any():
        lines.append(ROBUSTNESS_NOTE)
    return lines


def curve_sentences(curve: pd.DataFrame | None) -> list[str]:
    """The specification curve's shares, one sentence per claim (whole %, n given)."""
    if curve is None or curve.empty or "claim_id" not in curve:
        return []
    from geo_ms.models.speccurve import curve_summary
    from geo_ms.report.figures.specification_curve import curve_sentence

    curve = curve.dropna(subset=["estimate"])
    return [curve_sentence(str(cid), curve_summary(sub))
            for cid, sub in curve.groupby("claim_id", sort=False)]


def answer_blocks(claims: pd.DataFrame, *, n: int | None = None,
                  sample: bool = False) -> list[dict[str, Any]]:
    """One block per primary claim present: its question, one sentence per co-primary
    outcome (verdict, estimate, robustness) and the sentence saying they differ.

    Returns
    -------
    list of dict
        ``claim_id``, ``question``, ``outcomes`` (list of dicts: ``name``,
        ``verdict``, ``verdict_class``, ``post_hoc``, ``sentence``) and ``differ``.
    """
    tail = f"; {scope_text(n, True)}" if sample else ""
    where = ("the countries of the built-in sample" if sample
             else f"the {scope_text(n, False)}" if n else "the regions of this run")
    blocks = []
    for cid in PRIMARY:
        rows = _rows(claims, cid)
        if not rows:
            continue
        outs = [{"name": outcome_name(r)[:1].upper() + outcome_name(r)[1:],
                 "verdict": _verdict(r),
                 "verdict_class": re.sub(r"[^a-z0-9]+", "-", _verdict(r).lower()).strip("-"),
                 "post_hoc": is_post_hoc(r),
                 "sentence": _outcome_sentence(cid, r, tail, where)} for r in rows]
        blocks.append({"claim_id": cid, "question": _PHRASES[cid]["question"],
                       "outcomes": outs, "differ": differ_sentence(rows)})
    return blocks


#: The Answer's last sentence.
CANNOT_SAY = ("These data cannot say anything about an individual's risk, nor test the "
              "article's vitamin D doses.")


def answer_sentences(claims: pd.DataFrame, *, n: int | None = None, sample: bool = False,
                     plan_line: str = "", curve: pd.DataFrame | None = None) -> list[str]:
    """The Answer as plain sentences in reading order (the Markdown report's text).

    Parameters
    ----------
    claims
        The claims table (one row per claim × outcome × sample; an older table with
        one row per claim reads as one outcome per claim).
    n
        The run's number of regions with prevalence (quoted in sample runs).
    sample
        Whether this is the built-in sample (then every sentence names its scope).
    plan_line
        ``Plan.provenance()`` (else the plan hash of ``claims.csv`` is quoted).
    curve
        ``specification_curve.csv`` (its shares close the Answer).
    """
    out = header_lines(claims, plan_line)
    for b in answer_blocks(claims, n=n, sample=sample):
        out += [f"{b['claim_id']} — {b['question']}"] + [o["sentence"] for o in b["outcomes"]]
        if b["differ"]:
            out.append(b["differ"])
    out += curve_sentences(curve)
    out.append(CANNOT_SAY)
    return scoped(out, n, sample)


def scoped(lines: list[str], n: int | None, sample: bool) -> list[str]:
    """In a sample run, every line names its scope (the others are returned as they are).

    >>> scoped(["Analysis plan ab."], 19, True)
    ['Analysis plan ab (19 European countries, built-in sample; not the full analysis).']
    """
    if not sample:
        return list(lines)
    scope = scope_text(n, True)
    return [s if scope in s else f"{s.rstrip('.?')} ({scope})." for s in lines]


# --------------------------------------------------------------------------- cards


def _influential(influence: pd.DataFrame | None, claim_id: str, rec: Mapping[str, Any],
                 k: int = 5) -> str:
    """The *k* regions with the largest |DFBETAS| for this claim and outcome."""
    if influence is None or influence.empty or "claim_id" not in influence:
        return ""
    sub = influence[influence["claim_id"].astype(str) == claim_id]
    if "outcome" in sub:
        keys = {_text(rec.get("outcome_id")), _text(rec.get("outcome"))} - {""}
        sub = sub[sub["outcome"].astype(str).isin(keys)]
    if sub.empty:
        return ""
    col = "dfbetas" if "dfbetas" in sub else "dfbeta" if "dfbeta" in sub else None
    if col is None:
        return ""
    sub = sub.assign(_abs=pd.to_numeric(sub[col], errors="coerce").abs())
    sub = sub.sort_values("_abs", ascending=False).head(k)
    names = sub["name"] if "name" in sub else sub["region_id"]
    return ", ".join(f"{_text(nm) or _text(rid)} ({fmt_r(v)})" for nm, rid, v in
                     zip(names, sub["region_id"], sub[col], strict=True))


def _compact(rec: Mapping[str, Any]) -> str:
    """``r = 0.27 (−0.22 to 0.69)``: the estimate and the CI its verdict is judged on.

    >>> _compact({"test": "% change per 10 points", "estimate": -14.2, "ci_low": -19.4,
    ...           "ci_high": -7.1})
    '−14 % (−19 to −7 %)'
    """
    spatial = not math.isnan(_num(rec.get("ci_low_spatial")))
    lo, hi = ((rec.get("ci_low_spatial"), rec.get("ci_high_spatial")) if spatial
              else (rec.get("ci_low"), rec.get("ci_high")))
    scale = _scale(rec)
    if scale == "pct":
        return f"{fmt_pct(rec.get('estimate'))} ({fmt_pct(lo, unit=False)} to {fmt_pct(hi)})"
    f = fmt_r if scale != "coefficient" else _fmt3
    return f"{scale} = {f(rec.get('estimate'))} ({f(lo)} to {f(hi)})"


def _other_samples(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per other sample: n, then each outcome's verdict and estimate."""
    out = []
    words = {"common": "Common sample", "modelled_only": "Modelled only, no reported value"}
    by: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by.setdefault(_sample_of(r), []).append(r)
    for sample, label in words.items():
        recs = by.get(sample, [])
        if not recs:
            continue
        ns = {_n(r.get("n")) for r in recs}
        parts = [f"{_SHORT_OUTCOME.get(_text(r.get('outcome_id')), outcome_name(r))} "
                 f"{_verdict(r)}, {_compact(r)}" + ("" if len(ns) == 1 else f", n = {_n(r.get('n'))}")
                 for r in recs]
        n = f" (n = {ns.pop()})" if len(ns) == 1 else ""
        out.append(f"{label}{n}: " + "; ".join(parts))
    return out


#: What the card of the nested mechanism test says plainly (issue 17, item 6).
MECHANISM_NOTE = ("The derived all-sky dose is built from the cloud field under test; no "
                  "measured all-sky UV climatology is in the data; ecological data cannot "
                  "establish mediation.")


def _card_note(rec: Mapping[str, Any]) -> str:
    """The mechanism test's limits, or the caveat of a claim without an estimate."""
    if _scale(rec) == "cloud-factor coefficient":
        return MECHANISM_NOTE
    if math.isnan(_num(rec.get("estimate"))):
        return _text(rec.get("caveat"))
    return ""


def _agreement(rec: Mapping[str, Any]) -> str:
    """The agreement text, unless it counts votes ('agrees in k of m')."""
    text = _text(rec.get("agreement"))
    return "" if re.search(r"\bagrees? in \d+ of \d+", text) else text


def claim_cards(claims: pd.DataFrame, *, influence: pd.DataFrame | None = None
                ) -> list[dict[str, Any]]:
    """One card per claim: per outcome its verdict, estimate and robustness (with the
    members that differ and, when fragile, the most influential regions); the common
    and modelled-only samples in one line each; the agreement across sources.

    Returns
    -------
    list of dict
        ``claim_id``, ``claim``, ``outcomes`` (``name``, ``verdict``, ``verdict_class``,
        ``number``, ``post_hoc``, ``robustness``, ``influential``), ``note`` (the
        mechanism test's limits, or the caveat of a claim without an estimate),
        ``samples`` (lines) and ``agreement``.
    """
    cards = []
    for cid in dict.fromkeys(claims["claim_id"].astype(str)):
        rows = claims[claims["claim_id"].astype(str) == cid].to_dict("records")
        main = [r for r in rows if _sample_of(r) == "all"] or rows[:1]
        outs = []
        for r in main:
            has_est = not math.isnan(_num(r.get("estimate")))
            rob = robustness_text(r) if has_est else ""
            outs.append({
                "name": (outcome_name(r)[:1].upper() + outcome_name(r)[1:]
                         if _outcome_key(r) else ""),
                "verdict": _verdict(r),
                "verdict_class": re.sub(r"[^a-z0-9]+", "-", _verdict(r).lower()).strip("-")
                or "none",
                "number": estimate_text(r) if has_est else "no estimate",
                "post_hoc": is_post_hoc(r) and bool(_outcome_key(r)),
                "robustness": rob,
                "influential": (_influential(influence, cid, r)
                                if _text(r.get("robustness")) == "fragile" else ""),
            })
        cards.append({
            "claim_id": cid,
            "claim": _text(main[0].get("claim")),
            "note": _card_note(main[0]),
            "outcomes": outs,
            "samples": _other_samples(rows),
            "agreement": next((a for a in map(_agreement, main) if a), ""),
        })
    return cards
