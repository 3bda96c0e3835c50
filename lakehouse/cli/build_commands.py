"""`lake` commands for builds: lock, plan, build, check, builds, sql."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.json_output import JSON_HELP
from lakehouse.cli.shell import (
    _console,
    _fail,
    _json_mode,
    _open,
    _preview_cell,
    _progress,
    _run,
    _text,
    _utc,
    app,
)

if TYPE_CHECKING:
    from lakehouse.contracts.contract import ContractReport
    from lakehouse.project import Lakehouse
    from lakehouse.transform.builder import BuildResult
    from lakehouse.transform.plan import Plan

ENGINE_HELP = (
    "duckdb (in-process, the default), spark (the same transforms on ibis's PySpark backend; "
    "LAKEHOUSE_SPARK_MASTER picks the master, default local[2]), or an engine a plugin "
    "registers (entry point group lakehouse.engines)."
)


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


SELECT_HELP = (
    "Run only these models of the product, into the cache (no build is recorded): `m` (with "
    "what it reads), `m+` (and every model that reads it), `+m` (and every model it reads). "
    "Repeat for more. The next full `lake build` reuses what they computed."
)


@app.command()
def build(
    product: Annotated[
        str | None, typer.Argument(help="Product name (recipes/<product>.yml); or --all.")
    ] = None,
    all_products: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Build every product of the project, each after the products it reads; a "
            "failed product's readers are skipped, the others go on.",
        ),
    ] = False,
    select: Annotated[list[str] | None, typer.Option("--select", "-s", help=SELECT_HELP)] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="Ignore the lock: build from the newest versions.")
    ] = False,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Recompute every model, ignoring the cache.")
    ] = False,
    engine: Annotated[str, typer.Option("--engine", help=ENGINE_HELP)] = "duckdb",
) -> None:
    """Build a product from its locked inputs into builds/<product>/<build id>/ (printing its
    plan first: stale inputs of the lock, the models to rebuild); or every product (--all);
    or some of a product's models (--select), to iterate on one part."""
    if all_products:
        if product is not None or select:
            _fail("`lake build --all` builds every product: give no product and no --select.")
        _build_all(latest, full_refresh, engine)
        return
    if product is None:
        _fail("Name the product to build (see `lake catalog`), or build them all with --all.")
    lake = _open()
    _print_short_plan(lake, product, latest, full_refresh, engine, select or [])
    with _progress(f"build {product}") as report:
        result = _run(
            lambda: lake.build(
                product,
                latest=latest,
                full_refresh=full_refresh,
                progress=report,
                engine=engine,
                select=select or [],
            )
        )
    _print_build(lake, result)


def _print_build(lake: Lakehouse, result: BuildResult) -> None:
    console = _console()
    width = max([24, *(len(run.name) for run in result.models)])
    for run in result.models:
        console.print(
            f"  {run.layer:<12} {run.name:<{width}} {run.status:<6} "
            f"{f'{run.rows:,} rows' if run.rows is not None else '':>16} "
            f"{run.seconds:8.2f} s",
            markup=False,
        )
    if result.all_cached:
        console.print("every model unchanged: all reused from the cache")
    if result.contracts.results:
        console.print(f"contracts: {result.contracts.summary()}")
        _print_failed_rules(result.contracts)
    if result.selected:
        console.print(
            f"selected {', '.join(result.selected)}: results kept in the cache, no build "
            f"recorded; `lake build {result.product}` makes the build and reuses them."
        )
        return
    console.print(f"build [bold]{result.build_id}[/bold] at {lake.store.url(result.folder)}")
    for output in result.outputs.values():
        parts = f" ({len(output.parts)} parts)" if output.parts else ""
        console.print(f"  {output.path}{parts}: {output.rows:,} rows")
    product = result.product
    table = product if f"outputs/{product}" in result.outputs else _first_output(result.outputs)
    console.print(f'query it: lake sql {product} "SELECT count(*) FROM {table}"')


def _build_all(latest: bool, full_refresh: bool, engine: str) -> None:
    """Every product in order, each printed as it finishes; exit 1 if any failed."""
    from lakehouse.errors import LakehouseError

    lake = _open()
    console = _console()
    outcomes = []
    with _progress("build --all") as report:
        builds = _run(
            lambda: lake.build_all(
                latest=latest, full_refresh=full_refresh, progress=report, engine=engine
            )
        )
        while True:
            outcome = _run(lambda: next(builds, None))
            if outcome is None:
                break
            outcomes.append(outcome)
            console.rule(outcome.product)
            if outcome.result is not None:
                _print_build(lake, outcome.result)
            elif outcome.skipped_for is not None:
                console.print(f"skipped: it reads {outcome.skipped_for}, whose build failed")
            else:
                assert isinstance(outcome.error, LakehouseError)
                console.print(f"[red]failed:[/red] {_text(outcome.error)}")
    console.rule("all products")
    for outcome in outcomes:
        if outcome.result is not None:
            said = f"built {outcome.result.build_id}"
        elif outcome.skipped_for is not None:
            said = f"skipped (reads {outcome.skipped_for})"
        else:
            said = "FAILED"
        console.print(f"  {outcome.product:<24} {said}", markup=False)
    if not outcomes:
        console.print("no products: write recipes/<product>.yml (see recipes/pluto_lite.yml)")
    if any(not outcome.passed for outcome in outcomes):
        raise typer.Exit(1)


