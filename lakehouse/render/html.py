"""Self-contained HTML pages (styles inline, no scripts, nothing fetched): the shell, escaping
and tables shared by the docs site and the QA reports."""

from __future__ import annotations

import html
from typing import Any

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem;
       color: #202124; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #dadce0; }
.lead { color: #5f6368; margin-top: 0; }
.table-scroll { max-width: 100%; overflow-x: auto; margin: .6rem 0 1rem; }
table { border-collapse: collapse; font-size: .92rem; }
th, td { border: 1px solid #dadce0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; min-width: 3.5rem; }
td:first-child { overflow-wrap: break-word; }  /* names stay whole; the row scrolls */
th { background: #f1f3f4; }
code { background: #f1f3f4; padding: 0 .2rem; border-radius: 3px; }
.pass { color: #137333; } .fail { color: #c5221f; font-weight: bold; } .warn { color: #b06000; }
.status-passed { color: #137333; } .status-failed { color: #c5221f; font-weight: bold; }
nav { margin-bottom: 1rem; } .lineage { max-width: 100%; height: auto; }
.figure { overflow-x: auto; border: 1px solid #dadce0; padding: .5rem; border-radius: 6px; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
.key-figure { display: inline-block; margin: 0 1.5rem .5rem 0; }
.key-figure b { display: block; font-size: 1.6rem; }
"""


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def page(title: str, body: str, nav: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"{nav}{body}</body></html>\n"
    )


def table(headers: list[str], rows: list[list[str]]) -> str:
    """An HTML table; cells are already escaped HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    # wide tables scroll in their own box rather than spill past the page's right edge
    return (
        f"<div class='table-scroll'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )
