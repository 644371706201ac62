"""[[exposures.user]]: an analyst's own raster, any CRS, through the one exposure path.

The rasters are written here: from the mirrored CRU CL 1.0 radiation (read through the
project's readers) as a lat/lon GeoTIFF and, warped, as an ETRS89-LAEA (EPSG:3035)
GeoTIFF over Europe; small synthetic ones for hand-computable values. Reference values
come from exactextract run by the test on the file itself (GDAL reads it), or from
pyproj's geodesic cell areas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
import xarray as xr
from rasterio.transform import Affine, from_origin

from geo_ms.config import load_config
from geo_ms.errors import CRSError, FormatError
from geo_ms.exposures.aggregate import aggregate_fields
from geo_ms.ingest.readers.user_raster import read_user_raster

NODATA = -9999.0


def _write_tif(path: Path, values: np.ndarray, crs: str | None, transform: Affine,
               nodata: float = NODATA, dtype: str = "float32") -> Path:
    values = values if values.ndim == 3 else values[None]
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[2],
                       height=values.shape[1], count=values.shape[0], dtype=dtype, crs=crs,
                       transform=transform, nodata=nodata) as dst:
        dst.write(values.astype(dtype))
    return path


def _toml(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the mirror


LAEA_ORIGIN = (1_500_000.0, 5_600_000.0)  # west, north of the 25 km EPSG:3035 grid
LAEA_SHAPE = (190, 220)  # to x 7,000 km and y 850 km: Europe with the Canaries and Cyprus


@pytest.fixture(scope="module")
def cru_run(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`run_exposures` with two user rasters written from CRU CL 1.0 radiation (annual mean):
    ``rad_wm2`` (EPSG:4326, 0.5°) and ``rad_laea`` (EPSG:3035, 25 km, Europe)."""
    import os

    from rasterio.warp import Resampling, reproject

    from geo_ms.exposures.climatology import annual_mean
    from geo_ms.ingest.datasets import load_raster
    from geo_ms.pipeline.run import run_exposures

    d = tmp_path_factory.mktemp("user_raster")
    da = annual_mean(load_raster("cru_cl1_radiation"))
    lat, lon = da["lat"].values, da["lon"].values
    v = np.where(np.isfinite(da.values), da.values, NODATA).astype("float32")
    t4326 = from_origin(lon[0] - 0.25, lat[0] + 0.25, 0.5, 0.5)
    geo = _write_tif(d / "rad.tif", v, "EPSG:4326", t4326)
    laea = np.full(LAEA_SHAPE, NODATA, dtype="float32")
    t3035 = from_origin(*LAEA_ORIGIN, 25_000.0, 25_000.0)
    reproject(v, laea, src_transform=t4326, src_crs="EPSG:4326", dst_transform=t3035,
              dst_crs="EPSG:3035", resampling=Resampling.nearest, src_nodata=NODATA,
              dst_nodata=NODATA)
    proj = _write_tif(d / "rad_laea.tif", laea, "EPSG:3035", t3035)
    cfg_file = _toml(d / "own.toml", """
[run]
sample = "never"
[exposures]
cloud = []
uv = []
solar = []
population_weighting = false
min_valid_fraction = 1e-9  # keep every region with any valid cell (0 is out of range)
[[exposures.user]]
id = "rad_wm2"
path = "rad.tif"
label = "Solar radiation, CRU CL 1.0"
units = "W m-2"
[[exposures.user]]
id = "rad_laea"
path = "rad_laea.tif"
label = "Solar radiation, CRU CL 1.0, ETRS89-LAEA"
units = "W m-2"
""")
    home = d / "home"
    home.mkdir()
    old = os.environ.get("GEO_MS_HOME")
    os.environ["GEO_MS_HOME"] = str(home)
    lines: list[str] = []
    try:
        files = run_exposures(load_config(cfg_file), say=lines.append)
    finally:
        if old is None:
            os.environ.pop("GEO_MS_HOME", None)
        else:
            os.environ["GEO_MS_HOME"] = old
    table = pd.read_csv(files["exposures.csv"]).set_index("region_id")
    regions = gpd.read_parquet(files["exposures.parquet"]).set_index("region_id")
    return {"geo": geo, "proj": proj, "table": table, "regions": regions, "lines": lines,
            "files": files}


