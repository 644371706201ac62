"""TEMIS's measured all-sky vitamin-D dose (uvd_cloudy_mean): reader and exposure column.

A tiny file in the original uvdvcclim_world.nc layout (group PRODUCT, a day-of-year
dimension, no-data -1, gaps) is built in each test; with only the data mirror's
clear-sky re-encoding, the exposure column does not appear.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from geo_ms.errors import FormatError
from geo_ms.exposures import compute
from geo_ms.exposures.aggregate import EXPOSURES, exposure_fields
from geo_ms.ingest.readers import read_temis
from geo_ms.ingest.readers.netcdf import temis_has_allsky

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _original(tmp_path: Path) -> Path:
    """clear = 2 kJ + day/1000 everywhere; cloudy = clear × (0.5 at 45N, 0.8 at 45S).

    Cloudy has gaps: no data at all in cell (45N, 120E), none in January at (45S, 0),
    and days 1-10 missing at (45S, 120W).
    """
    days = np.arange(1, 366)
    month = np.repeat(np.arange(1, 13), _DAYS).astype("int32")
    clear = np.broadcast_to((2.0 + days / 1000.0)[:, None, None], (365, 2, 3)).astype("float32")
    factor = np.array([[0.8, 0.8, 0.8], [0.5, 0.5, 0.5]], dtype="float32")  # lat -45, 45
    cloudy = (clear * factor[None]).astype("float32")
    cloudy[:, 1, 2] = -1.0
    cloudy[:31, 0, 1] = -1.0
    cloudy[:10, 0, 0] = -1.0
    path = tmp_path / "uvdvcclim_world.nc"
    attrs = {"units": "kJ/m2", "no_data_value": -1.0}
    xr.Dataset(
        {"uvd_clear_mean": (("days", "latitude", "longitude"), clear.copy(), attrs),
         "uvd_cloudy_mean": (("days", "latitude", "longitude"), cloudy, attrs),
         "date_month": ("days", month)},
        coords={"days": days.astype(float), "latitude": [-45.0, 45.0],
                "longitude": [-120.0, 0.0, 120.0]},
    ).to_netcdf(path, group="PRODUCT")
    return path


def _reencoding(tmp_path: Path) -> Path:
    path = tmp_path / "temis_monthly.nc"
    xr.Dataset(
        {"uvd_vitd_clear": (("month", "lat", "lon"), np.full((12, 2, 2), 6000, dtype="uint16"),
                            {"units": "J m-2", "scale_factor": np.float32(1 / 3)})},
        coords={"month": np.arange(1, 13), "lat": [60.125, 59.875], "lon": [-0.125, 0.125]},
    ).to_netcdf(path)
    return path


def test_measured_allsky_dose_monthly_means_with_gaps(tmp_path: Path) -> None:
    path = _original(tmp_path)
    da = read_temis(path, variable="uvd_cloudy_mean")
    assert da.name == "vitd_dose_allsky"
    assert da.attrs["provenance"] == "measured" and da.attrs["units"] == "J m-2"
    assert da.dims == ("month", "lat", "lon")
    # January at 45N: 0.5 × (2 kJ + mean day 16 / 1000) = 1008 J
    assert float(da.sel(month=1, lat=45, lon=-120)) == pytest.approx(1008.0, rel=1e-6)
    # February at 45S, 0: 0.8 × (2000 + 45.5) J
    assert float(da.sel(month=2, lat=-45, lon=0)) == pytest.approx(1636.4, rel=1e-6)
    # gaps: a cell without data, a month without data, a month with 21 of 31 days
    assert bool(da.sel(lat=45, lon=120).isnull().all())
    assert np.isnan(float(da.sel(month=1, lat=-45, lon=0)))
    assert float(da.sel(month=1, lat=-45, lon=-120)) == pytest.approx(0.8 * 2021.0, rel=1e-6)
    clear = read_temis(path)
    assert clear.name == "vitd_dose_clear"
    assert float(clear.sel(month=1, lat=45, lon=120)) == pytest.approx(2016.0, rel=1e-6)
    assert temis_has_allsky(path)


def test_reencoding_has_no_allsky_dose(tmp_path: Path) -> None:
    path = _reencoding(tmp_path)
    assert not temis_has_allsky(path)
    with pytest.raises(FormatError, match=r"temis_monthly\.nc: no 'uvd_cloudy_mean' in this "
                                          r"TEMIS file \(it holds uvd_vitd_clear\)"):
        read_temis(path, variable="uvd_cloudy_mean")
    with pytest.raises(FormatError, match=r"variable 'uvd_dec' is not one of uvd_clear_mean, "
                                          r"uvd_cloudy_mean"):
        read_temis(path, variable="uvd_dec")
    assert not temis_has_allsky(tmp_path / "absent.nc")


@pytest.mark.parametrize("original", [True, False])
def test_exposure_column_only_with_the_original_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, original: bool
) -> None:
    path = _original(tmp_path) if original else _reencoding(tmp_path)
    monkeypatch.setattr(compute.datasets, "_fetch",
                        lambda did: {"uvdvcclim_world.nc": path} if did == "temis_vitd_clear"
                        else {})
    ecfg = {"cloud": ["cru_cl1_cloud"], "uv": ["neo_uvi_clim", "temis_vitd_clear"], "solar": []}
    bases = [s.base for s in compute.exposure_specs(ecfg)]
    expected = ["cloud_cover_pct", "uv_index", "vitd_uv_clear", "vitd_uv_allsky"]
    if original:
        expected.append("vitd_uv_allsky_measured")
    assert bases == expected
    assert compute.temis_allsky_available() is original


def test_exposure_fields_read_the_cloudy_variable(tmp_path: Path) -> None:
    path = _original(tmp_path)
    spec = next(s for s in EXPOSURES if s.base == "vitd_uv_allsky_measured")
    asked: list[str] = []

    def load(did: str) -> xr.DataArray:
        asked.append(did)
        base, _, variable = did.partition(":")
        assert base == "temis_vitd_clear"
        return read_temis(path, variable=variable or "uvd_clear_mean")

    out = exposure_fields(spec, load, ["annual", "winter"])
    assert asked == ["temis_vitd_clear:uvd_cloudy_mean"]
    assert sorted(out) == ["vitd_uv_allsky_measured", "vitd_uv_allsky_measured_winter"]
    # month means at 45N are 0.5 × (2000 + mean day of the month) J, weighted by month
    # length (February 28.25 days): annual and winter (DJF) by hand
    mid = np.array([16, 45.5, 75, 105.5, 136, 166.5, 197, 228, 258.5, 289, 319.5, 350])
    w = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    annual = out["vitd_uv_allsky_measured"].sel(lat=45, lon=-120)
    winter = out["vitd_uv_allsky_measured_winter"].sel(lat=45, lon=-120)
    assert float(annual) == pytest.approx(0.5 * (2000 + (mid * w).sum() / w.sum()), rel=1e-6)
    djf = [11, 0, 1]
    assert float(winter) == pytest.approx(
        0.5 * (2000 + (mid[djf] * w[djf]).sum() / w[djf].sum()), rel=1e-6)
    assert "vitd_uv_allsky_measured" in compute.exposure_columns()


def test_compute_exposures_adds_the_measured_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through load_raster and the zonal statistics: two boxes, one per hemisphere."""
    import geopandas as gpd
    import shapely

    path = _original(tmp_path)
    monkeypatch.setattr(compute.datasets, "_fetch",
                        lambda did: {"uvdvcclim_world.nc": path})
    da = compute.load_raster("temis_vitd_clear", variable="uvd_cloudy_mean")
    assert da.name == "vitd_dose_allsky" and da.attrs["provenance"] == "measured"
    regions = gpd.GeoDataFrame(
        {"region_id": ["NNN", "SSS"], "iso3": ["NNN", "SSS"]},
        geometry=[shapely.box(-170, 10, -70, 80), shapely.box(-170, -80, -70, -10)],
        crs="EPSG:4326")
    ecfg = {"cloud": [], "uv": ["temis_vitd_clear"], "solar": [], "windows": ["annual"],
            "population_weighting": False, "population_raster": "", "cru_ts_years": [1961, 1990]}
    specs = compute.exposure_specs(ecfg)
    assert [s.base for s in specs] == ["vitd_uv_clear", "vitd_uv_allsky_measured"]
    table = compute.compute_exposures(regions, specs, ecfg, say=lambda m: None,
                                      cache_dir=tmp_path / "w")
    clear, allsky = table["vitd_uv_clear"], table["vitd_uv_allsky_measured"]
    # the boxes hold only the 120W cells: all-sky = 0.5 (north) and 0.8 (south) of clear-sky
    # (the south cell lacks days 1-10 of January, so its ratio is close to, not exactly, 0.8)
    assert allsky["NNN"] / clear["NNN"] == pytest.approx(0.5, rel=1e-6)
    assert allsky["SSS"] / clear["SSS"] == pytest.approx(0.8, rel=1e-3)
