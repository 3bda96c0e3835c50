"""`lake` commands for the raw archive: init, demo, ingest, versions, show, verify."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.json_output import JSON_HELP
from lakehouse.cli.shell import (
    _console,
    _fail,
    _json_mode,
    _open,
    _preview_cell,
    _print_damage,
    _progress,
    _run,
    _text,
    app,
    state,
)
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.archive.archive import IngestResult
    from lakehouse.archive.versions import VersionScan
    from lakehouse.catalog.catalog import DatasetEntry
    from lakehouse.project import Lakehouse


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Project folder to initialise.")] = Path("."),
    root: Annotated[
        str | None,
        typer.Option(help="Store root: a folder or s3://bucket/prefix (default: .lakehouse)."),
    ] = None,
) -> None:
    """Create lakehouse.toml (unless it exists), the store root and the templates folder."""
    from lakehouse.project import init_lakehouse

    made = _run(lambda: init_lakehouse(folder, root))
    verb = "Created" if made.created else "Found existing"
    _console().print(
        f"{verb} {made.config_path}; store at {made.store_root}; templates in {made.templates_dir}"
    )


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
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Fetch and check everything an ingest checks, archive nothing, and say what "
            "would be archived (exit 1 if a check fails).",
        ),
    ] = False,
) -> None:
    """Fetch datasets' sources and archive each as a new immutable version."""
    lake = _open()
    templates_dir = _run(lambda: lake.config.templates_dir)
    names = datasets or _run(lake.templates)
    if not names:
        _fail(f"No templates in {templates_dir}; name a dataset and pass --file.")
    if (file or version) and len(names) != 1:
        _fail("--file and --version apply to one dataset; name exactly one.")
    failed = []
    for dataset in names:
        with _progress(f"ingest {dataset}") as report:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    result = lake.ingest(
                        dataset, file=file, version=version, progress=report, dry_run=dry_run
                    )
                _print_damage(caught)
            except LakehouseError as exc:
                if state.debug:
                    raise
                _console(stderr=True).print(f"[red]Error:[/red] {dataset}: {_text(exc)}")
                failed.append(dataset)
                continue
            except Exception as exc:  # a bug: one line, the others go on (--debug: traceback)
                if state.debug:
                    raise
                _console(stderr=True).print(
                    f"[red]Unexpected error:[/red] {dataset}: {exc.__class__.__name__}: "
                    f"{_text(exc)} (run again with --debug for the traceback, and report it)."
                )
                failed.append(dataset)
                continue
        _print_ingest_result(dataset, result)
    if failed:
        _fail(f"{len(failed)} of {len(names)} dataset(s) failed: {', '.join(failed)}.")


def _print_ingest_result(dataset: str, result: IngestResult) -> None:
    manifest = result.manifest
    if result.status == "unchanged":
        checked = result.checked
        note = ""
        if checked is not None:
            contract = f"; raw contract: {checked.contract.summary()}" if checked.contract else ""
            which = "its new settings" if result.template_changed else "the template's checks"
            note = f" ({which} pass on it: {checked.rows:,} rows, {len(checked.columns)} columns"
            note += f"{contract})"
        _console().print(
            f"{dataset}: unchanged, the source is identical to version "
            f"[bold]{manifest.version}[/bold]; no new version "
            f"{'would be' if result.dry_run else 'was'} created{note}."
        )
    else:
        verb = "dry run: would archive" if result.dry_run else "archived"
        _console().print(
            f"{dataset}: {verb} version [bold]{manifest.version}[/bold] "
            f"({manifest.row_count:,} rows, {len(manifest.columns)} columns, {manifest.storage})."
        )
        geometry = manifest.geometry_summary()
        if geometry is not None:
            bad = (manifest.invalid_geometries or 0) + (manifest.unparsed_geometries or 0)
            advice = " (archived as they came)" if bad else ""
            _console().print(f"  geometry: {geometry}{advice}", markup=False)
        if manifest.contract:
            warned = manifest.contract.warnings
            shown = "; ".join(f"{w.rule}: {w.failing_rows:,} row(s)" for w in warned)
            _console().print(
                f"  raw contract: {manifest.contract.summary}" + (f" ({shown})" if shown else ""),
                markup=False,  # a rule may name a regex: [0-9] is not markup
            )
        if manifest.qa and manifest.qa.against:
            flags = manifest.qa.flags
            found = f"{len(flags)} flag(s): {'; '.join(flags[:5])}" if flags else "nothing flagged"
            _console().print(
                f"  source QA against {manifest.qa.against}: {found} "
                f"(`lake qa source {dataset}` for details)",
                markup=False,
            )
        if result.dry_run:
            _console().print("  nothing was archived (a dry run).")


