"""`lake`: a thin command-line shell over the library. Each command parses, calls, and prints."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from rich.console import Console

    from lakehouse.archive import IngestResult
    from lakehouse.catalog import DatasetEntry, ProductEntry
    from lakehouse.contracts import ContractReport
    from lakehouse.progress import Progress
    from lakehouse.project import Lakehouse

T = TypeVar("T")

app = typer.Typer(
    name="lake",
    help=(
        "A lakehouse on DuckDB and Parquet: archive raw sources as immutable versions, "
        "inspect and verify them.\n\nStart with `lake init`, then `lake demo` for sample "
        "data, `lake ingest <dataset>` and `lake versions <dataset>`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _State:
    debug = False
    config: Path | None = None


state = _State()


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _run(action: Callable[[], T]) -> T:
    """Run a library call; errors become one sentence and exit code 1 (traceback with --debug)."""
    try:
        return action()
    except LakehouseError as exc:
        if state.debug:
            raise
        _console(stderr=True).print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        _console(stderr=True).print("[red]Interrupted[/red]: nothing was committed.")
        raise typer.Exit(130) from None
    except Exception as exc:
        if state.debug:
            raise
        _console(stderr=True).print(
            f"[red]Unexpected error:[/red] {exc.__class__.__name__}: {exc} "
            "(run again with --debug for the traceback, and report it)."
        )
        raise typer.Exit(2) from None


def _open() -> Lakehouse:
    from lakehouse.project import open_lakehouse

    return _run(lambda: open_lakehouse(state.config))


@contextmanager
def _progress(label: str) -> Iterator[Progress]:
    """A rich progress display on stderr, fed by the library's progress callbacks."""
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
    )
    console = _console(stderr=True)
    if not console.is_terminal:  # piped or in CI: no live display, just the results
        from lakehouse.progress import no_progress

        yield no_progress
        return
    with Progress(*columns, console=console, transient=True) as bar:
        task_id = bar.add_task(label, total=None)

        def report(task: str, done: int, total: int | None = None) -> None:
            bar.update(task_id, description=f"{label}: {task}", completed=done, total=total)

        yield report


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Path to lakehouse.toml (default: nearest one above here)."
        ),
    ] = None,
) -> None:
    state.debug = debug
    state.config = config


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Project folder to initialise.")] = Path("."),
    root: Annotated[
        str | None,
        typer.Option(help="Store root: a folder or s3://bucket/prefix (default: .lakehouse)."),
    ] = None,
) -> None:
    """Create lakehouse.toml (unless it exists), the store root and the templates folder."""
    from lakehouse.config import init_project as create_config
    from lakehouse.config import load_config
    from lakehouse.project import Lakehouse

    config_path, created = _run(lambda: create_config(folder, root))
    config = _run(lambda: load_config(config_path))
    lake = Lakehouse(config)
    if lake.store.is_local:
        Path(lake.store.root).mkdir(parents=True, exist_ok=True)
    config.templates_dir.mkdir(parents=True, exist_ok=True)
    verb = "Created" if created else "Found existing"
    _console().print(f"{verb} {config_path}; store at {lake.store.root}")


@app.command()
def ingest(
    datasets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Dataset names (their templates' file names); default: every template."
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="Archive this local file instead of fetching the source."
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(help="Version name to archive under (default: from the source or today)."),
    ] = None,
) -> None:
    """Fetch datasets' sources and archive each as a new immutable version."""
    lake = _open()
    names = datasets or lake.templates()
    if not names:
        _fail(f"No templates in {lake.config.templates_dir}; name a dataset and pass --file.")
    if (file or version) and len(names) != 1:
        _fail("--file and --version apply to one dataset; name exactly one.")
    failed = []
    for dataset in names:
        with _progress(f"ingest {dataset}") as report:
            try:
                result = lake.ingest(dataset, file=file, version=version, progress=report)
            except LakehouseError as exc:
                if state.debug:
                    raise
                _console(stderr=True).print(f"[red]Error:[/red] {dataset}: {exc}")
                failed.append(dataset)
                continue
        _print_ingest_result(dataset, result)
    if failed:
        _fail(f"{len(failed)} of {len(names)} dataset(s) failed: {', '.join(failed)}.")


def _fail(message: str) -> NoReturn:
    _console(stderr=True).print(f"[red]Error:[/red] {message}")
    raise typer.Exit(1)


def _print_ingest_result(dataset: str, result: IngestResult) -> None:
    manifest = result.manifest
    if result.status == "unchanged":
        note = (
            " (the template changed since; its new settings apply from the next new version)"
            if result.template_changed
            else ""
        )
        _console().print(
            f"{dataset}: unchanged, the source is identical to version "
            f"[bold]{manifest.version}[/bold]; no new version was created{note}."
        )
    else:
        _console().print(
            f"{dataset}: archived version [bold]{manifest.version}[/bold] "
            f"({manifest.row_count:,} rows, {len(manifest.columns)} columns, {manifest.storage})."
        )
        if manifest.contract:
            warned = manifest.contract["warnings"]
            shown = "; ".join(f"{w['rule']}: {w['failing_rows']:,} row(s)" for w in warned)
            _console().print(
                f"  raw contract: {manifest.contract['summary']}" + (f" ({shown})" if shown else "")
            )


