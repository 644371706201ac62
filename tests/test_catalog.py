"""The dataset catalog: required entries, pinned hashes, pattern expansion, validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geo_ms.errors import ConfigError, DataSourceError
from geo_ms.ingest.catalog import (
    KINDS,
    READERS,
    Dataset,
    get_dataset,
    list_datasets,
    load_catalog,
    resolve_reader,
)

REQUIRED_IDS = [
    "gbd2016_ms", "gbd_results_csv", "user_prevalence", "emsp_barometer_2011",
    "cru_cl1_cloud", "cru_cl1_radiation", "cru_cl1_netcdf", "cru_ts408_cld",
    "neo_uvi_clim", "neo_modis_cloud", "modis_mod08_cloud", "temis_vitd_clear",
    "omi_omuvbd", "ncep_tcdc", "merra2_ghi", "sunshine_cities", "geonames_cities",
    "ne_admin0_10m", "ne_admin0_50m", "ne_admin0_110m", "ne_admin1_10m", "gpw_population",
    "atlas_ms_2020", "atlas_ms_2013", "atlas_ms_2008", "gpw_pop_2020_30min",
    "world_migration_matrix", "wdi_health_expenditure", "wdi_physicians",
    "undesa_migrant_stock_2020",
]  # fmt: skip

# ms/SOURCES.md §9 (copied here so the check also runs without the mirror)
GBD_SHA256 = {
    "prevalence/ddf--datapoints--prevalence_rate--by--location--sex--age--cause-546--year.csv":
        "0b91ae693a3781e35a7872deb045ffcb47405e311f63326149dd2cac104999be",
    "prevalence/ddf--datapoints--prevalence_number--by--location--sex--age--cause-546--year.csv":
        "50a506946efdd6196e3b90a9319ace92adc07b94072ce7fda876411be41baa83",
    "incidence/ddf--datapoints--incidence_rate--by--location--sex--age--cause-546--year.csv":
        "0af93463f70aa538de8017c5bf9af24b53beeeb8179119157e501994d2b66ba5",
    "incidence/ddf--datapoints--incidence_number--by--location--sex--age--cause-546--year.csv":
        "2e82e5df0d660c2719bb4e36216a1aa35be9bb93b2e3d588955376168c8d2be5",
    "ddf--entities--location.csv": "abc5afaa17d469c9ccdd9fd3576ea0d6f50ff064d73d708115168c637d375416",
    "ddf--entities--sex.csv": "2acb174084cd43c104b23a1f3919629f3a3c66356d2b14133cd741cb78dd891a",
    "ddf--entities--age.csv": "db0f20a98d584017dc00ea83e57b85fe3814cb6040add5a3aab2a873c3e468cf",
    "ddf--entities--cause.csv": "994c149acdb80203d0801c5077de838672efa585507aff8dbe91422544595b95",
}  # fmt: skip
GBD_PREFIX = (
    "https://raw.githubusercontent.com/open-numbers/"
    "ddf--ihme--global_burden_disease_cancer_incidence/6558657d9abdc59267fd59d9d2b8708ea35263b0/"
)


def test_all_required_entries_exist_with_licence_and_citation() -> None:
    cat = load_catalog()
    assert set(REQUIRED_IDS) <= set(cat)
    assert len(cat) == len(REQUIRED_IDS)
    for ds in cat.values():
        assert ds.kind in KINDS, ds.id
        assert len(ds.licence) > 8 and len(ds.citation) > 20, ds.id
        assert ds.files, ds.id


def test_gbd_files_hashes_urls_and_mirror_paths() -> None:
    ds = get_dataset("gbd2016_ms")
    assert {f.name: f.sha256 for f in ds.files} == GBD_SHA256
    for f in ds.files:
        assert f.url == GBD_PREFIX + f.name
        assert f.mirror_path == "ms/gbd2016_ddf/" + f.name
        assert f.mirror_sha256 is None  # the mirror holds the same bytes
    assert ds.licence.startswith("IHME") and "non-commercial" in ds.licence.lower()


def _sha_block(text: str) -> dict[str, str]:
    return {m[2]: m[1] for m in re.finditer(r"^([0-9a-f]{64})  (\S+)$", text, flags=re.MULTILINE)}


def test_gbd_hashes_match_sources_md(mirror: Path) -> None:
    text = (mirror / "ms" / "SOURCES.md").read_text(encoding="utf-8")
    assert _sha_block(text) == GBD_SHA256


def test_raster_and_boundary_hashes_match_sources_md(mirror: Path) -> None:
    rasters = _sha_block((mirror / "rasters" / "SOURCES.md").read_text(encoding="utf-8"))
    text = (mirror / "rasters" / "SOURCES.md").read_text(encoding="utf-8")
    for name in ("ccld6190.zip", "crad6190.zip"):
        rasters[name] = re.search(rf"`{re.escape(name)}` ([0-9a-f]{{64}})", text)[1]
    rasters.update(_section_hashes(text))  # "## n. `file`: ... **SHA-256:** `hash`" (GPW)
    bounds = (mirror / "boundaries" / "SOURCES.md").read_text(encoding="utf-8")
    boundary = {
        "ne_10m_admin_0_countries_deu.zip": re.search(r"SHA-256: ([0-9a-f]{64})", bounds)[1],
        "ne_50m_admin_0_countries_v4.0.0.geojson": re.search(
            r"extracted GeoJSON\s+([0-9a-f]{64})", bounds
        )[1],
    }
    checked = 0
    for ds in load_catalog().values():
        for f in ds.files:
            if f.mirror_path is None:
                continue
            folder, _, base = f.mirror_path.partition("/")
            table = {"rasters": rasters, "boundaries": boundary}.get(folder)
            if table is None:
                continue
            assert f.expected_mirror_sha256 == table[base], f.mirror_path
            checked += 1
    # 2 CRU zips + CRU nc + 2 MODIS + 12 NEO months (one file) + TEMIS + 2 OMI + MERRA-2
    # + sunshine + 2 boundaries + GPW
    assert checked == 25


def _section_hashes(text: str) -> dict[str, str]:
    """``{file: sha256}`` of SOURCES.md sections headed ``## n. `file`: ...``."""
    out = {}
    for sec in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        name = re.match(r"\d+\. `([^`]+)`", sec)
        sha = re.search(r"\*\*SHA-256:\*\* `([0-9a-f]{64})`", sec)
        if name and sha:
            out[name[1]] = sha[1]
    return out


