"""Contracts from the data dictionary: each rule on small tables, and the build gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ibis
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.contracts.contract import check_table, dictionary_schema
from lakehouse.contracts.dictionary import TableEntry
from lakehouse.project import Lakehouse
from lakehouse.transform.builder import ContractError
from lakehouse.transform.records import BuildRecord
from tests.projects import make_project

TABLE = TableEntry(
    description="things",
    primary_key=["id"],
    columns=[
        {"name": "id", "type": "integer", "description": "key", "nullable": False},
        {"name": "kind", "type": "text", "description": "k", "allowed": ["a", "b"]},
        {"name": "size", "type": "integer", "description": "s", "range": [0, 10]},
        {"name": "zip", "type": "text", "description": "z", "regex": "^[0-9]{5}$",
         "severity": "warn"},
        {"name": "day", "type": "date", "description": "d", "range": ["2000-01-01", "2025-06-30"]},
    ],
)  # fmt: skip


TYPES = {"id": "int64", "kind": "string", "size": "int64", "zip": "string", "day": "date"}


def run(rows: list[dict]) -> dict[str, tuple[bool, int, list]]:
    report = check_table(ibis.memtable(rows, schema=TYPES), "things", TABLE)
    return {r.rule: (r.passed, r.failing_rows, r.sample_keys) for r in report.results}


def good(i: int, **changes: object) -> dict:
    import datetime as dt

    return {"id": i, "kind": "a", "size": 5, "zip": "11201", "day": dt.date(2020, 1, 1), **changes}


def test_a_clean_table_passes_every_rule() -> None:
    results = run([good(1), good(2, kind=None, zip=None)])
    assert all(passed for passed, _, _ in results.values())
    assert set(results) == {
        "id: not null", "kind: allowed", "size: range", "zip: regex", "day: range",
        "things: primary key", "things: columns", "things: types",
    }  # fmt: skip


def test_each_rule_counts_its_failing_rows_and_samples_keys() -> None:
    import datetime as dt

    results = run(
        [
            good(1, kind="x"),
            good(2, size=11),
            good(3, size=-1, zip="1120"),
            good(3),  # a repeated key
            good(4, day=dt.date(2030, 1, 1)),
            good(None),  # type: ignore[arg-type]
        ]
    )
    assert results["kind: allowed"] == (False, 1, [{"id": 1, "kind": "x"}])
    assert results["size: range"][:2] == (False, 2)
    assert sorted(k["id"] for k in results["size: range"][2]) == [2, 3]
    assert results["zip: regex"] == (False, 1, [{"id": 3, "zip": "1120"}])
    assert results["day: range"] == (False, 1, [{"id": 4, "day": dt.date(2030, 1, 1)}])
    assert results["id: not null"][:2] == (False, 1)
    assert results["things: primary key"][:2] == (False, 2)  # a NULL key + a surplus id 3


def test_warnings_do_not_block() -> None:
    report = check_table(ibis.memtable([good(1, zip="bad")]), "things", TABLE)
    assert report.passed
    assert [w.rule for w in report.warnings] == ["zip: regex"]


def test_the_same_contract_as_a_pandera_schema() -> None:
    from pandera.errors import SchemaErrors

    schema = dictionary_schema(TABLE)
    import datetime as dt

    table = ibis.memtable(
        [{"id": 1, "kind": "x", "size": 5, "zip": "11201", "day": dt.date(2020, 1, 1)}]
    )
    with pytest.raises(SchemaErrors):
        schema.validate(table, lazy=True)


def append_lot(lake: Lakehouse, project: Path, **changes: str) -> None:
    """Append a copy of the first lot of dof_pts.csv with `changes`, and archive it."""
    source = project / "data" / "pluto_lite" / "dof_pts.csv"
    header, first = source.read_text().splitlines()[:2]
    row = dict(zip(header.split(","), first.split(","), strict=False))
    row.update(changes)
    with source.open("a") as out:
        out.write(",".join(row.values()) + "\n")
    lake.ingest("dof_pts")


def build_report(lake: Lakehouse, entry: BuildRecord) -> tuple[dict[str, dict], str]:
    folder = Path(lake.store.root) / "builds" / "pluto_lite" / entry.build_id
    rows = pq.read_table(folder / "contracts" / "report.parquet").to_pylist()
    by_rule = {f"{row['table']}.{row['rule']}": row for row in rows}
    return by_rule, (folder / "contracts" / "report.txt").read_text()


def test_a_bad_key_in_a_source_stops_the_build_at_staging(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=300)
    lake.build("pluto_lite")
    # parses (the raw contract passes) but no borough 6 exists, and the key disagrees with block 2
    append_lot(lake, tmp_path / "p", bbl="6000010001", boro="6", block="2", lot="1")
    with pytest.raises(ContractError, match=r"failed its staging contract") as error:
        lake.build("pluto_lite", latest=True)
    assert "stopped after stg_dof_pts" in str(error.value)
    assert "cannot be published" in str(error.value)
    failed = lake.builds("pluto_lite")[-1]
    assert failed.status == "failed"
    assert failed.contracts.stopped_at == "stg_dof_pts"
    assert set(failed.contracts.failed) == {
        "stg_dof_pts.bbl: range",
        "stg_dof_pts.borough: not null",
        "stg_dof_pts.stg_dof_pts: check bbl agrees with block and lot",
    }
    assert failed.outputs == {}  # the product was never computed
    assert "pluto_lite" not in failed.models
    by_rule, text = build_report(lake, failed)
    assert by_rule["stg_dof_pts.bbl: range"]["failing_rows"] == 1
    assert by_rule["stg_dof_pts.bbl: range"]["layer"] == "staging"
    (sample,) = json.loads(by_rule["stg_dof_pts.bbl: range"]["sample_keys"])
    assert sample["bbl"] == 6000010001 and set(sample) == {"bbl", "updated_at"}  # the key
    agrees = by_rule["stg_dof_pts.stg_dof_pts: check bbl agrees with block and lot"]
    assert agrees["failing_rows"] == 1
    assert "FAIL  stg_dof_pts.bbl: range (between 1000010001 and 5999999999): 1 row(s)" in text
    assert text.index("\nstaging\n") < text.index("FAIL  stg_dof_pts.bbl")
    assert "\nproduct\n" not in text
    assert lake.builds("pluto_lite")[0].status == "passed"


def test_a_bad_value_that_staging_allows_fails_the_product_contract(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=300)
    append_lot(lake, tmp_path / "p", bbl="1000019998", block="1", lot="9998", year_built="2031")
    with pytest.raises(ContractError) as failing:
        lake.build("pluto_lite", latest=True)
    said = str(failing.value)  # the rule, its count and the row at fault, on the console
    assert "failed its product contract: pluto_lite.yearbuilt: range" in said
    # the key, then the dictionary's sample_columns (address, ownername), then the bad value
    assert re.search(
        r'fails on 1 row: bbl=1000019998 address="[^"]+" ownername="[^"]+" yearbuilt=2031;', said
    )
    failed = lake.builds("pluto_lite")[-1]
    assert failed.status == "failed"
    assert failed.contracts.stopped_at is None
    assert set(failed.contracts.failed) == {
        "pluto_lite.yearbuilt: range",
        "pluto_lite.bldg_age: range",
    }
    by_rule, text = build_report(lake, failed)
    assert by_rule["pluto_lite.yearbuilt: range"]["failing_rows"] == 1
    (sample,) = json.loads(by_rule["pluto_lite.yearbuilt: range"]["sample_keys"])
    assert list(sample) == ["bbl", "address", "ownername", "yearbuilt"]
    assert (sample["bbl"], sample["yearbuilt"]) == (1000019998, 2031)
    assert by_rule["pluto_lite.bldg_age: range"]["layer"] == "product"
    assert all(row["passed"] for row in by_rule.values() if row["layer"] == "staging")
    assert "FAIL  pluto_lite.yearbuilt: range (between 0 and 2025): 1 row(s)" in text


def test_lake_check_reruns_the_contract_on_a_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = make_project(tmp_path / "p", lots=200)
    lake.build("pluto_lite")
    monkeypatch.chdir(tmp_path / "p")
    runner = CliRunner()
    result = runner.invoke(app, ["check", "pluto_lite"])
    assert result.exit_code == 0, result.output
    assert "checks passed" in result.output
    path = tmp_path / "p" / "contracts" / "pluto_lite" / "dictionary.yml"
    path.write_text(
        path.read_text().replace(
            "range: [0, 2025]\n        source: dof_pts.year_built",
            "range: [1, 2025]\n        source: dof_pts.year_built",
        )
    )
    result = runner.invoke(app, ["check", "pluto_lite"])
    assert result.exit_code == 1
    assert "1 blocking" in result.output and "'yearbuilt': 0" in result.output


def test_an_edited_dictionary_rule_is_checked_again_on_a_cached_build(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=200)
    assert lake.build("pluto_lite").contracts.passed
    again = lake.build("pluto_lite")
    assert again.all_cached and again.contracts.passed
    path = tmp_path / "p" / "contracts" / "pluto_lite" / "dictionary.yml"
    text = path.read_text()
    path.write_text(text.replace("allowed: [MN, BX, BK, QN, SI]", "allowed: [MN, BX, BK, QN]"))
    with pytest.raises(ContractError, match="borough: allowed"):
        lake.build("pluto_lite")
    path.write_text(text)
    assert lake.build("pluto_lite").contracts.passed


def test_hand_written_pandera_checks_built_in_and_custom() -> None:
    import pandera.ibis as pa

    from lakehouse.contracts.check import check_schema

    def ordered(data):  # a table-wide check returning a projection: joins the one query
        return data.table.select(ok=data.table.low <= data.table.high)

    def even(value: int) -> bool:  # element-wise: a Python UDF, which pandera runs
        return value % 2 == 0

    schema = pa.DataFrameSchema(
        {
            "id": pa.Column(ibis.dtype("int64")),
            "low": pa.Column(ibis.dtype("int64"), pa.Check.ge(0), nullable=True),
            "high": pa.Column(
                ibis.dtype("int64"),
                [
                    pa.Check.le(100, raise_warning=True),
                    pa.Check(even, element_wise=True, name="even"),
                ],
                nullable=True,
            ),
        },
        checks=[pa.Check(ordered, name="low <= high")],
        unique=["id"],
    )
    rows = [
        {"id": 1, "low": 1, "high": 2},
        {"id": 2, "low": -1, "high": 4},
        {"id": 3, "low": 5, "high": 4},
        {"id": 3, "low": None, "high": 102},
        {"id": 4, "low": 0, "high": 7},
    ]
    types = {"id": "int64", "low": "int64", "high": "int64"}
    report = check_schema(ibis.memtable(rows, schema=types), "t", schema, "staging")
    results = {r.rule: r for r in report.results}
    assert results["low: at least"].failing_rows == 1
    assert results["low: at least"].sample_keys == [{"id": 2, "low": -1}]
    assert (
        results["high: at most"].severity == "warn" and results["high: at most"].failing_rows == 1
    )
    assert results["high: check even"].failing_rows == 1  # element-wise: run by pandera
    assert results["t: check low <= high"].failing_rows == 1  # the NULL low is not a failure
    assert results["t: check low <= high"].sample_keys == [{"id": 3}]
    assert results["t: unique"].failing_rows == 1
    assert results["t: unique"].sample_keys == [{"id": 3}]
    assert results["id: not null"].passed  # pandera's default: columns are not nullable
    assert results["t: columns"].passed and results["t: types"].passed
    assert {r.rule for r in report.blocking} == {
        "low: at least", "high: check even", "t: check low <= high", "t: unique"
    }  # fmt: skip


def test_a_schema_that_names_missing_columns_or_other_types_fails_its_structure_rules() -> None:
    import pandera.ibis as pa

    from lakehouse.contracts.check import check_schema

    schema = pa.DataFrameSchema(
        {"id": pa.Column(ibis.dtype("int64")), "name": pa.Column(ibis.dtype("string"))},
        strict=True,
    )
    report = check_schema(ibis.memtable([{"id": "1", "extra": 2}]), "t", schema, "staging")
    results = {r.rule: r for r in report.results}
    assert results["t: columns"].sample_keys == [{"missing": "name"}, {"unexpected": "extra"}]
    assert results["t: types"].sample_keys == [
        {"column": "id", "expected": "int64", "found": "string"}
    ]
    assert "name: not null" not in results  # a missing column's rules are not run


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("import nowhere\n", r"Importing contracts/pluto_lite/staging.py failed: ModuleNotFound"),
        ("X = 1\n", r"staging.py defines no CONTRACTS"),
        ("CONTRACTS = [1]\n", r"defines CONTRACTS as a list"),
        ("CONTRACTS = {'stg_nothing': 1}\n", r"names 'stg_nothing', which is not a model"),
        ("CONTRACTS = {'stg_dof_pts': 1}\n", r"CONTRACTS\['stg_dof_pts'\] is a int"),
    ],
)
def test_a_broken_contract_module_is_named_in_the_error(
    tmp_path: Path, module: str, message: str
) -> None:
    from lakehouse.contracts.contract import load_contracts
    from lakehouse.errors import ConfigError

    folder = tmp_path / "contracts" / "pluto_lite"
    folder.mkdir(parents=True)
    (folder / "staging.py").write_text(module)
    with pytest.raises(ConfigError, match=message):
        load_contracts(tmp_path / "contracts", "pluto_lite", {"stg_dof_pts", "pluto_lite"})


def test_a_broken_contract_module_stops_the_build_before_it_starts(tmp_path: Path) -> None:
    from lakehouse.errors import ConfigError

    lake = make_project(tmp_path / "p", lots=100)
    (tmp_path / "p" / "contracts" / "pluto_lite" / "staging.py").write_text("1 / 0\n")
    with pytest.raises(ConfigError, match="ZeroDivisionError"):
        lake.build("pluto_lite")
    assert lake.builds("pluto_lite") == []


def test_awkward_contracts_are_reported_not_crashed_on() -> None:
    import pandera.ibis as pa

    from lakehouse.contracts.check import check_schema

    def latest_per_group(data):  # a window: cannot join the one aggregate, pandera runs it
        t = data.table
        return t.v <= t.v.max().over(group_by=t.g)

    schema = pa.DataFrameSchema(
        {
            "g": pa.Column(ibis.dtype("string"), [pa.Check.isin(["a", "b"]),
                                                  pa.Check.isin(["a"]), pa.Check.isin(["b"])]),
            "v": pa.Column(ibis.dtype("string"), pa.Check.str_matches("^[0-9]+$")),
            "opt": pa.Column(ibis.dtype("int64"), required=False),
            "w": pa.Column(ibis.dtype("int64")),
        },
        checks=[pa.Check(latest_per_group, name="at most the group's max")],
        unique=["g", "missing"],
        ordered=True,
    )  # fmt: skip
    rows = ibis.memtable({"g": ["a", "b"], "v": [1, 2], "w": [1, 2]})
    results = {r.rule: r for r in check_schema(rows, "t", schema, "staging").results}
    assert results["t: columns"].sample_keys == [{"missing": "missing"}]  # no false order error
    assert results["t: types"].sample_keys == [
        {"column": "v", "expected": "string", "found": "int64"}
    ]
    assert "v: regex" not in results  # a column of the wrong type is not checked further
    assert "t: unique" not in results  # nor a key with a missing column
    assert [r for r in results if r.startswith("g: allowed")] == [
        "g: allowed", "g: allowed (2)", "g: allowed (3)"
    ]  # fmt: skip
    assert results["t: check at most the group's max"].passed
