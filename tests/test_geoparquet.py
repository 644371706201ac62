"""data/processed/exposures.parquet: the exposure table with geometries as GeoParquet."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from geo_ms.config import load_config
from geo_ms.ingest import fetch
from geo_ms.pipeline.run import run_exposures


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    home = tmp_path_factory.mktemp("geoparquet")
    mp = pytest.MonkeyPatch()
    mp.setenv("GEO_MS_HOME", str(home))
    mp.setenv("GEO_MS_OFFLINE", "1")
    mp.delenv("GEO_MS_DATA_MIRROR", raising=False)
    mp.setattr(fetch, "network_available", lambda *a, **k: False)
    try:
        files = run_exposures(load_config(overrides={"run.sample": "always"}),
                              say=lambda m: None)
    finally:
        mp.undo()
    return files


def test_exposures_parquet_is_geoparquet_and_round_trips(outputs: dict[str, Path]) -> None:
    path = outputs["exposures.parquet"]
    assert path.name == "exposures.parquet" and path.parent.name == "processed"
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    back = gpd.read_parquet(path)
    assert back.crs.equals("EPSG:4326")
    gpkg = gpd.read_file(outputs["exposures.gpkg"], layer="exposures")
    csv = pd.read_csv(outputs["exposures.csv"])
    assert back["region_id"].tolist() == csv["region_id"].tolist() == gpkg["region_id"].tolist()
    assert len(back) == len(csv) == 245  # the built-in sample's countries
    for col in ("ghi_merra2", "cloudiness_sunshine_pct", "sunshine_hours_cities"):
        np.testing.assert_allclose(back[col].to_numpy(float), csv[col].to_numpy(float),
                                   rtol=1e-12, equal_nan=True)
    # the regions' own geometries: the GeoPackage only promotes polygons to multipolygons
    assert back.geometry.geom_equals(gpkg.geometry).all()
    assert set(back.geom_type) == {"Polygon", "MultiPolygon"}
    assert not list(path.parent.glob("*.part*"))
