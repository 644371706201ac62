"""The benchmark harness (benchmarks/run.py) and the fast paths it times, on small data.

Every fast path the benchmark times (cached weights, the public ``zonal_mean``, the dask
path) must give exactextract's numbers for one call over the multi-band raster; the
harness's own helpers (tessellation, baseline scaling, comparison) are checked by hand.
No timings are asserted here.
"""

from __future__ import annotations

from importlib import resources

import dask.array as dsa
import geopandas as gpd
import numpy as np
import pytest
import shapely
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from benchmarks.run import (
    OP,
    STRATEGIES,
    WKT_4326,
    _stack_da,
    growth_exponent,
    max_rel_diff,
    render_readme,
    scaled_baseline,
    spread,
    synthetic_stack,
    tessellate,
)
from geo_ms.exposures import weights as _weights
from geo_ms.exposures.dask_backend import zonal_mean_dask
from geo_ms.exposures.regions import countries, read_natural_earth
from geo_ms.exposures.weights import coverage_weights
from geo_ms.exposures.zonal import zonal_mean

RES = 2.0
N_BANDS = 6  # bands 0..5 of variable 1; band 3 of the 4th variable has NaN cells
BANDS = [0, 1, 2, 36, 37, 47]


@pytest.fixture(scope="module")
def regions() -> gpd.GeoDataFrame:
    ref = resources.files("geo_ms") / "data/sample/ne_10m_admin0_countries_simplified.geojson"
    with resources.as_file(ref) as p:
        return countries(read_natural_earth(p))


@pytest.fixture(scope="module")
def stack() -> np.ndarray:
    return synthetic_stack(RES, BANDS)


@pytest.fixture(scope="module", params=STRATEGIES)
def reference(request, regions, stack) -> np.ndarray:
    """exactextract, one call over all bands, with each strategy."""
    srcs = [NumPyRasterSource(stack[i], -180, -90, 180, 90, name=f"b{i}", srs_wkt=WKT_4326)
            for i in range(len(BANDS))]
    geoms = regions[[regions.geometry.name]].reset_index(drop=True)
    res = exact_extract(srcs, geoms, [OP], strategy=request.param, output="pandas")
    return res[[f"b{i}_mean" for i in range(len(BANDS))]].to_numpy(float)


