"""Stage cache: each stage is keyed on its inputs and stored under ``.cache/<stage>-<key>``.

A key hashes geo_ms's own code and data files, the configuration sections a stage
reads, the hashes of its data files and the keys of the stages before it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import pandas as pd

from geo_ms import __version__
from geo_ms._io import atomic_path, atomic_write_text

__all__ = ["RunContext", "RunResult", "Stage", "stage_key", "write_csv", "write_dictionary"]


#: Bump to invalidate every cached stage (changes of stage code).
CACHE_VERSION = "1"


@dataclass
class RunContext:
    """State shared by the stages of one run."""

    cfg: dict[str, Any]
    home: Path
    sample: bool = False
    sample_reason: str = ""
    say: Callable[[str], None] = print
    used: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)

    @property
    def processed(self) -> Path:
        return self.home / self.cfg["run"]["processed_dir"]

    @property
    def reports(self) -> Path:
        return self.home / self.cfg["run"]["reports_dir"]

    @property
    def cache(self) -> Path:
        return self.processed / ".cache"


@dataclass
class RunResult:
    """What a run produced."""

    report_dir: Path
    files: dict[str, Path]
    sample: bool
    claims: pd.DataFrame
    timings: dict[str, float]
    cached: dict[str, bool]


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """Hash of geo_ms's own source and data files: code is an input of every stage."""
    root = Path(__file__).parent.parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".toml", ".csv", ".geojson", ".j2"):
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def stage_key(*parts: Any) -> str:
    blob = json.dumps([CACHE_VERSION, __version__, code_hash(), *parts], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Stage:
    """A cached stage: ``with Stage(ctx, name, key) as st: if not st.hit: ...``."""

    def __init__(self, ctx: RunContext, name: str, key: str) -> None:
        self.ctx, self.name, self.key = ctx, name, key
        self.dir = ctx.cache / f"{name}-{key}"
        self.hit = (self.dir / "_done").exists()
        self._t0 = 0.0

    def path(self, filename: str) -> Path:
        return self.dir / filename

    def __enter__(self) -> Self:
        self._t0 = time.perf_counter()
        state = "cached" if self.hit else "running"
        self.ctx.say(f"[stage] {self.name}: {state} (key {self.key})")
        if not self.hit:
            self.dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None and not self.hit:
            (self.dir / "_done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        elif exc_type is not None and not self.hit:  # leave no half-filled stage behind
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
        self.ctx.timings[self.name] = round(time.perf_counter() - self._t0, 3)
        self.ctx.cached[self.name] = self.hit


def write_csv(df: pd.DataFrame, path: Path, index: bool = False) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)
    return path


def write_dictionary(columns: list[str], path: Path, title: str, *,
                     population_weights: str | None = None) -> Path:
    from geo_ms.exposures.aggregate import data_dictionary

    dd = data_dictionary(columns, population_weights=population_weights)
    lines = [f"# {title}: data dictionary", "", "| column | unit | source | method |",
             "|---|---|---|---|"]
    lines += [f"| `{r.column}` | {r.unit} | {r.source} | {r.method} |" for r in dd.itertuples()]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
