"""The versioned records: each round-trips through its JSON; a record of a newer schema, or a
damaged one, is refused in one sentence that names its file; an older one is upgraded."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.contracts.records import ContractResults
from lakehouse.contracts.report import RuleResult
from lakehouse.errors import IntegrityError, NewerRecordError
from lakehouse.publish.records import (
    LatestRecord,
    Promotion,
    PublishRecord,
    QASummary,
    TableChanges,
)
from lakehouse.qa.diff import BuildDiff, NumericShift, TableDiff
from lakehouse.qa.drift import ColumnDrift, KeyOverlap, SourceDrift
from lakehouse.qa.profile import ColumnProfile, TableProfile
from lakehouse.qa.records import DiffRecord, DriftRecord, ProfileRecord
from lakehouse.records import DamagedRecordWarning, VersionedRecord
from lakehouse.transform.records import (
    BuildRecord,
    CacheEntry,
    ContractsSummary,
    GitState,
    LockedInputRecord,
    LockRecord,
    ModelRunRecord,
    OutputRecord,
    RecipeRecord,
)
from tests.records.test_compatibility import FIRST, SECOND, open_copy

WHEN = datetime(2026, 11, 24, 9, 7, 1, 123456, tzinfo=UTC)
OUTPUT = OutputRecord(
    path="outputs/lots.parquet", rows=3, bytes=1234, sha256="a" * 64, content_sha256="b" * 64
)
LOCK = LockRecord(
    product="lots",
    locked_at=WHEN,
    inputs={
        "pts": LockedInputRecord(
            dataset="pts", product=None, output=None, version="20261124", sha256="c" * 64
        ),
        "other": LockedInputRecord(
            dataset=None, product="base", output="base", version=FIRST, sha256="d" * 64
        ),
    },
)
CONTRACTS = ContractsSummary(summary="3/3 checks passed", seconds=0.5, failed=[], stopped_at=None)


def build_record(**changes: Any) -> BuildRecord:
    fields: dict[str, Any] = {
        "build_id": "20261124T090701Z-abcdef",
        "status": "passed",
        "contracts": CONTRACTS,
        "product": "lots",
        "engine": "duckdb",
        "recipe": RecipeRecord.model_validate(
            {
                "name": "lots",
                "description": "",
                "owner": "me",
                "outputs": ["lots"],
                "keep": [],
                "inputs": {
                    "pts": {"dataset": "pts", "version": "latest"},
                    "other": {"product": "base", "output": "base", "build": "latest"},
                },
            }
        ),
        "lock": LOCK,
        "git": GitState(commit="f" * 40, dirty=False),
        "packages": {"lakehouse": "0.1.0", "duckdb": "1.5.5"},
        "started_at": WHEN,
        "finished_at": WHEN,
        "order": ["stg", "lots"],
        "models": {
            "stg": ModelRunRecord(
                layer="staging", fingerprint="e" * 64, status="view", seconds=0.01, rows=None
            ),
            "lots": ModelRunRecord(
                layer="product", fingerprint="f" * 64, status="built", seconds=0.2, rows=3
            ),
        },
        "outputs": {"outputs/lots": OUTPUT, "models/stg": OUTPUT.model_copy(update={"rows": 9})},
        "database": "/work/.lakehouse/workspace/lots/20261124T090701Z-abcdef.duckdb",
    }
    return BuildRecord(**{**fields, **changes})


def publish_record(**changes: Any) -> PublishRecord:
    fields: dict[str, Any] = {
        "product": "lots",
        "version": "25v1",
        "build_id": "20261124T090701Z-abcdef",
        "published_at": WHEN,
        "git": GitState(commit=None, dirty=None),
        "lock": LOCK,
        "inputs": {"pts": "pts 20261124", "other": f"base.base {FIRST}"},
        "contracts": CONTRACTS,
        "qa": [
            QASummary(
                report="diff-first.html",
                against="nothing (the first build)",
                tables={"lots": TableChanges(added=3, removed=0, changed=0, identical=False)},
            ),
            QASummary(report="notes.html"),  # not a diff: no against, no tables
        ],
        "outputs": {"outputs/lots": OUTPUT},
        "packages": {"lakehouse": "0.1.0"},
    }
    return PublishRecord(**{**fields, **changes})


PROFILE = TableProfile(
    3,
    {
        "bbl": ColumnProfile("bbl", "VARCHAR", 3, 3, True, 1.0, 3.5, 2.25, 10, 10, [("1", 2)]),
        "note": ColumnProfile("note", "VARCHAR", 1, 1),
    },
)
DRIFT = SourceDrift(
    "pts", "20261123", "20261124", 3, 2, ["note"], ["gone"], [("old_name", "new_name")],
    [("units", "BIGINT", "VARCHAR")],
    [
        ColumnDrift("bbl", PROFILE.columns["bbl"], PROFILE.columns["bbl"], 0.0, 0.5,
                    [("1", 2, 1)], ["null rate 0.0% -> 50.0%"]),
        ColumnDrift("note", None, PROFILE.columns["note"], None, 0.5),
    ],
    KeyOverlap(["bbl", "day"], 2, 0, 1, [], [{"bbl": "3", "day": date(2026, 11, 23)}]),
    ["column added: note", "keys removed: 1 (33.3%)"],
)  # fmt: skip
DIFF = BuildDiff(
    "lots",
    "nothing (the first build)",
    "20261124T090701Z-abcdef",
    [
        TableDiff(
            "lots", ["bbl"], 3, 2, False, 0, 1, 1, {"name": 1, "area": 0},
            retyped_columns=["area: INTEGER -> DOUBLE"],
            numeric=[NumericShift("area", 1.0, 3.0, 2.0, 1.0, 4.0, None)],
            removed_sample=[{"bbl": Decimal("3.50")}],
            changed_sample=[{"bbl": 1, "name": ["a", "b"], "day": [date(2026, 11, 23), None]}],
        ),
        TableDiff("kept", ["id"], 5, 5, True),
    ],
    removed_outputs=["retired"],
)  # fmt: skip
RULES = [
    RuleResult("lots", "bbl: unique", "bbl", "unique", "no repeated values", "error", False, 1,
               [{"bbl": Decimal("1.50"), "day": date(2026, 11, 23)}], "product"),
    RuleResult("lots", "lots: columns", None, "columns", "as listed", "warn", True, 0),
]  # fmt: skip

RECORDS: list[VersionedRecord] = [
    build_record(),
    build_record(
        status="failed",
        outputs={},
        contracts=CONTRACTS.model_copy(update={"failed": ["stg.x: range"], "stopped_at": "stg"}),
    ),
    publish_record(),
    publish_record(promoted_from=Promotion(env="dev", published_at=WHEN)),
    LatestRecord(version="25v1"),
    CacheEntry(
        model="lots",
        file="cache/lots/lots/ffff.1234abcd.parquet",
        rows=3,
        content_sha256=None,
        schema={"bbl": "int64", "name": "string"},
    ),
    ProfileRecord.of(PROFILE),
    DriftRecord.of(DRIFT),
    DiffRecord.of(DIFF),
    ContractResults.of(RULES),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_each_record_round_trips_through_its_json(record: VersionedRecord) -> None:
    data = record.to_json()
    again = type(record).from_json(data, "x.json")
    assert again == record
    assert again.to_json() == data
    written = json.loads(data)
    assert next(iter(written)) == "schema_version"
    assert written["schema_version"] == type(record).SCHEMA_VERSION


def test_records_write_the_keys_they_always_wrote() -> None:
    build = json.loads(build_record().to_json())
    assert list(build) == [
        "schema_version",
        "build_id",
        "status",
        "contracts",
        "product",
        "engine",
        "recipe",
        "lock",
        "git",
        "packages",
        "started_at",
        "finished_at",
        "order",
        "models",
        "outputs",
        "database",
    ]
    assert build["started_at"] == "2026-11-24T09:07:01.123456+00:00"  # as isoformat() wrote it
    assert build["lock"]["locked_at"] == "2026-11-24T09:07:01.123456Z"  # as the lock writes it
    assert build["outputs"]["outputs/lots"] == {
        "path": "outputs/lots.parquet",
        "rows": 3,
        "bytes": 1234,
        "sha256": "a" * 64,
        "content_sha256": "b" * 64,
    }
    published = json.loads(publish_record().to_json())
    assert "promoted_from" not in published  # only a promoted copy has one
    assert published["qa"][1] == {"report": "notes.html"}
    promoted = publish_record(promoted_from=Promotion(env="dev", published_at=WHEN))
    assert json.loads(promoted.to_json())["promoted_from"]["env"] == "dev"
    cache = json.loads(next(r for r in RECORDS if isinstance(r, CacheEntry)).to_json(None))
    assert list(cache) == ["schema_version", "model", "file", "rows", "content_sha256", "schema"]
    assert json.loads(LatestRecord(version="25v2").to_json(None)) == {
        "schema_version": 1,
        "version": "25v2",
    }


def test_qa_and_contract_records_write_the_bytes_they_always_wrote() -> None:
    """As `json.dumps(..., default=str)` wrote them, schema_version first: the dates and decimals
    of sample rows as text, a non-finite number as JSON's extension writes it."""
    infinite = BuildDiff("lots", "a", "b", [TableDiff("lots", ["bbl"], 1, 1, False, changed=1)])
    infinite.tables[0].changed_sample = [{"bbl": 1, "area": [1.5, float("inf")]}]
    before: list[tuple[VersionedRecord, str]] = [
        (ProfileRecord.of(PROFILE), json.dumps(PROFILE.to_dict())),
        (DriftRecord.of(DRIFT), json.dumps(DRIFT.to_dict(), default=str)),
        (DiffRecord.of(DIFF), json.dumps(DIFF.to_dict(), default=str)),
        (DiffRecord.of(infinite), json.dumps(infinite.to_dict(), default=str)),
        # a bare list of results before: now the record's `results`
        (
            ContractResults.of(RULES),
            json.dumps({"results": [asdict(r) for r in RULES]}, default=str),
        ),
    ]
    for record, old in before:
        assert record.to_json(None).decode() == '{"schema_version": 1, ' + old[1:]
    assert b'"area": [1.5, Infinity]' in DiffRecord.of(infinite).to_json(None)


