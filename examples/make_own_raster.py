"""Write the GeoTIFF that ``examples/own_raster.toml`` declares as ``[[exposures.user]]``.

It stands in for a raster of your own: the annual mean of CRU CL 1.0 surface solar
radiation (1961-1990, 0.5°, W m-2; New, Hulme & Jones 1999), month-length weighted,
as a single-band float32 GeoTIFF in EPSG:4326 with nodata -9999. The monthly grids
come from the catalog (``cru_cl1_radiation``: the data mirror named by
``GEO_MS_DATA_MIRROR``, the ``data/raw/`` cache or a download), so the file is written
on your machine and never committed::

    .venv/bin/python examples/make_own_raster.py          # data/processed/examples/rad_wm2.tif
    .venv/bin/geo-ms run --config examples/own_raster.toml

An optional argument writes the file elsewhere (the configuration's ``path`` must then
name it). The file is written beside its target and renamed into place, so an
interrupted run leaves no half-written GeoTIFF.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: Where examples/own_raster.toml expects the raster (its ``path``, relative to it).
DEFAULT = Path(__file__).resolve().parents[1] / "data" / "processed" / "examples" / "rad_wm2.tif"
NODATA = -9999.0


def write_own_raster(out: Path = DEFAULT) -> Path:
    """Write the annual CRU CL 1.0 radiation GeoTIFF to *out*; return *out*."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from geo_ms import annual_mean, load_raster
    from geo_ms._io import atomic_path

    da = annual_mean(load_raster("cru_cl1_radiation"))  # (lat, lon), lat descending
    lat, lon = da["lat"].values, da["lon"].values
    res = float(lon[1] - lon[0])
    values = np.where(np.isfinite(da.values), da.values, NODATA).astype("float32")
    with atomic_path(out) as tmp, rasterio.open(
            tmp, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
            dtype="float32", crs="EPSG:4326", nodata=NODATA, compress="deflate",
            transform=from_origin(lon[0] - res / 2, lat[0] + res / 2, res, res)) as dst:
        dst.write(values[None])
        dst.update_tags(1, units="W m-2", long_name="surface downward solar radiation, "
                        "annual mean 1961-1990 (CRU CL 1.0, month-length weighted)")
    return out


if __name__ == "__main__":
    path = write_own_raster(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
    print(f"wrote {path}")
