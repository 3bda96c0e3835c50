"""The QA report: one self-contained HTML file (styles inline, charts as inline SVG, nothing
fetched) showing a source's drift between versions or the diff between two builds."""

from __future__ import annotations

import json
import math
from typing import Any

from lakehouse.qa.diff import BuildDiff, TableDiff
from lakehouse.qa.drift import SourceDrift
from lakehouse.qa.profile import histograms
from lakehouse.render.charts import paired_bars, paired_histogram, waterfall
from lakehouse.render.html import escape, page, table

MAX_HISTOGRAMS = 6  # flagged (or most changed) columns first
Histograms = dict[str, tuple[float, float, list[int], list[int]]]  # column -> low, high, old, new


def paired_histograms(
    con: Any, old_source: str, new_source: str, bounds: dict[str, tuple[float, float]]
) -> Histograms:
    """Histograms of the same columns in two relations over shared bins."""
    bounds = dict(list(bounds.items())[:MAX_HISTOGRAMS])
    old = histograms(con, old_source, bounds)
    new = histograms(con, new_source, bounds)
    return {c: (low, high, old[c], new[c]) for c, (low, high) in bounds.items()}


def drift_bounds(drift: SourceDrift) -> dict[str, tuple[float, float]]:
    """Shared bins for the columns that are numeric in both versions, flagged ones first."""
    found = {}
    for column in sorted(drift.columns, key=lambda c: not c.flags):
        old, new = column.old, column.new
        if old and new and old.numeric and new.numeric:
            values = [
                v for v in (old.minimum, old.maximum, new.minimum, new.maximum) if v is not None
            ]
            if values and min(values) < max(values):
                found[column.column] = (min(values), max(values))
    return found


def diff_bounds(table_diff: TableDiff) -> dict[str, tuple[float, float]]:
    """Shared bins for the numeric columns, the most changed first."""
    found = {}
    for shift in sorted(table_diff.numeric, key=lambda s: -table_diff.columns.get(s.column, 0)):
        values = [v for v in (shift.old_min, shift.old_max, shift.new_min, shift.new_max)
                  if v is not None and math.isfinite(v)]  # fmt: skip
        if values and min(values) < max(values):
            found[shift.column] = (min(values), max(values))
    return found


def _figure(label: str, value: str) -> str:
    return f"<span class='key-figure'><b>{escape(value)}</b>{escape(label)}</span>"


def _histogram_section(found: Histograms) -> str:
    if not found:
        return ""
    charts = "".join(
        f"<div class='figure'>{paired_histogram(column, low, high, old, new)}</div>"
        for column, (low, high, old, new) in found.items()
    )
    return f"<h2>Distributions of numeric columns</h2><div class='figures'>{charts}</div>"


def source_report(drift: SourceDrift, found: Histograms) -> str:
    """The source QA of one version against another as an HTML page."""
    title = f"Source QA: {drift.dataset} {drift.new_version} against {drift.old_version}"
    keys = drift.keys
    parts = [
        f"<h1>{escape(title)}</h1>",
        "<p class='lead'>What changed in the new version of the source, before any build uses "
        "it.</p>",
        _figure("rows before", f"{drift.old_rows:,}"),
        _figure("rows after", f"{drift.new_rows:,}"),
        _figure("columns added", str(len(drift.added))),
        _figure("columns removed", str(len(drift.removed))),
        _figure("flags", str(len(drift.flags))),
    ]
    if keys:
        parts += [
            _figure("keys added", f"{keys.added:,}"),
            _figure("keys removed", f"{keys.removed:,}"),
        ]
    if drift.flags:
        parts.append("<h2>Flags</h2><ul>" + "".join(
            f"<li class='warn'>{escape(flag)}</li>" for flag in drift.flags) + "</ul>")  # fmt: skip
    parts.append("<h2>Rows</h2><div class='figure'>")
    parts.append(
        waterfall(
            "rows, by key" if keys else "rows",
            drift.old_rows,
            keys.removed if keys else max(drift.old_rows - drift.new_rows, 0),
            keys.added if keys else max(drift.new_rows - drift.old_rows, 0),
            drift.new_rows,
        )
    )
    parts.append("</div>")
    both = [c for c in drift.columns if c.old and c.new]
    labels = [c.column for c in both]
    parts.append("<h2>Columns</h2><div class='figures'><div class='figure'>")
    parts.append(paired_bars("null rate", labels, [c.null_rate_old or 0 for c in both],
                             [c.null_rate_new or 0 for c in both],
                             (drift.old_version, drift.new_version), percent=True))  # fmt: skip
    parts.append("</div><div class='figure'>")
    parts.append(paired_bars("distinct values", labels, [c.old.distinct for c in both],  # type: ignore[union-attr]
                             [c.new.distinct for c in both],  # type: ignore[union-attr]
                             (drift.old_version, drift.new_version)))  # fmt: skip
    parts.append("</div></div>")
    parts.append(_histogram_section(found))
    parts.append("<h2>Column statistics (old → new)</h2>")
    parts.append(table(["column", "null rate", "distinct", "min", "max", "mean", "flags"],
                       [_stat_row(c) for c in drift.columns]))  # fmt: skip
    moved = [c for c in drift.columns if c.top]
    if moved:
        rows = [[escape(c.column), escape(value), f"{old:,}", f"{new:,}", f"{new - old:+,}"]
                for c in moved for value, old, new in c.top]  # fmt: skip
        parts.append("<h2>Most common values</h2>")
        parts.append(table(["column", "value", "rows before", "rows after", "change"], rows))
    if keys and (keys.added_sample or keys.removed_sample):
        parts.append("<h2>Keys added and removed (samples)</h2>")
        parts.append(table(["", "keys"], [
            ["added", escape(json.dumps(keys.added_sample, default=str))],
            ["removed", escape(json.dumps(keys.removed_sample, default=str))]]))  # fmt: skip
    return page(title, "".join(parts))


