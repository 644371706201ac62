"""The README's verdict block, generated from a run's claims and triangulation tables.

``README.md`` holds a block between ``<!-- verdicts -->`` and ``<!-- /verdicts -->``;
:func:`verdicts_block` writes it from ``claims.csv`` (and ``triangulation.csv``) in
the plan's vocabulary: the plan hash, then each claim's verdict on each co-primary
outcome with its estimate, spatially corrected CI and n, robust or fragile, and a
sentence when the outcomes differ (no vote counting); :func:`replace_block` puts it
in place. Only numbers that do
not depend on the bootstrap (point estimates, HC3 and spatially corrected CIs) are
quoted, so the block is the same for any ``models.n_boot``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from geo_ms.errors import SchemaError
from geo_ms.report import answer

__all__ = ["BEGIN", "END", "replace_block", "verdicts_block"]

BEGIN = "<!-- verdicts -->"
END = "<!-- /verdicts -->"

_PRODUCTS = {
    "cloud_cover_pct": "CRU CL 1.0 cloud cover",
    "uv_index": "NEO UV index",
    "cloud_fraction_modis_pct": "MODIS cloud fraction",
    "cloudiness_sunshine_pct": "sunshine-based cloudiness",
    "ghi_merra2": "MERRA-2 surface sunlight",
    "vitd_uv_clear": "TEMIS clear-sky vitamin-D dose",
    "vitd_uv_allsky": "derived all-sky vitamin-D dose",
    "vitd_uv_allsky_measured": "TEMIS measured all-sky vitamin-D dose",
}


_FIGURE = """![Each claim's primary test on every MS outcome: GBD 2016 and the Atlas of MS editions](docs/img/triangulation.png)

*Each claim's test on every MS outcome: GBD 2016 prevalence (modelled) and the Atlas of
MS 2020 (reported; the 2013 and 2008 editions are earlier editions of the same source
family, not independent sources); thin lines 95 % CIs, thick lines spatially corrected
CIs. `make analysis` writes this figure, the specification curve, the full set of maps
and plots, `claims.csv`, `robustness.csv`, `influence.csv`, `triangulation.csv` and the
report to `reports/latest/`.*"""


def _outcome_line(rec: Mapping[str, Any]) -> str:
    """``modelled GBD 2016 (post hoc): **inconclusive**, robust — r = …``."""
    name = answer.outcome_name(rec).removeprefix("the ")
    tag = " (post hoc)" if answer.is_post_hoc(rec) else ""
    rob = answer.robustness_text(rec)
    rob = f", {rob}" if rob and not rob.startswith("robustness not") else ""
    has_est = answer.fmt_r(rec.get("estimate")) != "—"
    body = answer.estimate_text(rec) if has_est else str(rec.get("test", "")).rstrip(".")
    return f"{name}{tag}: **{rec.get('verdict', '')}**{rob} — {body}"


def _claim_lines(cid: str, rows: list[dict[str, Any]]) -> list[str]:
    main = [r for r in rows if (r.get("sample") or "all") == "all"] or rows
    text = str(main[0].get("claim", ""))
    if len(main) == 1 and not main[0].get("outcome_id"):
        r = main[0]
        has_est = answer.fmt_r(r.get("estimate")) != "—"
        body = answer.estimate_text(r) if has_est else str(r.get("test", "")).rstrip(".")
        return [f"- **{cid}** {text}: **{r.get('verdict', '')}** — {body}."]
    lines = [f"- **{cid}** {text}:"]
    lines += [f"  - {_outcome_line(r)}." for r in main]
    differ = answer.differ_sentence(main)
    if differ:
        lines.append(f"  - {differ}")
    agree = next((a for a in (str(r.get("agreement", "")) for r in main)
                  if a.startswith("direction")), "")
    if agree:
        lines.append(f"  - Across sources: {agree.removeprefix('direction: ')}.")
    return lines


def verdicts_block(claims: pd.DataFrame, tri: pd.DataFrame | None = None) -> str:
    """The README verdict block (without the markers) from the claims table.

    One entry per claim with its verdict on each co-primary outcome (all regions),
    robust or fragile with the members that differ, and a sentence when the outcomes
    differ; the plan hash heads the block. No vote counting: the only line across
    sources is the direction count on the common sample (``agreement``), when present.

    Raises
    ------
    SchemaError
        The claims table lacks a column of the current layout.

    Examples
    --------
    >>> c = pd.DataFrame([{"claim_id": "C4", "claim": "Dosing", "outcome": "", "exposure": "",
    ...     "test": "None.", "estimate": float("nan"), "ci_low": float("nan"),
    ...     "ci_high": float("nan"), "ci_low_spatial": float("nan"),
    ...     "ci_high_spatial": float("nan"), "n": float("nan"),
    ...     "verdict": "not testable with regional data", "caveat": "x"}])
    >>> print(verdicts_block(c).splitlines()[2])
    - **C4** Dosing: **not testable with regional data** — None.
    """
    need = ["claim_id", "claim", "outcome", "exposure", "test", "estimate", "ci_low_spatial",
            "ci_high_spatial", "n", "verdict", "caveat"]
    missing = [c for c in need if c not in claims.columns]
    if missing:
        raise SchemaError(f"claims table: missing column(s) {', '.join(missing)}",
                          hint="Run geo-ms run with this version of geo_ms first")
    claims = claims.astype(object).where(claims.notna(), None)
    exps = [e for e in dict.fromkeys(claims["exposure"]) if isinstance(e, str) and e]
    names = ", ".join(f"{_PRODUCTS.get(e, e)} (`{e}`)" for e in exps[:2])
    plan = ""
    if "plan_hash" in claims:
        hashes = [h for h in dict.fromkeys(claims["plan_hash"]) if isinstance(h, str) and h]
        if hashes:
            plan = f"analysis plan `{hashes[0][:12]}` (sha256 `{hashes[0]}`, `docs/analysis_plan.md`); "
    outcomes = []
    for r in claims.to_dict("records"):
        if str(r.get("sample") or "all") == "all" and isinstance(r.get("outcome"), str) \
                and r["outcome"]:
            label = r["outcome"]
            kind = r.get("outcome_kind")
            prov = r.get("provenance")
            outcomes.append(f"{label}" + (f" ({kind}" + (f", {prov}" if prov else "") + ")"
                                          if kind else ""))
    outcomes = list(dict.fromkeys(outcomes))
    which = "co-primary outcomes" if len(outcomes) > 1 else "primary outcome"
    head = (f"**Current verdicts** (generated by `geo-ms readme-verdicts` from the default run "
            f"on the data mirror; {plan}{which} {' and '.join(outcomes) or 'not stated'}; "
            f"exposures {names}; confidence intervals corrected for spatial autocorrelation "
            "with Dutilleul's effective sample size; a verdict is robust when every robustness "
            "member of the plan gives it, else fragile; rules in `claims.csv`).")
    if tri is not None and len(tri) and "outcome_label" in tri:
        labels = list(dict.fromkeys(tri.dropna(subset=["estimate"])["outcome_label"]))
        head += (" Each claim's test was repeated on every MS outcome of the run ("
                 + "; ".join(labels) + "): see `triangulation.csv`.")
    lines = [head, ""]
    for cid in dict.fromkeys(claims["claim_id"].astype(str)):
        rows = claims[claims["claim_id"].astype(str) == cid].to_dict("records")
        lines += _claim_lines(cid, rows)
    caveat = next((c for c in claims["caveat"] if isinstance(c, str) and
                   c.startswith("Ecological fallacy")), "")
    if caveat:
        lines += ["", "Caveats: " + caveat.split(" Based on")[0]]
    lines += ["", _FIGURE]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """*text* with the content between the verdict markers replaced by *block*.

    Raises
    ------
    SchemaError
        The markers are missing or out of order.

    >>> replace_block("a\\n<!-- verdicts -->\\nold\\n<!-- /verdicts -->\\nb", "new")
    'a\\n<!-- verdicts -->\\nnew\\n<!-- /verdicts -->\\nb'
    """
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < 0 or j < i:
        raise SchemaError(f"README: no '{BEGIN}' … '{END}' block",
                          hint="Put the two markers on their own lines where the verdicts go")
    return text[: i + len(BEGIN)] + "\n" + block.strip("\n") + "\n" + text[j:]
