"""The HTML/Markdown report: self-contained, complete sections, safe on failure."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo_ms.errors import FormatError, SchemaError
from geo_ms.report import figures, render, render_report

IDS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]
CONTINENTS = ["Europe", "Europe", "Africa", "Africa", "Asia", "Asia", "Oceania", "Europe"]


def _inputs() -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    geoms = [box(-150 + 40 * (i % 4), -40 + 50 * (i // 4), -115 + 40 * (i % 4),
                 5 + 50 * (i // 4)) for i in range(8)]
    regions = gpd.GeoDataFrame({"region_id": IDS, "name": [f"Land {c}" for c in IDS]},
                               geometry=geoms, crs="EPSG:4326")
    table = pd.DataFrame({
        "region_id": IDS, "iso3": IDS, "name": [f"Land {c}" for c in IDS],
        "continent": CONTINENTS,
        "abs_latitude": [55, 50, 10, 20, 30, 25, 40, np.nan],
        "gdp_per_capita": [40000, 30000, 2000, 3000, 8000, 10000, 35000, 20000.0],
        "cloud_cover_pct": [70.0, 65.0, 30.0, 40.0, 50.0, 55.0, 60.0, 45.0],
        "prevalence_per_100k": [150.0, 120.0, 10.0, 20.0, 40.0, 35.0, np.nan, np.nan],
    })
    models = pd.DataFrame({
        "model": ["ols", "ols_controls"], "subset": ["all", "all"],
        "exposure": ["cloud_cover_pct"] * 2, "outcome": ["log_prevalence"] * 2,
        "n": [6, 6], "estimate": [0.0688, 0.011], "ci_low": [0.05, -0.02],
        "ci_high": [0.09, 0.04], "p_value": [0.0002, 0.41], "std_estimate": [0.93, 0.15],
        "note": ["", "HC3 errors"],
    })
    claims = pd.DataFrame({
        "claim_id": ["C1", "C2"],
        "claim": ["Cloudier countries have more MS", "The link survives latitude & wealth"],
        "test": ["OLS log prevalence ~ cloud", "OLS + |lat| + log GDP"],
        "estimate": [0.0688, 0.011], "ci_low": [0.05, -0.02], "ci_high": [0.09, 0.04],
        "n": [6, 6], "verdict": ["supported", "not supported"],
        "caveat": ["crude association", "<b>confounded</b> by latitude"],
    })
    meta = {
        "sources": [
            {"id": "gbd2016", "title": "GBD 2016", "licence": "IHME, non-commercial",
             "citation": "GBD 2016 MS Collaborators 2019", "years": [1990, 2016],
             "files": [{"name": "IHME-GBD_2016.csv", "sha256": "ab" * 32}]},
            {"id": "cru_cl", "title": "CRU CL 1.0", "licence": "CC-BY 4.0",
             "citation": "New et al. 1999", "years": "1961–1990", "files": []},
        ],
        "run_name": "unit-test",
        "sample": False,
        "missing_regions": [
            {"region_id": "GGG", "name": "Land GGG", "reason": "no GBD estimate"},
            {"region_id": "HHH", "name": "Land HHH", "reason": "no latitude"},
        ],
        "config": {"exposures": ["cloud_cover_pct"]},
        "versions": {"geo_ms": "0.1.0", "statsmodels": "0.15"},
    }
    return regions, table, models, claims, meta


class _Page(HTMLParser):
    """Collect what the tests look at: tags, img srcs, tables' cells, text, banner."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def figure_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    regions, table, models, _, meta = _inputs()
    out = tmp_path_factory.mktemp("report") / "figures"
    return (figures.prevalence_map(out, regions, table, meta=meta)
            + figures.scatter_with_fit(out, table, "cloud_cover_pct", meta=meta)
            + figures.forest_plot(out, models, meta=meta))


