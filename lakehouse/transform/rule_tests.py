"""Rule tests (`lake test`): a product's rules checked on small tables written by hand, as dbt's
unit tests do. Each test gives a few input rows and the rows one model must return; the
models run on DuckDB through ibis, the engine builds use, with nothing archived or cached.

Test files are `transforms/<product>/tests/*.yml` (or .yaml); one file holds several tests:

    defaults:                      # optional: the value a column takes when a row leaves it out
      dof_pts: {bbl: "1000010001", boro: "1", zipcode: "10004", ...}
    tests:
      - name: zipcode_drops_zip4   # unique in the product; `lake test p --select <name>`
        description: the part before the first '-' is kept   # optional
        model: stg_dof_pts         # the model under test
        given:                     # recipe inputs or models -> rows
          dof_pts:
            - {zipcode: "11201-1234"}
        expect:                    # rows of the model's output
          - {bbl: 1000010001, zipcode: "11201"}
      - name: zoning_ranks
        model: zoning_by_lot
        given:
          zoning_lots:             # the mapping form: rows or csv, and types
            csv: zoning.csv        # next to this file: every value text, an empty field null
        expect:                    # the mapping form: order and rows
          order: as_given          # any (the default: rows compared as multisets) | as_given
          rows:
            - {bbl: 1000010001, zonedist1: "R6", zonedist2: null, splitzone: false}

Given tables. A recipe input or a model named under `given:` is that table; a model given is
not computed (a test of `lots` may give `stg_dof_pts` directly). The models the model under
test reads, and are not given, are computed from the given tables; an input that is neither
given nor a model is an error, and so is a given table nothing reads. A row may leave columns
out: they take the file's `defaults` for that table, else null. A column's type comes from
its YAML values: text stays text (raw inputs are text in this project: quote their values,
`"011201"`, since YAML reads 011201 as a number), whole numbers int64, numbers with a point
float64, true/false boolean, unquoted 2024-01-01 a date, 2024-01-01 10:00:00 a timestamp; a
column of nulls only is text; `types: {column: <ibis type>}` casts a column's values, written
as text, to any type (decimal(7, 2), date, geometry from WKT, ...). A column that mixes kinds
(text and numbers) must be given a type.

Expected rows. Only the columns expect lists are compared (every expected row lists the same
ones; a column the output lacks is an error). Values are compared by the output column's type:
numbers by value (1 = 1.0 = a decimal 1.00; a float equals the number Python prints for it:
0.33, not 0.330000001), dates and timestamps from YAML dates or ISO text, a geometry from WKT
(at 6 decimals), null as YAML null; a value of the wrong kind (an unquoted 10004 for a text
column) is an error, not a mismatch. `expect: []`: the model returns no rows.

Results. A test passes, fails (its `diff`: the expected rows not produced and the rows produced
that were not expected, at most 10 of each, or the order when `order: as_given`), or is in error
(a model raised, the engine failed, the test names something that does not exist): `message`
is then one sentence naming the file and the test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from lakehouse.errors import (
    BuildError,
    ConfigError,
    LakehouseError,
    NotFoundError,
    describe_validation_error,
)
from lakehouse.records import Strict, load_yaml_model
from lakehouse.transform.models import Model, load_models, plan

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

TESTS_FOLDER = "tests"  # transforms/<product>/tests/*.yml
SHOWN_ROWS = 10  # rows of each kind a failure shows
DOCS = "docs/new-product.md"
Status = Literal["passed", "failed", "error"]


# -- the file format ------------------------------------------------------------------------


class GivenTable(Strict):
    """A given table: rows written in the test, or a CSV file; types for some columns."""

    rows: list[dict[str, Any]] | None = None
    csv: str | None = None  # relative to the test file
    # column -> ibis type: the column's values, written as text, cast to it
    types: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _rows_alone(cls, data: Any) -> Any:
        """`name: [rows]` (or `name:` with nothing) is `name: {rows: [rows]}`."""
        if data is None:
            return {"rows": []}
        return {"rows": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _rows_or_csv(self) -> GivenTable:
        if self.rows is not None and self.csv is not None:
            raise ValueError("give rows or csv, not both")
        return self

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: dict[str, str]) -> dict[str, str]:
        import ibis

        for column, name in types.items():
            try:
                ibis.dtype(name)
            except Exception:
                raise ValueError(
                    f"{column}: {name!r} is not an ibis type (e.g. string, int64, float64, "
                    "decimal(7, 2), boolean, date, timestamp, geometry)"
                ) from None
        return types


class Expectation(Strict):
    """The rows the model under test must return (only the columns they list)."""

    rows: list[dict[str, Any]]
    order: Literal["any", "as_given"] = "any"

    @model_validator(mode="before")
    @classmethod
    def _rows_alone(cls, data: Any) -> Any:
        return {"rows": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _same_columns(self) -> Expectation:
        for number, row in enumerate(self.rows[1:], start=2):
            if set(row) != set(self.rows[0]):
                raise ValueError(
                    f"row {number} lists {', '.join(row) or 'no columns'} but row 1 lists "
                    f"{', '.join(self.rows[0]) or 'no columns'}; list the same columns in "
                    "every row"
                )
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.rows[0]) if self.rows else ()


class RuleTestSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
    description: str | None = None
    model: str
    given: dict[str, GivenTable]
    expect: Expectation


class RuleTestFile(Strict):
    defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tests: list[dict[str, Any]]  # each validated as a RuleTestSpec, its errors naming it


# -- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleTest:
    """One rule test, as read from its file."""

    product: str
    file: Path
    where: str  # "<file>: test '<name>'", how messages name it
    spec: RuleTestSpec
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def model(self) -> str:
        return self.spec.model


def rule_test_files(transforms_dir: Path, product: str) -> list[Path]:
    """The product's test files, in name order (none when it has no tests/ folder)."""
    folder = transforms_dir / product / TESTS_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def load_rule_tests(transforms_dir: Path, product: str) -> list[RuleTest]:
    """Every rule test of the product, validated; a misspelt field, a missing CSV file or a
    name used twice is a ConfigError naming the file (and the test)."""
    found: dict[str, RuleTest] = {}
    for path in rule_test_files(transforms_dir, product):
        shown = _shown_path(path, transforms_dir)
        document = load_yaml_model(path, RuleTestFile, "tests: (a list of tests)")
        for number, raw in enumerate(document.tests, start=1):
            test = _read_test(path, shown, number, raw, product, document.defaults)
            if test.name in found:
                raise ConfigError(
                    f"{shown}: the test name {test.name!r} is used before, in "
                    f"{_shown_path(found[test.name].file, transforms_dir)}; rename one."
                )
            found[test.name] = test
    return list(found.values())