def test_covariate_hashes_urls_match_sources_md(mirror: Path) -> None:
    text = (mirror / "covariates" / "SOURCES.md").read_text(encoding="utf-8")
    hashes = _section_hashes(text)
    ids = ("world_migration_matrix", "wdi_health_expenditure", "wdi_physicians",
           "undesa_migrant_stock_2020")
    for did in ids:
        ds = get_dataset(did)
        assert ds.kind == "covariate"
        (f,) = ds.files
        folder, _, base = f.mirror_path.partition("/")
        assert folder == "covariates"
        assert f.sha256 == hashes[base], did
        assert f.url.startswith("https://raw.githubusercontent.com/"), did
        assert f"`{f.url}`" in text, did  # the pinned raw URL of SOURCES.md
    assert len(hashes) == len(ids)


def test_cru_entries() -> None:
    cloud, rad = get_dataset("cru_cl1_cloud"), get_dataset("cru_cl1_radiation")
    assert (cloud.files[0].url, cloud.files[0].member) == (
        "https://www.ipcc-data.org/download_data/obs/ccld6190.zip",
        "ccld6190.dat",
    )
    assert (
        cloud.files[0].sha256 == "4b82265f87cd8f2fdd1b6db20ddd92cefd384ddbb35aaf7c87e9f0eb6ff38d37"
    )
    assert rad.files[0].member == "crad6190"  # the newer grid
    assert rad.files[0].sha256 == "302be808c84c1a69f4637efe67e4f1c7a6c6d9533a05bf23a82ccc2320a8ba48"
    assert "New, M., Hulme, M. and Jones" in cloud.citation
    nc = get_dataset("cru_cl1_netcdf")
    assert nc.mirror_only and nc.files[0].url is None and nc.reader == "read_cf_netcdf"