def _stat_row(column: Any) -> list[str]:
    old, new = column.old, column.new

    def pair(attribute: str, fmt: str = "{:,.6g}") -> str:
        a = getattr(old, attribute, None) if old else None
        b = getattr(new, attribute, None) if new else None
        shown = ["-" if v is None else fmt.format(v) for v in (a, b)]
        return escape(shown[0] if shown[0] == shown[1] else f"{shown[0]} → {shown[1]}")

    rate = ["-" if v is None else f"{v:.2%}" for v in (column.null_rate_old, column.null_rate_new)]
    name = column.column + ("" if old and new else " (added)" if new else " (removed)")
    return [escape(name), escape(rate[0] if rate[0] == rate[1] else f"{rate[0]} → {rate[1]}"),
            pair("distinct", "{:,}"), pair("minimum"), pair("maximum"), pair("mean"),
            escape("; ".join(column.flags))]  # fmt: skip


def _number(value: float | None, sign: bool = False) -> str:
    return "-" if value is None else (f"{value:+,.6g}" if sign else f"{value:,.6g}")


def _geometry_section(t: TableDiff, maps: list[str]) -> str:
    """Each geometry column's change (rows moved beyond its tolerance, how far, the area
    shift, a sample by key) and the maps of what changed."""
    parts = []
    for shift in t.geometry:
        if not shift.changed:
            continue
        units = f" ({shift.crs} units)" if shift.crs else ""
        rule = f"more than {shift.tolerance:g}" if shift.tolerance else "at all (no tolerance)"
        parts += [
            f"<h3>Geometry: <code>{escape(shift.column)}</code></h3>",
            f"<p>Rows whose <code>{escape(shift.column)}</code> moved {escape(rule)}"
            f"{escape(units)}; distances are between the old and new centroids.</p>",
            _figure("rows moved", f"{shift.changed:,}"),
            _figure("moved at most", _number(shift.moved_max)),
            _figure("moved on average", _number(shift.moved_mean)),
            _figure("area shift in all", _number(shift.area_shift, sign=True)),
        ]
        if shift.sample:
            rows = [[escape(", ".join(str(v) for v in move.key)), escape(_number(move.moved)),
                     escape(_number(move.area_shift, sign=True))]
                    for move in shift.sample]  # fmt: skip
            parts.append(table([", ".join(t.key), "centroid moved", "area shift"], rows))
    if maps:
        parts.append("<h3>Map of the changes</h3><div class='figures'>")
        parts += [f"<div class='figure'>{svg}</div>" for svg in maps]
        parts.append("</div>")
    return "".join(parts)


def diff_report(
    diff: BuildDiff, found: dict[str, Histograms], maps: dict[str, list[str]] | None = None
) -> str:
    """A build diff as an HTML page; `maps` are inline SVG maps of each output's geometry
    changes (see `render.maps.diff_map`)."""
    title = f"Build diff: {diff.product} {diff.new} against {diff.old}"
    parts = [f"<h1>{escape(title)}</h1>"]
    if diff.identical:
        parts.append(f"<p class='lead'>{escape(diff.to_text().strip())}</p>")
        return page(title, "".join(parts))
    for t in diff.tables:
        parts.append(f"<h2>{escape(t.table)}</h2>")
        if t.identical:
            parts.append(f"<p>Identical ({t.new_rows:,} rows).</p>")
            continue
        parts += [
            f"<p>Rows matched by <code>{escape(', '.join(t.key))}</code>.</p>",
            _figure("rows before", f"{t.old_rows:,}"), _figure("rows after", f"{t.new_rows:,}"),
            _figure("added", f"{t.added:,}"), _figure("removed", f"{t.removed:,}"),
            _figure("changed", f"{t.changed:,}"),
            "<div class='figures'><div class='figure'>",
            waterfall("rows", t.old_rows, t.removed, t.added, t.new_rows, t.changed),
            "</div>",
        ]  # fmt: skip
        changed = {c: n for c, n in t.columns.items() if n}
        if changed:
            parts.append("<div class='figure'>")
            parts.append(paired_bars("rows changed per column", list(changed),
                                     [0.0] * len(changed), [float(n) for n in changed.values()],
                                     ("", "rows changed")))  # fmt: skip
            parts.append("</div>")
        parts.append("</div>")
        parts.append(_histogram_section(found.get(t.table, {})))
        parts.append(_geometry_section(t, (maps or {}).get(t.table, [])))
        if t.changed_sample:
            rows = [[escape(", ".join(str(r[k]) for k in t.key)),
                     "<br>".join(f"<code>{escape(c)}</code>: {escape(v[0])} → {escape(v[1])}"
                                 for c, v in r.items() if c not in t.key)]
                    for r in t.changed_sample]  # fmt: skip
            parts.append("<h3>Changed rows (sample)</h3>")
            parts.append(table([", ".join(t.key), "old → new"], rows))
        for label, sample in (("Added", t.added_sample), ("Removed", t.removed_sample)):
            if sample:
                parts.append(f"<h3>{label} rows (sample keys)</h3>")
                parts.append(f"<p>{escape(json.dumps(sample, default=str))}</p>")
    return page(title, "".join(parts))