def _read_test(
    path: Path,
    shown: str,
    number: int,
    raw: Mapping[str, Any],
    product: str,
    defaults: Mapping[str, Mapping[str, Any]],
) -> RuleTest:
    name = raw.get("name")
    label = f"test {name!r}" if isinstance(name, str) and name else f"test {number}"
    try:
        spec = RuleTestSpec(**raw)
    except ValidationError as exc:
        raise ConfigError(f"{shown}: {label}: {describe_validation_error(exc)}.") from exc
    for given_name, table in spec.given.items():
        if table.csv is not None and not (path.parent / table.csv).is_file():
            raise ConfigError(
                f"{shown}: {label}: field 'given.{given_name}.csv': there is no file "
                f"{path.parent / table.csv}; write it or fix the path (relative to the test file)."
            )
    return RuleTest(product, path, f"{shown}: {label}", spec, defaults)


def _shown_path(path: Path, transforms_dir: Path) -> str:
    """A test file's path from the project folder (transforms/<product>/tests/x.yml)."""
    try:
        return str(path.relative_to(transforms_dir.parent))
    except ValueError:
        return str(path)


def select_rule_tests(tests: Iterable[RuleTest], select: str | None) -> list[RuleTest]:
    """The tests named `select`, or those of the model `select` (all when None)."""
    return [t for t in tests if select is None or select in (t.name, t.model)]


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowDiff:
    """How the model's rows differ from the expected ones, in the expected columns."""

    columns: tuple[str, ...]
    missing: list[tuple[Any, ...]]  # expected, not produced (at most SHOWN_ROWS)
    unexpected: list[tuple[Any, ...]]  # produced, not expected (at most SHOWN_ROWS)
    missing_count: int
    unexpected_count: int
    expected_rows: int
    produced_rows: int
    # order: as_given with the right rows in another order: (expected, produced) row lists
    order: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None = None

    def lines(self) -> list[str]:
        """The difference as aligned text: `-` rows expected but not produced, `+` rows
        produced but not expected."""
        if self.order is not None:
            expected, produced = self.order
            return [
                "the right rows in another order (order: as_given); expected:",
                *_table(self.columns, [("  ", row) for row in expected]),
                "produced:",
                *_table(self.columns, [("  ", row) for row in produced]),
            ]
        lines = [
            f"expected {_rows(self.expected_rows)}, the model produced {self.produced_rows}: "
            f"{self.missing_count} expected not produced (-), {self.unexpected_count} produced "
            "not expected (+)"
        ]
        marked = [("- ", row) for row in self.missing] + [("+ ", row) for row in self.unexpected]
        # by the first column (a key, often), so that an expected row and the one produced
        # instead meet: - then +
        marked.sort(key=lambda pair: (_sort_key(pair[1][:1]), pair[0] == "+ ", _sort_key(pair[1])))
        lines += _table(self.columns, marked)
        for count, shown, what in (
            (self.missing_count, len(self.missing), "expected rows not produced"),
            (self.unexpected_count, len(self.unexpected), "unexpected rows"),
        ):
            if count > shown:
                lines.append(f"... and {count - shown} more {what}")
        return lines


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


