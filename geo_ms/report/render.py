"""Render the analysis report as self-contained HTML and as Markdown.

:func:`render_report` fills two jinja2 templates (``templates/report.html.j2`` with
autoescaping, ``templates/report.md.j2``) from the analysis table, the models and
claims tables, the figure files and the run metadata. The HTML embeds every PNG as
a base64 data URI and carries its CSS inline, so one file is the whole report; the
Markdown refers to the figures by relative path. Both texts are rendered in memory
first and only then written atomically, so a failure leaves the previous report
untouched.

>>> _fmt(0.012345), _fmt(float("nan")), _fmt_p(0.00001), _slug("Not supported")
('0.0123', '—', '<0.001', 'not-supported')
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from geo_ms._io import atomic_write_text
from geo_ms.errors import FormatError, SchemaError
from geo_ms.report import _embed, answer

__all__ = [
    "ARTICLE_CLAIM",
    "CAVEATS",
    "CLAIMS_COLUMNS",
    "DOSING_CAVEAT",
    "MAX_LISTED_REGIONS",
    "MODELS_COLUMNS",
    "SAMPLE_BANNER",
    "render_report",
]

#: The claim under test, quoted from the article.
ARTICLE_CLAIM = (
    "There is a higher rate of MS patients in countries where the climates are cloudier."
)

#: What the data cannot test: the article's vitamin D dose.
DOSING_CAVEAT = (
    "The article's dosing advice (14,000–40,000 IU of vitamin D a day, far above the "
    "4,000 IU a day tolerable upper intake level for adults) is not something these "
    "data can test."
)

#: Banner shown at the top of both reports in built-in sample mode.
SAMPLE_BANNER = (
    "BUILT-IN SAMPLE: these results come from the small sample data bundled with geo_ms "
    "for demonstration and testing — not the full analysis."
)

#: Caveats listed in every report.
CAVEATS = (
    ("An ecological correlation between countries says nothing about an individual's "
    "risk of MS (ecological fallacy)."),
    ("GBD prevalence values are modelled estimates (DisMod-MR), not direct counts; for "
    "countries with few surveys they lean on the model and on neighbouring countries."),
    ("Recorded MS prevalence follows diagnostic access (neurologists, MRI) and survival, "
    "which both rise with national wealth."),
    ("Cloud cover, UV, latitude, ancestry and wealth vary together across countries, so "
    "the exposures' separate effects are hard to tell apart."),
    DOSING_CAVEAT,
)

CLAIMS_COLUMNS = ["claim_id", "claim", "test", "estimate", "ci_low", "ci_high", "n",
                  "verdict", "caveat"]
MODELS_COLUMNS = ["model", "subset", "exposure", "outcome", "n", "estimate", "ci_low",
                  "ci_high", "p_value", "std_estimate", "note"]

#: Missing regions the report lists inline; above it, the first ones and
#: :data:`MISSING_FILE` beside the report with all of them (50,000 grid cells
#: would otherwise make a page of tens of MB).
MAX_LISTED_REGIONS = 500
MISSING_FILE = "missing_regions.csv"

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SENSITIVITY_PREFIXES = ("forest",)
_OUTCOME = "prevalence_per_100k"


# --------------------------------------------------------------------------- formatting


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _fmt(value: Any) -> str:
    """Format a number with three significant digits; '—' when missing."""
    if _missing(value):
        return "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.3g}"
    return str(value)


def _fmt_p(value: Any) -> str:
    if _missing(value):
        return "—"
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def _fmt_ci(low: Any, high: Any) -> str:
    if _missing(low) and _missing(high):
        return ""
    return f"{_fmt(low)} to {_fmt(high)}"


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _md_cell(value: Any) -> str:
    """Escape a value for a Markdown table cell."""
    return _text(value).replace("|", r"\|").replace("\r", " ").replace("\n", " ")


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{what}: missing column(s) {', '.join(missing)}",
            hint=f"Pass a {what} with the columns {', '.join(columns)}.",
        )


# --------------------------------------------------------------------------- context


#: Widest figure the HTML embeds, in pixels (:mod:`geo_ms.report._embed`): wider PNGs
#: are embedded at this width, so the self-contained report stays under 3 MB; the
#: Markdown links the full-size files.
EMBED_MAX_PX = _embed.EMBED_MAX_PX


def _embeddable(data: bytes, img: Any) -> tuple[bytes, int, int]:
    """The PNG bytes the HTML embeds and their size: *data* itself when the image is at
    most :data:`EMBED_MAX_PX` wide, else a copy downscaled to that width.

    >>> from PIL import Image
    >>> wide = Image.new("RGB", (2480, 100), "white")
    >>> _embeddable(b"", wide)[1:]
    (1240, 50)
    >>> _embeddable(b"x", Image.new("RGB", (800, 600)))
    (b'x', 800, 600)
    """
    size = _embed.embed_size(img.size)
    if size is None:
        return data, img.size[0], img.size[1]
    return _embed.embed_bytes(img), size[0], size[1]


def _figure_entries(figures: Iterable[str | os.PathLike[str]] | Mapping[str, Any],
                    out_dir: Path) -> list[dict[str, Any]]:
    """Read each figure's PNG (bytes, size, title, caption) in order, one per stem."""
    from PIL import Image

    paths = list(figures.values()) if isinstance(figures, Mapping) else list(figures)
    entries: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        png = path.with_suffix(".png")
        if png in seen:
            continue
        seen.add(png)
        try:
            data = png.read_bytes()
        except OSError as exc:
            raise FormatError(
                f"{png}: figure PNG cannot be read ({exc.strerror or exc})",
                hint="Draw the figures again (geo_ms.report.figures.make_all_figures) before rendering.",
            ) from exc
        try:
            if not data.startswith(_PNG_MAGIC):
                raise ValueError("no PNG signature")
            with Image.open(io.BytesIO(data)) as img:
                # the copy a figure worker wrote beside the PNG, when there is one:
                # no decoding, downscaling and encoding again here
                side = _embed.take_sidecar(png)
                size = _embed.embed_size(img.size)
                if side is not None and size is not None and "Title" in img.info:
                    info = dict(img.info)
                    embedded, (width, height) = side, size
                else:
                    info = dict(getattr(img, "text", {}) or {})
                    img.load()
                    embedded, width, height = _embeddable(data, img)
        except Exception as exc:
            raise FormatError(
                f"{png}: figure is not a readable PNG ({exc})",
                hint="Delete it and draw the figures again.",
            ) from exc
        name = png.stem
        entries.append({
            "name": _slug(name),
            "title": info.get("Title") or name.replace("_", " ").capitalize(),
            "caption": info.get("Description", ""),
            "width": width,
            "height": height,
            "data_uri": "data:image/png;base64," + base64.b64encode(embedded).decode("ascii"),
            "relpath": Path(os.path.relpath(png, out_dir)).as_posix(),
            "sensitivity": name.startswith(_SENSITIVITY_PREFIXES),
        })
    return entries


