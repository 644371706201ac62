"""Region sets (geo_ms.exposures.regions): Natural Earth countries and states, user polygons."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo_ms.errors import CRSError, FormatError, SchemaError
from geo_ms.exposures.regions import (
    admin1,
    countries,
    read_natural_earth,
    user_regions,
)


def _ne_admin0() -> gpd.GeoDataFrame:
    """A tiny table with Natural Earth 5.x columns and its known quirks."""
    rows = [
        # ADM0_A3, ISO_A3_EH, NAME, POP_EST, GDP_MD, LABEL_X, LABEL_Y, CONTINENT, geometry
        (
            "FRA",
            "FRA",
            "France",
            67e6,
            2.7e6,
            2.0,
            46.7,
            "Europe",
            shapely.MultiPolygon(
                [
                    shapely.box(-4, 43, 7, 50),
                    shapely.box(8.5, 41.4, 9.5, 43),
                    shapely.box(-54, 2, -51.6, 5.7),
                ]
            ),
        ),
        (
            "CLP",
            "FRA",
            "Clipperton I.",
            0.0,
            0.0,
            -109.2,
            10.3,
            "Seven seas (open ocean)",
            shapely.box(-109.3, 10.2, -109.2, 10.3),
        ),
        (
            "AUS",
            "AUS",
            "Australia",
            25e6,
            1.4e6,
            134.0,
            -24.1,
            "Oceania",
            shapely.box(113, -39, 153, -11),
        ),
        (
            "IOA",
            "AUS",
            "Indian Ocean Ter.",
            2387.0,
            100.0,
            96.85,
            -12.15,
            "Oceania",
            shapely.box(96.8, -12.2, 96.9, -12.1),
        ),
        ("KOS", "-99", "Kosovo", 1.8e6, 7.9e3, 20.9, 42.6, "Europe", shapely.box(20, 42, 21, 43)),
        (
            "ATA",
            "ATA",
            "Antarctica",
            4490.0,
            898.0,
            35.9,
            -79.8,
            "Antarctica",
            shapely.box(-180, -90, 180, -65),
        ),
    ]
    cols = ["ADM0_A3", "ISO_A3_EH", "NAME", "POP_EST", "GDP_MD", "LABEL_X", "LABEL_Y", "CONTINENT"]
    return gpd.GeoDataFrame(
        [dict(zip(cols, r[:-1], strict=True)) for r in rows],
        geometry=[r[-1] for r in rows],
        crs="EPSG:4326",
    )


def test_countries_codes_dissolve_and_covariates():
    c = countries(_ne_admin0()).set_index("region_id")
    assert list(c.index) == ["FRA", "AUS", "KOS", "ATA"]  # -99 → ADM0_A3; repeats dissolved
    assert c.loc["FRA", "name"] == "France"  # attributes of the unit whose ADM0_A3 is the code
    assert c.loc["FRA", "gdp_per_capita"] == pytest.approx(2.7e6 * 1e6 / 67e6)
    assert c.loc["FRA", "abs_latitude"] == 46.7  # |LABEL_Y|, not the centroid
    assert c.loc["AUS", "abs_latitude"] == pytest.approx(24.1)
    assert c.loc["AUS", "label_x"] == 134.0
    # Indian Ocean Territories are part of AUS now
    assert c.loc["AUS"].geometry.bounds == (96.8, -39.0, 153.0, -11.0)
    assert c.loc["FRA"].geometry.bounds[0] == -109.3  # Clipperton joins France
    assert c["is_antarctica"].tolist() == [False, False, False, True]
    assert c.crs.equals("EPSG:4326")
    assert list(c.reset_index().columns) == [
        "region_id",
        "iso3",
        "name",
        "continent",
        "region_un",
        "subregion",
        "income_grp",
        "economy",
        "pop_est",
        "gdp_md",
        "gdp_per_capita",
        "abs_latitude",
        "label_x",
        "label_y",
        "is_antarctica",
        "geometry",
    ]


def test_countries_main_territory_drops_far_parts():
    c = countries(_ne_admin0(), main_territory=True).set_index("region_id")
    # mainland and Corsica stay; French Guiana (≈7,000 km) and Clipperton go
    assert c.loc["FRA"].geometry.bounds == (-4.0, 41.4, 9.5, 50.0)
    # the Cocos-like island is ≈1,760 km from the Australian box: dropped
    assert c.loc["AUS"].geometry.bounds == (113.0, -39.0, 153.0, -11.0)
    assert c.loc["FRA", "abs_latitude"] == 46.7
    assert c.attrs["main_territory"] is True


def test_countries_reads_natural_earth_4_without_label_points():
    ne = _ne_admin0().drop(columns=["LABEL_X", "LABEL_Y"]).rename(columns={"GDP_MD": "GDP_MD_EST"})
    ne.columns = [c.lower() if c != "geometry" else c for c in ne.columns]
    c = countries(ne).set_index("region_id")
    # fallback: inner point of the largest part (mainland France box, lat 43..50)
    assert 43 < c.loc["FRA", "abs_latitude"] < 50
    assert c.loc["FRA", "gdp_per_capita"] == pytest.approx(2.7e6 * 1e6 / 67e6)


def test_countries_missing_columns_and_empty():
    with pytest.raises(SchemaError, match=r"^regions: missing column\(s\) ISO_A3_EH$"):
        countries(_ne_admin0().drop(columns="ISO_A3_EH"))
    with pytest.raises(SchemaError, match=r"^regions: no features in the Natural Earth table$"):
        countries(_ne_admin0().iloc[0:0])


def _write_shp_zip(tmp_path, gdf, name="ne_test"):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / f"{name}.shp")
    zpath = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    return zpath


def test_read_natural_earth_zip_forms(tmp_path):
    zpath = _write_shp_zip(tmp_path, _ne_admin0().drop(columns="CONTINENT"))
    a = read_natural_earth(zpath)
    b = read_natural_earth(f"zip://{zpath}!ne_test.shp")
    c = read_natural_earth(zpath, member="ne_test.shp")
    assert a["ADM0_A3"].tolist() == b["ADM0_A3"].tolist() == c["ADM0_A3"].tolist()
    assert a["ADM0_A3"].tolist() == ["FRA", "CLP", "AUS", "IOA", "KOS", "ATA"]
    assert a.crs.equals("EPSG:4326")
    assert countries(a).attrs["source_path"] == f"{zpath}!ne_test.shp"


def test_read_natural_earth_errors(tmp_path):
    with pytest.raises(FormatError, match=r"nope\.zip: Natural Earth archive not found$"):
        read_natural_earth(tmp_path / "nope.zip")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(FormatError, match=r"bad\.zip: not a readable zip archive"):
        read_natural_earth(bad)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(FormatError, match=r"empty\.zip: holds 0 shapefiles \(none\)$"):
        read_natural_earth(empty)
    with pytest.raises(FormatError, match=r"empty\.zip: has no member 'a\.shp'$"):
        read_natural_earth(empty, member="a.shp")


def test_user_regions_checks(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"code": ["Z1", "Z2"], "label": ["Zone 1", "Zone 2"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "z.gpkg")
    out = user_regions(tmp_path / "z.gpkg", "code", "label")
    assert out[["region_id", "name"]].values.tolist() == [["Z1", "Zone 1"], ["Z2", "Zone 2"]]
    with pytest.raises(SchemaError, match=r"z\.gpkg: no column 'id'$"):
        user_regions(tmp_path / "z.gpkg", "id")

    gdf.assign(code=["Z1", "Z1"]).to_file(tmp_path / "dup.gpkg")
    with pytest.raises(SchemaError, match=r"dup\.gpkg: duplicated region_id: Z1$"):
        user_regions(tmp_path / "dup.gpkg", "code")

    gdf.to_crs("EPSG:3035").to_file(tmp_path / "laea.gpkg")
    proj = user_regions(tmp_path / "laea.gpkg", "code")
    assert proj.crs.equals("EPSG:4326")
    assert proj.attrs["notes"] == ["reprojected from EPSG:3035 to EPSG:4326"]
    np.testing.assert_allclose(proj.geometry[0].bounds, (0, 0, 1, 1), atol=1e-6)

    # a shapefile without .prj has no CRS (GeoJSON would be read as EPSG:4326)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gdf.set_crs(None, allow_override=True).to_file(tmp_path / "nocrs.shp")
    with pytest.raises(CRSError, match=r"nocrs\.shp: regions have no CRS$") as exc:
        user_regions(tmp_path / "nocrs.shp", "code")
    assert "set_crs('EPSG:4326')" in exc.value.hint


def test_user_regions_accept_an_id_column_called_region_id(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"region_id": [101, 102], "name": ["North", "South"], "other": [1, 2]},
        geometry=[shapely.box(0, 1, 1, 2), shapely.box(0, 0, 1, 1)], crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "r.geojson")
    out = user_regions(tmp_path / "r.geojson", "region_id", "name")
    assert out[["region_id", "name", "other"]].values.tolist() == [["101", "North", 1],
                                                                   ["102", "South", 2]]
    assert list(out.columns[:2]) == ["region_id", "name"]
    # another id column replaces a region_id column the file already has
    gdf.assign(code=["A", "B"]).to_file(tmp_path / "r2.geojson")
    out2 = user_regions(tmp_path / "r2.geojson", "code")
    assert out2[["region_id", "name"]].values.tolist() == [["A", "A"], ["B", "B"]]
    assert out2.columns.tolist().count("region_id") == 1


def test_user_regions_get_label_points_and_abs_latitude(tmp_path):
    # a square 10-20 E, 30-40 S and a two-part region whose larger part is 0-4 E, 50-54 N
    gdf = gpd.GeoDataFrame(
        {"code": ["SQ", "TWO"]},
        geometry=[shapely.box(10, -40, 20, -30),
                  shapely.MultiPolygon([shapely.box(100, 0, 101, 1), shapely.box(0, 50, 4, 54)])],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "r.gpkg")
    out = user_regions(tmp_path / "r.gpkg", "code").set_index("region_id")
    assert 10 < out.loc["SQ", "label_x"] < 20 and -40 < out.loc["SQ", "label_y"] < -30
    assert 0 < out.loc["TWO", "label_x"] < 4 and 50 < out.loc["TWO", "label_y"] < 54
    np.testing.assert_allclose(out["abs_latitude"], out["label_y"].abs())
    # a file's own label points are kept
    gdf.assign(label_x=[1.0, 2.0], label_y=[-3.0, 4.0]).to_file(tmp_path / "r2.gpkg")
    out2 = user_regions(tmp_path / "r2.gpkg", "code")
    assert out2[["label_x", "label_y", "abs_latitude"]].values.tolist() == [[1.0, -3.0, 3.0],
                                                                            [2.0, 4.0, 4.0]]


def test_invalid_geometry_is_repaired_and_reported(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame(
        {"code": ["B", "OK"]}, geometry=[bowtie, shapely.box(5, 5, 6, 6)], crs="EPSG:4326"
    )
    gdf.to_file(tmp_path / "bow.gpkg")
    out = user_regions(tmp_path / "bow.gpkg", "code")
    assert out.attrs["repaired"] == ["B"]
    assert out.geometry.is_valid.all()
    assert out.geometry[0].geom_type == "MultiPolygon"
    assert out.geometry[0].area == pytest.approx(2.0)  # two triangles of area 1


def test_empty_or_non_polygon_sets_are_refused(tmp_path):
    gdf = gpd.GeoDataFrame({"code": ["P"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "pts.gpkg")
    with pytest.raises(SchemaError, match=r"pts\.gpkg: non-polygon geometries \(Point\)$"):
        user_regions(tmp_path / "pts.gpkg", "code")
    gdf.iloc[0:0].to_file(tmp_path / "none.geojson")
    with pytest.raises(SchemaError, match=r"none\.geojson: no regions \(empty polygon set\)$"):
        user_regions(tmp_path / "none.geojson", "code")


def test_admin1_ids_and_latitude():
    ne = gpd.GeoDataFrame(
        {
            "iso_3166_2": ["NO-03", "-99", "FR-"],
            "adm1_code": ["NOR-1", "NOR-2", "FRA-9"],
            "name": ["Oslo", "Svalbard", "Somewhere"],
            "adm0_a3": ["NOR", "NOR", "FRA"],
            "latitude": [59.9, 78.2, np.nan],
        },
        geometry=[
            shapely.box(10, 59, 11, 60),
            shapely.box(15, 77, 17, 79),
            shapely.box(2, -22, 3, -20),
        ],
        crs="EPSG:4326",
    )
    out = admin1(ne)
    assert out["region_id"].tolist() == ["NO-03", "NOR-2", "FRA-9"]
    assert out["iso3"].tolist() == ["NOR", "NOR", "FRA"]
    assert out["abs_latitude"].tolist()[:2] == [59.9, 78.2]
    assert out["abs_latitude"][2] == pytest.approx(21.0)  # missing latitude: inner point


# --------------------------------------------------------------------------- mirror


@pytest.fixture(scope="module")
def ne10(mirror):
    return read_natural_earth(mirror / "boundaries" / "ne_10m_admin_0_countries_deu.zip")


@pytest.fixture(scope="module")
def ne10_countries(ne10):
    return countries(ne10).set_index("region_id")


def test_mirror_ne10_countries(ne10, ne10_countries):
    c = ne10_countries
    assert len(ne10) == 250 and len(c) == 245  # AUS ×4, BRA ×2, FRA ×2 dissolved
    assert c.index.is_unique and "-99" not in c.index
    assert {"FRA", "NOR", "KOS", "AUS", "BRA", "ATA"} <= set(c.index)
    assert c.attrs["repaired"] == ["EGY"]  # NE 5.1.1 has one invalid ring (Egypt)
    # label points (SOURCES.md: use LABEL_Y, not centroids)
    assert c.loc["FRA", "abs_latitude"] == pytest.approx(46.696, abs=1e-3)
    assert c.loc["NOR", "abs_latitude"] == pytest.approx(61.357, abs=1e-3)
    assert c.loc["AUS", "name"] == "Australia"
    assert c.loc["AUS"].geometry.bounds[0] < 97  # Cocos (Keeling) Islands, Indian Ocean Ter.
    assert c.loc["FRA"].geometry.bounds[1] < -21  # Réunion in the whole territory
    assert bool(c.loc["ATA", "is_antarctica"]) and c["is_antarctica"].sum() == 1
    assert c.loc["NOR", "gdp_per_capita"] == pytest.approx(75419.6, abs=1)


def test_mirror_main_territories(ne10):
    m = countries(ne10[ne10.ADM0_A3.isin(["FRA", "NOR", "USA", "NZL"])], main_territory=True)
    m = m.set_index("region_id")
    fra = m.loc["FRA"].geometry.bounds
    assert fra[0] > -6 and fra[1] > 41  # no Guiana, Réunion, Martinique...
    nor = m.loc["NOR"].geometry.bounds
    # Svalbard is within 1,000 km of mainland Norway (Bjørnøya ≈ 420 km, Spitsbergen
    # ≈ 670 km) and stays; Bouvet Island (54°S) goes
    assert nor[3] > 80 and nor[1] > 57
    usa = m.loc["USA"].geometry.bounds
    assert usa[1] > 24  # Hawaii (≈ 19–22°N) dropped; Alaska (within 1,000 km) kept
    assert usa[3] > 70


def test_mirror_ne50_v4_uses_adm0_a3_for_minus_99(mirror):
    ne = read_natural_earth(mirror / "boundaries" / "ne_50m_admin_0_countries_v4.0.0.geojson")
    c = countries(ne).set_index("region_id")
    assert c.index.is_unique
    assert {"FRA", "NOR", "KOS"} <= set(c.index)
    # no LABEL_Y in v4.0.0: inner point of the largest part (mainland France)
    assert 42 < c.loc["FRA", "abs_latitude"] < 51
    assert 58 < c.loc["NOR", "abs_latitude"] < 71


def test_natural_earth_names_are_decoded_as_utf8(mirror):
    # The NE zip has no .cpg; read as ISO-8859-1 these would be "CuraÃ§ao", "Ã…land".
    gdf = countries(read_natural_earth(mirror / "boundaries/ne_10m_admin_0_countries_deu.zip"))
    names = gdf.set_index("region_id")["name"]
    assert names["CUW"] == "Curaçao"
    assert names["ALA"] == "Åland"
    assert names["CIV"] == "Côte d'Ivoire"
