"""A table's Parquet footers settle its not-null and range rules without reading its values:
the report is the same as counting them, a rule the facts do not prove is counted, and files
without statistics (or floats, or text) prove nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.contracts.check import check_schema
from lakehouse.contracts.facts import ColumnFacts, parquet_facts
from lakehouse.contracts.row_rules import rules_for, settled
from lakehouse.contracts.rules import ColumnRules, RuleCheck, TableRules


def in_range(low: object, high: object) -> RuleCheck:
    bounds = {"min_value": low, "max_value": high, "include_min": True, "include_max": True}
    return RuleCheck("in_range", bounds)


RULES = TableRules(
    {
        "id": ColumnRules(ibis.dtype("int64"), nullable=False, checks=(in_range(1, 100),)),
        "day": ColumnRules(
            ibis.dtype("date"), checks=(in_range(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),)
        ),
        "share": ColumnRules(ibis.dtype("float64"), checks=(in_range(0, 1),)),
        "name": ColumnRules(ibis.dtype("string"), nullable=False),
    }
)


def write(path: Path, ids: list[int | None], statistics: bool = True) -> Path:
    rows = len(ids)
    table = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "day": pa.array([dt.date(2020, 1, 1 + i % 28) for i in range(rows)], pa.date32()),
            "share": pa.array([i / rows for i in range(rows)], pa.float64()),
            "name": pa.array([f"n{i}" for i in range(rows)], pa.string()),
        }
    )
    pq.write_table(table, path, write_statistics=statistics, row_group_size=3)
    return path


def report(files: list[Path], use_facts: bool) -> list[tuple[str, bool, int, list]]:  # type: ignore[type-arg]
    con = ibis.duckdb.connect()
    t = con.read_parquet([str(f) for f in files], table_name="t")
    facts = parquet_facts(t, [str(f) for f in files]) if use_facts else None
    found = check_schema(t, "t", RULES, "product", facts)
    return [(r.rule, r.passed, r.failing_rows, r.sample_keys) for r in found.results]


def proven(files: list[Path]) -> list[str]:
    con = ibis.duckdb.connect()
    t = con.read_parquet([str(f) for f in files], table_name="t")
    facts = parquet_facts(t, [str(f) for f in files])
    return [rule.name for rule in rules_for("t", RULES) if settled(rule, facts)]


def test_footers_settle_not_null_and_range_rules_of_exact_types(tmp_path: Path) -> None:
    files = [write(tmp_path / "a.parquet", [5, 6, 7, 8]), write(tmp_path / "b.parquet", [1, 100])]
    assert proven(files) == ["id: not null", "id: range", "day: range", "name: not null"]
    assert report(files, use_facts=True) == report(files, use_facts=False)
    assert all(passed for _, passed, _, _ in report(files, use_facts=True))


def test_a_value_beyond_the_range_is_counted_and_sampled(tmp_path: Path) -> None:
    files = [write(tmp_path / "a.parquet", [5, 150, None, 7])]
    assert proven(files) == ["day: range", "name: not null"]
    found = {rule: (passed, count, samples) for rule, passed, count, samples in
             report(files, use_facts=True)}  # fmt: skip
    assert found["id: range"] == (False, 1, [{"id": 150}])
    assert found["id: not null"][:2] == (False, 1)
    assert report(files, use_facts=True) == report(files, use_facts=False)


def test_files_without_statistics_prove_nothing(tmp_path: Path) -> None:
    files = [write(tmp_path / "a.parquet", [5, 6, 7], statistics=False)]
    assert proven(files) == []
    assert report(files, use_facts=True) == report(files, use_facts=False)


def test_bounds_of_another_type_than_the_rules_settle_nothing() -> None:
    rule = next(r for r in rules_for("t", RULES) if r.name == "day: range")
    fact = ColumnFacts(nulls=0, low=dt.datetime(2020, 1, 1), high=dt.datetime(2020, 2, 1))
    assert not settled(rule, {"day": fact})  # a datetime is not compared with a date bound
    assert settled(rule, {"day": ColumnFacts(0, dt.date(2020, 1, 1), dt.date(2020, 2, 1))})
    assert not settled(rule, {"day": ColumnFacts(0, dt.date(1999, 1, 1), dt.date(2020, 2, 1))})