def test_qa_and_contract_records_give_back_what_they_record() -> None:
    assert ProfileRecord.of(PROFILE).table_profile() == PROFILE
    drift = DriftRecord.of(DRIFT)
    assert drift.renamed == [("old_name", "new_name")] and drift.columns[1].old is None
    assert drift.keys is not None
    assert drift.keys.removed_sample == [{"bbl": "3", "day": "2026-11-23"}]
    diff = DiffRecord.of(DIFF)
    assert [(t.table, t.identical) for t in diff.tables] == [("lots", False), ("kept", True)]
    assert diff.tables[0].removed_sample == [{"bbl": "3.50"}]
    assert diff.tables[0].numeric[0].new_mean is None and diff.removed_outputs == ["retired"]
    texts = [{"bbl": "1.50", "day": "2026-11-23"}]
    assert ContractResults.of(RULES).rule_results() == [
        RuleResult(**{**asdict(RULES[0]), "sample_keys": texts}),
        RULES[1],
    ]


def test_contract_results_from_before_records_read_and_damaged_ones_are_refused() -> None:
    bare = [asdict(RULES[1])]
    assert ContractResults.from_json(json.dumps(bare).encode(), "c.json").rule_results() == [
        RULES[1]
    ]
    before_layers = [{k: v for k, v in asdict(RULES[1]).items() if k != "layer"}]
    (result,) = ContractResults.from_json(json.dumps(before_layers).encode(), "c.json").results
    assert result.layer == ""
    for data, message in [
        (b"[{", r"^c\.json is not valid JSON \(.*\); it is damaged: restore it or remove it\.$"),
        (
            b"[1]",
            r"^c\.json is not a valid contract results cache entry \(\.contract-\*\.json\) "
            r"\(field 'results\.0': .*\); it is damaged",
        ),
        (b'"results"', r"^c\.json is not a contract results cache entry .*\(not a JSON object\)"),
    ]:
        with pytest.raises(IntegrityError, match=message):
            ContractResults.from_json(data, "c.json")


