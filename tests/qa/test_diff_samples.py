"""The keys of rows added and removed, as a line of text: a side without rows has no line
(never `removed, e.g. []`)."""

from __future__ import annotations

from lakehouse.qa.diff import TableDiff, sample_line


def table(added: list[dict[str, object]], removed: list[dict[str, object]]) -> TableDiff:
    return TableDiff(
        "lots", ["bbl"], 10, 10 + len(added) - len(removed), False,
        added=len(added), removed=len(removed), added_sample=added, removed_sample=removed,
    )  # fmt: skip


def test_no_rows_removed_prints_no_removed_line() -> None:
    lines = table([{"bbl": 1000010001}, {"bbl": 1000010002}], []).sample_lines()
    assert lines == ["added, e.g. 1000010001, 1000010002"]
    assert not any("[]" in line for line in lines)


def test_no_rows_added_or_removed_prints_nothing() -> None:
    assert table([], []).sample_lines() == []


def test_a_long_sample_shows_a_few_keys_and_the_total() -> None:
    rows = [{"bbl": n} for n in range(10)]
    assert sample_line("removed", rows, 1234, limit=3) == "removed, e.g. 0, 1, 2 (3 of 1,234)"


def test_a_compound_key_names_its_columns() -> None:
    rows = [{"facility_id": "F-1", "bedtype": "acute"}]
    assert sample_line("added", rows, 1) == "added, e.g. (facility_id=F-1, bedtype=acute)"
