import duckdb
import pytest

from lakehouse.archive.steps import clean_column_name, compile_steps
from lakehouse.archive.template import (
    CleanColumnNames,
    DropColumns,
    FilterRows,
    RenameColumns,
    SelectColumns,
)
from lakehouse.errors import ConfigError


def _run(columns: list[str], rows: list[tuple], steps: list) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect()
    names = ", ".join(f'"{c}" VARCHAR' for c in columns)
    con.execute(f"CREATE TABLE source_data ({names})")
    if rows:
        con.executemany(f"INSERT INTO source_data VALUES ({', '.join('?' for _ in columns)})", rows)
    compiled = compile_steps(columns, steps)
    result = con.execute(compiled.sql)
    return [d[0] for d in result.description], result.fetchall()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("Owner Name", "owner_name"), ("  ZIP-Code ", "zip_code"), ("BBL#", "bbl"), ("a__b", "a_b")],
)
def test_clean_column_name(raw: str, clean: str) -> None:
    assert clean_column_name(raw) == clean


def test_clean_names_then_rename_then_select() -> None:
    names, rows = _run(
        ["BBL", "Owner Name", "Zip Code"],
        [("1", "A", "10001")],
        [
            CleanColumnNames(),
            RenameColumns(columns={"owner_name": "owner"}),
            SelectColumns(columns=["owner", "bbl"]),
        ],
    )
    assert names == ["owner", "bbl"]
    assert rows == [("A", "1")]


def test_clean_names_keeps_colliding_names_apart() -> None:
    names, _ = _run(["Zip Code", "zip_code", "%%"], [], [CleanColumnNames()])
    assert names == ["zip_code", "zip_code_2", "column_3"]


def test_filters_keep_matching_rows_and_treat_null_as_not_equal() -> None:
    rows = [("1", "x"), ("2", None), ("3", "y")]
    _, kept = _run(["id", "v"], rows, [FilterRows(column="v", not_equals="x")])
    assert kept == [("2", None), ("3", "y")]
    _, kept = _run(["id", "v"], rows, [FilterRows(column="v", not_one_of=["y"])])
    assert kept == [("1", "x"), ("2", None)]
    _, kept = _run(["id", "v"], rows, [FilterRows(column="v", is_null=False)])
    assert kept == [("1", "x"), ("3", "y")]
    _, kept = _run(["id", "v"], rows, [FilterRows(column="id", one_of=["1", "3"])])
    assert [r[0] for r in kept] == ["1", "3"]


def test_a_filter_after_a_rename_uses_the_new_name() -> None:
    _, kept = _run(
        ["a"],
        [("1",), ("2",)],
        [RenameColumns(columns={"a": "b"}), FilterRows(column="b", equals="2")],
    )
    assert kept == [("2",)]


def test_naming_a_missing_column_lists_the_columns_there_are() -> None:
    with pytest.raises(ConfigError, match="columns are: a, b"):
        compile_steps(["a", "b"], [DropColumns(columns=["c"])])


def test_rename_onto_an_existing_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="same name"):
        compile_steps(["a", "b"], [RenameColumns(columns={"a": "b"})])
