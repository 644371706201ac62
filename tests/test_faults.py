"""Faults lose nothing: interrupted downloads and runs, and two runs at once.

- A download cut midway (the server drops the connection, or the user presses
  Ctrl-C) leaves no partial file in the cache, and the next ``geo-ms data fetch``
  gets the whole file (pooch starts the download again; the hash is checked).
- A run interrupted while processing leaves the previous outputs byte-identical
  (every output is written to a temporary file, then renamed) and no unfinished
  stage in the cache.
- A second run on the same folders while the lock is held gets a LockError with
  the lock file named, and the command line exits with 2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.server
import io
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from filelock import FileLock

from geo_ms import cli
from geo_ms.config import load_config
from geo_ms.errors import LockError, SchemaError
from geo_ms.ingest import catalog, fetch
from geo_ms.pipeline.run import run

PAYLOAD = bytes(range(256)) * 1024  # 256 KiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


# --------------------------------------------------------------------------- downloads


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /grid.bin; while ``server.drops`` > 0 a request gets half of
    it and then the connection is cut."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv: Any = self.server
        srv.requests += 1
        if self.path != "/grid.bin":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if srv.drops > 0:
            srv.drops -= 1
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(PAYLOAD)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    httpd: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests = 0
    httpd.drops = 0
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/grid.bin"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dl_home(tmp_path: Path, server: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project home whose catalog is the shipped one plus 'faultds', a plain-http
    file with a pinned sha256 on the local server."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.setenv("GEO_MS_HOME", str(home))
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.delenv("GEO_MS_OFFLINE", raising=False)
    monkeypatch.setattr(fetch, "RETRY_WAIT", 0.0)
    cat = tmp_path / "catalog.toml"
    cat.write_text(catalog.default_catalog_path().read_text(encoding="utf-8") + f"""
[[dataset]]
id = "faultds"
title = "test file served from 127.0.0.1"
kind = "cloud"
format = "bin"
reader = "read_cf_netcdf"
licence = "public domain"
citation = "Test (2024)."