def test_latlon_user_raster_equals_exactextract_spherical_mean(cru_run: dict[str, Any]) -> None:
    from exactextract import exact_extract

    regions = cru_run["regions"].reset_index()[["region_id", "geometry"]]
    ref = exact_extract(str(cru_run["geo"]), regions,
                        ["mean(coverage_weight=area_spherical_m2)"], include_cols=["region_id"],
                        output="pandas").set_index("region_id")["mean"]
    ours = cru_run["table"]["rad_wm2"].reindex(ref.index)
    assert ref.notna().sum() > 150
    assert ours.isna().equals(ref.isna())
    np.testing.assert_allclose(ours[ref.notna()], ref[ref.notna()], rtol=1e-9, atol=1e-9)
    # a few values against CRU's own range (W m-2, annual mean surface radiation)
    assert 80 < ours["FIN"] < 110 and 230 < ours["EGY"] < 280


def test_laea_user_raster_equals_exactextract_on_reprojected_polygons(
        cru_run: dict[str, Any]) -> None:
    """Equal-area CRS: constant cell areas, so exactextract's (coverage-fraction) mean on the
    polygons reprojected to EPSG:3035 is the area-weighted mean."""
    from exactextract import exact_extract

    regions = cru_run["regions"].reset_index()[["region_id", "geometry"]].to_crs("EPSG:3035")
    with rasterio.open(cru_run["proj"]) as src:
        box = shapely.box(*src.bounds)
    covered = regions[regions.geometry.within(box)]
    ref = exact_extract(str(cru_run["proj"]), covered, ["mean"], include_cols=["region_id"],
                        output="pandas").set_index("region_id")["mean"].dropna()
    # (France, with French Guiana, reaches beyond it)
    assert {"DEU", "POL", "ITA", "ESP", "GBR", "SWE", "GRC", "CYP", "ISL"} <= set(ref.index)
    assert len(ref) >= 40
    ours = cru_run["table"]["rad_laea"].reindex(ref.index)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    # the warped field gives nearly the lat/lon field's values (nearest-neighbour warp)
    geo = cru_run["table"]["rad_wm2"].reindex(ref.index)
    big = ["DEU", "POL", "ESP", "SWE", "UKR"]
    np.testing.assert_allclose(ours[big], geo[big], rtol=0.01)
    # outside the raster's extent: no value
    assert cru_run["table"].loc[["BRA", "AUS", "JPN"], "rad_laea"].isna().all()


def test_provenance_goes_to_the_log_and_the_data_dictionary(cru_run: dict[str, Any]) -> None:
    import hashlib

    sha = hashlib.sha256(cru_run["proj"].read_bytes()).hexdigest()
    line = next(x for x in cru_run["lines"] if x.strip().startswith("your raster rad_laea"))
    assert line.strip() == (f"your raster rad_laea: rad_laea.tif (GeoTIFF): units W m-2; "
                            f"scale 1, offset 0; nodata -9999; CRS EPSG:3035; bands single; "
                            f"sha256 {sha}")
    md = cru_run["files"]["exposures.md"].read_text()
    assert "| `rad_laea` | W m-2 | your raster rad_laea.tif | Solar radiation, CRU CL 1.0, " \
           "ETRS89-LAEA;" in md


# --------------------------------------------------------------------------- synthetic


def _regions(*boxes: tuple[str, shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"region_id": [b[0] for b in boxes]},
                            geometry=[b[1] for b in boxes], crs="EPSG:4326")


def _read(path: Path, **kw: Any) -> xr.DataArray:
    return read_user_raster(path, name=kw.pop("name", "v"), units=kw.pop("units", "1"), **kw)


