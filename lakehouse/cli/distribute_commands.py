"""`lake` commands for distribution: distribute, distributions, metadata."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.shell import _console, _fail, _open, _progress, _run, _text, _utc, app

if TYPE_CHECKING:
    from lakehouse.distribute.distribute import Outcome

STATUS_STYLE = {"sent": "green", "unchanged": "dim", "failed": "red", "dry run": "cyan"}


@app.command()
def distribute(
    product: Annotated[str, typer.Argument(help="Product name.")],
    version: Annotated[
        str, typer.Option("--version", "-v", help="A published version (default: the latest).")
    ] = "latest",
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to", help="Only this destination (repeat for more; default: every destination)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would change at each destination; send nothing."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send again to destinations that already have it.")
    ] = False,
) -> None:
    """Send a published version to the product's destinations (recipes/<product>.destinations.yml:
    folder, S3 and SFTP drops, Socrata, ArcGIS), each attempt recorded; a destination that already
    has it is left alone. Credentials come from the environment variables each destination
    names. Exit code 1 if any destination failed."""
    lake = _open()
    console = _console()
    outcomes: list[Outcome] = []
    with _progress(f"distribute {product}") as report:
        sends = _run(
            lambda: lake.distribute(
                product,
                version=version,
                to=to or [],
                dry_run=dry_run,
                force=force,
                progress=report,
            )
        )
        while (outcome := _run(lambda: next(sends, None))) is not None:
            outcomes.append(outcome)
            _print_outcome(outcome)
    if any(outcome.status == "failed" for outcome in outcomes):
        raise typer.Exit(1)
    if not dry_run and outcomes:
        console.print(f"see them all: lake distributions {product}")


def _print_outcome(outcome: Outcome) -> None:
    console = _console()
    style = STATUS_STYLE[outcome.status]
    console.print(
        f"[{style}]{outcome.status}[/{style}] {_text_of(outcome.destination)} "
        f"({_text_of(outcome.where)}): {_text_of(outcome.message)}"
    )
    for line in outcome.lines:
        console.print(f"  {line}", markup=False)


def _text_of(value: str) -> str:
    return _text(Exception(value))


@app.command()
def distributions(product: Annotated[str, typer.Argument(help="Product name.")]) -> None:
    """Every distribution of a product, oldest first: destination, version, when, result,
    the destination's id of what it made."""
    from rich.table import Table

    lake = _open()
    found = _run(lambda: lake.distributions(product))
    if not found:
        _console().print(f"{product} has not been distributed yet (`lake distribute {product}`).")
        return
    table = Table(title=f"distributions of {product}")
    for column in ("destination", "version", "finished (UTC)", "result", "id", "where"):
        table.add_column(column, overflow="fold")
    for record in found:
        table.add_row(
            record.destination,
            record.version,
            _utc(record.finished_at),
            record.result,
            record.remote_id or "",
            record.location if record.result == "sent" else record.message,
        )
    _console().print(table)


@app.command()
def metadata(
    product: Annotated[str, typer.Argument(help="Product name.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="md or xlsx.")] = "md",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The file to write (default: in the workspace)."),
    ] = None,
) -> None:
    """Write the product's metadata (from its recipe) and data dictionary as a file for people:
    Markdown or an Excel workbook, the one to send with every release."""
    if fmt not in ("md", "xlsx"):
        _fail(f"--format is md or xlsx, not {fmt!r}.")
    lake = _open()
    path = _run(lambda: lake.metadata(product, fmt, out))  # type: ignore[arg-type]
    _console().print(f"wrote {path}")
