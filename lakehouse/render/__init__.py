"""Rendering for people: HTML pages, inline SVG charts, maps and DAG drawings, the QA reports.
Renderers get data (drifts, diffs, nodes, geometries), never the facade."""

from lakehouse.render.dag import dag_svg
from lakehouse.render.html import page
from lakehouse.render.maps import map_svg
from lakehouse.render.qa_reports import diff_report, source_report

__all__ = ["dag_svg", "diff_report", "map_svg", "page", "source_report"]
