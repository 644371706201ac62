"""Open the rendered report and the interactive map in headless Chromium (offline).

A small probe script, injected into a *test copy* of each page, records script
errors, image loading and layout facts as attributes of ``<body>``; Chromium's
``--dump-dom`` prints the DOM after the load event, and the test reads them back.
The probe itself is checked on a page with a broken image.

Skips when no Chromium is installed, unless ``GEO_MS_REQUIRE_BROWSER=1`` (CI), then
fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo_ms.report import figures, interactive_map, render_report

pytestmark = pytest.mark.browser

IDS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG"]

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
window.addEventListener('load', function () {
  setTimeout(function () {
    var b = document.body, imgs = [].slice.call(document.images);
    b.setAttribute('data-images', imgs.length);
    b.setAttribute('data-broken', imgs.filter(function (i) {
      return !(i.complete && i.naturalWidth > 0); }).length);
    b.setAttribute('data-errors', JSON.stringify(window.__errors));
    b.setAttribute('data-scroll-width', document.documentElement.scrollWidth);
    b.setAttribute('data-inner-width', window.innerWidth);
    var t = document.getElementById('claims');
    b.setAttribute('data-claims-rows', t ? t.querySelectorAll('.card').length : -1);
    b.setAttribute('data-claims-height', t ? Math.round(t.getBoundingClientRect().height) : 0);
    var over = [];
    ['answer', 'claims-section'].forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { over.push(id + ':missing'); return; }
      [el].concat([].slice.call(el.querySelectorAll('*'))).forEach(function (e) {
        var r = e.getBoundingClientRect();
        if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible'
            || r.right > window.innerWidth + 0.5) { over.push(id + ':' + e.tagName); }
      });
    });
    b.setAttribute('data-overflow', JSON.stringify(over));
    var p = document.querySelector('path.leaflet-interactive');
    b.setAttribute('data-fill-before', p ? p.getAttribute('fill') : '');
    var radios = document.querySelectorAll('#geo-ms-layers input[name=gm-layer]');
    if (p && radios.length > 1) {
      radios[1].checked = true;
      radios[1].dispatchEvent(new Event('change'));
      b.setAttribute('data-fill-after', p.getAttribute('fill'));
      var shown = [].slice.call(document.querySelectorAll('#geo-ms-legend [data-column]'))
        .filter(function (e) { return e.style.display !== 'none'; })
        .map(function (e) { return e.getAttribute('data-column'); });
      b.setAttribute('data-legend-shown', JSON.stringify(shown));
    }
    b.setAttribute('data-leaflet', typeof L === 'undefined' ? 'none' : L.version);
    b.setAttribute('data-paths', document.querySelectorAll('path.leaflet-interactive').length);
    b.setAttribute('data-probe', 'done');
  }, 50);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    reason = ("headless Chromium not found (install it: apt-get install chromium); "
              "set GEO_MS_REQUIRE_BROWSER=1 to make this a failure")
    if os.environ.get("GEO_MS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GEO_MS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium()


def _run(chromium: str, page: Path, profile: Path, *extra: str,
         size: str = "1280,900") -> subprocess.CompletedProcess[str]:
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", f"--window-size={size}",
           "--hide-scrollbars", "--virtual-time-budget=5000", *extra, page.as_uri()]
    # the timeout only guards against a hung browser; nothing is timed
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


class _Body(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and not self.attrs:
            self.attrs = dict(attrs)


def _probe(chromium: str, html: Path, tmp: Path, size: str = "1280,900") -> dict[str, str]:
    copy = tmp / f"probe_{html.name}"
    copy.write_text(html.read_text(encoding="utf-8").replace("<head>", "<head>\n" + PROBE, 1),
                    encoding="utf-8")
    result = _run(chromium, copy, tmp / "profile", "--dump-dom", size=size)
    assert result.returncode == 0, result.stderr[-2000:]
    parser = _Body()
    parser.feed(result.stdout)
    attrs = {k[5:]: v or "" for k, v in parser.attrs.items() if k.startswith("data-")}
    assert attrs.get("probe") == "done", result.stdout[:500]
    return attrs


def _inputs() -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    geoms = [box(-150 + 40 * (i % 4), -40 + 50 * (i // 4), -115 + 40 * (i % 4),
                 5 + 50 * (i // 4)) for i in range(len(IDS))]
    regions = gpd.GeoDataFrame({"region_id": IDS}, geometry=geoms, crs="EPSG:4326")
    table = pd.DataFrame({
        "region_id": IDS, "iso3": IDS, "name": [f"Land {c}" for c in IDS],
        "continent": ["Europe", "Europe", "Africa", "Africa", "Asia", "Asia", "Oceania"],
        "abs_latitude": [55, 50, 10, 20, 30, 25, 40.0],
        "gdp_per_capita": [40000, 30000, 2000, 3000, 8000, 10000, 35000.0],
        "cloud_cover_pct": [70.0, 65.0, 30.0, 40.0, 50.0, 55.0, 60.0],
        "prevalence_per_100k": [150.0, 120.0, 10.0, 20.0, 40.0, 35.0, np.nan],
        "resid": [0.3, -0.2, -0.5, 0.1, 0.2, -0.1, np.nan],
    })
    models = pd.DataFrame({
        "model": ["ols", "ols_controls"], "subset": ["all", "all"],
        "exposure": ["cloud_cover_pct"] * 2, "outcome": ["log_prevalence"] * 2, "n": [6, 6],
        "estimate": [0.07, 0.01], "ci_low": [0.05, -0.02], "ci_high": [0.09, 0.04],
        "p_value": [0.0002, 0.41], "std_estimate": [0.93, 0.15], "note": ["", ""],
    })
    claims = pd.DataFrame({
        "claim_id": ["C1", "C2", "C3"],
        "claim": ["Cloudier countries have more MS", "Survives latitude and wealth",
                  "Vitamin D doses of 14,000–40,000 IU a day help"],
        "test": ["OLS", "OLS + controls", "—"], "estimate": [0.07, 0.01, np.nan],
        "ci_low": [0.05, -0.02, np.nan], "ci_high": [0.09, 0.04, np.nan], "n": [6, 6, np.nan],
        "verdict": ["supported", "not supported", "not testable"],
        "caveat": ["crude", "confounded by latitude",
                   "a very long caveat " * 12],
    })
    meta = {"sources": [{"id": "gbd2016", "title": "GBD 2016", "licence": "IHME",
                         "files": [{"name": "a-very-long-file-name-without-breaks.csv",
                                    "sha256": "0123456789abcdef" * 4}]}],
            "run_name": "browser", "sample": True,
            "missing_regions": [{"region_id": "GGG", "name": "Land GGG", "reason": "no GBD"}],
            "config": {}, "versions": {}}
    return regions, table, models, claims, meta


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    regions, table, models, claims, meta = _inputs()
    out = tmp_path_factory.mktemp("browser")
    paths = (figures.prevalence_map(out / "figures", regions, table, meta=meta)
             + figures.scatter_with_fit(out / "figures", table, "cloud_cover_pct", meta=meta)
             + figures.forest_plot(out / "figures", models, meta=meta))
    return render_report(out, table=table, models=models, claims=claims, figures=paths,
                         meta=meta)["html"]


def test_report_loads_without_errors_or_broken_images(chromium: str, report_html: Path,
                                                      tmp_path: Path) -> None:
    facts = _probe(chromium, report_html, tmp_path)
    assert json.loads(facts["errors"]) == []
    assert facts["images"] == "3"
    assert facts["broken"] == "0"  # every image decoded
    assert facts["claims-rows"] == "3"  # one card per claim
    assert int(facts["claims-height"]) > 50  # the cards are laid out and visible
    assert json.loads(facts["overflow"]) == []  # Answer and claims fit 1280 px


def test_report_screenshot_at_1280_px(chromium: str, report_html: Path,
                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    from PIL import Image

    shot = tmp_path_factory.getbasetemp() / "report_1280.png"
    result = _run(chromium, report_html, tmp_path_factory.mktemp("profile"),
                  f"--screenshot={shot}", size="1280,2400")
    assert result.returncode == 0, result.stderr[-2000:]
    print(f"report screenshot: {shot}")
    with Image.open(shot) as img:
        assert img.size == (1280, 2400)
        # not a blank page: the Answer's text darkens the top of the page
        top = np.asarray(img.convert("L").crop((0, 0, 1280, 600)))
    assert (top < 100).sum() > 2_000


def test_report_fits_a_phone_screen(chromium: str, report_html: Path, tmp_path: Path) -> None:
    facts = _probe(chromium, report_html, tmp_path, size="390,844")
    # wide tables scroll inside their own box; the page itself never scrolls sideways
    assert int(facts["inner-width"]) <= 500  # headless Chromium's narrowest window
    assert int(facts["scroll-width"]) <= int(facts["inner-width"]), facts


def test_report_screenshot_shows_the_sample_banner(chromium: str, report_html: Path,
                                                   tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    result = _run(chromium, report_html, tmp_path / "profile", f"--screenshot={shot}",
                  size="1280,900")
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (1280, 900)
        top = np.asarray(img.convert("RGB").crop((0, 0, 1280, 120))).astype(int)
    r, g, b = top[..., 0], top[..., 1], top[..., 2]
    reds = int(((r > 150) & (g < 40) & (b < 60)).sum())
    assert reds > 20_000  # the banner (#b00020) spans the top of the page


def test_probe_detects_a_broken_image_and_a_script_error(chromium: str,
                                                         tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>x</title></head><body>'
                    '<img src="data:image/png;base64,AAAA"><script>undefinedCall();</script>'
                    '<section id="answer"><div style="width:3000px">wide</div></section>'
                    '<section id="claims-section"></section>'
                    "</body></html>", encoding="utf-8")
    facts = _probe(chromium, page, tmp_path)
    assert facts["broken"] == "1"
    assert json.loads(facts["overflow"]) == ["answer:DIV"]
    errors = json.loads(facts["errors"])
    assert any("undefinedCall" in e for e in errors), errors


def test_interactive_map_works_offline(chromium: str, tmp_path: Path) -> None:
    regions, table, *_ = _inputs()
    path = interactive_map(tmp_path / "map.html", regions, table,
                           ["prevalence_per_100k", "cloud_cover_pct"])
    facts = _probe(chromium, path, tmp_path)
    assert json.loads(facts["errors"]) == []
    assert facts["leaflet"] == "1.9.3"  # the inlined copy, no CDN needed
    assert facts["paths"] == str(len(IDS))  # each region drawn once
    # the layer switch restyles the same polygons: AAA's fill goes from its prevalence
    # colour (viridis, the top of the log scale) to its cloud-cover colour (cividis)
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    assert facts["fill-before"] == to_hex(colormaps["viridis"](1.0))
    assert facts["fill-after"] == to_hex(colormaps["cividis"](1.0))
    assert json.loads(facts["legend-shown"]) == ["cloud_cover_pct"]
    shot = tmp_path / "map_1280.png"
    result = _run(chromium, path, tmp_path / "profile2", f"--screenshot={shot}",
                  size="1280,800")
    assert result.returncode == 0, result.stderr[-2000:]
    print(f"map screenshot: {shot}")
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=\"(https?:)?//",
                         path.read_text(encoding="utf-8"))


#: Region names, ids and continents a polygon file may carry (issue 20, item 1).
HOSTILE = ['"><img src=x onerror=alert(2)>', "</script><script>alert(3)</script>",
           "<svg onload=alert(4)>", "<!--<script>alert(5)//", "' onmouseover='alert(6)",
           "&lt;b&gt;entity&lt;/b&gt;", "Land GGG"]

#: Overrides window.alert before any other script, opens each region's tooltip with
#: mouse events, and records the tooltips' text and whether any alert ran.
TOOLTIP_PROBE = """<script>
window.__alerts = [];
window.alert = function (m) { window.__alerts.push(String(m)); };
window.addEventListener('load', function () {
  setTimeout(function () {
    var texts = [];
    [].slice.call(document.querySelectorAll('path.leaflet-interactive')).forEach(function (p) {
      var r = p.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
      ['mouseover', 'mousemove'].forEach(function (t) {
        p.dispatchEvent(new MouseEvent(t, {bubbles: true, clientX: x, clientY: y, view: window}));
      });
      var tip = document.querySelector('.leaflet-tooltip');
      texts.push(tip ? tip.textContent : '');
      p.dispatchEvent(new MouseEvent('mouseout', {bubbles: true, clientX: x, clientY: y,
                                                  view: window}));
    });
    setTimeout(function () {
      var b = document.body;
      b.setAttribute('data-alerts', JSON.stringify(window.__alerts));
      b.setAttribute('data-tooltips', JSON.stringify(texts));
      b.setAttribute('data-injected', document.querySelectorAll(
        '.leaflet-tooltip img, .leaflet-tooltip svg, .leaflet-tooltip script').length);
      b.setAttribute('data-probe', 'done');
    }, 200);
  }, 100);
});
</script>"""


def _tooltips(chromium: str, html: Path, tmp: Path) -> dict[str, str]:
    copy = tmp / f"tips_{html.name}"
    copy.write_text(html.read_text(encoding="utf-8").replace("<head>", "<head>\n" + TOOLTIP_PROBE,
                                                             1), encoding="utf-8")
    result = _run(chromium, copy, tmp / "profile-tips", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    parser = _Body()
    parser.feed(result.stdout)
    attrs = {k[5:]: v or "" for k, v in parser.attrs.items() if k.startswith("data-")}
    assert attrs.get("probe") == "done", result.stdout[:500]
    return attrs


def test_map_tooltips_show_hostile_names_as_text(chromium: str, tmp_path: Path) -> None:
    """A polygon file's names are data: the tooltip shows them verbatim, none runs."""
    regions, table, *_ = _inputs()
    table = table.assign(name=HOSTILE, continent=HOSTILE[::-1])
    path = interactive_map(tmp_path / "map.html", regions, table,
                           ["prevalence_per_100k", "cloud_cover_pct"])
    facts = _tooltips(chromium, path, tmp_path)
    assert json.loads(facts["alerts"]) == []
    assert facts["injected"] == "0"
    tips = json.loads(facts["tooltips"])
    assert len(tips) == len(IDS)
    for tip, name, cont in zip(tips, HOSTILE, HOSTILE[::-1], strict=True):
        assert name in tip and cont in tip, (tip, name)


