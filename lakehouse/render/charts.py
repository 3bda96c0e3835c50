"""Charts as inline SVG (no library, nothing fetched): paired bars (old vs new), paired
histograms, and a row-count waterfall. Every chart is an <svg class="chart"> whose bars are
<rect class="bar old|new|..."> elements, so a test can count what was drawn."""

from __future__ import annotations

from lakehouse.render.html import escape

OLD_COLOUR, NEW_COLOUR = "#9aa0a6", "#1a73e8"
ADDED_COLOUR, REMOVED_COLOUR, CHANGED_COLOUR = "#188038", "#d93025", "#f29900"
FONT = 'font-family="sans-serif" font-size="12"'


def _svg(title: str, width: int, height: int, body: str) -> str:
    return (
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'{FONT} role="img" aria-label="{escape(title)}">'
        f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>{body}</svg>'
    )


def _legend(x: int, y: int, old: str, new: str) -> str:
    """Two swatches; an empty `old` label means a one-series chart."""
    first = (
        f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{OLD_COLOUR}"/>'
        f'<text x="{x + 14}" y="{y}">{escape(old)}</text>'
    )
    shift = 120 if old else 0
    return (first if old else "") + (
        f'<rect x="{x + shift}" y="{y - 9}" width="10" height="10" fill="{NEW_COLOUR}"/>'
        f'<text x="{x + shift + 14}" y="{y}">{escape(new)}</text>'
    )


def paired_bars(
    title: str,
    labels: list[str],
    old: list[float],
    new: list[float],
    legend: tuple[str, str] = ("old", "new"),
    percent: bool = False,
) -> str:
    """Horizontal bars, old above new, one pair per label (a column, usually); with an empty
    old label in `legend`, only the new series."""
    label_width, bar_width, row = 170, 320, 26
    width, height = label_width + bar_width + 110, 40 + row * len(labels)
    top = max([*old, *new, 0]) or 1
    shown = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:,.0f}")
    body = [_legend(label_width, 30, *legend)]
    for i, label in enumerate(labels):
        y = 40 + i * row
        body.append(f'<text x="4" y="{y + 14}">{escape(label[:24])}</text>')
        series = ((old[i], OLD_COLOUR, "old"), (new[i], NEW_COLOUR, "new"))
        for j, (value, colour, css) in enumerate(series if legend[0] else series[1:]):
            length = bar_width * value / top
            body.append(
                f'<rect class="bar {css}" x="{label_width}" y="{y + j * 11}" '
                f'width="{length:.1f}" height="10" fill="{colour}"/>'
            )
            body.append(
                f'<text x="{label_width + length + 4:.1f}" y="{y + j * 11 + 9}" '
                f'font-size="10">{shown(value)}</text>'
            )
    return _svg(title, width, height, "".join(body))


def paired_histogram(title: str, low: float, high: float, old: list[int], new: list[int]) -> str:
    """Two histograms over the same bins: old as grey bars, new as blue outlines."""
    width, height, plot_top, plot_height = 300, 170, 40, 100
    bins = len(old)
    top = max([*old, *new, 1])
    step = (width - 20) / max(bins, 1)
    body = [_legend(10, 30, "old", "new")]
    for i in range(bins):
        x = 10 + i * step
        for value, colour, css, inset in ((old[i], OLD_COLOUR, "old", 0.0),
                                          (new[i], NEW_COLOUR, "new", step * 0.25)):  # fmt: skip
            bar = plot_height * value / top
            fill = f'fill="{colour}"' if css == "old" else f'fill="{colour}" fill-opacity="0.6"'
            y = plot_top + plot_height - bar
            body.append(
                f'<rect class="bar {css}" x="{x + inset:.1f}" y="{y:.1f}" '
                f'width="{step * 0.75:.1f}" height="{bar:.1f}" {fill}/>'
            )
    axis = plot_top + plot_height
    body.append(f'<line x1="10" y1="{axis}" x2="{width - 10}" y2="{axis}" stroke="#5f6368"/>')
    body.append(f'<text x="10" y="{axis + 16}">{low:,.6g}</text>')
    body.append(f'<text x="{width - 10}" y="{axis + 16}" text-anchor="end">{high:,.6g}</text>')
    return _svg(title, width, height, "".join(body))


def waterfall(title: str, old_rows: int, removed: int, added: int, new_rows: int,
              changed: int | None = None) -> str:  # fmt: skip
    """Rows before, minus removed, plus added, rows after (and, aside, the rows changed)."""
    steps = [("before", 0, old_rows, OLD_COLOUR, "total"),
             ("removed", old_rows - removed, old_rows, REMOVED_COLOUR, "removed"),
             ("added", old_rows - removed, old_rows - removed + added, ADDED_COLOUR, "added"),
             ("after", 0, new_rows, NEW_COLOUR, "total")]  # fmt: skip
    if changed is not None:
        steps.append(("changed", 0, changed, CHANGED_COLOUR, "changed"))
    width, height, plot_top, plot_height, column = 120 * len(steps) + 20, 230, 30, 150, 120
    top = max(old_rows, new_rows, old_rows - removed + added, 1)
    body = []
    for i, (label, start, end, colour, css) in enumerate(steps):
        x = 20 + i * column
        y_top = plot_top + plot_height * (1 - end / top)
        bar = max(plot_height * (end - start) / top, 3.0)  # a small change stays visible
        body.append(
            f'<rect class="bar {css}" x="{x}" y="{y_top:.1f}" width="{column - 30}" '
            f'height="{bar:.1f}" fill="{colour}"/>'
        )
        amount = {"removed": -removed, "added": added}.get(label)
        figure = f"{amount:+,}" if amount is not None else f"{end - start:,}"
        body.append(f'<text x="{x}" y="{plot_top + plot_height + 18}">{escape(label)}</text>')
        body.append(f'<text x="{x}" y="{plot_top + plot_height + 34}">{figure}</text>')
    return _svg(title, width, height, "".join(body))