def test_conformal_crs_is_weighted_by_ellipsoidal_cell_area(tmp_path: Path) -> None:
    """UTM 32N (not equal-area): geo_ms's mean equals exactextract's weighted mean with
    each cell's geodesic area (pyproj.Geod on the densified cell outline) as weight."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource
    from pyproj import CRS, Geod, Transformer

    ny, nx, step = 30, 40, 50_000.0
    west, north = -200_000.0, 6_800_000.0  # UTM 32N, from 12° W of the zone centre to 61° N
    rng = np.random.default_rng(7)
    values = rng.uniform(50.0, 250.0, (ny, nx))
    values[4:7, 10:20] = NODATA
    tif = _write_tif(tmp_path / "utm.tif", values, "EPSG:32632",
                     from_origin(west, north, step, step), dtype="float64")
    regions = _regions(("a", shapely.box(0.0, 50.0, 8.0, 56.0)),
                       ("b", shapely.Polygon([(2, 57), (12, 58), (9, 60.5), (1, 59.5)])))
    da = _read(tif)
    assert da.dims == ("y", "x") and da.rio.crs.to_epsg() == 32632
    ours = aggregate_fields({"v": da}, regions, min_valid_fraction=0.0)["v"]

    # independent reference: geodesic area of every cell on the WGS 84 ellipsoid
    to_geo = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    geod = Geod(ellps="WGS84")
    area = np.empty((ny, nx))
    for i in range(ny):
        for j in range(nx):
            x0, y1 = west + j * step, north - i * step
            ring = shapely.segmentize(shapely.box(x0, y1 - step, x0 + step, y1), step / 16)
            xy = shapely.get_coordinates(ring)
            lon, lat = to_geo.transform(xy[:, 0], xy[:, 1])
            area[i, j] = abs(geod.polygon_area_perimeter(lon, lat)[0])
    assert area.max() / area.min() > 1.01  # the planar areas are far from equal here
    extent = (west, north - ny * step, west + nx * step, north)
    wkt = CRS.from_epsg(32632).to_wkt()
    vals = np.where(values == NODATA, np.nan, values)
    src = NumPyRasterSource(vals, *extent, srs_wkt=wkt, name="v")
    wsrc = NumPyRasterSource(area, *extent, srs_wkt=wkt, name="w")
    ref = exact_extract(src, regions.to_crs("EPSG:32632"), ["weighted_mean"], weights=wsrc,
                        output="pandas")["weighted_mean"].to_numpy()
    np.testing.assert_allclose(ours.to_numpy(), ref, rtol=1e-6)
    # and the plain (unweighted-by-area) mean differs: the correction matters
    plain = exact_extract(src, regions.to_crs("EPSG:32632"), ["mean"],
                          output="pandas")["mean"].to_numpy()
    assert np.abs(plain - ref).max() > 1e-3


def test_months_give_annual_and_window_means_in_a_projected_crs(tmp_path: Path) -> None:
    """12 bands of constant value m (month m) in EPSG:3035: the annual mean is
    Σ days·m / 365.25 and the northern winter (DJF) (31·12 + 31·1 + 28.25·2) / 90.25."""
    from geo_ms.exposures.aggregate import ExposureSpec, exposure_fields

    months = np.arange(1.0, 13.0)[:, None, None] * np.ones((12, 20, 20))
    tif = _write_tif(tmp_path / "m.tif", months, "EPSG:3035",
                     from_origin(4_000_000.0, 3_200_000.0, 10_000.0, 10_000.0))
    da = _read(tif, name="m", bands="months")
    assert da.dims == ("month", "y", "x") and da["month"].values.tolist() == list(range(1, 13))
    spec = ExposureSpec("m", ("user:m",), "1", "months", "test", "user")
    fields = exposure_fields(spec, lambda _: da, ["annual", "winter", "m07"])
    assert list(fields) == ["m", "m_winter", "m_m07"]
    assert all(f.dims == ("y", "x") for f in fields.values())
    region = _regions(("r", shapely.box(7.0, 50.5, 8.0, 51.0)))
    out = aggregate_fields(fields, region)
    days = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    assert out.loc["r", "m"] == pytest.approx((days * np.arange(1, 13)).sum() / 365.25)
    assert out.loc["r", "m_winter"] == pytest.approx((31 * 12 + 31 * 1 + 28.25 * 2) / 90.25)
    assert out.loc["r", "m_m07"] == pytest.approx(7.0)


def test_netcdf_scale_offset_and_fill_are_decoded_and_recorded(tmp_path: Path) -> None:
    """A CF-packed int16 netCDF: value = raw · 0.5 + 100; the fill value is missing."""
    raw = np.array([[10, 20, -32767], [30, 40, 50]], dtype="int16")
    ds = xr.Dataset(
        {"rad": (("lat", "lon"), raw, {"units": "W m-2"}),
         "other": (("lat", "lon"), raw.astype(float))},
        coords={"lat": ("lat", [0.5, -0.5], {"units": "degrees_north"}),
                "lon": ("lon", [-1.0, 0.0, 1.0], {"units": "degrees_east"})})
    ds["rad"].encoding = {"scale_factor": 0.5, "add_offset": 100.0, "_FillValue": -32767,
                          "dtype": "int16"}
    ds["rad"].values[:] = raw  # the raw values, encoded below by xarray
    decoded = raw * 0.5 + 100.0
    ds["rad"] = (("lat", "lon"), np.where(raw == -32767, np.nan, decoded), ds["rad"].attrs)
    ds["rad"].encoding = {"scale_factor": 0.5, "add_offset": 100.0, "_FillValue": -32767,
                          "dtype": "int16"}
    path = tmp_path / "rad.nc"
    ds.to_netcdf(path)
    with pytest.raises(FormatError, match=r"several gridded variables \(rad, other\)"):
        _read(path)
    da = _read(path, variable="rad", units="W m-2")
    assert da.dims == ("lat", "lon")
    assert np.array_equal(da.values, np.array([[105.0, 110.0, np.nan], [115.0, 120.0, 125.0]],
                                              dtype=da.dtype), equal_nan=True)
    assert (da.attrs["file_scale"], da.attrs["file_offset"], da.attrs["file_nodata"],
            da.attrs["file_crs"]) == (0.5, 100.0, -32767.0, "EPSG:4326")


def test_a_file_without_crs_is_read_with_the_declared_one(tmp_path: Path) -> None:
    tif = _write_tif(tmp_path / "nocrs.tif", np.ones((4, 4)), None,
                     from_origin(4_000_000.0, 3_200_000.0, 10_000.0, 10_000.0))
    with pytest.raises(CRSError, match=r"nocrs\.tif: raster has no CRS$"):
        _read(tmp_path / "nocrs.tif")
    da = _read(tif, crs="EPSG:3035")
    assert da.dims == ("y", "x") and da.attrs["file_crs"] == "EPSG:3035"
    with pytest.raises(CRSError, match=r"declares CRS EPSG:3035 but the configuration says "
                                       r"crs = 'EPSG:32632'"):
        _read(_write_tif(tmp_path / "laea.tif", np.ones((4, 4)), "EPSG:3035",
                         from_origin(4e6, 3.2e6, 1e4, 1e4)), crs="EPSG:32632")


def test_user_raster_bytes_key_the_exposure_stage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same bytes: the exposure stage is reused; other bytes (same path): recomputed."""
    from geo_ms.ingest import fetch
    from geo_ms.pipeline.run import run_exposures

    monkeypatch.setenv("GEO_MS_HOME", str(tmp_path))
    monkeypatch.setenv("GEO_MS_OFFLINE", "1")
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    monkeypatch.setattr(fetch, "network_available", lambda *a, **k: False)
    gpd.GeoDataFrame({"id": ["fr"]}, geometry=[shapely.box(0.0, 44.0, 5.0, 48.0)],
                     crs="EPSG:4326").to_file(tmp_path / "fr.geojson")
    tif = tmp_path / "rad.tif"
    t = from_origin(-10.0, 60.0, 1.0, 1.0)
    _write_tif(tif, np.full((30, 30), 120.0), "EPSG:4326", t)
    cfg = load_config(_toml(tmp_path / "c.toml", """
[run]
sample = "always"
[regions]
set = "polygons"
file = "fr.geojson"
id_column = "id"
[exposures]
population_weighting = false
[[exposures.user]]
id = "rad"
path = "rad.tif"
units = "W m-2"
"""))

    def exposures_stage() -> tuple[str, float]:
        lines: list[str] = []
        files = run_exposures(cfg, say=lines.append)
        value = float(pd.read_csv(files["exposures.csv"]).set_index("region_id").loc["fr", "rad"])
        return next(x for x in lines if x.startswith("[stage] exposures")), value

    first, v1 = exposures_stage()
    again, v2 = exposures_stage()
    _write_tif(tif, np.full((30, 30), 80.0), "EPSG:4326", t)
    changed, v3 = exposures_stage()
    assert "running" in first and "cached" in again and "running" in changed
    assert (v1, v2, v3) == (120.0, 120.0, 80.0)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A full run on the built-in sample with a packed int16 user raster over Europe:
    raw 200, scale 0.5, offset 10 → 110 W m-2 everywhere (nodata north of 70° N)."""
    import os

    from geo_ms.ingest import fetch
    from geo_ms.pipeline.run import run

    d = tmp_path_factory.mktemp("sample_user")
    raw = np.full((60, 80), 200, dtype="int16")
    raw[:5] = -32768
    tif = d / "rad.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=80, height=60, count=1, dtype="int16",
                       crs="EPSG:4326", transform=from_origin(-30, 75, 1, 1),
                       nodata=-32768) as dst:
        dst.write(raw, 1)
        dst.scales, dst.offsets = (0.5,), (10.0,)
    cfg_file = _toml(d / "c.toml", """
