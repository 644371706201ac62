"""``geo-ms run``, ``geo-ms exposures`` and ``geo-ms readme-verdicts``: the analysis from
the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["register", "verdict_lines"]

#: soft_wrap: never hard-wrap lines (a log piped to a file keeps whole paths and verdicts);
#: a terminal still wraps them visually.
_console = Console(highlight=False, soft_wrap=True)


def _say(msg: str) -> None:
    if msg.startswith("[stage]"):
        _console.print(f"[bold cyan]{escape(msg)}[/]", markup=True)
    elif msg.startswith("!!"):
        _console.print(f"[bold yellow]{escape(msg)}[/]", markup=True)
    else:
        _console.print(msg, markup=False)


def verdict_lines(claims: Any, sample: bool) -> list[str]:
    """One console line per claim; in a sample run each line names its scope.

    >>> import pandas as pd
    >>> c = pd.DataFrame({"claim_id": ["C1"], "verdict": ["supported"], "claim": ["cloud"],
    ...                   "n": [19.0]})
    >>> verdict_lines(c, True)
    ['  C1: supported — cloud [19 European countries, built-in sample; not the full analysis]']
    >>> verdict_lines(c, False)
    ['  C1: supported — cloud']
    >>> c = pd.DataFrame({"claim_id": ["C1", "C1", "C1"], "claim": "cloud",
    ...                   "verdict": ["contradicted", "inconclusive", "inconclusive"],
    ...                   "outcome_id": ["gbd2016_prev", "atlas2020", "atlas2020"],
    ...                   "outcome_kind": ["modelled", "reported", "reported"],
    ...                   "sample": ["all", "all", "common"], "robustness": "fragile", "n": 9})
    >>> verdict_lines(c, False)
    ['  C1: contradicted on gbd2016_prev (modelled); inconclusive on atlas2020 (reported) [fragile] — cloud']
    """
    from geo_ms.report.answer import scope_text

    lines = []
    n = None
    if sample and "n" in claims:
        ns = claims["n"].dropna()
        n = int(ns.max()) if len(ns) else None
    if "sample" in claims and "outcome_id" in claims:
        # claims.csv has one row per claim x outcome x sample: one line per claim, its
        # verdict on each outcome over all regions
        claims = claims.copy()
        keep = claims["sample"].fillna("").astype(str).isin(["all", ""])
        by_claim = {}
        for r in claims[keep].itertuples():
            by_claim.setdefault(r.claim_id, []).append(r)
        for cid, rs in by_claim.items():
            if len(rs) == 1 or str(rs[0].outcome_id) in ("", "nan", "<NA>"):
                parts = str(rs[0].verdict)
            else:
                parts = "; ".join(f"{r.verdict} on {r.outcome_id} ({r.outcome_kind})"
                                  for r in rs)
            rob = str(getattr(rs[0], "robustness", "") or "")
            line = f"  {cid}: {parts}" + (f" [{rob}]" if rob in ("robust", "fragile") else "") \
                + f" — {rs[0].claim}"
            if sample:
                line += f" [{scope_text(n, True)}]"
            lines.append(line)
        return lines
    for r in claims.itertuples():
        line = f"  {r.claim_id}: {r.verdict} — {r.claim}"
        if sample:
            line += f" [{scope_text(n, True)}]"
        lines.append(line)
    return lines


def _overrides(**flags: Any) -> dict[str, Any]:
    mapping = {
        "name": "run.name", "sample": "run.sample", "year": "prevalence.year",
        "age": "prevalence.age", "sex": "prevalence.sex", "regions": "regions.set",
        "regions_file": "regions.file", "id_column": "regions.id_column",
        "main_territory": "regions.main_territory", "scheduler": "compute.scheduler",
        "notebooks": "report.notebooks",
    }
    out = {mapping[k]: v for k, v in flags.items() if k in mapping and v is not None}
    prev = flags.get("prevalence")
    if prev is not None:
        out["prevalence.source"] = "user"
        out["prevalence.file"] = str(prev)
    if flags.get("gbd_results") is not None:
        out["prevalence.source"] = "gbd_results"
        out["prevalence.file"] = str(flags["gbd_results"])
    return out


def register(app: typer.Typer) -> None:
    """Add the ``run``, ``exposures`` and ``readme-verdicts`` commands to *app*."""

    @app.command("run")
    def run_cmd(
        config: Path | None = typer.Option(None, "--config", "-c", help="TOML configuration file."),
        prevalence: Path | None = typer.Option(
            None, "--prevalence", help="Your prevalence table (CSV, docs/prevalence_table.md)."),
        gbd_results: Path | None = typer.Option(
            None, "--gbd-results", help="A GBD Results-tool CSV export."),
        name: str | None = typer.Option(None, "--name", help="Run name (reports/<name>/)."),
        year: int | None = typer.Option(None, "--year", help="GBD year (1990-2016)."),
        age: str | None = typer.Option(None, "--age", help="age_standardised | all_ages"),
        sex: str | None = typer.Option(None, "--sex", help="both | male | female"),
        regions: str | None = typer.Option(None, "--regions", help="countries | admin1 | polygons"),
        regions_file: str | None = typer.Option(None, "--regions-file", help="Polygon file."),
        id_column: str | None = typer.Option(None, "--id-column", help="Id column of the polygons."),
        main_territory: bool | None = typer.Option(
            None, "--main-territory/--whole-territory", help="Countries' main territory only."),
        sample: str | None = typer.Option(None, "--sample", help="auto | always | never"),
        scheduler: str | None = typer.Option(None, "--scheduler", help="dask scheduler address."),
        notebooks: Path | None = typer.Option(
            None, "--notebooks", help="Also execute the notebooks of this folder and write them "
            "as HTML into reports/<run>/notebooks/ (make analysis: notebooks/)."),
    ) -> None:
        """Run the whole analysis: data → exposures → models → maps and report."""
        from geo_ms.config import check_for_run, load_config
        from geo_ms.pipeline.run import run

        cfg = load_config(config, _overrides(
            prevalence=prevalence, gbd_results=gbd_results, name=name, year=year, age=age,
            sex=sex, regions=regions, regions_file=regions_file, id_column=id_column,
            main_territory=main_territory, sample=sample, scheduler=scheduler,
            notebooks=str(notebooks.resolve()) if notebooks is not None else None))
        check_for_run(cfg, str(config) if config is not None else "configuration")
        result = run(cfg, say=_say)
        _console.print()
        _console.print("[bold]Claims[/]", markup=True)
        for line in verdict_lines(result.claims, result.sample):
            _console.print(line, markup=False)
        _console.print(f"\nreport: {result.report_dir / 'report.html'}", markup=False)
        if result.sample:
            _console.print("[bold yellow]This was the BUILT-IN SAMPLE, not the full analysis.[/]",
                           markup=True)

    @app.command("exposures")
    def exposures_cmd(
        config: Path | None = typer.Option(None, "--config", "-c", help="TOML configuration file."),
        sample: str | None = typer.Option(None, "--sample", help="auto | always | never"),
    ) -> None:
        """Compute data/processed/exposures.csv (+ .gpkg and data dictionary) only."""
        from geo_ms.config import load_config
        from geo_ms.pipeline.run import run_exposures

        cfg = load_config(config, _overrides(sample=sample))
        files = run_exposures(cfg, say=_say)
        for p in files.values():
            _console.print(f"wrote {p}", markup=False)

    @app.command("readme-verdicts")
    def readme_verdicts_cmd(
        processed: Path = typer.Option(Path("data/processed"), "--processed",
                                       help="Folder with claims.csv and triangulation.csv."),
        readme: Path = typer.Option(Path("README.md"), "--readme", help="README to update."),
        check: bool = typer.Option(False, "--check",
                                   help="Only check: exit 1 when the README block differs."),
    ) -> None:
        """Write README.md's <!-- verdicts --> block from claims.csv and triangulation.csv."""
        import pandas as pd

        from geo_ms._io import atomic_write_text
        from geo_ms.errors import SchemaError
        from geo_ms.report.readme import replace_block, verdicts_block

        claims_csv = processed / "claims.csv"
        if not claims_csv.exists():
            raise SchemaError(f"{claims_csv}: no claims table",
                              hint="Run 'geo-ms run' first (or pass --processed FOLDER)")
        claims = pd.read_csv(claims_csv)
        if claims.get("outcome", pd.Series(dtype=str)).astype(str).str.contains(
                "built-in sample").any():
            raise SchemaError(f"{claims_csv}: the claims of a built-in sample run, not of the "
                              "full analysis",
                              hint="Run 'GEO_MS_DATA_MIRROR=... geo-ms run' (or with network) "
                              "before writing the README's verdicts")
        tri_csv = processed / "triangulation.csv"
        tri = pd.read_csv(tri_csv) if tri_csv.exists() else None
        block = verdicts_block(claims, tri)
        if not readme.exists():
            raise SchemaError(f"{readme}: README not found", hint="Pass --readme PATH")
        text = readme.read_text(encoding="utf-8")
        new = replace_block(text, block)
        if check:
            if new != text:
                _console.print(f"{readme}: the verdict block differs from {claims_csv}; run "
                               "'geo-ms readme-verdicts' to update it", markup=False)
                raise typer.Exit(1)
            _console.print(f"{readme}: the verdict block matches {claims_csv}", markup=False)
            return
        atomic_write_text(readme, new)
        _console.print(f"wrote the verdict block of {readme}", markup=False)
