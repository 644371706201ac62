"""One call in a forked worker process (geo_ms.pipeline.background): the models stage
fits the models table there while it runs the plan."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from geo_ms import models
from geo_ms.errors import SchemaError
from geo_ms.pipeline import background
from geo_ms.pipeline.background import Background

needs_two_cores = pytest.mark.skipif(
    background.cores() < 2 or not hasattr(os, "fork"),
    reason="the worker is forked only with fork and two or more cores")


def _fail(message: str) -> None:
    raise SchemaError(message, hint="fix it like this")


@needs_two_cores
def test_the_call_runs_in_another_process() -> None:
    with Background(os.getpid) as job:
        assert job.result() != os.getpid()


def test_one_core_runs_the_call_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "cores", lambda: 1)
    with Background(os.getpid) as job:
        assert job.result() == os.getpid()


@pytest.mark.parametrize("cores", [1, 2])
def test_an_error_comes_back_with_its_message_and_hint(
        monkeypatch: pytest.MonkeyPatch, cores: int) -> None:
    monkeypatch.setattr(background, "cores", lambda: cores)
    with (Background(_fail, "table.csv: column 'x' is missing") as job,
          pytest.raises(SchemaError, match=r"^table\.csv: column 'x' is missing$") as err):
        job.result()
    assert err.value.hint == "fix it like this"


@needs_two_cores
def test_a_local_function_needs_no_pickling() -> None:
    """The worker inherits the call (a closure cannot be pickled)."""
    offset = 40

    def add(x: int) -> int:
        return x + offset

    with Background(add, 2) as job:
        assert job.result() == 42


@needs_two_cores
def test_fit_all_in_the_worker_equals_fit_all_here() -> None:
    rng = np.random.default_rng(7)
    n = 80
    lat = rng.uniform(-60, 65, n)
    d = pd.DataFrame({"region_id": [f"R{i}" for i in range(n)], "lon": rng.uniform(-170, 170, n),
                      "lat": lat, "abs_latitude": np.abs(lat),
                      "gdp_per_capita": np.exp(rng.normal(9, 1, n)),
                      "continent": np.where(lat > 30, "Europe", "Africa"),
                      "cloud_cover_pct": 50 + 0.3 * lat + rng.normal(0, 8, n)})
    d["prevalence_per_100k"] = np.exp(3 + 0.02 * np.abs(lat) + rng.normal(0, 0.3, n))
    cfg = {"models": {"n_boot": 200, "permutations": 99, "fixed_effects": None}}
    here = models.fit_all(d, cfg, exposures=["cloud_cover_pct"])
    with Background(models.fit_all, d, cfg, exposures=["cloud_cover_pct"]) as job:
        there = job.result()
    assert len(here) > 10
    pd.testing.assert_frame_equal(there, here, check_exact=True)


@needs_two_cores
def test_an_error_here_stops_the_worker() -> None:
    """Leaving the block with an error terminates the worker instead of waiting for it."""
    import time

    with pytest.raises(SchemaError, match="^plan failed$"), Background(time.sleep, 600) as job:
        _fail("plan failed")
    assert not job._proc.is_alive()
    assert job._proc.exitcode == -15  # SIGTERM: stopped, not finished


@needs_two_cores
def test_an_unexpected_exception_in_the_worker_is_raised_here() -> None:
    with Background(int, "not a number") as job, \
            pytest.raises(ValueError, match="invalid literal for int"):
        job.result()


@needs_two_cores
def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with Background(os._exit, 3) as job, \
            pytest.raises(RuntimeError, match=r"the worker died \(exit code 3\)"):
        job.result()