def test_the_lakehouse_refuses_newer_qa_and_contract_records_in_one_sentence(
    tmp_path: Path,
) -> None:
    lake = open_copy(tmp_path / "p")
    root = Path(lake.store.root)

    def newer(path: Path) -> str:
        path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 7}))
        return f"{path} was written by a newer lakehouse (schema 7, this one reads up to 1); "

    diff = root / "builds" / "pluto_lite" / SECOND / "qa" / "diff-25v1.json"
    expected = newer(diff) + "upgrade lakehouse."
    with pytest.raises(NewerRecordError) as error:
        lake.publish("pluto_lite", "25v2")  # reads the build's diff for publish.json
    assert str(error.value) == expected
    assert not (root / "publish" / "pluto_lite" / "25v2").exists()

    (profile,) = root.glob("raw/dof_pts/20261128/*/qa/profile.json")
    expected = newer(profile) + "upgrade lakehouse."
    with pytest.raises(NewerRecordError) as error:
        lake.source_qa("dof_pts")  # the version's stored profile
    assert str(error.value) == expected

    old = set(root.glob("cache/*/*/*.contract-*.json"))
    lake.build("pluto_lite")
    written = sorted(set(root.glob("cache/*/*/*.contract-*.json")) - old)
    assert written and all(json.loads(p.read_text())["schema_version"] == 1 for p in written)
    for path in written:
        newer(path)
    with pytest.raises(
        NewerRecordError, match=r"\.contract-[0-9a-f]+\.json was written by a newer"
    ):
        lake.build("pluto_lite")  # reuses the contract results of the unchanged models


