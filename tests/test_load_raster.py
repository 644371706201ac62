"""load_raster: one way through (catalog → fetch → the catalog's reader for the copy obtained).

The reference values are those of the former per-dataset if-chain in
``geo_ms/ingest/datasets.py`` (read before it was replaced: shape, NaN-mean and
valid-cell count of each dataset from the data mirror) and the sanity values of
``$GEO_MS_DATA_MIRROR/rasters/SOURCES.md`` (area-weighted box means).
"""

from __future__ import annotations

import numpy as np
import pytest

from geo_ms.errors import DataSourceError
from geo_ms.ingest.catalog import get_dataset
from geo_ms.ingest.datasets import load_raster

#: id → (name, units, shape, NaN-mean, valid cells), from the old if-chain on the mirror.
OLD_PATH = {
    "cru_cl1_cloud": ("cloud_cover", "%", (12, 360, 720), 56.976070404052734, 809040),
    "cru_cl1_radiation": ("radiation", "W m-2", (12, 360, 720), 158.02145385742188, 749796),
    "cru_cl1_netcdf": ("cld", "%", (12, 360, 720), 56.976070404052734, 809040),
    "neo_uvi_clim": ("uv_index", "1", (12, 180, 360), 6.543097972869873, 777600),
    "modis_mod08_cloud": ("cloud_fraction", "1", (180, 360), 0.6791401505470276, 57600),
    "temis_vitd_clear": ("vitd_dose_clear", "J m-2", (12, 720, 1440), 5531.533203125, 12441600),
    "merra2_ghi": ("ghi", "W m-2", (12, 44, 120), 184.63720703125, 29163),
}
#: attrs["source"] each dataset had on the old path.
OLD_SOURCE = {
    "temis_vitd_clear": "temis_uvdvc_clim",
    "merra2_ghi": "merra2_gsee",
}


def _box(da, south, north, west, east):
    """Area-weighted (cos latitude) mean over a box, all months, NaN cells left out."""
    b = da.sel(lat=slice(north, south), lon=slice(west, east))
    w = np.cos(np.deg2rad(b.lat)) * b.notnull()
    return float((b.fillna(0) * w).sum() / w.sum())


@pytest.mark.parametrize("dataset_id", sorted(OLD_PATH))
def test_each_mirrored_raster_gives_the_old_arrays(mirror, workdir, dataset_id):
    name, units, shape, mean, valid = OLD_PATH[dataset_id]
    da = load_raster(dataset_id)
    assert (da.name, da.attrs["units"], da.shape) == (name, units, shape)
    assert da.attrs["source"] == OLD_SOURCE.get(dataset_id, dataset_id)
    values = np.asarray(da.values)
    assert int(np.isfinite(values).sum()) == valid
    assert float(np.nanmean(values)) == pytest.approx(mean, rel=1e-7)
    assert float(da.lat[0]) > float(da.lat[-1]) and float(da.lon[0]) < float(da.lon[-1])


def test_sanity_values_of_sources_md(mirror, workdir):
    # SOURCES.md entry 1 (CRU CL 1.0), Sahara 18-30N 0-25E: cloud 25.3 %, radiation 254.8.
    assert _box(load_raster("cru_cl1_cloud"), 18, 30, 0, 25) == pytest.approx(25.3, abs=0.05)
    assert _box(load_raster("cru_cl1_cloud"), 15, 28, 40, 55) == pytest.approx(29.9, abs=0.05)
    assert _box(load_raster("cru_cl1_radiation"), 18, 30, 0, 25) == pytest.approx(254.8, abs=0.05)
    # Entry 4 (MERRA-2 from gsee-climate-data): Sahara 269.0 W m-2.
    assert _box(load_raster("merra2_ghi"), 18, 30, 0, 25) == pytest.approx(269.0, abs=0.05)
    # Entry 5 (TEMIS): at 60N Jan 40, Jul 5 597 J m-2 per day.
    vitd = load_raster("temis_vitd_clear").sel(lat=60, method="nearest").mean("lon")
    assert float(vitd.sel(month=1)) == pytest.approx(40, abs=0.5)
    assert float(vitd.sel(month=7)) == pytest.approx(5597, abs=0.5)
    # Entry 3 (NEO UVI): equator annual mean 13.71.
    uvi = load_raster("neo_uvi_clim").sel(lat=[0.5, -0.5]).mean()
    assert float(uvi) == pytest.approx(13.71, abs=0.005)


