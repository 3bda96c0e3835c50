"""`lake qa` commands: what changed between versions of a source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.shell import _console, _open, _run, app

if TYPE_CHECKING:
    from lakehouse.drift import ColumnDrift, SourceDrift

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
    if drift.keys and (drift.keys.added_sample or drift.keys.removed_sample):
        console.print(f"  keys added, e.g.: {drift.keys.added_sample}", markup=False)
        console.print(f"  keys removed, e.g.: {drift.keys.removed_sample}", markup=False)
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
