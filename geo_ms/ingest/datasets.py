"""Glue between the catalog, the fetcher and the readers.

``load_raster("cru_cl1_cloud")`` fetches (or finds in the mirror) the files of a
catalog entry, verifies them, and calls the reader that fits the file actually
obtained — the product's original format or the mirror's re-encoding of it. The
pipeline uses the higher-level helpers: the region set, the MS table, the exposures
and the built-in sample switch.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from geo_ms._io import sha256_file
from geo_ms.errors import ConfigError, DataSourceError, DownloadError, GeoMSError, SchemaError

__all__ = [
    "SAMPLE_FILES",
    "boundaries_source",
    "cities_source",
    "decide_sample",
    "load_boundaries",
    "load_gbd",
    "load_prevalence",
    "load_raster",
    "prevalence_source",
    "sample_path",
    "sources_for",
]

#: Files of the built-in sample, shipped in ``geo_ms/data/sample``.
SAMPLE_FILES = {
    "boundaries": "ne_10m_admin0_countries_simplified.geojson",
    "prevalence": "emsp_barometer_2011.csv",
}


def sample_path(kind: str) -> Path:
    """Path of a built-in sample file (``boundaries`` or ``prevalence``)."""
    return Path(str(resources.files("geo_ms").joinpath("data", "sample", SAMPLE_FILES[kind])))


# --------------------------------------------------------------------------- sample switch


def decide_sample(mode: str) -> tuple[bool, str]:
    """Decide whether to run on the built-in sample.

    ``always`` / ``never`` force it; ``auto`` uses the full data when the mirror is
    set, every default file is already cached, or the network answers within seconds.
    """
    from geo_ms.ingest import fetch

    if mode == "always":
        return True, "the configuration asks for the built-in sample (run.sample = 'always')"
    if mode == "never":
        return False, ""
    if fetch.mirror_dir() is not None:
        return False, ""
    needed = ("ne_admin0_10m", "gbd2016_ms", "cru_cl1_cloud", "neo_uvi_clim")
    if all(_all_cached(i) for i in needed):
        return False, ""
    if fetch.network_available(timeout=3.0):
        return False, ""
    return True, (
        "no data mirror (GEO_MS_DATA_MIRROR is not set) and the data hosts are not reachable; "
        "set GEO_MS_DATA_MIRROR or connect to the internet for the full analysis"
    )


def _all_cached(dataset_id: str) -> bool:
    from geo_ms.ingest import fetch

    try:
        states = fetch.status(dataset_id)
    except GeoMSError:
        return False
    if isinstance(states, str):
        states = [states]
    return all(s in ("cached", "package") for s in states)


# --------------------------------------------------------------------------- sources


def _source(dataset_id: str, paths: dict[str, Path] | None = None) -> dict[str, Any]:
    from geo_ms.ingest.catalog import get_dataset

    ds = get_dataset(dataset_id)
    files = []
    seen: set[str] = set()
    for name, p in (paths or {}).items():
        if str(p) in seen:  # several catalog files served by one mirror re-encoding
            continue
        seen.add(str(p))
        shown = Path(p).name if Path(p).name != Path(name).name else name
        files.append({"name": shown, "path": str(p), "sha256": _sha(p)})
    sha = ";".join(f["sha256"] for f in files) if files else ""
    return {
        "id": ds.id, "title": ds.title, "kind": ds.kind, "licence": ds.licence,
        "citation": ds.citation, "files": files, "sha256": sha,
        "status": "mirror/cache" if files else "package",
    }


@functools.lru_cache(maxsize=256)
def _sha_cached(path: str, mtime: float, size: int) -> str:
    return sha256_file(path)


def _sha(p: Path) -> str:
    st = Path(p).stat()
    return _sha_cached(str(p), st.st_mtime, st.st_size)


def _fetch(dataset_id: str) -> dict[str, Path]:
    from geo_ms.ingest import fetch

    return fetch.fetch(dataset_id)


def sources_for(dataset_ids: list[str]) -> list[dict[str, Any]]:
    """Source records (id, title, licence, citation, files with sha256) of datasets."""
    out = []
    for i in dict.fromkeys(dataset_ids):
        try:
            paths = _fetch(i)
        except DownloadError:
            paths = {}
        out.append(_source(i, paths))
    return out


def _sample_source(kind: str, title: str, licence: str, citation: str) -> dict[str, Any]:
    p = sample_path(kind)
    return {"id": f"sample:{p.name}", "title": title, "kind": kind, "licence": licence,
            "citation": citation, "files": [{"name": p.name, "sha256": _sha(p)}],
            "sha256": _sha(p), "status": "built-in sample"}


def boundaries_source(rcfg: dict[str, Any], *, sample: bool) -> dict[str, Any]:
    """Source record of the region set's boundaries.

    A user polygon file (``regions.set = "polygons"``) is used even on the built-in
    sample: it is local, and ignoring it would silently analyse other regions.
    """
    if sample and rcfg["set"] != "polygons":
        return _sample_source(
            "boundaries", "Natural Earth 1:10m countries (5.1.1), simplified 0.05°",
            "public domain", "Natural Earth, naturalearthdata.com; simplified by geo_ms")
    if rcfg["set"] == "polygons":
        p = Path(rcfg["file"])
        if not p.is_file():
            raise ConfigError(f"regions.file: polygon file '{p}' not found",
                              hint="Set regions.file to a GeoPackage/shapefile/GeoJSON path")
        return {"id": f"user:{p.name}", "title": f"user polygons {p.name}", "kind": "boundaries",
                "licence": "user", "citation": str(p), "files": [], "sha256": _sha(p),
                "status": "user file"}
    did = "ne_admin1_10m" if rcfg["set"] == "admin1" else "ne_admin0_10m"
    return _source(did, _fetch(did))


def cities_source() -> dict[str, Any]:
    """Source record of the city populations used for population weights."""
    return _source("geonames_cities")


def prevalence_source(pcfg: dict[str, Any], *, sample: bool) -> dict[str, Any]:
    """Source record of the MS table (a user file is used even on the built-in sample)."""
    if sample and pcfg["source"] not in ("user", "gbd_results"):
        return _sample_source(
            "prevalence", "EMSP MS Barometer 2011, 19 European countries (cleaned)",
            "facts cited from the EMSP MS Barometer 2011",
            "European MS Platform, MS Barometer 2011, Table 1")
    if pcfg["source"] in ("user", "gbd_results"):
        p = Path(pcfg["file"])
        if not p.is_file():
            raise ConfigError(f"prevalence.file: '{p}' not found",
                              hint="Give the path of your table with --prevalence FILE")
        did = "user_prevalence" if pcfg["source"] == "user" else "gbd_results_csv"
        rec = _source(did)
        rec.update(files=[{"name": p.name, "path": str(p), "sha256": _sha(p)}], sha256=_sha(p),
                   status="user file")
    else:
        rec = _source("gbd2016_ms", _fetch("gbd2016_ms"))
    if pcfg.get("compare_table"):
        p = Path(pcfg["compare_table"])
        if not p.is_file():
            raise ConfigError(f"prevalence.compare_table: '{p}' not found",
                              hint="Give the path of a table in the documented schema")
        rec = {**rec, "sha256": rec["sha256"] + ";" + _sha(p),
               "files": [*rec["files"], {"name": p.name, "path": str(p), "sha256": _sha(p)}]}
    return rec


# --------------------------------------------------------------------------- loaders


def load_boundaries(dataset_id: str = "ne_admin0_10m") -> Any:
    """Read a Natural Earth boundary dataset from the cache or mirror."""
    from geo_ms.ingest.catalog import get_dataset
    from geo_ms.ingest.readers.boundaries import read_natural_earth

    ds = get_dataset(dataset_id)
    name, path = next(iter(_fetch(dataset_id).items()))
    return read_natural_earth(_readable(ds, name, path))


def load_raster(dataset_id: str, **kwargs: Any) -> xr.DataArray:
    """Fetch a raster dataset and read it into the canonical form.

    One way through: :func:`geo_ms.ingest.fetch.fetch` gets the verified files, then
    each file's reader and keyword arguments come from the catalog, chosen by the
    copy actually obtained (:meth:`~geo_ms.ingest.catalog.Dataset.reader_for`: the
    product's own format, or the mirror's re-encoding of it); *kwargs* override the
    catalog's ``reader_kwargs``. Archives (``.gz``, a zip's ``member``) are read from
    their hash-checked unpacked copy in ``data/raw/<id>/`` (:func:`~geo_ms.ingest.fetch.unpack`). Files needing different readers are alternative
    encodings of the same data: the first file's reader is used.

    Raises
    ------
    DataSourceError
        The dataset's reader does not return a raster (a table, points, or the
        several variables of an OMI file).
    """
    from geo_ms.ingest.catalog import get_dataset, resolve_reader

    ds = get_dataset(dataset_id)
    if _reader_kind(ds.reader) not in ("raster", "rasters"):
        raise DataSourceError(
            f"{dataset_id}: not a raster dataset geo_ms can load (reader {ds.reader})",
            hint="See 'geo-ms data list' for the raster datasets (kind cloud/uv/solar); "
            f"read this one with geo_ms.ingest.readers.{ds.reader}",
        )
    calls: list[tuple[str, dict[str, Any], list[Path]]] = []
    for name, path in _fetch(ds.id).items():
        reader, kw = ds.reader_for(name, path)
        path = _readable(ds, name, path)
        for r, k, files in calls:
            if r == reader and k == kw:
                if path not in files:
                    files.append(path)
                break
        else:
            calls.append((reader, kw, [path]))
    reader, kw, files = calls[0]
    if _reader_kind(reader) == "rasters":
        arg: Any = files
    elif len(files) == 1:
        arg = files[0]
    else:
        raise DataSourceError(
            f"{dataset_id}: {len(files)} files for {reader}, which reads one file",
            hint="Fix the catalog entry (give the files their own reader or one mirror copy)",
        )
    return resolve_reader(reader)(arg, **{**kw, **kwargs})


def _readable(ds: Any, name: str, path: Path) -> Path:
    """The file a reader reads: *path*, or for a ``.gz`` or a zip with a catalog
    ``member`` the file unpacked from it (:func:`geo_ms.ingest.fetch.unpack`)."""
    from geo_ms.ingest import fetch

    suffix = Path(path).suffix.lower()
    if suffix in (".gz", ".gzip") or (suffix == ".zip" and ds.file(name).member):
        return fetch.unpack(ds, name, path)
    return Path(path)


def _reader_kind(reader: str) -> str:
    """What a catalog reader returns (:data:`geo_ms.ingest.readers.READERS`);
    ``module:function`` readers are taken as single-file raster readers."""
    from geo_ms.ingest.readers import READERS

    return READERS.get(reader, ("", "raster"))[1]


def load_gbd(measures: tuple[str, ...] = ("prevalence",)) -> pd.DataFrame:
    """The GBD 2016 MS table (tidy), from the cache or mirror."""
    from geo_ms.ingest.readers import read_gbd_ddf

    paths = _fetch("gbd2016_ms")
    mapping: dict[str, Path] = {}
    for name, p in paths.items():
        base = Path(name).name
        for ent in ("location", "sex", "age", "cause"):
            if base == f"ddf--entities--{ent}.csv":
                mapping[ent] = p
        for meas in ("prevalence", "incidence"):
            for met in ("rate", "number"):
                if base.startswith(f"ddf--datapoints--{meas}_{met}--"):
                    mapping[f"{meas}_{met}"] = p
    return read_gbd_ddf(mapping, measures=measures)


def _gbd_wide(gbd: pd.DataFrame, pcfg: dict[str, Any], source: str = "GBD 2016") -> pd.DataFrame:
    sel = gbd[(gbd["measure"] == "prevalence") & (gbd["metric"] == "rate")
              & (gbd["sex"] == pcfg["sex"])]
    out = pd.DataFrame()

    def col(age: str, year: int) -> pd.Series:
        s = sel[(sel["age"] == age) & (sel["year"] == year)].set_index("iso3")["value"]
        return s[~s.index.duplicated()]

    main = col(pcfg["age"], pcfg["year"])
    if main.empty:
        years = sorted(sel[sel["age"] == pcfg["age"]]["year"].unique())
        if not years:
            have = sorted({f"{m} {k}" for m, k in zip(gbd["measure"], gbd["metric"],
                                                      strict=True)})
            raise SchemaError(
                f"{source}: no GBD prevalence rate rows for sex {pcfg['sex']!r} and age "
                f"{pcfg['age']!r} (the table has: {', '.join(have) or 'no rows'})",
                hint="Export the measure Prevalence with the metric Rate (per 100,000) for "
                     "that sex and age from the GBD Results tool, or set prevalence.sex / "
                     "prevalence.age to what the table has")
        raise ConfigError(f"prevalence.year = {pcfg['year']}: no GBD rows for that year",
                          hint=f"Choose a year in {years[0]}-{years[-1]}")
    out["prevalence_per_100k"] = main
    if pcfg["age"] == "age_standardised":
        out["prevalence_allages_per_100k"] = col("all_ages", pcfg["year"])
    else:
        out["prevalence_agestd_per_100k"] = col("age_standardised", pcfg["year"])
    if pcfg["compare_year"]:
        out[f"prevalence_{pcfg['compare_year']}_per_100k"] = col(pcfg["age"], pcfg["compare_year"])
    out.index.name = "region_id"
    out = out.reset_index()
    out["prevalence_source"] = (f"GBD 2016, {pcfg['sex']} sexes, {pcfg['age']}, "
                                f"{pcfg['year']}, rate per 100,000")
    return out


def load_prevalence(pcfg: dict[str, Any], *, sample: bool = False,
                    known_ids: list[str] | None = None,
                    id_kind: str = "iso3") -> pd.DataFrame:
    """The MS table of the configuration: ``region_id, prevalence_per_100k, ...``.

    A user table (``source = "user"`` or ``"gbd_results"``) is read even on the
    built-in sample; *known_ids* (the region set's ids) makes unknown ids of a user
    table an error, and *id_kind* says whether they are ISO3 codes.
    """
    from geo_ms.ingest.readers import read_gbd_results_csv, read_prevalence_table

    if sample and pcfg["source"] not in ("user", "gbd_results"):
        t = read_prevalence_table(sample_path("prevalence"))
        return _user_table(t)
    if pcfg["source"] == "user":
        out = _user_table(read_prevalence_table(pcfg["file"], known_ids=known_ids,
                                                id_kind=id_kind),  # type: ignore[arg-type]
                          pcfg["sex"], str(pcfg["file"]))
    elif pcfg["source"] == "gbd_results":
        out = _gbd_wide(read_gbd_results_csv(pcfg["file"]), pcfg, str(pcfg["file"]))
    else:
        out = _gbd_wide(load_gbd(), pcfg)
    if pcfg.get("compare_table"):
        other = _user_table(read_prevalence_table(pcfg["compare_table"], known_ids=known_ids,
                                                  id_kind=id_kind),  # type: ignore[arg-type]
                            pcfg["sex"], str(pcfg["compare_table"]))
        other = other[["region_id", "prevalence_per_100k"]].rename(
            columns={"prevalence_per_100k": "prevalence_user_per_100k"})
        out = out.merge(other, on="region_id", how="outer")
    return out


def _by_sex(t: pd.DataFrame, sex: str, label: str) -> pd.DataFrame:
    """The rows of a user table for *sex*; a table without a ``sex`` column is ``both``.

    A table whose rows are of other sexes only, or with two rows for one region and
    sex, is refused naming them (never the first row per region silently).

    >>> t = pd.DataFrame({"region_id": ["FRA", "FRA"], "sex": ["male", "female"],
    ...                   "prevalence_per_100k": [60.0, 140.0]})
    >>> _by_sex(t, "female", "t.csv")["prevalence_per_100k"].tolist()
    [140.0]
    """
    if "sex" not in t.columns:
        return t
    sexes = t["sex"].fillna("both").astype(str).str.lower().replace({"all": "both", "": "both"})
    rows = t[sexes == sex]
    if rows.empty:
        have = ", ".join(sorted(set(sexes)))
        raise SchemaError(
            f"{label or 'prevalence table'}: no rows with sex = '{sex}' (prevalence.sex); the "
            f"table has sex {have}",
            hint=f"Set prevalence.sex (--sex) to one of {have}, or add rows for {sex}")
    dup = rows["region_id"].duplicated(keep=False)
    if dup.any():
        ids = ", ".join(list(dict.fromkeys(rows.loc[dup, "region_id"].astype(str)))[:10])
        raise SchemaError(f"{label or 'prevalence table'}: two or more rows with sex = '{sex}' "
                          f"for region id(s) {ids}",
                          hint="Keep one row per region and sex")
    return rows


def _user_table(t: pd.DataFrame, sex: str = "both", label: str = "") -> pd.DataFrame:
    """Keep the rows of *sex* (``prevalence.sex``) of a user table (see :func:`_by_sex`)."""
    t = _by_sex(t, sex, label)
    keep = ["region_id", "prevalence_per_100k", "year", "age_standardised", "source"]
    out = t[[c for c in keep if c in t.columns]].rename(
        columns={"year": "prevalence_year", "source": "prevalence_source",
                 "age_standardised": "prevalence_age_standardised"})
    return out.drop_duplicates("region_id")
