"""`lake` commands for builds: lock, build, check, builds, sql."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.shell import _console, _open, _preview_cell, _progress, _run, app

if TYPE_CHECKING:
    from lakehouse.contracts import ContractReport


@app.command()
def lock(
    product: Annotated[str, typer.Argument(help="Product name (recipes/<product>.yml).")],
) -> None:
    """Pin every input of a recipe to its exact archived version: writes recipes/<product>.lock."""
    lake = _open()
    pinned, path = _run(lambda: lake.lock(product))
    console = _console()
    for alias, entry in pinned.inputs.items():
        console.print(f"  {alias}: {entry.name} {entry.version} (sha256 {entry.sha256[:12]})")
    console.print(f"wrote {path}")


@app.command()
def build(
    product: Annotated[str, typer.Argument(help="Product name (recipes/<product>.yml).")],
    latest: Annotated[
        bool, typer.Option("--latest", help="Ignore the lock: build from the newest versions.")
    ] = False,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Recompute every model, ignoring the cache.")
    ] = False,
) -> None:
    """Build a product from its locked inputs into builds/<product>/<build id>/."""
    lake = _open()
    with _progress(f"build {product}") as report:
        result = _run(
            lambda: lake.build(product, latest=latest, full_refresh=full_refresh, progress=report)
        )
    console = _console()
    for run in result.models:
        console.print(
            f"  {run.layer:<12} {run.name:<24} {run.status:<6} "
            f"{f'{run.rows:,} rows' if run.rows is not None else '':>16} "
            f"{run.seconds:8.2f} s"
        )
    if result.all_cached:
        console.print("every model unchanged: all reused from the cache")
    console.print(f"build [bold]{result.build_id}[/bold] at {lake.store.url(result.folder)}")
    for name, output in result.outputs.items():
        console.print(f"  {name}.parquet: {output['rows']:,} rows")
    if result.contracts.results:
        console.print(f"contracts: {result.contracts.summary()}")
        _print_failed_rules(result.contracts)
    console.print(f'query it: lake sql {product} "SELECT count(*) FROM {product}"')


def _print_failed_rules(report: ContractReport) -> None:
    from rich.table import Table

    failed = [r for r in report.results if not r.passed]
    if not failed:
        return
    table = Table(title="failed checks")
    for column in ("check", "severity", "failing rows", "sample keys"):
        table.add_column(column, overflow="fold")
    for result in failed:
        keys = ", ".join(str(k) for k in result.sample_keys)
        table.add_row(
            f"{result.table}.{result.rule}", result.severity, f"{result.failing_rows:,}", keys
        )
    _console().print(table)


@app.command()
def check(
    product: Annotated[str, typer.Argument(help="Product name.")],
    build_id: Annotated[
        str | None, typer.Option("--build", help="Build id (default: the latest build).")
    ] = None,
) -> None:
    """Re-run a product's contracts (from its data dictionary) on an existing build."""
    lake = _open()
    entry, report = _run(lambda: lake.check(product, build_id=build_id))
    console = _console()
    console.print(f"build {entry['build_id']}: {report.summary()}")
    _print_failed_rules(report)
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def builds(product: Annotated[str, typer.Argument(help="Product name.")]) -> None:
    """List a product's builds, oldest first."""
    from rich.table import Table

    lake = _open()
    found = _run(lambda: lake.builds(product))
    if not found:
        _console().print(f"{product}: no builds yet; run `lake build {product}`.")
        return
    table = Table(title=f"{product}: {len(found)} build(s)")
    for column in ("build", "started (UTC)", "status", "input versions", "models built", "git"):
        table.add_column(column)
    for entry in found:
        runs = entry["models"].values()
        built = sum(1 for run in runs if run["status"] == "built")
        commit = (entry["git"].get("commit") or "")[:8] + (
            " dirty" if entry["git"].get("dirty") else ""
        )
        table.add_row(
            entry["build_id"],
            entry["started_at"][:19].replace("T", " "),
            entry.get("status", "passed"),
            ", ".join(sorted({v["version"] for v in entry["lock"]["inputs"].values()})),
            f"{built}/{len(entry['models'])}",
            commit,
        )
    _console().print(table)


@app.command()
def sql(
    product: Annotated[str, typer.Argument(help="Product name.")],
    query: Annotated[str, typer.Argument(help="SQL over the build's models, e.g. SELECT ...")],
    build_id: Annotated[
        str | None, typer.Option("--build", help="Build id (default: the latest build).")
    ] = None,
    rows: Annotated[int, typer.Option(help="At most this many rows are shown.", min=1)] = 50,
) -> None:
    """Run SQL against a build's DuckDB database (every model is a view)."""
    from rich.table import Table

    lake = _open()
    columns, records = _run(lambda: lake.sql(product, query, build_id=build_id, limit=rows))
    table = Table()
    for name in columns:
        table.add_column(name, overflow="fold")
    for record in records:
        table.add_row(*(_preview_cell(value) for value in record))
    _console().print(table)
