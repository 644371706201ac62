"""The dataset catalog: every public dataset geo_ms knows, typed and validated.

The catalog lives in ``geo_ms/ingest/catalog.toml`` (one ``[[dataset]]`` table each, with
one or more ``[[dataset.files]]``). :func:`load_catalog` reads and checks it and
returns :class:`Dataset` objects; :func:`get_dataset` and :func:`list_datasets` look
them up. Fetching is :mod:`geo_ms.ingest.fetch`'s job.

>>> ds = get_dataset("cru_cl1_cloud")
>>> ds.kind, ds.reader, ds.files[0].member
('cloud', 'read_ipcc_ddc_grid', 'ccld6190.dat')
>>> len(get_dataset("neo_uvi_clim").files)   # 12 monthly GeoTIFFs from a url_pattern
12
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from geo_ms.errors import ConfigError, DataSourceError
from geo_ms.ingest.readers import READERS as _READER_TABLE

__all__ = [
    "KINDS",
    "READERS",
    "Dataset",
    "FileSpec",
    "default_catalog_path",
    "get_dataset",
    "list_datasets",
    "load_catalog",
    "resolve_reader",
]

#: Allowed values of a dataset's ``kind``.
KINDS: tuple[str, ...] = (
    "prevalence",
    "cloud",
    "uv",
    "solar",
    "boundaries",
    "population",
    "points",
    "covariate",
)

#: Reader names a catalog entry may use, mapped to the module that defines them
#: (derived from :data:`geo_ms.ingest.readers.READERS`, the one list of readers).
#: A reader may also be given as ``"geo_ms.module:function"``.
READERS: dict[str, str] = {name: "geo_ms.ingest.readers" for name in _READER_TABLE}

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_MODULE_READER = re.compile(r"^geo_ms(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
_HINT = "Fix the entry in the catalog file (see the key list at the top of geo_ms/ingest/catalog.toml)."

_DATASET_KEYS = {
    "id", "title", "kind", "format", "reader", "licence", "citation", "notes",
    "homepage", "package", "user_supplied", "mirror_only", "login", "reader_kwargs", "files",
}  # fmt: skip
_FILE_KEYS = {
    "name", "url", "sha256", "member", "resource", "mirror_path", "mirror_sha256",
    "mirror_encoding", "mirror_reader", "reader", "reader_kwargs", "mirror_reader_kwargs",
    "name_pattern", "url_pattern", "months", "years",
}  # fmt: skip
_REQUIRED = ("id", "title", "kind", "format", "reader", "licence", "citation")


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset.

    Attributes
    ----------
    name
        Path of the file inside the dataset's cache folder ``data/raw/<id>/``.
    url
        Where it is downloaded from (https; http only with a pinned ``sha256``), or
        None when there is no public download of this exact file.
    sha256
        Expected SHA-256 (lower-case hex); None = recorded in the lock file on the
        first download and enforced afterwards.
    member
        The file inside a zip archive that the reader should read.
    mirror_path
        Path of a copy below ``$GEO_MS_DATA_MIRROR``.
    mirror_sha256
        SHA-256 of the mirror copy when it is not the same bytes as the download.
    mirror_encoding
        Format of the mirror copy when it differs from the download (``netcdf``,
        ``geojson``, ...); None when the mirror holds the same format.
    mirror_reader
        Reader for the mirror encoding when the dataset's reader does not read it.
    reader
        Reader of this file when it is not the dataset's reader.
    reader_kwargs
        Keyword arguments for this file's reader, over the dataset's ``reader_kwargs``.
    mirror_reader_kwargs
        The same for the mirror copy in another encoding (e.g. its variable name).
    resource
        For data shipped in a Python package: ``"<import name>/<path inside>"``.
    """

    name: str
    url: str | None = None
    sha256: str | None = None
    member: str | None = None
    mirror_path: str | None = None
    mirror_sha256: str | None = None
    mirror_encoding: str | None = None
    mirror_reader: str | None = None
    reader: str | None = None
    resource: str | None = None
    reader_kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    mirror_reader_kwargs: Mapping[str, Any] = field(
        default_factory=dict, hash=False, compare=False
    )

    @property
    def expected_mirror_sha256(self) -> str | None:
        """The hash the mirror copy must have (``mirror_sha256``, else ``sha256``)."""
        return self.mirror_sha256 or self.sha256