def test_url_patterns_expand_to_monthly_files() -> None:
    uvi = get_dataset("neo_uvi_clim")
    assert [f.name for f in uvi.files] == [
        f"AURA_UVI_CLIM_M_{m:02d}.FLOAT.TIFF" for m in range(1, 13)
    ]
    assert uvi.files[6].url == (
        "https://neo.gsfc.nasa.gov/archive/geotiff.float/AURA_UVI_CLIM_M/"
        "AURA_UVI_CLIM_M_07.FLOAT.TIFF"
    )
    assert {f.mirror_path for f in uvi.files} == {"rasters/neo_aura_uvi_clim_monthly_1deg.nc"}
    assert {f.mirror_encoding for f in uvi.files} == {"netcdf"}
    assert all(f.sha256 is None for f in uvi.files)  # recorded in the lock file
    cld = get_dataset("neo_modis_cloud")
    assert cld.files[0].name == "MODAL2_M_CLD_FR_2023-01.FLOAT.TIFF"
    assert cld.files[-1].url.endswith("/MODAL2_M_CLD_FR/MODAL2_M_CLD_FR_2023-12.FLOAT.TIFF")


def test_special_entries() -> None:
    ne10 = get_dataset("ne_admin0_10m")
    f = ne10.files[0]
    assert f.sha256 is None and f.mirror_sha256.startswith("125fc4b1")
    assert f.member == "ne_10m_admin_0_countries_deu.shp" and ne10.reader == "read_natural_earth"
    assert ne10.licence.startswith("public domain")
    for ds_id in ("gbd_results_csv", "user_prevalence", "gpw_population"):
        assert get_dataset(ds_id).user_supplied, ds_id
    assert get_dataset("gbd_results_csv").homepage == "https://vizhub.healthdata.org/gbd-results/"
    assert get_dataset("merra2_ghi").package == "gsee-climate-data==1.0.0"
    assert get_dataset("sunshine_cities").citation == (
        "Sunshine data © GeoRank.place (georank.place), CC-BY-4.0."
    )
    omi = get_dataset("omi_omuvbd")
    assert [x.sha256[:8] for x in omi.files] == ["a500d577", "1de91032"]
    assert get_dataset("temis_vitd_clear").files[0].url == (
        "https://www.temis.nl/uvradiation/v2.0/nc/clim/uvdvcclim_world.nc"
    )


def test_every_reader_resolves() -> None:
    names = {d.reader for d in list_datasets()}
    names |= {f.reader for d in list_datasets() for f in d.files if f.reader}
    names |= {f.mirror_reader for d in list_datasets() for f in d.files if f.mirror_reader}
    assert names <= set(READERS)
    for name in sorted(names):
        assert callable(resolve_reader(name)), name
    assert resolve_reader("geo_ms.exposures.regions:read_natural_earth") is resolve_reader(
        "read_natural_earth"
    )


def test_lookup_and_listing() -> None:
    assert isinstance(get_dataset("ncep_tcdc"), Dataset)
    assert [d.id for d in list_datasets("uv")] == ["neo_uvi_clim", "temis_vitd_clear", "omi_omuvbd"]
    assert [d.id for d in list_datasets("boundaries")] == [
        "ne_admin0_10m", "ne_admin0_50m", "ne_admin0_110m", "ne_admin1_10m",
    ]  # fmt: skip
    with pytest.raises(
        DataSourceError, match=r"^unknown dataset 'cru_cl1_clouds'; close matches: cru_cl1_cloud"
    ):
        get_dataset("cru_cl1_clouds")
    with pytest.raises(DataSourceError, match=r"^unknown dataset 'zzz'$"):
        get_dataset("zzz")
    with pytest.raises(ConfigError, match=r"^unknown dataset kind 'rain'$"):
        list_datasets("rain")
    with pytest.raises(DataSourceError, match=r"dataset 'omi_omuvbd': no file 'x\.he5'"):
        get_dataset("omi_omuvbd").file("x.he5")


# --------------------------------------------------------------------------- validation