def _render(out: Path, figure_paths: list[Path], **overrides: object) -> dict[str, Path]:
    _, table, models, claims, meta = _inputs()
    kwargs = {"table": table, "models": models, "claims": claims, "figures": figure_paths,
              "meta": meta}
    kwargs.update(overrides)
    return render_report(out, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def report(figure_paths: list[Path]) -> dict[str, Path]:
    return _render(figure_paths[0].parent.parent, figure_paths)


# --------------------------------------------------------------------------- HTML


def test_html_is_self_contained_with_embedded_pngs(report: dict[str, Path],
                                                   figure_paths: list[Path]) -> None:
    page = _parse(report["html"].read_text(encoding="utf-8"))
    imgs = [a["src"] for t, a in page.tags if t == "img"]
    pngs = [p for p in figure_paths if p.suffix == ".png"]
    assert len(imgs) == len(pngs) == 3
    # the key figure (the cloud scatter) comes first, then the others in order
    from PIL import Image

    for src, png in zip(imgs, [pngs[1], pngs[0], pngs[2]], strict=True):
        assert src.startswith("data:image/png;base64,")
        embedded = base64.b64decode(src.split(",", 1)[1])
        with Image.open(png) as full, Image.open(io.BytesIO(embedded)) as shown:
            if full.width <= render.EMBED_MAX_PX:  # embedded as drawn
                assert embedded == png.read_bytes()
            else:  # wider than the page: embedded at EMBED_MAX_PX, same aspect ratio
                assert shown.width == render.EMBED_MAX_PX
                assert shown.height == round(full.height * render.EMBED_MAX_PX / full.width)
    for tag, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"(https?:)?//", value), (tag, value)
    assert [t for t, _ in page.tags if t in ("link", "script", "iframe")] == []
    assert [t for t, _ in page.tags].count("style") == 1


def test_html_is_responsive(report: dict[str, Path]) -> None:
    html = report["html"].read_text(encoding="utf-8")
    page = _parse(html)
    viewport = [a for t, a in page.tags if t == "meta" and a.get("name") == "viewport"]
    assert viewport == [{"name": "viewport", "content": "width=device-width, initial-scale=1"}]
    assert ".wrap { max-width: 62rem;" in html
    assert ".table-scroll { overflow-x: auto;" in html
    assert "figure img { display: block; max-width: 100%; height: auto;" in html
    # every table sits in a horizontally scrolling wrapper
    assert html.count('<div class="table-scroll">') == html.count("<table")


def test_answer_first_then_cards_then_key_figure(report: dict[str, Path]) -> None:
    html = report["html"].read_text(encoding="utf-8")
    order = [html.index(f'id="{x}"') for x in ("answer", "claims", "key-figure", "question",
                                               "details", "figures", "sensitivity")]
    assert order == sorted(order)
    text = _parse(html).plain
    answer = text.split("Answer", 1)[1].split("Claims", 1)[0]
    assert ("C1 · Is MS more common in cloudier countries? supported Across the 6 countries, "
            "MS is more common in cloudier countries (coefficient = 0.0688, 95 % CI 0.05 to "
            "0.09, n = 6).") in answer
    assert answer.count("individual") == 2  # the cannot-say sentence and the one statement
    from geo_ms.report.answer import ECOLOGICAL_FALLACY

    assert text.count(ECOLOGICAL_FALLACY) == 1
    cards = text.split("Claims", 1)[1].split("Key figure", 1)[0]
    assert "ecological" not in cards.lower()  # one statement near the top, not one per row
    assert 'class="verdict verdict-not-supported"' in html
    md = report["md"].read_text(encoding="utf-8")
    assert md.startswith("# Is MS more common in cloudier countries?\n\n## Answer\n\n"
                         "**C1 · Is MS more common in cloudier countries?**\n\n- **supported** "
                         "— Across the 6 countries, MS is more common")
    assert md.index("## Claims") < md.index("## Key figure") < md.index("## Details")
    assert "![MS prevalence per 100,000 vs Cloud cover, CRU CL 1.0 (%)](figures/scatter_cloud_cover_pct.png)" in md


