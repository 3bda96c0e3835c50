"""Manifests are versioned records: the first shape (`manifest_format: 1`) still reads, new ones
say `schema_version: 2`, and a manifest from a newer lakehouse is refused in one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.archive.manifest import Manifest, RawContractSummary, SourceQaSummary
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


def test_every_fixture_manifest_reads_typed_and_writes_back_its_shape() -> None:
    """The raw contract's summary and the source QA are typed parts of the same JSON shape: every
    key and null as the manifests of store_v1 hold them."""
    paths = sorted(FIXTURE.glob("*/*/manifest.json"))
    assert len(paths) == 5
    for path in paths:
        raw = json.loads(path.read_bytes())
        manifest = Manifest.from_json(path.read_bytes(), str(path))
        assert isinstance(manifest.contract, RawContractSummary)
        assert isinstance(manifest.qa, SourceQaSummary)
        assert manifest.contract.report == raw["contract"]["report"]
        without_format = {k: v for k, v in raw.items() if k != "manifest_format"}
        assert json.loads(manifest.to_json()) == {"schema_version": 2, **without_format}
    second = FIXTURE / "dof_pts" / "20261128" / "manifest.json"
    drifted = Manifest.from_json(second.read_bytes(), str(second))
    assert drifted.qa is not None and drifted.qa.against == "20261127"
    assert drifted.qa.flags == ["keys removed: 2 (2.0%)"]
    assert drifted.qa.html is not None and drifted.qa.html.endswith("/qa/report.html")
    first = Manifest.from_json(OLD_MANIFEST.read_bytes(), str(OLD_MANIFEST))
    assert first.qa == SourceQaSummary(against=None, flags=[], report=None, html=None)
    assert first.contract is not None and first.contract.warnings == []


def test_manifests_from_before_contract_reports_and_html_reports_read() -> None:
    """The earliest manifests' contract summary had no `report`, their QA no `html`."""
    raw = json.loads(OLD_MANIFEST.read_bytes())
    del raw["contract"]["report"], raw["qa"]["html"]
    raw["contract"]["warnings"] = [
        {"rule": "units: parses as integer", "failing_rows": 1, "sample_keys": [{"units": "2.5"}]}
    ]
    manifest = Manifest.from_json(json.dumps(raw).encode(), "m.json")
    assert manifest.contract is not None and manifest.contract.report is None
    assert manifest.contract.warnings[0].sample_keys == [{"units": "2.5"}]
    assert manifest.qa is not None and manifest.qa.html is None


def test_a_manifest_with_a_damaged_qa_summary_is_refused_naming_the_field() -> None:
    raw = json.loads(OLD_MANIFEST.read_bytes())
    raw["qa"]["flags"] = "none"
    raw["contract"]["colour"] = "blue"
    with pytest.raises(IntegrityError) as error:
        Manifest.from_json(json.dumps(raw).encode(), "raw/x/1/manifest.json")
    assert str(error.value) == (
        "raw/x/1/manifest.json is not a valid manifest (unknown field 'contract.colour' (check "
        "the spelling); field 'qa.flags': Input should be a valid list); it is damaged: restore "
        "it or remove it."
    )


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