# -- running ----------------------------------------------------------------------------------


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
    import ibis.expr.types as ir

    computed = _models_to_compute(test, models)
    tables = {name: given_table(test, name) for name in test.spec.given}
    for name in plan(computed, tables, [test.model]):
        found = models[name]
        try:
            expression = found(**{parameter: tables[parameter] for parameter in found.inputs})
        except Exception as exc:
            raise BuildError(
                f"{test.where}: model {name!r} ({found.defined_in}) raised "
                f"{exc.__class__.__name__}: {_first_line(exc)}; fix the transform or the "
                "test's given tables."
            ) from exc
        if not isinstance(expression, ir.Table):
            raise BuildError(
                f"{test.where}: model {name!r} ({found.defined_in}) returned a "
                f"{type(expression).__name__}, not a table; return an ibis table expression."
            )
        tables[name] = expression
    return _execute(test, con, tables[test.model])


def _models_to_compute(test: RuleTest, models: Mapping[str, Model]) -> dict[str, Model]:
    """The models the test computes (the model under test and what it reads, up to the
    given tables); unknown, missing and unused names are errors naming the test."""
    given = set(test.spec.given)
    if test.model not in models:
        raise ConfigError(
            f"{test.where}: field 'model': {test.model!r} is not a model of {test.product} "
            f"(its models: {', '.join(sorted(models))}); fix the name."
        )
    if test.model in given:
        raise ConfigError(
            f"{test.where}: {test.model!r} is the model under test and is also given; remove "
            f"it from given:."
        )
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
    unused = sorted(given - read)
    if unused:
        raise ConfigError(
            f"{test.where}: field 'given': {', '.join(unused)} is read by neither "
            f"{test.model!r} nor the models it needs; remove it or check the name."
        )
    return {name: models[name] for name in needed}


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
            f"{_first_line(exc)}; fix the transform or the given tables."
        ) from exc


def _load_spatial(con: Any) -> None:
    import tempfile

    from lakehouse.spatial import load_spatial

    load_spatial(con.con, Path(tempfile.gettempdir()) / "lakehouse")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


# -- given tables -----------------------------------------------------------------------------


def given_table(test: RuleTest, name: str) -> ir.Table:
    """A given table as an ibis table: its rows (the file's defaults filling the columns a
    row leaves out), typed from their values, then the declared types cast."""
    import ibis
    import pyarrow as pa

    table = test.spec.given[name]
    defaults = dict(test.defaults.get(name, {}))
    rows = [{**defaults, **row} for row in _given_rows(test, table)]
    columns = list(dict.fromkeys([*defaults, *(c for row in rows for c in row), *table.types]))
    if not columns:
        raise ConfigError(
            f"{test.where}: given {name!r} has no rows and no columns; list its columns under "
            "types: (e.g. {bbl: string}) or in the file's defaults:."
        )
    arrays = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        where = f"{test.where}: column {column!r} of given {name!r}"
        if column in table.types:
            arrays[column] = pa.array([_as_text(v) for v in values], pa.string())
        else:
            arrays[column] = _typed_array(values, defaults.get(column), where)
    memtable = ibis.memtable(pa.table(arrays))
    try:
        casts = {c: memtable[c].cast(ibis.dtype(t)) for c, t in table.types.items()}
    except Exception as exc:  # ibis refuses a cast from text to that type
        raise ConfigError(
            f"{test.where}: field 'given.{name}.types': {_first_line(exc)}; give another type."
        ) from exc
    return memtable.mutate(**casts) if casts else memtable