[run]
sample = "always"
[[exposures.user]]
id = "rad_wm2"
path = "rad.tif"
label = "Packed test radiation"
units = "W m-2"
licence = "CC0-1.0 (test raster)"
""")
    saved = {k: os.environ.get(k) for k in ("GEO_MS_HOME", "GEO_MS_OFFLINE",
                                            "GEO_MS_DATA_MIRROR")}
    os.environ.update(GEO_MS_HOME=str(d), GEO_MS_OFFLINE="1")
    os.environ.pop("GEO_MS_DATA_MIRROR", None)
    mp = pytest.MonkeyPatch()
    mp.setattr(fetch, "network_available", lambda *a, **k: False)
    try:
        res = run(load_config(cfg_file), say=lambda m: None)
    finally:
        mp.undo()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    import hashlib

    return {"res": res, "dir": res.report_dir, "home": d,
            "sha": hashlib.sha256(tif.read_bytes()).hexdigest()}


def test_packed_user_raster_lands_in_the_analysis_table(sample_run: dict[str, Any]) -> None:
    table = pd.read_csv(sample_run["home"] / "data/processed/analysis_table.csv")
    europe = table[table["prevalence_per_100k"].notna()].set_index("region_id")
    assert len(europe) >= 15
    # 200 · 0.5 + 10, wherever the raster covers a country (nodata rows dropped)
    assert np.allclose(europe["rad_wm2"].dropna(), 110.0, rtol=0, atol=1e-9)
    assert europe.loc[["FRA", "DEU", "ITA"], "rad_wm2"].tolist() == [110.0, 110.0, 110.0]


def test_provenance_in_run_log_manifest_and_report(sample_run: dict[str, Any]) -> None:
    out, sha = sample_run["dir"], sample_run["sha"]
    desc = (f"rad.tif (GeoTIFF): units W m-2; scale 0.5, offset 10; nodata -32768; "
            f"CRS EPSG:4326; bands single; sha256 {sha}")
    assert f"your raster rad_wm2: {desc}" in (out / "run.log").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    rec = next(s for s in manifest["sources"] if s["id"] == "user:rad_wm2")
    assert (rec["licence"], rec["file_scale"], rec["file_offset"], rec["file_nodata"],
            rec["file_crs"], rec["units"], rec["files"][0]["sha256"]) == (
        "CC0-1.0 (test raster)", 0.5, 10.0, -32768.0, "EPSG:4326", "W m-2", sha)
    html = (out / "report.html").read_text()
    assert "Packed test radiation (your raster &#39;rad_wm2&#39;, rad.tif)" in html or \
        "Packed test radiation (your raster 'rad_wm2', rad.tif)" in html
    assert "CC0-1.0 (test raster)" in html and desc in html and html.count(sha) >= 2


def test_projected_netcdf_with_a_grid_mapping_keeps_its_crs(tmp_path: Path) -> None:
    """A CF netCDF in EPSG:3035 (grid_mapping written by rioxarray) is aggregated in it."""
    x = 4_000_000.0 + 10_000.0 * (np.arange(20) + 0.5)
    y = 3_200_000.0 - 10_000.0 * (np.arange(20) + 0.5)
    values = np.broadcast_to((x / 1000.0)[None, :], (20, 20)).copy()  # value = x in km
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, name="xkm")
    da = da.rio.write_crs("EPSG:3035").rio.set_spatial_dims(x_dim="x", y_dim="y")
    path = tmp_path / "xkm.nc"
    da.to_dataset().to_netcdf(path)
    got = _read(path, name="xkm", units="km")
    assert got.dims == ("y", "x") and got.attrs["file_crs"] == "EPSG:3035"
    # a region that is a rectangle in EPSG:3035, built in lon/lat from its corners'
    # densified outline: the area-weighted mean of x over it is its centre's x
    from pyproj import Transformer

    rect = shapely.segmentize(shapely.box(4_050_000, 3_050_000, 4_130_000, 3_150_000), 500)
    to_geo = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    xy = shapely.get_coordinates(rect)
    lon, lat = to_geo.transform(xy[:, 0], xy[:, 1])
    region = _regions(("r", shapely.Polygon(np.column_stack([lon, lat]))))
    out = aggregate_fields({"xkm": got}, region)
    assert out.loc["r", "xkm"] == pytest.approx(4_090.0, abs=0.05)


def test_projected_raster_is_population_weighted_at_city_cells(tmp_path: Path) -> None:
    """City-point weights in a projected CRS: each city takes the value of the EPSG:3035
    cell that holds it (found here with pyproj), weighted by its population."""
    from pyproj import Transformer

    step, west, north = 10_000.0, 4_000_000.0, 3_200_000.0
    values = np.arange(400.0).reshape(20, 20)
    tif = _write_tif(tmp_path / "v.tif", values, "EPSG:3035", from_origin(west, north, step,
                                                                          step))
    da = _read(tif, name="v")
    cities = pd.DataFrame({"lat": [51.0, 51.3, 40.0], "lon": [7.2, 7.5, 7.0],
                           "population": [1000, 3000, 5000]})
    region = _regions(("r", shapely.box(6.9, 50.7, 7.8, 51.5)))
    out = aggregate_fields({"v": da}, region, cities=cities, popw_columns=["v"])
    to_grid = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)
    x, y = to_grid.transform([7.2, 7.5], [51.0, 51.3])
    cell = [values[int((north - yy) // step), int((xx - west) // step)] for xx, yy in zip(x, y)]
    assert out.loc["r", "v_popw"] == pytest.approx((1000 * cell[0] + 3000 * cell[1]) / 4000)


def test_projected_grid_around_a_pole_is_refused(tmp_path: Path) -> None:
    from geo_ms.exposures.compute import check_overlap

    tif = _write_tif(tmp_path / "arctic.tif", np.ones((10, 10)), "EPSG:3413",
                     from_origin(-500_000.0, 500_000.0, 100_000.0, 100_000.0))
    with pytest.raises(CRSError, match=r"arctic\.tif: raster grid in EPSG:3413: its extent "
                                       r"contains a pole or crosses the antimeridian"):
        check_overlap(_read(tif), _regions(("r", shapely.box(0, 80, 10, 85))),
                      str(tmp_path / "arctic.tif"))


def test_user_ids_are_checked_against_every_column(tmp_path: Path) -> None:
    from geo_ms.errors import ConfigError

    def cfg(body: str) -> dict[str, Any]:
        return load_config(_toml(tmp_path / "c.toml", body))

    one = '[[exposures.user]]\nid = "{}"\npath = "r.tif"\nunits = "1"\nbands = "{}"\n'
    with pytest.raises(ConfigError, match=r"id = 'abs_latitude' is already a column$"):
        cfg(one.format("abs_latitude", "single"))
    with pytest.raises(ConfigError, match=r"id = 'ms_atlas2020' is already a column$"):
        cfg(one.format("ms_atlas2020", "single"))
    # a monthly raster "rad" makes rad_winter: a second raster may not take that id
    with pytest.raises(ConfigError, match=r"id = 'rad_winter' is already a column$"):
        cfg(one.format("rad", "months") + one.format("rad_winter", "single"))
    with pytest.raises(ConfigError, match=r"id = 'rad' appears twice$"):
        cfg(one.format("rad", "single") + one.format("rad", "single"))
    with pytest.raises(ConfigError, match=r"table 1 has no 'units'$"):
        cfg('[[exposures.user]]\nid = "rad"\npath = "r.tif"\n')
    ok = cfg(one.format("rad", "months"))
    assert ok["exposures"]["user"][0]["path"] == str((tmp_path / "r.tif").resolve())


def test_unknown_key_names_the_closest_valid_key_in_message_and_hint(tmp_path: Path) -> None:
    from geo_ms.errors import ConfigError

    body = '[[exposures.user]]\nid = "rad"\npath = "r.tif"\nunits = "1"\nvariabel = "rad"\n'
    with pytest.raises(ConfigError, match=r"unknown key 'variabel' in \[\[exposures\.user\]\] "
                                          r"table 1 \(did you mean 'variable'\?\)$") as info:
        load_config(_toml(tmp_path / "c.toml", body))
    assert info.value.hint.startswith("Write 'variable'. Valid keys: id, path, variable,")
