"""OMI OMUVBd reader: HDF-EOS5 (StructMetadata grid) and GES DISC netCDF4 subsets."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from geo_ms.errors import CRSError, FormatError
from geo_ms.ingest.readers import read_omi_omuvbd

FILL = np.float32(-1.2676506e30)

STRUCT = """GROUP=SwathStructure
END_GROUP=SwathStructure
GROUP=GridStructure
\tGROUP=GRID_1
\t\tGridName="OMI UVB Product"
\t\tXDim={nx}
\t\tYDim={ny}
\t\tUpperLeftPointMtrs=({x0},{y0})
\t\tLowerRightMtrs=({x1},{y1})
\t\tPixelRegistration=HE5_HDFE_CENTER
\t\tProjection={proj}
\tEND_GROUP=GRID_1
END_GROUP=GridStructure
END
"""


def _write_he5(
    path: Path,
    fields: dict[str, np.ndarray],
    *,
    corners: tuple[str, str, str, str] = (
        "-180000000.000000",
        "-90000000.000000",
        "180000000.000000",
        "90000000.000000",
    ),
    proj: str = "HE5_GCTP_GEO",
) -> Path:
    """A tiny OMUVBd-like HDF-EOS5 file (same groups, attributes and fill as NASA's)."""
    ny, nx = next(iter(fields.values())).shape
    x0, y0, x1, y1 = corners
    with h5py.File(path, "w") as f:
        meta = STRUCT.format(nx=nx, ny=ny, x0=x0, y0=y0, x1=x1, y1=y1, proj=proj)
        f.create_dataset("HDFEOS INFORMATION/StructMetadata.0", data=np.bytes_(meta))
        grid = f.create_group("HDFEOS/GRIDS/OMI UVB Product")
        grid.attrs["GridSpan"] = np.bytes_(b"(-180,180,-90,90)")
        fa = f.create_group("HDFEOS/ADDITIONAL/FILE_ATTRIBUTES")
        fa.attrs["GranuleYear"] = np.array([2024], "int32")
        fa.attrs["GranuleMonth"] = np.array([10], "int32")
        fa.attrs["GranuleDay"] = np.array([1], "int32")
        units = {"ErythemalDailyDose": b"J/m2", "CSErythemalDailyDose": b"J/m2"}
        for name, values in fields.items():
            d = grid.create_dataset(f"Data Fields/{name}", data=values.astype("float32"))
            d.attrs["_FillValue"] = np.array([FILL], "float32")
            d.attrs["MissingValue"] = np.array([FILL], "float32")
            d.attrs["ScaleFactor"] = np.array([1.0])
            d.attrs["Offset"] = np.array([0.0])
            d.attrs["Units"] = np.bytes_(units.get(name, b"unitless"))
            d.attrs["Title"] = np.bytes_(name.encode())
    return path


def _tiny_fields() -> dict[str, np.ndarray]:
    """2 rows x 4 columns on a 90-degree grid; row 0 is the *southern* row."""
    uvi = np.array([[1.0, 2.0, 3.0, FILL], [5.0, 6.0, 7.0, 8.0]], "float32")
    return {
        "ErythemalDailyDose": uvi * 100,
        "CSErythemalDailyDose": uvi * 120,
        "UVindex": uvi,
        "CSUVindex": uvi * 1.2,
        "CloudOpticalThickness": uvi,
    }


def test_tiny_he5_row_zero_is_south(tmp_path: Path) -> None:
    ds = read_omi_omuvbd(_write_he5(tmp_path / "tiny.he5", _tiny_fields()))
    assert list(ds.data_vars) == [
        "ErythemalDailyDose",
        "CSErythemalDailyDose",
        "UVindex",
        "CSUVindex",
    ]
    uvi = ds["UVindex"]
    assert uvi.dims == ("lat", "lon")
    assert uvi.lat.values.tolist() == [45.0, -45.0]
    assert uvi.lon.values.tolist() == [-135.0, -45.0, 45.0, 135.0]
    # the file's last row is the northern one: 5 at its west end -> north-west cell
    assert float(uvi.sel(lat=45, lon=-135)) == 5.0
    assert float(uvi.sel(lat=-45, lon=-135)) == 1.0
    assert np.isnan(float(uvi.sel(lat=-45, lon=135)))  # fill -1.27e30 -> NaN
    assert float(ds["ErythemalDailyDose"].sel(lat=45, lon=135)) == 800.0
    assert ds["ErythemalDailyDose"].attrs["units"] == "J m-2"
    assert uvi.attrs["units"] == "1"
    assert ds.attrs["date"] == "2024-10-01" and uvi.attrs["date"] == "2024-10-01"
    assert str(uvi.rio.crs) == "EPSG:4326"


def test_corners_are_read_from_structmetadata(tmp_path: Path) -> None:
    """A north-up file (UpperLeft = (-180, +90)) comes out the same way round."""
    fields = {k: v[::-1] for k, v in _tiny_fields().items()}
    north_up = _write_he5(
        tmp_path / "northup.he5",
        fields,
        corners=("-180000000.000000", "90000000.000000", "180000000.000000", "-90000000.000000"),
    )
    south_up = _write_he5(tmp_path / "southup.he5", _tiny_fields())
    xr.testing.assert_equal(read_omi_omuvbd(north_up), read_omi_omuvbd(south_up))


def test_selected_and_missing_variables(tmp_path: Path) -> None:
    path = _write_he5(tmp_path / "t.he5", _tiny_fields())
    ds = read_omi_omuvbd(path, variables=["CloudOpticalThickness"])
    assert list(ds.data_vars) == ["CloudOpticalThickness"]
    with pytest.raises(FormatError, match=r"t\.he5: no field Irradiance999; it has "):
        read_omi_omuvbd(path, variables=["Irradiance999"])


def test_projected_hdfeos_grid_is_refused(tmp_path: Path) -> None:
    path = _write_he5(tmp_path / "polar.he5", _tiny_fields(), proj="HE5_GCTP_PS")
    with pytest.raises(
        CRSError, match=r"polar\.he5: grid 'OMI UVB Product' is in projection HE5_GCTP_PS"
    ):
        read_omi_omuvbd(path)


# ---------------------------------------------------------------- real mirror files
@pytest.fixture(scope="module")
def omi_day(mirror: Path) -> xr.Dataset:
    return read_omi_omuvbd(
        mirror / "rasters" / "OMI-Aura_L3-OMUVBd_2024m1001_v003-2024m1005t090002.he5"
    )


def test_mirror_he5_sanity_values(omi_day: xr.Dataset) -> None:
    assert omi_day.attrs["date"] == "2024-10-01"
    edd, uvi = omi_day["ErythemalDailyDose"], omi_day["UVindex"]
    assert edd.shape == (180, 360) and edd.lat.values[0] == 89.5 and edd.lon.values[0] == -179.5
    # SOURCES.md §6, zonal means on 2024-10-01 (tolerance 1 %)
    assert float(edd.sel(lat=0.5).mean()) == pytest.approx(5897, rel=0.01)
    assert float(uvi.sel(lat=0.5).mean()) == pytest.approx(12.14, rel=0.01)
    assert float(uvi.sel(lat=60.5).mean()) == pytest.approx(1.24, rel=0.01)
    assert float(np.isfinite(uvi).mean()) == pytest.approx(0.757, abs=0.001)  # coverage 75.7 %


def test_mirror_nc4_subset_matches_its_own_coordinates(mirror: Path) -> None:
    path = mirror / "rasters" / "OMI-Aura_L3-OMUVBd_2023m1001_v003.nc4"
    ds = read_omi_omuvbd(path)
    assert list(ds.data_vars) == ["ErythemalDailyDose", "UVindex"]  # no CS* in the subset
    assert ds.attrs["date"] == "2023-10-01"
    uvi = ds["UVindex"]
    assert uvi.lat.values.tolist() == [60.5, 59.5, 58.5]
    with xr.open_dataset(path) as raw:
        np.testing.assert_array_equal(
            uvi.sel(lat=58.5).values, raw["UVindex"].sel(lat=58.5).values.astype("float32")
        )
    # Helsinki area in early October: UV index between 1 and 2
    assert 1.0 < float(uvi.min()) and float(uvi.max()) < 2.0
