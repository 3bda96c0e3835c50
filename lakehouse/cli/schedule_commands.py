"""`lake status` and `lake update`: running it every day (lakehouse/schedule/)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.json_output import JSON_HELP
from lakehouse.cli.shell import _console, _json_mode, _open, _run, app

if TYPE_CHECKING:
    from lakehouse.project import Lakehouse
    from lakehouse.schedule.status import ProductStatus, SourceStatus, Status
    from lakehouse.schedule.update import UpdateReport


class FailOn(StrEnum):
    overdue = "overdue"
    behind = "behind"


@app.command()
def status(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Datasets and products to show (default: every template and recipe)."),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Do not ask the sources whether they have something newer."),
    ] = False,
    fail_on: Annotated[
        list[FailOn] | None,
        typer.Option(
            "--fail-on",
            help="Exit with code 1 when a source is overdue, or when a product is behind its "
            "sources or a source changed upstream (repeat for both); for cron and CI.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show whether each source is fresh (its latest version, its age, due or overdue by its
    template's `cadence` and `max_age`, and whether the source has something newer, asked
    without downloading it) and whether each product is up to date (its lock behind the
    archive, its latest build behind its lock, its latest published version)."""
    from lakehouse.schedule.status import project_status

    _json_mode("status", as_json)
    lake = _open()
    datasets, products = _run(lambda: _split_names(lake, names))
    found = _run(
        lambda: project_status(
            lake.config,
            lake.store,
            lake.archive,
            datasets=datasets,
            products=products,
            ask_upstream=not offline,
        )
    )
    failures = found.failures([choice.value for choice in fail_on or []])
    if as_json:
        from lakehouse.cli.json_output import print_data

        print_data("status", {**found.to_dict(), "failures": failures})
    else:
        _print_status(found)
        for line in failures:
            _console(stderr=True).print(f"[red]fail[/red] {line}", highlight=False)
    if failures:
        raise typer.Exit(1)


def _split_names(
    lake: Lakehouse, names: list[str] | None
) -> tuple[list[str] | None, list[str] | None]:
    """The datasets and the products among `names` (None, None: all of both)."""
    from lakehouse.archive.template import list_templates
    from lakehouse.errors import NotFoundError
    from lakehouse.transform.recipe import list_recipes

    if not names:
        return None, None
    templates = set(list_templates(lake.config.templates_dir))
    recipes = set(list_recipes(lake.config.recipes_dir))
    unknown = [name for name in names if name not in templates | recipes]
    if unknown:
        raise NotFoundError(
            f"{', '.join(unknown)} is neither a template in {lake.config.templates_dir} nor a "
            f"recipe in {lake.config.recipes_dir}; `lake status` alone lists them all."
        )
    return [n for n in names if n in templates], [n for n in names if n in recipes]


def _print_status(found: Status) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    if found.sources:
        table = Table(title=f"Sources, as of {_short(found.as_of)} UTC", title_justify="left")
        table.add_column("source", min_width=max(len(s.dataset) for s in found.sources))
        for column in ("state", "latest (age)", "fetched", "next due", "upstream"):
            table.add_column(column, no_wrap=True)
        for source in found.sources:
            table.add_row(*_source_row(source))
        console.print(table)
        for source in found.sources:
            if source.error or source.upstream.state in ("newer", "failed"):
                detail = source.error or source.upstream.detail
                console.print(f"  {source.dataset}: {escape(detail)}")
    if found.products:
        table = Table(title="Products", title_justify="left")
        for column in ("product", "state", "lock"):
            table.add_column(column)
        table.add_column("latest build", no_wrap=True)
        table.add_column("published")
        for product in found.products:
            table.add_row(*_product_row(product))
        console.print(table)
    if not found.sources and not found.products:
        console.print("No templates or recipes here yet; `lake init` and `lake demo` make some.")


STATE_STYLE = {
    "overdue": "red",
    "error": "red",
    "changed upstream": "yellow",
    "due": "yellow",
    "never fetched": "yellow",
    "current": "green",
    "lock behind": "yellow",
    "build behind": "yellow",
    "never built": "yellow",
    "no lock": "yellow",
}