def test_map_tooltips_of_the_plain_map(chromium: str, tmp_path: Path) -> None:
    regions, table, *_ = _inputs()
    path = interactive_map(tmp_path / "map.html", regions, table, ["prevalence_per_100k"])
    facts = _tooltips(chromium, path, tmp_path)
    assert json.loads(facts["alerts"]) == []
    tips = json.loads(facts["tooltips"])
    # name, id, continent, then the value (AAA: 150 per 100,000)
    assert tips[0].startswith("nameLand AAA") or "Land AAA" in tips[0], tips[0]
    assert "AAA" in tips[0] and "Europe" in tips[0] and "150" in tips[0], tips[0]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`geo-ms run` (offline, built-in rasters) on seven European polygons whose names,
    two ids and the MS table's source are script payloads; returns reports/latest."""
    import contextlib
    import csv
    import io

    from geo_ms import cli
    from geo_ms.ingest import fetch

    d = tmp_path_factory.mktemp("hostile")
    home = d / "home"
    home.mkdir()
    ids = ['R1"><img src=x onerror=alert(8)>', "<b>R2</b>", "R3", "R4", "R5", "R6", "R7"]
    boxes = [box(-5 + 5 * (i % 4), 40 + 5 * (i // 4), 5 * (i % 4), 45 + 5 * (i // 4))
             for i in range(len(ids))]
    gpd.GeoDataFrame({"id": ids, "label": HOSTILE}, geometry=boxes, crs="EPSG:4326").to_file(
        d / "hostile.geojson")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["region_id", "prevalence_per_100k", "year", "age_standardised", "source"])
    for i, rid in enumerate(ids):
        w.writerow([rid, 50 + 20 * i, 2011, "no", "<script>alert(9)</script> survey"])
    (d / "prev.csv").write_text(buf.getvalue(), encoding="utf-8")
    (d / "c.toml").write_text(
        f'[run]\nsample = "always"\nname = "hostile"\n[prevalence]\nsource = "user"\n'
        f'file = "{d / "prev.csv"}"\n[regions]\nset = "polygons"\n'
        f'file = "{d / "hostile.geojson"}"\nid_column = "id"\nname_column = "label"\n'
        f"[models]\nn_boot = 200\nmin_regions = 3\n", encoding="utf-8")
    env = {"GEO_MS_HOME": str(home), "GEO_MS_OFFLINE": "1"}
    old = {k: os.environ.get(k) for k in (*env, "GEO_MS_DATA_MIRROR")}
    os.environ.update(env)
    os.environ.pop("GEO_MS_DATA_MIRROR", None)
    probe = fetch.network_available
    fetch.network_available = lambda *a, **k: False  # type: ignore[assignment]
    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = cli.main(["run", "--config", str(d / "c.toml")])
    finally:
        fetch.network_available = probe  # type: ignore[assignment]
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert code == 0, err.getvalue()[-3000:]
    return home / "reports/latest"


def test_run_with_hostile_names_runs_no_script(chromium: str, hostile_run: Path,
                                               tmp_path: Path) -> None:
    """The map and the report of a run on hostile names and sources: opening every
    tooltip and loading the report runs no injected script; the names show as text."""
    facts = _tooltips(chromium, hostile_run / "map.html", tmp_path)
    assert json.loads(facts["alerts"]) == []
    assert facts["injected"] == "0"
    tips = json.loads(facts["tooltips"])
    assert len(tips) == 7
    for name in HOSTILE:
        assert any(name in t for t in tips), (name, tips)
    assert any('R1"><img src=x onerror=alert(8)>' in t for t in tips)
    page = tmp_path / "report_probe.html"
    page.write_text((hostile_run / "report.html").read_text(encoding="utf-8").replace(
        "<head>", "<head>\n" + TOOLTIP_PROBE, 1), encoding="utf-8")
    result = _run(chromium, page, tmp_path / "profile-report", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    parser = _Body()
    parser.feed(result.stdout)
    assert parser.attrs.get("data-probe") == "done"
    assert json.loads(parser.attrs.get("data-alerts") or "null") == []
    text = result.stdout.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert '"><img src=x onerror=alert(2)>' in text  # shown as text in the influence list


@pytest.mark.mirror
def test_default_run_map_tooltips_run_no_script(chromium: str, full_run: dict,
                                                tmp_path: Path) -> None:
    """The map of the default analysis on the mirror: every region's tooltip opens with
    its name as text and no script runs."""
    facts = _tooltips(chromium, full_run["third"].report_dir / "map.html", tmp_path)
    assert json.loads(facts["alerts"]) == []
    assert facts["injected"] == "0"
    tips = json.loads(facts["tooltips"])
    assert len(tips) > 150 and all(tips), tips[:5]
    assert any(t.startswith("nameFrance") or "France" in t for t in tips)
