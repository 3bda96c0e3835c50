"""The raw archive, on a local store and on S3 (moto on 127.0.0.1): the same tests on both.

Versions, immutability, dedupe, checksums, bad input; the store is only touched through its
own interface (fsspec), so each assertion means the same on either.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.config import LakehouseConfig, S3Settings, StoreSettings
from lakehouse.errors import (
    FormatError,
    InvalidNameError,
    NotFoundError,
    SourceError,
    VersionExistsError,
)
from lakehouse.project import Lakehouse
from tests.conftest import write_template


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, project_dir: Path) -> Lakehouse:
    """A project whose store is a local folder, or a prefix in a fresh bucket on moto."""
    if request.param == "local":
        store = StoreSettings(root=".lakehouse")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        store = StoreSettings(root=f"s3://{bucket}/lake", s3=S3Settings(endpoint_url=endpoint))
    return Lakehouse(LakehouseConfig(project_dir=project_dir, store=store))


def _all_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _version_files(lake: Lakehouse) -> set[str]:
    """Every file the store holds, but scratch space."""
    return {rel for rel in lake.store.list_files("") if not rel.startswith(".tmp/")}


def _overwrite(lake: Lakehouse, rel: str, data: bytes) -> None:
    """Change a stored file behind the archive's back (what corruption looks like)."""
    lake.store.fs.makedirs(lake.store.path(rel).rsplit("/", 1)[0], exist_ok=True)
    lake.store.fs.pipe_file(lake.store.path(rel), data)


def test_csv_is_archived_as_text_with_its_original_bytes(lake: Lakehouse, csv_file: Path) -> None:
    result = lake.ingest("lots", file=csv_file)
    manifest = result.manifest
    assert result.status == "archived"
    assert manifest.row_count == 3
    assert [(c.name, c.type) for c in manifest.columns] == [
        ("bbl", "VARCHAR"),
        ("Owner Name", "VARCHAR"),
        ("zip", "VARCHAR"),
    ]
    table = lake.read("lots")
    assert table.column("zip").to_pylist() == ["10001", "00123", "11201"]  # leading zeros kept
    assert table.column("Owner Name").to_pylist() == ["SMITH, JOHN", "  ACME  ", None]
    assert lake.store.read_bytes(manifest.source_files[0].path) == csv_file.read_bytes()
    assert manifest.source_sha256 == hashlib.sha256(csv_file.read_bytes()).hexdigest()
    data = lake.store.read_bytes(manifest.data_files[0].path)
    assert manifest.data_files[0].sha256 == hashlib.sha256(data).hexdigest()
    parquet = pq.ParquetFile(pa.BufferReader(data))
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"


def test_the_manifest_records_source_time_checksums_and_tool(
    lake: Lakehouse, csv_file: Path
) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    recorded = json.loads(lake.store.read_bytes(f"raw/lots/{manifest.version}/manifest.json"))
    assert recorded["dataset"] == "lots"
    assert recorded["source"]["location"] == str(csv_file)
    assert recorded["extracted_at"].endswith("Z") or "+00:00" in recorded["extracted_at"]
    assert recorded["tool"]["duckdb"] == "1.5.5"
    assert recorded["row_count"] == 3
    assert {"name": "bbl", "type": "VARCHAR"} in recorded["columns"]


def test_identical_bytes_make_no_new_version(lake: Lakehouse, csv_file: Path) -> None:
    first = lake.ingest("lots", file=csv_file)
    files_before = _version_files(lake)
    again = lake.ingest("lots", file=csv_file)
    assert again.status == "unchanged"
    assert again.version == first.version
    assert _version_files(lake) == files_before
    assert len(lake.versions("lots")) == 1


def test_a_second_same_day_version_gets_a_suffix_and_becomes_latest(
    lake: Lakehouse, csv_file: Path, tmp_path: Path
) -> None:
    first = lake.ingest("lots", file=csv_file).version
    changed = tmp_path / "changed.csv"
    changed.write_text("bbl,Owner Name,zip\n1,2,3\n")
    second = lake.ingest("lots", file=changed).version
    assert len(first) == 8 and first.isdigit()
    assert second == f"{first}-2"
    assert lake.manifest("lots").version == second
    assert [m.version for m in lake.versions("lots")] == [first, second]
    assert lake.read("lots", first).num_rows == 3
    assert lake.read("lots").num_rows == 1