@dataclass(frozen=True)
class Dataset:
    """One catalog entry.

    Attributes
    ----------
    id, title, kind, format, reader, licence, citation, notes
        As in the catalog; ``reader`` is a key of :data:`READERS` or
        ``"geo_ms.module:function"`` (see :func:`resolve_reader`).
    homepage
        Where a person finds or downloads the data.
    package
        PyPI requirement of the package that ships the data (e.g.
        ``"gsee-climate-data==1.0.0"``), or ``"geo_ms"`` for data shipped with geo_ms.
    user_supplied
        The user downloads it (account needed or user's own data).
    mirror_only
        No public download of these exact files; only the data mirror has them.
    login
        Name of the account a download needs (e.g. ``"Earthdata"``), if any.
    reader_kwargs
        Keyword arguments for the reader (e.g. ``{"name": "radiation"}``).
    files
        The dataset's files, patterns already expanded.
    """

    id: str
    title: str
    kind: str
    format: str
    reader: str
    licence: str
    citation: str
    notes: str = ""
    homepage: str | None = None
    package: str | None = None
    user_supplied: bool = False
    mirror_only: bool = False
    login: str | None = None
    reader_kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    files: tuple[FileSpec, ...] = ()

    def file(self, name: str | None = None) -> FileSpec:
        """Return the file called *name* (default: the first file).

        >>> get_dataset("cru_cl1_radiation").file().name
        'crad6190.zip'
        """
        if name is None:
            return self.files[0]
        for spec in self.files:
            if spec.name == name:
                return spec
        names = [f.name for f in self.files]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        raise DataSourceError(
            f"dataset {self.id!r}: no file {name!r}"
            + (f"; close matches: {', '.join(close)}" if close else ""),
            hint=f"Its files are: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}",
        )


    def reader_for(
        self, name: str, path: str | PurePosixPath | Path
    ) -> tuple[str, dict[str, Any]]:
        """Reader name and keyword arguments for the file *name*, obtained at *path*.

        A mirror copy in another encoding (``mirror_encoding``; recognised by its file
        name) is read by the file's ``mirror_reader`` (else the dataset's reader) with
        ``mirror_reader_kwargs``; any other copy by the file's ``reader`` (else the
        dataset's) with the file's ``reader_kwargs``. Both are merged over the
        dataset's ``reader_kwargs``.

        >>> ds = get_dataset("neo_uvi_clim")
        >>> ds.reader_for("AURA_UVI_CLIM_M_01.FLOAT.TIFF", "/m/rasters/neo_aura_uvi_clim_monthly_1deg.nc")[0]
        'read_cf_netcdf'
        >>> ds.reader_for("AURA_UVI_CLIM_M_01.FLOAT.TIFF", "data/raw/x/AURA_UVI_CLIM_M_01.FLOAT.TIFF")
        ('read_neo_geotiff', {'name': 'uv_index', 'units': '1', 'long_name': 'UV index climatology (NASA NEO)', 'source': 'neo_uvi_clim'})
        """
        spec = self.file(name)
        kwargs = dict(self.reader_kwargs)
        mirror_name = PurePosixPath(spec.mirror_path).name if spec.mirror_path else None
        if spec.mirror_encoding and Path(path).name == mirror_name:
            kwargs.update(spec.mirror_reader_kwargs)
            return spec.mirror_reader or self.reader, kwargs
        kwargs.update(spec.reader_kwargs)
        return spec.reader or self.reader, kwargs


def default_catalog_path() -> Path:
    """Path of the catalog shipped with geo_ms (``geo_ms/ingest/catalog.toml``)."""
    return Path(__file__).with_name("catalog.toml")


