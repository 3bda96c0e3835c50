"""Pages of rows computed in DuckDB: a relation (any SQL that selects rows) is counted and cut
into pages there (LIMIT/OFFSET), and filtered by a column's value with a query parameter, so
that a page never holds more than `PAGE_ROWS` rows whatever the size of the data."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.errors import NotFoundError
from lakehouse.sql import sql_identifier

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from lakehouse.store.storage import Store

PAGE_ROWS = 50


@dataclass(frozen=True)
class RowFilter:
    """Rows whose `column`, as text, contains `text` (any case), or equals it when `exact`."""

    column: str
    text: str
    exact: bool = False

    def sql(self, columns: Sequence[str]) -> tuple[str, list[Any]]:
        """The WHERE condition (`?` for the value: never pasted into the SQL) and its value;
        a column the relation lacks is refused, naming the ones it has."""
        if self.column not in columns:
            raise NotFoundError(
                f"There is no column {self.column!r} to filter on; the columns are: "
                f"{', '.join(columns)}."
            )
        value = f"CAST({sql_identifier(self.column)} AS VARCHAR)"
        if self.exact:
            return f"{value} = ?", [self.text]
        escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{value} ILIKE ? ESCAPE '\\'", [f"%{escaped}%"]


@dataclass
class Page:
    """One page of a relation's rows (`number` counts from 0) and how many rows it has."""

    frame: pd.DataFrame
    total: int
    number: int
    size: int = PAGE_ROWS
    columns: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int:
        """The 1-based position of the page's first row (0 when there are none)."""
        return self.number * self.size + 1 if self.total else 0

    def caption(self) -> str:
        if not self.total:
            return "no rows"
        last = self.first_row + len(self.frame) - 1
        shown = f"rows {self.first_row:,}-{last:,} of {self.total:,}"
        return f"{shown} (page {self.number + 1} of {self.pages})"


@contextmanager
def connect(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection in memory that reads the store's files (s3:// through fsspec)."""
    import duckdb

    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        yield con


def relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """The column names of `relation` (a SQL query, or a table function like read_parquet)."""
    return [row[0] for row in con.execute(f"DESCRIBE {_select(relation)}").fetchall()]


def _select(relation: str) -> str:
    stripped = relation.lstrip().upper()
    return relation if stripped.startswith(("SELECT", "WITH", "(")) else f"SELECT * FROM {relation}"


def page_of(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    order_by: Sequence[str] = (),
    row_filter: RowFilter | None = None,
    number: int = 0,
    size: int = PAGE_ROWS,
    params: Sequence[Any] = (),
) -> Page:
    """Page `number` of `relation`'s rows (ordered by `order_by`, else as read), filtered by
    `row_filter`, with the count of all its rows; `params` are the relation's own `?` values.
    A page past the end is the last page."""
    columns = relation_columns(con, relation) if not params else _columns(con, relation, params)
    where, values = row_filter.sql(columns) if row_filter else ("true", [])
    body = f"SELECT * FROM ({_select(relation)}) AS r WHERE {where}"
    arguments = [*params, *values]
    total = int(con.execute(f"SELECT count(*) FROM ({body})", arguments).fetchone()[0])  # type: ignore[index]
    pages = max(1, -(-total // size))
    number = min(max(number, 0), pages - 1)
    order = " ORDER BY " + ", ".join(map(sql_identifier, order_by)) if order_by else ""
    query = f"{body}{order} LIMIT {int(size)} OFFSET {number * int(size)}"
    frame = con.execute(query, arguments).df()
    return Page(frame, total, number, size, columns)


def _columns(con: duckdb.DuckDBPyConnection, relation: str, params: Sequence[Any]) -> list[str]:
    """The column names of a relation that takes parameters (DESCRIBE cannot bind them)."""
    result = con.execute(f"SELECT * FROM ({_select(relation)}) LIMIT 0", list(params))
    return [d[0] for d in result.description or []]
