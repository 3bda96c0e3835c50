"""Running rule tests: the model under test (and the models it reads that are not given)
computed from the given tables on DuckDB through ibis, its output compared with the expected
rows; each test passes, fails with its diff, or is in error with one sentence."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lakehouse.errors import BuildError, ConfigError, LakehouseError, NotFoundError, first_line
from lakehouse.transform.models import Model, load_models, plan
from lakehouse.transform.rule_tests.compare import RowDiff, compare
from lakehouse.transform.rule_tests.files import RuleTest, load_rule_tests, select_rule_tests
from lakehouse.transform.rule_tests.given import given_table

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

Status = Literal["passed", "failed", "error"]


@dataclass(frozen=True)
class RuleTestResult:
    test: RuleTest
    status: Status
    seconds: float
    message: str | None = None  # status error: one sentence naming the file and the test
    diff: RowDiff | None = None  # status failed

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def run_rule_tests(
    transforms_dir: Path,
    product: str,
    select: str | None = None,
    on_result: Callable[[RuleTestResult], None] | None = None,
    con: Any = None,
) -> list[RuleTestResult]:
    """Run the product's rule tests (those `select` names: a test or a model), each result
    passed to `on_result` as it comes; `con` is an ibis DuckDB connection to run on (a new
    in-memory one by default). No tests: an empty list; a `select` that names nothing is a
    NotFoundError."""
    tests = load_rule_tests(transforms_dir, product)
    chosen = select_rule_tests(tests, select)
    if select is not None and not chosen:
        names = ", ".join(t.name for t in tests) or "none"
        raise NotFoundError(
            f"No rule test or model named {select!r} among {product}'s tests ({names}); check "
            "the name given to --select."
        )
    return run_loaded_tests(transforms_dir, product, chosen, on_result, con)


def run_loaded_tests(
    transforms_dir: Path,
    product: str,
    tests: Sequence[RuleTest],
    on_result: Callable[[RuleTestResult], None] | None = None,
    con: Any = None,
) -> list[RuleTestResult]:
    """Run tests already loaded (`load_rule_tests`), on the product's models."""
    if not tests:
        return []
    import ibis

    models = load_models(transforms_dir, product)
    con = con if con is not None else ibis.duckdb.connect()
    results = []
    for test in tests:
        result = run_rule_test(test, models, con)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def run_rule_test(test: RuleTest, models: Mapping[str, Model], con: Any) -> RuleTestResult:
    """Run one test on `con` (an ibis DuckDB connection): passed, failed with its diff, or
    error with its message."""
    started = time.perf_counter()
    try:
        actual = _run_model(test, models, con)
        diff = compare(test, actual)
    except LakehouseError as exc:
        return RuleTestResult(test, "error", time.perf_counter() - started, message=str(exc))
    status: Status = "passed" if diff is None else "failed"
    return RuleTestResult(test, status, time.perf_counter() - started, diff=diff)


def _run_model(test: RuleTest, models: Mapping[str, Model], con: Any) -> pa.Table:
    """The model under test's output, computed from the given tables (and the models it
    reads that are not given), as an Arrow table."""
    computed = _models_to_compute(test, models)
    tables = {name: given_table(test, name) for name in test.spec.given}
    for name in plan(computed, tables, [test.model]):
        tables[name] = _call_model(test, name, models[name], tables)
    return _execute(test, con, tables[test.model])


def _call_model(test: RuleTest, name: str, found: Model, tables: Mapping[str, Any]) -> ir.Table:
    """The model's expression on the tables computed so far; what it raises, or a result that
    is not a table, is a BuildError naming the test."""
    return found.expression(
        tables, where=test.where, advice="fix the transform or the test's given tables"
    )


def _models_to_compute(test: RuleTest, models: Mapping[str, Model]) -> dict[str, Model]:
    """The models the test computes (the model under test and what it reads, up to the
    given tables); unknown, missing and unused names are errors naming the test."""
    _check_model_under_test(test, models)
    needed, read = _models_read(test, models)
    unused = sorted(set(test.spec.given) - read)
    if unused:
        raise ConfigError(
            f"{test.where}: field 'given': {', '.join(unused)} is read by neither "
            f"{test.model!r} nor the models it needs; remove it or check the name."
        )
    return {name: models[name] for name in needed}


def _check_model_under_test(test: RuleTest, models: Mapping[str, Model]) -> None:
    if test.model not in models:
        raise ConfigError(
            f"{test.where}: field 'model': {test.model!r} is not a model of {test.product} "
            f"(its models: {', '.join(sorted(models))}); fix the name."
        )
    if test.model in test.spec.given:
        raise ConfigError(
            f"{test.where}: {test.model!r} is the model under test and is also given; remove "
            f"it from given:."
        )


def _models_read(test: RuleTest, models: Mapping[str, Model]) -> tuple[set[str], set[str]]:
    """The model under test and the models it reads, not going past a given table; and every
    name those models read. A name neither given nor a model is a ConfigError."""
    given = set(test.spec.given)
    needed: set[str] = set()
    read: set[str] = set()
    pending = [test.model]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        for dependency in models[name].inputs:
            read.add(dependency)
            if dependency in given:
                continue
            if dependency not in models:
                raise ConfigError(
                    f"{test.where}: model {name!r} reads {dependency!r}, which is neither given "
                    f"nor a model; add {dependency!r} under given:."
                )
            pending.append(dependency)
    return needed, read


def _execute(test: RuleTest, con: Any, expression: ir.Table) -> pa.Table:
    from lakehouse.transform.engines.duckdb import uses_geometry

    try:
        if uses_geometry(expression):
            _load_spatial(con)
        return con.to_pyarrow(expression)
    except LakehouseError:
        raise
    except Exception as exc:
        raise BuildError(
            f"{test.where}: the engine failed running {test.model!r} or a model it reads: "
            f"{first_line(exc)}; fix the transform or the given tables."
        ) from exc


def _load_spatial(con: Any) -> None:
    import tempfile

    from lakehouse.spatial import load_spatial

    load_spatial(con.con, Path(tempfile.gettempdir()) / "lakehouse")
