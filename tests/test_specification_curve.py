"""Specification curve: specifications from the models table, sorting, shares, figure."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from geo_ms.errors import SchemaError
from geo_ms.models.speccurve import (
    CURVE_COLUMNS,
    curve_from_models,
    curve_summary,
    exposure_dimensions,
    specification_curve,
    specifications,
    summaries,
)
from geo_ms.report.figures import specification_curve as figmod


@pytest.mark.parametrize("name, expected", [
    ("cloud_cover_pct", ("cloud_cover_pct", "annual", "area", "whole country")),
    ("cloud_cover_pct_winter", ("cloud_cover_pct", "winter", "area", "whole country")),
    ("cloudiness_sunshine_pct_m07_popw", ("cloudiness_sunshine_pct", "m07", "population",
                                          "whole country")),
    ("cloud_cover_pct_mainterr", ("cloud_cover_pct", "annual", "area", "main territory")),
    ("cloud_fraction_modis_pct_summer_popw", ("cloud_fraction_modis_pct", "summer",
                                              "population", "whole country")),
])
def test_exposure_dimensions(name, expected):
    d = exposure_dimensions(name)
    assert (d["product"], d["window"], d["weights"], d["territory"]) == expected


def _models() -> pd.DataFrame:
    rows = [
        # model, subset, exposure, outcome, estimate, lo, hi
        ("pearson", "all", "cloud_cover_pct", "log_prevalence", -0.12, -0.26, 0.02),
        ("pearson", "all", "cloud_cover_pct_popw", "log_prevalence", -0.30, -0.42, -0.17),
        ("partial_lat_gdp", "all", "cloud_fraction_modis_pct", "log_ms_atlas2020", 0.25,
         0.06, 0.42),
        ("pearson", "europe", "cloud_cover_pct", "log_prevalence", 0.4, 0.1, 0.6),  # subset
        ("pearson", "all", "uv_index", "log_prevalence", -0.5, -0.6, -0.4),          # not cloud
        ("spearman", "all", "cloud_cover_pct", "log_prevalence", -0.1, -0.2, 0.0),   # not C1's
        ("ols_adj_lat_gdp", "all", "cloud_cover_pct", "log_prevalence", -0.015, -0.02, -0.01),
        ("ols", "all", "cloud_cover_pct_winter", "log_prevalence", 0.01, -0.002, 0.022),
        ("ols_adj_lat_gdp_fe", "all", "cloud_cover_pct", "log_prevalence", np.nan, np.nan,
         np.nan),
    ]
    return pd.DataFrame(rows, columns=["model", "subset", "exposure", "outcome", "estimate",
                                       "ci_low", "ci_high"])


def test_specifications_pick_the_claims_estimands():
    c1 = specifications(_models(), "C1")
    assert c1["estimate"].tolist() == [-0.12, -0.30, 0.25]
    assert c1["adjustment"].tolist() == ["none", "none", "|latitude| + log GDP"]
    assert c1["outcome"].tolist()[2] == "log_ms_atlas2020"
    c3 = specifications(_models(), "C3")
    assert len(c3) == 3
    # coefficients per point of cloud → % per 10 points: 100 (e^{10 b} - 1), by hand
    assert c3["estimate"].iloc[0] == pytest.approx(100 * (math.exp(-0.15) - 1))
    assert c3["ci_high"].iloc[1] == pytest.approx(100 * (math.exp(0.22) - 1))
    assert c3["window"].iloc[1] == "winter" and c3["adjustment"].iloc[1] == "none"
    with pytest.raises(SchemaError, match="no estimands for claim 'C2'"):
        specifications(_models(), "C2")
    with pytest.raises(SchemaError, match=r"models table: missing column\(s\) ci_low"):
        specifications(_models().drop(columns="ci_low"), "C1")


def test_curve_sorted_ranked_and_significance_by_hand():
    specs = pd.concat([specifications(_models(), "C1"), specifications(_models(), "C3")])
    curve = specification_curve(specs)
    c1 = curve[curve["claim_id"] == "C1"]
    assert c1["estimate"].tolist() == [-0.30, -0.12, 0.25]
    assert c1["rank"].tolist() == [1, 2, 3]
    assert c1["significance"].tolist() == ["negative", "not significant", "positive"]
    c3 = curve[curve["claim_id"] == "C3"]
    assert c3["rank"].tolist() == [1, 2]  # the NaN row is dropped
    assert c3["significance"].tolist() == ["negative", "not significant"]


def test_curve_from_models_is_both_claims_in_the_csv_columns():
    curve = curve_from_models(_models())
    assert list(curve.columns) == list(CURVE_COLUMNS)
    assert curve.groupby("claim_id")["rank"].max().to_dict() == {"C1": 3, "C3": 2}


def test_summary_shares_by_hand():
    est = [-3.0, -2.0, -1.0, 0.5, 2.0]
    lo = [-4.0, -2.5, -2.0, -0.5, 1.0]
    hi = [-2.0, -1.5, 0.5, 1.5, 3.0]
    curve = specification_curve(pd.DataFrame({"claim_id": "C3", "estimate": est,
                                              "ci_low": lo, "ci_high": hi}))
    s = curve_summary(curve)
    assert (s["n"], s["positive"], s["negative"]) == (5, 0.4, 0.6)
    assert (s["sig_positive"], s["sig_negative"]) == (0.2, 0.4)
    assert (s["min"], s["median"], s["max"]) == (-3.0, -1.0, 2.0)
    assert summaries(curve)["C3"] == s
    empty = curve_summary(curve.iloc[:0])
    assert empty["n"] == 0 and math.isnan(empty["positive"])
    assert figmod.curve_sentence("C3", s) == (
        "Across 5 exploratory specifications of C3, 40% of the estimates are positive (20% "
        "with a CI excluding 0) and 60% negative (40% with a CI excluding 0).")


def _bigger_curve() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for cid, model, scale in (("C1", "pearson", 0.2), ("C1", "partial_lat", 0.2),
                              ("C3", "ols_adj_lat_gdp", 0.01), ("C3", "ols", 0.01)):
        for exp in ("cloud_cover_pct", "cloud_cover_pct_winter", "cloud_cover_pct_popw",
                    "cloud_fraction_modis_pct", "cloudiness_sunshine_pct_mainterr"):
            for out in ("log_prevalence", "log_ms_atlas2020", "log_prevalence_allages"):
                e = rng.normal(-scale / 2, scale)
                rows.append((model, "all", exp, out, e, e - scale / 2, e + scale / 2))
    m = pd.DataFrame(rows, columns=["model", "subset", "exposure", "outcome", "estimate",
                                    "ci_low", "ci_high"])
    return specification_curve(pd.concat([specifications(m, "C1"), specifications(m, "C3")]))


def test_figure_written_with_caption_and_no_overlapping_labels(tmp_path, monkeypatch):
    figs = []
    real_save = figmod.save

    def keep(fig, *a, **k):
        figs.append(fig)
        return real_save(fig, *a, **k)

    monkeypatch.setattr(figmod, "save", keep)
    curve = _bigger_curve()
    paths = figmod.specification_curve_figure(
        curve, tmp_path, {"sources": [{"title": "GBD 2016", "licence": "IHME"}]},
        formats=("png", "svg"))
    assert [p.name for p in paths] == ["specification_curve.png", "specification_curve.svg"]
    with Image.open(paths[0]) as img:
        assert img.info["Title"] == "Specification curve of C1 and C3"
        assert "not independent tests" in img.info["Description"]
    svg = paths[1].read_text()
    for text in ("Atlas of MS 2020, crude prevalence", "population-weighted", "main territory",
                 "Cloud fraction, MODIS", "Sources: GBD 2016", "Adjusted for"):
        assert text in svg, text
    fig = figs[0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
        boxes.sort(key=lambda b: b.y0)
        for a, b in itertools.pairwise(boxes):
            assert a.y1 <= b.y0 + 0.5, "y tick labels overlap"
        # tick labels stay inside the figure
        assert all(b.x0 >= 0 for b in boxes)
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 2 and all(t.x1 <= fig.bbox.x1 for t in titles)
    # the second claim's title clears the first claim's x label
    first_xlabel = fig.axes[1].xaxis.label.get_window_extent(renderer)
    second_title = min(titles, key=lambda t: t.y0)
    assert second_title.y1 < first_xlabel.y0 - 2, "claims' panels overlap"
    # the caption sits below the last panel's x tick labels and x label, not on them,
    # also when a full run's many sources make it long
    figs.clear()
    many = [{"title": f"Source number {i} with a long descriptive title, 1961-1990",
             "licence": "CC-BY 4.0"} for i in range(14)]
    figmod.specification_curve_figure(curve, tmp_path, {"sources": many})
    fig = figs[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    caption = fig.texts[0].get_window_extent(renderer)
    last = fig.axes[-1]
    axis_boxes = [last.xaxis.label.get_window_extent(renderer)] + [
        t.get_window_extent(renderer) for t in last.get_xticklabels() if t.get_text()]
    assert caption.y1 < min(b.y0 for b in axis_boxes), "caption overlaps the x axis"


def test_figure_refuses_a_table_without_estimates(tmp_path):
    with pytest.raises(SchemaError, match=r"missing column\(s\) rank, significance"):
        figmod.specification_curve_figure(pd.DataFrame(
            {"claim_id": ["C1"], "estimate": [0.1], "ci_low": [0.0], "ci_high": [0.2]}),
            tmp_path)
    empty = _bigger_curve().assign(estimate=np.nan)
    with pytest.raises(SchemaError, match="no specification has an estimate"):
        figmod.specification_curve_figure(empty, tmp_path)
