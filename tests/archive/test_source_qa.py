"""A later version's source QA at ingest: its stored profile is exactly the profile of the
data archived, its keys are compared by the contract's unique key; a contract that fails
archives nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from lakehouse.archive.source_qa import parquet_source, version_profile
from lakehouse.errors import ContractFailed
from lakehouse.project import Lakehouse
from lakehouse.qa.profile import profile_table
from lakehouse.qa.records import DriftRecord
from tests.conftest import write_template

TEMPLATE = """name: lots
source: {{type: file, path: {path}}}
format: {{type: csv}}
contract:
  unique: [bbl]
  parse:
    bbl: {{as: integer, required: true}}
    units: {{as: integer}}
"""
FIRST = "bbl,units,owner\n1000010001,3,SMITH\n1000010002,,ACME\n1000010003,12,N/A\n"
SECOND = "bbl,units,owner\n1000010001,4,SMITH\n1000010003,12,N/A\n1000010004,7,  LEE \n"


def ingest(lake: Lakehouse, project_dir: Path, path: Path, text: str):  # type: ignore[no-untyped-def]
    path.write_text(text)
    write_template(project_dir, "lots", TEMPLATE.format(path=path))
    return lake.ingest("lots")


def test_a_later_versions_profile_is_its_archived_datas(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    ingest(lake, project_dir, tmp_path / "lots.csv", FIRST)
    second = ingest(lake, project_dir, tmp_path / "lots.csv", SECOND).manifest
    assert second.contract is not None and second.contract.summary == "5/5 checks passed"
    stored = version_profile(lake.store, second)  # written at ingest
    with duckdb.connect() as con:
        lake.store.register_in_duckdb(con)
        computed = profile_table(con, parquet_source(lake.store, second))
    assert stored.to_dict() == computed.to_dict()
    assert stored.columns["units"].mean == pytest.approx(23 / 3)
    drift = DriftRecord.from_json(lake.store.read_bytes(f"{second.run_folder}/qa/drift.json"), "")
    assert drift.keys is not None  # the contract's unique key, compared at ingest
    assert (drift.keys.kept, drift.keys.added, drift.keys.removed) == (2, 1, 1)
    assert drift.keys.added_sample == [{"bbl": "1000010004"}]
    assert drift.keys.removed_sample == [{"bbl": "1000010002"}]


def test_a_later_version_failing_its_contract_is_not_archived(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    ingest(lake, project_dir, tmp_path / "lots.csv", FIRST)
    repeated = SECOND + "1000010004,8,LEE\n"
    with pytest.raises(ContractFailed, match=r"bbl: unique: 1 row"):
        ingest(lake, project_dir, tmp_path / "lots.csv", repeated)
    assert len(lake.versions("lots")) == 1
