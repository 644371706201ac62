"""A corpus of bad inputs, each fed through the entry point a user would hit.

Every input is generated here (tmp_path) in the product's real format. Each row of
:data:`CORPUS` names the case, builds it, says which entry point reads it (mostly the
``geo-ms`` command line, offline on the built-in sample; a reader or API function
where the command line cannot reach the case) and the exact error class and message
expected. For every row the test also checks that the command line exits with 2,
prints one ``error:`` line and one ``hint:`` line and no traceback, and that nothing
was written to ``data/processed/`` or ``reports/`` of the project home.

:data:`HANDLED` lists odd but valid inputs that must be *handled*, not refused
(descending or shuffled grids, invalid or antimeridian-crossing polygons, a ``;``
delimited cp1252 prevalence table), with the values they must give.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import xarray as xr
from rasterio.transform import Affine

from geo_ms import cli
from geo_ms.errors import (
    ArchiveError,
    ChecksumError,
    ConfigError,
    CRSError,
    FormatError,
    GeoMSError,
    GridError,
    OutputError,
    RegionMatchError,
    SchemaError,
    UnitError,
)
from geo_ms.ingest import fetch
from geo_ms.ingest.catalog import get_dataset

HEADER = "region_id,prevalence_per_100k,year,age_standardised,source\n"


# --------------------------------------------------------------------------- harness


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project home (cwd, GEO_MS_HOME), offline, without a data mirror."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.chdir(h)
    monkeypatch.setenv("GEO_MS_HOME", str(h))
    monkeypatch.setenv("GEO_MS_OFFLINE", "1")
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.delenv("GEO_MS_DEBUG", raising=False)
    monkeypatch.setattr(fetch, "network_available", lambda *a, **k: False)
    return h


def written(home: Path) -> list[str]:
    """Files a failed run must not leave in data/processed/ or reports/.

    Allowed: the hidden stage cache ``data/processed/.cache`` holding *completed*
    stages only (a ``_done`` marker) and complete coverage-weight files, and the
    empty run locks ``data/processed/.geo-ms.lock`` and ``reports/.<name>.lock`` (kept on
    purpose, see pipeline.run).
    Not allowed: any other file, any temporary ``.part`` file, any unfinished stage.
    """
    bad: list[str] = []
    for top in (home / "data" / "processed", home / "reports"):
        if not top.exists():
            continue
        for p in sorted(top.rglob("*")):
            rel = p.relative_to(home).as_posix()
            if (rel == "data/processed/.geo-ms.lock"
                    or re.fullmatch(r"reports/\.[\w.-]+\.lock", rel)) and p.stat().st_size == 0:
                continue
            if ".part" in p.name:
                bad.append(rel)
                continue
            parts = p.relative_to(top).parts
            if parts[0] != ".cache":
                if p.is_file() or p.is_symlink():
                    bad.append(rel)
                continue
            if len(parts) == 2 and p.is_dir() and parts[1] != "weights" and not (p / "_done").exists():
                bad.append(rel + "/ (unfinished stage)")
    return bad


class _Recorder:
    """Stands in for rich's Console in geo_ms.cli: prints, and records the exception
    being handled when the error line is printed (so the test sees its class)."""

    last: BaseException | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from rich.console import Console

        self._c = Console(*args, **kwargs)

    def print(self, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None:
            _Recorder.last = exc
        self._c.print(*args, **kwargs)


@dataclass
class CliResult:
    code: int
    out: str
    err: str
    exc: BaseException | None


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> CliResult:
    monkeypatch.setattr(cli, "Console", _Recorder)
    _Recorder.last = None
    capsys.readouterr()
    code = cli.main(argv)
    cap = capsys.readouterr()
    return CliResult(code, cap.out, cap.err, _Recorder.last)


# --------------------------------------------------------------------------- builders


def _text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def _toml(path: Path, body: str) -> Path:
    return _text(path, body)


def _polygons(path: Path, rows: dict[str, Any]) -> Path:
    gpd.GeoDataFrame({"id": list(rows)}, geometry=list(rows.values()),
                     crs="EPSG:4326").to_file(path)
    return path


def _regions_config(d: Path, regions_file: Path, extra: str = "") -> Path:
    return _toml(d / "regions.toml", f"""