def load_catalog(path: str | Path | None = None) -> dict[str, Dataset]:
    """Read and validate a catalog file.

    Parameters
    ----------
    path
        A catalog TOML file; default the one shipped with geo_ms.

    Returns
    -------
    dict of str to Dataset
        In catalog order, keyed by dataset id.

    Raises
    ------
    ConfigError
        Unreadable TOML, unknown key, duplicate id, unknown kind or reader, bad
        sha256, non-https URL without a pinned hash, a file with no source, ...;
        the message names the entry.

    Examples
    --------
    >>> cat = load_catalog()
    >>> "gbd2016_ms" in cat and cat["gbd2016_ms"].licence.startswith("IHME")
    True
    """
    p = Path(path) if path is not None else default_catalog_path()
    try:
        st = p.stat()
        key = (st.st_mtime_ns, st.st_size)
    except OSError:
        key = (0, 0)
    return dict(_load_cached(str(p.resolve()), key))


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, _stamp: tuple[int, int]) -> tuple[tuple[str, Dataset], ...]:
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: catalog file not found", hint="Pass an existing catalog TOML file."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})", hint=_HINT) from None
    extra = set(raw) - {"dataset"}
    if extra:
        raise ConfigError(
            f"{p}: unknown top-level key(s) {', '.join(sorted(extra))}",
            hint="A catalog holds only [[dataset]] tables.",
        )
    entries = raw.get("dataset", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{p}: no [[dataset]] entries", hint=_HINT)
    out: dict[str, Dataset] = {}
    for i, entry in enumerate(entries):
        ds = _parse_dataset(p, i, entry)
        if ds.id in out:
            raise ConfigError(f"{p}: dataset {ds.id!r}: duplicate id", hint=_HINT)
        out[ds.id] = ds
    return tuple(out.items())


def get_dataset(dataset_id: str) -> Dataset:
    """Return the catalog entry *dataset_id*.

    Raises
    ------
    DataSourceError
        Unknown id; the message lists close matches.

    Examples
    --------
    >>> get_dataset("gbd2016_ms").kind
    'prevalence'
    >>> get_dataset("gbd2016ms")
    Traceback (most recent call last):
    ...
    geo_ms.errors.DataSourceError: unknown dataset 'gbd2016ms'; close matches: gbd2016_ms
    """
    if isinstance(dataset_id, Dataset):
        return dataset_id
    cat = load_catalog()
    if dataset_id in cat:
        return cat[dataset_id]
    close = difflib.get_close_matches(str(dataset_id), list(cat), n=3, cutoff=0.6)
    raise DataSourceError(
        f"unknown dataset {dataset_id!r}"
        + (f"; close matches: {', '.join(close)}" if close else ""),
        hint="Run 'geo-ms data list' to see the dataset ids.",
    )


def list_datasets(kind: str | None = None) -> list[Dataset]:
    """Return the catalog's datasets (in catalog order), optionally of one *kind*.

    >>> [d.id for d in list_datasets("solar")]
    ['cru_cl1_radiation', 'merra2_ghi']
    """
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown dataset kind {kind!r}", hint=f"Use one of: {', '.join(KINDS)}.")
    return [d for d in load_catalog().values() if kind is None or d.kind == kind]


def resolve_reader(name: str) -> Callable[..., Any]:
    """Return the reader function called *name* (a :data:`READERS` key or ``module:function``).

    >>> resolve_reader("read_natural_earth").__module__
    'geo_ms.ingest.readers.boundaries'
    """
    if ":" in name:
        module_name, func = name.split(":", 1)
    elif name in READERS:
        module_name, func = READERS[name], name
    else:
        raise ConfigError(f"unknown reader {name!r}", hint=f"Use one of: {', '.join(READERS)}.")
    try:
        return getattr(importlib.import_module(module_name), func)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"reader {name!r} cannot be imported ({exc})",
            hint="Check the reader name in the catalog and that geo_ms is fully installed.",
        ) from None


# --------------------------------------------------------------------------- parsing


def _fail(p: Path, where: str, problem: str, hint: str = _HINT) -> ConfigError:
    return ConfigError(f"{p}: {where}: {problem}", hint=hint)


