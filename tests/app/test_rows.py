"""Pages of rows in DuckDB: counted, cut and filtered in the engine, the filter's text passed as
a parameter (never pasted into the SQL)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from lakehouse.app.rows import RowFilter, page_of
from lakehouse.errors import NotFoundError

RELATION = "SELECT i AS id, 'n' || i AS name FROM range(1, 26) AS t(i)"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        yield connection


def test_a_relation_is_cut_into_pages_in_order_and_a_page_past_the_end_is_the_last(
    con: duckdb.DuckDBPyConnection,
) -> None:
    page = page_of(con, RELATION, order_by=["id"], number=2, size=10)
    assert (page.total, page.pages, list(page.frame["id"])) == (25, 3, [21, 22, 23, 24, 25])
    assert page.caption() == "rows 21-25 of 25 (page 3 of 3)"
    assert page_of(con, RELATION, order_by=["id"], number=9, size=10).number == 2


def test_a_filter_finds_a_substring_in_any_case_and_an_exact_value(
    con: duckdb.DuckDBPyConnection,
) -> None:
    page = page_of(con, RELATION, order_by=["id"], row_filter=RowFilter("name", "N2"))
    assert list(page.frame["id"]) == [2, 20, 21, 22, 23, 24, 25]
    exact = page_of(con, RELATION, row_filter=RowFilter("id", "7", exact=True))
    assert list(exact.frame["name"]) == ["n7"]


def test_the_filter_text_is_a_value_never_sql(con: duckdb.DuckDBPyConnection) -> None:
    sneaky = RowFilter("name", "' OR 1=1 --")
    assert page_of(con, RELATION, row_filter=sneaky).total == 0
    assert page_of(con, RELATION, row_filter=RowFilter("name", "%")).total == 0  # a literal %


def test_a_filter_on_a_column_the_rows_lack_names_the_columns(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(NotFoundError, match=r"no column 'nope'.*the columns are: id, name\.$"):
        page_of(con, RELATION, row_filter=RowFilter("nope", "x"))