@app.command()
def versions(
    dataset: Annotated[
        str | None, typer.Argument(help="Dataset name; default: a line per archived dataset.")
    ] = None,
) -> None:
    """List the archived versions of a dataset, oldest first (or every dataset's latest)."""
    from rich.table import Table

    lake = _open()
    if dataset is None:
        _print_datasets(lake)
        return
    found = _run(lambda: lake.versions(dataset))
    if not found:
        _console().print(f"{dataset}: no archived versions yet; run `lake ingest {dataset}`.")
        return
    table = Table(title=f"{dataset}: {len(found)} version(s)")
    for column in ("version", "extracted at (UTC)", "rows", "storage", "source sha256", "from"):
        table.add_column(column)
    for index, manifest in enumerate(found):
        latest = " (latest)" if index == len(found) - 1 else ""
        table.add_row(
            manifest.version + latest,
            manifest.extracted_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{manifest.row_count:,}",
            manifest.storage,
            manifest.source_sha256[:12],
            manifest.version_origin,
        )
    _console().print(table)


def _print_datasets(lake: Lakehouse, title: str = "{} archived dataset(s)") -> None:
    from rich.table import Table

    names = _run(lake.datasets)
    if not names:
        _console().print("The archive is empty; run `lake ingest <dataset>`.")
        return
    table = Table(title=title.format(len(names)))
    for column in ("dataset", "versions", "latest", "rows", "extracted at (UTC)"):
        table.add_column(column)
    for name in names:
        found = _run(partial(lake.versions, name))
        if not found:
            continue
        latest = found[-1]
        table.add_row(
            name,
            str(len(found)),
            latest.version,
            f"{latest.row_count:,}",
            latest.extracted_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    _console().print(table)


@app.command()
def show(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[str, typer.Option(help="Version to show.")] = "latest",
    rows: Annotated[int, typer.Option(help="How many rows to preview.", min=0)] = 10,
) -> None:
    """Show a version's manifest and a preview of its rows."""
    from rich.table import Table

    lake = _open()
    manifest = _run(lambda: lake.manifest(dataset, version))
    console = _console()
    console.print(f"[bold]{manifest.dataset}[/bold] version [bold]{manifest.version}[/bold]")
    facts = {
        "source": f"{manifest.source.type} {manifest.source.location} ({manifest.source.format})",
        "extracted at": manifest.extracted_at.isoformat(),
        "version from": manifest.version_origin,
        "rows": f"{manifest.row_count:,}",
        "storage": manifest.storage
        + (
            f" (delta version {manifest.delta_version})"
            if manifest.delta_version is not None
            else ""
        ),
        "source files": ", ".join(
            f"{f.path.rsplit('/', 1)[-1]} ({f.bytes:,} B, sha256 {f.sha256[:12]})"
            for f in manifest.source_files
        ),
        "data sha256": ", ".join(f.sha256[:12] for f in manifest.data_files),
        "columns": ", ".join(f"{c.name} {c.type}" for c in manifest.columns),
        "tool": ", ".join(f"{k} {v}" for k, v in manifest.tool.items()),
    }
    for key, value in facts.items():
        console.print(f"  [dim]{key}:[/dim] {value}")
    if rows == 0:
        return
    preview = _run(lambda: lake.read(dataset, manifest.version, limit=rows))
    table = Table(title=f"first {preview.num_rows} rows")
    for name in preview.column_names:
        table.add_column(name, overflow="fold")
    for record in preview.to_pylist():
        table.add_row(*(_preview_cell(value) for value in record.values()))
    console.print(table)


def _preview_cell(value: Any) -> str:
    if value is None:
        return "[dim]null[/dim]"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


@app.command()
def verify(
    dataset: Annotated[
        list[str] | None, typer.Argument(help="Datasets to check (default: all).")
    ] = None,
) -> None:
    """Re-check the sha256 of every archived file and report corruption (exit code 1)."""
    lake = _open()
    with _progress("verify") as report:
        result = _run(lambda: lake.verify(dataset or None, progress=report))
    console = _console()
    for problem in result.corrupt:
        console.print(
            f"[red]CORRUPT[/red] {problem.dataset} {problem.version}: {problem.path}: "
            f"{problem.reason}"
        )
    for folder in result.leftovers:
        console.print(
            f"[yellow]note[/yellow] {folder}: left by an interrupted ingest (not a version)"
        )
    summary = f"checked {result.files_checked} files in {result.versions_checked} versions"
    if result.ok:
        console.print(f"[green]OK[/green]: {summary}, all checksums match.")
        return
    console.print(f"[red]{len(result.corrupt)} corrupt file(s)[/red]: {summary}.")
    raise typer.Exit(1)


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


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder to write the sample sources into.")] = Path(
        "data/pluto_lite"
    ),
    lots: Annotated[int, typer.Option(help="Number of tax lots.", min=1, max=50_000_000)] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 42,
) -> None:
    """Write the four PLUTO-lite sample sources (deterministic for a given size and seed),
    and their ingest templates when the project has none yet."""
    from lakehouse.demo import generate_pluto_lite, write_demo_templates

    with _progress("demo") as report:
        report(f"generating {lots:,} lots", 0, None)
        written = _run(lambda: generate_pluto_lite(out, lots=lots, seed=seed))
    console = _console()
    for path in written.values():
        console.print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    lake = _open()
    templates = write_demo_templates(lake.config.templates_dir, out, lake.config.project_dir)
    for template in templates:
        console.print(f"wrote template {template}")
    console.print(f"next: `lake ingest {' '.join(p.removesuffix('.csv') for p in written)}`")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