def test_claim_cards_and_full_claims_with_escaped_text(report: dict[str, Path]) -> None:
    html = report["html"].read_text(encoding="utf-8")
    page = _parse(html)
    card = page.plain.split("Claims", 1)[1].split("Key figure", 1)[0]
    assert ("C1: Cloudier countries have more MS supported coefficient = 0.0688, 95 % CI 0.05 "
            "to 0.09, n = 6") in card
    rows = page.tables["claims-full"]
    assert rows[0] == ["ID", "Claim", "Outcome (sample)", "Rule and test", "Estimate (95 % CI)", "n", "Verdict",
                       "Caveat"]
    assert rows[2] == ["C2", "The link survives latitude & wealth", "", "OLS + |lat| + log GDP",
                       "0.011 (-0.02 to 0.04)", "6", "not supported",
                       "<b>confounded</b> by latitude"]
    assert "&lt;b&gt;confounded&lt;/b&gt;" in html  # autoescaped, not markup
    assert html.index('id="claims-details"') > html.index('id="key-figure"')
    assert '<details id="claims-details">' in html


def test_sections_sources_coverage_and_models(report: dict[str, Path]) -> None:
    page = _parse(report["html"].read_text(encoding="utf-8"))
    text = page.plain
    for heading in ("Answer", "Claims", "Key figure", "The question", "Details", "Methods",
                    "Data sources", "Figures", "Sensitivity results", "Caveats"):
        assert heading in text
    assert ("There is a higher rate of MS patients in countries where the climates are "
            "cloudier.") in text
    assert page.tables["sources"][1] == ["GBD 2016", "1990–2016", "IHME, non-commercial",
                                         "GBD 2016 MS Collaborators 2019"]
    assert page.tables["sources"][2][:2] == ["CRU CL 1.0", "1961–1990"]
    assert page.tables["files"][1] == ["GBD 2016", "IHME-GBD_2016.csv", "ab" * 32]
    assert ("8 regions in the analysis table; 6 with an MS prevalence value, 6 with prevalence "
            "and all model covariates. 2 region(s) are missing:") in text
    assert page.tables["missing"][1:] == [["GGG", "Land GGG", "no GBD estimate"],
                                          ["HHH", "Land HHH", "no latitude"]]
    assert page.tables["models"][1] == ["ols", "all", "cloud_cover_pct", "log_prevalence", "6",
                                        "0.0688", "0.05 to 0.09", "<0.001", "0.93", ""]
    assert page.tables["models"][2][7:] == ["0.410", "0.15", "HC3 errors"]
    # methods define the derived exposures, the CI method and the subsets
    methods = text.split("Methods", 1)[1]
    assert "cloudiness_sunshine_pct is an effective cloudiness derived from sunshine" in methods
    assert "sunshine_hours_cities is the mean annual hours of bright sunshine" in methods
    assert "HC3 heteroscedasticity-robust standard errors with t quantiles" in methods
    assert ("“Europe” is Natural Earth's continent Europe: 2 countries with prevalence "
            "(all of Russia") in methods
    # figure captions come from the PNG metadata; forest plot sits in the sensitivity section
    html = report["html"].read_text(encoding="utf-8")
    assert "Figure 1. MS prevalence per 100,000 by region." in text
    assert html.index('id="fig-forest-plot"') > html.index('id="sensitivity"')
    assert html.index('id="fig-prevalence-map"') < html.index('id="sensitivity"')


def test_full_claims_give_a_claims_text_rule_and_caveat_once(tmp_path: Path,
                                                             figure_paths: list[Path]) -> None:
    _, _, _, claims, meta = _inputs()
    c1 = claims.iloc[[0]].assign(rule="r rule", outcome="GBD", outcome_id="gbd2016_prev",
                                 outcome_kind="modelled", sample="all")
    two = pd.concat([c1, c1.assign(outcome="Atlas", outcome_id="atlas2020",
                                   outcome_kind="reported", estimate=0.5)])
    html = _render(tmp_path, figure_paths, claims=two, meta=meta)["html"].read_text(
        encoding="utf-8")
    rows = _parse(html).tables["claims-full"]
    assert rows[1][:4] == ["C1", "Cloudier countries have more MS", "The modelled GBD 2016 (all)",
                           "r rule"]
    assert rows[1][-1] == "crude association"
    assert rows[2][:4] == ["C1", "", "The reported Atlas of MS 2020 (all)", ""]
    assert rows[2][4].startswith("0.5 ") and rows[2][-1] == ""


