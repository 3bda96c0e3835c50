"""Contracts from the data dictionary: each rule on small tables, and the build gate."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lakehouse.build import ContractError
from lakehouse.cli import app
from lakehouse.contracts import check_table, dictionary_schema
from lakehouse.dictionary import TableEntry
from tests.test_build import make_project

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


def run(rows: list[dict]) -> dict[str, tuple[bool, int, list]]:
    report = check_table(ibis.memtable(rows), "things", TABLE)
    return {r.rule: (r.passed, r.failing_rows, r.sample_keys) for r in report.results}


def good(i: int, **changes: object) -> dict:
    import datetime as dt

    return {"id": i, "kind": "a", "size": 5, "zip": "11201", "day": dt.date(2020, 1, 1), **changes}


def test_a_clean_table_passes_every_rule() -> None:
    results = run([good(1), good(2, kind=None, zip=None)])
    assert all(passed for passed, _, _ in results.values())
    assert set(results) == {
        "id: not null", "kind: allowed", "size: range", "zip: regex", "day: range",
        "things: primary key",
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


def test_bad_values_in_a_source_fail_the_build_with_a_report(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=300)
    lake.build("pluto_lite")
    source = tmp_path / "p" / "data" / "pluto_lite" / "dof_pts.csv"
    header, first = source.read_text().splitlines()[:2]
    fields = first.split(",")
    names = header.split(",")
    bad = dict(zip(names, fields, strict=False))
    bad.update(bbl="6000010001", boro="6", block="1", lot="1", year_built="1900")
    with source.open("a") as out:
        out.write(",".join(bad[name] for name in names) + "\n")
    lake.ingest("dof_pts")
    with pytest.raises(ContractError, match=r"failed its contract \(.*bbl: range.*\)") as error:
        lake.build("pluto_lite", latest=True)
    assert "cannot be published" in str(error.value)
    failed = lake.builds("pluto_lite")[-1]
    assert failed["status"] == "failed"
    assert "pluto_lite: bbl: range" not in failed["contracts"]["failed"]
    assert set(failed["contracts"]["failed"]) >= {"bbl: range", "borough: not null"}
    folder = Path(lake.store.root) / "builds" / "pluto_lite" / failed["build_id"]
    report = pq.read_table(folder / "contracts" / "report.parquet").to_pylist()
    by_rule = {row["rule"]: row for row in report}
    assert by_rule["bbl: range"]["failing_rows"] == 1
    assert json.loads(by_rule["bbl: range"]["sample_keys"]) == [{"bbl": 6000010001}]
    assert "FAIL  pluto_lite.bbl: range" in (folder / "contracts" / "report.txt").read_text()
    assert lake.builds("pluto_lite")[0]["status"] == "passed"


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
