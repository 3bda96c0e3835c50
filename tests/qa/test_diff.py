"""Build diffs: rows matched by primary key, on hand-made files and on two PLUTO-lite builds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.contracts.dictionary import Dictionary
from lakehouse.errors import DiffError
from lakehouse.qa.diff import Side, diff_builds, diff_table
from tests.projects import change_lots, make_project


def write(path: Path, rows: list[dict]) -> str:
    schema = pa.schema([("k", pa.int64()), ("a", pa.string()), ("b", pa.float64())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return str(path)


OLD = [
    {"k": 1, "a": "x", "b": 1.0},
    {"k": 2, "a": "x", "b": 2.0},
    {"k": 3, "a": "x", "b": 3.0},
    {"k": 4, "a": "x", "b": 4.0},
    {"k": 5, "a": None, "b": None},
]
NEW = [
    {"k": 1, "a": "x", "b": 1.0},  # same
    {"k": 2, "a": "y", "b": 2.0},  # a changed
    {"k": 3, "a": "y", "b": 30.0},  # a and b changed
    {"k": 5, "a": None, "b": None},  # same (NULLs are equal)
    {"k": 6, "a": "z", "b": 6.0},  # added; 4 removed
]


def test_rows_are_matched_by_key_and_each_change_is_counted(tmp_path: Path) -> None:
    con = duckdb.connect()
    diff = diff_table(con, "t", ["k"], write(tmp_path / "o.parquet", OLD),
                      write(tmp_path / "n.parquet", NEW))  # fmt: skip
    assert (diff.old_rows, diff.new_rows) == (5, 5)
    assert (diff.added, diff.removed, diff.changed) == (1, 1, 2)
    assert diff.columns == {"a": 2, "b": 1}
    assert diff.added_sample == [{"k": 6}] and diff.removed_sample == [{"k": 4}]
    assert diff.changed_sample == [
        {"k": 2, "a": ["x", "y"]},
        {"k": 3, "a": ["x", "y"], "b": [3.0, 30.0]},
    ]
    (shift,) = diff.numeric
    assert (shift.column, shift.old_max, shift.new_max) == ("b", 4.0, 30.0)
    assert shift.old_mean == pytest.approx(2.5) and shift.new_mean == pytest.approx(39 / 4)


def test_the_same_rows_are_identical(tmp_path: Path) -> None:
    con = duckdb.connect()
    path = write(tmp_path / "o.parquet", OLD)
    diff = diff_table(con, "t", ["k"], path, write(tmp_path / "n.parquet", list(reversed(OLD))))
    assert diff.identical and (diff.added, diff.removed, diff.changed) == (0, 0, 0)


def side(product: str, path: str) -> Side:
    return Side(
        product, f"{product}-build", {"t": {"url": path, "content_sha256": None, "rows": 5}}
    )


def test_builds_of_different_products_or_without_a_key_cannot_be_compared(tmp_path: Path) -> None:
    path = write(tmp_path / "o.parquet", OLD)
    entry = {"description": "t", "columns": [{"name": "k", "type": "integer", "description": "k"}]}
    keyless = Dictionary(product="p", tables={"t": entry})
    con = duckdb.connect()
    with pytest.raises(DiffError, match="a build of 'p' and q-build of 'q'"):
        diff_builds(keyless, side("p", path), side("q", path), con)
    with pytest.raises(DiffError, match="no primary key in its data dictionary"):
        diff_builds(keyless, side("p", path), side("p", path), con)


# -- two PLUTO-lite builds --------------------------------------------------------------------


def test_a_rebuild_after_a_source_change_reports_exactly_the_changed_rows(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=600)
    first = lake.build("pluto_lite")
    removed, doubled = change_lots(tmp_path / "p" / "data" / "pluto_lite" / "dof_pts.csv")
    lake.ingest("dof_pts")
    second = lake.build("pluto_lite", latest=True)

    diff = lake.diff("pluto_lite")
    assert (diff.old, diff.new) == (first.build_id, second.build_id)
    (table,) = diff.tables
    assert table.key == ["bbl"]
    assert (table.added, table.removed, table.changed) == (0, len(removed), len(doubled))
    assert {c: n for c, n in table.columns.items() if n} == {"assessland": len(doubled)}
    assert [str(r["bbl"]) for r in table.removed_sample] == sorted(removed)[:10]
    for row in table.changed_sample:
        old, new = row["assessland"]
        assert new == 2 * old and set(row) == {"bbl", "assessland"}
    assert table.old_rows - table.new_rows == len(removed)


def test_lake_diff_on_identical_builds_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = make_project(tmp_path / "p", lots=150)
    first = lake.build("pluto_lite").build_id
    second = lake.build("pluto_lite", full_refresh=True).build_id
    monkeypatch.chdir(tmp_path / "p")
    runner = CliRunner()
    result = runner.invoke(app, ["diff", "pluto_lite"])
    assert result.exit_code == 0, result.output
    assert result.output == f"pluto_lite: {second} is identical to {first}.\n"
    result = runner.invoke(app, ["diff", "pluto_lite", "nope"])
    assert result.exit_code == 1 and "has no build 'nope'" in result.output
    against_nothing = lake.diff("pluto_lite", new=first)  # the first build: every row added
    assert against_nothing.old == "nothing (the first build)"
    (table,) = against_nothing.tables
    assert (table.old_rows, table.added, table.removed, table.changed) == (0, table.new_rows, 0, 0)
    assert table.new_rows == lake.builds("pluto_lite")[0].outputs["outputs/pluto_lite"].rows
    report = Path(lake.diff_report("pluto_lite")[0])
    assert report.parent.parent.name == second  # into the later build's folder
    assert f"pluto_lite: {second} is identical to {first}." in report.read_text()


def test_schema_changes_are_not_identical(tmp_path: Path) -> None:
    con = duckdb.connect()
    old, new = tmp_path / "o.parquet", tmp_path / "n.parquet"
    con.execute(f"COPY (SELECT 1::BIGINT AS k, 'x' AS a, 2 AS b, 3 AS gone) TO '{old}'")
    con.execute(f"COPY (SELECT 1::BIGINT AS k, 'x' AS a, '2' AS b, 4 AS extra) TO '{new}'")
    diff = diff_table(con, "t", ["k"], str(old), str(new))
    assert not diff.identical
    assert (diff.added_columns, diff.removed_columns) == (["extra"], ["gone"])
    assert diff.retyped_columns == ["b: INTEGER -> VARCHAR"]
