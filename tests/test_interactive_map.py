"""The interactive map: one offline HTML file carrying every region's values."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_hex
from shapely.geometry import box

from geo_ms.errors import CRSError, SchemaError
from geo_ms.report import interactive_map

IDS = ["AAA", "BBB", "CCC", "DDD", "EEE"]
PREV = [150.0, 15.0, 10.0, 10 * 15**0.3, np.nan]  # DDD sits at 0.3 of the log scale
CLOUD = [70.5, 65.25, 30.0, 40.0, 50.0]
RESID = [0.3, -0.2, -0.5, 0.125, np.nan]


def _regions() -> gpd.GeoDataFrame:
    geoms = [box(-100 + 30 * i, -20, -75 + 30 * i, 30) for i in range(5)]
    return gpd.GeoDataFrame({"region_id": IDS}, geometry=geoms, crs="EPSG:4326")


def _table() -> pd.DataFrame:
    return pd.DataFrame({"region_id": IDS, "iso3": IDS, "name": [f"Land <{c}>" for c in IDS],
                         "continent": ["Europe"] * 5, "prevalence_per_100k": PREV,
                         "cloud_cover_pct": CLOUD, "resid": RESID})


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key) is not None:
                self.refs.append((tag, key, a[key] or ""))
        if tag == "script":
            self._script, self._buf = a, []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._buf.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._buf)))
            self._script = None


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, _Assets]:
    path = tmp_path_factory.mktemp("map") / "map.html"
    out = interactive_map(path, _regions(), _table(), ["prevalence_per_100k",
                                                       "cloud_cover_pct"])
    assert out == path
    html = path.read_text(encoding="utf-8")
    parser = _Assets()
    parser.feed(html)
    return path, html, parser


def test_no_network_references(page: tuple[Path, str, _Assets]) -> None:
    _, html, parser = page
    external = [r for r in parser.refs if r[0] in ("script", "link", "img", "iframe")
                and re.match(r"\s*(https?:)?//", r[2])]
    assert external == []
    assert [r for r in parser.refs if r[0] in ("script", "link")] == []  # all inline
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)  # no remote CSS urls
    leaflet = [body for attrs, body in parser.scripts if "Leaflet 1.9.3" in body]
    assert len(leaflet) == 1
    assert "tileLayer(" not in html


def test_embedded_data_matches_table(page: tuple[Path, str, _Assets]) -> None:
    _, _, parser = page
    blocks = [body for attrs, body in parser.scripts if attrs.get("id") == "geo-ms-data"]
    assert len(blocks) == 1
    records = {r["region_id"]: r for r in json.loads(blocks[0])}
    assert sorted(records) == IDS
    for i, rid in enumerate(IDS):
        rec = records[rid]
        assert rec["name"] == f"Land <{rid}>"
        assert rec["cloud_cover_pct"] == CLOUD[i]
        if np.isnan(PREV[i]):
            assert rec["prevalence_per_100k"] is None and rec["resid"] is None
        else:
            assert rec["prevalence_per_100k"] == pytest.approx(PREV[i], abs=1e-6)
            assert rec["resid"] == RESID[i]


def _colours(parser: _Assets) -> dict[str, dict[str, str]]:
    blocks = [body for attrs, body in parser.scripts if attrs.get("id") == "geo-ms-colours"]
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_each_region_is_embedded_once_and_restyled_per_column(
        page: tuple[Path, str, _Assets]) -> None:
    _, html, parser = page
    # one geometry set; prevalence, cloud cover and the residuals appended automatically
    # are colour tables the layer switch applies in JavaScript
    assert html.count('"type": "FeatureCollection"') == 1
    for rid in IDS:
        assert html.count(f'"id": "{rid}"') == 1, rid
    colours = _colours(parser)
    assert list(colours) == ["prevalence_per_100k", "cloud_cover_pct", "resid"]
    assert all(sorted(c) == IDS for c in colours.values())
    radios = re.findall(r'<input type="radio" name="gm-layer" value="([a-z_0-9]+)"', html)
    assert radios == list(colours)
    for label in ("MS prevalence per 100,000 (log scale)", "Cloud cover (%)",
                  "Model residual (log units)"):
        assert label in html


def test_colours_follow_log_scale_and_no_data_is_grey(page: tuple[Path, str,
                                                                   _Assets]) -> None:
    _, html, parser = page
    colours = _colours(parser)
    viridis = colormaps["viridis"]
    # min 10 → 0, max 150 → 1, 10·15^0.3 → 0.3 on a log scale (0.0686 on a linear one)
    prev = colours["prevalence_per_100k"]
    assert [prev[r] for r in ("CCC", "DDD", "AAA")] == [to_hex(viridis(f))
                                                        for f in (0.0, 0.3, 1.0)]
    assert prev["EEE"] == "#c8c8c8"  # EEE has no prevalence
    assert f'"fillColor": "{prev["AAA"]}"' in html  # the first column is drawn at load
    rdbu = colormaps["RdBu_r"]
    assert colours["resid"]["CCC"] == to_hex(rdbu(0.0))  # resid -0.5 = -max|resid|


def test_missing_value_column_is_a_schema_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"^interactive_map: table lacks value column\(s\) "
                                          r"uv_index$"):
        interactive_map(tmp_path / "m.html", _regions(), _table(), ["uv_index"])
    assert list(tmp_path.iterdir()) == []


def test_regions_without_crs_are_rejected(tmp_path: Path) -> None:
    regions = _regions().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"^interactive_map: regions have no CRS$"):
        interactive_map(tmp_path / "m.html", regions, _table(), ["cloud_cover_pct"])


def test_no_matching_regions_is_a_schema_error(tmp_path: Path) -> None:
    table = _table().assign(region_id=["V", "W", "X", "Y", "Z"])
    with pytest.raises(SchemaError, match=r"no region_id of the table matches the regions"):
        interactive_map(tmp_path / "m.html", _regions(), table, ["cloud_cover_pct"])


def test_natural_earth_countries_fit_in_one_offline_file(mirror: Path, tmp_path: Path) -> None:
    path = mirror / "boundaries" / "ne_10m_admin_0_countries_deu.zip"
    ne = gpd.read_file(f"zip://{path}!ne_10m_admin_0_countries_deu.shp",
                       columns=["ADM0_A3", "NAME"])
    regions = ne.rename(columns={"ADM0_A3": "region_id"})
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"region_id": regions["region_id"], "name": regions["NAME"],
                          "prevalence_per_100k": rng.uniform(1, 300, len(regions)).round(1)})
    out = interactive_map(tmp_path / "world.html", regions, table, ["prevalence_per_100k"],
                          simplify_tolerance=0.1)
    html = out.read_text(encoding="utf-8")
    size_mb = out.stat().st_size / 1e6
    assert size_mb < 8, size_mb  # measured 1.0 MB at 0.1° tolerance
    for rid in ("NOR", "FRA", "DEU", "AUS", "BRA", "JPN", "ZAF"):
        assert f'"id": "{rid}"' in html
    assert len(re.findall(r'"type": "Feature"[,}]', html)) == 250  # SOURCES.md: 250
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=\"(https?:)?//", html)


def test_sources_and_caveats_box(page: tuple[Path, str, _Assets], tmp_path: Path) -> None:
    _, html, _ = page
    caveat = "Ecological data: says nothing about individual risk; GBD values are model outputs."
    got = re.search(r'<div id="geo-ms-note">([^<]*)</div>', html).group(1)
    assert got == caveat  # the default note: the caveat alone
    path = interactive_map(tmp_path / "m.html", _regions(), _table(), ["cloud_cover_pct"],
                           note=f"Sources: CRU <CL 1.0>. {caveat}")
    box = re.search(r'<details id="geo-ms-note"[^>]*><summary>([^<]*)</summary>([^<]*)'
                    r"</details>", path.read_text(encoding="utf-8"))
    assert box.groups() == (caveat, "Sources: CRU &lt;CL 1.0&gt;.")


def test_labels_name_the_columns(tmp_path: Path) -> None:
    path = interactive_map(tmp_path / "m.html", _regions(), _table(),
                           ["prevalence_per_100k", "cloud_cover_pct"],
                           labels={"prevalence_per_100k": "MS prevalence (Atlas <2020>)"})
    html = path.read_text(encoding="utf-8")
    titles = re.findall(r'<div class="gm-legend-title">([^<]*)</div>', html)
    assert titles[:2] == ["MS prevalence (Atlas &lt;2020&gt;) (log scale)", "Cloud cover (%)"]
    switch = re.findall(r'name="gm-layer" value="[^"]*"[^>]*> ([^<]*)</label>', html)
    # the switch keeps the short labels: a wide switch would cover the map
    assert switch == ["MS prevalence per 100,000", "Cloud cover (%)",
                      "Model residual (log units)"]