def _given_rows(test: RuleTest, table: GivenTable) -> list[dict[str, Any]]:
    if table.csv is None:
        return table.rows or []
    import duckdb

    from lakehouse.sql import sql_string

    path = test.file.parent / table.csv
    # as the archive reads CSV: every value text, an empty field null, a quoted "" empty text
    with duckdb.connect() as con:
        cursor = con.execute(
            f"SELECT * FROM read_csv({sql_string(str(path))}, header = true, all_varchar = true, "
            "delim = ',', quote = '\"', escape = '\"', allow_quoted_nulls = false)"
        )
        names = [column[0] for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _as_text(value: Any) -> str | None:
    """A value as text, for a cast to a declared type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


KINDS: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "float",
    str: "text",
    dt.datetime: "timestamp",
    dt.date: "date",
}


def _kind(value: Any, where: str) -> str:
    for python_type, kind in KINDS.items():  # bool before int, datetime before date
        if isinstance(value, python_type):
            return kind
    raise ConfigError(f"{where} holds {value!r}, not a single value; write one value per cell.")


def _typed_array(values: list[Any], default: Any, where: str) -> pa.Array:
    """A column typed from its values (and its default's): one kind of value, or integers
    with floats; nulls only is text."""
    import pyarrow as pa

    kinds = {_kind(v, where) for v in [*values, default] if v is not None}
    if kinds == {"integer", "float"}:
        values = [float(v) if v is not None else None for v in values]
        kinds = {"float"}
    if len(kinds) > 1:
        raise ConfigError(
            f"{where} mixes {' and '.join(sorted(kinds))} values; quote them all (raw inputs "
            "are text) or give the column's type under types:."
        )
    kind = kinds.pop() if kinds else "text"
    arrow_type = {
        "boolean": pa.bool_(),
        "integer": pa.int64(),
        "float": pa.float64(),
        "text": pa.string(),
        "date": pa.date32(),
    }.get(kind)
    try:
        return pa.array(values, arrow_type)  # timestamps: pyarrow keeps their zone, if any
    except (pa.ArrowException, OverflowError) as exc:
        raise ConfigError(
            f"{where} cannot be read as {kind} ({exc}); give the column's type under types:."
        ) from exc


# -- comparing --------------------------------------------------------------------------------


def compare(test: RuleTest, actual: pa.Table) -> RowDiff | None:
    """None when the output has the expected rows (in the expected columns; in order if
    asked), else how they differ."""
    expectation = test.spec.expect
    columns = expectation.columns or tuple(actual.column_names)
    absent = [c for c in columns if c not in actual.column_names]
    if absent:
        raise ConfigError(
            f"{test.where}: expect lists {', '.join(map(repr, absent))}, which model "
            f"{test.model!r} does not return (its columns: {', '.join(actual.column_names)}); "
            "fix the column name."
        )
    types = {c: actual.schema.field(c).type for c in columns}
    produced = [tuple(row[c] for c in columns) for row in actual.select(columns).to_pylist()]
    expected = [tuple(row[c] for c in columns) for row in expectation.rows]
    produced_keys = [_row_key(row, columns, types, None) for row in produced]
    expected_keys = [
        _row_key(row, columns, types, f"{test.where}: expect row {number}")
        for number, row in enumerate(expected, start=1)
    ]
    if not expectation.columns:  # expect: []: only the number of rows matters
        produced_keys = [() for _ in produced]
    missing = Counter(expected_keys) - Counter(produced_keys)
    unexpected = Counter(produced_keys) - Counter(expected_keys)
    if not missing and not unexpected:
        if expectation.order == "as_given" and expected_keys != produced_keys:
            order = (expected[:SHOWN_ROWS], produced[:SHOWN_ROWS])
            return RowDiff(columns, [], [], 0, 0, len(expected), len(produced), order)
        return None
    return RowDiff(
        columns,
        _examples(expected, expected_keys, missing),
        _examples(produced, produced_keys, unexpected),
        sum(missing.values()),
        sum(unexpected.values()),
        len(expected),
        len(produced),
    )


def _examples(
    rows: list[tuple[Any, ...]], keys: list[tuple[Hashable, ...]], wanted: Counter[Any]
) -> list[tuple[Any, ...]]:
    """Up to SHOWN_ROWS of the rows whose keys are in `wanted`, as many times as counted."""
    left = Counter(wanted)
    found: list[tuple[Any, ...]] = []
    for row, key in zip(rows, keys, strict=True):
        if left[key] > 0 and len(found) < SHOWN_ROWS:
            found.append(row)
            left[key] -= 1
    return found


def _row_key(
    row: tuple[Any, ...], columns: tuple[str, ...], types: Mapping[str, Any], where: str | None
) -> tuple[Hashable, ...]:
    return tuple(
        _comparable(value, types[column], f"{where}, column {column!r}" if where else None)
        for value, column in zip(row, columns, strict=True)
    )


def _comparable(value: Any, arrow_type: Any, where: str | None) -> Hashable:
    """A value as compared in a column of `arrow_type`. `where` is set for an expected value:
    one of the wrong kind for the column is then an error naming it."""
    import pyarrow as pa

    if value is None:
        return ("null",)
    storage = getattr(arrow_type, "storage_type", arrow_type)  # geometry: WKB in an extension
    kind = pa.types
    if kind.is_integer(arrow_type) or kind.is_floating(arrow_type) or kind.is_decimal(arrow_type):
        return _number(value, where)
    if pa.types.is_boolean(arrow_type):
        return ("bool", _checked(value, bool, "true or false", where))
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ("text", _checked(value, str, "text (quote it)", where))
    if pa.types.is_date(arrow_type):
        return ("date", _date(value, where))
    if pa.types.is_timestamp(arrow_type):
        return ("timestamp", _timestamp(value, where))
    if pa.types.is_binary(storage) or pa.types.is_large_binary(storage):
        return ("geometry", _geometry_text(value, where))
    return ("value", repr(value))


def _wrong_kind(value: Any, wanted: str, where: str | None) -> ConfigError:
    return ConfigError(f"{where}: {value!r} is not {wanted}, as the model's column is; fix it.")


def _checked(value: Any, python_type: type, wanted: str, where: str | None) -> Any:
    if where is not None and (
        not isinstance(value, python_type) or (python_type is not bool and isinstance(value, bool))
    ):
        raise _wrong_kind(value, wanted, where)
    return value


def _number(value: Any, where: str | None) -> Hashable:
    """Numbers by value: int, float (as Python prints it) and Decimal alike."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _wrong_kind(value, "a number", where or "the output")
    if isinstance(value, float):
        if value != value:
            return ("nan",)
        value = Decimal(repr(value))
    return ("number", Decimal(value))


def _date(value: Any, where: str | None) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and where is not None:
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value)
    raise _wrong_kind(value, "a date (2024-01-31)", where or "the output")


def _timestamp(value: Any, where: str | None) -> dt.datetime:
    """A timestamp, a zone's one in UTC without its zone (a naive one is taken as it is)."""
    moment = value
    if isinstance(value, str) and where is not None:
        with contextlib.suppress(ValueError):
            moment = dt.datetime.fromisoformat(value)
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        moment = dt.datetime(value.year, value.month, value.day)
    if not isinstance(moment, dt.datetime):
        raise _wrong_kind(value, "a timestamp (2024-01-31 10:00:00)", where or "the output")
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _geometry_text(value: Any, where: str | None) -> str:
    """A geometry (WKB from the output, WKT expected) as normalised WKT at 6 decimals."""
    import shapely

    try:
        geometry = shapely.from_wkb(value) if isinstance(value, bytes) else shapely.from_wkt(value)
    except (shapely.errors.GEOSException, TypeError) as exc:
        raise _wrong_kind(value, "a geometry in WKT", where or "the output") from exc
    return str(shapely.to_wkt(shapely.normalize(geometry), rounding_precision=6))


# -- showing rows -----------------------------------------------------------------------------


def _table(columns: tuple[str, ...], marked: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """Rows under their column names, each column as wide as its widest cell."""
    cells = [[_cell(v) for v in row] for _, row in marked]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    header = "  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    lines = [header.rstrip()]
    for (mark, _), row in zip(marked, cells, strict=True):
        lines.append(
            (mark + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))).rstrip()
        )
    return lines


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[int, float, str], ...]:
    """Numbers before other values, by value; the others by how they are shown."""
    return tuple(
        (0, float(v), "")
        if isinstance(v, int | float | Decimal) and not isinstance(v, bool)
        else (1, 0.0, _cell(v))
        for v in row
    )


def _rows(count: int) -> str:
    return f"{count} row{'s' * (count != 1)}"


def _cell(value: Any) -> str:
    """A value as a test file would write it: null, true, "text" (quoted, so that spaces and
    text that looks like a number show), 2024-01-31."""
    import json

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return _geometry_cell(value)
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


def _geometry_cell(value: bytes) -> str:
    import shapely

    try:
        return str(shapely.to_wkt(shapely.from_wkb(value), rounding_precision=6))
    except (shapely.errors.GEOSException, TypeError):
        return f"<{len(value)} bytes>"


def has_rule_tests(transforms_dir: Path, product: str) -> bool:
    return bool(rule_test_files(transforms_dir, product))


def no_tests_message(product: str) -> str:
    return f"no rule tests for {product}: write transforms/{product}/tests/*.yml (see {DOCS})"