def _styled(state: str) -> str:
    style = STATE_STYLE.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def _source_row(source: SourceStatus) -> list[str]:
    from lakehouse.cadence import describe_duration

    if source.error is not None:
        return [source.dataset, _styled("error"), "", "", "", ""]
    latest = ""
    if source.latest is not None and source.age is not None:
        latest = f"{source.latest} ({describe_duration(source.age)})"
    fetched = ""
    if source.fetched_at is not None:
        fetched = f"{describe_duration(source.as_of - source.fetched_at)} ago"
    due = _due_text(source) if source.next_due is not None else ""
    return [
        source.dataset,
        _styled(source.state),
        latest,
        fetched,
        due,
        source.upstream.state,
    ]


def _due_text(source: SourceStatus) -> str:
    """When the source is next due: in UTC (as the table's title says), or on the clock of
    the time zone its cadence names, with the zone's abbreviation (`11-30 06:00 EST`)."""
    from lakehouse.cadence import split_zone
    from lakehouse.cron import time_zone

    assert source.next_due is not None
    zone = split_zone(source.cadence)[1] if source.cadence else "UTC"
    if zone == "UTC":
        return f"{source.next_due:%m-%d %H:%M}"
    return f"{source.next_due.astimezone(time_zone(zone)):%m-%d %H:%M %Z}"


def _product_row(product: ProductStatus) -> list[str]:
    from rich.markup import escape

    if product.error is not None:
        return [product.product, _styled("error"), escape(product.error), "", ""]
    lock = "no lock" if not product.locked else "current"
    if product.behind:
        lock = ", ".join(f"{b.alias} {b.pinned} → {b.latest}" for b in product.behind)
    build = "none"
    if product.latest_build is not None:
        verdict = "passed" if product.build_passed else "failed"
        build = f"{product.latest_build} {verdict}"
        if product.rebuild:
            build += f"; would rebuild {len(product.rebuild)} model(s)"
    published = product.published or "never"
    if product.published_at is not None:
        published += f" ({_short(product.published_at)})"
    return [product.product, _styled(product.state), escape(lock), escape(build), published]


def _short(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


@app.command()
def update(
    datasets: Annotated[
        list[str] | None,
        typer.Argument(help="Only these datasets' sources (default: every template)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would be fetched and built; change nothing."),
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for another update that is running (default: stop at once).",
        ),
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Fetch every source that is due (by its template's `cadence`) or changed upstream, then
    lock and build, with their contracts, the products that read what changed (publishing only
    a product whose recipe says `publish_on_update: true`). One update runs at a time per
    store; a killed run's lock is taken over. Exit code 1 when something failed."""
    from rich.markup import escape

    from lakehouse.schedule.update import update as run_update

    _json_mode("update", as_json)
    lake = _open()
    console = _console(stderr=True)
    say = (lambda line: None) if as_json else (lambda line: console.print(f"… {escape(line)}"))
    report = _run(lambda: run_update(lake, datasets=datasets, dry_run=dry_run,
                                     wait_seconds=wait, say=say))  # fmt: skip
    if as_json:
        from lakehouse.cli.json_output import print_data

        print_data("update", report.to_dict())
    else:
        _print_update(report)
    if report.failed:
        raise typer.Exit(1)


ACTION_STYLE = {"failed": "red", "skipped": "red", "archived": "green", "built": "green",
                "published": "green", "not locked": "yellow"}  # fmt: skip


def _print_update(report: UpdateReport) -> None:
    from rich.markup import escape

    console = _console()
    prefix = "would: " if report.dry_run else ""
    if report.took_over:
        console.print(f"[yellow]took over[/yellow] the update lock of {report.took_over}")
    for source in report.sources:
        style = ACTION_STYLE.get(source.action, "")
        action = f"[{style}]{source.action}[/{style}]" if style else source.action
        what = f" {source.version}" if source.version else ""
        error = f": {escape(source.error)}" if source.error else ""
        console.print(f"{source.dataset}: {action}{what}; {escape(source.why)}{error}")
    for product in report.products:
        style = ACTION_STYLE.get(product.action, "")
        action = f"[{style}]{product.action}[/{style}]" if style else product.action
        what = f" {product.build_id}" if product.build_id else ""
        if product.published:
            what += f" as {product.published}"
        error = f": {escape(product.error)}" if product.error else ""
        console.print(f"{product.product}: {action}{what}; {escape(product.why)}{error}")
    if report.current:
        console.print(f"{prefix}current, not fetched: {', '.join(report.current)}")
    if not report.sources and not report.products:
        console.print("Nothing is due or changed upstream; nothing to do.")
    for path in report.locks_written:
        console.print(f"lock written: {path} (commit it with the build's code)")
