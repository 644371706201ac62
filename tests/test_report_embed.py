"""The PNG copies the HTML report embeds, drawn by the figure workers (report/_embed.py).

A figure wider than the page column is embedded downscaled to EMBED_MAX_PX. Within
``sidecars()`` (the pipeline's report stage) the process that saves a figure also writes
that copy; the report takes it (and removes it) instead of decoding the PNG again. The
copy must be the figure itself (same size as the report would make, pixels close to a
box-filtered downscale of the full PNG), a stale copy must never be embedded, and
figures drawn outside ``sidecars()`` write nothing but the formats asked for.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_report import _inputs

from geo_ms.report import _embed, figures, render_report
from geo_ms.report.figures import FigureJob, render

_, TABLE, MODELS, CLAIMS, META = _inputs()


def _embedded(html: Path) -> list[bytes]:
    text = html.read_text(encoding="utf-8")
    parts = text.split('src="data:image/png;base64,')[1:]
    return [base64.b64decode(p.split('"', 1)[0]) for p in parts]


def _report(out: Path, pngs: list[Path]) -> list[bytes]:
    files = render_report(out, table=TABLE, models=MODELS, claims=CLAIMS,
                          figures=pngs, meta=META)
    return _embedded(files["html"])


def test_outside_sidecars_nothing_but_the_png_is_written(tmp_path: Path) -> None:
    paths = figures.forest_plot(tmp_path, MODELS, meta=META)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest_plot.png"]
    assert paths == [tmp_path / "forest_plot.png"]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_worker_copy_is_embedded_and_then_removed(tmp_path: Path, workers: int) -> None:
    figs = tmp_path / "figures"
    with _embed.sidecars():
        pngs = render([FigureJob(figures.forest_plot, (figs, MODELS), {"meta": META}),
                       FigureJob(figures.forest_plot, (figs, MODELS),
                                 {"meta": META, "stem": "forest_b"})], workers=workers)
    side = _embed.sidecar_path(pngs[0])
    assert side.is_file() and _embed.sidecar_path(pngs[1]).is_file()
    copy = side.read_bytes()
    with Image.open(pngs[0]) as full:
        assert full.width > _embed.EMBED_MAX_PX  # the forest plot is wider than the page
        want = (_embed.EMBED_MAX_PX, round(full.height * _embed.EMBED_MAX_PX / full.width))
        reference = np.asarray(full.convert("RGB").resize(want, Image.Resampling.BOX), float)
    shown = _report(tmp_path, pngs)
    assert shown[0] == copy  # the worker's copy, not one made again here
    assert not side.exists() and not _embed.sidecar_path(pngs[1]).exists()
    with Image.open(io.BytesIO(shown[0])) as img:
        assert img.size == want and img.mode == "P"
        # the same picture: a box-filtered downscale of the full PNG, up to the
        # 128-colour palettes of the two (mean difference well under 1 % of 255)
        assert np.abs(np.asarray(img.convert("RGB"), float) - reference).mean() < 2.0
    # the copy was taken: a second report makes its own from the PNG, the same size
    again = _report(tmp_path / "again", pngs)
    with Image.open(io.BytesIO(again[0])) as img:
        assert img.size == want


def test_a_copy_older_than_its_png_is_not_embedded(tmp_path: Path) -> None:
    with _embed.sidecars():
        png = figures.forest_plot(tmp_path / "figures", MODELS, meta=META)[0]
    side = _embed.sidecar_path(png)
    white = Image.new("RGB", (2000, 1000), "white")
    side.write_bytes(_embed.embed_bytes(white))  # not this figure
    old = png.stat().st_mtime_ns - 10**9
    os.utime(side, ns=(old, old))  # written before the PNG was drawn again
    shown = _report(tmp_path, [png])
    with Image.open(io.BytesIO(shown[0])) as img:
        assert img.size != (1240, 620)  # the forest plot's own proportions
        assert len(img.convert("RGB").getcolors(256) or range(300)) > 2  # not blank
    assert not side.exists()


def test_a_png_as_narrow_as_the_page_is_embedded_as_drawn(tmp_path: Path) -> None:
    png = tmp_path / "narrow.png"
    Image.new("RGB", (800, 400), "red").save(png)
    with _embed.sidecars():
        _embed.write_sidecar(png, Image.open(png))
    assert not _embed.sidecar_path(png).exists()
    assert _report(tmp_path, [png]) == [png.read_bytes()]
