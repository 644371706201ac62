"""Fetching: package, cache, mirror and download (local http/https servers), lock file,
checksum and availability errors."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from geo_ms.errors import ChecksumError, DataSourceError, DownloadError
from geo_ms.ingest import fetch as F
from geo_ms.ingest.catalog import Dataset, FileSpec, get_dataset, list_datasets

SEX_CSV = "ms/gbd2016_ddf/ddf--entities--sex.csv"
SEX_SHA = "2acb174084cd43c104b23a1f3919629f3a3c66356d2b14133cd741cb78dd891a"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def home(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated project home without a mirror, without waits between retries."""
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.delenv("GEO_MS_OFFLINE", raising=False)
    monkeypatch.setattr(F, "RETRY_WAIT", 0.0)
    return workdir


# --------------------------------------------------------------------------- local servers


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; ``server.behaviour[path]`` is a list of per-request
    actions consumed in order (``"drop"`` = send half then close, ``500``/``404`` =
    that status); once the list is empty the file is served normally."""

    def log_message(self, *args: object) -> None:  # silence
        pass

    def do_GET(self) -> None:
        srv = self.server
        srv.requests.append(self.path)  # type: ignore[attr-defined]
        actions = srv.behaviour.get(self.path, [])  # type: ignore[attr-defined]
        action = actions.pop(0) if actions else None
        data = srv.files.get(self.path)  # type: ignore[attr-defined]
        if data is None or isinstance(action, int):
            self.send_response(action if isinstance(action, int) else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if action == "drop":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)


class _Server:
    def __init__(self, tls: ssl.SSLContext | None) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.files = {}  # type: ignore[attr-defined]
        self.httpd.behaviour = {}  # type: ignore[attr-defined]
        self.httpd.requests = []  # type: ignore[attr-defined]
        self.scheme = "https" if tls else "http"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}{path}"

    @property
    def files(self) -> dict[str, bytes]:
        return self.httpd.files  # type: ignore[attr-defined]

    @property
    def behaviour(self) -> dict[str, list[object]]:
        return self.httpd.behaviour  # type: ignore[attr-defined]

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def _tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    import trustme  # a test dependency (pyproject [test] extras)

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ctx, bundle


@pytest.fixture
def https(_tls: tuple[ssl.SSLContext, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    """A local https server whose test CA requests trusts (REQUESTS_CA_BUNDLE)."""
    ctx, bundle = _tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = _Server(ctx)
    yield server
    server.close()


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = _Server(None)
    yield server
    server.close()


def _ds(url: str | None, sha: str | None = None, name: str = "grid.bin", **kw: object) -> Dataset:
    return Dataset(
        id="testds",
        title="test",
        kind="cloud",
        format="bin",
        reader="read_cf_netcdf",
        licence="public domain",
        citation="Test (2024).",
        homepage="https://example.org/testds",
        files=(FileSpec(name=name, url=url, sha256=sha),),
        **kw,  # type: ignore[arg-type]
    )


PAYLOAD = bytes(range(256)) * 512  # 128 KiB


# --------------------------------------------------------------------------- downloads


def test_download_with_pinned_hash(home: Path, https: _Server) -> None:
    https.files["/d/grid.bin"] = PAYLOAD
    ds = _ds(https.url("/d/grid.bin"), _sha(PAYLOAD), name="sub/grid.bin")
    path = F.fetch_file(ds)
    assert path == home / "data" / "raw" / "testds" / "sub" / "grid.bin"
    assert path.read_bytes() == PAYLOAD
    assert https.requests == ["/d/grid.bin"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["grid.bin"]  # no temp file left
    assert not F.lock_path().exists()  # pinned hashes are not recorded
    # second call: served from the cache, re-verified, no request
    assert F.fetch(ds) == {"sub/grid.bin": path}
    assert https.requests == ["/d/grid.bin"]
    assert F.file_status(ds) == "cached"


def test_first_download_records_hash_then_enforces_it(home: Path, https: _Server) -> None:
    https.files["/g.bin"] = PAYLOAD
    ds = _ds(https.url("/g.bin"))
    path = F.fetch_file(ds)
    lock = json.loads(F.lock_path().read_text())
    entry = lock["files"]["testds/grid.bin"]
    assert entry["sha256"] == _sha(PAYLOAD)
    assert entry["size"] == len(PAYLOAD) and entry["url"] == https.url("/g.bin")

    # the publisher changes the file: a fresh download must now fail, leaving nothing
    changed = PAYLOAD[:-1] + b"\x00"
    https.files["/g.bin"] = changed
    path.unlink()
    with pytest.raises(
        ChecksumError,
        match=rf"^SHA256 hash of downloaded file testds/grid\.bin \({re.escape(https.url('/g.bin'))}\) "
        rf"does not match the known hash: expected {_sha(PAYLOAD)}, got {_sha(changed)}$",
    ) as info:
        F.fetch_file(ds)
    assert "geo-ms-lock.json" in info.value.hint
    assert not (home / "data" / "raw" / "testds").exists()
    assert len(https.requests) == 1 + 1 + F.RETRIES  # a mismatch is retried like pooch does

    # a cached copy that no longer matches the lock file is refused as well
    (home / "data" / "raw" / "testds").mkdir()
    path.write_bytes(changed)
    with pytest.raises(
        ChecksumError,
        match=rf"cached file testds/grid\.bin .* expected {_sha(PAYLOAD)}, got {_sha(changed)}$",
    ):
        F.fetch_file(ds)


def test_pinned_hash_mismatch_names_file_and_both_hashes(home: Path, https: _Server) -> None:
    https.files["/x.bin"] = b"not what was catalogued"
    wrong = "0" * 64
    ds = _ds(https.url("/x.bin"), wrong)
    with pytest.raises(
        ChecksumError,
        match=rf"testds/grid\.bin .* expected {wrong}, got {_sha(b'not what was catalogued')}$",
    ):
        F.fetch_file(ds)
    assert not (home / "data" / "raw" / "testds").exists()


def test_http_refused_without_pinned_hash(home: Path, http_server: _Server) -> None:
    http_server.files["/p.bin"] = PAYLOAD
    ds = _ds(http_server.url("/p.bin"))
    with pytest.raises(
        DownloadError,
        match=rf"^testds/grid\.bin: refusing to download {re.escape(http_server.url('/p.bin'))} "
        r"\(only https, or http with a pinned sha256\)$",
    ):
        F.fetch_file(ds)
    assert http_server.requests == []
    # with a pinned hash plain http is acceptable (the hash guards the content)
    assert F.fetch_file(_ds(http_server.url("/p.bin"), _sha(PAYLOAD))).read_bytes() == PAYLOAD


def test_connection_dropped_midway_leaves_nothing(home: Path, https: _Server) -> None:
    https.files["/big.bin"] = PAYLOAD
    https.behaviour["/big.bin"] = ["drop"] * (F.RETRIES + 1)
    ds = _ds(https.url("/big.bin"), _sha(PAYLOAD))
    with pytest.raises(
        DownloadError,
        match=rf"^testds/grid\.bin: download from {re.escape(https.url('/big.bin'))} failed "
        r"\(connection broken before the end of the file\)$",
    ) as info:
        F.fetch_file(ds)
    assert len(https.requests) == F.RETRIES + 1
    assert not (home / "data" / "raw" / "testds").exists()  # no partial file, no empty folder
    target = home / "data" / "raw" / "testds" / "grid.bin"
    assert info.value.hint == (
        f"Download {https.url('/big.bin')} and save it as {target}, or set GEO_MS_DATA_MIRROR "
        "to a data mirror folder that holds it."
    )


def test_transient_failures_are_retried(home: Path, https: _Server) -> None:
    https.files["/r.bin"] = PAYLOAD
    https.behaviour["/r.bin"] = ["drop", 503]
    path = F.fetch_file(_ds(https.url("/r.bin"), _sha(PAYLOAD)))
    assert path.read_bytes() == PAYLOAD
    assert https.requests == ["/r.bin"] * 3


def test_http_404_is_not_retried_and_login_hint(home: Path, https: _Server) -> None:
    ds = _ds(https.url("/none.bin"), login="Earthdata")
    with pytest.raises(DownloadError, match=r"failed \(HTTP 404\)$") as info:
        F.fetch_file(ds)
    assert https.requests == ["/none.bin"]
    assert "(needs a Earthdata login)" in info.value.hint
    https.files["/auth.bin"] = PAYLOAD
    https.behaviour["/auth.bin"] = [401]
    with pytest.raises(DownloadError, match=r"failed \(HTTP 401 - a login is needed\)$"):
        F.fetch_file(_ds(https.url("/auth.bin")))


def test_offline_switch_forbids_downloads(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEO_MS_OFFLINE", "1")
    target = home / "data" / "raw" / "ne_admin0_110m" / "ne_110m_admin_0_countries.zip"
    with pytest.raises(
        DownloadError,
        match=r"^ne_admin0_110m/ne_110m_admin_0_countries\.zip: not cached, not in the data "
        r"mirror, and downloads are switched off$",
    ) as info:
        F.fetch_file("ne_admin0_110m")
    assert info.value.hint == (
        "Download https://naciscdn.org/naturalearth/110m/cultural/ne_110m_admin_0_countries.zip "
        f"and save it as {target}, or set GEO_MS_DATA_MIRROR to a data mirror folder that holds it."
    )
    assert F.network_available() is False


def test_fetch_counts_unavailable_files(home: Path) -> None:
    with pytest.raises(
        DownloadError,
        match=r"^neo_modis_cloud: 12 of 12 files unavailable, first: neo_modis_cloud/"
        r"MODAL2_M_CLD_FR_2023-01\.FLOAT\.TIFF: not cached",
    ):
        F.fetch("neo_modis_cloud", download=False)


# --------------------------------------------------------------------------- package, cache, user


def test_package_data_resolves_in_place_and_is_verified(home: Path) -> None:
    path = F.fetch_file("sunshine_cities")
    assert path.name == "sunshine-hours.csv" and path.parent.name == "sunshine_hours_by_city"
    assert (
        _sha(path.read_bytes())
        == "424498b6eac79a9e4833e81a9c684a5765b2eba8bea738c1fe67706d50d96f11"
    )
    assert (
        F.fetch("emsp_barometer_2011")["emsp_barometer_2011.csv"]
        .read_text()
        .startswith(
            Path(__file__)
            .parents[1]
            .joinpath("geo_ms/data/sample/emsp_barometer_2011.csv")
            .read_text()[:30]
        )
    )
    assert not (home / "data" / "raw" / "sunshine_cities").exists()


def test_user_supplied(home: Path) -> None:
    target = home / "data" / "raw" / "gbd_results_csv" / "gbd_results.csv"
    with pytest.raises(
        DownloadError,
        match=rf"^gbd_results_csv/gbd_results\.csv: user-supplied file not found at {re.escape(str(target))}$",
    ) as info:
        F.fetch_file("gbd_results_csv")
    assert info.value.hint.startswith(
        f"Get it from https://vizhub.healthdata.org/gbd-results/ and save it as {target}"
    )
    assert F.status("gbd_results_csv") == "user-supplied"
    target.parent.mkdir(parents=True)
    target.write_text("measure,location\n")
    assert F.fetch_file("gbd_results_csv") == target
    assert F.status("gbd_results_csv") == "cached"
    assert not F.lock_path().exists()  # user files may change: not locked
    other = home / "mine.csv"
    other.write_text("x")
    assert F.fetch_file("user_prevalence", path=other) == other
    with pytest.raises(
        DownloadError, match=r"nope\.csv: file not found \(given for dataset 'user_prevalence'\)$"
    ):
        F.fetch_file("user_prevalence", path=home / "nope.csv")


def test_cached_catalog_file_is_verified(home: Path) -> None:
    ds = get_dataset("gbd2016_ms")
    cached = home / "data" / "raw" / "gbd2016_ms" / "ddf--entities--sex.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"sex,name\n1,Male\n2,Female\n3,Bath\n")  # one letter off the real file
    bad = _sha(cached.read_bytes())
    with pytest.raises(
        ChecksumError,
        match=rf"^SHA256 hash of cached file gbd2016_ms/ddf--entities--sex\.csv \({re.escape(str(cached))}\) "
        rf"does not match the known hash: expected {SEX_SHA}, got {bad}$",
    ):
        F.fetch_file(ds, "ddf--entities--sex.csv")
    results = {(r.name, r.where): r for r in F.verify_all(["gbd2016_ms"], mirror=False)}
    r = results[("ddf--entities--sex.csv", "cache")]
    assert (r.ok, r.expected, r.actual) == (False, SEX_SHA, bad)


def test_mirror_only_without_mirror(home: Path) -> None:
    with pytest.raises(
        DownloadError,
        match=r"^cru_cl1_netcdf/cru_cl1\.0_cld_rad_1961-1990_0\.5deg\.nc: not cached and not in "
        r"the data mirror \(GEO_MS_DATA_MIRROR is unset\)$",
    ) as info:
        F.fetch_file("cru_cl1_netcdf")
    assert info.value.hint == (
        "Set GEO_MS_DATA_MIRROR to a mirror folder holding rasters/cru_cl1.0_cld_rad_1961-1990_0.5deg.nc"
    )


def test_mirror_dir(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert F.mirror_dir() is None
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(home / "nowhere"))
    with pytest.raises(DataSourceError, match=r"^GEO_MS_DATA_MIRROR=.*nowhere: not a folder$"):
        F.mirror_dir()
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(home))
    assert F.mirror_dir() == home


def test_status_words(home: Path) -> None:
    assert F.status("emsp_barometer_2011") == "package"
    assert F.status("ne_admin0_10m") == "missing"
    assert F.status("gpw_population") == "user-supplied"
    one = home / "data" / "raw" / "neo_modis_cloud" / "MODAL2_M_CLD_FR_2023-03.FLOAT.TIFF"
    one.parent.mkdir(parents=True)
    one.write_bytes(b"II*\x00")
    assert F.status("neo_modis_cloud") == "1 cached, 11 missing"
    assert F.file_statuses("neo_modis_cloud")["MODAL2_M_CLD_FR_2023-03.FLOAT.TIFF"] == "cached"


def test_network_available_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEO_MS_OFFLINE", raising=False)
    tried: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], timeout: float) -> None:
        tried.append(address)
        raise OSError("network unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    assert F.network_available(timeout=1.0, hosts=["a.example", "b.example"]) is False
    assert sorted(tried) == [("a.example", 443), ("b.example", 443)]

    monkeypatch.setattr(
        socket, "create_connection", lambda address, timeout: contextlib.nullcontext()
    )
    assert F.network_available(timeout=1.0) is True


# --------------------------------------------------------------------------- the real mirror


def _mirrored_specs() -> list[tuple[str, FileSpec]]:
    return [(d.id, f) for d in list_datasets() for f in d.files if f.mirror_path and not f.resource]


def test_every_mirrored_file_fetches_and_verifies(
    mirror: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(mirror))
    specs = _mirrored_specs()
    # 8 GBD + 2 CRU zips + CRU nc + 2 MODIS + 12 NEO months + TEMIS + 2 OMI + 2 NE + 3 Atlas
    # + GPW + 4 country covariates
    # (MERRA-2 and sunshine come from their packages first; verify_all checks their mirror copies)
    assert len(specs) == 38
    for ds_id, spec in specs:
        path = F.fetch_file(ds_id, spec.name, download=False)
        assert path == mirror / spec.mirror_path
        assert F.file_status(ds_id, spec.name) == "in mirror"
    assert not (home / "data" / "raw").joinpath("gbd2016_ms").exists()  # read in place
    paths = F.fetch("neo_uvi_clim")
    assert len(paths) == 12 and set(paths.values()) == {
        mirror / "rasters/neo_aura_uvi_clim_monthly_1deg.nc"
    }
    assert F.status("gbd2016_ms") == "in mirror"
    results = F.verify_all()
    assert results and all(r.ok for r in results)
    assert {r.where for r in results} == {"mirror", "package"}
    where = {(r.dataset_id, r.where) for r in results}
    assert {("merra2_ghi", "mirror"), ("sunshine_cities", "mirror")} <= where


def _corrupt_mirror_copy(mirror: Path, dest: Path) -> Path:
    """Symlink the mirror into *dest*, but copy one small file with one byte changed."""
    for top in mirror.iterdir():
        if top.name != "ms":
            (dest / top.name).symlink_to(top)
    for path in (mirror / "ms").rglob("*"):
        if path.is_file():
            rel = path.relative_to(mirror)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            if rel.as_posix() == SEX_CSV:
                data = bytearray(path.read_bytes())
                data[0] ^= 0x01
                (dest / rel).write_bytes(bytes(data))
            else:
                (dest / rel).symlink_to(path)
    return dest / SEX_CSV


def test_corrupted_mirror_file_is_a_checksum_error(
    mirror: Path,
    home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad_mirror = tmp_path_factory.mktemp("badmirror")
    changed = _corrupt_mirror_copy(mirror, bad_mirror)
    actual = _sha(changed.read_bytes())
    assert actual != SEX_SHA and len(changed.read_bytes()) == len((mirror / SEX_CSV).read_bytes())
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(bad_mirror))
    with pytest.raises(ChecksumError) as info:
        F.fetch("gbd2016_ms")
    msg = info.value.message
    assert msg == (
        f"SHA256 hash of mirror file gbd2016_ms/ddf--entities--sex.csv ({changed}) does not match "
        f"the known hash: expected {SEX_SHA}, got {actual}"
    )
    # the other datasets of the copy are still fine
    assert F.fetch_file("cru_cl1_cloud").name == "ccld6190.zip"
    assert os.path.samefile(F.fetch_file("cru_cl1_cloud"), mirror / "rasters/ccld6190.zip")
    bad = [r for r in F.verify_all(["gbd2016_ms"]) if not r.ok]
    assert [(r.name, r.where, r.actual) for r in bad] == [
        ("ddf--entities--sex.csv", "mirror", actual)
    ]
    shutil.rmtree(bad_mirror)