_YEAR = r"(?:1[89]\d\d|20\d\d)"
_DATE = re.compile(rf"\b{_YEAR}-[01]\d-[0-3]\d\b")
_RANGE = re.compile(rf"\b({_YEAR})\s*[-–]\s*({_YEAR})\b")
_SINGLE = re.compile(rf"\b{_YEAR}\b")


def _years_of(src: Mapping[str, Any]) -> str:
    """A source's years: its ``years``/``year`` entry, else the dates, ranges or years in
    its title (in that order of preference).

    >>> _years_of({"title": "CRU CL 1.0 cloud cover, 1961-1990, 0.5 deg"})
    '1961–1990'
    >>> _years_of({"title": "GBD 2016 MS prevalence, 1990-2016 (DDF)"})
    '1990–2016'
    >>> _years_of({"title": "OMI OMUVBd, daily L3, 2024-10-01"})
    '2024-10-01'
    >>> _years_of({"years": [1990, 2016]}), _years_of({"title": "x"})
    ('1990–2016', 'not stated')
    """
    years = src.get("years", src.get("year"))
    if isinstance(years, list | tuple):
        years = "–".join(str(y) for y in (years[0], years[-1])) if years else ""
    if not _missing(years) and str(years):
        return str(years)
    title = str(src.get("title", ""))
    found = (_DATE.findall(title) or [f"{a}–{b}" for a, b in _RANGE.findall(title)]
             or _SINGLE.findall(title))
    return "; ".join(dict.fromkeys(found)) if found else "not stated"


