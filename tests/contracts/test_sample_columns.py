"""A table's `sample_columns` (in its data dictionary) tell people which row a failing rule's
sample is when the key alone cannot (a hashed id): every rule's samples show the key, then
those columns, then the value at fault; a uniqueness rule's show each row repeating a value.
Without them, samples show the key alone. Checking a dictionary's rules needs no pandera."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import ibis
import pandera.ibis as pa
import pytest

from lakehouse.contracts.check import check_schema
from lakehouse.contracts.contract import BuildTables, check_table
from lakehouse.contracts.dictionary import TableEntry, load_dictionary
from lakehouse.errors import ConfigError

COLUMNS = [
    {"name": "uid", "type": "text", "description": "a hash of the source's ids"},
    {"name": "name", "type": "text", "description": "what the facility is called"},
    {"name": "address", "type": "text", "description": "where it is"},
    {"name": "license", "type": "text", "description": "its license", "unique": True},
    {"name": "capacity", "type": "integer", "description": "beds", "range": [0, 500]},
    {"name": "bbl", "type": "bbl", "description": "its lot", "references": "lots.bbl"},
]
TYPES = {"uid": "string", "name": "string", "address": "string", "license": "string",
         "capacity": "int64", "bbl": "int64"}  # fmt: skip


def facilities(sample_columns: list[str] | None = None) -> TableEntry:
    entry: dict[str, Any] = {
        "description": "one row per facility",
        "primary_key": ["uid"],
        "columns": COLUMNS,
    }
    if sample_columns is not None:
        entry["sample_columns"] = sample_columns
    return TableEntry.model_validate(entry)


def row(uid: str | None, name: str, license: str, capacity: int = 10, bbl: int = 1) -> dict:
    return {"uid": uid, "name": name, "address": f"{name.upper()} ST", "license": license,
            "capacity": capacity, "bbl": bbl}  # fmt: skip


ROWS = [
    row("9f2c", "Elm House", "L1", capacity=900),
    row("1a7e", "Oak Home", "L2"),
    row("1a7e", "Oak Annex", "L3"),  # the uid again
    row(None, "Ash Court", "L4"),  # no uid
    row("5d0b", "Birch Hall", "L2", bbl=7),  # L2 again; lot 7 is no lot
]


@pytest.fixture
def con() -> Any:
    return ibis.duckdb.connect()


def check(con: Any, entry: TableEntry) -> dict[str, Any]:
    """Each rule's result, by rule name, for ROWS against `entry` (lots 1 and 2 exist)."""
    t = con.create_table("facilities", ibis.memtable(ROWS, schema=TYPES))
    lots = con.create_table("lots", ibis.memtable({"bbl": [1, 2]}, schema={"bbl": "int64"}))
    build = BuildTables({"lots": "l1", "facilities": "f1"}, {"lots": lots, "facilities": t})
    return {r.rule: r for r in check_table(t, "facilities", entry, build=build).results}


def test_a_failing_rows_sample_shows_its_key_then_the_sample_columns_then_the_value(
    con: Any,
) -> None:
    found = check(con, facilities(["name", "address"]))["capacity: range"]
    assert found.sample_keys == [
        {"uid": "9f2c", "name": "Elm House", "address": "ELM HOUSE ST", "capacity": 900}
    ]
    assert list(found.sample_keys[0]) == ["uid", "name", "address", "capacity"]
    assert found.failure_text() == (
        'facilities.capacity: range (between 0 and 500) fails on 1 row: uid="9f2c" '
        'name="Elm House" address="ELM HOUSE ST" capacity=900'
    )


def test_without_sample_columns_a_sample_shows_the_key_alone(con: Any) -> None:
    results = check(con, facilities())
    assert results["capacity: range"].sample_keys == [{"uid": "9f2c", "capacity": 900}]
    assert results["facilities: primary key"].sample_keys == [{"uid": None}, {"uid": "1a7e"}]


def test_a_primary_key_shows_the_row_without_a_key_then_each_row_repeating_one(
    con: Any,
) -> None:
    found = check(con, facilities(["name"]))["facilities: primary key"]
    assert found.failing_rows == 2  # the empty uid, and the second 1a7e
    assert found.sample_keys == [
        {"uid": None, "name": "Ash Court"},
        {"uid": "1a7e", "name": "Oak Annex"},
        {"uid": "1a7e", "name": "Oak Home"},
    ]


