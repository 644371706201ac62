"""The analysis report: self-contained HTML and Markdown, and an offline interactive map.

:func:`render_report` writes ``report.html`` and ``report.md`` from the tables, the
figures of :mod:`geo_ms.report.figures` and the run metadata; :func:`interactive_map`
writes a single-file Leaflet map that works without network access.
"""

from __future__ import annotations

from geo_ms.report.interactive import interactive_map
from geo_ms.report.render import render_report

__all__ = ["interactive_map", "render_report"]
