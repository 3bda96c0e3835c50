"""Column profiles in one pass: numbers parsed once, and text columns a sample rules out left
unparsed (exactly: the figures are those of parsing every value)."""

from __future__ import annotations

import duckdb

from lakehouse.qa.profile import SCREEN_FRACTION, SCREEN_MIN_ROWS, profile_table

ROWS = 2 * SCREEN_MIN_ROWS


def table(con: duckdb.DuckDBPyConnection, text_rows: int) -> None:
    """`mixed`: its first `text_rows` values are words, the others numbers 1..; `words`: words
    only; `amount`: numbers only (1.5, 2.5, ...), with one 'N/A'."""
    con.execute(
        f"""CREATE TABLE t AS SELECT
            CASE WHEN i < {text_rows} THEN 'word ' || i ELSE CAST(i AS VARCHAR) END AS mixed,
            'name ' || (i % 7) AS words,
            CASE WHEN i = 5 THEN 'N/A' ELSE CAST(i + 0.5 AS VARCHAR) END AS amount
        FROM range({ROWS}) AS r(i) ORDER BY i"""
    )


def test_a_column_whose_sample_fails_but_whose_whole_mostly_parses_is_still_numeric() -> None:
    """Its words are all in the first rows (the sample), but fewer than 5% of all its values:
    the sample alone cannot rule it out, so it is parsed, and counts as numbers."""
    con = duckdb.connect()
    text_rows = ROWS // 25  # 4% of the rows, all within the first 1/SCREEN_FRACTION
    assert text_rows < ROWS // SCREEN_FRACTION
    table(con, text_rows)
    mixed = profile_table(con, "t").columns["mixed"]
    assert (mixed.numeric, mixed.minimum, mixed.maximum) == (True, text_rows, ROWS - 1)
    assert mixed.mean == sum(range(text_rows, ROWS)) / (ROWS - text_rows)


def test_a_column_of_words_gets_no_numbers_and_the_rest_of_its_profile() -> None:
    con = duckdb.connect()
    table(con, ROWS // 5)  # 20% words: the sample rules `mixed` out as well
    columns = profile_table(con, "t").columns
    for name in ("words", "mixed"):
        column = columns[name]
        assert (column.numeric, column.minimum, column.maximum, column.mean) == (
            False, None, None, None,
        )  # fmt: skip
        assert column.non_null == ROWS
    assert (columns["words"].distinct, columns["words"].min_length) == (7, 6)
    assert columns["words"].top[0] == ("name 0", len(range(0, ROWS, 7)))
    amount = columns["amount"]
    assert (amount.numeric, amount.minimum, amount.maximum) == (True, 0.5, ROWS - 0.5)


def test_the_profile_of_a_number_column_keeps_its_finite_values_only() -> None:
    con = duckdb.connect()
    found = profile_table(
        con, "(SELECT * FROM (VALUES (1.0), ('inf'::DOUBLE), (3.0), (NULL)) AS t(x))"
    )
    x = found.columns["x"]
    assert (x.numeric, x.non_null, x.distinct, x.minimum, x.maximum, x.mean) == (
        True, 3, 3, 1.0, 3.0, 2.0,
    )  # fmt: skip


def test_columns_that_were_numbers_before_are_parsed_unscreened_to_the_same_profile() -> None:
    """The version before says which columns were numbers; they skip the sample, and the
    profile is the same (a column of words among them is still not numeric, exactly)."""
    con = duckdb.connect()
    table(con, ROWS // 5)  # `mixed` is 20% words now
    plain = profile_table(con, "t")
    hinted = profile_table(con, "t", numeric_before={"mixed", "words", "amount"})
    assert hinted.to_dict() == plain.to_dict()
    assert not hinted.columns["mixed"].numeric and hinted.columns["amount"].numeric