def test_a_unique_column_shows_the_rows_repeating_its_value(con: Any) -> None:
    found = check(con, facilities(["name"]))["license: unique"]
    assert found.failing_rows == 1
    assert found.sample_keys == [
        {"uid": "1a7e", "name": "Oak Home", "license": "L2"},
        {"uid": "5d0b", "name": "Birch Hall", "license": "L2"},
    ]


def test_a_reference_failure_shows_the_sample_columns(con: Any) -> None:
    found = check(con, facilities(["name", "address"]))["bbl: references"]
    assert (found.failing_rows, found.sample_keys) == (
        1,
        [{"uid": "5d0b", "name": "Birch Hall", "address": "BIRCH HALL ST", "bbl": 7}],
    )


def test_the_report_text_shows_the_sample_columns(con: Any) -> None:
    t = con.create_table("facilities", ibis.memtable(ROWS, schema=TYPES))
    text = check_table(t, "facilities", facilities(["name"])).to_text()
    assert (
        'FAIL  facilities.capacity: range (between 0 and 500): 1 row(s), e.g. {"uid": "9f2c", '
        '"name": "Elm House", "capacity": 900}'
    ) in text


def test_a_column_named_also_as_key_or_as_the_value_at_fault_is_shown_once(con: Any) -> None:
    found = check(con, facilities(["uid", "capacity"]))["capacity: range"]
    assert found.sample_keys == [{"uid": "9f2c", "capacity": 900}]


def test_a_hand_written_pandera_contract_names_them_in_its_metadata() -> None:
    schema = pa.DataFrameSchema(
        {"id": pa.Column(int), "name": pa.Column(str), "n": pa.Column(int, pa.Check.ge(0))},
        unique=["id"],
        metadata={"sample_columns": ["name"]},
    )
    t = ibis.memtable({"id": [1, 2], "name": ["a", "b"], "n": [5, -1]})
    (found,) = [r for r in check_schema(t, "t", schema, "staging").results if not r.passed]
    assert found.sample_keys == [{"id": 2, "name": "b", "n": -1}]


def test_an_unknown_sample_column_is_named_with_its_table_and_the_likely_column(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "contracts" / "p"
    folder.mkdir(parents=True)
    (folder / "dictionary.yml").write_text(
        "product: p\ntables:\n  facilities:\n    description: facilities\n"
        "    sample_columns: [nmae, phone]\n    columns:\n"
        "      - {name: uid, type: text, description: the id}\n"
        "      - {name: name, type: text, description: its name}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_dictionary(tmp_path / "contracts", "p")
    assert (
        "field 'tables.facilities': sample_columns names unknown columns 'nmae' (did you mean "
        "'name'?), 'phone'; name columns of this table: uid, name"
    ) in str(error.value)


def test_a_table_without_sample_columns_keeps_its_contract_digest() -> None:
    # the digest decides whether a build reuses its cached contract results
    assert "sample_columns" not in facilities().model_dump_json()
    assert '"sample_columns":["name"]' in facilities(["name"]).model_dump_json()


def test_checking_a_dictionarys_rules_on_duckdb_imports_neither_pandera_nor_pandas() -> None:
    # pandera's import takes most of a second, pandas' (ibis's to_pyarrow) a third: `lake check`
    program = """
import sys
import ibis
from lakehouse.contracts.contract import check_table
from lakehouse.contracts.dictionary import TableEntry
con = ibis.duckdb.connect()
con.raw_sql("CREATE TABLE t AS SELECT * FROM (VALUES (1::BIGINT, 'a'), (1, 'b')) v(id, name)")
entry = TableEntry.model_validate({"description": "t", "primary_key": ["id"],
    "sample_columns": ["name"], "columns": [
    {"name": "id", "type": "integer", "description": "id", "range": [0, 9]},
    {"name": "name", "type": "text", "description": "n", "allowed": ["a"], "regex": "^[a-z]$"}]})
report = check_table(con.table("t"), "t", entry)
print(report.failure_text())
print(sorted(m for m in ("pandera", "pandas") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == [
        't.name: allowed (one of a) fails on 1 row: id=1 name="b"; '
        't.t: primary key ((id) unique and not null) fails on 1 row, e.g. id=1 name="a"; '
        'id=1 name="b"',
        "[]",
    ]
