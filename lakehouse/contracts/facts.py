"""What a table's Parquet files already say about its columns, read from their footers without
reading a value: per column its empty values and, for types whose statistics are exact
(integers, decimals, dates, timestamps without a time zone), its smallest and largest value.

The writer computed them while it wrote the file; a contract's not-null and range rules that
these facts prove (no empty value; every value within the bounds) need no pass over the data
(`check.settled`). Facts are only taken when every row group of every file has the statistic:
a file without it gives no fact, and the rule is counted as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lakehouse.sql import sql_string


@dataclass(frozen=True)
class ColumnFacts:
    """A column's empty values, and its smallest and largest value (None: not known)."""

    nulls: int
    low: Any = None
    high: Any = None

    def within(self, check: str, statistics: Mapping[str, Any], *, ignore_na: bool) -> bool:
        """Whether every value of the column passes pandera's range check `check` (with its
        `statistics`): its bounds lie within the check's, and an empty value, which breaks a
        check that does not ignore them, is absent."""
        if self.low is None or self.high is None or (self.nulls and not ignore_na):
            return False
        try:
            return _bounds_pass(check, statistics, self.low, self.high)
        except TypeError:  # bounds of another type than the column's: counted as before
            return False


def _bounds_pass(check: str, s: Mapping[str, Any], low: Any, high: Any) -> bool:
    """Whether every value between `low` and `high` passes pandera's range check `check`."""
    match check:
        case "in_range":
            above = low >= s["min_value"] if s["include_min"] else low > s["min_value"]
            below = high <= s["max_value"] if s["include_max"] else high < s["max_value"]
            return bool(above and below)
        case "greater_than_or_equal_to":
            return bool(low >= s["min_value"])
        case "greater_than":
            return bool(low > s["min_value"])
        case "less_than_or_equal_to":
            return bool(high <= s["max_value"])
        case "less_than":
            return bool(high < s["max_value"])
    return False


def parquet_facts(t: Any, files: list[str]) -> dict[str, ColumnFacts]:
    """The facts the footers of `files` (the Parquet files the ibis table `t` reads, as its
    engine reaches them) give about `t`'s columns; none unless `t` is on DuckDB."""
    backend = t._find_backend(use_default=True)
    if backend.name != "duckdb" or not files:
        return {}
    listed = "[" + ", ".join(sql_string(f) for f in files) + "]"
    groups = backend.con.execute(
        "SELECT path_in_schema, num_values, stats_null_count, stats_min_value, stats_max_value, "
        f"min_is_exact, max_is_exact FROM parquet_metadata({listed})"
    ).fetchall()
    by_column: dict[str, list[tuple[Any, ...]]] = {}
    for path, *statistics in groups:
        by_column.setdefault(path, []).append(tuple(statistics))
    schema = t.schema()
    found = {}
    for name, column_groups in by_column.items():
        if name in schema:
            facts = _column_facts(column_groups, _parser(schema[name]))
            if facts is not None:
                found[name] = facts
    return found


def _parser(dtype: Any) -> Callable[[str], Any] | None:
    """How a footer's text of a value of this type reads back exactly (None: it is not used)."""
    if dtype.is_integer():
        return int
    if dtype.is_decimal():
        return Decimal
    if dtype.is_date():
        return dt.date.fromisoformat
    if dtype.is_timestamp() and dtype.timezone is None:
        return dt.datetime.fromisoformat
    return None  # floats (a NaN is in no statistic), text (cut short), booleans, geometry


def _column_facts(
    groups: list[tuple[Any, ...]], parse: Callable[[str], Any] | None
) -> ColumnFacts | None:
    """One column's facts from its row groups' statistics (num_values, null count, min, max,
    whether min and max are exact)."""
    if any(nulls is None for _, nulls, *_ in groups):
        return None
    nulls = sum(int(n) for _, n, *_ in groups)
    lows, highs = [], []
    for values, group_nulls, low, high, low_exact, high_exact in groups:
        if int(values) == int(group_nulls):  # only empty values: no bounds to give
            continue
        # (exactness is only ever false for cut-short text, whose bounds are not used anyway)
        if parse is None or low is None or high is None or False in (low_exact, high_exact):
            return ColumnFacts(nulls)
        try:
            lows.append(parse(low))
            highs.append(parse(high))
        except (ValueError, InvalidOperation):
            return ColumnFacts(nulls)
    if not lows:
        return ColumnFacts(nulls)
    return ColumnFacts(nulls, min(lows), max(highs))