def test_caller_kwargs_override_the_catalog(mirror, workdir):
    rad = load_raster("cru_cl1_netcdf", variable="rad")
    assert rad.name == "rad"
    assert _box(rad, 18, 30, 0, 25) == pytest.approx(254.8, abs=0.05)


def test_merra2_from_the_gsee_package_without_the_mirror(monkeypatch):
    monkeypatch.delenv("GEO_MS_DATA_MIRROR", raising=False)
    da = load_raster("merra2_ghi")
    assert da.shape == (12, 44, 120)
    assert float(np.nanmean(da.values)) == pytest.approx(184.63720703125, rel=1e-7)


def test_reader_for_the_copy_obtained():
    temis = get_dataset("temis_vitd_clear")
    mirror_nc = "/m/rasters/temis_uvdvc_clearsky_vitd_dose_clim_monthly_0.25deg.nc"
    assert temis.reader_for("uvdvcclim_world.nc", mirror_nc) == ("read_temis", {})
    modis = get_dataset("modis_mod08_cloud")
    nc = "modis_terra_mod08m3_cloud_fraction_2020-2023_annual_1deg.nc"
    assert modis.reader_for(nc, f"/m/rasters/{nc}") == (
        "read_cf_netcdf",
        {"source": "modis_mod08_cloud", "variable": "cloud_fraction", "name": "cloud_fraction",
         "units": "1"},
    )
    assert modis.reader_for(nc.replace(".nc", ".json"), "/x.json") == (
        "read_modis_cloud_json", {"source": "modis_mod08_cloud"})
    uvi = get_dataset("neo_uvi_clim")
    reader, kw = uvi.reader_for("AURA_UVI_CLIM_M_03.FLOAT.TIFF",
                                "/m/rasters/neo_aura_uvi_clim_monthly_1deg.nc")
    assert (reader, kw["variable"], kw["name"]) == ("read_cf_netcdf", "uvi", "uv_index")
    assert "variable" not in uvi.reader_for("AURA_UVI_CLIM_M_03.FLOAT.TIFF", "/c/x.TIFF")[1]
    geojson = "/m/boundaries/ne_50m_admin_0_countries_v4.0.0.geojson"
    assert get_dataset("ne_admin0_50m").reader_for("ne_50m_admin_0_countries.zip", geojson) == (
        "read_natural_earth", {})


def test_monthly_geotiffs_are_read_as_one_list(workdir, monkeypatch):
    """12 cached NEO GeoTIFFs (tiny, written here) → read_neo_geotiff on the list."""
    import rasterio
    from rasterio.transform import from_origin

    from geo_ms.ingest import datasets

    paths = {}
    for spec in get_dataset("neo_uvi_clim").files:
        month = int(spec.name[-13:-11])
        p = workdir / spec.name
        with rasterio.open(p, "w", driver="GTiff", width=2, height=1, count=1, dtype="float32",
                           crs="EPSG:4326", transform=from_origin(-180, 90, 180, 180)) as dst:
            dst.write(np.array([[[month, 2 * month]]], dtype="float32"))
        paths[spec.name] = p
    monkeypatch.setattr(datasets, "_fetch", lambda did: paths)
    da = load_raster("neo_uvi_clim")
    assert (da.name, da.attrs["units"], da.dims) == ("uv_index", "1", ("month", "lat", "lon"))
    assert da.sel(month=3).values.tolist() == [[3.0, 6.0]]
    assert da.attrs["long_name"] == "UV index climatology (NASA NEO)"


def test_a_non_raster_dataset_is_refused():
    with pytest.raises(DataSourceError,
                       match=r"^omi_omuvbd: not a raster dataset geo_ms can load "
                             r"\(reader read_omi_omuvbd\)"):
        load_raster("omi_omuvbd")
    with pytest.raises(DataSourceError, match=r"^gbd2016_ms: not a raster dataset"):
        load_raster("gbd2016_ms")
