"""The package layout: four stage wings, imports only running down.

ingest → exposures → models → report → pipeline, with ``config`` and the CLI on top
and ``errors``/``_io``/``_jit``/``_parallel`` as the ground floor. A module may import from its own stage or
an earlier one, never a later one (module-level or inside a function).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "geo_ms"

#: Rank of each top-level part of the package; imports must not go to a higher rank.
RANK = {
    "__init__": 0, "errors": 0, "_io": 0, "_jit": 0, "_parallel": 0,
    "ingest": 1,
    "exposures": 2,
    "models": 3,
    "report": 4,
    "pipeline": 5, "config": 5,
    "cli": 6, "_cli_run": 6, "_cli_data": 6,
}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("geo_ms")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "geo_ms":
                out += [(node.lineno, f"geo_ms.{a.name}") for a in node.names]
            elif node.module.startswith("geo_ms."):
                out.append((node.lineno, node.module))
    return out


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_belongs_to_a_stage() -> None:
    unknown = {p.relative_to(ROOT).parts[0].removesuffix(".py") for p in _modules()} - set(RANK)
    assert not unknown, f"modules outside the stage layout: {sorted(unknown)}"


def test_the_five_stage_packages_exist() -> None:
    for pkg in ("ingest", "exposures", "models", "report", "pipeline"):
        assert (ROOT / pkg / "__init__.py").is_file(), pkg


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_from_a_later_stage(path: Path) -> None:
    here = path.relative_to(ROOT).parts[0].removesuffix(".py")
    if here == "__init__":  # the package root re-exports lazily (strings, not imports)
        return
    bad = [f"line {ln}: {mod}" for ln, mod in _imports(path)
           if _part(mod) in RANK and RANK[_part(mod)] > RANK[here]]
    assert not bad, f"{path.relative_to(ROOT)} imports from a later stage: {bad}"


def test_the_contract_catches_an_upward_import(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from geo_ms.report import figures\n")
    assert _imports(f) == [(2, "geo_ms.report")]
    assert RANK[_part("geo_ms.report")] > RANK["exposures"]


def test_public_api_is_importable_from_the_package_root() -> None:
    import geo_ms

    for name in geo_ms.__all__:
        assert getattr(geo_ms, name) is not None, name


def test_pyproject_comments_name_files_that_exist() -> None:
    # each dependency's comment says which files use it; a bare name ("sensitivity.py")
    # is in the folder of the path before it on the same line
    import re

    repo = ROOT.parent
    missing = []
    for line in (repo / "pyproject.toml").read_text().splitlines():
        if "#" not in line or not line.strip().startswith('"'):
            continue
        folder = ""
        for token in re.findall(r"[\w./*-]+\.py\b|[\w/]+/\*", line.split("#", 1)[1]):
            if "/" in token:
                folder = token.rsplit("/", 1)[0]
            elif folder:
                token = f"{folder}/{token}"
            candidates = [repo / token, ROOT / token]
            if not any(list(c.parent.glob(c.name)) for c in candidates):
                missing.append(token)
    assert missing == []
