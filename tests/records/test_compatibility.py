"""A store written before records were versioned (tests/fixtures/store_v1, by commit 37884ee)
still works with today's code: it loads, lists, diffs, verifies clean and publishes again, and
every record in it reads as schema version 1 and writes back the same bytes (the contract
results, once a bare list, inside the record)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.config import load_config
from lakehouse.contracts.records import ContractResults
from lakehouse.demo import generate_pluto_lite
from lakehouse.explore.explorer import Explorer, view_name
from lakehouse.project import Lakehouse
from lakehouse.publish.records import LatestRecord, PublishRecord
from lakehouse.qa.records import DiffRecord, DriftRecord, ProfileRecord
from lakehouse.records import VersionedRecord
from lakehouse.transform.records import BuildRecord, CacheEntry

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store_v1"
FIRST = "20261127T155604Z-fed411"  # 100 lots; published as 25v1, promoted to prod
SECOND = "20261127T155612Z-f94a98"  # two lots removed, two lots' assessland doubled
SOURCES = {
    "dof_pts": "20261127",
    "zoning_lots": "20261127",
    "dob_jobs": "20261127",
    "landmarks": "20261127",
}
RECORDS: list[tuple[str, type[VersionedRecord], int | None]] = [
    ("builds/*/*/build.json", BuildRecord, 2),
    ("**/publish/*/*/publish.json", PublishRecord, 2),
    ("**/publish/*/latest.json", LatestRecord, None),
    ("cache/*/*/*.json", CacheEntry, None),  # the model cache entries (not the contract ones)
    ("cache/*/*/*.contract-*.json", ContractResults, None),  # a model's contract results
    ("**/qa/diff-*.json", DiffRecord, None),  # in the builds and their published copies
    ("raw/*/*/*/qa/profile.json", ProfileRecord, None),
    ("raw/*/*/*/qa/drift.json", DriftRecord, None),
]


def open_copy(folder: Path) -> Lakehouse:
    """A copy of the fixture project, its store back under .lakehouse/, opened as a project."""
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("README.md"))
    (folder / "store").rename(folder / ".lakehouse")
    return Lakehouse(load_config(folder / "lakehouse.toml"))


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    """A copy only read (tests that write get their own)."""
    return open_copy(tmp_path_factory.mktemp("store_v1") / "p")


@pytest.fixture
def writable(tmp_path: Path) -> Lakehouse:
    return open_copy(tmp_path / "p")


def lake_cli(lake: Lakehouse, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(
        app,
        ["--config", str(lake.config.project_dir / "lakehouse.toml"), *args],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == code, result.output
    return result.output


def record_files(root: Path) -> list[tuple[Path, type[VersionedRecord], int | None]]:
    found = []
    for pattern, model, indent in RECORDS:
        for path in sorted(root.glob(pattern)):
            if (".contract-" in path.name) == (model is ContractResults):
                found.append((path, model, indent))
    return found


def test_the_fixture_predates_versioned_records() -> None:
    files = record_files(FIXTURE / "store")
    assert sorted({model.__name__ for _, model, _ in files}) == [
        "BuildRecord",
        "CacheEntry",
        "ContractResults",
        "DiffRecord",
        "DriftRecord",
        "LatestRecord",
        "ProfileRecord",
        "PublishRecord",
    ]
    # builds, publish.json (default and prod), latest, cache, contract results of 5 models in
    # 2 builds (3 staging ones unchanged), diffs (2 builds, 25v1 and its copy in prod), dof_pts
    # 20261128's profile and drift
    assert len(files) == 2 + 2 + 2 + 2 + 7 + 4 + 1 + 1
    for path, _, _ in files:
        assert "schema_version" not in json.loads(path.read_text()), path


def test_every_record_reads_as_version_1_and_writes_back_the_same_bytes() -> None:
    for path, model, indent in record_files(FIXTURE / "store"):
        data = path.read_bytes()
        record = model.from_json(data, str(path))
        assert record.schema_version == model.SCHEMA_VERSION
        written = record.to_json(indent)
        # today's file is yesterday's with schema_version first, nothing else changed but what
        # the migrations add (build.json 2: each model's fingerprint parts, not recorded then)
        version = model.SCHEMA_VERSION
        version_line = f'"schema_version": {version},' + ("\n" if indent else " ")
        version_line = ("  " if indent else "") + version_line
        written = written.replace(version_line.encode(), b"", 1)
        if model is BuildRecord:
            written = written.replace(b',\n      "parts": null', b"")
        before = b'{"results": ' + data + b"}" if model is ContractResults else data
        assert written == before, path
        assert model.from_json(written, str(path)) == record


def test_the_old_records_read_with_their_values(old: Lakehouse) -> None:
    first, second = old.builds("pluto_lite")
    assert (first.build_id, second.build_id) == (FIRST, SECOND)
    assert (first.status, first.engine, first.product) == ("passed", "duckdb", "pluto_lite")
    assert first.contracts.summary == "60/60 checks passed" and first.contracts.failed == []
    assert first.git.commit is None and first.git.dirty is None  # made outside a git work tree
    assert first.recipe.outputs == ["pluto_lite"] and first.order[-1] == "pluto_lite"
    assert {alias: p.version for alias, p in first.lock.inputs.items()} == SOURCES
    assert second.lock.inputs["dof_pts"].version == "20261128"
    assert {name: run.status for name, run in first.models.items()}["pluto_lite"] == "built"
    assert first.started_at.isoformat() == "2026-11-27T15:56:04.506554+00:00"
    assert first.started_at < first.finished_at < second.started_at
    output = first.outputs["outputs/pluto_lite"]
    assert (output.path, output.rows, output.bytes) == ("outputs/pluto_lite.parquet", 100, 9155)
    assert output.sha256.startswith("56047d89b64b") and output.content_sha256.startswith("30b2de")
    assert second.outputs["outputs/pluto_lite"].rows == 98

    (published,) = old.published("pluto_lite")
    assert (published.version, published.build_id) == ("25v1", FIRST)
    assert published.outputs == first.outputs and published.lock == first.lock
    assert published.inputs == {alias: f"{alias} {v}" for alias, v in SOURCES.items()}
    (qa,) = published.qa
    assert qa.report == "diff-first.html" and qa.against == "nothing (the first build)"
    assert qa.tables is not None and qa.tables["pluto_lite"].added == 100
    assert published.promoted_from is None
    (in_prod,) = Lakehouse(old.config.for_env("prod")).published("pluto_lite")
    assert in_prod.promoted_from is not None and in_prod.promoted_from.env == "default"
    assert in_prod.first_published_at == published.published_at
    assert in_prod.published_at > published.published_at

    entries = [path for path, model, _ in record_files(Path(old.store.root)) if model is CacheEntry]
    assert len(entries) == 2  # the output of each build (the staging models are views)
    for path in entries:
        entry = CacheEntry.from_json(path.read_bytes(), str(path))
        assert entry.model == "pluto_lite"
        assert entry.rows in (100, 98) and entry.columns["bbl"] == "int64"
        assert old.store.exists(entry.file) and entry.content_sha256 is not None


def test_the_old_qa_records_and_contract_results_read_with_their_values(old: Lakehouse) -> None:
    root = Path(old.store.root)
    path = root / "builds" / "pluto_lite" / SECOND / "qa" / "diff-25v1.json"
    diff = DiffRecord.from_json(path.read_bytes(), str(path))
    assert (diff.product, diff.old, diff.new) == (
        "pluto_lite",
        f"published 25v1 (build {FIRST})",
        SECOND,
    )
    (table,) = diff.tables
    assert (table.table, table.key, table.old_rows, table.new_rows) == (
        "pluto_lite",
        ["bbl"],
        100,
        98,
    )
    assert (table.added, table.removed, table.changed, table.identical) == (0, 2, 2, False)
    assert {column: n for column, n in table.columns.items() if n} == {"assessland": 2}
    assert table.removed_sample == [{"bbl": 5014700035}, {"bbl": 5014700043}]
    assert table.changed_sample[0] == {"bbl": 4020950008, "assessland": [43904, 87808]}
    assert table.numeric[0].column == "block" and table.numeric[0].new_mean is not None
    assert diff.removed_outputs == []

    (qa,) = root.glob("raw/dof_pts/20261128/*/qa")
    path = qa / "profile.json"
    profile = ProfileRecord.from_json(path.read_bytes(), str(path)).table_profile()
    assert profile.rows == 98 and profile.columns["bbl"].non_null == 98
    assert profile.columns["boro"].top[0] == ("4", 38)
    path = qa / "drift.json"
    drift = DriftRecord.from_json(path.read_bytes(), str(path))
    assert (drift.old_version, drift.new_version, drift.old_rows, drift.new_rows) == (
        "20261127",
        "20261128",
        100,
        98,
    )
    assert drift.flags == ["keys removed: 2 (2.0%)"] and drift.keys is not None
    assert drift.keys.removed_sample[0] == {
        "bbl": "5014700035",
        "updated_at": "2023-06-19 19:52:22",
    }
    assert drift.columns[0].top[0] == ("1016180036", 1, 1)
    # today's source QA reads the version's stored profile and finds what was found then
    found = old.source_qa("dof_pts")
    assert (found.flags, found.new_rows) == (drift.flags, profile.rows)
    assert found.keys is not None and found.keys.removed == drift.keys.removed == 2

    cached = [path for path, model, _ in record_files(root) if model is ContractResults]
    assert len(cached) == 7
    for path in cached:
        results = ContractResults.from_json(path.read_bytes(), str(path)).rule_results()
        layer = "product" if path.parent.name == "pluto_lite" else "staging"
        assert results and all(r.passed and r.layer == layer for r in results), path
        assert {r.table for r in results} == {path.parent.name}


def test_it_lists_with_the_library_and_the_cli(old: Lakehouse) -> None:
    assert [m.version for m in old.versions("dof_pts")] == ["20261127", "20261128"]
    (product,) = old.products()
    assert (product.builds, product.latest_build, product.latest_status) == (2, SECOND, "passed")
    assert [entry.version for entry in product.published] == ["25v1"]

    builds = lake_cli(old, "builds", "pluto_lite")
    assert FIRST in builds and SECOND in builds and "2026-11-27 15:56:04" in builds
    assert "20261127, 20261128" in builds and "1/8" in builds
    published = lake_cli(old, "published", "pluto_lite")
    assert "25v1" in published and FIRST in published and "2026-11-27 15:56:05" in published
    assert "against nothing (the first build): pluto_lite: +100 -0 ~0" in published
    assert "promoted from default" in lake_cli(old, "--env", "prod", "published", "pluto_lite")
    catalog = lake_cli(old, "catalog", "pluto_lite")
    assert f"builds: 2, latest {SECOND} (passed)" in catalog
    assert f"published 25v1: build {FIRST}, 2026-11-27" in catalog
    counted = lake_cli(old, "sql", "-c", "SELECT count(*) AS n FROM published.pluto_lite_25v1")
    assert "100" in counted
    views = Explorer(old).register_views()
    by_build = {f"build.{view_name('pluto_lite', build_id)}" for build_id in (FIRST, SECOND)}
    latest = {"build.pluto_lite", "published.pluto_lite_25v1", "published.pluto_lite"}
    assert by_build | latest <= set(views)


def test_it_diffs_its_builds_and_published_version(old: Lakehouse) -> None:
    found = old.diff("pluto_lite")  # the latest build against the latest published version
    assert (found.old, found.new) == (f"published 25v1 (build {FIRST})", SECOND)
    (table,) = found.tables
    assert (table.old_rows, table.new_rows) == (100, 98)
    assert (table.added, table.removed, table.changed) == (0, 2, 2)
    assert {column: n for column, n in table.columns.items() if n} == {"assessland": 2}
    between_builds = old.diff("pluto_lite", FIRST, SECOND).tables[0]
    assert (between_builds.removed, between_builds.changed) == (2, 2)
    assert old.diff("pluto_lite", FIRST, "25v1").identical  # 25v1 is the first build
    shown = lake_cli(old, "diff", "pluto_lite", "25v1", SECOND)
    assert "0 added, 2 removed, 2 changed" in shown and "assessland: 2 row(s) changed" in shown


def test_it_verifies_clean_and_checks_its_contracts(old: Lakehouse) -> None:
    report = old.verify()
    assert report.ok and report.leftover_paths == []
    assert report.versions_checked == 6  # five dataset versions and 25v1
    assert report.builds_checked == 2  # and each build's outputs against its build.json
    said = lake_cli(old, "verify")
    assert "OK: checked 13 files in 6 versions and 2 builds, all checksums match." in said
    entry, contracts = old.check("pluto_lite", build_id=FIRST)
    assert entry.build_id == FIRST and contracts.passed


def test_it_ingests_from_its_templates_in_recipes_sources(writable: Lakehouse) -> None:
    """Its lakehouse.toml says `templates = "recipes/sources"`, the old default: still honoured."""
    lake = writable
    folder = lake.config.project_dir
    assert lake.config.templates_dir == folder / "recipes" / "sources"
    assert lake.templates() == sorted(SOURCES)
    # new sources where its templates point (the fixture's were made with seed 42)
    generate_pluto_lite(folder / "data" / "pluto_lite", lots=100, seed=1)
    shown = lake_cli(lake, "ingest")
    for dataset in SOURCES:
        assert f"{dataset}: archived version" in shown
        assert lake.manifest(dataset).contract  # the template's raw contract was checked


def test_it_publishes_a_new_version_beside_the_old(writable: Lakehouse) -> None:
    lake = writable
    shown = lake_cli(lake, "publish", "pluto_lite", "--version", "25v2")
    assert f"published pluto_lite 25v2 from build {SECOND} (98 rows)" in shown
    old_version, new_version = lake.published("pluto_lite")
    assert (old_version.version, new_version.version) == ("25v1", "25v2")
    assert new_version.build_id == SECOND
    assert new_version.qa[0].against == f"published 25v1 (build {FIRST})"
    assert new_version.qa[0].tables is not None
    assert new_version.qa[0].tables["pluto_lite"].model_dump() == {
        "added": 0,
        "removed": 2,
        "changed": 2,
        "identical": False,
    }
    folder = Path(lake.store.root) / "publish" / "pluto_lite"
    written = json.loads((folder / "25v2" / "publish.json").read_text())
    assert written["schema_version"] == PublishRecord.SCHEMA_VERSION
    assert written["build_id"] == SECOND
    assert "schema_version" not in json.loads((folder / "25v1" / "publish.json").read_text())
    assert json.loads((folder / "latest.json").read_text()) == {
        "schema_version": 1,
        "version": "25v2",
    }
    found = lake.diff("pluto_lite", "25v1", "25v2")  # an old and a new record
    assert (found.tables[0].removed, found.tables[0].changed) == (2, 2)
    assert lake.verify().ok
    assert Explorer(lake).published("pluto_lite").metadata == new_version

    package = lake.package("pluto_lite", "25v1", "csv")  # the old record, packaged
    with zipfile.ZipFile(package.path) as archive:
        readme = archive.read("pluto_lite-25v1/README.md").decode()
    assert f"- Build: {FIRST}" in readme and "- Published: 2026-11-27T15:56:05" in readme
    assert "pluto_lite: 100 rows" in readme


def test_todays_build_joins_the_old_ones(writable: Lakehouse) -> None:
    lake = writable
    result = lake.build("pluto_lite")  # from the old lock, in the old store
    assert result.outputs["outputs/pluto_lite"].rows == 98
    first, second, third = lake.builds("pluto_lite")
    assert (first.build_id, second.build_id, third.build_id) == (FIRST, SECOND, result.build_id)
    same = "outputs/pluto_lite"
    assert third.outputs[same].content_sha256 == second.outputs[same].content_sha256
    assert lake.diff("pluto_lite", SECOND, result.build_id).identical
