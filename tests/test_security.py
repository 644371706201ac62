"""Downloaded files cannot harm the machine, and the tests cannot reach the internet.

- Archive extraction refuses every member that would land outside the target folder
  (``..``, absolute, drive or backslash paths) and symbolic links, before writing a
  byte; a gzip header's stored file name is never used as a path.
- Only catalog URLs are fetched, and only over https (plain http only with a pinned
  sha256); anything that is not a catalog id is refused without a connection.
- Nothing downloaded is unpickled or evaluated: the package source has no pickle,
  eval or exec, every ``np.load`` passes ``allow_pickle=False``, and a booby-trapped
  ``.npz`` is refused without running its payload.
- pytest-socket (``--allow-hosts`` in pyproject) blocks non-loopback connections.
"""

from __future__ import annotations

import collections
import gzip
import re
import socket
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest
import pytest_socket

from geo_ms import cli
from geo_ms.errors import ArchiveError, DataSourceError, FormatError
from geo_ms.ingest import catalog, fetch
from geo_ms.ingest.archive import safe_extract

PACKAGE = Path(__file__).resolve().parents[1] / "geo_ms"


# --------------------------------------------------------------------------- archives


def _zip(path: Path, members: list[tuple[str, bytes] | zipfile.ZipInfo]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for m in members:
            if isinstance(m, zipfile.ZipInfo):
                zf.writestr(m, b"/etc/passwd")
            else:
                zf.writestr(*m)
    return path


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        pytest.param("../escape.txt", r"escapes the target folder \('\.\.'\)", id="parent"),
        pytest.param("data/../../escape.txt", r"escapes the target folder \('\.\.'\)",
                     id="nested-parent"),
        pytest.param("..\\escape.txt", r"escapes the target folder \('\.\.'\)",
                     id="backslash-parent"),
        pytest.param("/tmp/escape.txt", r"has an absolute path", id="absolute"),
        pytest.param("C:\\escape.txt", r"has an absolute path", id="windows-drive"),
        pytest.param(_symlink("data/link"), r"is a symbolic link", id="symlink"),
    ],
)
def test_extraction_refuses_escapes_and_links_before_writing(
    tmp_path: Path, member: str | zipfile.ZipInfo, problem: str
) -> None:
    entry = member if isinstance(member, zipfile.ZipInfo) else (member, b"gotcha")
    # a harmless member first: it must not be written either (all-or-nothing)
    archive = _zip(tmp_path / "evil.zip", [("data/ok.txt", b"fine"), entry])
    dest = tmp_path / "a" / "b" / "out"
    with pytest.raises(ArchiveError, match=rf"evil\.zip: member .* {problem}; refusing to extract$"):
        safe_extract(archive, dest)
    assert not dest.exists()
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert written == ["evil.zip"], written  # nothing anywhere, not even /tmp/escape.txt
    assert not Path("/tmp/escape.txt").exists() or Path("/tmp/escape.txt").read_bytes() != b"gotcha"


def test_gzip_header_name_is_never_used_as_a_path(tmp_path: Path) -> None:
    # RFC 1952 member with FNAME set to a hostile path (Python's gzip would strip it)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(b"payload") + deflate.flush()
    member = (b"\x1f\x8b\x08\x08" + struct.pack("<I", 0) + b"\x00\xff" + b"../../escape.txt\x00"
              + body + struct.pack("<II", zlib.crc32(b"payload"), len(b"payload")))
    assert gzip.decompress(member) == b"payload"  # a valid gzip file
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "grid.dat.gz"
    src.write_bytes(member)
    out = safe_extract(src, tmp_path / "in" / "out")
    assert out == [tmp_path / "in" / "out" / "grid.dat"]
    assert out[0].read_bytes() == b"payload"
    assert not (tmp_path / "escape.txt").exists()


# --------------------------------------------------------------------------- downloads


def test_every_catalog_url_is_https_or_pinned_http() -> None:
    urls = [(d.id, f) for d in catalog.list_datasets() for f in d.files if f.url]
    assert len(urls) >= 20
    for did, f in urls:
        scheme = urlparse(f.url).scheme
        assert scheme == "https" or (scheme == "http" and f.sha256), (did, f.url)


def test_non_catalog_urls_are_never_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    attempts: list[Any] = []

    def no_download(*args: Any, **kwargs: Any) -> Any:  # pooch must not even be asked
        attempts.append(args)
        raise AssertionError("a download was attempted")

    import pooch

    monkeypatch.setattr(pooch, "retrieve", no_download)
    url = "https://evil.example.org/payload.zip"
    with pytest.raises(DataSourceError, match=rf"^unknown dataset {re.escape(repr(url))}$"):
        fetch.fetch_file(url)
    capsys.readouterr()
    assert cli.main(["data", "fetch", url]) == 2
    assert capsys.readouterr().err.splitlines()[0] == f"error: unknown dataset {url!r}"
    assert attempts == []
    assert not (tmp_path / "data" / "raw").exists()


