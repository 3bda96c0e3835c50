"""Comparing a model's output with a rule test's expected rows: values normalised by the
output column's type (numbers by value, dates from ISO text, geometries as WKT...), rows
compared as multisets or in order, and the difference (`RowDiff`) shown as aligned text."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lakehouse.errors import ConfigError
from lakehouse.transform.rule_tests.files import RuleTest

if TYPE_CHECKING:
    import pyarrow as pa

SHOWN_ROWS = 10  # rows of each kind a failure shows

Row = tuple[Any, ...]
RowKey = tuple[Hashable, ...]


@dataclass(frozen=True)
class RowDiff:
    """How the model's rows differ from the expected ones, in the expected columns."""

    columns: tuple[str, ...]
    missing: list[Row]  # expected, not produced (at most SHOWN_ROWS)
    unexpected: list[Row]  # produced, not expected (at most SHOWN_ROWS)
    missing_count: int
    unexpected_count: int
    expected_rows: int
    produced_rows: int
    # order: as_given with the right rows in another order: (expected, produced) row lists
    order: tuple[list[Row], list[Row]] | None = None

    def lines(self) -> list[str]:
        """The difference as aligned text: `-` rows expected but not produced, `+` rows
        produced but not expected."""
        if self.order is not None:
            return self._order_lines(*self.order)
        return self._difference_lines()

    def _order_lines(self, expected: list[Row], produced: list[Row]) -> list[str]:
        return [
            "the right rows in another order (order: as_given); expected:",
            *_table(self.columns, [("  ", row) for row in expected]),
            "produced:",
            *_table(self.columns, [("  ", row) for row in produced]),
        ]

    def _difference_lines(self) -> list[str]:
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


# -- comparing --------------------------------------------------------------------------------


def compare(test: RuleTest, actual: pa.Table) -> RowDiff | None:
    """None when the output has the expected rows (in the expected columns; in order if
    asked), else how they differ."""
    expectation = test.spec.expect
    columns = _compared_columns(test, actual)
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
    return _difference(
        columns,
        (expected, expected_keys),
        (produced, produced_keys),
        in_order=expectation.order == "as_given",
    )


def _compared_columns(test: RuleTest, actual: pa.Table) -> tuple[str, ...]:
    """The columns expect lists (all the output's for `expect: []`), each one the output has."""
    columns = test.spec.expect.columns or tuple(actual.column_names)
    absent = [c for c in columns if c not in actual.column_names]
    if absent:
        raise ConfigError(
            f"{test.where}: expect lists {', '.join(map(repr, absent))}, which model "
            f"{test.model!r} does not return (its columns: {', '.join(actual.column_names)}); "
            "fix the column name."
        )
    return columns


def _difference(
    columns: tuple[str, ...],
    expected: tuple[list[Row], list[RowKey]],
    produced: tuple[list[Row], list[RowKey]],
    in_order: bool,
) -> RowDiff | None:
    """The rows (with their keys) expected and produced, compared as multisets, then in order
    when `in_order`."""
    expected_rows, expected_keys = expected
    produced_rows, produced_keys = produced
    missing = Counter(expected_keys) - Counter(produced_keys)
    unexpected = Counter(produced_keys) - Counter(expected_keys)
    counts = (len(expected_rows), len(produced_rows))
    if not missing and not unexpected:
        if in_order and expected_keys != produced_keys:
            order = (expected_rows[:SHOWN_ROWS], produced_rows[:SHOWN_ROWS])
            return RowDiff(columns, [], [], 0, 0, *counts, order)
        return None
    return RowDiff(
        columns,
        _examples(expected_rows, expected_keys, missing),
        _examples(produced_rows, produced_keys, unexpected),
        sum(missing.values()),
        sum(unexpected.values()),
        *counts,
    )


def _examples(rows: list[Row], keys: list[RowKey], wanted: Counter[Any]) -> list[Row]:
    """Up to SHOWN_ROWS of the rows whose keys are in `wanted`, as many times as counted."""
    left = Counter(wanted)
    found: list[Row] = []
    for row, key in zip(rows, keys, strict=True):
        if left[key] > 0 and len(found) < SHOWN_ROWS:
            found.append(row)
            left[key] -= 1
    return found


# -- normalising values -----------------------------------------------------------------------


def _row_key(
    row: Row, columns: tuple[str, ...], types: Mapping[str, Any], where: str | None
) -> RowKey:
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
    if _is_number(arrow_type):
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


def _is_number(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    )


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


def _table(columns: tuple[str, ...], marked: list[tuple[str, Row]]) -> list[str]:
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


def _sort_key(row: Row) -> tuple[tuple[int, float, str], ...]:
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
