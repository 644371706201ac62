"""The notebooks run top to bottom on the mirror data (executed with nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01-data-tour", "02-exposures", "03-claims",
                                           "04-your-own-claim"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path: Path):
    """An analyst browsing notebooks/ sees code only; the executed copies, with their
    outputs, are the HTML files `geo-ms run --notebooks` writes beside the report."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    with_outputs = [i for i, c in enumerate(nb.cells) if c.get("outputs")]
    counted = [i for i, c in enumerate(nb.cells) if c.get("execution_count") is not None]
    assert not with_outputs, f"{path.name}: cells {with_outputs} have outputs"
    assert not counted, f"{path.name}: cells {counted} have execution counts"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    # Every code cell ran and the last one produced something to look at.
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    assert code[-1].get("outputs")


def test_notebooks_use_the_one_exposure_path():
    """02 and 03 compute exposures as `geo-ms run` does (compute_exposures: with the
    city sunshine hours and min_valid_fraction), never by calling aggregate_fields."""
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                         if c.cell_type == "code")
        assert "aggregate_fields" not in code and "exposure_fields" not in code, path.stem
        if path.stem in ("02-exposures", "03-claims"):
            assert "compute_exposures(regions, exposure_specs(" in code, path.stem
        if path.stem == "04-your-own-claim":  # only the user's raster, on the same path
            assert "compute_exposures(regions, user_specs(" in code, path.stem