[run]
sample = "always"
[regions]
set = "polygons"
file = "{regions_file}"
id_column = "id"
{extra}
""")


def _tif(path: Path, values: np.ndarray, *, crs: str | None = "EPSG:4326",
         transform: Affine | None = None, nodata: float = -9999.0) -> Path:
    h, w = values.shape
    transform = transform or Affine(360.0 / w, 0.0, -180.0, 0.0, -180.0 / h, 90.0)
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(values.astype("float32"), 1)
    return path


FRANCE_BOX = shapely.box(0.0, 44.0, 5.0, 48.0)  # on land on the 3-degree MERRA-2 grid


def _population_case(d: Path, tif: Path) -> list[str]:
    regions = _polygons(d / "fr.geojson", {"fr": FRANCE_BOX})
    cfg = _regions_config(d, regions, f'[exposures]\npopulation_raster = "{tif}"\n')
    return ["exposures", "--config", str(cfg)]


def _prev(d: Path, body: str, name: str = "prev.csv", encoding: str = "utf-8") -> list[str]:
    path = _text(d / name, body, encoding)
    return ["run", "--prevalence", str(path), "--sample", "always"]


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _mirror_case(d: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> list[str]:
    """A mirror folder whose copy of the CRU cloud zip has other bytes."""
    spec = get_dataset("cru_cl1_cloud").files[0]
    target = d / "mirror" / str(spec.mirror_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(d / "mirror"))
    return ["data", "fetch", "cru_cl1_cloud"]


def _cloud_nc(path: Path, values: list[list[float]], units: str, var: str = "cld") -> Path:
    xr.Dataset({var: (("lat", "lon"), values, {"units": units})},
               coords={"lat": [0.5, 1.5], "lon": [0.5, 1.5]}).to_netcdf(path)
    return path


#: The 19 countries of the built-in sample (EMSP MS Barometer 2011).
SAMPLE_IDS = ["IRL", "DNK", "SWE", "SVN", "NOR", "GBR", "DEU", "GRC", "ISL", "AUT", "FRA", "FIN",
              "ITA", "ESP", "HUN", "LTU", "PRT", "ROU", "MLT"]
GBD_HEADER = "measure,location,sex,age,cause,metric,year,val,upper,lower\n"
GBD_NAMES = ["France", "Germany", "Italy", "Spain", "Norway", "Sweden", "Denmark", "Ireland",
             "Austria", "Finland", "Greece", "Portugal"]


def _gbd(d: Path, rows: list[str]) -> list[str]:
    path = _text(d / "gbd.csv", GBD_HEADER + "".join(rows))
    return ["run", "--gbd-results", str(path), "--sample", "always"]


def _gbd_inf(d: Path, mp: pytest.MonkeyPatch) -> list[str]:
    return _gbd(d, [f"Prevalence,{c},Both,Age-standardized,Multiple sclerosis,Rate,2016,"
                    f"{'inf' if i == 3 else 100 + i},200,50\n" for i, c in enumerate(GBD_NAMES)])


def _gbd_numbers_only(d: Path, mp: pytest.MonkeyPatch) -> list[str]:
    return _gbd(d, [f"Prevalence,{c},Both,All ages,Multiple sclerosis,Number,2016,{1000 + i},"
                    "2000,500\n" for i, c in enumerate(GBD_NAMES)])


def _covariates(d: Path, body: str) -> list[str]:
    table = _text(d / "cov.csv", "region_id,neurologists\n" + body)
    cfg = _toml(d / "c.toml", f'[run]\nsample = "always"\n[models]\ncovariates_file = "{table}"\n'
                f'extra_covariates = ["neurologists"]\n')
    return ["run", "--config", str(cfg)]


def _fifo(d: Path, name: str) -> Path:
    import os

    path = d / name
    os.mkfifo(path)
    return path


def _blocked_dir(d: Path, key: str) -> list[str]:
    """run.<key> below a regular file: the folder can never be created or written."""
    _text(d / "blocker", "a file where a folder should be\n")
    cfg = _toml(d / "c.toml", f'[run]\nsample = "always"\n{key} = "{d / "blocker" / "out"}"\n')
    return ["run", "--config", str(cfg)]


# --------------------------------------------------------------------------- corpus

# Entry points: "cli" builders return argv (and may use monkeypatch); "api" builders
# return a zero-argument callable that must raise.
Builder = Callable[[Path, pytest.MonkeyPatch], Any]


@dataclass(frozen=True)
class Case:
    id: str
    entry: str  # "cli" or "api"
    build: Builder
    cls: type[GeoMSError]
    message: str  # regex searched in the one-line message (anchored where useful)


def _api_zip_escape(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.archive import safe_extract

    (d / "evil.zip").write_bytes(_zip_bytes({"ok.txt": b"fine", "../evil.txt": b"gotcha"}))
    return lambda: safe_extract(d / "evil.zip", d / "out")


def _api_truncated_zip(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.readers import read_ipcc_ddc_grid

    raw = _zip_bytes({"ccld6190.dat": b"grd_sz xmin ymin xmax ymax\n" + b"  123" * 4000})
    (d / "ccld6190.zip").write_bytes(raw[: len(raw) // 2])
    return lambda: read_ipcc_ddc_grid(d / "ccld6190.zip", name="cloud_cover", units="%")


def _api_not_gzip(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.fetch import unpack

    name = "cru_ts4.08.1901.2023.cld.dat.nc.gz"
    (d / name).write_bytes(b"<html><body>503 Service Unavailable</body></html>")
    return lambda: unpack("cru_ts408_cld", name, d / name)


def _api_html_as_netcdf(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.readers import read_cf_netcdf

    (d / "cld.nc").write_bytes(b"<!DOCTYPE html><html>login required</html>")
    return lambda: read_cf_netcdf(d / "cld.nc")


def _api_empty_netcdf(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.readers import read_cf_netcdf

    (d / "cld.nc").write_bytes(b"")
    return lambda: read_cf_netcdf(d / "cld.nc")


def _api_no_latlon(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.readers import read_cf_netcdf

    xr.Dataset({"cld": (("station", "month"), np.ones((3, 12)))}).to_netcdf(d / "stations.nc")
    return lambda: read_cf_netcdf(d / "stations.nc", "cld")


def _api_fraction_for_percent(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.readers import read_cf_netcdf

    path = _cloud_nc(d / "cld.nc", [[0.12, 0.5], [0.97, 0.3]], units="%")
    return lambda: read_cf_netcdf(path, "cld", name="cloud_cover", units="%")


def _api_percent_for_fraction(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    from geo_ms.ingest.readers import read_cf_netcdf

    path = _cloud_nc(d / "cf.nc", [[12.0, 50.0], [97.0, 30.0]], units="1", var="cloud_fraction")
    return lambda: read_cf_netcdf(path, "cloud_fraction", name="cloud_fraction", units="1")


def _api_no_overlap(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    """A European GeoTIFF and a region in the Pacific: nothing to average."""
    from geo_ms.exposures.regions import user_regions
    from geo_ms.exposures.zonal import zonal_mean
    from geo_ms.ingest.readers import read_geotiff

    tif = _tif(d / "europe.tif", np.full((4, 4), 60.0),
               transform=Affine(10.0, 0.0, -10.0, 0.0, -10.0, 70.0))
    regions = _polygons(d / "pacific.geojson", {"mid_pacific": shapely.box(-150, -10, -140, 0)})
    return lambda: zonal_mean(read_geotiff(tif, name="cloud_cover", units="%"),
                              user_regions(regions, "id"))


def _api_grid_below_south_pole(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    """1° cells whose last row is centred at -90.5 (reaches -91°)."""
    from geo_ms.exposures.zonal import zonal_mean

    lat, lon = np.arange(89.5, -91, -1.0), np.arange(-179.5, 180, 1.0)
    da = xr.DataArray(np.zeros((lat.size, lon.size)), dims=("lat", "lon"), name="south",
                      coords={"lat": lat, "lon": lon}).rio.write_crs("EPSG:4326")
    reg = gpd.GeoDataFrame({"region_id": ["r"]}, geometry=[shapely.box(0, 0, 1, 1)],
                           crs="EPSG:4326")
    return lambda: zonal_mean(da, reg)


def _api_year_window_month_gap(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    """A CRU-TS-like series 2000-2002 without July 2001 (July is there in 2000 and 2002)."""
    from geo_ms.exposures.climatology import year_window

    time = pd.date_range("2000-01-01", periods=36, freq="MS") + pd.Timedelta(days=15)
    time = time[~((time.year == 2001) & (time.month == 7))]
    da = xr.DataArray(np.ones((time.size, 1, 1)), dims=("time", "lat", "lon"), name="cld",
                      coords={"time": time, "lat": [0.25], "lon": [0.25]})
    return lambda: year_window(da, 2000, 2002)


def _api_dask_grid_origin(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    """Weights of one 1° grid applied to a raster of the same shape one cell further east."""
    from geo_ms.exposures.dask_backend import zonal_mean_dask
    from geo_ms.exposures.weights import coverage_weights

    def field(west: float) -> xr.DataArray:
        return xr.DataArray(np.ones((10, 10)), dims=("lat", "lon"), name="cloud",
                            coords={"lat": np.arange(9.5, 0, -1.0),
                                    "lon": np.arange(west + 0.5, west + 10, 1.0)}
                            ).rio.write_crs("EPSG:4326")

    reg = gpd.GeoDataFrame({"region_id": ["r"]}, geometry=[shapely.box(2, 2, 4, 4)],
                           crs="EPSG:4326")
    cw = coverage_weights(field(0.0), reg)
    return lambda: zonal_mean_dask(field(1.0).chunk({"lat": 5}), reg, weights=cw)


def _api_dateline_without_edge(d: Path, mp: pytest.MonkeyPatch) -> Callable[[], Any]:
    """1° cells straddling ±180 with the west edge at -180.43: no split puts an edge on it."""
    from geo_ms.exposures.aggregate import align_to_dateline

    da = xr.DataArray(np.zeros((2, 360)), dims=("lat", "lon"), name="odd",
                      coords={"lat": [0.5, -0.5], "lon": np.arange(360) - 179.93})
    return lambda: align_to_dateline(da)


def _polygons_table(d: Path, mp: pytest.MonkeyPatch) -> list[str]:
    """Three polygons keyed by a column named region_id, and a table of their three ids:
    `geo-ms run --regions polygons --regions-file f.geojson --id-column region_id ...`."""
    boxes = {"R1": FRANCE_BOX, "R2": shapely.box(10, 45, 15, 50), "R3": shapely.box(20, 45, 25, 50)}
    path = d / "f.geojson"
    gpd.GeoDataFrame({"region_id": list(boxes)}, geometry=list(boxes.values()),
                     crs="EPSG:4326").to_file(path)
    table = _text(d / "t.csv", HEADER + "R1,90,2016,yes,X\nR2,100,2016,yes,X\nR3,80,2016,yes,X\n")
    return ["run", "--regions", "polygons", "--regions-file", str(path), "--id-column",
            "region_id", "--prevalence", str(table), "--sample", "always"]


def _dup_regions(d: Path, mp: pytest.MonkeyPatch) -> list[str]:
    path = d / "dup.geojson"
    gpd.GeoDataFrame({"id": ["a", "b", "a"]},
                     geometry=[FRANCE_BOX, shapely.box(10, 45, 15, 50), shapely.box(20, 45, 25, 50)],
                     crs="EPSG:4326").to_file(path)
    return ["exposures", "--config", str(_regions_config(d, path))]


def _user_raster(d: Path, entry: str, tif: Path | None = None) -> list[str]:
    """`geo-ms exposures` on a France box with one [[exposures.user]] raster."""
    if tif is None:
        tif = _tif(d / "rad.tif", np.full((18, 36), 150.0))
    regions = _polygons(d / "fr.geojson", {"fr": FRANCE_BOX})
    body = entry if "path" in entry else f'path = "{tif.name}"\n{entry}'
    cfg = _regions_config(d, regions, f"[[exposures.user]]\n{body}\n")
    return ["exposures", "--config", str(cfg)]


def _user_tif_over(d: Path, west: float, south: float, value: float = 150.0) -> Path:
    """A 1° GeoTIFF of 4 × 4 cells with its south-west corner at (west, south)."""
    return _tif(d / "rad.tif", np.full((4, 4), value),
                transform=Affine(1.0, 0.0, west, 0.0, -1.0, south + 4.0))


def _user_nodata_over_france(d: Path) -> Path:
    """Valid cells only east of 10° E: the raster's extent covers the France box, its valid
    cells do not."""
    values = np.full((8, 12), -9999.0)
    values[:, 10:] = 150.0
    return _tif(d / "rad.tif", values, transform=Affine(1.0, 0.0, 0.0, 0.0, -1.0, 50.0))


CORPUS: list[Case] = [
    # ---- the user prevalence table, through `geo-ms run --prevalence FILE`
    Case("prevalence-empty-file", "cli", lambda d, mp: _prev(d, ""), SchemaError,
         r"prev\.csv: the prevalence table is empty$"),
    Case("prevalence-header-only", "cli", lambda d, mp: _prev(d, HEADER), SchemaError,
         r"prev\.csv: the prevalence table has a header but no rows$"),
    Case("prevalence-missing-columns", "cli",
         lambda d, mp: _prev(d, "region_id,value,year\nFRA,94.7,2011\n"), SchemaError,
         r"prev\.csv: missing required column\(s\) prevalence_per_100k, age_standardised, "
         r"source \(found: region_id, value, year\)$"),
    Case("prevalence-non-numeric", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X\nDEU,n/a,2011,no,X\n"
                                         "ITA,ca. 90,2011,no,X\n"), SchemaError,
         r"prev\.csv: column prevalence_per_100k is not a number in row 3: 'n/a', "
         r"row 4: 'ca\. 90'$"),
    Case("prevalence-negative", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X\nDEU,-12,2011,no,X\n"), SchemaError,
         r"prev\.csv: column prevalence_per_100k is negative in row 3: '-12'$"),
    Case("prevalence-zero", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X\nMLT,0,2011,no,X\n"), SchemaError,
         r"prev\.csv: column prevalence_per_100k is 0 in row 3 \(region MLT\)$"),
    Case("prevalence-absurd", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94700,2011,no,X\n"), SchemaError,
         r"prev\.csv: column prevalence_per_100k is above 1,000 per 100,000 in row 2: '94700'"),
    Case("prevalence-duplicated-ids", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X\nDEU,128,2011,no,X\n"
                                         "fra,95,2011,no,X\n"), SchemaError,
         r"prev\.csv: duplicated region id\(s\) FRA \(rows \[2, 4\]\)$"),
    Case("prevalence-unknown-ids-and-names", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X\nGermany,128,2011,no,X\n"
                                         "XYZ,50,2011,no,X\n"), RegionMatchError,
         r"prev\.csv: 2 region id\(s\) not in the region set: 'GERMANY' \(did you mean "
         r"Germany \(DEU\)\?\), 'XYZ'$"),
    Case("prevalence-too-few-regions", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X\nDEU,128,2011,no,X\n"),
         RegionMatchError,
         r"^prev\.csv: only 2 region\(s\) of the MS table match the region set \(\d+ regions\), "
         r"fewer than models\.min_regions = 10$"),
    Case("polygons-keyed-by-region_id-with-too-few-regions", "cli", _polygons_table,
         RegionMatchError,
         r"^t\.csv: only 3 region\(s\) of the MS table match the region set \(3 regions\), "
         r"fewer than models\.min_regions = 10$"),
    Case("prevalence-ragged-rows", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X,extra\n"), SchemaError,
         r"prev\.csv: row\(s\) \[2\] do not have 5 cells like the header \(delimiter ','\)$"),
    # ---- the configuration file, through `geo-ms run --config FILE`
    Case("config-unknown-key", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[models]\nnboot = 10\n"))],
         ConfigError, r"c\.toml: unknown key 'models\.nboot' \(did you mean 'models\.n_boot'\?\)$"),
    Case("config-unknown-section", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[region]\nset = 'admin1'\n"))],
         ConfigError, r"c\.toml: unknown section '\[region\]' \(did you mean '\[regions\]'\?\)$"),
    Case("config-wrong-type", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[prevalence]\nyear = '2016'\n"))],
         ConfigError, r"c\.toml: key 'prevalence\.year' must be an integer, got '2016'$"),
    Case("config-bad-choice", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[regions]\nset = 'country'\n"))],
         ConfigError, r"'regions\.set' = 'country' is not one of countries, admin1, polygons\. "
         r"Did you mean 'countries'\?$"),
    Case("config-min-valid-fraction-out-of-range", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml",
                                                    "[exposures]\nmin_valid_fraction = 1.5\n"))],
         ConfigError, r"^.*c\.toml: key 'exposures\.min_valid_fraction' = 1\.5 is out of range "
         r"\(must be above 0 and at most 1\)$"),
    Case("config-min-regions-too-small", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[models]\nmin_regions = 1\n"))],
         ConfigError, r"c\.toml: key 'models\.min_regions' = 1 is out of range "
         r"\(must be at least 3\)$"),
    Case("config-primary-outcome-not-fitted", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", (
             '[primary]\noutcome = "atlas2020"\n[outcomes]\nfit = ["gbd2016_prev", '
             '"atlas2013"]\n')))],
         ConfigError, r"c\.toml: key 'primary\.outcome' = 'atlas2020' is not fitted "
         r"\(not in outcomes\.fit\)$"),
    Case("config-primary-exposure-not-made", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", (
             '[exposures]\ncloud = ["cru_cl1_cloud"]\n[[claims]]\nid = "C1"\ntext = "t"\n'
             'direction = "positive"\ntest = "pearson"\n'
             'exposure = "cloud_fraction_modis_pct"\n')))],
         ConfigError, r"c\.toml: \[\[claims\]\] entry 'C1': exposure "
         r"'cloud_fraction_modis_pct' needs product\(s\) modis_mod08_cloud, which "
         r"\[exposures\] does not switch on$"),
    Case("config-primary-exposure-unknown", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", (
             '[[claims]]\nid = "C2"\ntext = "t"\ndirection = "negative"\n'
             'test = "pearson"\nexposure = "uv_indx"\n')))],
         ConfigError, r"c\.toml: \[\[claims\]\] entry 'C2': exposure 'uv_indx' is not a "
         r"column of the table \(did you mean 'uv_index'\?\)$"),
    # ---- issue 20: out-of-range settings and unsafe run names
    Case("config-sesoi-r-above-1", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[models]\nsesoi_r = 2.0\n"))],
         ConfigError, r"c\.toml: key 'models\.sesoi_r' = 2\.0 is out of range \(must be "
         r"strictly between 0 and 1\)$"),
    Case("config-n-boot-zero", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[models]\nn_boot = 0\n"))],
         ConfigError, r"c\.toml: key 'models\.n_boot' = 0 is out of range \(must be between "
         r"100 and 100,000\)$"),
    Case("config-n-boot-1e9", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml",
                                                    "[models]\nn_boot = 1_000_000_000\n"))],
         ConfigError, r"key 'models\.n_boot' = 1000000000 is out of range \(must be between "
         r"100 and 100,000\)$"),
    Case("config-knn-zero", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[models]\nknn = 0\n"))],
         ConfigError, r"c\.toml: key 'models\.knn' = 0 is out of range \(must be at least 1\)$"),
    Case("config-knn-not-below-the-regions", "cli",
         lambda d, mp: ["run", "--sample", "always", "--config",
                        str(_toml(d / "c.toml", "[models]\nknn = 19\n"))],
         ConfigError, r"^models\.knn = 19 is not below the 19 regions with an MS value"),
    Case("config-min-valid-fraction-zero", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml",
                                                    "[exposures]\nmin_valid_fraction = 0.0\n"))],
         ConfigError, r"key 'exposures\.min_valid_fraction' = 0\.0 is out of range \(must be "
         r"above 0 and at most 1\)$"),
    Case("config-cru-ts-years-reversed", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml",
                                                    "[exposures]\ncru_ts_years = [1990, 1961]\n"))],
         ConfigError, r"'exposures\.cru_ts_years' = \[1990, 1961\] is not a \[first, last\] "
         r"year window within 1901-2023$"),
    Case("run-name-escapes-reports", "cli",
         lambda d, mp: ["run", "--sample", "always", "--name", "../../escaped_run"],
         ConfigError, r"^command line: run name '\.\./\.\./escaped_run' is not one folder name"),
    Case("run-name-latest", "cli", lambda d, mp: ["run", "--sample", "always", "--name", "latest"],
         ConfigError, r"^command line: run name 'latest' is reserved"),
    Case("run-name-empty", "cli", lambda d, mp: ["run", "--sample", "always", "--name", ""],
         ConfigError, r"^command line: run name '' is not one folder name"),
    # ---- issue 20: MS tables and covariates that used to end in a traceback
    Case("gbd-results-infinite-value", "cli", _gbd_inf, SchemaError,
         r"gbd\.csv: column val is infinite or negative in 1 row\(s\) \(rows \[5\]: "
         r"\['inf'\]\)$"),
    Case("gbd-results-number-metric-only", "cli", _gbd_numbers_only, SchemaError,
         r"gbd\.csv: no GBD prevalence rate rows for sex 'both' and age 'age_standardised' "
         r"\(the table has: prevalence number\)$"),
    Case("covariates-infinite-value", "cli",
         lambda d, mp: _covariates(d, "".join(f"{c},{'inf' if i == 2 else i + 1}\n"
                                              for i, c in enumerate(SAMPLE_IDS))),
         SchemaError, r"cov\.csv: column 'neurologists' has infinite value\(s\): row 4: 'inf'$"),
    Case("covariates-ids-match-no-region", "cli",
         lambda d, mp: _covariates(d, "".join(f"X{i:02d},{i}\n" for i in range(12))),
         SchemaError, r"cov\.csv: none of its 12 region id\(s\) is a region with an MS value "
         r"\(e\.g\. X00, X01, X02\)$"),
    Case("covariates-constant-column", "cli",
         lambda d, mp: _covariates(d, "".join(f"{c},5\n" for c in SAMPLE_IDS)),
         SchemaError, r"cov\.csv: column 'neurologists' is constant \(5\) over the 19 regions "
         r"with an MS value: a model cannot adjust for it$"),
    Case("prevalence-year-3000", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,3000,no,X\n"), SchemaError,
         r"prev\.csv: column year is outside 1900-20\d\d in row 2: '3000'$"),
    Case("prevalence-utf16-without-bom", "cli",
         lambda d, mp: _prev(d, HEADER + "FRA,94.7,2011,no,X\n", encoding="utf-16-le"),
         SchemaError, r"prev\.csv: not a text table in UTF-8 or cp1252 \(it has NUL bytes: "
         r"UTF-16 without a byte-order mark, or a binary file such as \.xlsx\)$"),
    Case("prevalence-male-and-female-rows-only", "cli",
         lambda d, mp: _prev(d, HEADER.replace("\n", ",sex\n") + "".join(
             f"{c},{100 + i},2011,no,X,male\n{c},{150 + i},2011,no,X,female\n"
             for i, c in enumerate(SAMPLE_IDS))), SchemaError,
         r"prev\.csv: no rows with sex = 'both' \(prevalence\.sex\); the table has sex "
         r"female, male$"),
    Case("prevalence-two-rows-per-region-and-sex", "cli",
         lambda d, mp: _prev(d, HEADER.replace("\n", ",sex\n") + "".join(
             f"{c},{100 + i},2011,no,X,male\n{c},{101 + i},2011,no,X,m\n"
             for i, c in enumerate(SAMPLE_IDS[:3]))), SchemaError,
         r"prev\.csv: duplicated region id\(s\) DNK, IRL, SWE \(rows \[2, 3, 4, 5, 6, 7\]\)$"),
    # ---- issue 20: paths that are not files, schedulers, output folders
    Case("prevalence-is-a-fifo", "cli",
         lambda d, mp: ["run", "--sample", "always", "--prevalence", str(_fifo(d, "p.csv"))],
         ConfigError, r"key 'prevalence\.file' = '.*p\.csv' is a FIFO \(named pipe\), not a "
         r"regular file$"),
    Case("covariates-file-is-a-fifo", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", '[run]\nsample = "always"\n'
                        f'[models]\ncovariates_file = "{_fifo(d, "cov.csv")}"\n'))],
         ConfigError, r"c\.toml: key 'models\.covariates_file' = '.*cov\.csv' is a FIFO "
         r"\(named pipe\), not a regular file$"),
    Case("population-raster-is-a-fifo", "cli",
         lambda d, mp: _population_case(d, _fifo(d, "pop.tif")), ConfigError,
         r"regions\.toml: key 'exposures\.population_raster' = '.*pop\.tif' is a FIFO "
         r"\(named pipe\), not a regular file$"),
    Case("regions-file-is-a-folder", "cli",
         lambda d, mp: ["exposures", "--config", str(_regions_config(d, d))], ConfigError,
         r"regions\.toml: key 'regions\.file' = '.*' is a folder, not a regular file$"),
    Case("scheduler-unknown-scheme", "cli",
         lambda d, mp: ["run", "--sample", "always", "--scheduler", "garbage://x"], ConfigError,
         r"^command line: key 'compute\.scheduler' = 'garbage://x' is not a scheduler address"),
    Case("scheduler-port-not-a-number", "cli",
         lambda d, mp: ["run", "--sample", "always", "--scheduler", "127.0.0.1:notaport"],
         ConfigError, r"^command line: key 'compute\.scheduler' = '127\.0\.0\.1:notaport' is "
         r"not a scheduler address"),
    Case("processed-dir-not-writable", "cli", lambda d, mp: _blocked_dir(d, "processed_dir"),
         OutputError, r"blocker/out: the output folder cannot be written \(.+\)$"),
    Case("reports-dir-not-writable", "cli", lambda d, mp: _blocked_dir(d, "reports_dir"),
         OutputError, r"blocker/out: the output folder cannot be written \(.+\)$"),
    Case("config-not-toml", "cli",
         lambda d, mp: ["run", "--config", str(_toml(d / "c.toml", "[run]\nname = default\n"))],
         ConfigError, r"c\.toml: not valid TOML \("),
    # ---- downloaded files, through `geo-ms data fetch ID` with a tampered mirror copy
    Case("mirror-wrong-sha256", "cli",
         lambda d, mp: _mirror_case(d, mp, _zip_bytes({"ccld6190.dat": b"not the CRU grid"})),
         ChecksumError,
         r"^SHA256 hash of mirror file cru_cl1_cloud/ccld6190\.zip \(.*ccld6190\.zip\) does not "
         r"match the known hash: expected 4b82265f87cd8f2f[0-9a-f]{48}, got [0-9a-f]{64}$"),
    Case("mirror-empty-file", "cli", lambda d, mp: _mirror_case(d, mp, b""), ChecksumError,
         r"does not match the known hash: expected 4b82265f[0-9a-f]{56}, got "
         r"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855$"),
    Case("mirror-truncated-zip", "cli",
         lambda d, mp: _mirror_case(d, mp, _zip_bytes({"ccld6190.dat": b"1" * 9999})[:200]),
         ChecksumError, r"^SHA256 hash of mirror file cru_cl1_cloud/ccld6190\.zip "),
    # ---- polygons, through `geo-ms exposures --config FILE` (regions.set = "polygons")
    Case("regions-empty-set", "cli",
         lambda d, mp: ["exposures", "--config", str(_regions_config(d, _text(
             d / "none.geojson", '{"type": "FeatureCollection", "features": []}')))],
         SchemaError, r"none\.geojson: no regions \(empty polygon set\)$"),
    Case("regions-empty-file", "cli",
         lambda d, mp: ["exposures", "--config", str(_regions_config(d, _text(d / "r.gpkg", "")))],
         FormatError, r"r\.gpkg: the file is empty \(0 bytes\)$"),
    Case("regions-truncated-zip", "cli",
         lambda d, mp: ["exposures", "--config", str(_regions_config(d, _text(
             d / "r.zip", "PK\x03\x04 cut short")))],
         FormatError, r"r\.zip: not a readable zip archive \(truncated or corrupt\)$"),
    Case("regions-no-overlap-with-raster", "cli",
         lambda d, mp: ["exposures", "--config", str(_regions_config(d, _polygons(
             d / "sea.geojson", {"mid_pacific": shapely.box(-150, -10, -140, 0)})))],
         GridError, r"none of the 1 regions overlaps a valid raster cell"),
    Case("regions-duplicated-ids", "cli", _dup_regions, SchemaError,
         r"dup\.geojson: duplicated region_id: a$"),
    # ---- a user raster, through `geo-ms exposures` (exposures.population_raster)
    Case("raster-without-crs", "cli",
         lambda d, mp: _population_case(d, _tif(d / "nocrs.tif", np.ones((18, 36)), crs=None)),
         CRSError, r"nocrs\.tif: raster has no CRS"),
    Case("raster-projected-crs", "cli",
         lambda d, mp: _population_case(d, _tif(d / "merc.tif", np.ones((4, 4)), crs="EPSG:3857",
                                                transform=Affine(1e5, 0, 0, 0, -1e5, 1e5))),
         CRSError, r"merc\.tif: is in a projected CRS \(EPSG:3857\); geo_ms needs geographic "
         r"lat/lon \(EPSG:4326\)"),
    Case("raster-all-nodata", "cli",
         lambda d, mp: _population_case(d, _tif(d / "nodata.tif", np.full((18, 36), -9999.0))),
         GridError, r"nodata\.tif: every cell is nodata \(NaN\)"),
    # ---- an [[exposures.user]] raster, through `geo-ms exposures --config FILE`
    Case("user-raster-missing-file", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\npath = "nope.tif"\nunits = "W m-2"'),
         FormatError, r"nope\.tif: file not found \(\[\[exposures\.user\]\] id = 'rad'\)$"),
    Case("user-raster-unreadable-bytes", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"',
                                    _text(d / "rad.tif", "id,value\n1,2\n")),
         FormatError, r"rad\.tif: not a GeoTIFF or netCDF file \(starts with b'id,value'\)$"),
    Case("user-raster-truncated-geotiff", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"', _text(
             d / "rad.tif", "II*\x00" + "\x00" * 12)),
         FormatError, r"rad\.tif: cannot be read as GeoTIFF \("),
    Case("user-raster-sha256-mismatch", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"\nsha256 = "' + "0" * 64
                                    + '"'),
         ChecksumError, r"rad\.tif: sha256 [0-9a-f]{64} differs from the configured 0{64} "
         r"\(\[\[exposures\.user\]\] id = 'rad'\)$"),
    Case("user-raster-no-overlap", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"',
                                    _user_tif_over(d, -150.0, -10.0)),
         GridError, r"rad\.tif: the raster \(lon -150\.\.-146, lat -10\.\.-6\) overlaps none "
         r"of the 1 regions$"),
    Case("user-raster-no-valid-cell-in-any-region", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"', _user_nodata_over_france(d)),
         GridError, r"rad\.tif: none of the 1 regions overlaps a valid cell of the raster "
         r"\(rad\)$"),
    Case("user-raster-all-nodata", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"',
                                    _tif(d / "rad.tif", np.full((18, 36), -9999.0))),
         GridError, r"rad\.tif: every cell is nodata \(NaN\)"),
    Case("user-raster-months-without-12-bands", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"\nbands = "months"'),
         FormatError, r'rad\.tif: has 1 band\(s\); bands = "months" needs 12$'),
    Case("user-raster-without-crs", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"',
                                    _tif(d / "rad.tif", np.full((18, 36), 150.0), crs=None)),
         CRSError, r"rad\.tif: raster has no CRS$"),
    Case("user-raster-id-collides-with-a-column", "cli",
         lambda d, mp: _user_raster(d, 'id = "cloud_cover_pct"\nunits = "%"'),
         ConfigError, r"regions\.toml: \[\[exposures\.user\]\] id = 'cloud_cover_pct' is "
         r"already a column$"),
    Case("user-raster-unknown-key", "cli",
         lambda d, mp: _user_raster(d, 'id = "rad"\nunits = "W m-2"\nlicense = "CC-BY-4.0"'),
         ConfigError, r"regions\.toml: unknown key 'license' in \[\[exposures\.user\]\] "
         r"table 1 \(did you mean 'licence'\?\)$"),
    # ---- files a reader gets (no command takes them directly)
    Case("zip-entry-escapes-target", "api", _api_zip_escape, ArchiveError,
         r"evil\.zip: member '\.\./evil\.txt' escapes the target folder"),
    Case("zip-truncated", "api", _api_truncated_zip, ArchiveError,
         r"ccld6190\.zip: truncated or corrupt zip archive \(no central directory\)$"),
    Case("gzip-that-is-not-gzip", "api", _api_not_gzip, FormatError,
         r"cru_ts4\.08\.1901\.2023\.cld\.dat\.nc\.gz: not a gzip file "
         r"\(starts with b'<html><b'\)$"),
    Case("netcdf-that-is-html", "api", _api_html_as_netcdf, FormatError,
         r"cld\.nc: not a netCDF file \(starts with b'<!DOCTYP'\)$"),
    Case("netcdf-empty-file", "api", _api_empty_netcdf, FormatError,
         r"cld\.nc: the file is empty \(0 bytes\)$"),
    Case("netcdf-without-lat-lon", "api", _api_no_latlon, GridError,
         r"stations\.nc: no latitude/longitude coordinates found; expected one of "
         r"lat/latitude/y and lon/longitude/x, found dims \('station', 'month'\)$"),
    Case("cloud-fraction-where-percent-expected", "api", _api_fraction_for_percent, UnitError,
         r"cld\.nc: cloud values range 0\.12 to 0\.97, which looks like a 0-1 fraction, "
         r"but '%' \(percent, 0-100\) is expected"),
    Case("cloud-percent-where-fraction-expected", "api", _api_percent_for_fraction, UnitError,
         r"cf\.nc: cloud values range 12 to 97, which looks like percent \(0-100\), "
         r"but '1' \(fraction, 0-1\) is expected"),
    Case("raster-and-regions-without-overlap", "api", _api_no_overlap, GridError,
         r"^zonal mean: none of the 1 regions overlaps a valid raster cell$"),
    Case("grid-below-the-south-pole", "api", _api_grid_below_south_pole, GridError,
         r"^raster 'south': cells reach beyond lon -180\.\.180 / lat -90\.\.90 "
         r"\(lon -180\.\.180, lat -91\.\.90\)$"),
    Case("year-window-month-missing-in-one-year", "api", _api_year_window_month_gap, GridError,
         r"^cld: year window 2000-2002 lacks calendar month\(s\) in 1 year\(s\): 2001: \[7\]$"),
    Case("dask-weights-of-another-grid-origin", "api", _api_dask_grid_origin, GridError,
         r"^raster 'cloud': grid origin \(west 1, north 10, cell 1x1\) differs from the "
         r"weights' grid \(west 0, north 10, cell 1x1\)$"),
    Case("grid-straddling-the-dateline-without-an-edge", "api", _api_dateline_without_edge,
         GridError, r"^raster 'odd': cells straddle ±180° and no split into 1-64 sub-columns "
         r"puts an edge on -180° \(west edge -180\.43, step 1\)$"),
]



def test_corpus_is_large_and_ids_unique() -> None:
    assert len(CORPUS) >= 25
    assert len({c.id for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_bad_input_is_refused_clearly(
    case: Case, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    d = tmp_path / "in"
    d.mkdir()
    if case.entry == "api":
        call = case.build(d, monkeypatch)
        with pytest.raises(case.cls, match=case.message) as info:
            call()
        assert type(info.value) is case.cls
        assert "\n" not in info.value.message and info.value.hint
        assert not (tmp_path / "evil.txt").exists()  # nothing escaped the input folder
    else:
        argv = case.build(d, monkeypatch)
        res = run_cli(argv, capsys, monkeypatch)
        assert res.code == 2, (res.out, res.err)
        assert type(res.exc) is case.cls, repr(res.exc)
        assert re.search(case.message, res.exc.message), res.exc.message  # type: ignore[union-attr]
        lines = res.err.strip("\n").split("\n")
        assert len(lines) == 2, res.err
        assert lines[0] == f"error: {res.exc.message}"  # type: ignore[union-attr]
        assert lines[1].startswith("hint: ") and len(lines[1]) > len("hint: ") + 10
        assert "Traceback" not in res.out + res.err
    assert written(home) == []


def test_debug_flag_shows_the_traceback(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _toml(tmp_path / "c.toml", "[models]\nnboot = 10\n")
    monkeypatch.setenv("GEO_MS_DEBUG", "0")  # restored afterwards: --debug sets it to 1
    with pytest.raises(ConfigError, match=r"unknown key 'models\.nboot'"):
        cli.main(["--debug", "run", "--config", str(cfg)])


# --------------------------------------------------------------------------- handled inputs


def _grid_nc(path: Path, lat: list[float], lon: list[float]) -> Path:
    """value = 100 * lat + lon at every cell centre (so each cell says where it is)."""
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    xr.Dataset({"cld": (("lat", "lon"), 40.0 + 0.1 * (100.0 * la + lo) / 100.0,
                        {"units": "%"})},
               coords={"lat": lat, "lon": lon}).to_netcdf(path)
    return path


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        pytest.param([-1.5, -0.5, 0.5, 1.5], [-1.5, -0.5, 0.5, 1.5], id="ascending"),
        pytest.param([1.5, 0.5, -0.5, -1.5], [1.5, 0.5, -0.5, -1.5], id="descending"),
        pytest.param([0.5, -1.5, 1.5, -0.5], [-0.5, 1.5, -1.5, 0.5], id="shuffled"),
    ],
)
def test_grid_in_any_coordinate_order_gives_the_right_region_mean(
    tmp_path: Path, lat: list[float], lon: list[float]
) -> None:
    """A 1-degree netCDF grid read and averaged over the north-east cell (0..1E, 0..1N)
    and over the 2x2 central cells: the values are those of the cells' own centres."""
    from geo_ms.exposures.zonal import zonal_mean
    from geo_ms.ingest.readers import read_cf_netcdf

    da = read_cf_netcdf(_grid_nc(tmp_path / "g.nc", lat, lon), "cld", name="cloud_cover",
                        units="%")
    regions = gpd.GeoDataFrame({"region_id": ["ne_cell", "centre"]},
                               geometry=[shapely.box(0, 0, 1, 1), shapely.box(-1, -1, 1, 1)],
                               crs="EPSG:4326")
    out = zonal_mean(da, regions)
    col = next(c for c in out.columns if c != "valid_fraction")
    # cell centred at (0.5N, 0.5E): 40 + 0.1 * (50 + 0.5) / 100
    assert out.loc["ne_cell", col] == pytest.approx(40.0 + 0.1 * 50.5 / 100.0, rel=1e-6)
    # four cells at +-0.5: lon terms cancel, lat terms cancel up to the (tiny) area weights
    assert out.loc["centre", col] == pytest.approx(40.0, abs=1e-5)