def _close(out, ref) -> None:
    got = np.asarray(out, float)
    assert np.array_equal(np.isfinite(got), np.isfinite(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-9, atol=0)


def test_cached_weights_equal_exactextract(regions, stack, reference):
    _weights._MEMO.clear()
    cw = coverage_weights(_stack_da(stack, RES), regions)
    _close(cw.mean(stack).drop(columns="valid_fraction"), reference)


def test_public_zonal_mean_equals_exactextract(regions, stack, reference):
    out = zonal_mean(_stack_da(stack, RES), regions)
    assert out.attrs["path"] == "weights"
    _close(out.drop(columns="valid_fraction"), reference)


def test_public_zonal_mean_direct_path_equals_exactextract(regions, stack, reference):
    out = zonal_mean(_stack_da(stack, RES), regions, use_cache=False)
    assert out.attrs["path"] == "direct"
    _close(out.drop(columns="valid_fraction"), reference)


def test_dask_path_equals_exactextract(regions, stack, reference):
    da = _stack_da(stack, RES)
    lazy = da.copy(data=dsa.from_array(stack, chunks=(2, 45, 90)))
    out = zonal_mean_dask(lazy, regions)
    assert out.attrs["path"] == "dask"
    _close(out.drop(columns="valid_fraction"), reference)


def test_tessellation_counts_pieces_and_covers_the_regions():
    # A: 3° x 2° box on the 1° grid -> 6 squares; B: a triangle over 2 x 2 squares whose
    # hypotenuse passes through the corners of the squares -> 3 pieces (one square missed)
    tri = shapely.Polygon([(10, 10), (12, 10), (10, 12)])
    reg = gpd.GeoDataFrame({"region_id": ["A", "B"]},
                           geometry=[shapely.box(0, 0, 3, 2), tri], crs="EPSG:4326")
    t = tessellate(reg, 1.0)
    assert t["region_id"].str[0].value_counts().to_dict() == {"A": 6, "B": 3}
    assert t["region_id"].is_unique
    assert t.crs == reg.crs
    area = shapely.area(t.geometry.values)
    assert area[t["region_id"].str[0].eq("A").to_numpy()].sum() == pytest.approx(6.0)
    assert area[t["region_id"].str[0].eq("B").to_numpy()].sum() == pytest.approx(2.0)
    # a square piece is one whole 1° square: (190, 100) is the square 10..11°E, 10..11°N
    assert shapely.area(t.set_index("region_id").loc["B_190_100"].geometry) == pytest.approx(1.0)


def test_tessellation_of_sample_countries_covers_the_land(regions):
    t = tessellate(regions, 5.0, coarse=20.0)
    assert len(t) > 4 * len(regions)
    assert shapely.area(t.geometry.values).sum() == pytest.approx(
        shapely.area(regions.geometry.values).sum(), rel=1e-9)
    # the coarse pre-clip does not change the pieces
    same = tessellate(regions, 5.0, coarse=5.0)
    assert sorted(same["region_id"]) == sorted(t["region_id"])


def test_scaled_baseline_extrapolates_fixed_plus_per_band():
    est, info = scaled_baseline([123, 246], [20.0, 30.0], 1476)
    assert est == pytest.approx(10.0 + 1476 * 10.0 / 123)
    assert info == {"bands": [123, 246], "seconds": [20.0, 30.0], "of_bands": 1476}


def test_max_rel_diff_compares_the_timed_bands_and_nan_patterns():
    a = np.array([[1.0, 2.0, 5.0], [np.nan, 4.0, 6.0]])
    b = np.array([[1.0, 2.0 * (1 + 1e-7)], [np.nan, 4.0]])
    assert max_rel_diff(a, b) == pytest.approx(1e-7, rel=1e-6)
    assert max_rel_diff(a[:, :2], np.array([[1.0, 2.0], [3.0, 4.0]])) == float("inf")


def test_growth_exponent_of_a_square_law():
    assert growth_exponent([10, 100, 1000], [3e-2, 3.0, 300.0]) == pytest.approx(2.0)


def test_readme_says_which_targets_were_missed():
    rec = {"name": "country_48bands_0.1deg", "mode": "warm_file", "seconds": 4.0,
           "peak_rss_mb": 900.0, "baseline": "exactextract", "baseline_seconds": 8.0,
           "ratio": 2.0, "max_rel_diff": 1e-12, "threads": {"geo_ms": 2, "exactextract": 1},
           "baseline_strategies_seconds": {"feature-sequential": 9.0, "raster-sequential": 8.0},
           "target": "ratio >= 3", "target_met": False}
    text = render_readme([rec], {"date": "2026-01-01T00:00:00Z"})
    assert "| `country_48bands_0.1deg` | warm_file | 4 | 900 | 8 | 9 / 8 | 2 | – | 1.0e-12 | " \
        "ratio >= 3: **missed** |" in text


def test_readme_shows_a_strategy_stopped_at_its_cap():
    rec = {"name": "country_48bands_0.1deg", "mode": "warm_file", "seconds": 2.0,
           "peak_rss_mb": 900.0, "baseline": "exactextract", "baseline_seconds": 8.0,
           "ratio": 4.0, "max_rel_diff": 0.0, "threads": {"geo_ms": 2, "exactextract": 1},
           "baseline_strategies_seconds": {"feature-sequential": None, "raster-sequential": 8.0},
           "baseline_strategies_stopped_at_cap_s": {"feature-sequential": 30.0}}
    text = render_readme([rec], {"date": "2026-01-01T00:00:00Z"})
    assert "| `country_48bands_0.1deg` | warm_file | 2 | 900 | 8 | > 30 / 8 | 4 | – | 0 |" in text


def test_readme_gives_each_records_spread_and_the_weights_lever():
    rec = {"name": "country_48bands_0.1deg", "mode": "cold_file", "seconds": 2.0,
           "peak_rss_mb": 900.0, "baseline": "exactextract", "baseline_seconds": 4.0,
           "ratio": 2.0, "max_rel_diff": 0.0, "threads": {"geo_ms": 2, "exactextract": 1},
           "runs": [1.8, 2.0, 2.2], "spread": spread([1.8, 2.0, 2.2]),
           "baseline_runs": [3.0, 4.0, 5.0], "baseline_spread": spread([3.0, 4.0, 5.0])}
    build = {"name": "weights_countries_0.1deg", "mode": "processes_2_vs_1", "seconds": 1.5,
             "peak_rss_mb": 500.0, "baseline": "the serial build", "baseline_seconds": 2.7,
             "ratio": 1.8, "max_rel_diff": 0.0, "identical_to_serial": True, "nnz": 2230291,
             "runs": [1.5], "baseline_runs": [2.7], "load_avg_1min": 1.0}
    text = render_readme([rec, build], {"date": "2026-01-01T00:00:00Z"})
    # (2.2 - 1.8) / 2.0 = 20 % range, ±10 %; (5 - 3) / 4 = 50 %, ±25 %
    assert "| 2 | ±10 % / ±25 % | 0 |" in text
    assert "## Cold runs: the weights build is the lever" in text
    assert "- processes_2_vs_1: 1.50 s against 2.70 s (the serial build): 1.80×; identical " \
        "to the serial build: yes" in text
    assert "2,230,291 non-zeros" in text
