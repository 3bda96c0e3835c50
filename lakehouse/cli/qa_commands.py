"""`lake qa` and `lake diff`: what changed in a source between versions, and between builds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.json_output import JSON_HELP
from lakehouse.cli.shell import _console, _json_mode, _open, _run, app

if TYPE_CHECKING:
    from lakehouse.qa.drift import ColumnDrift, SourceDrift

qa_app = typer.Typer(
    help="Quality assurance: what changed in a source between versions.", no_args_is_help=True
)
app.add_typer(qa_app, name="qa")


@qa_app.command("source")
def qa_source(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[
        str, typer.Option("--version", help="The version to check (default: latest).")
    ] = "latest",
    against: Annotated[
        str | None,
        typer.Option("--against", help="The version to compare with (default: the one before)."),
    ] = None,
) -> None:
    """Compare a dataset version with another: schema changes, row count, per column null rate,
    distinct count, min/max/mean, lengths and top values, and keys added or removed (when the
    template names a key). Changes beyond the template's thresholds are flagged."""
    lake = _open()
    print_drift(_run(lambda: lake.source_qa(dataset, version, against)))


def _change(old: object, new: object, fmt: str = "{:,}") -> str:
    if old is None and new is None:
        return ""
    shown_old = "-" if old is None else fmt.format(old)
    shown_new = "-" if new is None else fmt.format(new)
    return shown_old if old == new else f"{shown_old} -> {shown_new}"


def print_drift(drift: SourceDrift) -> None:
    from rich.table import Table

    console = _console()
    lines = drift.to_text().splitlines()
    console.print(f"[bold]{lines[0]}[/bold]")
    for line in lines[1:]:
        console.print(line, style="yellow" if line.startswith("  !") else None, markup=False)
    from lakehouse.qa.diff import sample_line  # (not at start-up: it pulls in DuckDB)

    if drift.keys:
        for line in (sample_line("  keys added", drift.keys.added_sample, drift.keys.added),
                     sample_line("  keys removed", drift.keys.removed_sample,
                                 drift.keys.removed)):  # fmt: skip
            if line:
                console.print(line, markup=False)
    table = Table(title="columns (old -> new)")
    for heading in ("column", "null rate", "distinct", "min", "max", "mean", "length", "flags"):
        table.add_column(heading, overflow="fold")
    for column in drift.columns:
        table.add_row(*_column_cells(column))
    console.print(table)
    moved = [c for c in drift.columns if c.top and any(o != n for _, o, n in c.top)]
    for column in moved:
        shown = ", ".join(f"{value!r} {old:,} -> {new:,}" for value, old, new in column.top)
        console.print(f"top values of {column.column}: {shown}", markup=False)


def _column_cells(column: ColumnDrift) -> list[str]:
    old, new = column.old, column.new
    return [
        column.column + ("" if old and new else " (added)" if new else " (removed)"),
        _change(column.null_rate_old, column.null_rate_new, "{:.2%}"),
        _change(old.distinct if old else None, new.distinct if new else None),
        _change(old.minimum if old else None, new.minimum if new else None, "{:,.6g}"),
        _change(old.maximum if old else None, new.maximum if new else None, "{:,.6g}"),
        _change(old.mean if old else None, new.mean if new else None, "{:,.6g}"),
        _change(
            f"{old.min_length}-{old.max_length}" if old and old.min_length is not None else None,
            f"{new.min_length}-{new.max_length}" if new and new.min_length is not None else None,
            "{}",
        ),
        "; ".join(column.flags),
    ]


@app.command()
def diff(
    product: Annotated[str, typer.Argument(help="Product name.")],
    old: Annotated[
        str | None,
        typer.Argument(
            help="The earlier side: a build id, `latest`, a published version (26v1) or "
            "<product>/<any of these> (default: the latest published version, unless NEW is "
            "its build; then, or with nothing published, the build before NEW)."
        ),
    ] = None,
    new: Annotated[
        str | None, typer.Argument(help="The later build (default: the latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Compare two builds of a product row by row, by the dictionary's primary key: rows added,
    removed and changed, rows changed per column, numeric columns' shift, and a sample of
    changed rows side by side."""
    from rich.table import Table

    from lakehouse.cli.json_output import diff_data, print_data

    _json_mode("diff", as_json)
    lake = _open()
    found = _run(lambda: lake.diff(product, old, new))
    if as_json:
        print_data("diff", diff_data(found))
        return
    console = _console()
    console.print(found.to_text().rstrip(), markup=False)
    for table in found.tables:
        if table.changed_sample:
            shown = Table(title=f"{table.table}: changed rows (old -> new)")
            for heading in (*table.key, "changes"):
                shown.add_column(heading, overflow="fold")
            for row in table.changed_sample:
                changes = "; ".join(
                    f"{c}: {v[0]!r} -> {v[1]!r}" for c, v in row.items() if c not in table.key
                )
                shown.add_row(*(str(row[k]) for k in table.key), changes)
            console.print(shown)
        for line in table.sample_lines():
            console.print(line, markup=False)


report_app = typer.Typer(
    help="Write a QA report: one self-contained HTML file with tables and charts.",
    no_args_is_help=True,
)
qa_app.add_typer(report_app, name="report")


@report_app.command("source")
def report_source(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[str, typer.Option("--version", help="Version to check.")] = "latest",
    against: Annotated[
        str | None, typer.Option("--against", help="Version to compare with (default: before).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: workspace/qa/).")
    ] = None,
) -> None:
    """Source drift of a version as an HTML report (every ingest also stores one with the
    version, in its qa/ folder)."""
    lake = _open()
    path = _run(lambda: lake.source_report(dataset, version, against, out))
    _console().print(f"wrote {path}; open {path.resolve().as_uri()}", markup=False)


@report_app.command("diff")
def report_diff(
    product: Annotated[str, typer.Argument(help="Product name.")],
    old: Annotated[
        str | None,
        typer.Argument(
            help="The earlier side, as for `lake diff` (default: the latest published version, "
            "unless NEW is its build; then the build before NEW)."
        ),
    ] = None,
    new: Annotated[str | None, typer.Argument(help="The later build (default: latest).")] = None,
) -> None:
    """A build diff as an HTML report, written into the later build's folder (qa/), so it
    travels with the build."""
    lake = _open()
    url, found = _run(lambda: lake.diff_report(product, old, new))
    console = _console()
    console.print(found.to_text().rstrip(), markup=False)
    console.print(f"wrote {url}", markup=False)
