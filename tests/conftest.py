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


@pytest.fixture(scope="session")
def full_run(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The default analysis on the mirror, run once per session in a temporary home
    (``n_boot`` = 300), then again (cached) and with ``models.knn = 5``. ``snapshot``
    holds the first run's ``data/processed`` CSVs (the later runs overwrite them)."""
    import shutil
    import time

    from geo_ms.config import load_config
    from geo_ms.pipeline.run import run

    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("GEO_MS_HOME")
    os.environ["GEO_MS_HOME"] = str(home)
    try:
        cfg = load_config(overrides={"models.n_boot": 300})
        t0 = time.perf_counter()
        first = run(cfg, say=lambda m: None)
        t1 = time.perf_counter()
        snap = home / "snapshot"
        snap.mkdir()
        for f in (home / "data/processed").glob("*.csv"):
            shutil.copy2(f, snap / f.name)
        second = run(cfg, say=lambda m: None)
        t2 = time.perf_counter()
        third = run(load_config(overrides={"models.n_boot": 300, "models.knn": 5}),
                    say=lambda m: None)
    finally:
        if old is None:
            os.environ.pop("GEO_MS_HOME", None)
        else:
            os.environ["GEO_MS_HOME"] = old
    return {"home": home, "snapshot": home / "snapshot", "first": first, "second": second,
            "third": third,
            "t_first": t1 - t0, "t_second": t2 - t1}