def test_pre_specification_and_agreement_when_present(tmp_path: Path,
                                                      figure_paths: list[Path]) -> None:
    _, _, _, claims, meta = _inputs()
    direction = ("direction: 2 of 3 sources exclude 0 in the claimed direction, 0 in the "
                 "opposite one; estimates from 0.05 to 0.3")
    claims = claims.assign(agreement=[direction, "agrees in 3 of 4 independent sources"])
    meta = meta | {"n_intervals": 120, "n_primary": 4}
    html = _render(tmp_path, figure_paths, claims=claims, meta=meta)["html"].read_text(
        encoding="utf-8")
    text = _parse(html).plain
    assert ("Analysis plan: 4 primary analyses are declared in the analysis plan "
            "(docs/analysis_plan.md, its hash at the top of the Answer); the GBD 2016 results "
            "were seen before the plan was frozen, so their verdicts are post hoc. 120 "
            "intervals") in text
    assert f'<p class="agree">{direction}</p>' in html
    assert "agrees in 3 of 4" not in text.split("Details", 1)[0]  # no vote counting
    plain = _render(tmp_path, figure_paths)["html"].read_text(encoding="utf-8")
    assert 'class="agree"' not in plain and "primary analyses are declared" not in plain


def test_triangulation_figure_is_the_key_figure_when_drawn(tmp_path: Path,
                                                           figure_paths: list[Path]) -> None:
    import shutil

    tri = tmp_path / "figures" / "triangulation.png"
    tri.parent.mkdir()
    shutil.copy(figure_paths[-1], tri)  # any PNG will do: the stem decides
    html = _render(tmp_path, [*figure_paths, tri])["html"].read_text(encoding="utf-8")
    key = html.split('id="key-figure"', 1)[1].split("</section>", 1)[0]
    assert 'id="fig-triangulation"' in key


def test_caveats_and_dosing_sentence(report: dict[str, Path]) -> None:
    page = _parse(report["html"].read_text(encoding="utf-8"))
    caveats = page.plain.split("Caveats", 1)[1]
    assert "says nothing about an individual's risk" in caveats
    assert "modelled estimates (DisMod-MR)" in caveats
    assert "Recorded MS prevalence follows diagnostic access" in caveats
    assert ("The article's dosing advice (14,000–40,000 IU of vitamin D a day, far above the "
            "4,000 IU a day tolerable upper intake level for adults) is not something these "
            "data can test.") in caveats
    md = report["md"].read_text(encoding="utf-8")
    assert f"- {render.DOSING_CAVEAT}" in md


def test_no_sample_banner_outside_sample_mode(report: dict[str, Path]) -> None:
    assert "BUILT-IN SAMPLE" not in report["html"].read_text(encoding="utf-8")
    assert "BUILT-IN SAMPLE" not in report["md"].read_text(encoding="utf-8")


def test_sample_banner_tops_both_reports(tmp_path: Path, figure_paths: list[Path]) -> None:
    meta = _inputs()[4] | {"sample": True}
    paths = _render(tmp_path, figure_paths, meta=meta)
    page = _parse(paths["html"].read_text(encoding="utf-8"))
    body_tags = [(t, a) for t, a in page.tags if t not in ("html", "head", "meta", "title",
                                                           "style", "body", "main")]
    assert body_tags[0] == ("div", {"class": "banner", "id": "sample-banner", "role": "alert"})
    assert page.plain.split(" Is MS more")[0].endswith(render.SAMPLE_BANNER)
    md = paths["md"].read_text(encoding="utf-8")
    assert md.startswith(f"> **{render.SAMPLE_BANNER}**\n\n# Is MS more common")


# --------------------------------------------------------------------------- Markdown