@pytest.fixture(scope="module")
def handled_polygons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `geo-ms exposures` run on a polygon file with an invalid (bow-tie) polygon and
    the same Chukotka box written three ways across the antimeridian."""
    import os

    d = tmp_path_factory.mktemp("handled")
    home = d / "home"
    home.mkdir()
    bowtie = shapely.Polygon([(0, 44), (5, 48), (5, 44), (0, 48), (0, 44)])
    assert not bowtie.is_valid
    ring = shapely.Polygon([(174, 63), (-174, 63), (-174, 68), (174, 68)])  # drawn across 180
    split = shapely.MultiPolygon([shapely.box(174, 63, 180, 68), shapely.box(-180, 63, -174, 68)])
    shifted = shapely.box(174, 63, 186, 68)  # 0..360 longitudes
    regions = d / "regions.geojson"
    gpd.GeoDataFrame({"id": ["bowtie", "fixed_bowtie", "ring", "split", "shifted"]},
                     geometry=[bowtie, shapely.make_valid(bowtie), ring, split, shifted],
                     crs="EPSG:4326").to_file(regions)
    cfg = _regions_config(d, regions)
    env = {"GEO_MS_HOME": str(home), "GEO_MS_OFFLINE": "1"}
    old = {k: os.environ.get(k) for k in (*env, "GEO_MS_DATA_MIRROR")}
    os.environ.update(env)
    os.environ.pop("GEO_MS_DATA_MIRROR", None)
    buf_out, buf_err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
            code = cli.main(["exposures", "--config", str(cfg)])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    expo = pd.read_csv(home / "data/processed/exposures.csv", index_col="region_id")
    return {"code": code, "out": buf_out.getvalue(), "err": buf_err.getvalue(), "expo": expo}


def test_invalid_polygon_is_repaired_and_reported(handled_polygons: dict[str, Any]) -> None:
    assert handled_polygons["code"] == 0, handled_polygons["err"]
    assert "regions: repaired invalid geometry of 1 region(s): bowtie" in handled_polygons["out"]
    expo = handled_polygons["expo"]
    assert np.isfinite(expo.loc["bowtie", "ghi_merra2"])
    # the repaired bow-tie is exactly shapely's make_valid of it
    assert expo.loc["bowtie", "ghi_merra2"] == pytest.approx(expo.loc["fixed_bowtie", "ghi_merra2"],
                                                             rel=1e-9)


def test_polygons_across_the_antimeridian_are_handled(handled_polygons: dict[str, Any]) -> None:
    assert handled_polygons["code"] == 0, handled_polygons["err"]
    assert "regions: split at the antimeridian: ring, shifted" in handled_polygons["out"]
    expo = handled_polygons["expo"]
    ghi = expo.loc[["ring", "split", "shifted"], "ghi_merra2"]
    assert np.isfinite(ghi).all()
    # Chukotka in MERRA-2 (land, 63-68N): a few tens of W m-2 over the year
    assert 40 < ghi["split"] < 150, ghi
    assert ghi["ring"] == pytest.approx(ghi["split"], rel=1e-9)
    assert ghi["shifted"] == pytest.approx(ghi["split"], rel=1e-9)


def test_polygons_keyed_by_region_id_get_city_sunshine_and_coverage_reasons(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`geo-ms exposures` on a polygon file whose id column is itself called region_id:
    accepted; a polygon around Madrid gets Madrid's sunshine hours (2691 h, the packaged
    sunshine-hours table), and one reaching far beyond the 3° grid's top (73.5 N) loses
    its GHI (valid cells only at 63-67.5 N: polar-night months blank the annual mean
    further north) with the coverage reason in exposures_missing.csv."""
    path = tmp_path / "r.geojson"
    gpd.GeoDataFrame({"region_id": ["madrid", "lapland"]},
                     geometry=[shapely.box(-4.5, 39.5, -3, 41), shapely.box(15, 63, 30, 89)],
                     crs="EPSG:4326").to_file(path)
    cfg = _toml(tmp_path / "c.toml", f"""
[run]
sample = "always"
[regions]
set = "polygons"
file = "{path}"
id_column = "region_id"
""")
    res = run_cli(["exposures", "--config", str(cfg)], capsys, monkeypatch)
    assert res.code == 0, res.err
    expo = pd.read_csv(home / "data/processed/exposures.csv", index_col="region_id")
    assert expo.loc["madrid", "sunshine_hours_cities"] == 2691.0
    assert np.isfinite(expo.loc["madrid", "ghi_merra2"])
    assert np.isnan(expo.loc["lapland", "ghi_merra2"])
    miss = pd.read_csv(home / "data/processed/exposures_missing.csv").set_index("region_id")
    # (sin 67.5 - sin 63) / (sin 89 - sin 63) = 0.30 of the box is on valid cells
    assert miss.loc["lapland", "reason"].startswith(
        "ghi_merra2, ghi_merra2_winter, cloudiness_sunshine_pct, cloudiness_sunshine_pct_winter, "
        "ghi_merra2_popw, cloudiness_sunshine_pct_popw: valid cells cover 0.30 of the "
        "region's area < min_valid_fraction 0.5; "), miss.loc["lapland", "reason"]
    assert "madrid" not in miss.index
    assert gpd.read_parquet(home / "data/processed/exposures.parquet")["region_id"].tolist() == [
        "madrid", "lapland"]


