"""`lake` commands for publishing: publish, published, promote, package."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.json_output import JSON_HELP
from lakehouse.cli.shell import _console, _json_mode, _open, _run, _utc, app, state

if TYPE_CHECKING:
    from lakehouse.publish.records import PublishRecord


@app.command()
def publish(
    product: Annotated[str, typer.Argument(help="Product name.")],
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            "-v",
            help="Version name: 25v1, 25v2, 25v2.1 or a date (default: the next number of the "
            "year, e.g. 26v3).",
        ),
    ] = None,
    build: Annotated[
        str | None, typer.Option("--build", "-b", help="Build id (default: the latest build).")
    ] = None,
) -> None:
    """Publish a build as an immutable version: refused unless its contracts passed and it has
    a QA report (`lake qa report diff`), and never over an existing version."""
    lake = _open()
    entry = _run(lambda: lake.publish(product, version, build))
    console = _console()
    console.print(
        f"published {product} [bold]{entry.version}[/bold] from build {entry.build_id} "
        f"({', '.join(f'{v} rows' for v in _rows(entry))}); it is now the latest.",
    )
    console.print(
        f"open it in a notebook: import lakehouse as lh; "
        f"lh.published({product!r}, {entry.version!r}).to_pandas()",
        markup=False,
    )


def _rows(entry: PublishRecord) -> list[str]:
    return [f"{o.rows:,}" for o in entry.outputs.values()]


@app.command()
def published(
    product: Annotated[str, typer.Argument(help="Product name.")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List a product's published versions, oldest first, with their builds and inputs."""
    from rich.table import Table

    from lakehouse.cli.json_output import print_data, published_data
    from lakehouse.publish.publish import qa_line

    _json_mode("published", as_json)
    lake = _open()
    found = _run(lambda: lake.published(product))
    if as_json:
        print_data("published", published_data(product, found))
        return
    table = Table(title=f"{product}: {len(found)} published version(s)")
    for heading in ("version", "published (UTC)", "build", "commit", "inputs", "QA", "note"):
        table.add_column(heading, overflow="fold")
    for entry in found:
        qa = "; ".join(qa_line(q) for q in entry.qa)
        promoted = entry.promoted_from
        table.add_row(
            entry.version,
            _utc(entry.published_at),
            entry.build_id,
            (entry.git.commit or "")[:10],
            ", ".join(entry.inputs.values()),
            qa,
            f"promoted from {promoted.env}" if promoted else "",
        )
    _console().print(table)


@app.command()
def promote(
    product: Annotated[str, typer.Argument(help="Product name.")],
    version: Annotated[str, typer.Argument(help="Published version (or `latest`).")],
    to: Annotated[str, typer.Option("--to", help="Target environment, e.g. prod.")],
) -> None:
    """Copy a published version from this environment (--env) to another, unchanged: the same
    files, checked by their checksums, without rebuilding."""
    lake = _open()
    entry = _run(lambda: lake.promote(product, version, to))
    _console().print(
        f"promoted {product} {entry.version} from {state.env or 'the default environment'} "
        f"to {to}; it is now {to}'s latest."
    )


@app.command()
def package(
    product: Annotated[str, typer.Argument(help="Product name.")],
    version: Annotated[
        str, typer.Option("--version", "-v", help="Published version (default: latest).")
    ] = "latest",
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="parquet, csv or xlsx; for a product with geometry also geoparquet, "
            "shapefile, filegdb (a zipped File Geodatabase) or geojson (RFC 7946, EPSG:4326).",
        ),
    ] = "parquet",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Zip to write (default: workspace/packages/)."),
    ] = None,
) -> None:
    """Write a handoff zip of a published version: the data in the chosen format, the data
    dictionary (DICTIONARY.md), a README (version, sources and their versions, contract and QA
    summaries) and SHA256SUMS; the same version and format always give the same bytes."""
    lake = _open()
    made = _run(lambda: lake.package(product, version, fmt, out))
    console = _console()
    console.print(f"wrote {made.path} ({len(made.files)} files)", markup=False)
    for note in made.notes:
        console.print(f"  note: {note}", markup=False)
    console.print(
        f"open this version in a notebook: import lakehouse as lh; "
        f"lh.published({product!r}, {made.version!r}).to_pandas()",
        markup=False,
    )
