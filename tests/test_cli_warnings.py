"""Library warnings on the command line: one logged ``warning:`` line, never Python's raw
``path:line: Category: message`` display with the source line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geo_ms import cli
from geo_ms.exposures import weights
from geo_ms.ingest import fetch


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    monkeypatch.setenv("GEO_MS_OFFLINE", "1")
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.delenv("GEO_MS_DEBUG", raising=False)
    monkeypatch.setattr(fetch, "network_available", lambda *a, **k: False)
    return tmp_path


def test_a_warning_during_a_run_is_one_logged_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged coverage-weights cache makes geo_ms warn and recompute (a real warning
    of weights.coverage_weights, raised while the CLI runs the exposures stage)."""
    (home / "a.toml").write_text('[run]\nsample = "always"\n[exposures]\nwindows = ["annual"]\n')
    (home / "b.toml").write_text('[run]\nsample = "always"\n'
                                 '[exposures]\nwindows = ["annual", "winter"]\n')
    weights._MEMO.clear()  # other tests may hold these weights in memory: write them to disk
    assert cli.main(["exposures", "--config", str(home / "a.toml")]) == 0
    cached = sorted((home / "data/processed/.cache/weights").glob("coverage_*.npz"))
    assert cached
    for f in cached:
        f.write_bytes(b"not a zip")
    weights._MEMO.clear()  # forget the in-memory copy so that the damaged file is read
    capsys.readouterr()
    assert cli.main(["exposures", "--config", str(home / "b.toml")]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "weights cache" in ln]
    assert len(lines) == len(cached), err
    assert all(re.fullmatch(r"warning: UserWarning: \S+coverage_\w+\.npz: unreadable or stale "
                            r"weights cache, recomputing", ln) for ln in lines), lines
    assert not re.search(r"\.py:\d+: \w*Warning", err), err  # no raw warning display
    assert "warnings.warn(" not in err


def test_warning_capture_is_undone_after_the_command(home: Path) -> None:
    import logging
    import warnings

    cli.main(["--help"])
    assert logging.getLogger("py.warnings").handlers == []
    with pytest.warns(UserWarning, match="still a normal warning"):
        warnings.warn("still a normal warning", stacklevel=1)