@pytest.fixture(scope="module")
def semicolon_cp1252_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The one full sample run of this file: a ';'-delimited cp1252 table with decimal
    commas and an accented free-text column, through `geo-ms run`."""
    import os

    from geo_ms.ingest import fetch as fetch_mod

    d = tmp_path_factory.mktemp("semicolon")
    home = d / "home"
    home.mkdir()
    table = _text(d / "prevalence_fr.csv",
                  "region_id;prevalence_per_100k;year;age_standardised;source;region_name\n"
                  "FRA;94,7;2011;oui;Fromont 2010;France\n"
                  "DEU;128,0;2011;ja;Petersen 2014;Deutschland\n"
                  "CHE;110,0;2011;non;Bénédict 2012;Suisse\n"
                  "AUT;140,0;2011;non;Österreich MS-Gesellschaft;Österreich\n"
                  # six more (made-up values) to reach models.min_regions = 10
                  "ITA;176,0;2011;non;X;Italia\nESP;95,2;2011;non;X;España\n"
                  "NOR;203,0;2011;non;X;Norge\nSWE;215,0;2011;non;X;Sverige\n"
                  "DNK;227,0;2011;non;X;Danmark\nIRL;145,0;2011;non;X;Éire\n",
                  encoding="cp1252")
    cfg = _toml(d / "fast.toml", "[models]\nn_boot = 200\n")
    env = {"GEO_MS_HOME": str(home), "GEO_MS_OFFLINE": "1"}
    old = {k: os.environ.get(k) for k in (*env, "GEO_MS_DATA_MIRROR")}
    os.environ.update(env)
    os.environ.pop("GEO_MS_DATA_MIRROR", None)
    real_probe = fetch_mod.network_available
    fetch_mod.network_available = lambda *a, **k: False  # type: ignore[assignment]
    try:
        code = cli.main(["run", "--config", str(cfg), "--prevalence", str(table),
                         "--sample", "always", "--name", "semicolon"])
    finally:
        fetch_mod.network_available = real_probe  # type: ignore[assignment]
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"code": code, "home": home}


def test_semicolon_cp1252_prevalence_table_runs(semicolon_cp1252_run: dict[str, Any]) -> None:
    assert semicolon_cp1252_run["code"] == 0
    home = semicolon_cp1252_run["home"]
    t = pd.read_csv(home / "data/processed/analysis_table.csv").set_index("region_id")
    prev = t["prevalence_per_100k"].dropna()
    # the user's ten values, not the built-in sample's 19 countries
    assert prev.to_dict() == pytest.approx({"FRA": 94.7, "DEU": 128.0, "CHE": 110.0,
                                            "AUT": 140.0, "ITA": 176.0, "ESP": 95.2,
                                            "NOR": 203.0, "SWE": 215.0, "DNK": 227.0,
                                            "IRL": 145.0})
    assert t.loc["CHE", "prevalence_source"] == "Bénédict 2012"
    manifest = json.loads((home / "reports/latest/manifest.json").read_text())
    assert any(f["name"] == "prevalence_fr.csv" for s in manifest["sources"]
               for f in s.get("files", [])), manifest["sources"]



def test_a_zero_in_an_outcome_drops_that_country_not_the_outcome() -> None:
    # handled, not refused: the Atlas country reporting 0 is listed with its reason
    # (outcomes_missing.csv) and the outcome is fitted on the other countries
    from geo_ms.ingest.outcome_table import build_outcomes
    from geo_ms.models.plan import Claim, Plan
    from geo_ms.models.run_plan import run_plan

    rng = np.random.default_rng(0)
    ids = [f"C{i:02d}" for i in range(30)]
    values = np.exp(rng.normal(4, 0.5, 30))
    values[3] = 0.0
    atlas = {2020: pd.DataFrame({"region_id": ids, "region_name": ids,
                                 "prevalence_per_100k": values})}
    out = build_outcomes(["atlas2020"], gbd=None, atlas=atlas)
    assert out.atlas.loc[out.atlas["region_id"] == "C03", "note"].str.startswith(
        "value is not above 0").all()
    table = out.wide.assign(cloud_cover_pct=rng.uniform(10, 90, len(out.wide)),
                            lon=rng.uniform(-170, 170, len(out.wide)),
                            lat=rng.uniform(-60, 60, len(out.wide)),
                            prevalence_per_100k=np.exp(rng.normal(4, 0.5, len(out.wide))))
    plan = Plan((Claim("C1", "t", "cloud_cover_pct", "positive", "pearson", sesoi=0.1),))
    tri = run_plan(table, plan, n_boot=0, robustness=False).triangulation
    tri = tri[tri["sample"] == "all"]
    assert tri.set_index("outcome").loc["atlas2020", "n"] == 29


# --------------------------------------------------------------------------- formulas in CSVs


FORMULAS = {"=HYPERLINK(\"http://evil.example\",\"open\")": FRANCE_BOX,
            "@SUM(1+1)*cmd|' /C calc'!A0": shapely.box(10, 45, 15, 50),
            "+1+2": shapely.box(20, 45, 25, 50), "-2+3": shapely.box(-5, 40, 0, 44),
            "\tTAB": shapely.box(5, 50, 10, 54), "plain": shapely.box(25, 50, 30, 54)}


def test_formula_like_names_are_neutralised_in_csv_outputs_only(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Region ids and names a spreadsheet would run as formulas (OWASP: cells starting
    with =, +, -, @, tab or CR) get a leading apostrophe in exposures.csv and
    exposures_missing.csv; the GeoPackage and GeoParquet keep the raw text."""
    path = tmp_path / "f.geojson"
    gpd.GeoDataFrame({"id": list(FORMULAS), "label": list(FORMULAS)},
                     geometry=list(FORMULAS.values()), crs="EPSG:4326").to_file(path)
    cfg = _regions_config(tmp_path, path, 'name_column = "label"\n')
    res = run_cli(["exposures", "--config", str(cfg)], capsys, monkeypatch)
    assert res.code == 0, res.err
    raw = list(FORMULAS)
    for csv in ("exposures.csv",):
        got = pd.read_csv(home / "data/processed" / csv, keep_default_na=False)
        assert got["region_id"].tolist() == ["'" + r if r != "plain" else r for r in raw]
        assert got["name"].tolist() == got["region_id"].tolist()
    for line in (home / "data/processed/exposures.csv").read_text().splitlines()[1:]:
        assert line[0] in "'p\"", line  # no line starts with a formula character
    assert gpd.read_file(home / "data/processed/exposures.gpkg")["region_id"].tolist() == raw
    assert gpd.read_parquet(home / "data/processed/exposures.parquet")["name"].tolist() == raw


