"""``geo-ms data``: list, fetch and verify the catalog's datasets.

- ``geo-ms data list [--kind K]`` -- id, kind, title, licence and status of each dataset;
- ``geo-ms data info ID`` -- one dataset's citation, notes and files;
- ``geo-ms data fetch ID... | --all`` -- get and verify files (package, cache, mirror,
  download). With ``--all``, files that are neither in the mirror nor reachable are
  listed as missing with where to get them (exit 0); any file that fails verification
  makes the exit status 1. An explicitly named dataset that cannot be fetched is an
  error (exit 2);
- ``geo-ms data verify [ID...]`` -- re-hash cached, mirror and package files against
  the catalog and the lock file (exit 1 on a mismatch).
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from geo_ms.errors import ChecksumError, ConfigError, DownloadError
from geo_ms.ingest import fetch as _fetch
from geo_ms.ingest.catalog import KINDS, Dataset, get_dataset, list_datasets

__all__ = ["data_app"]

data_app = typer.Typer(
    name="data",
    help="List, fetch and verify the public datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=max(console.width, 160))
    return console


@data_app.command("list")
def list_command(
    kind: str | None = typer.Option(
        None, "--kind", "-k", help=f"Only datasets of this kind ({', '.join(KINDS)})."
    ),
) -> None:
    """Show every dataset with its kind, licence and where its files are."""
    console = _console()
    table = Table(title="geo_ms datasets", show_lines=False)
    table.add_column("id", no_wrap=True, style="bold")
    table.add_column("kind", no_wrap=True)
    table.add_column("title", overflow="fold")
    table.add_column("licence", overflow="fold")
    table.add_column("status", no_wrap=True)
    for ds in list_datasets(kind):
        table.add_row(ds.id, ds.kind, ds.title, ds.licence, _fetch.status(ds))
    console.print(table)
    mirror = _fetch.mirror_dir()
    console.print(
        f"cache: {_fetch.cache_dir()}    mirror: {mirror if mirror else 'unset (GEO_MS_DATA_MIRROR)'}"
    )


@data_app.command("info")
def info_command(dataset_id: str = typer.Argument(..., help="Dataset id.")) -> None:
    """Show one dataset's licence, citation, notes and files."""
    ds = get_dataset(dataset_id)
    console = _console()
    console.print(f"[bold]{ds.id}[/] - {ds.title}")
    for label, value in (
        ("kind", ds.kind),
        ("format", ds.format),
        ("reader", ds.reader),
        ("licence", ds.licence),
        ("citation", ds.citation),
        ("homepage", ds.homepage or ""),
        ("package", ds.package or ""),
        ("notes", ds.notes),
    ):
        if value:
            console.print(f"  {label}: {value}", markup=False)
    statuses = _fetch.file_statuses(ds)
    for spec in ds.files:
        console.print(f"  file {spec.name} [{statuses[spec.name]}]", markup=False)
        if spec.url:
            console.print(f"    url: {spec.url}", markup=False)
        if spec.mirror_path:
            enc = f" ({spec.mirror_encoding})" if spec.mirror_encoding else ""
            console.print(f"    mirror: {spec.mirror_path}{enc}", markup=False)


def _fetch_one(ds: Dataset, name: str, download: bool, console: Console) -> tuple[str, str]:
    """Fetch one file; return (outcome, detail) with outcome ok/missing/failed."""
    route = _fetch.file_status(ds, name)
    url = ds.file(name).url
    if route == "missing" and download and url:
        console.print(f"download {ds.id}/{name} from {url}", markup=False)
    try:
        path = _fetch.fetch_file(ds, name, download=download)
    except ChecksumError as exc:
        return "failed", f"{exc.message} -- {exc.hint}"
    except DownloadError as exc:
        return "missing", exc.hint or exc.message
    source = {"missing": "downloaded", "in mirror": "mirror"}.get(route, route)
    return "ok", f"{source}: {path}"


@data_app.command("fetch")
def fetch_command(
    dataset_ids: list[str] | None = typer.Argument(None, help="Dataset ids to fetch."),
    all_: bool = typer.Option(False, "--all", help="Fetch every dataset of the catalog."),
    offline: bool = typer.Option(
        False, "--offline", help="Never download; package/cache/mirror only."
    ),
) -> None:
    """Get and verify dataset files (package, cache, mirror, then download)."""
    ids = list(dataset_ids or [])
    if not ids and not all_:
        raise ConfigError(
            "geo-ms data fetch: no dataset given",
            hint="Name dataset ids (see 'geo-ms data list') or pass --all.",
        )
    console = _console()
    if not all_:
        for dataset_id in ids:
            ds = get_dataset(dataset_id)
            if not offline:
                for spec in ds.files:
                    if spec.url and _fetch.file_status(ds, spec.name) == "missing":
                        console.print(f"download {ds.id}/{spec.name} from {spec.url}", markup=False)
            paths = _fetch.fetch(ds, download=not offline)
            for name, path in paths.items():
                console.print(f"ok       {ds.id}/{name}: {path}", markup=False)
        return

    datasets = list_datasets() if not ids else [get_dataset(i) for i in ids]
    download = not offline and _fetch.network_available()
    if not offline and not download:
        console.print(
            "no network: downloads skipped (files not in the mirror are listed as missing)"
        )
    counts = {"ok": 0, "missing": 0, "failed": 0, "user-supplied": 0}
    for ds in datasets:
        for spec in ds.files:
            outcome, detail = _fetch_one(ds, spec.name, download, console)
            if outcome == "missing" and ds.user_supplied:
                outcome = "user-supplied"
            counts[outcome] += 1
            label = {"ok": "ok", "missing": "missing", "failed": "FAILED"}.get(outcome, "user")
            console.print(f"{label:<8} {ds.id}/{spec.name}: {detail}", markup=False)
    console.print(
        f"{counts['ok']} ok, {counts['missing']} missing, {counts['user-supplied']} "
        f"user-supplied, {counts['failed']} failed verification",
        markup=False,
    )
    if counts["failed"]:
        # SystemExit, not typer.Exit: cli.main runs click with standalone_mode=False, which
        # turns typer.Exit into a return value that main() does not pass on
        raise SystemExit(1)


@data_app.command("verify")
def verify_command(
    dataset_ids: list[str] | None = typer.Argument(None, help="Dataset ids (default: all)."),
) -> None:
    """Re-hash cached, mirror and package files against the catalog and the lock file."""
    console = _console()
    for dataset_id in dataset_ids or []:
        get_dataset(dataset_id)  # unknown ids fail with close matches
    results = _fetch.verify_all(dataset_ids or None)
    bad = 0
    for r in results:
        if r.expected is None:
            word = "unpinned"
        elif r.ok:
            word = "ok"
        else:
            word = "MISMATCH"
            bad += 1
        line = f"{word:<9} {r.dataset_id}/{r.name} [{r.where}] {r.path}"
        if not r.ok:
            line += f": expected {r.expected}, got {r.actual}"
        console.print(line, markup=False)
    console.print(f"{len(results)} file(s) checked, {bad} mismatch(es)", markup=False)
    if bad:
        # SystemExit, not typer.Exit: cli.main runs click with standalone_mode=False, which
        # turns typer.Exit into a return value that main() does not pass on
        raise SystemExit(1)
