"""Safe extraction of downloaded archives (zip and gzip).

:func:`safe_extract` refuses members with absolute paths, ``..`` escapes and
symbolic links before writing anything, reports truncated or corrupt archives as
:class:`~geo_ms.errors.ArchiveError` (a file that is not an archive at all as
:class:`~geo_ms.errors.FormatError`), and extracts atomically: into a temporary
folder beside *dest* first, then renamed into place, so that a failure leaves
nothing half-written.

>>> import tempfile, pathlib, zipfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(d / "a.zip", "w") as zf:
...     zf.writestr("sub/x.txt", "hello")
>>> [p.relative_to(d).as_posix() for p in safe_extract(d / "a.zip", d / "out")]
['out/sub/x.txt']
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from geo_ms._io import atomic_path
from geo_ms.errors import ArchiveError, FormatError

__all__ = ["archive_kind", "safe_extract"]

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_GZIP_MAGIC = b"\x1f\x8b"
_HINT = "Delete the file and fetch it again; the download was probably cut short."


def archive_kind(path: str | os.PathLike[str]) -> str:
    """Return ``"zip"`` or ``"gzip"`` from the file's suffix, else from its first bytes.

    Raises
    ------
    FormatError
        The file is neither (e.g. an HTML error page saved as ``.zip``).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".zip":
        return "zip"
    if suffix in (".gz", ".gzip"):
        return "gzip"
    head = _head(p)
    if head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return "zip"
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    raise FormatError(
        f"{p}: not a zip or gzip archive (starts with {head[:8]!r})",
        hint="Check that the right file was downloaded.",
    )


def safe_extract(archive: str | os.PathLike[str], dest: str | os.PathLike[str]) -> list[Path]:
    """Extract a zip or a gzip file into *dest*, safely (used by :func:`geo_ms.ingest.fetch.unpack`).

    Parameters
    ----------
    archive
        ``.zip`` or ``.gz`` file (other names: detected from the first bytes).
    dest
        Target folder (created if needed). A gzip file ``x.nc.gz`` becomes
        ``dest/x.nc``.

    Returns
    -------
    list of pathlib.Path
        The extracted files, in archive order.

    Raises
    ------
    ArchiveError
        A member with an absolute path, a ``..`` escape or a symbolic link; a
        truncated or corrupt archive.
    FormatError
        The file is missing, or not a zip/gzip file at all.
    """
    src = Path(archive)
    if not src.is_file():
        raise FormatError(f"{src}: archive not found", hint="Fetch the dataset first.")
    out = Path(dest)
    kind = archive_kind(src)
    if kind == "gzip":
        return [_gunzip(src, out)]
    return _unzip(src, out)


def _head(path: Path, n: int = 8) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise FormatError(f"{path}: cannot be read ({exc.strerror})") from None


def _check_member(src: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(name).drive or name.startswith(("/", "\\")):
        raise ArchiveError(
            f"{src}: member {name!r} has an absolute path; refusing to extract",
            hint="The archive is not trustworthy: delete it and get it from the catalog URL.",
        )
    if ".." in posix.parts:
        raise ArchiveError(
            f"{src}: member {name!r} escapes the target folder ('..'); refusing to extract",
            hint="The archive is not trustworthy: delete it and get it from the catalog URL.",
        )
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        raise ArchiveError(
            f"{src}: member {name!r} is a symbolic link; refusing to extract",
            hint="The archive is not trustworthy: delete it and get it from the catalog URL.",
        )


def _unzip(src: Path, dest: Path) -> list[Path]:
    try:
        zf = zipfile.ZipFile(src)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(
            f"{src}: not a readable zip archive, truncated or corrupt ({exc})", hint=_HINT
        ) from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            _check_member(src, info)
        files = [i for i in infos if not i.is_dir()]
        dest.mkdir(parents=True, exist_ok=True)
        tmpdir = Path(tempfile.mkdtemp(prefix=f".{src.name}.", suffix=".part", dir=dest))
        try:
            done: list[tuple[Path, Path]] = []
            for info in files:
                rel = PurePosixPath(info.filename.replace("\\", "/"))
                tmp = tmpdir.joinpath(*rel.parts)
                tmp.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with zf.open(info) as fin, open(tmp, "wb") as fout:
                        shutil.copyfileobj(fin, fout, 1 << 20)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    raise ArchiveError(
                        f"{src}: member {info.filename!r} is truncated or corrupt ({exc})",
                        hint=_HINT,
                    ) from None
                done.append((tmp, dest.joinpath(*rel.parts)))
            for tmp, target in done:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
            return [target for _, target in done]
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _gunzip(src: Path, dest: Path) -> Path:
    name = src.name[: -len(src.suffix)] if src.suffix.lower() in (".gz", ".gzip") else src.name
    target = dest / (name or "data")
    try:
        with atomic_path(target) as tmp, gzip.open(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    except gzip.BadGzipFile as exc:
        if not str(exc).startswith("Not a gzipped file"):
            raise ArchiveError(f"{src}: corrupt gzip data ({exc})", hint=_HINT) from None
        raise FormatError(
            f"{src}: not a gzip file (starts with {_head(src)[:8]!r})",
            hint="Check that the right file was downloaded (an error page saved as .gz?).",
        ) from None
    except EOFError:
        raise ArchiveError(
            f"{src}: gzip data ends before the end-of-stream marker (truncated)", hint=_HINT
        ) from None
    except zlib.error as exc:
        raise ArchiveError(f"{src}: corrupt gzip data ({exc})", hint=_HINT) from None
    return target