def test_an_existing_version_is_never_overwritten(
    lake: Lakehouse, csv_file: Path, tmp_path: Path
) -> None:
    lake.ingest("lots", file=csv_file, version="25v1")
    before = {rel: lake.store.read_bytes(rel) for rel in _version_files(lake)}
    changed = tmp_path / "changed.csv"
    changed.write_text("bbl,Owner Name,zip\n1,2,3\n")
    with pytest.raises(VersionExistsError, match="never overwritten"):
        lake.ingest("lots", file=changed, version="25v1")
    assert {rel: lake.store.read_bytes(rel) for rel in _version_files(lake)} == before


def test_the_template_version_names_the_version(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n"
        "version: 24v1\nsteps:\n  - clean_column_names\n",
    )
    manifest = lake.ingest("lots").manifest
    assert manifest.version == "24v1"
    assert manifest.version_origin == "template"
    assert [c.name for c in manifest.columns] == ["bbl", "owner_name", "zip"]
    assert manifest.steps[0]["renamed"] == {"Owner Name": "owner_name"}


def test_relative_template_paths_are_relative_to_the_project(
    lake: Lakehouse, project_dir: Path
) -> None:
    (project_dir / "data").mkdir()
    (project_dir / "data" / "x.csv").write_text("a\n1\n")
    write_template(
        project_dir, "x", "name: x\nsource: {type: file, path: data/x.csv}\nformat: {type: csv}\n"
    )
    assert lake.ingest("x").manifest.row_count == 1


def test_unknown_dataset_and_version_are_clear_errors(lake: Lakehouse, csv_file: Path) -> None:
    with pytest.raises(NotFoundError, match="No ingest template for dataset 'nope'"):
        lake.ingest("nope")
    with pytest.raises(NotFoundError, match="no archived versions"):
        lake.manifest("nope")
    lake.ingest("lots", file=csv_file, version="v1")
    with pytest.raises(NotFoundError, match="archived versions: v1"):
        lake.manifest("lots", "v2")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a,b\n", "no data rows"),
        (b"a,b\n1,2\n3\n", "row with 1 fields where the header has 2"),
        (b"a,b\n1,2\n3,4,5\n", "row with 3 fields"),
        (b"a,b\n1,caf\xe9\n", "not valid text in the declared encoding"),
        (b"a,a\n1,2\n", "repeats column"),
    ],
)
def test_bad_csv_gets_a_clear_error_and_nothing_is_archived(
    lake: Lakehouse, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        lake.ingest("bad", file=path)
    assert lake.versions("bad") == []
    assert _version_files(lake) == set()


def test_latin1_is_read_when_the_template_says_so(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name\ncafé\n".encode("latin-1"))
    write_template(
        project_dir,
        "latin",
        f"name: latin\nsource: {{type: file, path: {path}}}\n"
        "format: {type: csv, encoding: latin-1}\n",
    )
    assert lake.ingest("latin").manifest.row_count == 1
    assert lake.read("latin").column("name").to_pylist() == ["café"]


def test_a_missing_file_is_a_source_error(lake: Lakehouse, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        lake.ingest("lots", file=tmp_path / "missing.csv")


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "/etc"])
def test_path_tricks_in_dataset_names_write_nothing(
    lake: Lakehouse, csv_file: Path, tmp_path: Path, name: str
) -> None:
    before = _all_files(tmp_path)
    with pytest.raises(InvalidNameError):
        lake.ingest(name, file=csv_file)
    assert _all_files(tmp_path) == before
    assert _version_files(lake) == set()


@pytest.mark.parametrize("version", ["../../x", "a/b", "..", "latest"])
def test_path_tricks_in_version_names_write_nothing(
    lake: Lakehouse, csv_file: Path, tmp_path: Path, version: str
) -> None:
    before = _all_files(tmp_path)
    with pytest.raises(InvalidNameError):
        lake.ingest("lots", file=csv_file, version=version)
    assert _all_files(tmp_path) == before
    assert _version_files(lake) == set()


def test_filter_steps_record_rows_in_and_out(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: {csv_file}}}\n"
        "format: {type: csv}\nsteps:\n  - filter_rows: {column: zip, not_equals: '00123'}\n",
    )
    manifest = lake.ingest("lots").manifest
    assert manifest.row_count == 2
    assert manifest.steps[-1] == {"step": "row_count", "rows_in": 3, "rows_out": 2}


