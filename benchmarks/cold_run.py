"""The ``cold_run`` benchmark group: the default ``geo-ms run`` from an empty stage cache.

Issue 19's first target: with the data mirror present and the venv installed, a cold
``geo-ms run`` (no ``data/processed/.cache/``, no report) takes ≤ 30 s on this machine,
its models stage ≤ 10 s and its report stage (the figure inputs included) ≤ 10 s.

The group works in its own project folder (``benchmarks/.cache/cold_run``, given to
geo_ms as ``GEO_MS_HOME``): one untimed warm-up run copies the mirrored files into its
``data/raw/``; then each of :data:`REPEATS` runs deletes ``data/processed/.cache`` and
``reports/`` and times ``python -m geo_ms.cli run`` in a fresh process. The record
holds the median wall seconds and, per stage, the median of the stage seconds that the
run writes to ``run.log``, each run's figures and load, and the peak resident memory
of the largest process (``ru_maxrss`` of the waited-for children).

``results/cold_run_before.json`` holds the same measurement taken by hand on the
commit before issue 19's speed work (the command and machine state are in the file);
the README shows both side by side.
"""

from __future__ import annotations

import ast
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["REPEATS", "TARGETS", "group_cold_run", "readme_lines", "stage_seconds"]

HERE = Path(__file__).resolve().parent
#: Timed cold runs (the median is the record).
REPEATS = 3
#: Targets of issue 19, seconds: the whole run, the models stage, the report stage.
TARGETS = {"total": 30.0, "models": 10.0, "report": 10.0}
BEFORE = HERE / "results" / "cold_run_before.json"

_STAGES = re.compile(r"stage seconds: (\{.*\})\s*$", re.MULTILINE)


def stage_seconds(log: str) -> dict[str, float]:
    """The stage seconds of the last ``stage seconds: {...}`` line of a ``run.log``.

    >>> stage_seconds("12:00:01 stage seconds: {'regions': 1.2, 'models': 4.0}\\n")
    {'regions': 1.2, 'models': 4.0}
    """
    found = _STAGES.findall(log)
    if not found:
        raise RuntimeError("run.log has no 'stage seconds:' line")
    return {str(k): float(v) for k, v in ast.literal_eval(found[-1]).items()}


def _one_run(home: Path, env: dict[str, str], name: str) -> dict[str, Any]:
    for p in (home / "data" / "processed" / ".cache", home / "reports"):
        shutil.rmtree(p, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "geo_ms.cli", "run", "--name", name],
                          cwd=home, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"geo-ms run failed ({proc.returncode}): {proc.stderr[-500:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": round(seconds, 2),
            "stage_seconds": stage_seconds((home / "reports" / name / "run.log").read_text()),
            "peak_rss_mb": round(max(peak, before) / 1024, 1),
            "load_avg_1min": round(os.getloadavg()[0], 2)}


def group_cold_run(repeats: int = REPEATS) -> list[dict[str, Any]]:
    """The cold default run, *repeats* times after one warm-up; one record (medians)."""
    if not os.environ.get("GEO_MS_DATA_MIRROR"):
        raise RuntimeError("the cold_run group needs GEO_MS_DATA_MIRROR (the data mirror)")
    home = HERE / ".cache" / "cold_run"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GEO_MS_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    _one_run(home, env, "warmup")  # copies the mirrored files into data/raw (untimed)
    runs = [_one_run(home, env, f"cold{i}") for i in range(repeats)]
    names = list(dict.fromkeys(k for r in runs for k in r["stage_seconds"]))
    stages = {k: round(statistics.median(r["stage_seconds"].get(k, 0.0) for r in runs), 3)
              for k in names}
    seconds = statistics.median(r["seconds"] for r in runs)
    met = (seconds <= TARGETS["total"] and stages.get("models", 0) <= TARGETS["models"]
           and stages.get("report", 0) <= TARGETS["report"])
    return [{"name": "cold_run_default", "mode": "geo-ms run", "seconds": seconds,
             "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "baseline_seconds": None,
             "ratio": None, "max_rel_diff": None, "stage_seconds": stages, "runs": runs,
             "target": "total <= 30 s, models <= 10 s, report <= 10 s", "target_met": met,
             "load_avg_1min": runs[-1]["load_avg_1min"]}]


def readme_lines(records: list[dict[str, Any]]) -> list[str]:
    """The README section: the cold run's stage seconds before and after issue 19.

    >>> rec = {"name": "cold_run_default", "seconds": 23.3, "peak_rss_mb": 990.0,
    ...        "stage_seconds": {"models": 4.1, "report": 7.8},
    ...        "runs": [{"seconds": 23.3, "load_avg_1min": 1.2}]}
    >>> lines = readme_lines([rec])
    >>> [ln for ln in lines if ln.startswith("| models")]
    ['| models | 9.239 | 4.1 |']
    """
    recs = [r for r in records if r.get("name") == "cold_run_default"]
    if not recs:
        return []
    after = recs[-1]
    before = json.loads(BEFORE.read_text(encoding="utf-8"))
    b_stages = before["median_stage_seconds"]
    a_stages = after["stage_seconds"]
    names = list(dict.fromkeys([*b_stages, *a_stages]))
    lines = ["## Cold `geo-ms run`, before and after", "",
             ("The default analysis with the mirror, from an empty `data/processed/.cache/` "
              "and no report, in a fresh process (`benchmarks/cold_run.py`): median of "
              f"{len(after.get('runs', []))} runs after an untimed warm-up. Before: "
              f"{before['commit']}, {before['measured']}, {before['how']}"), "",
             "| stage | before (s) | after (s) |", "|---|---:|---:|"]
    for k in names:
        b = b_stages.get(k)
        lines.append(f"| {k} | {'–' if b is None else b} | {a_stages.get(k, '–')} |")
    lines.append(f"| **whole run (wall)** | **{before['median_seconds']}** "
                 f"| **{after['seconds']}** |")
    loads = ", ".join(str(r.get("load_avg_1min")) for r in after.get("runs", []))
    lines += ["", f"- Before: {before['note']}",
              (f"- After: runs {', '.join(str(r['seconds']) for r in after.get('runs', []))} "
               f"s; load after each: {loads}; peak RSS {after.get('peak_rss_mb')} MB."),
              ("- Targets (issue 19): whole run ≤ 30 s, models ≤ 10 s, report (with the "
               "figure inputs) ≤ 10 s."), ""]
    return lines
