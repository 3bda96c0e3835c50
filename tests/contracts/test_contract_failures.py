"""A failed contract, as a sentence for the console: each blocking rule with what it asks, how
many rows break it and a few of them (key and value), not the rule's name alone."""

from __future__ import annotations

import ibis

from lakehouse.contracts.contract import check_table
from lakehouse.contracts.dictionary import TableEntry
from lakehouse.contracts.report import ContractReport, RuleResult

LOTS = TableEntry.model_validate(
    {
        "description": "one row per lot",
        "primary_key": ["bbl"],
        "columns": [
            {"name": "bbl", "type": "bbl", "description": "the lot"},
            {"name": "yearbuilt", "type": "integer", "description": "built", "range": [1800, 2026]},
            {"name": "borough", "type": "text", "description": "where", "allowed": ["MN", "BX"]},
        ],
    }
)


def report_of(rows: list[tuple[int, int, str]]) -> ContractReport:
    t = ibis.memtable(
        {"bbl": [r[0] for r in rows], "yearbuilt": [r[1] for r in rows],
         "borough": [r[2] for r in rows]},
        schema={"bbl": "int64", "yearbuilt": "int64", "borough": "string"},
    )  # fmt: skip
    return check_table(t, "lots", LOTS)


def test_a_failed_rule_says_how_many_rows_and_shows_them() -> None:
    report = report_of([(1000010001, 2031, "MN"), (1000010002, 1990, "MN")])
    assert report.failure_text() == (
        "lots.yearbuilt: range (between 1800 and 2026) fails on 1 row: "
        "bbl=1000010001 yearbuilt=2031"
    )


def test_many_failing_rows_show_three_and_the_count() -> None:
    rows = [(1000010000 + n, 1990, "SI") for n in range(7)]
    text = report_of(rows).failure_text()
    assert text.startswith("lots.borough: allowed (one of MN, BX) fails on 7 rows, e.g. bbl=")
    assert text.count('borough="SI"') == 3 and text.count(";") == 2


def test_every_blocking_rule_is_in_the_sentence_and_warnings_are_not() -> None:
    fails = RuleResult("t", "a: range", "a", "range", "between 0 and 1", "error", False, 2,
                       [{"id": 1, "a": 5}, {"id": 2, "a": 6}])  # fmt: skip
    warns = RuleResult("t", "b: range", "b", "range", "between 0 and 1", "warn", False, 1, [])
    passes = RuleResult("t", "c: not null", "c", "not null", "no empty values", "error", True, 0)
    report = ContractReport("product", [fails, warns, passes])
    assert (
        report.failure_text() == "t.a: range (between 0 and 1) fails on 2 rows: id=1 a=5; id=2 a=6"
    )


def test_a_rule_on_the_columns_says_what_is_wrong_with_them() -> None:
    columns = RuleResult("t", "t: columns", None, "columns", "as listed, in order", "error",
                         False, 1, [{"missing": "zipcode"}])  # fmt: skip
    assert columns.failure_text() == 't.t: columns (as listed, in order) fails: missing="zipcode"'


def test_columns_in_another_order_fail_with_their_first_difference() -> None:
    t = ibis.memtable(
        {"yearbuilt": [1990], "bbl": [1000010001], "borough": ["MN"]},
        schema={"yearbuilt": "int64", "bbl": "int64", "borough": "string"},
    )
    (columns,) = [r for r in check_table(t, "lots", LOTS).results if r.kind == "columns"]
    assert columns.sample_keys == [
        {
            "order": "columns out of order: the 1st column is 'yearbuilt', the dictionary puts "
            "'bbl' there (2 of 3 columns are not where the dictionary lists them)"
        }
    ]
