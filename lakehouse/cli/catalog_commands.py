"""`lake` commands for finding things: catalog (lineage and docs follow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.shell import _console, _open, _print_datasets, _run, app

if TYPE_CHECKING:
    from lakehouse.catalog import DatasetEntry, ProductEntry


@app.command(name="catalog")
def catalog_command(
    name: Annotated[
        str | None, typer.Argument(help="A product or dataset to show in detail.")
    ] = None,
) -> None:
    """List the products and datasets, or show one (a product with its data dictionary)."""
    from rich.table import Table

    lake = _open()
    console = _console()
    if name is not None:
        _print_catalog_entry(_run(lambda: lake.catalog_entry(name)))
        return
    products = _run(lake.products)
    table = Table(title=f"{len(products)} product(s)")
    for column in ("product", "description", "owner", "inputs", "latest build", "status"):
        table.add_column(column, overflow="fold")
    for product in products:
        table.add_row(
            product.name,
            product.description,
            product.owner,
            ", ".join(product.inputs.values()),
            product.latest_build or "none",
            product.latest_status or "",
        )
    console.print(table)
    _print_datasets(lake, title="{} dataset(s)")


def _print_catalog_entry(entry: ProductEntry | DatasetEntry) -> None:
    from rich.table import Table

    from lakehouse.catalog import ProductEntry

    console = _console()
    if not isinstance(entry, ProductEntry):
        console.print(f"[bold]{entry.name}[/bold] (dataset): {entry.source or ''}")
        console.print(f"  versions: {', '.join(entry.versions) or 'none'}")
        if entry.latest:
            console.print(f"  latest: {entry.latest} ({entry.rows:,} rows)")
        return
    console.print(f"[bold]{entry.name}[/bold] (product): {entry.description}")
    console.print(f"  owner: {entry.owner}")
    for alias, spec in entry.inputs.items():
        console.print(f"  input {alias}: {spec}")
    console.print(
        f"  builds: {entry.builds}, latest {entry.latest_build or 'none'} "
        f"({entry.latest_status or 'not built'})"
    )
    if entry.dictionary is None:
        console.print("  no data dictionary")
        return
    for table_name, table_entry in entry.dictionary.tables.items():
        table = Table(title=f"{table_name}: {table_entry.description}")
        for column in ("column", "type", "nullable", "description"):
            table.add_column(column, overflow="fold")
        for column_entry in table_entry.columns:
            table.add_row(
                column_entry.name,
                column_entry.type,
                "yes" if column_entry.nullable else "no",
                column_entry.description,
            )
        console.print(table)
