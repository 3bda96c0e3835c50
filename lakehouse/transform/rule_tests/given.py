"""The given tables of a rule test as ibis tables: rows from the YAML or a CSV file, the file's
defaults filling the columns a row leaves out, each column typed from its values, then the
declared `types:` cast."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from lakehouse.errors import ConfigError, first_line
from lakehouse.transform.rule_tests.files import GivenTable, RuleTest

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

KINDS: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "float",
    str: "text",
    dt.datetime: "timestamp",
    dt.date: "date",
}


def given_table(test: RuleTest, name: str) -> ir.Table:
    """A given table as an ibis table: its rows (the file's defaults filling the columns a
    row leaves out), typed from their values, then the declared types cast."""
    import ibis

    table = test.spec.given[name]
    memtable = ibis.memtable(_arrow_table(test, name, table))
    return _cast_declared_types(test, name, table, memtable)


def _arrow_table(test: RuleTest, name: str, table: GivenTable) -> pa.Table:
    """The given rows as Arrow columns: typed from their values, or text for a column with a
    declared type (cast afterwards)."""
    import pyarrow as pa

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
    return pa.table(arrays)


def _cast_declared_types(
    test: RuleTest, name: str, table: GivenTable, memtable: ir.Table
) -> ir.Table:
    import ibis

    try:
        casts = {c: memtable[c].cast(ibis.dtype(t)) for c, t in table.types.items()}
    except Exception as exc:  # ibis refuses a cast from text to that type
        raise ConfigError(
            f"{test.where}: field 'given.{name}.types': {first_line(exc)}; give another type."
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