@app.command()
def plan(
    product: Annotated[str, typer.Argument(help="Product name (recipes/<product>.yml).")],
    latest: Annotated[
        bool, typer.Option("--latest", help="As `lake build --latest`: the newest versions.")
    ] = False,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="As `lake build --full-refresh`.")
    ] = False,
    engine: Annotated[str, typer.Option("--engine", help=ENGINE_HELP)] = "duckdb",
    select: Annotated[
        list[str] | None, typer.Option("--select", "-s", help="As `lake build --select`.")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="The plan as JSON (its shape: lakehouse/transform/plan.py)."),
    ] = False,
) -> None:
    """What `lake build` would do, without running a model: each input the lock pins against
    the newest one (stale pins flagged, fixed by `lake lock`), and each model rebuilt, reused
    or a view, with why it is rebuilt (code, shared helper, input, contract, never built)."""
    _json_mode("plan", as_json)  # errors as JSON too (the plan keeps its own shape)
    lake = _open()
    found = _run(
        lambda: lake.plan(
            product, latest=latest, full_refresh=full_refresh, engine=engine, select=select or []
        )
    )
    if as_json:
        typer.echo(found.to_json())
        return
    _print_plan(found)


def _print_plan(found: Plan) -> None:
    console = _console()
    lock = found.lock or "no lock: the latest versions"
    compared = f"; compared with build {found.compared_with}" if found.compared_with else ""
    console.print(f"plan for {found.product} ({lock}{compared})", markup=False)
    console.print("inputs:")
    alias_width = max([20, *(len(entry.alias) for entry in found.inputs)])
    name_width = max([28, *(len(entry.name) for entry in found.inputs)])
    for entry in found.inputs:
        newest = entry.latest or "none"
        flag = "STALE" if entry.stale else ("pinned by the recipe" if entry.fixed else "")
        console.print(
            f"  {entry.alias:<{alias_width}} {entry.name:<{name_width}} {entry.pinned:<24} "
            f"latest {newest:<24} {flag}".rstrip(),
            markup=False,
        )
    console.print("models:")
    model_width = max([28, *(len(model.name) for model in found.models)])
    for model in found.models:
        why = "; ".join(reason.detail for reason in model.reasons)
        checked = [c.defined_in for c in model.contracts if c.action == "check"]
        if model.action == "reuse" and checked:
            why = f"contract checked again ({', '.join(checked)})"
        console.print(
            f"  {model.layer:<12} {model.name:<{model_width}} {model.action:<8} {why}".rstrip(),
            markup=False,
        )
    for line in found.short_lines():
        console.print(line, markup=False)


def _print_short_plan(
    lake: Lakehouse,
    product: str,
    latest: bool,
    full_refresh: bool,
    engine: str,
    select: list[str],
) -> None:
    """The plan's short form, before a build: a plan that cannot be made prints nothing (the
    build then says what is wrong, with its damaged records named once)."""
    import warnings

    from lakehouse.errors import LakehouseError
    from lakehouse.records import DamagedRecordWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DamagedRecordWarning)
            found = lake.plan(
                product, latest=latest, full_refresh=full_refresh, engine=engine, select=select
            )
    except (LakehouseError, OSError):
        return
    for line in found.short_lines():
        _console().print(line, markup=False)