GOOD = """
[[dataset]]
id = "{id}"
title = "T"
kind = "{kind}"
format = "csv"
reader = "{reader}"
licence = "public domain"
citation = "Someone (2020)."

[[dataset.files]]
name = "a.csv"
{file}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cat.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _entry(**kw: str) -> str:
    args = {
        "id": "x1",
        "kind": "cloud",
        "reader": "read_cf_netcdf",
        "file": 'url = "https://e.org/a.csv"',
    }
    args.update(kw)
    return GOOD.format(**args)


def test_a_valid_custom_catalog_loads(tmp_path: Path) -> None:
    cat = load_catalog(
        _write(tmp_path, _entry() + _entry(id="x2", reader="geo_ms.exposures.regions:read_natural_earth"))
    )
    assert list(cat) == ["x1", "x2"]
    assert cat["x2"].reader == "geo_ms.exposures.regions:read_natural_earth"
    assert cat["x1"].files[0].url == "https://e.org/a.csv"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_entry() + _entry(), r"cat\.toml: dataset 'x1': duplicate id$"),
        (_entry(kind="rain"), r"cat\.toml: dataset 'x1': unknown kind 'rain'$"),
        (
            _entry(reader="read_cf_netcdff"),
            r"cat\.toml: dataset 'x1': unknown reader 'read_cf_netcdff' \(did you mean read_cf_netcdf\?\)$",
        ),
        (
            _entry(file='url = "https://e.org/a.csv"\nsha256 = "abc"'),
            r"cat\.toml: dataset 'x1' file 'a\.csv': sha256 must be 64 hex digits, got 'abc'$",
        ),
        (
            _entry(file='url = "http://e.org/a.csv"'),
            (
                r"cat\.toml: dataset 'x1' file 'a\.csv': url 'http://e\.org/a\.csv' is plain http "
                r"without a pinned sha256$"
            ),
        ),
        (
            _entry(file='url = "ftp://e.org/a.csv"'),
            r"cat\.toml: dataset 'x1' file 'a\.csv': url 'ftp://e\.org/a\.csv' is not an https URL$",
        ),
        (
            _entry(file=""),
            r"cat\.toml: dataset 'x1' file 'a\.csv': has no source \(url, mirror_path or resource\)$",
        ),
        (
            _entry(file='url = "https://e.org/a.csv"\ncolour = "red"'),
            r"cat\.toml: dataset 'x1' file #1: unknown key\(s\) colour$",
        ),
        (
            _entry(file='mirror_path = "../etc/a.csv"\nmirror_sha256 = "' + "0" * 64 + '"'),
            (
                r"cat\.toml: dataset 'x1' file 'a\.csv': mirror_path '\.\./etc/a\.csv' must be a "
                r"relative path without '\.\.'$"
            ),
        ),
        (
            _entry(file='mirror_path = "a.csv"'),
            r"cat\.toml: dataset 'x1' file 'a\.csv': a mirror_path needs a hash to verify it",
        ),
        (
            _entry(id="X-1"),
            r"cat\.toml: dataset 'X-1': id must be lower-case letters, digits and '_'$",
        ),
        (
            _entry().replace('licence = "public domain"\n', ""),
            r"cat\.toml: dataset 'x1': missing required key 'licence'$",
        ),
        ("[[dataset]\n", r"cat\.toml: not valid TOML"),
    ],
)
def test_invalid_catalogs_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_catalog(_write(tmp_path, text))


def test_http_is_accepted_with_a_pinned_hash(tmp_path: Path) -> None:
    sha = "ab" * 32
    cat = load_catalog(
        _write(tmp_path, _entry(file=f'url = "http://e.org/a.csv"\nsha256 = "{sha}"'))
    )
    assert cat["x1"].files[0].sha256 == sha


def test_pattern_with_year_needs_years(tmp_path: Path) -> None:
    text = _entry(file="").replace(
        'name = "a.csv"',
        'name_pattern = "c_{year}-{month:02d}.tif"\nurl_pattern = "https://e.org/c_{year}-{month:02d}.tif"',
    )
    with pytest.raises(
        ConfigError,
        match=r"dataset 'x1' file 'c_\{year\}-\{month:02d\}\.tif': the pattern uses "
        r"\{year\} but 'years' is not given$",
    ):
        load_catalog(_write(tmp_path, text))
    cat = load_catalog(_write(tmp_path, text + "years = [2001, 2002]\nmonths = [1, 7]\n"))
    assert [f.name for f in cat["x1"].files] == [
        "c_2001-01.tif", "c_2001-07.tif", "c_2002-01.tif", "c_2002-07.tif",
    ]  # fmt: skip
