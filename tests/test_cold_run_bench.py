"""The ``cold_run`` benchmark group: its log parsing, its before record and its README rows."""

from __future__ import annotations

import json
import statistics

import pytest

from benchmarks import cold_run


def test_stage_seconds_reads_the_last_line_of_a_run_log() -> None:
    log = ("13:36:12 versions: geo_ms 0.1.0\n"
           "13:36:12 stage seconds: {'regions': 3.064, 'models': 9.44}\n"
           "13:40:00 stage seconds: {'regions': 1.0, 'exposures_main_territory': 0.5}\n")
    assert cold_run.stage_seconds(log) == {"regions": 1.0, "exposures_main_territory": 0.5}


def test_a_log_without_stage_seconds_is_refused() -> None:
    with pytest.raises(RuntimeError, match="^run.log has no 'stage seconds:' line$"):
        cold_run.stage_seconds("13:36:12 report: reports/x/report.html\n")


def test_the_before_record_is_the_median_of_its_runs() -> None:
    before = json.loads(cold_run.BEFORE.read_text(encoding="utf-8"))
    assert before["median_seconds"] == statistics.median(before["runs_seconds"])
    logged = before["runs_stage_seconds_as_logged"]
    for stage in ("prevalence", "covariates", "models", "figinputs", "report"):
        assert before["median_stage_seconds"][stage] == statistics.median(
            r[stage] for r in logged), stage
    # the old log's "regions"/"exposures" were the main-territory instances
    assert before["median_stage_seconds"]["regions_main_territory"] == statistics.median(
        r["regions"] for r in logged)
    assert before["median_stage_seconds"]["exposures_main_territory"] == statistics.median(
        r["exposures"] for r in logged)


def test_readme_rows_put_before_and_after_side_by_side() -> None:
    rec = {"name": "cold_run_default", "seconds": 23.28, "peak_rss_mb": 1009.5,
           "stage_seconds": {"regions": 1.006, "exposures": 4.615, "models": 4.11,
                             "report": 7.759},
           "runs": [{"seconds": 24.12, "load_avg_1min": 1.0},
                    {"seconds": 23.28, "load_avg_1min": 1.1},
                    {"seconds": 23.24, "load_avg_1min": 1.2}]}
    lines = cold_run.readme_lines([{"name": "other"}, rec])
    rows = {ln.split(" | ")[0].lstrip("| "): ln for ln in lines if ln.startswith("| ")}
    assert rows["exposures"] == "| exposures | ≈13 | 4.615 |"
    assert rows["models"] == "| models | 9.239 | 4.11 |"
    assert rows["figinputs"] == "| figinputs | 1.921 | – |"
    assert rows["**whole run (wall)**"] == "| **whole run (wall)** | **41.55** | **23.28** |"
    assert any(ln.startswith("- After: runs 24.12, 23.28, 23.24 s;") for ln in lines)
    assert cold_run.readme_lines([{"name": "other"}]) == []