def test_markdown_links_figures_relatively(report: dict[str, Path]) -> None:
    md = report["md"].read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links == ["figures/scatter_cloud_cover_pct.png", "figures/prevalence_map.png",
                     "figures/forest_plot.png"]
    for link in links:
        assert (report["md"].parent / link).is_file()
    assert "data:image" not in md
    assert ("| C2 | The link survives latitude & wealth |  | OLS + \\|lat\\| + log GDP | "
            "0.011 (-0.02 to 0.04) | 6 | **not supported** | <b>confounded</b> by latitude |"
            ) in md
    assert ("| **C2** The link survives latitude & wealth |  | **not supported** | coefficient "
            "= 0.011, 95 % CI −0.02 to 0.04, n = 6 |  |") in md
    assert "\n\n\n" not in md


# --------------------------------------------------------------------------- failures


def test_corrupt_figure_fails_and_keeps_previous_report(tmp_path: Path,
                                                        figure_paths: list[Path]) -> None:
    first = _render(tmp_path, figure_paths)
    before = {k: p.read_bytes() for k, p in first.items()}
    bad = tmp_path / "broken.png"
    bad.write_bytes(figure_paths[0].read_bytes()[:100])  # truncated PNG
    with pytest.raises(FormatError, match=rf"^{re.escape(str(bad))}: figure is not a readable "
                                          r"PNG") as info:
        _render(tmp_path, [*figure_paths, bad])
    assert info.value.hint == "Delete it and draw the figures again."
    assert {k: p.read_bytes() for k, p in first.items()} == before
    with pytest.raises(FormatError, match=r"missing\.png: figure PNG cannot be read"):
        _render(tmp_path, [tmp_path / "missing.svg"])
    assert {k: p.read_bytes() for k, p in first.items()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png", "report.html",
                                                          "report.md"]


def test_failure_while_rendering_markdown_keeps_previous_html(
        tmp_path: Path, figure_paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    first = _render(tmp_path, figure_paths)
    before = first["html"].read_bytes()

    def failing_cell(value: object) -> str:
        raise RuntimeError("figure caption exploded")

    monkeypatch.setattr(render, "_md_cell", failing_cell)
    changed = _inputs()[4] | {"run_name": "second-run"}
    with pytest.raises(RuntimeError, match="figure caption exploded"):
        _render(tmp_path, figure_paths, meta=changed)
    assert first["html"].read_bytes() == before
    assert "second-run" not in first["html"].read_text(encoding="utf-8")


def test_missing_claims_column_is_a_schema_error(tmp_path: Path,
                                                 figure_paths: list[Path]) -> None:
    claims = _inputs()[3].drop(columns="verdict")
    with pytest.raises(SchemaError, match=r"^claims table: missing column\(s\) verdict$"):
        _render(tmp_path, figure_paths, claims=claims)
    assert list(tmp_path.iterdir()) == []


def test_many_missing_regions_list_the_first_ones_and_write_them_all(
        tmp_path: Path, figure_paths: list[Path]) -> None:
    meta = _inputs()[-1]
    many = [{"region_id": f"R{i:05d}", "name": f"cell {i}", "reason": "no MS prevalence value"}
            for i in range(1234)]
    files = _render(tmp_path, figure_paths, meta={**meta, "missing_regions": many})
    page = _parse(files["html"].read_text(encoding="utf-8"))
    rows = page.tables["missing"][1:]
    assert len(rows) == render.MAX_LISTED_REGIONS == 500
    assert rows[0] == ["R00000", "cell 0", "no MS prevalence value"]
    assert rows[-1][0] == "R00499"
    assert ("1234 region(s) are missing (the first 500 below; all of them in "
            "missing_regions.csv") in page.plain
    assert ('<a href="missing_regions.csv">missing_regions.csv</a>'
            in files["html"].read_text(encoding="utf-8"))
    written = pd.read_csv(files["missing_regions"])
    assert files["missing_regions"] == tmp_path / "missing_regions.csv"
    assert len(written) == 1234 and written["region_id"].iloc[-1] == "R01233"
    md = files["md"].read_text(encoding="utf-8")
    assert "1234 region(s) are missing (the first 500 below" in md
    assert md.count("| no MS prevalence value |") == 500
    # with few missing regions every one is listed and no file is written
    few = _render(tmp_path / "few", figure_paths)
    assert "missing_regions" not in few and not (tmp_path / "few" / "missing_regions.csv").exists()
