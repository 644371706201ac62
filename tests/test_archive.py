"""Safe archive extraction: path escapes, symlinks, truncation, gzip checks, atomicity."""

from __future__ import annotations

import gzip
import re
import stat
import zipfile
from pathlib import Path

import pytest

from geo_ms.errors import ArchiveError, FormatError
from geo_ms.ingest.archive import archive_kind, safe_extract


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _files_below(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_extracts_all_members_with_their_bytes(tmp_path: Path) -> None:
    src = _zip(tmp_path / "a.zip", {"a.txt": b"alpha", "sub/b.dat": b"\x00\x01\x02" * 1000})
    out = safe_extract(src, tmp_path / "out")
    assert out == [tmp_path / "out" / "a.txt", tmp_path / "out" / "sub" / "b.dat"]
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"alpha"
    assert (tmp_path / "out" / "sub" / "b.dat").read_bytes() == b"\x00\x01\x02" * 1000
    # no temporary folder is left behind
    assert _files_below(tmp_path / "out") == ["a.txt", "sub", "sub/b.dat"]


def test_refuses_parent_escape(tmp_path: Path) -> None:
    src = _zip(tmp_path / "evil.zip", {"ok.txt": b"fine", "../escaped.txt": b"owned"})
    with pytest.raises(
        ArchiveError,
        match=r"evil\.zip: member '\.\./escaped\.txt' escapes the target folder \('\.\.'\); "
        r"refusing to extract$",
    ):
        safe_extract(src, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()
    assert _files_below(tmp_path / "out") == []  # checked before anything is written


def test_refuses_nested_parent_escape(tmp_path: Path) -> None:
    src = _zip(tmp_path / "evil.zip", {"a/../../x.txt": b"owned"})
    with pytest.raises(ArchiveError, match=r"member 'a/\.\./\.\./x\.txt' escapes the target"):
        safe_extract(src, tmp_path / "out")
    assert not (tmp_path / "x.txt").exists()


def test_refuses_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "abs_target.txt"
    src = _zip(tmp_path / "abs.zip", {str(target): b"owned"})
    with pytest.raises(
        ArchiveError,
        match=rf"abs\.zip: member '{re.escape(str(target))}' has an absolute path; "
        r"refusing to extract$",
    ):
        safe_extract(src, tmp_path / "out")
    assert not target.exists()


def test_refuses_symlink_member(tmp_path: Path) -> None:
    src = tmp_path / "link.zip"
    info = zipfile.ZipInfo("passwd_link")
    info.create_system = 3  # unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(
        ArchiveError,
        match=r"link\.zip: member 'passwd_link' is a symbolic link; refusing to extract$",
    ):
        safe_extract(src, tmp_path / "out")
    assert _files_below(tmp_path / "out") == []


def test_truncated_zip_is_an_archive_error(tmp_path: Path) -> None:
    good = _zip(tmp_path / "good.zip", {"data.bin": bytes(range(256)) * 200})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(
        ArchiveError,
        match=r"cut\.zip: not a readable zip archive, truncated or corrupt "
        r"\(File is not a zip file\)$",
    ) as info:
        safe_extract(cut, tmp_path / "out")
    assert info.value.hint.startswith("Delete the file and fetch it again")
    assert _files_below(tmp_path / "out") == []


def test_corrupt_member_leaves_nothing_half_written(tmp_path: Path) -> None:
    # store uncompressed so that flipping a data byte breaks the CRC of member 2 only
    src = tmp_path / "crc.zip"
    with zipfile.ZipFile(src, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("first.txt", b"A" * 100)
        zf.writestr("second.txt", b"B" * 100)
    raw = bytearray(src.read_bytes())
    pos = raw.index(b"B" * 100)
    raw[pos + 50] = ord("C")
    src.write_bytes(bytes(raw))
    with pytest.raises(
        ArchiveError,
        match=r"crc\.zip: member 'second\.txt' is truncated or corrupt \(Bad CRC-32 for file "
        r"'second\.txt'\)$",
    ):
        safe_extract(src, tmp_path / "out")
    # first.txt was extracted fine, but only into the temporary folder, now removed
    assert _files_below(tmp_path / "out") == []


def test_gunzip_roundtrip(tmp_path: Path) -> None:
    payload = b"netcdf bytes " * 5000
    src = tmp_path / "x.nc.gz"
    src.write_bytes(gzip.compress(payload))
    assert safe_extract(src, tmp_path / "out") == [tmp_path / "out" / "x.nc"]
    assert (tmp_path / "out" / "x.nc").read_bytes() == payload


def test_gzip_that_is_not_gzip_is_a_format_error(tmp_path: Path) -> None:
    src = tmp_path / "page.nc.gz"
    src.write_bytes(b"<html><body>Not found</body></html>")
    with pytest.raises(
        FormatError, match=r"page\.nc\.gz: not a gzip file \(starts with b'<html><b'\)$"
    ):
        safe_extract(src, tmp_path / "out")
    assert _files_below(tmp_path / "out") == []


def test_truncated_gzip_is_an_archive_error(tmp_path: Path) -> None:
    src = tmp_path / "cut.nc.gz"
    src.write_bytes(gzip.compress(bytes(range(256)) * 400)[:-100])
    with pytest.raises(
        ArchiveError,
        match=r"cut\.nc\.gz: gzip data ends before the end-of-stream marker \(truncated\)$",
    ):
        safe_extract(src, tmp_path / "out")
    assert _files_below(tmp_path / "out") == []


def test_gzip_with_bad_crc_is_an_archive_error(tmp_path: Path) -> None:
    raw = bytearray(gzip.compress(b"hello world" * 10))
    raw[-8] ^= 0xFF  # the CRC32 field of the gzip trailer
    src = tmp_path / "crc.gz"
    src.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match=r"crc\.gz: corrupt gzip data \(CRC check failed"):
        safe_extract(src, tmp_path / "out")
    assert _files_below(tmp_path / "out") == []


def test_archive_kind_by_suffix_and_magic(tmp_path: Path) -> None:
    z = _zip(tmp_path / "noext", {"a": b"1"})
    g = tmp_path / "noext2"
    g.write_bytes(gzip.compress(b"1"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"GIF89a....")
    assert (archive_kind(z), archive_kind(g), archive_kind(tmp_path / "x.zip")) == (
        "zip",
        "gzip",
        "zip",
    )
    with pytest.raises(
        FormatError, match=r"junk\.bin: not a zip or gzip archive \(starts with b'GIF89a\.\.'\)$"
    ):
        archive_kind(junk)


def test_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nope\.zip: archive not found$"):
        safe_extract(tmp_path / "nope.zip", tmp_path / "out")