@app.command()
def versions(
    dataset: Annotated[
        str | None, typer.Argument(help="Dataset name; default: a line per archived dataset.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List the archived versions of a dataset, oldest first (or every dataset's latest); a
    version whose manifest is damaged is listed as damaged, and named in a warning line."""
    from rich.table import Table

    from lakehouse.cli.catalog_commands import print_datasets
    from lakehouse.cli.json_output import datasets_data, print_data, versions_data

    _json_mode("versions", as_json)
    lake = _open()
    if dataset is None:
        if as_json:
            print_data("versions", datasets_data(_dataset_entries(lake)))
        else:
            print_datasets(lake)
        return

    def scan() -> VersionScan:
        found = lake.archive.scan_versions(dataset)
        found.warn()
        return found

    scanned = _run(scan)
    found = scanned.manifests
    if not found and not scanned.damaged:
        templates = _run(lake.templates)
        if dataset in templates or dataset in scanned.archived:
            if as_json:
                print_data("versions", versions_data(scanned))
            else:
                _console().print(
                    f"{dataset}: no archived versions yet; run `lake ingest {dataset}`."
                )
            return
        # a typo: the closest name, if there is one
        _fail(scanned.missing_message(templates), kind="NotFoundError")
    if as_json:
        print_data("versions", versions_data(scanned))
        return
    damaged = f", {len(scanned.damaged)} damaged" if scanned.damaged else ""
    table = Table(title=f"{dataset}: {len(found)} version(s){damaged}")
    for column in ("version", "extracted at (UTC)", "rows", "storage", "source sha256", "from"):
        table.add_column(column)
    for index, manifest in enumerate(found):
        # while a version is damaged, which one is the latest cannot be told
        newest = index == len(found) - 1 and not scanned.damaged
        latest = " (latest)" if newest else ""
        table.add_row(
            manifest.version + latest,
            manifest.extracted_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{manifest.row_count:,}",
            manifest.storage,
            manifest.source_sha256[:12],
            manifest.version_origin,
        )
    for version in scanned.damaged:
        table.add_row(f"{version.version} (damaged)", "?", "?", "?", "?", "manifest unreadable")
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
    geometry = manifest.geometry_summary()
    if geometry is not None:
        facts["geometry"] = geometry
    for key, value in facts.items():
        console.print(f"  [dim]{key}:[/dim] {value}")
    if rows == 0:
        return
    preview = _run(lambda: lake.read(dataset, manifest.version, limit=rows))
    cells = {
        name: [_preview_cell(value) for value in preview.column(name).to_pylist()]
        for name in preview.column_names
    }
    shown = _columns_that_fit(cells, console.width)
    table = Table(title=f"first {preview.num_rows} rows")
    for name in shown:
        table.add_column(name, no_wrap=True)  # a value is never split across lines
    for index in range(preview.num_rows):
        table.add_row(*(cells[name][index] for name in shown))
    console.print(table)
    hidden = len(cells) - len(shown)
    if hidden:
        console.print(
            f"  [dim]and {hidden} more column(s), not shown in {console.width} characters: "
            f"widen the terminal, or `lake sql` them.[/dim]"
        )


def _dataset_entries(lake: Lakehouse) -> list[DatasetEntry]:
    from lakehouse.catalog.catalog import dataset_entry

    return _run(lambda: [dataset_entry(name, lake.archive) for name in lake.datasets()])


def _columns_that_fit(cells: dict[str, list[str]], width: int) -> list[str]:
    """The first columns whose widest value (or name) fits in `width` characters, whole (at
    least one); a table's borders take 3 characters per column, and 1."""
    shown: list[str] = []
    used = 1
    for name, values in cells.items():
        needed = max([len(name), *(len(value) for value in values)]) + 3
        if shown and used + needed > width:
            break
        shown.append(name)
        used += needed
    return shown


@app.command()
def verify(
    dataset: Annotated[
        list[str] | None, typer.Argument(help="Datasets to check (default: all).")
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Remove what interrupted runs left whose process is gone (never a live run's "
            "work, never a version; damage is only reported).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Re-check the sha256 of every archived and published file and report corruption (exit
    code 1), and list what interrupted ingests, builds and publishes left behind, with the run
    that wrote it (the next run of the same command removes what a killed run left; so does
    --repair)."""
    from rich.markup import escape

    from lakehouse.cli.json_output import print_data, verify_data

    _json_mode("verify", as_json)
    lake = _open()
    with _progress("verify") as report:
        result = _run(lambda: lake.verify(dataset or None, progress=report, repair=repair))
    if as_json:
        print_data("verify", verify_data(result))
        if not result.ok:
            raise typer.Exit(1)
        return
    console = _console()
    for problem in result.corrupt:
        where = f"{problem.path}: " if problem.path else ""
        said = escape(f"{problem.dataset} {problem.version}: {where}{problem.reason}")
        console.print(f"[red]CORRUPT[/red] {said}")
    removed = {leftover.path for leftover in result.repaired}
    for leftover in result.leftovers:
        if leftover.path in removed:
            said = escape(f"{leftover.path}: {leftover.describe()}")
            console.print(f"[green]{escape(leftover.done)}[/green] {said}")
        elif leftover.abandoned:
            console.print(
                f"[yellow]note[/yellow] {escape(leftover.path)}: {escape(leftover.describe())} "
                "(not a version; `lake verify --repair` or the next run of that command "
                "removes it)"
            )
        else:
            console.print(f"[yellow]note[/yellow] {escape(leftover.path)}: "
                          f"{escape(leftover.describe())}")  # fmt: skip
    for folder in result.set_aside:
        console.print(
            f"[yellow]note[/yellow] {escape(folder)}: damaged cache files a build set aside "
            "(DAMAGED.txt says why); delete the folder once you have looked"
        )
    summary = (
        f"checked {result.files_checked} files in {result.versions_checked} versions and "
        f"{result.builds_checked} builds"
    )
    if result.ok:
        console.print(f"[green]OK[/green]: {summary}, all checksums match.")
        return
    console.print(f"[red]{len(result.corrupt)} problem(s)[/red]: {summary}.")
    raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder to write the sample sources into.")] = Path(
        "data/pluto_lite"
    ),
    lots: Annotated[int, typer.Option(help="Number of tax lots.", min=1, max=50_000_000)] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 42,
) -> None:
    """Write the sample sources (deterministic for a given size and seed): PLUTO-lite's four
    CSVs, MapPLUTO-lite's lot polygons (zipped Shapefile) and zoning districts (GeoJSON), and
    their ingest templates when the project has none yet."""
    from lakehouse.demo import write_demo

    lake = _open()
    with _progress("demo") as report:
        written = _run(lambda: write_demo(lake.config, out, lots=lots, seed=seed, progress=report))
    console = _console()
    for path, size in written.sources:
        console.print(f"wrote {path} ({size:,} bytes)")
    for template in written.templates:
        console.print(f"wrote template {template}")
    console.print(f"next: `lake ingest {' '.join(written.datasets)}`")