def test_utf16_table_by_sex_with_a_tiny_value_runs(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A UTF-16 (with BOM, as Excel's 'Unicode text') table with a male and a female row
    per country, one female value 1e-9 per 100,000, run with --sex female: the female
    values are used (not the first row per id), the tiny value is kept and mapped."""
    rows = "".join(f"{c}\t{100 + i}\t2011\tno\tX\tmale\n"
                   f"{c}\t{'1e-9' if c == 'MLT' else 150 + i}\t2011\tno\tX\tfemale\n"
                   for i, c in enumerate(SAMPLE_IDS))
    table = _text(tmp_path / "by_sex.txt", HEADER.replace(",", "\t").replace("\n", "\tsex\n")
                  + rows, encoding="utf-16")
    assert table.read_bytes()[:2] == b"\xff\xfe"
    res = run_cli(["run", "--prevalence", str(table), "--sample", "always", "--sex", "female",
                   "--config", str(_toml(tmp_path / "fast.toml", "[models]\nn_boot = 200\n"))],
                  capsys, monkeypatch)
    assert res.code == 0, res.err
    t = pd.read_csv(home / "data/processed/analysis_table.csv").set_index("region_id")
    want = {c: 150.0 + i for i, c in enumerate(SAMPLE_IDS)} | {"MLT": 1e-9}
    assert t.loc[SAMPLE_IDS, "prevalence_per_100k"].to_dict() == pytest.approx(want, rel=1e-12)
    page = (home / "reports/latest/map.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="geo-ms-data">(.*?)</script>', page).group(1))
    assert {r["region_id"]: r["prevalence_per_100k"] for r in data}["MLT"] == 1e-9
