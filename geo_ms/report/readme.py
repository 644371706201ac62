"""The README's verdict block, generated from a run's claims and triangulation tables.

``README.md`` holds a block between ``<!-- verdicts -->`` and ``<!-- /verdicts -->``;
:func:`verdicts_block` writes it from ``claims.csv`` and ``triangulation.csv`` in
plain sentences (verdict, estimate, spatially corrected CI, agreement across MS
sources, caveats) and :func:`replace_block` puts it in place. Only numbers that do
not depend on the bootstrap (point estimates, HC3 and spatially corrected CIs) are
quoted, so the block is the same for any ``models.n_boot``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from geo_ms.errors import SchemaError

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

*Each claim's pre-specified test on every MS outcome (filled: independent sources, GBD
2016 prevalence — modelled — and the Atlas of MS 2020, 2013 and 2008 — reported; open:
not independent); thin lines 95 % CIs, thick lines spatially corrected CIs. `make
analysis` writes this figure, the full set of maps and plots, `claims.csv`,
`triangulation.csv` and the report to `reports/latest/`.*"""


def _num(v: Any, fmt: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    text = f"{float(v):{fmt}}"
    if re.fullmatch(r"[-+]?0(\.0+)?", text):
        text = text.lstrip("+-")
    return text.replace("-", "−")


def _ci(lo: Any, hi: Any, fmt: str = ".2f") -> str:
    return f"{_num(lo, fmt)} to {_num(hi, fmt)}"


def _claim_sentence(r: pd.Series) -> str:
    cid, v = r["claim_id"], r["verdict"]
    n = "" if pd.isna(r["n"]) else f", n = {int(r['n'])}"
    if cid in ("C1", "C2", "C1-europe"):
        body = (f"Pearson r = {_num(r['estimate'])} (spatially corrected 95 % CI "
                f"{_ci(r['ci_low_spatial'], r['ci_high_spatial'])}{n})")
    elif cid == "C2-adj":
        body = (f"partial r given |latitude| and log GDP per capita = {_num(r['estimate'])} "
                f"(spatially corrected CI {_ci(r['ci_low_spatial'], r['ci_high_spatial'])}{n})")
    elif cid in ("C3", "C3-europe"):
        body = (f"adjusted for |latitude| and log GDP per capita, prevalence changes by "
                f"{_num(r['estimate'], '+.1f')} % per 10 points of cloud cover (HC3 CI "
                f"{_ci(r['ci_low'], r['ci_high'], '+.1f')}; spatially corrected "
                f"{_ci(r['ci_low_spatial'], r['ci_high_spatial'], '+.1f')}{n})")
    elif cid == "C5-mechanism":
        m = re.search(r"R2 = ([0-9.]+), AIC = ([-0-9.]+).*?R2 = ([0-9.]+), AIC = ([-0-9.]+)",
                      str(r["test"]))
        body = ("the all-sky vitamin-D dose against the clear-sky dose, both adjusted for "
                "|latitude| and log GDP" + (
                    f": R² {m.group(3)} vs {m.group(1)}, AIC {m.group(4)} vs {m.group(2)}"
                    if m else "") + f" ({str(r['caveat']).split('. ', 1)[-1].rstrip('.')})")
    else:
        body = str(r["test"]).rstrip(".")
    agree = r.get("agreement")
    tail = f"; {agree}" if isinstance(agree, str) and agree else ""
    return f"- **{cid}** {r['claim']}: **{v}** — {body}{tail}."


def verdicts_block(claims: pd.DataFrame, tri: pd.DataFrame | None = None) -> str:
    """The README verdict block (without the markers) from the claims table.

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
    ...     "verdict": "not testable with regional data", "agreement": "", "caveat": "x"}])
    >>> print(verdicts_block(c).splitlines()[2])
    - **C4** Dosing: **not testable with regional data** — None.
    """
    need = ["claim_id", "claim", "outcome", "exposure", "test", "estimate", "ci_low_spatial",
            "ci_high_spatial", "n", "verdict", "agreement", "caveat"]
    missing = [c for c in need if c not in claims.columns]
    if missing:
        raise SchemaError(f"claims table: missing column(s) {', '.join(missing)}",
                          hint="Run geo-ms run with this version of geo_ms first")
    first = claims.iloc[0]
    outcome = first["outcome"] if isinstance(first["outcome"], str) else "the primary outcome"
    exps = [e for e in dict.fromkeys(claims["exposure"]) if isinstance(e, str) and e]
    names = ", ".join(f"{_PRODUCTS.get(e, e)} (`{e}`)" for e in exps[:2])
    sources = ""
    if tri is not None and len(tri):
        labels = list(dict.fromkeys(tri.dropna(subset=["estimate"])["outcome_label"]))
        sources = (" Each claim's test was repeated on every MS outcome of the run ("
                   + "; ".join(labels) + "): see `triangulation.csv`.")
    head = (f"**Current verdicts** (generated by `geo-ms readme-verdicts` from the default run "
            f"on the data mirror; primary outcome {outcome}; exposures {names}; confidence "
            "intervals corrected for spatial autocorrelation with Dutilleul's effective sample "
            f"size; rules in `claims.csv`).{sources}")
    lines = [head, ""]
    lines += [_claim_sentence(r) for _, r in claims.iterrows()]
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