def _sources(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for src in meta.get("sources", []) or []:
        years = _years_of(src)
        files = []
        for f in src.get("files", []) or []:
            if isinstance(f, Mapping):
                files.append({"name": _text(f.get("name") or f.get("path") or f.get("url")),
                              "sha256": _text(f.get("sha256"))})
            else:
                files.append({"name": str(f), "sha256": ""})
        if not files and src.get("sha256"):
            files = [{"name": _text(src.get("id")), "sha256": h}
                     for h in str(src["sha256"]).split(";") if h]
        out.append({
            "title": _text(src.get("title") or src.get("id")),
            "years": years,
            "licence": _text(src.get("licence") or src.get("license")) or "—",
            "citation": _text(src.get("citation")) or "—",
            "files": files,
        })
    return out


def _coverage(table: pd.DataFrame) -> dict[str, Any]:
    n_regions = len(table)
    if _OUTCOME in table:
        outcome = pd.to_numeric(table[_OUTCOME], errors="coerce")
        n_outcome = int((outcome > 0).sum())
    else:
        outcome, n_outcome = None, 0
    covars = [c for c in ("abs_latitude", "gdp_per_capita") if c in table]
    n_complete = None
    if outcome is not None and covars:
        ok = (outcome > 0) & table[covars].notna().all(axis=1)
        n_complete = int(ok.sum())
    return {"n_regions": n_regions, "n_outcome": n_outcome, "n_complete": n_complete}


def _methods(models: pd.DataFrame, meta: Mapping[str, Any]) -> list[str]:
    custom = meta.get("methods")
    if custom:
        return [str(p) for p in ([custom] if isinstance(custom, str) else custom)]
    names = ", ".join(sorted({str(m) for m in models["model"].dropna()})) or "none"
    subsets = ", ".join(sorted({str(s) for s in models["subset"].dropna()})) or "none"
    exposures = ", ".join(sorted({str(e) for e in models["exposure"].dropna()})) or "none"
    return [
        ("Gridded climate exposures (cloud cover, UV and vitamin-D-weighted UV) were "
        "averaged over each country with exactextract, weighting each grid cell by the "
        "fraction of it that lies inside the country; monthly climatologies were averaged "
        "over the year."),
        ("MS prevalence (age-standardised, per 100,000) was log-transformed and regressed "
        "on each exposure, first alone and then with absolute latitude and log GDP per "
        "capita as controls; spatial models and subsets check whether the association "
        "survives spatial autocorrelation and regional composition."),
        (f"Models fitted: {names}. Subsets: {subsets}. Exposures: {exposures}. Every "
        "estimate comes with its 95 % confidence interval; the claims table below "
        "states which result decides each claim and why."),
    ]


def _claims(claims: pd.DataFrame) -> list[dict[str, Any]]:
    """The full claims table's rows; a claim's text, rule and caveat are given on its
    first row only (its outcome × sample rows repeat them)."""
    _require(claims, CLAIMS_COLUMNS, "claims table")
    rows = []
    for rec in claims.to_dict("records"):
        verdict = _text(rec["verdict"])
        prev = rows[-1] if rows else None
        if prev is not None and prev["claim_id"] == _text(rec["claim_id"]):
            repeat = {k: v for k, v in (("claim", rec["claim"]), ("caveat", rec["caveat"]),
                                        ("rule", rec.get("rule")))
                      if _text(v) and _text(v) == prev["_" + k]}
        else:
            repeat = {}
        rows.append({
            "claim_id": _text(rec["claim_id"]), "claim": _text(rec["claim"]),
            "test": _text(rec["test"]), "estimate": _fmt(rec["estimate"]),
            "ci": _fmt_ci(rec["ci_low"], rec["ci_high"]), "n": _fmt(rec["n"]),
            "verdict": verdict, "verdict_class": _slug(verdict) or "none",
            "caveat": _text(rec["caveat"]),
            "rule": _text(rec.get("rule")) or _text(rec["test"]),
            "ci_spatial": _fmt_ci(rec.get("ci_low_spatial"), rec.get("ci_high_spatial")),
            "outcome": _cap(answer.outcome_name(rec)) if _text(rec.get("outcome")) else "",
            "sample": _text(rec.get("sample")),
            "robustness": _text(rec.get("robustness")),
            "provenance": _text(rec.get("provenance")),
            "_claim": _text(rec["claim"]), "_caveat": _text(rec["caveat"]),
            "_rule": _text(rec.get("rule")),
        })
        for k in repeat:
            rows[-1][k] = ""
    return rows


def _models(models: pd.DataFrame) -> list[dict[str, Any]]:
    _require(models, MODELS_COLUMNS, "models table")
    rows = []
    for rec in models.to_dict("records"):
        rows.append({
            "model": _text(rec["model"]), "subset": _text(rec["subset"]),
            "exposure": _text(rec["exposure"]), "outcome": _text(rec["outcome"]),
            "n": _fmt(rec["n"]), "estimate": _fmt(rec["estimate"]),
            "ci": _fmt_ci(rec["ci_low"], rec["ci_high"]) or "—",
            "p_value": _fmt_p(rec["p_value"]), "std_estimate": _fmt(rec["std_estimate"]),
            "note": _text(rec["note"]),
        })
    return rows


def _context(out_dir: Path, table: pd.DataFrame, models: pd.DataFrame, claims: pd.DataFrame,
             figures: Any, meta: Mapping[str, Any]) -> dict[str, Any]:
    from geo_ms import __version__

    figs = _figure_entries(figures, out_dir)
    missing = list(meta.get("missing_regions", []) or [])
    config = meta.get("config")
    coverage = _coverage(table)
    sample = bool(meta.get("sample"))
    key = _key_figure(figs, meta)
    curve_fig = next((f for f in figs if f["name"] == "specification-curve"), None)
    others = [f for f in figs if f is not key and f is not curve_fig]
    curve = _frame(meta.get("specification_curve"))
    cards = answer.claim_cards(claims, influence=_frame(meta.get("influence")))
    plan_line = _text(meta.get("plan_provenance"))
    n_out = coverage["n_outcome"] or None
    return {
        "answer_head": answer.scoped(answer.header_lines(claims, plan_line), n_out, sample),
        "answer_blocks": answer.answer_blocks(claims, n=n_out, sample=sample),
        "curve_sentences": answer.scoped(answer.curve_sentences(curve), n_out, sample),
        "curve_figure": curve_fig,
        "cannot_say": answer.scoped([answer.CANNOT_SAY], n_out, sample)[0],
        "ecological": answer.ECOLOGICAL_FALLACY,
        "cards": cards,
        "has_agreement": any(c["agreement"] for c in cards),
        "key_figure": key,
        "notes": _method_notes(table, meta),
        "title": meta.get("title") or "Is MS more common in cloudier countries?",
        "run_name": _text(meta.get("run_name")) or "unnamed",
        "generated": _text(meta.get("generated")),
        "version": __version__,
        "sample": sample,
        "sample_banner": SAMPLE_BANNER,
        "article_claim": ARTICLE_CLAIM,
        "sources": _sources(meta),
        "coverage": coverage,
        "missing": [{"region_id": _text(m.get("region_id")), "name": _text(m.get("name")),
                     "reason": _text(m.get("reason"))}
                    for m in missing[:MAX_LISTED_REGIONS]],
        "missing_total": len(missing),
        "missing_file": MISSING_FILE if len(missing) > MAX_LISTED_REGIONS else "",
        "methods": _methods(models, meta),
        "claims": _claims(claims),
        "models": _models(models),
        "main_figures": [f for f in others if not f["sensitivity"]],
        "sensitivity_figures": [f for f in others if f["sensitivity"]],
        "caveats": list(CAVEATS) + [str(c) for c in meta.get("caveats", []) or []],
        "versions": dict(meta.get("versions") or {}),
        # link only the notebook pages that were written into this report folder
        "notebooks": [n for n in meta.get("notebooks", []) or []
                      if (out_dir / str(n.get("href", ""))).is_file()],
        "config_json": json.dumps(config, indent=2, sort_keys=True, default=str)
        if config else "",
    }


def _frame(records: Any) -> pd.DataFrame | None:
    """A table passed in the metadata (list of records or a DataFrame), else None."""
    if records is None:
        return None
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    return None if frame.empty else frame


def _key_figure(figs: list[dict[str, Any]], meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """The triangulation figure when drawn, else the primary cloud scatter, else a scatter."""
    by_name = {f["name"]: f for f in figs}
    cloud = _slug(f"scatter_{meta.get('primary_cloud', 'cloud_cover_pct')}")
    for name in ("triangulation", cloud):
        if name in by_name:
            return by_name[name]
    return next((f for f in figs if f["name"].startswith("scatter")), None)


def _names(table: pd.DataFrame, mask: Any) -> list[str]:
    col = "name" if "name" in table else "region_id"
    return sorted(str(v) for v in table.loc[mask, col].dropna())


def _method_notes(table: pd.DataFrame, meta: Mapping[str, Any]) -> list[str]:
    """Definitions, CI method, subset composition and pre-specification for Methods."""
    notes = [
        ("Definitions. cloudiness_sunshine_pct is an effective cloudiness derived from "
         "sunshine: 100 × (1 − all-sky surface sunlight (GHI, MERRA-2 2011–2015) / "
         "clear-sky GHI (pvlib) at the same place and month), the Heliosat cloud index; "
         "overcast skies still pass some light, so it rarely exceeds ~70 %. "
         "sunshine_hours_cities is the mean annual hours of bright sunshine of a country's "
         "cities in the sunshine-hours-by-city package (270 cities, GeoRank, CC-BY-4.0); "
         "countries without a listed city have no value. The UV index is erythemally "
         "weighted UV irradiance in units of 25 mW m⁻²."),
        ("Confidence intervals. Regression CIs use HC3 heteroscedasticity-robust standard "
         "errors with t quantiles (residual degrees of freedom), not normal ones; "
         "correlation CIs are percentile bootstrap intervals."),
    ]
    if "continent" in table:
        has = pd.to_numeric(table.get(_OUTCOME), errors="coerce") > 0 if _OUTCOME in table \
            else pd.Series(True, index=table.index)
        eu = table["continent"].eq("Europe") & has
        na = table["continent"].eq("North America") & has
        eu_names = _names(table, eu)
        russia = " including Russia" if any(n.startswith("Russia") for n in eu_names) else ""
        na_names = _names(table, na)
        big = [n for n in na_names if n in ("United States", "Canada", "Mexico", "Greenland")]
        notes.append(
            f"Subsets. “Europe” is Natural Earth's continent Europe: {int(eu.sum())} countries "
            f"with prevalence{russia} (all of Russia, also its Asian part). "
            f"“north_america” is Natural Earth's North America: {int(na.sum())} countries "
            f"with prevalence — {', '.join(big) or 'none of the large ones'} and "
            f"{int(na.sum()) - len(big)} in Central America and the Caribbean "
            f"({', '.join(n for n in na_names if n not in big)}).")
    if meta.get("n_intervals") is not None or meta.get("n_primary") is not None:
        notes.append(
            f"Analysis plan: {meta.get('n_primary', '—')} primary analyses are declared in the "
            "analysis plan (docs/analysis_plan.md, its hash at the top of the Answer); the "
            "GBD 2016 results were seen before the plan was frozen, so their verdicts are "
            f"post hoc. {meta.get('n_intervals', '—')} intervals are reported in all, so some "
            "of the secondary ones will exclude 0 by chance.")
    if meta.get("family_sizes"):
        fams = ", ".join(f"{k}: {v}" for k, v in meta["family_sizes"].items())
        notes.append(
            "Multiplicity: each claim's exploratory re-tests (other products, windows, "
            "weights, subsets, outcomes) form one family, and models.csv's q_value is the "
            f"Benjamini-Hochberg adjusted p-value within it. P-values per family: {fams}. "
            "The % per 10 points rows take their OLS row's q-value; diagnostics and "
            "alternative fits (Moran's I, LM tests, VIFs, spatial error / lag) have none.")
    return notes


def _environment(autoescape: bool) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("geo_ms.report", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_cell
    return env


# --------------------------------------------------------------------------- public


def render_report(
    out_dir: str | os.PathLike[str],
    *,
    table: pd.DataFrame,
    models: pd.DataFrame,
    claims: pd.DataFrame,
    figures: Iterable[str | os.PathLike[str]] | Mapping[str, Any],
    meta: Mapping[str, Any],
) -> dict[str, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        Output folder (created if needed); the Markdown's figure links are relative to it.
    table
        Analysis table (for coverage counts).
    models
        Tidy models table with :data:`MODELS_COLUMNS`.
    claims
        Claims table with :data:`CLAIMS_COLUMNS`.
    figures
        Figure paths (PNG and/or SVG; each stem's PNG is embedded), or a mapping
        name → path. Figures whose name starts with ``forest`` go to the sensitivity
        section, the others to "Key figures", in the order given.
    meta
        Run metadata: ``sources``, ``run_name``, ``sample``, ``missing_regions``,
        ``config``, ``versions`` (optional ``title``, ``generated``, ``methods``,
        ``caveats``).

    Returns
    -------
    dict
        ``{"html": Path, "md": Path}``, and ``"missing_regions"`` (every missing region,
        CSV) when more than :data:`MAX_LISTED_REGIONS` are missing: the report lists
        those first ones and points to the file.

    Raises
    ------
    SchemaError
        When the claims or models table lacks a column.
    FormatError
        When a figure PNG is missing or unreadable (nothing is written then).
    """
    out = Path(out_dir)
    ctx = _context(out, table, models, claims, figures, meta)
    html = _environment(autoescape=True).get_template("report.html.j2").render(**ctx)
    md = _environment(autoescape=False).get_template("report.md.j2").render(**ctx)
    md = re.sub(r"\n{3,}", "\n\n", md)
    paths = {"html": out / "report.html", "md": out / "report.md"}
    if ctx["missing_file"]:
        paths["missing_regions"] = out / MISSING_FILE
        frame = pd.DataFrame(list(meta["missing_regions"]))
        atomic_write_text(paths["missing_regions"], frame.to_csv(index=False))
    atomic_write_text(paths["html"], html)
    atomic_write_text(paths["md"], md)
    return paths
