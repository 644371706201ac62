"""Correlations of log prevalence with exposures: p-values, bootstrap CIs, missing rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geo_ms.errors import SchemaError
from geo_ms.models.correlation import bootstrap_ci, correlations, pearson_p


@pytest.mark.parametrize(
    ("r", "n", "expected"),
    [(-0.91, 6, "0.0118"), (-0.46, 22, "0.0312"), (-0.37, 47, "0.0105")],
)
def test_pearson_p_known_values(r, n, expected):
    # two-sided t-test p for the article-style figures, to 3 significant digits
    assert f"{pearson_p(r, n):.3g}" == expected


def test_pearson_p_matches_scipy_pearsonr():
    rng = np.random.default_rng(7)
    x = rng.normal(size=25)
    y = 0.4 * x + rng.normal(size=25)
    res = stats.pearsonr(x, y)
    assert pearson_p(float(res.statistic), 25) == pytest.approx(float(res.pvalue), rel=1e-9)


def test_pearson_p_edges():
    assert math.isnan(pearson_p(0.5, 2))
    assert pearson_p(1.0, 10) == 0.0
    assert pearson_p(0.0, 10) == pytest.approx(1.0)


def _table(x, logy, **extra):
    return pd.DataFrame({"region_id": [f"R{i}" for i in range(len(x))],
                         "prevalence_per_100k": np.exp(np.asarray(logy, float)),
                         "x": x, **extra})


def test_correlations_hand_computed():
    # x - 3 = (-2,-1,0,1,2), log y - 3 = (-1,-2,1,0,2): r = 8 / sqrt(10*10) = 0.8;
    # ranks equal the values, so Spearman's rho = 0.8 too
    d = _table([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 5.0])
    out = correlations(d, ["x"], n_boot=200, seed=1).set_index("model")
    assert out.loc["pearson", "estimate"] == pytest.approx(0.8, abs=1e-12)
    assert out.loc["spearman", "estimate"] == pytest.approx(0.8, abs=1e-12)
    assert out.loc["pearson", "p_value"] == pytest.approx(pearson_p(0.8, 5), rel=1e-12)
    assert out.loc["spearman", "p_value"] == pytest.approx(
        float(stats.spearmanr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).pvalue), rel=1e-12)
    assert (out["outcome"] == "log_prevalence").all()
    assert (out["n"] == 5).all()
    assert (out["std_estimate"] == out["estimate"]).all()


def test_bootstrap_reproducible_with_seed():
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    d = _table(x, 0.5 * x + rng.normal(size=60))
    a = correlations(d, ["x"], n_boot=200, seed=20161)
    b = correlations(d, ["x"], n_boot=200, seed=20161)
    c = correlations(d, ["x"], n_boot=200, seed=99)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"], c["ci_low"])
    # the CI brackets the point estimate
    assert (a["ci_low"] < a["estimate"]).all() and (a["estimate"] < a["ci_high"]).all()


def test_bootstrap_ci_close_to_fisher_z_for_large_n():
    # independent check: for bivariate normal data with n=400 the percentile bootstrap CI
    # of r is close to the Fisher-z interval tanh(atanh(r) ± 1.96/sqrt(n-3))
    rng = np.random.default_rng(11)
    n = 400
    x = rng.normal(size=n)
    y = 0.5 * x + math.sqrt(0.75) * rng.normal(size=n)
    r = float(np.corrcoef(x, y)[0, 1])
    lo, hi = bootstrap_ci(x, y, n_boot=2000, seed=5)["pearson"]
    se = 1 / math.sqrt(n - 3)
    assert lo == pytest.approx(math.tanh(math.atanh(r) - 1.96 * se), abs=0.02)
    assert hi == pytest.approx(math.tanh(math.atanh(r) + 1.96 * se), abs=0.02)


def test_exposure_order_does_not_change_a_row():
    rng = np.random.default_rng(4)
    x = rng.normal(size=40)
    d = _table(x, x + rng.normal(size=40), z=rng.normal(size=40))
    one = correlations(d, ["x"], n_boot=200, with_latitude=False)
    two = correlations(d, ["z", "x"], n_boot=200, with_latitude=False)
    pd.testing.assert_frame_equal(one, two[two["exposure"] == "x"].reset_index(drop=True))


def test_missing_values_dropped_and_reported_and_latitude_added():
    rng = np.random.default_rng(5)
    x = rng.normal(size=30)
    d = _table(x, x + rng.normal(size=30), abs_latitude=rng.uniform(0, 60, 30))
    d.loc[[2, 9], "x"] = np.nan
    out = correlations(d, ["x"], n_boot=200)
    assert out["exposure"].tolist() == ["x", "x", "abs_latitude", "abs_latitude"]
    xrows = out[out["exposure"] == "x"]
    assert (xrows["n"] == 28).all()
    assert xrows["note"].str.contains("2 region\\(s\\) dropped for missing values").all()
    assert (out[out["exposure"] == "abs_latitude"]["n"] == 30).all()


def test_subset_filters_regions():
    rng = np.random.default_rng(6)
    x = rng.normal(size=30)
    d = _table(x, x + rng.normal(size=30), continent=["Europe"] * 12 + ["Africa"] * 18)
    out = correlations(d, ["x"], n_boot=100, subset="europe")
    assert (out["n"] == 12).all() and (out["subset"] == "europe").all()
    expected = float(np.corrcoef(x[:12], np.log(d["prevalence_per_100k"][:12]))[0, 1])
    assert out.iloc[0]["estimate"] == pytest.approx(expected, abs=1e-12)


def test_other_outcome_named_after_its_column():
    d = _table([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.5, 4.0])
    d["prevalence_allages_per_100k"] = d["prevalence_per_100k"] * 2
    out = correlations(d, ["x"], "prevalence_allages_per_100k", n_boot=50)
    assert set(out["outcome"]) == {"log_prevalence_allages"}


def test_missing_column_error():
    d = _table([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(SchemaError, match=r"^analysis table: missing column\(s\) 'cloud' "
                                          r"needed for correlation with cloud$"):
        correlations(d, ["cloud"], n_boot=10)


def test_non_positive_prevalence_error():
    d = _table([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    d.loc[1, "prevalence_per_100k"] = 0.0
    with pytest.raises(SchemaError, match=r"^analysis table: column 'prevalence_per_100k' has "
                                          r"1 value\(s\) <= 0 \(regions R1\); the model uses "
                                          r"its logarithm$") as info:
        correlations(d, ["x"], n_boot=10)
    assert "set them to NaN" in info.value.hint


def _reference_bootstrap(x, y, n_boot, seed):
    # the pre-vectorisation algorithm: one index matrix, scipy's rankdata on every resample
    from geo_ms.models.correlation import _rowwise_pearson

    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    xb, yb = x[idx], y[idx]
    r = _rowwise_pearson(xb, yb)
    rho = _rowwise_pearson(stats.rankdata(xb, axis=1), stats.rankdata(yb, axis=1))
    return {k: tuple(float(v) for v in np.percentile(a[np.isfinite(a)], [2.5, 97.5]))
            for k, a in (("pearson", r), ("spearman", rho))}


@pytest.mark.parametrize("n", [7, 60, 1500])
def test_bootstrap_identical_to_the_rankdata_reference(n):
    rng = np.random.default_rng(n)
    x = np.round(rng.normal(size=n), 1)  # many ties
    y = x + rng.normal(size=n)
    got = bootstrap_ci(x, y, n_boot=700, seed=11)
    ref = _reference_bootstrap(x, y, 700, 11)
    for name in ("pearson", "spearman"):
        np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=1e-12)


def test_resample_counts_shared_and_from_the_seeded_index_matrix():
    from geo_ms.models.correlation import resample_counts

    idx = np.random.default_rng(0).integers(0, 7, size=(50, 7))
    shared = resample_counts(7, 50, 0)
    assert shared is resample_counts(7, 50, 0)  # one matrix per (n, n_boot, seed)
    np.testing.assert_array_equal(shared, [np.bincount(row, minlength=7) for row in idx])
    assert not shared.flags.writeable


def test_constant_resamples_are_ignored():
    # x = (0.3, 0.8, 0.3): a resample of points 0 and 2 only is constant in x. The
    # per-array formula gives r = +-1 there (the mean of three 0.3 is not 0.3 in
    # floating point); it must be ignored, leaving r = 1 or the one non-trivial value
    x = np.array([0.3, 0.8, 0.3])
    y = np.array([-1.0, 1.7, 0.75])
    lo, hi = bootstrap_ci(x, y, n_boot=500, seed=3)["pearson"]
    r_all = stats.pearsonr(x, y).statistic
    assert r_all - 1e-12 <= lo <= hi <= 1 + 1e-12


def test_bootstrap_threads_give_the_same_intervals(monkeypatch):
    """Threads take disjoint ranges of resamples; each resample is computed alone."""
    from geo_ms.models import correlation

    rng = np.random.default_rng(4)
    x = np.round(rng.normal(size=300), 1)
    y = x + rng.normal(size=300)
    monkeypatch.setattr(correlation, "_N_THREADS", 1)
    one = bootstrap_ci(x, y, n_boot=401, seed=9)
    monkeypatch.setattr(correlation, "_N_THREADS", 3)
    monkeypatch.setattr(correlation, "_THREAD_MIN_CELLS", 0)
    assert bootstrap_ci(x, y, n_boot=401, seed=9) == one
