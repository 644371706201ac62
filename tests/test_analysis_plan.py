"""docs/analysis_plan.md states the default plan's hash, and the changelog has an entry
for it: changing the plan without saying so fails here."""

from __future__ import annotations

import re
from pathlib import Path

from geo_ms.config import load_config
from geo_ms.models.plan import default_plan

DOC = Path(__file__).resolve().parents[1] / "docs" / "analysis_plan.md"


def _sections() -> tuple[str, str]:
    text = DOC.read_text(encoding="utf-8")
    head, _, changelog = text.partition("\n## Changelog\n")
    assert changelog, "docs/analysis_plan.md has no '## Changelog' section"
    return head, changelog


def test_changelog_has_an_entry_with_the_default_plan_hash():
    h = default_plan().hash
    _, changelog = _sections()
    entries = re.findall(r"^- \*\*(\d{4}-\d{2}-\d{2})\*\* — hash `([0-9a-f]{64})`", changelog,
                         flags=re.MULTILINE)
    assert entries, "no changelog entry of the form '- **YYYY-MM-DD** — hash `<sha256>`'"
    assert h in [e[1] for e in entries], (
        f"the default plan's hash {h} has no changelog entry in docs/analysis_plan.md: "
        "add one saying what changed and why")
    # the newest entry (first) is the current plan
    assert entries[0][1] == h


def test_the_doc_states_the_hash_the_run_records():
    head, _ = _sections()
    h = load_config()["plan"]["hash"]
    assert re.search(r"\*\*Current plan hash\*\*.*?\n\n    ([0-9a-f]{64})\n", head,
                     flags=re.DOTALL).group(1) == h
    assert f"analysis plan {h[:12]} (the default plan)" in head


def test_the_doc_names_every_default_claim_and_member():
    head, _ = _sections()
    plan = default_plan()
    for cid in plan.ids:
        assert f"| {cid} |" in head, cid
    for member in {m for cid in plan.ids for m in plan.members(cid)}:
        assert f"`{member}`" in head, member
