"""Private helpers for writing files atomically (temporary file, then rename)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "sha256_file",
           "write_failure"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside *target*; rename it onto *target* on success.

    On any exception the temporary file is removed and *target* is untouched.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(target.suffixes[-1:])
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{sfx}", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # let writers create it themselves (some refuse existing files)
    try:
        yield tmp
        if tmp.is_dir() and target.exists():
            import shutil

            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp.is_dir():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        failure = write_failure(exc)
        if failure is not None:
            from geo_ms.errors import OutputError

            raise OutputError(f"{target}: could not be written ({failure})") from exc
        raise


#: errno values of a write that failed for want of space, size or permission.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES,
                          errno.EPERM})


def write_failure(exc: BaseException) -> str | None:
    """Why writing an output failed (full disk, size limit, permissions), or None for
    other errors. GDAL/pyogrio report such failures without an errno; they are named.

    >>> write_failure(OSError(errno.ENOSPC, "No space left on device"))
    'No space left on device'
    >>> write_failure(ValueError("x")) is None
    True
    """
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return os.strerror(exc.errno)
    if type(exc).__module__.startswith("pyogrio"):
        return (f"{' '.join(str(exc).split())}: the disk may be full or a file-size limit "
                "reached")
    return None


def atomic_write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write *text* to *target* atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write *data* to *target* atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