def _str(p: Path, where: str, entry: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise _fail(p, where, f"missing required key {key!r}")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(p, where, f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _bool(p: Path, where: str, entry: Mapping[str, Any], key: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise _fail(p, where, f"{key!r} must be true or false, got {value!r}")
    return value


def _check_reader(p: Path, where: str, key: str, name: str | None) -> None:
    if name is None or name in READERS or _MODULE_READER.match(name):
        return
    close = difflib.get_close_matches(name, list(READERS), n=1, cutoff=0.6)
    raise _fail(
        p,
        where,
        f"unknown {key} {name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""),
        hint=f"Use one of {', '.join(READERS)}, or 'geo_ms.module:function'.",
    )


def _check_relpath(p: Path, where: str, key: str, value: str | None) -> None:
    if value is None:
        return
    pp = PurePosixPath(value)
    if pp.is_absolute() or ".." in pp.parts or "\\" in value or not value.strip():
        raise _fail(p, where, f"{key} {value!r} must be a relative path without '..'")


def _check_sha(p: Path, where: str, key: str, value: str | None) -> str | None:
    if value is None:
        return None
    low = value.lower()
    if not _HEX64.match(low):
        raise _fail(p, where, f"{key} must be 64 hex digits, got {value!r}")
    return low


def _parse_dataset(p: Path, index: int, entry: Any) -> Dataset:
    if not isinstance(entry, dict):
        raise _fail(p, f"dataset #{index + 1}", "must be a table")
    ident = entry.get("id")
    where = f"dataset {ident!r}" if isinstance(ident, str) else f"dataset #{index + 1}"
    unknown = set(entry) - _DATASET_KEYS
    if unknown:
        raise _fail(p, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    values = {k: _str(p, where, entry, k, required=True) for k in _REQUIRED}
    if not _ID.match(values["id"] or ""):
        raise _fail(p, where, "id must be lower-case letters, digits and '_'")
    if values["kind"] not in KINDS:
        raise _fail(
            p, where, f"unknown kind {values['kind']!r}", hint=f"Use one of: {', '.join(KINDS)}."
        )
    _check_reader(p, where, "reader", values["reader"])
    notes = _str(p, where, entry, "notes", required=False) or ""
    homepage = _str(p, where, entry, "homepage", required=False)
    package = _str(p, where, entry, "package", required=False)
    login = _str(p, where, entry, "login", required=False)
    user_supplied = _bool(p, where, entry, "user_supplied")
    mirror_only = _bool(p, where, entry, "mirror_only")
    reader_kwargs = entry.get("reader_kwargs", {})
    if not isinstance(reader_kwargs, dict):
        raise _fail(p, where, "reader_kwargs must be a table")
    raw_files = entry.get("files")
    if not isinstance(raw_files, list) or not raw_files:
        raise _fail(p, where, "needs at least one [[dataset.files]] entry")
    files: list[FileSpec] = []
    for j, raw in enumerate(raw_files):
        files.extend(_parse_files(p, where, j, raw))
    seen: set[str] = set()
    for spec in files:
        fwhere = f"{where} file {spec.name!r}"
        if spec.name in seen:
            raise _fail(p, fwhere, "duplicate file name")
        seen.add(spec.name)
        if spec.resource is not None and package is None:
            raise _fail(p, fwhere, "'resource' needs the dataset's 'package'")
        if mirror_only and spec.url is not None:
            raise _fail(p, fwhere, "a mirror_only dataset cannot have a url")
        if not user_supplied and not (spec.url or spec.mirror_path or spec.resource):
            raise _fail(
                p,
                fwhere,
                "has no source (url, mirror_path or resource)",
                hint="Add a url, or mark the dataset user_supplied = true.",
            )
    return Dataset(
        id=values["id"],  # type: ignore[arg-type]
        title=values["title"],  # type: ignore[arg-type]
        kind=values["kind"],  # type: ignore[arg-type]
        format=values["format"],  # type: ignore[arg-type]
        reader=values["reader"],  # type: ignore[arg-type]
        licence=values["licence"],  # type: ignore[arg-type]
        citation=values["citation"],  # type: ignore[arg-type]
        notes=notes,
        homepage=homepage,
        package=package,
        user_supplied=user_supplied,
        mirror_only=mirror_only,
        login=login,
        reader_kwargs=dict(reader_kwargs),
        files=tuple(files),
    )


def _parse_files(p: Path, where: str, index: int, raw: Any) -> list[FileSpec]:
    fwhere = f"{where} file #{index + 1}"
    if not isinstance(raw, dict):
        raise _fail(p, fwhere, "must be a table")
    unknown = set(raw) - _FILE_KEYS
    if unknown:
        raise _fail(p, fwhere, f"unknown key(s) {', '.join(sorted(unknown))}")
    has_pattern = "url_pattern" in raw or "name_pattern" in raw
    if has_pattern:
        if "name" in raw or "url" in raw:
            raise _fail(p, fwhere, "give either name/url or name_pattern/url_pattern, not both")
        name_pattern = _str(p, fwhere, raw, "name_pattern", required=True)
        url_pattern = _str(p, fwhere, raw, "url_pattern", required=True)
        fwhere = f"{where} file {name_pattern!r}"
        if raw.get("sha256") is not None:
            raise _fail(p, fwhere, "a pattern cannot carry one sha256 for several files")
        names = list(_expand(p, fwhere, name_pattern, url_pattern, raw))  # type: ignore[arg-type]
    else:
        for key in ("months", "years"):
            if key in raw:
                raise _fail(p, fwhere, f"{key!r} is only allowed with name_pattern/url_pattern")
        name = _str(p, fwhere, raw, "name", required=True)
        fwhere = f"{where} file {name!r}"
        names = [(name, _str(p, fwhere, raw, "url", required=False))]
    opt = {
        k: _str(p, fwhere, raw, k, required=False)
        for k in ("sha256", "member", "resource", "mirror_path", "mirror_sha256",
                  "mirror_encoding", "mirror_reader", "reader")
    }  # fmt: skip
    sha = _check_sha(p, fwhere, "sha256", opt["sha256"])
    mirror_sha = _check_sha(p, fwhere, "mirror_sha256", opt["mirror_sha256"])
    _check_relpath(p, fwhere, "mirror_path", opt["mirror_path"])
    _check_relpath(p, fwhere, "resource", opt["resource"])
    _check_reader(p, fwhere, "reader", opt["reader"])
    _check_reader(p, fwhere, "mirror_reader", opt["mirror_reader"])
    kw = {}
    for key in ("reader_kwargs", "mirror_reader_kwargs"):
        kw[key] = raw.get(key, {})
        if not isinstance(kw[key], dict):
            raise _fail(p, fwhere, f"{key} must be a table")
    if kw["mirror_reader_kwargs"] and opt["mirror_encoding"] is None:
        raise _fail(p, fwhere, "mirror_reader_kwargs needs a mirror_encoding")
    if opt["mirror_path"] is None and (
        mirror_sha or opt["mirror_encoding"] or opt["mirror_reader"]
    ):
        raise _fail(p, fwhere, "mirror_sha256/mirror_encoding/mirror_reader need a mirror_path")
    if opt["mirror_encoding"] is not None and mirror_sha is None:
        raise _fail(p, fwhere, "a mirror copy in another encoding needs its own mirror_sha256")
    if opt["mirror_path"] is not None and (mirror_sha or sha) is None:
        raise _fail(
            p,
            fwhere,
            "a mirror_path needs a hash to verify it (sha256 or mirror_sha256)",
            hint="Add mirror_sha256 = '<sha256 of the mirror copy>'.",
        )
    specs = []
    for name, url in names:
        nwhere = f"{where} file {name!r}"
        _check_relpath(p, nwhere, "name", name)
        if url is not None:
            parsed = urlparse(url)
            if parsed.scheme == "http" and sha is None:
                raise _fail(
                    p,
                    nwhere,
                    f"url {url!r} is plain http without a pinned sha256",
                    hint="Use the https URL, or pin the file's sha256.",
                )
            if parsed.scheme not in ("https", "http") or not parsed.netloc:
                raise _fail(p, nwhere, f"url {url!r} is not an https URL")
        specs.append(
            FileSpec(
                name=name,
                url=url,
                sha256=sha,
                member=opt["member"],
                mirror_path=opt["mirror_path"],
                mirror_sha256=mirror_sha,
                mirror_encoding=opt["mirror_encoding"],
                mirror_reader=opt["mirror_reader"],
                reader=opt["reader"],
                resource=opt["resource"],
                reader_kwargs=dict(kw["reader_kwargs"]),
                mirror_reader_kwargs=dict(kw["mirror_reader_kwargs"]),
            )
        )
    return specs


def _int_list(
    p: Path, where: str, raw: Mapping[str, Any], key: str, default: Iterable[int]
) -> list[int]:
    value = raw.get(key, list(default))
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise _fail(p, where, f"{key!r} must be a non-empty list of integers, got {value!r}")
    return value


def _expand(
    p: Path, where: str, name_pattern: str, url_pattern: str, raw: Mapping[str, Any]
) -> Iterable[tuple[str, str]]:
    uses_year = "{year" in name_pattern or "{year" in url_pattern
    uses_month = "{month" in name_pattern or "{month" in url_pattern
    if uses_year and "years" not in raw:
        raise _fail(p, where, "the pattern uses {year} but 'years' is not given")
    years = _int_list(p, where, raw, "years", [0]) if uses_year else [0]
    months = _int_list(p, where, raw, "months", range(1, 13)) if uses_month else [0]
    if uses_month and not all(1 <= m <= 12 for m in months):
        raise _fail(p, where, f"months must be within 1..12, got {months!r}")
    for year in years:
        for month in months:
            try:
                yield (
                    name_pattern.format(year=year, month=month),
                    url_pattern.format(year=year, month=month),
                )
            except (KeyError, IndexError, ValueError) as exc:
                raise _fail(p, where, f"bad pattern placeholder ({exc})") from None
