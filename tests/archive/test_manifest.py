"""Manifests are versioned records: the first shape (`manifest_format: 1`) still reads, new ones
say `schema_version: 2`, and a manifest from a newer lakehouse is refused in one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.archive.manifest import Manifest
from lakehouse.errors import IntegrityError, NewerRecordError
from lakehouse.project import Lakehouse

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v1" / "store" / "raw"
OLD_MANIFEST = FIXTURE / "dob_jobs" / "20261127" / "manifest.json"


def test_a_first_shape_manifest_reads_as_the_current_one() -> None:
    raw = json.loads(OLD_MANIFEST.read_bytes())
    assert raw["manifest_format"] == 1 and "schema_version" not in raw
    manifest = Manifest.from_json(OLD_MANIFEST.read_bytes(), str(OLD_MANIFEST))
    assert manifest.schema_version == 2
    assert (manifest.dataset, manifest.version) == ("dob_jobs", "20261127")
    assert manifest.row_count == raw["row_count"]
    assert [f.sha256 for f in manifest.data_files] == [f["sha256"] for f in raw["data_files"]]


def test_a_new_manifest_names_its_schema_version_first(lake: Lakehouse, csv_file: Path) -> None:
    written = json.loads(lake.ingest("lots", file=csv_file).manifest.to_json())
    assert next(iter(written)) == "schema_version" and written["schema_version"] == 2
    assert "manifest_format" not in written


def test_a_manifest_from_a_newer_lakehouse_is_refused(lake: Lakehouse, csv_file: Path) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    path = Path(lake.store.root) / "raw" / "lots" / manifest.version / "manifest.json"
    record = json.loads(path.read_bytes())
    path.write_text(json.dumps({**record, "schema_version": 9}))
    with pytest.raises(NewerRecordError, match=r"manifest.json was written by a newer lakehouse"):
        lake.versions("lots")


def test_a_damaged_manifest_says_to_restore_it(lake: Lakehouse, csv_file: Path) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    path = Path(lake.store.root) / "raw" / "lots" / manifest.version / "manifest.json"
    path.write_text('{"schema_version": 2, "dataset": "lots"}')
    with pytest.raises(IntegrityError, match="unreadable or damaged; run `lake verify`"):
        lake.versions("lots")


def test_verify_stops_at_a_manifest_it_cannot_judge(lake: Lakehouse, csv_file: Path) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    path = Path(lake.store.root) / "raw" / "lots" / manifest.version / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_bytes()), "schema_version": 9}))
    with pytest.raises(NewerRecordError, match="upgrade lakehouse"):
        lake.verify()
