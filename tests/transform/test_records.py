"""Build records written before a field existed still read: a build.json from before contracts
and engines were recorded is a passed, unchecked DuckDB build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.transform.records import BuildRecord

BUILDS = Path(__file__).parents[1] / "fixtures" / "store_v1" / "store" / "builds" / "pluto_lite"


def test_a_build_json_from_before_contracts_and_engines_reads_as_a_passed_duckdb_build() -> None:
    written = json.loads(next(BUILDS.glob("*/build.json")).read_bytes())
    older = {k: v for k, v in written.items() if k not in ("status", "contracts", "engine")}
    record = BuildRecord.from_json(json.dumps(older).encode(), "build.json")
    assert (record.status, record.engine, record.passed) == ("passed", "duckdb", True)
    assert record.contracts.failed == [] and record.contracts.stopped_at is None
    assert record.build_id == written["build_id"]


def test_a_recorded_failure_is_kept() -> None:
    written = json.loads(next(BUILDS.glob("*/build.json")).read_bytes())
    failed = {**written, "status": "failed", "engine": "spark"}
    record = BuildRecord.from_json(json.dumps(failed).encode(), "build.json")
    assert (record.status, record.engine, record.passed) == ("failed", "spark", False)


def test_a_record_still_answers_the_keys_of_the_dict_it_was() -> None:
    written = json.loads(next(BUILDS.glob("*/build.json")).read_bytes())
    record = BuildRecord.from_json(json.dumps(written).encode(), "build.json")
    with pytest.warns(DeprecationWarning, match=r"use \.build_id instead of \['build_id'\]"):
        assert record["build_id"] == written["build_id"]
    with pytest.warns(DeprecationWarning):
        output = record["outputs"]["outputs/pluto_lite"]
    with pytest.warns(DeprecationWarning):
        assert output["rows"] == written["outputs"]["outputs/pluto_lite"]["rows"]
    with pytest.raises(KeyError):
        record["no_such_field"]
