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
from geo_ms._io import atomic_path, atomic_write_text, sha256_file

__all__ = ["RunContext", "RunResult", "Stage", "input_file_hashes", "spreadsheet_safe",
           "stage_key", "write_csv",
           "write_dictionary"]


#: Bump to invalidate every cached stage (changes of stage code).
CACHE_VERSION = "1"


@dataclass
class RunContext:
    """State shared by the stages of one run.

    *stage_suffix* names a second instance of the stages (``"_main_territory"`` for the
    main-territory sensitivity): its stage seconds and cache hits are recorded as
    ``exposures_main_territory``..., beside the primary ``exposures``, not over them.
    """

    cfg: dict[str, Any]
    home: Path
    sample: bool = False
    sample_reason: str = ""
    say: Callable[[str], None] = print
    used: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)
    builds: list[Path] = field(default_factory=list)  # unpublished report folders
    stage_suffix: str = ""

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


def input_file_hashes(cfg: dict[str, Any], sections: tuple[str, ...]) -> dict[str, list[str]]:
    """The sha256 of the bytes of every user file a stage reads, for its key.

    Every path key of :data:`geo_ms.config.PATH_KEYS` in *sections* (a single path or a
    list of paths) enters the key by its content, not its name or modification time:
    a file overwritten in place gives a new key. A path that is not a regular file
    gives ``""`` (the reader then refuses it with the right message).
    """
    from geo_ms.config import PATH_KEYS

    out: dict[str, list[str]] = {}
    for dotted in PATH_KEYS:
        section, _, key = dotted.partition(".")
        if section not in sections:
            continue
        value = (cfg.get(section) or {}).get(key)
        paths = value if isinstance(value, list) else [value]
        out[dotted] = [sha256_file(p) if Path(p).is_file() else "" for p in paths if p]
    return out


def stage_key(*parts: Any) -> str:
    blob = json.dumps([CACHE_VERSION, __version__, code_hash(), *parts], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Stage:
    """A cached stage: ``with Stage(ctx, name, key) as st: if not st.hit: ...``.

    A finished stage writes ``_done``: the sha256 of each of its files. A stage is a hit
    only when every file is still there with those bytes; a damaged cache (a file cut
    short, edited or removed) is said, deleted and computed again.
    """

    def __init__(self, ctx: RunContext, name: str, key: str) -> None:
        self.ctx, self.name, self.key = ctx, name, key
        self.label = name + ctx.stage_suffix  # how the run log and the timings name it
        self.dir = ctx.cache / f"{name}-{key}"
        self.hit = self._intact()
        self._t0 = 0.0

    def _intact(self) -> bool:
        done = self.dir / "_done"
        if not done.exists():
            return False
        try:
            want = json.loads(done.read_text())["sha256"]
            ok = isinstance(want, dict) and all(
                (self.dir / f).is_file() and sha256_file(self.dir / f) == h
                for f, h in want.items())
        except (ValueError, KeyError, TypeError, OSError):
            ok = False
        if not ok:
            import shutil

            self.ctx.say(f"[stage] {self.label}: cached outputs damaged (they do not match "
                         "their recorded sha256); computing them again")
            shutil.rmtree(self.dir, ignore_errors=True)
        return ok

    def path(self, filename: str) -> Path:
        return self.dir / filename

    def __enter__(self) -> Self:
        self._t0 = time.perf_counter()
        state = "cached" if self.hit else "running"
        self.ctx.say(f"[stage] {self.label}: {state} (key {self.key})")
        if not self.hit:
            self.dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None and not self.hit:
            hashes = {p.name: sha256_file(p) for p in sorted(self.dir.iterdir())
                      if p.is_file() and p.name != "_done"}
            atomic_write_text(self.dir / "_done", json.dumps(
                {"finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "sha256": hashes}))
        elif exc_type is not None and not self.hit:  # leave no half-filled stage behind
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
        # a stage run again under the same label is timed per instance ("x", "x#2", ...)
        label, i = self.label, 1
        while label in self.ctx.timings:
            i += 1
            label = f"{self.label}#{i}"
        self.ctx.timings[label] = round(time.perf_counter() - self._t0, 3)
        self.ctx.cached[self.label] = self.hit


#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with ``'`` (OWASP).

    Only text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
    change; numbers and text that is a number (``-0.5``) stay as they are.

    >>> df = pd.DataFrame({"name": ["=1+2", "@SUM(A1)", "France", "-0.5"],
    ...                    "v": [-1.0, 2.0, 3.0, 4.0]})
    >>> spreadsheet_safe(df)["name"].tolist()
    ["'=1+2", "'@SUM(A1)", 'France', '-0.5']
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object and not pd.api.types.is_string_dtype(out[col]):
            continue
        s = out[col]
        bad = s.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START)
                    and not _is_number(v))
        if bad.any():
            out[col] = s.where(~bad, "'" + s.astype(str))
    if out.index.dtype == object:
        out.index = [("'" + v) if isinstance(v, str) and v.startswith(FORMULA_START)
                     and not _is_number(v) else v for v in out.index]
        out.index.name = df.index.name
    return out


def write_csv(df: pd.DataFrame, path: Path, index: bool = False) -> Path:
    """Write *df* atomically; outputs (outside the stage cache ``.cache/``) go through
    :func:`spreadsheet_safe`, stage-cache files keep the raw text the pipeline reads back."""
    if ".cache" not in Path(path).parts:
        df = spreadsheet_safe(df)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)
    return path


def write_dictionary(columns: list[str], path: Path, title: str,
                     specs: tuple[Any, ...] = (), *,
                     population_weights: str | None = None) -> Path:
    from geo_ms.exposures.aggregate import data_dictionary

    dd = data_dictionary(columns, specs, population_weights=population_weights)
    lines = [f"# {title}: data dictionary", "", "| column | unit | source | method |",
             "|---|---|---|---|"]
    lines += [f"| `{r.column}` | {r.unit} | {r.source} | {r.method} |" for r in dd.itertuples()]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