def _first_output(outputs: Mapping[str, object]) -> str:
    """The table of a product's first output (`outputs/<name>` -> name)."""
    return next(iter(outputs)).rsplit("/", 1)[-1] if outputs else "<model>"


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
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Re-run a product's contracts (from its data dictionary, as it is now) on an existing
    build, `references` too: against the build's outputs, kept models and locked inputs (a
    reference to a model the build did not write out is reported as not checked)."""
    from lakehouse.cli.json_output import check_data, print_data

    _json_mode("check", as_json)
    lake = _open()
    entry, report = _run(lambda: lake.check(product, build_id=build_id))
    if as_json:
        print_data("check", check_data(product, entry, report))
        if not report.passed:
            raise typer.Exit(1)
        return
    console = _console()
    console.print(f"build {entry.build_id}: {report.summary()}")
    for unchecked in report.unchecked:  # e.g. a reference to a model the build did not keep
        console.print(f"not checked: {unchecked.text()}", markup=False)
    _print_failed_rules(report)
    if not report.passed:
        console.print(f"build {entry.build_id} fails: {report.advice()}.", markup=False)
        raise typer.Exit(1)


@app.command()
def builds(
    product: Annotated[str, typer.Argument(help="Product name.")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List a product's builds, oldest first."""
    from rich.table import Table

    from lakehouse.cli.json_output import builds_data, print_data

    _json_mode("builds", as_json)
    lake = _open()
    found = _run(lambda: lake.builds(product))
    if as_json:
        print_data("builds", builds_data(product, found))
        return
    if not found:
        _console().print(f"{product}: no builds yet; run `lake build {product}`.")
        return
    table = Table(title=f"{product}: {len(found)} build(s)")
    for column in ("build", "started (UTC)", "status", "input versions", "models built", "git"):
        table.add_column(column)
    for entry in found:
        built = sum(1 for run in entry.models.values() if run.status == "built")
        commit = (entry.git.commit or "")[:8] + (" dirty" if entry.git.dirty else "")
        table.add_row(
            entry.build_id,
            _utc(entry.started_at),
            entry.status,
            ", ".join(sorted({v.version for v in entry.lock.inputs.values()})),
            f"{built}/{len(entry.models)}",
            commit,
        )
    _console().print(table)


@app.command()
def sql(
    product: Annotated[
        str | None, typer.Argument(help="A product: QUERY then runs on its build's models.")
    ] = None,
    query: Annotated[str | None, typer.Argument(help="SQL over the build's models.")] = None,
    command: Annotated[
        str | None,
        typer.Option("--command", "-c", help="SQL over every version's view (see below)."),
    ] = None,
    build_id: Annotated[
        str | None, typer.Option("--build", help="Build id (default: the latest build).")
    ] = None,
    rows: Annotated[int, typer.Option(help="At most this many rows are shown.", min=1)] = 50,
) -> None:
    """SQL on DuckDB. `lake sql PRODUCT QUERY` runs on a build's database (every model is a
    view). `lake sql -c QUERY` and the shell (`lake sql`, statements end with `;`, `.views`
    lists the views, `.quit` leaves; or pipe statements in) see every dataset version, build
    and published version as a view: source.dof_pts, source.dof_pts_v20261124,
    build.pluto_lite, build.pluto_lite_<build id>, published.pluto_lite,
    published.pluto_lite_25v1."""
    if product is not None:
        if query is None:
            _fail(f'Give a query too: lake sql {product} "SELECT count(*) FROM {product}".')
        lake = _open()
        columns, records = _run(lambda: lake.sql(product, query, build_id=build_id, limit=rows))
        _print_rows(columns, records)
        return
    from lakehouse.explore.explorer import Explorer

    lake = _open()
    explorer = Explorer(lake)
    views = _run(explorer.register_views)
    if command is not None:
        if not _run_statement(explorer, command, rows):
            raise typer.Exit(1)  # a script running `lake sql -c` sees the failure
        return
    _shell(explorer, views, rows)


def _print_rows(columns: list[str], records: list[tuple[object, ...]]) -> None:
    from rich.table import Table

    table = Table()
    for name in columns:
        table.add_column(name, overflow="fold")
    for record in records:
        table.add_row(*(_preview_cell(value) for value in record))
    _console().print(table)


def _run_statement(explorer: object, statement: str, rows: int) -> bool:
    """Run one statement; print its rows or its error. Returns whether it worked."""
    import duckdb

    con = explorer.con.con  # type: ignore[attr-defined]
    try:
        result = con.execute(statement)
    except duckdb.Error as exc:
        _console(stderr=True).print(f"Error: {str(exc).splitlines()[0]}", markup=False)
        return False
    if result.description:
        _print_rows([d[0] for d in result.description], result.fetchmany(rows))
    return True


def _shell(explorer: object, views: list[str], rows: int) -> None:
    import sys

    interactive = sys.stdin.isatty()
    console = _console()
    if interactive:
        console.print(
            f"{len(views)} views (.views lists them); end statements with ;  .quit to leave"
        )
    buffer = ""
    failed = False
    while True:
        if interactive:
            console.print("lake> " if not buffer else "  ... ", end="")
        line = sys.stdin.readline()
        if not line:
            break
        stripped = line.strip()
        if not buffer and stripped in {".quit", ".exit"}:
            break
        if not buffer and stripped == ".views":
            console.print("\n".join(views), markup=False)
            continue
        buffer += line
        if stripped.endswith(";"):
            failed |= not _run_statement(explorer, buffer, rows)
            buffer = ""
    if buffer.strip():
        failed |= not _run_statement(explorer, buffer, rows)
    if failed and not interactive:
        raise typer.Exit(1)