def test_delta_storage_keeps_every_version_readable(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "d.csv"
    write_template(
        project_dir,
        "d",
        f"name: d\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\nstorage: delta\n",
    )
    path.write_text("a,b\n1,x\n2,y\n")
    first = lake.ingest("d", version="v1").manifest
    path.write_text("a,c\n3,z\n")
    second = lake.ingest("d", version="v2").manifest
    assert (first.delta_version, second.delta_version) == (0, 1)
    assert lake.read("d", "v1").to_pydict() == {"a": ["1", "2"], "b": ["x", "y"]}
    assert lake.read("d", "v2").to_pydict() == {"a": ["3"], "c": ["z"]}
    assert lake.read("d").to_pydict() == {"a": ["3"], "c": ["z"]}
    assert lake.verify().ok


def test_verify_finds_a_flipped_byte(lake: Lakehouse, csv_file: Path) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    assert lake.verify().ok
    for stored in (manifest.source_files[0], manifest.data_files[0]):
        original = lake.store.read_bytes(stored.path)
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        _overwrite(lake, stored.path, bytes(flipped))
        report = lake.verify()
        assert not report.ok
        assert [(p.dataset, p.path, p.reason) for p in report.corrupt] == [
            ("lots", stored.path, "sha256 does not match the manifest")
        ]
        _overwrite(lake, stored.path, original)
    assert lake.verify().ok


def test_verify_reports_a_missing_file(lake: Lakehouse, csv_file: Path) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    lake.store.fs.rm(lake.store.path(manifest.data_files[0].path))
    report = lake.verify()
    assert [p.reason for p in report.corrupt] == ["file is missing"]


def test_a_version_folder_without_manifest_is_not_a_version(
    lake: Lakehouse, csv_file: Path
) -> None:
    _overwrite(lake, "raw/lots/20990101/abc123/data.parquet", b"partial")
    assert lake.versions("lots") == []
    lake.ingest("lots", file=csv_file)
    assert [m.version for m in lake.versions("lots")] != ["20990101"]
    report = lake.verify()
    assert report.ok
    raw = [f for f in report.leftover_paths if f.startswith("raw/")]
    assert raw == ["raw/lots/20990101/abc123"]


def test_latest_in_any_case_is_not_a_version_name(lake: Lakehouse, csv_file: Path) -> None:
    with pytest.raises(InvalidNameError):
        lake.ingest("lots", file=csv_file, version="LATEST")


def test_a_source_updated_twice_the_same_day_gets_a_suffix(
    lake: Lakehouse, project_dir: Path
) -> None:
    from tests import fakes

    with fakes.SocrataServer() as portal:
        portal.add_sample_dataset("abcd-1234", n=20, seed=1)
        write_template(
            project_dir,
            "lic",
            f"name: lic\nsource: {{type: socrata, domain: '{portal.base_url}', "
            "dataset_id: abcd-1234, backoff_seconds: 0}\n",
        )
        first = lake.ingest("lic").version
        portal.set_rows("abcd-1234", fakes.sample_socrata_rows(5, seed=2))
        second = lake.ingest("lic").version
    assert (first, second) == ("20240412", "20240412-2")


def test_the_unchanged_result_tells_when_the_template_changed(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    text = f"name: lots\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n"
    write_template(project_dir, "lots", text)
    lake.ingest("lots")
    assert lake.ingest("lots").template_changed is False
    write_template(project_dir, "lots", text + "steps: [clean_column_names]\n")
    again = lake.ingest("lots")
    assert (again.status, again.template_changed) == ("unchanged", True)


def test_stray_folders_in_raw_are_not_datasets(lake: Lakehouse, csv_file: Path) -> None:
    lake.ingest("lots", file=csv_file)
    lake.store.write_bytes("raw/Bad Name/stray.txt", b"not a dataset")
    assert lake.datasets() == ["lots"]
    assert lake.verify().ok


def test_manifest_is_plain_json(lake: Lakehouse, csv_file: Path) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    recorded = json.loads(manifest.to_json())
    assert recorded["source_sha256"] == manifest.source_sha256