[[dataset.files]]
name = "grid.bin"
url = "{server.url}"
sha256 = "{SHA}"
""", encoding="utf-8")
    monkeypatch.setattr(catalog, "default_catalog_path", lambda: cat)
    return home


def _cache_files(home: Path) -> list[str]:
    raw = home / "data" / "raw"
    return sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()) \
        if raw.exists() else []


def test_dropped_download_leaves_nothing_and_the_next_fetch_completes(
    dl_home: Path, server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server.drops = fetch.RETRIES + 1  # every attempt of the first fetch is cut midway
    capsys.readouterr()
    assert cli.main(["data", "fetch", "faultds"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        f"error: faultds/grid.bin: download from {server.url} failed (connection broken "
        "before the end of the file)")
    assert "Traceback" not in err
    assert server.requests == fetch.RETRIES + 1
    assert _cache_files(dl_home) == []  # no partial file, no temporary file
    assert not (dl_home / "data" / "raw" / "faultds").exists()

    assert cli.main(["data", "fetch", "faultds"]) == 0  # the next run gets the whole file
    assert "ok       faultds/grid.bin" in capsys.readouterr().out
    assert _cache_files(dl_home) == ["faultds/grid.bin"]
    assert (dl_home / "data/raw/faultds/grid.bin").read_bytes() == PAYLOAD
    assert server.requests == fetch.RETRIES + 2


def test_ctrl_c_during_download_leaves_nothing_and_the_next_fetch_completes(
    dl_home: Path, server: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import requests

    real = requests.Response.iter_content
    seen: list[int] = []

    def interrupted(self: requests.Response, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        for chunk in real(self, *args, **kwargs):
            seen.append(len(chunk))
            yield chunk
            raise KeyboardInterrupt  # after the first chunk has been written

    monkeypatch.setattr(requests.Response, "iter_content", interrupted)
    capsys.readouterr()
    assert cli.main(["data", "fetch", "faultds"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert len(seen) == 1 and 0 < seen[0] < len(PAYLOAD)  # it was stopped midway
    assert _cache_files(dl_home) == []  # pooch's temporary file is gone too

    monkeypatch.setattr(requests.Response, "iter_content", real)
    assert cli.main(["data", "fetch", "faultds"]) == 0
    assert (dl_home / "data/raw/faultds/grid.bin").read_bytes() == PAYLOAD


def test_corrupted_download_is_not_kept(dl_home: Path, server: Any) -> None:
    """A file whose bytes differ from the pinned hash never lands in the cache."""
    from geo_ms.errors import ChecksumError

    ds = catalog.get_dataset("faultds")
    bad = dataclasses.replace(ds, files=(
        catalog.FileSpec(name="grid.bin", url=server.url, sha256="0" * 64),))
    with pytest.raises(ChecksumError, match=r"^SHA256 hash of downloaded file faultds/grid\.bin "
                       rf"\({re.escape(server.url)}\) does not match the known hash: expected "
                       rf"0{{64}}, got {SHA}$"):
        fetch.fetch_file(bad)
    assert _cache_files(dl_home) == []


# --------------------------------------------------------------------------- runs


def _snapshot(home: Path, gpkg: bool = True) -> dict[str, bytes]:
    """Bytes of data/processed/*.csv, *.md (and exposures.gpkg) and the latest report."""
    files = sorted((home / "data" / "processed").glob("*.csv"))
    files += sorted((home / "data" / "processed").glob("*.md"))
    files += [home / "reports/latest/report.html", home / "reports/latest/manifest.json"]
    if gpkg:
        files.append(home / "data/processed/exposures.gpkg")
    return {p.relative_to(home).as_posix(): p.read_bytes() for p in files}


def _leftovers(home: Path) -> list[str]:
    """Temporary files and unfinished stage folders anywhere in the outputs."""
    out = []
    for top in (home / "data" / "processed", home / "reports"):
        for p in top.rglob("*"):
            if ".part" in p.name:
                out.append(p.relative_to(home).as_posix())
    cache = home / "data/processed/.cache"
    for stage in cache.iterdir():
        if stage.name != "weights" and not (stage / "_done").exists():
            out.append(stage.relative_to(home).as_posix())
    return out


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sample run (offline, built-in data) whose outputs the tests try to damage."""
    home = tmp_path_factory.mktemp("faults") / "home"
    home.mkdir()
    (home / "fast.toml").write_text("[run]\nsample = 'always'\n[models]\nn_boot = 200\n")
    saved = {k: os.environ.get(k) for k in ("GEO_MS_HOME", "GEO_MS_OFFLINE",
                                            "GEO_MS_DATA_MIRROR")}
    os.environ.update(GEO_MS_HOME=str(home), GEO_MS_OFFLINE="1")
    os.environ.pop("GEO_MS_DATA_MIRROR", None)
    try:
        with contextlib.redirect_stdout(None):
            code = cli.main(["run", "--config", str(home / "fast.toml")])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert code == 0
    assert (home / "reports/latest/report.html").is_file()
    return home


@pytest.fixture
def in_sample_home(sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(sample_home)
    monkeypatch.setenv("GEO_MS_HOME", str(sample_home))
    monkeypatch.setenv("GEO_MS_OFFLINE", "1")
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.setattr(fetch, "network_available", lambda *a, **k: False)
    return sample_home


def test_ctrl_c_while_writing_an_output_keeps_the_previous_one(
    in_sample_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C half-way through writing exposures.csv: the old file stays, whole."""
    home = in_sample_home
    before = _snapshot(home)
    real_to_csv = pd.DataFrame.to_csv
    hits: list[str] = []

    def half_then_interrupt(self: pd.DataFrame, path: Any = None, *args: Any, **kw: Any) -> Any:
        if path is not None and "exposures.csv" in str(path) and "processed/." in str(path):
            hits.append(str(path))
            text = real_to_csv(self, None, *args, **kw)
            Path(path).write_text(text[: len(text) // 2])  # a half-written temporary file
            raise KeyboardInterrupt
        return real_to_csv(self, path, *args, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_interrupt)
    capsys.readouterr()
    assert cli.main(["run", "--config", str(home / "fast.toml")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert hits and ".part" in Path(hits[0]).name  # it was writing a temporary file
    assert _snapshot(home) == before
    assert _leftovers(home) == []
    _assert_lock_kept_and_free(home / "data/processed/.geo-ms.lock")  # released, not deleted


def test_error_in_a_later_stage_keeps_the_previous_outputs(
    in_sample_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A changed model option re-runs the models stage; it fails midway (after the
    exposures and the joined table were rewritten): every previous output is intact and
    the failed stage leaves no cache folder."""
    import geopandas as gpd

    from geo_ms import models

    home = in_sample_home
    before = _snapshot(home, gpkg=False)  # a GeoPackage stamps its write time inside
    gpkg_before = gpd.read_file(home / "data/processed/exposures.gpkg")
    calls = home.parent / "fit_all_calls.txt"  # fit_all may run in a forked worker

    def broken_fit_all(*args: Any, **kwargs: Any) -> Any:
        with calls.open("a") as fh:
            fh.write("1")
        raise SchemaError("models: simulated failure midway", hint="none needed")

    monkeypatch.setattr(models, "fit_all", broken_fit_all)
    (home / "other.toml").write_text("[run]\nsample = 'always'\n[models]\nn_boot = 201\n")
    capsys.readouterr()
    assert cli.main(["run", "--config", str(home / "other.toml")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "error: models: simulated failure midway"
    assert calls.read_text() == "1"
    assert _snapshot(home, gpkg=False) == before
    gpkg_after = gpd.read_file(home / "data/processed/exposures.gpkg")
    pd.testing.assert_frame_equal(pd.DataFrame(gpkg_after), pd.DataFrame(gpkg_before))
    assert _leftovers(home) == []
    models_stages = sorted(p.name for p in (home / "data/processed/.cache").glob("models-*"))
    assert len(models_stages) == 1  # only the first run's, complete


def _assert_lock_kept_and_free(lock_file: Path) -> None:
    """The lock file stays (deleting it lets two runs hold "the" lock) and is free."""
    assert lock_file.is_file()
    probe = FileLock(str(lock_file))
    probe.acquire(timeout=0)
    probe.release()


def test_a_finished_run_releases_the_lock_and_keeps_its_file(in_sample_home: Path) -> None:
    run(load_config(in_sample_home / "fast.toml"), say=lambda m: None)
    _assert_lock_kept_and_free(in_sample_home / "data/processed/.geo-ms.lock")


def test_second_run_on_the_same_folders_gets_a_lock_error(
    in_sample_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = in_sample_home
    before = _snapshot(home)
    processed = home / "data" / "processed"
    lock_file = processed / ".geo-ms.lock"
    other = FileLock(str(lock_file))  # "the first run" holds the lock
    other.acquire(timeout=0)
    try:
        with pytest.raises(
            LockError,
            match=rf"^{re.escape(str(lock_file))}: another geo-ms run is using "
            rf"{re.escape(str(processed))}$",
        ) as info:
            run(load_config(home / "fast.toml"), say=lambda m: None)
        assert "Wait for it to finish" in info.value.hint
        capsys.readouterr()
        assert cli.main(["run", "--config", str(home / "fast.toml")]) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"error: {lock_file}: another geo-ms run is using {processed}",
            ("hint: Wait for it to finish: the lock frees itself when that run ends (do not "
             "delete the lock file)."),
        ]
        assert lock_file.exists()  # the refused run did not remove the other run's lock
    finally:
        other.release()
    assert _snapshot(home) == before
    assert _leftovers(home) == []


# --------------------------------------------------------------------------- stale inputs


def _pop_tif(path: Path, west_heavy: bool) -> None:
    """A 0.5° population grid nesting in the sample's 3° MERRA-2 grid (73.5 N to 58.5 S):
    1,000 people per cell in 0-2.5 E (or 2.5-5 E), 44-48 N, and 1 elsewhere."""
    import numpy as np
    import rasterio
    from rasterio.transform import Affine

    pop = np.ones((264, 720), dtype="float32")
    cols = slice(360, 365) if west_heavy else slice(365, 370)
    pop[51:59, cols] = 1000.0  # rows 51-58: 48-44 N
    with rasterio.open(path, "w", driver="GTiff", width=720, height=264, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-1.0,
                       transform=Affine(0.5, 0.0, -180.0, 0.0, -0.5, 73.5)) as dst:
        dst.write(pop, 1)


def _exposures_run(home: Path, cfg: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    monkeypatch.setenv("GEO_MS_HOME", str(home))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["exposures", "--config", str(cfg)]) == 0
    expo = pd.read_csv(home / "data/processed/exposures.csv", index_col="region_id")
    return out.getvalue(), expo


def test_input_file_overwritten_in_place_is_not_served_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exposures.population_raster overwritten with other values (same name, same size,
    same modification time): the exposures stage runs again and gives the values of a
    fresh run, not the cached ones."""
    import geopandas as gpd
    from shapely.geometry import box

    monkeypatch.setenv("GEO_MS_OFFLINE", "1")
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.setattr(fetch, "network_available", lambda *a, **k: False)
    d = tmp_path / "in"
    d.mkdir()
    gpd.GeoDataFrame({"id": ["fr"]}, geometry=[box(0, 44, 5, 48)], crs="EPSG:4326").to_file(
        d / "fr.geojson")
    pop = d / "pop.tif"
    cfg = d / "c.toml"
    cfg.write_text(f'[run]\nsample = "always"\n[regions]\nset = "polygons"\n'
                   f'file = "{d / "fr.geojson"}"\nid_column = "id"\n'
                   f'[exposures]\npopulation_raster = "{pop}"\n')
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    _pop_tif(pop, west_heavy=True)
    _, first = _exposures_run(home, cfg, monkeypatch)
    stat = pop.stat()
    _pop_tif(pop, west_heavy=False)
    os.utime(pop, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert pop.stat().st_size == stat.st_size
    said, second = _exposures_run(home, cfg, monkeypatch)
    assert "[stage] exposures: running" in said, said
    fresh_home = tmp_path / "fresh"
    fresh_home.mkdir()
    _, fresh = _exposures_run(fresh_home, cfg, monkeypatch)
    col = "ghi_merra2_popw"
    assert first.loc["fr", col] != pytest.approx(fresh.loc["fr", col], rel=1e-6)
    assert second.loc["fr", col] == pytest.approx(fresh.loc["fr", col], rel=1e-12)


@pytest.mark.parametrize("cut", ["mid-row", "row-boundary"])
def test_damaged_stage_cache_is_recomputed(
    in_sample_home: Path, capsys: pytest.CaptureFixture[str], cut: str
) -> None:
    """A cached stage output cut short (mid-row: pandas would raise ParserError; at a row
    boundary: it would be read silently with rows missing) no longer matches the sha256
    its stage recorded: the stage says so, runs again and the outputs are as before."""
    home = in_sample_home
    assert cli.main(["run", "--config", str(home / "fast.toml")]) == 0  # all cached now
    before = _snapshot(home, gpkg=False)
    [cached] = sorted((home / "data/processed/.cache").glob("exposures-*/exposures.csv"))
    whole = cached.read_bytes()
    lines = whole.split(b"\n")
    if cut == "mid-row":
        damaged = b"\n".join(lines[:5]) + b"\n" + lines[5][: len(lines[5]) // 2]
    else:
        damaged = b"\n".join(lines[:5]) + b"\n"
    cached.write_bytes(damaged)
    capsys.readouterr()
    assert cli.main(["run", "--config", str(home / "fast.toml")]) == 0
    out = capsys.readouterr().out
    assert ("[stage] exposures: cached outputs damaged (they do not match their recorded "
            "sha256); computing them again") in out
    assert "[stage] exposures: running" in out
    assert cached.read_bytes() == whole
    assert _snapshot(home, gpkg=False) == before
    assert _leftovers(home) == []


def _report_files(home: Path) -> dict[str, bytes]:
    """Every file of the published report folder reports/default-sample/."""
    root = home / "reports/default-sample"
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_ctrl_c_in_the_report_stage_keeps_the_whole_previous_report(
    in_sample_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rerun under the same name is interrupted in the report stage right after
    report.html was written (before the tables and manifest.json are copied): the
    published folder is still the whole previous report (no new report.html beside old
    CSVs) and no build folder is left."""
    from geo_ms import report as report_pkg

    home = in_sample_home
    before = _report_files(home)
    assert {"report.html", "map.html", "claims.csv", "manifest.json", "run.log"} <= set(before)
    drawn: list[Path] = []
    real_render = report_pkg.render_report

    def interrupted_render(out_dir: Any, *args: Any, **kwargs: Any) -> Any:
        real_render(out_dir, *args, **kwargs)
        drawn.append(Path(out_dir) / "map.html")
        assert (Path(out_dir) / "report.html").is_file()  # the new report is half done
        raise KeyboardInterrupt

    monkeypatch.setattr(report_pkg, "render_report", interrupted_render)
    (home / "other.toml").write_text("[run]\nsample = 'always'\n[models]\nn_boot = 203\n")
    capsys.readouterr()
    assert cli.main(["run", "--config", str(home / "other.toml")]) == 130
    assert drawn and ".part" in drawn[0].parent.name  # it was building a hidden folder
    assert _report_files(home) == before
    assert (home / "reports/latest").resolve() == (home / "reports/default-sample").resolve()
    assert _leftovers(home) == []
    assert sorted(p.name for p in (home / "reports").iterdir()
                  if not p.name.startswith(".")) == ["default-sample", "latest"]


def test_report_folder_is_swapped_in_whole(in_sample_home: Path) -> None:
    """A finished rerun replaces the folder in one step: the link reports/<name> points at
    the new hidden folder, the previous one is gone, latest points at <name>."""
    home = in_sample_home
    link = home / "reports/default-sample"
    (home / "third.toml").write_text("[run]\nsample = 'always'\n[models]\nn_boot = 204\n")
    old_target = link.resolve()
    run(load_config(home / "third.toml"), say=lambda m: None)
    assert link.is_symlink() and link.resolve() != old_target
    assert not old_target.exists()
    assert (home / "reports/latest").resolve() == link.resolve()
    manifest = (link / "manifest.json").read_text()
    assert '"n_boot": 204' in manifest
    hidden = [p.name for p in (home / "reports").iterdir() if p.name.startswith(".")
              and p.is_dir()]
    assert hidden == [link.resolve().name]


def test_same_run_name_from_another_processed_folder_gets_a_lock_error(
    in_sample_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs named 'default' with different processed folders: while one holds the
    report lock, the other is refused with one line before it writes anything."""
    home = in_sample_home
    before = _report_files(home)
    lock_file = home / "reports/.default.lock"
    (home / "elsewhere.toml").write_text("[run]\nsample = 'always'\nprocessed_dir = 'p2'\n"
                                         "[models]\nn_boot = 200\n")
    other = FileLock(str(lock_file))
    other.acquire(timeout=0)
    try:
        capsys.readouterr()
        assert cli.main(["run", "--config", str(home / "elsewhere.toml")]) == 2
        err = capsys.readouterr().err
        assert err.splitlines()[0] == (f"error: {lock_file}: another geo-ms run is using "
                                       f"{home / 'reports/default'}")
        assert "another --name" in err.splitlines()[1]
    finally:
        other.release()
    assert _report_files(home) == before
    assert not (home / "p2/.cache").exists()  # refused before any stage ran


# --------------------------------------------------------------------------- schedulers


def test_scheduler_without_workers_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--scheduler` naming a running scheduler that has no worker: the run does not
    wait forever; it stops after the connection timeout with one line naming the
    address, and writes no output."""
    from dask.distributed import LocalCluster

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.setenv("GEO_MS_HOME", str(home))
    monkeypatch.setenv("GEO_MS_OFFLINE", "1")
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.setattr(fetch, "network_available", lambda *a, **k: False)
    cluster = LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                           dashboard_address=None)
    try:
        address = cluster.scheduler_address
        capsys.readouterr()
        code = cli.main(["exposures", "--sample", "always", "--config",
                         str(_scheduler_toml(tmp_path, address))])
        err = capsys.readouterr().err
    finally:
        cluster.close()
    assert code == 2, err
    assert err.splitlines() == [
        f"error: scheduler '{address}': no worker joined within 10 s",
        (f"hint: start workers ('dask worker {address}'), or leave the scheduler option empty "
         "to use a local cluster")]
    assert not (home / "data/processed/exposures.csv").exists()


def _scheduler_toml(d: Path, address: str) -> Path:
    path = d / "sched.toml"
    path.write_text(f'[compute]\nscheduler = "{address}"\n')
    return path


# --------------------------------------------------------------------------- full disk


@pytest.mark.parametrize("blocks", [20, 1000, 1400])
def test_full_disk_gives_one_line_and_leaves_nothing_half_written(
    tmp_path: Path, blocks: int
) -> None:
    """`geo-ms run` under a file-size limit (`ulimit -f`: every write past it fails with
    EFBIG, as on a full disk): the parquet cache, the GeoPackage (pyogrio) or a figure
    fails depending on the limit; each gives one error line, exit 2, no traceback, no
    temporary file and no unfinished stage or report build."""
    import resource
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    limit = blocks * 512

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {k: v for k, v in os.environ.items() if k not in ("GEO_MS_DATA_MIRROR", "GEO_MS_DEBUG")}
    env.update(GEO_MS_HOME=str(home), GEO_MS_OFFLINE="1",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.run([sys.executable, "-m", "geo_ms.cli", "run", "--sample", "always"],
                          cwd=home, env=env, capture_output=True, text=True, timeout=600,
                          preexec_fn=cap, check=False)
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("warning:")]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert len(lines) == 2, lines
    assert re.fullmatch(r"error: .+: could not be written \(.+\)", lines[0]), lines[0]
    assert ("File too large" in lines[0] or "file-size limit" in lines[0]), lines[0]
    assert lines[1].startswith("hint: Free some space")
    assert _leftovers(home) == []
    assert not [p for p in (home / "reports").glob(".*") if p.is_dir()]  # no report build


def test_read_only_reports_folder_is_refused_before_any_stage(
    in_sample_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """reports/ cannot be written: refused before any stage runs, so data/processed is
    not rewritten (the check runs first; as root, whose writes no mode bit stops, the
    folder is made unwritable by putting it below a regular file)."""
    home = in_sample_home
    before = _snapshot(home, gpkg=False)
    stages = sorted((home / "data/processed/.cache").iterdir())
    (home / "blocker").write_text("a file\n")
    (home / "ro.toml").write_text("[run]\nsample = 'always'\nreports_dir = 'blocker/reports'\n"
                                  "[models]\nn_boot = 205\n")
    capsys.readouterr()
    assert cli.main(["run", "--config", str(home / "ro.toml")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"error: {home / 'blocker/reports'}: the output folder cannot be written "
                      "(Not a directory)")
    assert _snapshot(home, gpkg=False) == before
    assert sorted((home / "data/processed/.cache").iterdir()) == stages  # no stage ran


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only modes")
def test_read_only_processed_folder_by_mode(in_sample_home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    home = in_sample_home
    processed = home / "data/processed"
    processed.chmod(0o555)
    try:
        capsys.readouterr()
        assert cli.main(["run", "--config", str(home / "fast.toml")]) == 2
        err = capsys.readouterr().err.splitlines()
    finally:
        processed.chmod(0o755)
    assert err[0] == (f"error: {processed}: the output folder cannot be written "
                      "(Permission denied)")


# --------------------------------------------------------------------------- mirror misses


def test_file_missing_from_the_mirror_says_so_then_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GEO_MS_DATA_MIRROR is set but lacks a catalogued file: one warning line says the
    file is downloaded from its host instead; with the host unreachable, one error line
    names the file and the URL, exit 2, nothing cached."""
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/grid.bin"
    home = tmp_path / "home"
    mirror = tmp_path / "mirror"
    home.mkdir()
    mirror.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.setenv("GEO_MS_HOME", str(home))
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(mirror))
    monkeypatch.delenv("GEO_MS_OFFLINE", raising=False)
    monkeypatch.setattr(fetch, "RETRY_WAIT", 0.0)
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    cat = tmp_path / "catalog.toml"
    cat.write_text(catalog.default_catalog_path().read_text(encoding="utf-8") + f"""
[[dataset]]
id = "mirrords"
title = "test file meant to be in the mirror"
kind = "cloud"
format = "bin"
reader = "read_cf_netcdf"
licence = "public domain"
citation = "Test (2024)."

[[dataset.files]]
name = "grid.bin"
url = "{url}"
sha256 = "{SHA}"
mirror_path = "mirrords/grid.bin"
""", encoding="utf-8")
    monkeypatch.setattr(catalog, "default_catalog_path", lambda: cat)
    capsys.readouterr()
    assert cli.main(["data", "fetch", "mirrords"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"warning: MirrorMissWarning: mirrords/grid.bin: not in the data mirror "
                      f"({mirror / 'mirrords/grid.bin'}); downloading it from {url}")
    assert err[1] == (f"error: mirrords/grid.bin: download from {url} failed (cannot connect - "
                      "no network?)")
    assert err[2].startswith("hint: ") and len(err) == 3, err
    assert _cache_files(home) == []


def test_report_folder_of_an_older_geo_ms_is_replaced_by_the_link(tmp_path: Path) -> None:
    """reports/<name> as a real folder (written before reports were swapped in whole)
    gives way to the link at the first publication; nothing of it is left."""
    import types

    from geo_ms.pipeline.publish import publish_report, start_build

    reports = tmp_path / "reports"
    (reports / "x").mkdir(parents=True)
    (reports / "x/claims.csv").write_text("old")
    ctx = types.SimpleNamespace(reports=reports, builds=[])
    build = start_build(ctx, "x")
    (build / "report.html").write_text("new")
    final, files = publish_report(ctx, build, "x", {"html": build / "report.html"})
    assert final == reports / "x" and final.is_symlink()
    assert sorted(p.name for p in final.iterdir()) == ["report.html"]
    assert files == {"html": reports / "x/report.html"}
    assert (reports / "latest/report.html").read_text() == "new"
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        [".x~" + build.name.split("~")[1].removesuffix(".part"), "latest", "x"])
