"""One decompression path: archives unpacked once into data/raw/<id>/, hash-checked on reuse."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from geo_ms.errors import ArchiveError, DataSourceError
from geo_ms.ingest import fetch as F

GZ_NAME = "cru_ts4.08.1901.2023.cld.dat.nc.gz"  # a catalog file of cru_ts408_cld
ZIP_NAME = "ne_110m_admin_0_countries.zip"  # member ne_110m_admin_0_countries.shp


def _gz(path: Path, payload: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        fh.write(payload)
    return path


def _lock() -> dict:
    return json.loads(F.lock_path().read_text())["files"]


def test_gz_is_unpacked_once_into_the_dataset_folder(workdir):
    src = _gz(workdir / "elsewhere" / GZ_NAME, b"netcdf bytes")
    out = F.unpack("cru_ts408_cld", GZ_NAME, src)
    assert out == workdir / "data/raw/cru_ts408_cld/cru_ts4.08.1901.2023.cld.dat.nc"
    assert out.read_bytes() == b"netcdf bytes"
    entry = _lock()["cru_ts408_cld/cru_ts4.08.1901.2023.cld.dat.nc"]
    assert entry["sha256"] == hashlib.sha256(b"netcdf bytes").hexdigest()
    assert entry["archive_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (entry["unpacked_from"], entry["size"]) == (GZ_NAME, 12)
    inode = out.stat().st_ino
    assert F.unpack("cru_ts408_cld", GZ_NAME, src) == out
    assert out.stat().st_ino == inode  # reused, not written again


def test_a_tampered_unpacked_file_is_detected_and_unpacked_again(workdir):
    src = _gz(workdir / "elsewhere" / GZ_NAME, b"netcdf bytes")
    out = F.unpack("cru_ts408_cld", GZ_NAME, src)
    out.write_bytes(b"netcdf bytez")  # same size, other bytes
    (bad,) = [r for r in F.verify_all(["cru_ts408_cld"]) if not r.ok]
    assert (bad.where, bad.name, bad.actual) == (
        "unpacked", out.name, hashlib.sha256(b"netcdf bytez").hexdigest())
    assert F.unpack("cru_ts408_cld", GZ_NAME, src).read_bytes() == b"netcdf bytes"
    assert all(r.ok for r in F.verify_all(["cru_ts408_cld"]))
    out.unlink()  # a missing unpacked file is unpacked again too
    assert F.unpack("cru_ts408_cld", GZ_NAME, src).read_bytes() == b"netcdf bytes"


def test_a_changed_archive_is_unpacked_again(workdir):
    src = _gz(workdir / "elsewhere" / GZ_NAME, b"version 1")
    F.unpack("cru_ts408_cld", GZ_NAME, src)
    _gz(src, b"version 2")
    assert F.unpack("cru_ts408_cld", GZ_NAME, src).read_bytes() == b"version 2"
    entries = {k: v for k, v in _lock().items() if v.get("unpacked_from") == GZ_NAME}
    assert [v["sha256"] for v in entries.values()] == [hashlib.sha256(b"version 2").hexdigest()]


def test_a_read_only_mirror_archive_is_unpacked_into_data_raw(workdir):
    mirror = workdir / "mirror"
    src = _gz(mirror / GZ_NAME, b"from the mirror")
    mirror.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        out = F.unpack("cru_ts408_cld", GZ_NAME, src)
    finally:
        mirror.chmod(stat.S_IRWXU)
    assert out.parent == workdir / "data/raw/cru_ts408_cld"
    assert sorted(os.listdir(mirror)) == [GZ_NAME]


def test_zip_member_with_its_sidecars(workdir):
    src = workdir / ZIP_NAME
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("ne_110m_admin_0_countries.shp", b"shp")
        zf.writestr("ne_110m_admin_0_countries.dbf", b"dbf")
    out = F.unpack("ne_admin0_110m", ZIP_NAME, src)
    folder = workdir / "data/raw/ne_admin0_110m/ne_110m_admin_0_countries"
    assert out == folder / "ne_110m_admin_0_countries.shp"
    assert sorted(p.name for p in folder.iterdir()) == [
        "ne_110m_admin_0_countries.dbf", "ne_110m_admin_0_countries.shp"]


def test_zip_without_the_catalog_member(workdir):
    src = workdir / ZIP_NAME
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("other.shp", b"shp")
    with pytest.raises(DataSourceError, match=r"^ne_admin0_110m/ne_110m_admin_0_countries\.zip: "
                                              r"no member 'ne_110m_admin_0_countries\.shp' in "):
        F.unpack("ne_admin0_110m", ZIP_NAME, src)


def test_an_escaping_member_is_refused_and_nothing_recorded(workdir):
    src = workdir / ZIP_NAME
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("ne_110m_admin_0_countries.shp", b"shp")
        zf.writestr("../../escaped.txt", b"owned")
    with pytest.raises(ArchiveError, match=r"escapes the target folder"):
        F.unpack("ne_admin0_110m", ZIP_NAME, src)
    assert not (workdir / "data/escaped.txt").exists()
    assert not F.lock_path().exists()


def test_load_raster_reads_a_gz_download_through_unpack(workdir, monkeypatch):
    import xarray as xr

    from geo_ms.ingest import datasets

    time = [np.datetime64(f"2001-{m:02d}-16") for m in range(1, 13)]
    nc = workdir / "x.nc"
    cld = np.arange(1, 13, dtype="float32")[:, None, None] * np.ones((12, 2, 2), "float32")
    xr.Dataset({"cld": (("time", "lat", "lon"), cld, {"units": "percentage"})},
               coords={"time": time, "lat": [10.25, 10.75], "lon": [0.25, 0.75]}).to_netcdf(nc)
    gz = _gz(workdir / "dl" / GZ_NAME, nc.read_bytes())
    monkeypatch.setattr(datasets, "_fetch", lambda did: {GZ_NAME: gz})
    da = datasets.load_raster("cru_ts408_cld", years=(2001, 2001))
    assert da.sel(month=5).values.tolist() == [[5.0, 5.0], [5.0, 5.0]]
    assert (workdir / "data/raw/cru_ts408_cld/cru_ts4.08.1901.2023.cld.dat.nc").is_file()


def test_the_mirror_zip_is_unpacked_and_read(mirror, workdir):
    from geo_ms.ingest.datasets import load_raster

    da = load_raster("cru_cl1_cloud")
    dat = workdir / "data/raw/cru_cl1_cloud/ccld6190/ccld6190.dat"
    assert dat.is_file()
    assert _lock()["cru_cl1_cloud/ccld6190/ccld6190.dat"]["unpacked_from"] == "ccld6190.zip"
    assert da.sel(month=1, lat=51.75, lon=-0.25).item() == 83.0  # London, January


def test_no_cache_under_the_system_temp_folder():
    root = Path(__file__).resolve().parents[1] / "geo_ms"
    hits = [str(p.relative_to(root)) for p in root.rglob("*.py")
            if "gettempdir" in p.read_text("utf-8") or "geo_ms_cache" in p.read_text("utf-8")]
    assert hits == []