def test_records_tell_a_build_from_a_published_version() -> None:
    build, published = build_record(), publish_record()
    assert build.output_names() == published.output_names() == ["lots"]  # not models/stg
    assert published.first_published_at == WHEN
    later = publish_record(
        published_at=datetime(2027, 1, 1, tzinfo=UTC),
        promoted_from=Promotion(env="dev", published_at=WHEN),
    )
    assert later.first_published_at == WHEN


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_newer_schema_is_refused_naming_the_file(record: VersionedRecord) -> None:
    data = json.loads(record.to_json())
    data["schema_version"] = 7
    data["a_field_of_the_future"] = True
    with pytest.raises(NewerRecordError) as error:
        type(record).from_json(json.dumps(data).encode(), "builds/p/x/build.json")
    assert str(error.value) == (
        "builds/p/x/build.json was written by a newer lakehouse (schema 7, this one reads up to "
        f"{type(record).SCHEMA_VERSION}); upgrade lakehouse."
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", r"^x/build.json is not valid JSON \(.*\); it is damaged"),
        (b"[1, 2]", r"^x/build.json is not a build record \(build.json\) \(not a JSON object\)"),
        (b'{"schema_version": "2"}', r"^x/build.json has schema_version '2', not a whole number"),
        (b'{"schema_version": 0}', r"^x/build.json has schema_version 0, not a whole number"),
        (b'{"schema_version": true}', r"has schema_version True, not a whole number"),
    ],
)
def test_a_damaged_record_is_refused_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(IntegrityError, match=message):
        BuildRecord.from_json(data, "x/build.json")


def test_a_record_with_a_wrong_field_is_refused_naming_the_field() -> None:
    written = json.loads(build_record().to_json())
    unknown = {**written, "colour": "blue"}
    with pytest.raises(IntegrityError, match=r"unknown field 'colour' \(check the spelling\)"):
        BuildRecord.from_json(json.dumps(unknown).encode(), "x/build.json")
    del written["outputs"]["outputs/lots"]["sha256"]
    with pytest.raises(
        IntegrityError,
        match=r"^x/build.json is not a valid build record \(build.json\) \(field "
        r"'outputs.outputs/lots.sha256': Field required\); it is damaged: restore it or remove it",
    ):
        BuildRecord.from_json(json.dumps(written).encode(), "x/build.json")