def test_a_catalog_entry_cannot_point_outside_the_mirror_or_use_plain_http(
    tmp_path: Path,
) -> None:
    from geo_ms.errors import ConfigError

    base = """[[dataset]]
id = "x"
title = "x"
kind = "cloud"
format = "bin"
reader = "read_cf_netcdf"
licence = "public domain"
citation = "X."

[[dataset.files]]
name = "x.bin"
"""
    http = tmp_path / "http.toml"
    http.write_text(base + 'url = "http://example.org/x.bin"\n')
    with pytest.raises(ConfigError, match=r"http"):
        catalog.load_catalog(http)
    ftp = tmp_path / "ftp.toml"
    ftp.write_text(base + 'url = "ftp://example.org/x.bin"\nsha256 = "' + "0" * 64 + '"\n')
    with pytest.raises(ConfigError):
        catalog.load_catalog(ftp)


# --------------------------------------------------------------------------- no pickle/eval

#: Lines allowed to mention a forbidden word (file, substring); keep it short.
ALLOWED: set[tuple[str, str]] = set()
FORBIDDEN = re.compile(
    r"\bpickle\b|\bcPickle\b|\beval\(|\bexec\(|allow_pickle\s*=\s*True|\bmarshal\b|\bshelve\b|"
    r"read_pickle|yaml\.load\(|joblib\.load|torch\.load|__reduce__"
)


def test_package_source_has_no_pickle_eval_or_exec() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 30
    hits = []
    for path in sources:
        rel = path.relative_to(PACKAGE.parent).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line) and not any(rel == f and s in line for f, s in ALLOWED):
                hits.append(f"{rel}:{n}: {line.strip()}")
    assert hits == []


def test_every_np_load_in_the_package_refuses_pickles() -> None:
    calls = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"np\.load\(([^)]*)\)", text):
            calls.append((path.name, m.group(1)))
    assert calls, "expected the package to read .npz files somewhere"
    assert all("allow_pickle=False" in args for _, args in calls), calls


class _Payload:
    """Unpickling this would create the marker file."""

    marker: Path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "pwned"))


def _trapped_npz(path: Path, marker: Path) -> Path:
    payload = _Payload()
    payload.marker = marker
    trap = np.empty(1, dtype=object)
    trap[0] = payload
    np.savez(path, xk=trap, pk=trap, lat=np.zeros(1), lon=np.zeros(1), month=np.arange(1, 13))
    return path


def test_booby_trapped_npz_is_refused_without_running_it(tmp_path: Path) -> None:
    from geo_ms.ingest.readers import read_merra2_gsee

    marker = tmp_path / "pwned.txt"
    path = _trapped_npz(tmp_path / "ghi.npz", marker)
    with pytest.raises(FormatError, match=r"ghi\.npz: not a gsee MERRA-2 PDF file .*"
                                          r"Object arrays cannot be loaded when allow_pickle=False"):
        read_merra2_gsee(path)
    assert not marker.exists()


def test_trapped_coverage_weight_cache_is_recomputed_not_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geopandas as gpd
    import shapely
    import xarray as xr

    from geo_ms.exposures import weights as _weights
    from geo_ms.exposures.zonal import zonal_mean

    da = xr.DataArray(np.arange(12 * 4 * 4, dtype="float64").reshape(12, 4, 4),
                      dims=("month", "lat", "lon"),
                      coords={"month": np.arange(1, 13), "lat": [1.5, 0.5, -0.5, -1.5],
                              "lon": [-1.5, -0.5, 0.5, 1.5]}).rio.write_crs("EPSG:4326")
    da = da.rio.set_spatial_dims(x_dim="lon", y_dim="lat")
    regions = gpd.GeoDataFrame({"region_id": ["a"]}, geometry=[shapely.box(-1, -1, 1, 1)],
                               crs="EPSG:4326")
    cache = tmp_path / "weights"
    monkeypatch.setattr(_weights, "_MEMO", collections.OrderedDict())
    first = zonal_mean(da, regions, cache_dir=cache)
    (cached,) = cache.glob("*.npz")
    marker = tmp_path / "pwned.txt"
    payload = _Payload()
    payload.marker = marker
    trap = np.empty(1, dtype=object)
    trap[0] = payload
    np.savez(cached, version=trap, key=trap, data=trap)
    seen: list[dict[str, Any]] = []
    real_load = np.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    monkeypatch.setattr(_weights, "_MEMO", collections.OrderedDict())
    with pytest.warns(UserWarning, match=r"coverage_.*\.npz: unreadable or stale weights cache, "
                                         r"recomputing"):
        second = zonal_mean(da, regions, cache_dir=cache)
    assert seen and all(k.get("allow_pickle") is False for k in seen)
    assert not marker.exists()
    np.testing.assert_allclose(second.to_numpy(), first.to_numpy())


# --------------------------------------------------------------------------- network


def test_suite_blocks_non_loopback_connections() -> None:
    with (pytest.warns(UserWarning, match=r'host "192\.0\.2\.1"'),
          pytest.raises(pytest_socket.SocketConnectBlockedError, match=r"192\.0\.2\.1")):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_suite_allows_loopback_connections() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        with socket.create_connection(srv.getsockname(), timeout=1):
            pass
    finally:
        srv.close()
