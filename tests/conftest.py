"""Shared fixtures: the data mirror, tiny synthetic products, isolated work folders.

Tests that need the local data mirror use the ``mirror`` fixture (and carry the
``mirror`` marker): they skip with a clear reason when ``GEO_MS_DATA_MIRROR`` is
unset, and *fail the session* when ``GEO_MS_REQUIRE_MIRROR=1`` (as ``.ci/run`` sets)
and any of them was skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_SKIPPED_MIRROR: list[str] = []


def _mirror_dir() -> Path | None:
    value = os.environ.get("GEO_MS_DATA_MIRROR")
    if not value:
        return None
    path = Path(value)
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local data mirror (``$GEO_MS_DATA_MIRROR``); skips when absent."""
    path = _mirror_dir()
    if path is None:
        pytest.skip(
            "needs the local data mirror: set GEO_MS_DATA_MIRROR to a folder laid out like "
            "../shared/data (boundaries/, ms/, rasters/)"
        )
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "mirror" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mirror)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "mirror" in report.keywords:
        _SKIPPED_MIRROR.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("GEO_MS_REQUIRE_MIRROR") == "1" and _SKIPPED_MIRROR:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"ERROR: {len(_SKIPPED_MIRROR)} test(s) marked 'mirror' were skipped although "
                "GEO_MS_REQUIRE_MIRROR=1:",
                red=True,
            )
            for nodeid in _SKIPPED_MIRROR[:50]:
                reporter.write_line(f"  {nodeid}")
        session.exitstatus = 1


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder with data/raw, data/processed and reports/; cwd set to it."""
    for sub in ("data/raw", "data/processed", "reports"):
        (tmp_path / sub).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    return tmp_path
