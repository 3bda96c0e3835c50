"""`lake test`: a product's rule tests, small hand-written tables run through its models (the
library: lakehouse/transform/rule_tests/, whose __init__ docstring describes the file format)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.shell import _console, _fail, _run, app, state

if TYPE_CHECKING:
    from lakehouse.config import LakehouseConfig
    from lakehouse.transform.rule_tests import RuleTestResult

HELP = "\n\n".join(
    [
        "Run a product's rule tests (without PRODUCT: every product's that has some): small "
        "input tables written by hand and the rows one model must return, run through the "
        "product's models on DuckDB, as dbt's unit tests do. Exit code 1 when a test fails or "
        "is in error.",
        "Tests live in transforms/<product>/tests/*.yml, several per file, e.g. `tests: [{name: "
        'zipcode_cleaning, model: stg_dof_pts, given: {dof_pts: [{bbl: "1000010001", zipcode: '
        '"011201"}]}, expect: [{bbl: 1000010001, zipcode: "11201"}]}]`.',
        "given: recipe inputs or models -> rows (a list of mappings), or {csv: file.csv} (next "
        "to the test file; every value text), with optional `types: {column: <ibis type>}`; the "
        "models between them and the model under test are computed. A top-level `defaults: "
        "{table: {column: value}}` fills the columns a row leaves out. Quote the values of raw "
        'text inputs ("011201": unquoted, YAML reads a number).',
        "expect: the rows (only the columns they list are compared, rows in any order), or "
        "`{order: as_given, rows: [...]}`. Numbers compare by value, dates and timestamps from "
        "ISO text, null is null.",
        "The format in full: docs/new-product.md and lakehouse/transform/rule_tests/__init__.py.",
    ]
)


@app.command("test", help=HELP)
def rule_tests(
    product: Annotated[
        str | None,
        typer.Argument(help="Product name (recipes/<product>.yml); default: every product."),
    ] = None,
    select: Annotated[
        str | None,
        typer.Option("--select", "-s", help="Run only the test of this name, or a model's tests."),
    ] = None,
) -> None:
    from lakehouse.config import load_config
    from lakehouse.transform.rule_tests import no_tests_message

    config = _run(lambda: load_config(state.config))  # paths only: the store is not needed
    products = _products(config, product)
    if not products:
        _console().print(no_tests_message("any product" if product is None else product))
        return
    results: list[RuleTestResult] = []
    for name in products:
        results += _run_product(config, name, select, named=product is not None)
    if select is not None and not results:
        _fail(
            f"No rule test or model named {select!r} in the tests of {', '.join(products)}; "
            "check the name given to --select."
        )
    if not results:
        return
    _print_summary(results)
    if not all(result.passed for result in results):
        raise typer.Exit(1)


def _products(config: LakehouseConfig, product: str | None) -> list[str]:
    """The product asked for (which must exist), or every product that has rule tests."""
    from lakehouse.transform.recipe import list_recipes
    from lakehouse.transform.rule_tests import has_rule_tests

    known = list_recipes(config.recipes_dir)
    if product is None:
        return [name for name in known if has_rule_tests(config.transforms_dir, name)]
    if product not in known:
        _fail(_unknown_product(product, known, config.recipes_dir))
    return [product]


def _unknown_product(product: str, known: list[str], recipes_dir: Path) -> str:
    import difflib

    close = difflib.get_close_matches(product, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"products: {', '.join(known) or 'none'}."
    return f"There is no product {product!r} ({recipes_dir / product}.yml does not exist); {hint}"


def _run_product(
    config: LakehouseConfig, product: str, select: str | None, named: bool
) -> list[RuleTestResult]:
    from lakehouse.transform.rule_tests import (
        load_rule_tests,
        no_tests_message,
        run_loaded_tests,
        select_rule_tests,
    )

    console = _console()
    tests = _run(lambda: load_rule_tests(config.transforms_dir, product))
    if not tests and named:
        console.print(no_tests_message(product), markup=False)
    chosen = select_rule_tests(tests, select)
    if not chosen:
        return []
    console.print(f"{product}: {_count(len(chosen))}", markup=False)
    return _run(
        lambda: run_loaded_tests(config.transforms_dir, product, chosen, on_result=_print_result)
    )


def _print_result(result: RuleTestResult) -> None:
    console = _console()
    mark = "[green]✓[/green]" if result.passed else "[red]✗[/red]"
    status = "" if result.passed else f"  [red]{result.status}[/red]"
    console.print(
        f"  {mark} {result.test.name:<40} {result.test.model:<24} {result.seconds:6.2f} s{status}"
    )
    if result.message is not None:
        console.print(f"      {result.message}", markup=False)
    if result.diff is not None:
        for line in result.diff.lines():
            console.print(f"      {line}", markup=False)


def _print_summary(results: list[RuleTestResult]) -> None:
    counts = {status: sum(r.status == status for r in results) for status in ("passed", "failed")}
    errors = len(results) - counts["passed"] - counts["failed"]
    seconds = sum(r.seconds for r in results)
    colour = "green" if counts["passed"] == len(results) else "red"
    _console().print(
        f"[{colour}]{_count(len(results))}: {counts['passed']} passed, {counts['failed']} "
        f"failed, {errors} in error[/{colour}] ({seconds:.2f} s)"
    )


def _count(tests: int) -> str:
    return f"{tests} rule test{'s' * (tests != 1)}"
