"""``[report] notebooks``: notebooks executed and written as HTML beside the report.

Small hand-written notebooks (one that prints 6 × 7 and its environment, one that
divides by zero in its second code cell) go through ``render_notebooks``; the report
links the HTML files that exist and nothing else; the configuration refuses a folder that
cannot be run.
"""

from __future__ import annotations

import html as htmlmod
import re
from pathlib import Path

import nbformat
import pytest
from test_report import _inputs, _parse

from geo_ms.config import load_config
from geo_ms.errors import ConfigError
from geo_ms.report import render_report
from geo_ms.report.notebooks import check_notebooks, notebook_digest, render_notebooks


def _write(folder: Path, name: str, cells: list[tuple[str, str]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(s) if k == "md" else nbformat.v4.new_code_cell(s)
                for k, s in cells]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    root = tmp_path_factory.mktemp("nb")
    src, out, home = root / "src", root / "report" / "notebooks", root / "home"
    home.mkdir()
    _write(src, "01-ok", [
        ("md", "# A tiny notebook\n\nText."),
        ("code", "import os\nprint('answer', 6 * 7)\nprint('home', os.environ['GEO_MS_HOME'])"),
        ("code", "open('scratch.txt', 'w').write('x')\nprint('cwd=' + os.getcwd())"),
        ("code", "import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4])"),
    ])
    _write(src, "02-fails", [
        ("md", "# Fails"),
        ("code", "x = 1"),
        ("code", "x / 0"),
        ("code", "print('never')"),
    ])
    lines: list[str] = []
    mp = pytest.MonkeyPatch()
    mp.setenv("MPLBACKEND", "Agg")  # as make exports it: the pages still get their figures
    try:
        done = render_notebooks(src, out, home=home, say=lines.append)
    finally:
        mp.undo()
    return src, out, done + [{"log": lines, "home": str(home)}]


def test_each_notebook_is_written_as_html_with_its_outputs(rendered) -> None:
    src, out, done = rendered
    ok, _, extra = done
    assert sorted(p.name for p in out.iterdir()) == ["01-ok.html", "02-fails.html"]
    assert ok == {"name": "01-ok", "title": "A tiny notebook", "href": "notebooks/01-ok.html",
                  "status": "ran", "error": "", "seconds": ok["seconds"]}
    page = (out / "01-ok.html").read_text(encoding="utf-8")
    text = htmlmod.unescape(_parse(page).plain)
    assert "answer 42" in text
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 1  # embedded
    # it opens offline, like the report: no script or style fetched from elsewhere
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert "cdnjs" not in page
    assert f"home {Path(extra['home']).resolve()}" in text  # the run's project folder
    # the kernel worked in a scratch folder, removed afterwards: nothing left behind
    assert not list(src.rglob("scratch.txt")) and not list(out.parent.rglob("scratch.txt"))
    cwd = text.split("cwd=/", 1)[1].split()[0]
    cwd = "/" + cwd
    assert Path(cwd).parent == out and not Path(cwd).exists()
    # the committed notebook is not touched: still without outputs
    assert not any(c.get("outputs") for c in nbformat.read(src / "01-ok.ipynb", 4).cells)


def test_a_failing_notebook_is_written_up_to_the_error_and_flagged(rendered) -> None:
    _, out, done = rendered
    failed, extra = done[1], done[2]
    assert failed["status"] == "failed"
    assert failed["error"] == "cell 3: ZeroDivisionError: division by zero"
    text = htmlmod.unescape(_parse((out / "02-fails.html").read_text(encoding="utf-8")).plain)
    assert "ZeroDivisionError" in text and "never" in text  # the source, not an output
    assert any(line.startswith("  notebook 02-fails.ipynb: failed in ")
               and "(cell 3: ZeroDivisionError: division by zero)" in line
               for line in extra["log"])
    assert any(line.startswith("  notebook 01-ok.ipynb: ran in ") for line in extra["log"])


def test_the_report_links_only_the_notebook_pages_that_exist(tmp_path: Path) -> None:
    from test_report import figures

    _, table, models, claims, meta = _inputs()
    fig_dir = tmp_path / "figures"
    figs = figures.scatter_with_fit(fig_dir, table, "cloud_cover_pct", meta=meta)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01-ok.html").write_text("<html></html>", encoding="utf-8")
    meta["notebooks"] = [
        {"name": "01-ok", "title": "A tiny notebook", "href": "notebooks/01-ok.html",
         "status": "ran", "error": ""},
        {"name": "02-gone", "title": "Not written", "href": "notebooks/02-gone.html",
         "status": "ran", "error": ""},
    ]
    paths = render_report(tmp_path, table=table, models=models, claims=claims, figures=figs,
                          meta=meta)
    page = _parse(paths["html"].read_text(encoding="utf-8"))
    links = [a.get("href") for tag, a in page.tags if tag == "a"]
    assert "notebooks/01-ok.html" in links and "notebooks/02-gone.html" not in links
    assert "Notebooks" in page.plain and "Not written" not in page.plain
    md = paths["md"].read_text(encoding="utf-8")
    assert "[A tiny notebook](notebooks/01-ok.html)" in md and "02-gone" not in md
    # without notebooks: no section at all
    del meta["notebooks"]
    paths = render_report(tmp_path, table=table, models=models, claims=claims, figures=figs,
                          meta=meta)
    assert 'id="notebooks"' not in paths["html"].read_text(encoding="utf-8")
    assert "## Notebooks" not in paths["md"].read_text(encoding="utf-8")


def test_the_configuration_resolves_and_checks_the_notebook_folder(tmp_path: Path) -> None:
    assert load_config()["report"]["notebooks"] == ""
    _write(tmp_path / "nbs", "a", [("code", "1")])
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('[report]\nnotebooks = "nbs"\n', encoding="utf-8")
    assert load_config(cfg_file)["report"]["notebooks"] == str((tmp_path / "nbs").resolve())
    assert notebook_digest(tmp_path / "nbs")[0][0] == "a.ipynb"
    cfg_file.write_text('[report]\nnotebooks = "nope"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.toml: key 'report\.notebooks' = '.*nope' is "
                                          r"not a folder"):
        load_config(cfg_file)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"command line: key 'report\.notebooks' = '.*empty' "
                                          r"holds no \.ipynb file"):
        check_notebooks(tmp_path / "empty", "command line")
