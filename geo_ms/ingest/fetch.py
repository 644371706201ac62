"""Get a catalog dataset's files onto this machine, verified by SHA-256.

For every file of a dataset, :func:`fetch_file` tries, in order:

1. the Python package that ships it (``package`` + ``resource`` in the catalog), read
   in place through :mod:`importlib.resources`;
2. the cache ``data/raw/<dataset id>/<name>`` under the project home
   (``$GEO_MS_HOME``, else the current folder), re-hashed on every use;
3. the local data mirror ``$GEO_MS_DATA_MIRROR/<mirror_path>``, verified against
   ``mirror_sha256`` (or ``sha256``) and **read in place** (never copied: the mirror
   is read-only and some files are large);
4. a download with :mod:`pooch` (https only; plain http only when the sha256 is
   pinned), with a 5 s connection timeout, 2 retries of transient failures, and the
   known hash checked before the temporary file is renamed into the cache.

Files without a catalog sha256 get the hash of their first download recorded in the
per-machine lock file ``data/raw/geo-ms-lock.json``; later downloads must match it.
``GEO_MS_OFFLINE=1`` forbids downloads.

The path returned for a file whose mirror copy is in another encoding
(``mirror_encoding``) is that mirror file; :meth:`geo_ms.ingest.catalog.Dataset.reader_for`
picks the reader for the copy obtained.

>>> sorted(STATES)
['cached', 'in mirror', 'missing', 'package', 'user-supplied']
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import re
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from geo_ms._io import atomic_write_text, sha256_file
from geo_ms.errors import ChecksumError, ConfigError, DataSourceError, DownloadError
from geo_ms.ingest.catalog import Dataset, FileSpec, get_dataset, list_datasets

__all__ = [
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "RETRIES",
    "STATES",
    "MirrorMissWarning",
    "Verification",
    "cache_dir",
    "dataset_dir",
    "fetch",
    "fetch_file",
    "file_status",
    "file_statuses",
    "lock_path",
    "mirror_dir",
    "network_available",
    "project_home",
    "status",
    "unpack",
    "verify_all",
]

#: Seconds to wait for a TCP connection to a download host.
CONNECT_TIMEOUT: float = 5.0
#: Seconds to wait for the next bytes of a download before giving up.
READ_TIMEOUT: float = 60.0
#: How many times a transient download failure is retried.
RETRIES: int = 2
#: Seconds to wait before retry ``k`` (multiplied by ``k``); tests set it to 0.
RETRY_WAIT: float = 1.0

#: What :func:`file_status` may answer.
STATES: tuple[str, ...] = ("cached", "in mirror", "package", "user-supplied", "missing")

_LOCK_NAME = "geo-ms-lock.json"
_MIRROR_HINT = "or set GEO_MS_DATA_MIRROR to a data mirror folder that holds it"
_GOT = re.compile(r"got ([0-9a-fA-F]{64})")


# --------------------------------------------------------------------------- locations


def project_home() -> Path:
    """The project folder: ``$GEO_MS_HOME`` if set, else the current working folder."""
    home = os.environ.get("GEO_MS_HOME")
    return Path(home).expanduser() if home else Path.cwd()


def cache_dir() -> Path:
    """The download cache ``<project home>/data/raw``."""
    return project_home() / "data" / "raw"


def dataset_dir(dataset_id: str) -> Path:
    """The cache folder of one dataset, ``data/raw/<dataset id>``."""
    return cache_dir() / dataset_id


def lock_path() -> Path:
    """The per-machine lock file of first-download hashes, ``data/raw/geo-ms-lock.json``."""
    return cache_dir() / _LOCK_NAME


def mirror_dir() -> Path | None:
    """The data mirror named by ``$GEO_MS_DATA_MIRROR``, or None when it is unset.

    Raises
    ------
    DataSourceError
        The variable is set but is not an existing folder.

    Examples
    --------
    >>> import os
    >>> old = os.environ.pop("GEO_MS_DATA_MIRROR", None)
    >>> mirror_dir() is None
    True
    >>> if old is not None: os.environ["GEO_MS_DATA_MIRROR"] = old
    """
    value = os.environ.get("GEO_MS_DATA_MIRROR")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataSourceError(
            f"GEO_MS_DATA_MIRROR={value}: not a folder",
            hint="Point GEO_MS_DATA_MIRROR at the data mirror folder (boundaries/, ms/, "
            "rasters/), or unset it.",
        )
    return path


def network_available(timeout: float = 3.0, hosts: Iterable[str] | None = None) -> bool:
    """Quickly check whether a catalog download host accepts TCP connections.

    Connects to port 443 of each host (by default the hosts of the catalog's URLs)
    in background threads and returns True as soon as one succeeds, False when all
    failed or after *timeout* seconds (name lookups included) at the latest.

    Parameters
    ----------
    timeout
        Maximum seconds to wait in total.
    hosts
        Host names to try (default: the catalog's download hosts).
    """
    if os.environ.get("GEO_MS_OFFLINE") == "1":
        return False
    if hosts is None:
        hosts = sorted(
            {urlparse(f.url).hostname or "" for d in list_datasets() for f in d.files if f.url}
            - {""}
        )
    hosts = list(hosts)
    if not hosts:
        return False
    cond = threading.Condition()
    state = {"found": False, "done": 0}

    def probe(host: str) -> None:
        ok = False
        # any failure (no route, no DNS, refused, blocked) means "not reachable"
        with contextlib.suppress(Exception), socket.create_connection((host, 443), timeout):
            ok = True
        with cond:
            state["found"] = state["found"] or ok
            state["done"] += 1
            cond.notify_all()

    for host in hosts:
        threading.Thread(target=probe, args=(host,), daemon=True).start()
    with cond:
        cond.wait_for(lambda: state["found"] or state["done"] == len(hosts), timeout=timeout)
        return bool(state["found"])


# --------------------------------------------------------------------------- lock file


def _lock_key(ds: Dataset, spec: FileSpec) -> str:
    return f"{ds.id}/{spec.name}"


def _read_lock() -> dict[str, Any]:
    path = lock_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise DataSourceError(
            f"{path}: unreadable lock file ({exc})",
            hint="Delete it; hashes are recorded again on the next downloads.",
        ) from None
    return files


def _locked_sha256(ds: Dataset, spec: FileSpec) -> str | None:
    entry = _read_lock().get(_lock_key(ds, spec))
    return entry.get("sha256") if isinstance(entry, dict) else None


def _record_lock(ds: Dataset, spec: FileSpec, sha: str, path: Path) -> None:
    _update_lock({_lock_key(ds, spec): {
        "sha256": sha,
        "url": spec.url,
        "size": path.stat().st_size,
        "recorded": _now(),
    }})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _update_lock(
    entries: dict[str, dict[str, Any]], drop: Any = None
) -> None:
    """Add *entries* to the lock file (after removing those for which *drop(key, entry)*)."""
    from filelock import FileLock

    lp = lock_path()
    lp.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lp) + ".lock", timeout=60):
        files = _read_lock()
        if drop is not None:
            files = {k: v for k, v in files.items() if not drop(k, v)}
        files.update(entries)
        text = json.dumps(
            {
                "comment": "SHA-256 of files the geo_ms catalog does not pin, recorded at "
                "their first download on this machine and enforced afterwards, and of the "
                "files unpacked from archives (re-checked on every use).",
                "files": dict(sorted(files.items())),
            },
            indent=2,
        )
        atomic_write_text(lp, text + "\n")


# --------------------------------------------------------------------------- status


def _package_path(ds: Dataset, spec: FileSpec) -> Path | None:
    if not spec.resource:
        return None
    module, _, inner = spec.resource.partition("/")
    try:
        root = importlib.resources.files(module)
    except (ModuleNotFoundError, TypeError):
        return None
    path = Path(str(root.joinpath(inner)))
    return path if path.is_file() else None


def _mirror_path(spec: FileSpec) -> Path | None:
    root = mirror_dir()
    if root is None or spec.mirror_path is None:
        return None
    path = root / spec.mirror_path
    return path if path.is_file() else None


def file_status(dataset: Dataset | str, name: str | None = None) -> str:
    """Where one file would come from, without hashing or downloading.

    Returns one of :data:`STATES`: ``package`` (shipped in an installed package),
    ``cached`` (in ``data/raw``), ``in mirror``, ``user-supplied`` (the user must
    download it) or ``missing`` (must be downloaded).
    """
    ds = get_dataset(dataset)
    spec = ds.file(name)
    if _package_path(ds, spec) is not None:
        return "package"
    if (dataset_dir(ds.id) / spec.name).is_file():
        return "cached"
    if _mirror_path(spec) is not None:
        return "in mirror"
    if ds.user_supplied:
        return "user-supplied"
    return "missing"


def file_statuses(dataset: Dataset | str) -> dict[str, str]:
    """:func:`file_status` of every file of a dataset, by file name."""
    ds = get_dataset(dataset)
    return {spec.name: file_status(ds, spec.name) for spec in ds.files}


def status(dataset: Dataset | str) -> str:
    """One word for a dataset: its files' common state, or a count of each state.

    >>> status("emsp_barometer_2011")
    'package'
    """
    states = list(file_statuses(dataset).values())
    if len(set(states)) == 1:
        return states[0]
    counts = {s: states.count(s) for s in STATES if s in states}
    return ", ".join(f"{n} {s}" for s, n in counts.items())


# --------------------------------------------------------------------------- fetching


def _offline() -> bool:
    return os.environ.get("GEO_MS_OFFLINE") == "1"


def _where_to_get(ds: Dataset, spec: FileSpec, target: Path) -> str:
    source = spec.url or ds.homepage or "its publisher"
    login = f" (needs a {ds.login} login)" if ds.login else ""
    return f"Download {source}{login} and save it as {target}, {_MIRROR_HINT}."


def _verify(path: Path, expected: str, what: str, hint: str | None = None) -> None:
    actual = _hash_once(path) if what.startswith("mirror") else sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"SHA256 hash of {what} ({path}) does not match the known hash: "
            f"expected {expected}, got {actual}",
            hint=hint,
        )


def fetch_file(
    dataset_id: str | Dataset,
    name: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> Path:
    """Return a verified local path of one file of a dataset.

    Parameters
    ----------
    dataset_id
        Catalog id (or :class:`~geo_ms.ingest.catalog.Dataset`).
    name
        File name as in the catalog (default: the dataset's first file).
    path
        For user-supplied datasets: the file to use instead of the cache location.
    download
        False: never download (answer from package, cache or mirror only).

    Returns
    -------
    pathlib.Path
        The package file, cached file, mirror file (read in place) or new download.

    Raises
    ------
    ChecksumError
        A cached, mirror or downloaded file has another SHA-256 than the catalog or
        lock file expects; the message quotes both hashes.
    DownloadError
        The file is nowhere and cannot be downloaded now; the message says what to
        download from where, and where to put it.
    """
    ds = get_dataset(dataset_id)
    spec = ds.file(name)
    target = dataset_dir(ds.id) / spec.name

    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise DownloadError(
                f"{p}: file not found (given for dataset {ds.id!r})",
                hint=f"Give the path of an existing file, or save it as {target}.",
            )
        return p

    pkg = _package_path(ds, spec)
    if pkg is not None:
        if spec.sha256:
            _verify(
                pkg,
                spec.sha256,
                f"{ds.id}/{spec.name} in package {ds.package}",
                hint=f"Reinstall the package: pip install --force-reinstall '{ds.package}'.",
            )
        return pkg

    if target.is_file():
        expected = spec.sha256 or _locked_sha256(ds, spec)
        if expected:
            _verify(
                target,
                expected,
                f"cached file {ds.id}/{spec.name}",
                hint=f"Delete {target} and run 'geo-ms data fetch {ds.id}' again; if the "
                "source really changed, update the catalog (or the lock file entry).",
            )
        elif not ds.user_supplied:
            _record_lock(ds, spec, sha256_file(target), target)
        return target

    mirrored = _mirror_path(spec)
    if mirrored is not None:
        expected = spec.expected_mirror_sha256
        if expected is None:  # pragma: no cover - the catalog loader forbids this
            raise ConfigError(f"{ds.id}/{spec.name}: mirror copy has no hash to check")
        _verify(
            mirrored,
            expected,
            f"mirror file {ds.id}/{spec.name}",
            hint="The mirror copy is damaged or not the catalogued version: restore it, "
            f"or unset GEO_MS_DATA_MIRROR and download {spec.url or ds.homepage}.",
        )
        return mirrored

    if ds.user_supplied:
        raise DownloadError(
            f"{ds.id}/{spec.name}: user-supplied file not found at {target}",
            hint=f"Get it from {ds.homepage or 'its publisher'} and save it as {target}"
            + (f" ({ds.notes})" if ds.notes else "."),
        )
    if spec.url is None:
        where = "the data mirror" if ds.mirror_only else (ds.homepage or "its publisher")
        raise DownloadError(
            f"{ds.id}/{spec.name}: not cached and not in the data mirror "
            f"({'GEO_MS_DATA_MIRROR is unset' if mirror_dir() is None else 'no ' + str(spec.mirror_path)})",
            hint=f"Set GEO_MS_DATA_MIRROR to a mirror folder holding {spec.mirror_path}"
            if spec.mirror_path
            else f"Get it from {where} and save it as {target}.",
        )
    if not download or _offline():
        raise DownloadError(
            f"{ds.id}/{spec.name}: not cached, not in the data mirror, and downloads are "
            "switched off",
            hint=_where_to_get(ds, spec, target),
        )
    root = mirror_dir()
    if root is not None and spec.mirror_path:
        # right for a user with internet; say it, since the mirror was meant to serve it
        warnings.warn(f"{ds.id}/{spec.name}: not in the data mirror ({root / spec.mirror_path});"
                      f" downloading it from {spec.url}", MirrorMissWarning, stacklevel=2)
    return _download(ds, spec, target)


class MirrorMissWarning(UserWarning):
    """A file the data mirror should hold is missing there and is downloaded instead."""


def fetch(dataset_id: str | Dataset, *, download: bool = True) -> dict[str, Path]:
    """Fetch every file of a dataset; return ``{file name: verified local path}``.

    Several names may map to the same path when one mirror file in another
    encoding stands for all of them (e.g. 12 monthly GeoTIFFs → one netCDF).

    Raises
    ------
    ChecksumError
        At the first file that fails verification.
    DownloadError
        When any file is unavailable; the message counts them and names the first,
        the hint says where to get it.

    Examples
    --------
    >>> paths = fetch("sunshine_cities")
    >>> list(paths), paths["sunshine-hours.csv"].name
    (['sunshine-hours.csv'], 'sunshine-hours.csv')
    """
    ds = get_dataset(dataset_id)
    out: dict[str, Path] = {}
    missing: list[DownloadError] = []
    for spec in ds.files:
        try:
            out[spec.name] = fetch_file(ds, spec.name, download=download)
        except DownloadError as exc:
            missing.append(exc)
    if missing:
        if len(missing) == 1:
            raise missing[0]
        first = missing[0]
        raise DownloadError(
            f"{ds.id}: {len(missing)} of {len(ds.files)} files unavailable, first: {first.message}",
            hint=first.hint,
        )
    return out


def _download(ds: Dataset, spec: FileSpec, target: Path) -> Path:
    """Download *spec* to *target* with pooch, verifying or recording its hash."""
    import pooch

    assert spec.url is not None
    scheme = urlparse(spec.url).scheme
    if scheme != "https" and not (scheme == "http" and spec.sha256):
        raise DownloadError(
            f"{ds.id}/{spec.name}: refusing to download {spec.url} (only https, or http "
            "with a pinned sha256)",
            hint=_where_to_get(ds, spec, target),
        )
    locked = _locked_sha256(ds, spec)
    known = spec.sha256 or locked
    downloader = pooch.HTTPDownloader(
        progressbar=sys.stderr.isatty(), timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    logger = pooch.get_logger()  # its "Downloading data from ..." lines: callers report
    level = logger.level
    logger.setLevel("WARNING")
    try:
        last = _retrieve(spec.url, known, target, downloader)
    finally:
        logger.setLevel(level)
    _remove_empty_folder(target.parent)
    if not target.is_file():
        if isinstance(last, ValueError):
            got = _GOT.search(str(last))
            raise ChecksumError(
                f"SHA256 hash of downloaded file {ds.id}/{spec.name} ({spec.url}) does not "
                f"match the known hash: expected {known}, got {got.group(1) if got else '?'}",
                hint="Nothing was saved. If the publisher changed the file on purpose, update "
                "the catalog sha256"
                + (f" or delete its entry in {lock_path()}" if locked and not spec.sha256 else "")
                + ".",
            )
        reason = _reason(last)
        raise DownloadError(
            f"{ds.id}/{spec.name}: download from {spec.url} failed ({reason})",
            hint=_where_to_get(ds, spec, target),
        )
    if known is None:
        _record_lock(ds, spec, sha256_file(target), target)
    return target


def _retrieve(url: str, known: str | None, target: Path, downloader: Any) -> Exception | None:
    """Download with pooch, retrying transient failures; return the last error, if any."""
    import pooch
    import requests

    last: Exception | None = None
    for attempt in range(RETRIES + 1):
        if attempt:
            time.sleep(RETRY_WAIT * attempt)
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{known}" if known else None,
                fname=target.name,
                path=target.parent,
                downloader=downloader,
                progressbar=False,
            )
            break
        except ValueError as exc:  # pooch: hash mismatch (temporary file already removed)
            if "hash" not in str(exc):
                raise
            last = exc
            continue
        except requests.exceptions.RequestException as exc:
            last = exc
            if not _transient(exc):
                break
            continue
    return last


def _transient(exc: Exception) -> bool:
    """Whether retrying *exc* may help (not 4xx, not a failed name lookup)."""
    import requests

    if isinstance(exc, requests.exceptions.HTTPError):
        code = exc.response.status_code if exc.response is not None else 0
        return code >= 500 or code == 429
    text = repr(exc)
    return not ("NameResolution" in text or "Name or service not known" in text
                or "getaddrinfo" in text)  # fmt: skip


def _reason(exc: Exception | None) -> str:
    import requests

    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        extra = " - a login is needed" if code in (401, 403) else ""
        return f"HTTP {code}{extra}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "NameResolution" in text or "getaddrinfo" in text or "Name or service" in text:
            return "host name not found - no network?"
        if "IncompleteRead" in text or "Connection broken" in text:
            return "connection broken before the end of the file"
        return "cannot connect - no network?"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection broken before the end of the file"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no data for {READ_TIMEOUT:g} s"
    return type(exc).__name__ if exc is not None else "unknown error"


def _remove_empty_folder(folder: Path) -> None:
    """Remove the dataset folder a failed first download created (pooch already
    removed its temporary file)."""
    with contextlib.suppress(OSError):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


# --------------------------------------------------------------------------- unpacking


def unpack(dataset: Dataset | str, name: str, path: str | os.PathLike[str]) -> Path:
    """Unpack a fetched archive once into ``data/raw/<id>/``; return the file to read.

    A gzip file ``x.nc.gz`` becomes ``data/raw/<id>/x.nc``; a zip ``x.zip`` is
    unpacked whole (a shapefile needs its sidecars) into ``data/raw/<id>/x/`` and its
    catalog ``member`` is returned. Unpacking goes through
    :func:`geo_ms.ingest.archive.safe_extract` (no absolute paths, ``..`` or
    symbolic links; atomic). The SHA-256 of every unpacked file is recorded in the
    lock file with the archive's hash; on reuse each file is re-hashed and, if one
    differs or is missing (or the archive changed), the archive is unpacked again.
    The archive may be a read-only mirror copy: only ``data/raw`` is written.

    Parameters
    ----------
    dataset, name
        Catalog dataset and the name of the archive file in it.
    path
        Where the verified archive is (cache, mirror or package), as from :func:`fetch`.

    Raises
    ------
    ArchiveError, FormatError
        From :func:`~geo_ms.ingest.archive.safe_extract`.
    DataSourceError
        The catalog member is not in the zip, or a zip without ``member`` holds
        several files.
    """
    from geo_ms.ingest.archive import archive_kind, safe_extract

    ds = get_dataset(dataset)
    spec = ds.file(name)
    src = Path(path)
    root = dataset_dir(ds.id)
    base = (root / spec.name).parent
    if archive_kind(src) == "gzip":
        dest = base
        want: Path | None = base / (src.name[: -len(src.suffix)] or "data")
    else:
        dest = base / Path(src.name).stem
        want = dest.joinpath(*PurePosixPath(spec.member).parts) if spec.member else None
    archive_sha = _hash_once(src)

    def mine(key: str, entry: Any) -> bool:
        return (key.startswith(f"{ds.id}/") and isinstance(entry, dict)
                and entry.get("unpacked_from") == spec.name)  # fmt: skip

    recorded = {k[len(ds.id) + 1:]: v for k, v in _read_lock().items() if mine(k, v)}
    fresh = bool(recorded) and all(
        v.get("archive_sha256") == archive_sha
        and (root / rel).is_file()
        and sha256_file(root / rel) == v.get("sha256")
        for rel, v in recorded.items()
    )
    if fresh:
        files = [root / rel for rel in recorded]
    else:
        files = safe_extract(src, dest)
        now = _now()
        _update_lock(
            {f"{ds.id}/{f.relative_to(root).as_posix()}": {
                "sha256": sha256_file(f), "size": f.stat().st_size, "unpacked_from": spec.name,
                "archive_sha256": archive_sha, "recorded": now,
            } for f in files},
            drop=mine,
        )
    if want is None:
        if len(files) != 1:
            raise DataSourceError(
                f"{ds.id}/{spec.name}: the archive holds {len(files)} files; which one to read?",
                hint="Name it with 'member' in the catalog entry.",
            )
        return files[0]
    if want not in files:
        raise DataSourceError(
            f"{ds.id}/{spec.name}: no member {spec.member!r} in {src}",
            hint="Fix 'member' in the catalog entry, or fetch the archive again.",
        )
    return want


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Verification:
    """Result of re-hashing one file (see :func:`verify_all`).

    ``where`` is ``cache``, ``mirror``, ``package`` or ``unpacked`` (a file unpacked
    from an archive by :func:`unpack`); ``expected`` is None when
    nothing pins the file (then ``ok`` is True and the hash is only reported).
    """

    dataset_id: str
    name: str
    where: str
    path: Path
    expected: str | None
    actual: str

    @property
    def ok(self) -> bool:
        """True when nothing pins the file or the hashes match."""
        return self.expected is None or self.expected == self.actual


def verify_all(
    dataset_ids: Iterable[str] | None = None, *, mirror: bool = True
) -> list[Verification]:
    """Re-hash every cached (and mirror, and package) file against the catalog and lock file.

    Nothing is downloaded and nothing raises on a mismatch: check
    :attr:`Verification.ok` of each result.

    Parameters
    ----------
    dataset_ids
        Datasets to check (default: all).
    mirror
        Also check the mirror copies when ``GEO_MS_DATA_MIRROR`` is set.
    """
    ids = list(dataset_ids) if dataset_ids is not None else [d.id for d in list_datasets()]
    lock = _read_lock()
    out: list[Verification] = []
    for ds in (get_dataset(i) for i in ids):
        for spec in ds.files:
            pkg = _package_path(ds, spec)
            if pkg is not None:
                out.append(Verification(ds.id, spec.name, "package", pkg, spec.sha256,
                                        sha256_file(pkg)))  # fmt: skip
            cached = dataset_dir(ds.id) / spec.name
            if cached.is_file():
                entry = lock.get(_lock_key(ds, spec))
                expected = spec.sha256 or (entry.get("sha256") if isinstance(entry, dict) else None)
                out.append(Verification(ds.id, spec.name, "cache", cached, expected,
                                        sha256_file(cached)))  # fmt: skip
            mp = _mirror_path(spec) if mirror else None
            if mp is not None:
                out.append(Verification(ds.id, spec.name, "mirror", mp,
                                        spec.expected_mirror_sha256, _hash_once(mp)))  # fmt: skip
        for key, entry in lock.items():  # files unpacked from the dataset's archives
            if key.startswith(f"{ds.id}/") and isinstance(entry, dict) and "unpacked_from" in entry:
                rel = key[len(ds.id) + 1:]
                p = dataset_dir(ds.id) / rel
                if p.is_file():
                    out.append(Verification(ds.id, rel, "unpacked", p, entry.get("sha256"),
                                            sha256_file(p)))  # fmt: skip
    return out


_HASHES: dict[tuple[str, int, int], str] = {}


def _hash_once(path: Path) -> str:
    """Hash a mirror file once per process (12 monthly specs can share one file)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = sha256_file(path)
    return _HASHES[key]
