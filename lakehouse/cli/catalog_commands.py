"""`lake` commands for finding things: catalog (lineage and docs follow)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.shell import _console, _open, _run, _utc, app

if TYPE_CHECKING:
    from lakehouse.catalog.catalog import DatasetEntry, ProductEntry
    from lakehouse.project import Lakehouse
    from lakehouse.transform.lineage import Lineage


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
    headings = ("product", "description", "owner", "inputs", "latest build", "status", "published")
    for column in headings:
        table.add_column(column, overflow="fold")
    for product in products:
        table.add_row(
            product.name,
            product.description,
            product.owner,
            ", ".join(product.inputs.values()),
            product.latest_build or "none",
            product.latest_status or "",
            ", ".join(entry.version for entry in product.published) or "none",
        )
    console.print(table)
    print_datasets(lake, title="{} dataset(s)")


def print_datasets(lake: Lakehouse, title: str = "{} archived dataset(s)") -> None:
    """A line per archived dataset: its versions and its latest; a version whose manifest is
    damaged is counted apart and named in a warning line, and the dataset's latest is then
    unknown (the other datasets are listed as ever)."""
    from rich.table import Table

    from lakehouse.catalog.catalog import dataset_entry

    names = _run(lake.datasets)
    if not names:
        _console().print("The archive is empty; run `lake ingest <dataset>`.")
        return
    entries = _run(lambda: [dataset_entry(name, lake.archive) for name in names])
    table = Table(title=title.format(len(names)))
    for column in ("dataset", "versions", "latest", "rows", "extracted at (UTC)"):
        table.add_column(column)
    for entry in entries:
        if not entry.versions and not entry.damaged:
            continue
        damaged = f" ({len(entry.damaged)} damaged)" if entry.damaged else ""
        table.add_row(
            entry.name,
            f"{len(entry.versions)}{damaged}",
            entry.latest or "unknown (a version is damaged)",
            f"{entry.rows:,}" if entry.rows is not None else "",
            _utc(entry.extracted_at) if entry.extracted_at else "",
        )
    _console().print(table)


def _print_catalog_entry(entry: ProductEntry | DatasetEntry) -> None:
    from rich.markup import escape
    from rich.table import Table

    from lakehouse.catalog.catalog import ProductEntry

    console = _console()
    if not isinstance(entry, ProductEntry):
        console.print(f"[bold]{entry.name}[/bold] (dataset): {escape(entry.source or '')}")
        console.print(f"  versions: {', '.join(entry.versions) or 'none'}", markup=False)
        if entry.damaged:
            console.print(
                f"  damaged (manifest unreadable): {', '.join(entry.damaged)}; latest: unknown",
                markup=False,
            )
        if entry.latest:
            console.print(f"  latest: {entry.latest} ({entry.rows:,} rows)", markup=False)
        return
    console.print(f"[bold]{entry.name}[/bold] (product): {entry.description}")
    console.print(f"  owner: {entry.owner}")
    for alias, spec in entry.inputs.items():
        console.print(f"  input {alias}: {spec}")
    console.print(
        f"  builds: {entry.builds}, latest {entry.latest_build or 'none'} "
        f"({entry.latest_status or 'not built'})"
    )
    for published in entry.published:
        latest = " (latest)" if published.version == entry.latest_published else ""
        console.print(
            f"  published {published.version}: build {published.build_id}, "
            f"{_utc(published.published_at)[:10]}{latest}",
            markup=False,
        )
    for version in entry.damaged_published:
        console.print(f"  published {version}: damaged (publish.json unreadable)", markup=False)
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


@app.command()
def lineage(
    product: Annotated[str, typer.Argument(help="Product name.")],
    column: Annotated[
        str | None,
        typer.Option(
            "--column",
            help="Show only where this output column comes from, and what decides its rows.",
        ),
    ] = None,
) -> None:
    """Show what feeds a product: source versions -> models -> outputs, and for each output
    column the source columns it is computed from and those that decide which rows it has
    (join keys, filters, groupings), from the lock or the latest versions."""
    lake = _open()
    found = _run(lambda: lake.lineage(product))
    if column is not None:
        _print_column_lineage(found, column)
        return
    _print_table_lineage(found)


def _print_column_lineage(found: Lineage, column: str) -> None:
    from lakehouse.transform.lineage import describe_rows

    console = _console()
    sources = _run(lambda: found.column_sources(column))
    rows = found.rows_decided_by(column)
    for output, computed_from in sources.items():
        console.print(
            f"{output}.{column} <- {', '.join(computed_from) or '(constant)'}", markup=False
        )
        lines = describe_rows(rows[output])
        console.print("  rows decided by:" + ("" if lines else " nothing (every row)"))
        for line in lines:
            console.print(f"    {line}", markup=False)


def _print_table_lineage(found: Lineage) -> None:
    from rich.table import Table

    from lakehouse.transform.lineage import describe_rows

    console = _console()
    table = Table(title=f"{found.product}: tables")
    for heading in ("name", "layer", "reads", "version / defined in"):
        table.add_column(heading, overflow="fold")
    for node in found.nodes:
        table.add_row(node.name, node.layer, ", ".join(found.upstream(node.name)), node.detail)
    console.print(table)
    for output, columns in found.columns.items():
        own = {name: describe_rows(found.own_rows(output, name)) for name in columns}
        table = Table(title=f"{output}: columns")
        table.add_column("column")
        table.add_column("computed from", overflow="fold")
        if any(own.values()):
            table.add_column("its rows also decided by", overflow="fold")
        for name, sources in columns.items():
            rows = ["\n".join(own[name])] if any(own.values()) else []
            table.add_row(name, ", ".join(sources) or "(constant)", *rows)
        console.print(table)
        if not columns:
            continue  # not traced: nothing to say about its rows either
        shared = describe_rows(found.shared_rows(output))
        console.print(f"rows of {output} decided by:" + ("" if shared else " nothing (every row)"))
        for line in shared:
            console.print(f"  {line}", markup=False)


@app.command()
def docs(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for the site (default: <workspace>/docs)."),
    ] = None,
) -> None:
    """Write the documentation site: static HTML that works offline (no scripts, nothing
    fetched), with a page per product (dictionary, sources, lineage, latest contract results)
    and per dataset (versions)."""
    lake = _open()
    site = _run(lambda: lake.docs(out))
    _console().print(f"wrote {len(site.pages)} page(s); open {site.index.resolve().as_uri()}")