def test_an_older_schema_is_upgraded_by_its_migrations() -> None:
    class Counted(VersionedRecord):
        """A record whose version 2 renamed `n` to `count`, and version 3 added `unit`."""

        SCHEMA_VERSION: ClassVar[int] = 3
        MIGRATIONS: ClassVar[dict[int, Any]] = {
            1: lambda old: {"count": old["n"]},
            2: lambda old: {**old, "unit": "rows"},
        }

        count: int
        unit: str

    assert Counted.from_json(b'{"n": 4}', "c.json") == Counted(count=4, unit="rows")
    assert Counted.from_json(b'{"schema_version": 2, "count": 5}', "c.json").unit == "rows"
    assert Counted(count=1, unit="rows").schema_version == 3
    with pytest.raises(ValueError, match="read with from_json"):
        Counted.model_validate({"schema_version": 1, "count": 1, "unit": "rows"})


def test_the_lakehouse_refuses_a_newer_build_json_in_one_sentence(tmp_path: Path) -> None:
    lake = open_copy(tmp_path / "p")
    path = Path(lake.store.root) / "builds" / "pluto_lite" / FIRST / "build.json"
    original = path.read_text()
    path.write_text(json.dumps({**json.loads(original), "schema_version": 7}))
    expected = (
        f"{path} was written by a newer lakehouse (schema 7, this one reads up to "
        f"{BuildRecord.SCHEMA_VERSION}); upgrade lakehouse."
    )
    with pytest.raises(IntegrityError) as error:
        lake.builds("pluto_lite")
    assert str(error.value) == expected
    result = CliRunner().invoke(
        app,
        ["--config", str(tmp_path / "p" / "lakehouse.toml"), "builds", "pluto_lite"],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {expected}"
    path.write_text(original)

    latest = Path(lake.store.root) / "publish" / "pluto_lite" / "latest.json"
    latest.write_text('{"schema_version": 2, "version": "25v1", "channel": "stable"}')
    with pytest.raises(IntegrityError, match=r"latest.json was written by a newer lakehouse"):
        lake.diff("pluto_lite")  # against the latest published version: reads latest.json
    latest.unlink()
    published = Path(lake.store.root) / "publish" / "pluto_lite" / "25v1" / "publish.json"
    published.write_text("{")
    with pytest.warns(DamagedRecordWarning, match=r"25v1/publish.json is not valid JSON"):
        assert "25v1" not in [entry.version for entry in lake.published("pluto_lite")]


def test_verify_reports_a_damaged_publish_json_and_stops_at_a_newer_one(tmp_path: Path) -> None:
    lake = open_copy(tmp_path / "p")
    record = Path(lake.store.root) / "publish" / "pluto_lite" / "25v1" / "publish.json"
    original = record.read_text()
    record.write_text(original.replace('"build_id"', '"build"'))
    report = lake.verify()
    assert [(p.dataset, p.version, p.path, p.reason) for p in report.corrupt] == [
        ("pluto_lite", "25v1", "publish/pluto_lite/25v1/publish.json", "publish.json is damaged")
    ]
    newer = PublishRecord.SCHEMA_VERSION + 1
    record.write_text(json.dumps({**json.loads(original), "schema_version": newer}))
    with pytest.raises(NewerRecordError, match=r"publish\.json was written by a newer lakehouse"):
        lake.verify()


def test_a_misspelt_key_inside_a_part_of_a_record_is_refused_naming_it() -> None:
    from lakehouse.qa.records import ProfileRecord

    column = {"name": "bbl", "type": "BIGINT", "non_null": 1, "distinct": 1, "maximun": 3}
    data = json.dumps({"rows": 1, "columns": [column]}).encode()
    with pytest.raises(IntegrityError, match=r"unknown field 'columns.0.maximun'"):
        ProfileRecord.from_json(data, "qa/profile.json")


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    from lakehouse.contracts.dictionary import Dictionary
    from lakehouse.errors import ConfigError
    from lakehouse.records import load_yaml_model

    levels = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = tmp_path / "dictionary.yml"  # 9^9 = 387 million strings once expanded
    bomb.write_text("\n".join(levels) + "\nproduct: p\ntables: {}\n")
    assert bomb.stat().st_size < 1000
    with pytest.raises(ConfigError, match=r"expands to more than 1,000,000 values through its"):
        load_yaml_model(bomb, Dictionary, "product and tables")
