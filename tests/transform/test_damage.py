"""Damaged files under builds (issue 13): a cached model whose file or record changed after it
was written is never reused (W1), and a damaged record is reported for itself while every other
build keeps working.

Each test damages a copy of one PLUTO-lite project (archived and locked once per module) the
way a disk, a person or a half-finished copy would: values rewritten, a byte flipped, a record
cut short, nested past what JSON readers take, replaced by something else."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.config import load_config
from lakehouse.errors import IntegrityError
from lakehouse.project import Lakehouse
from lakehouse.records import DamagedRecordWarning
from lakehouse.transform.builder import BuildResult, ModelRun
from lakehouse.transform.cache import (
    DAMAGED_FOLDER,
    damaged_cache,
    quarantined,
    recorded_sha256,
)
from lakehouse.transform.index import damaged_builds, find_build, scan_builds
from tests.projects import make_project, s3_project

PRODUCT = "pluto_lite"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PLUTO-lite project, archived and locked, never built (copied by each test)."""
    folder = tmp_path_factory.mktemp("damage") / "project"
    make_project(folder, lots=400).lock(PRODUCT)
    return folder


@pytest.fixture
def lake(locked: Path, tmp_path: Path) -> Lakehouse:
    folder = tmp_path / "project"
    shutil.copytree(locked, folder)
    return Lakehouse(load_config(folder / "lakehouse.toml"))


def run_of(result: BuildResult, name: str = PRODUCT) -> ModelRun:
    return next(run for run in result.models if run.name == name)


def statuses(result: BuildResult) -> dict[str, str]:
    return {run.name: run.status for run in result.models if run.status != "view"}


def stored(lake: Lakehouse, rel: str) -> Path:
    return Path(lake.store.root) / rel


def entry_record(lake: Lakehouse, result: BuildResult) -> Path:
    """The cache entry's record (`<fingerprint>.json`) of the product's output model."""
    run = run_of(result)
    return stored(lake, f"cache/{PRODUCT}/{PRODUCT}/{run.fingerprint}.json")


def quarantine(lake: Lakehouse, build_id: str) -> Path:
    return stored(lake, f"cache/{PRODUCT}/{PRODUCT}/{DAMAGED_FOLDER}/{build_id}")


def numfloors(lake: Lakehouse, result: BuildResult) -> float:
    output = stored(lake, f"{result.folder}/outputs/{PRODUCT}.parquet")
    with duckdb.connect() as con:
        found = con.execute(f"SELECT sum(numfloors) FROM read_parquet('{output}')").fetchone()
    assert found is not None
    return float(found[0])


def build_quietly(lake: Lakehouse) -> BuildResult:
    """A build that must report no damage."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedRecordWarning)
        return lake.build(PRODUCT)


# -- W1: a damaged cached result is checked, reported, kept aside and rebuilt ---------------------


def rewrite_values(path: Path) -> None:
    """The attack of issue 13: the cached file rewritten, a valid Parquet file of the same
    schema, with numfloors = 99 in its first 100 rows."""
    rewritten = path.with_name("rewritten.parquet")
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () <= 100 THEN 99 "
            f"ELSE numfloors END AS numfloors) FROM read_parquet('{path}')) TO '{rewritten}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    rewritten.replace(path)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [rewrite_values, flip_a_byte], ids=["rewritten", "flipped"])
def test_a_damaged_cached_result_is_rebuilt_never_reused(
    lake: Lakehouse, damage: Callable[[Path], None]
) -> None:
    first = lake.build(PRODUCT)
    cached = run_of(first).cache_file
    assert cached is not None and recorded_sha256(cached) is not None
    damage(stored(lake, cached))

    with pytest.warns(DamagedRecordWarning) as reported:
        again = lake.build(PRODUCT)
    (message,) = [str(w.message) for w in reported]
    assert cached in message and "sha256" in message and "lake verify" in message
    assert again.damaged == [message]
    assert statuses(again) == {PRODUCT: "built"}  # recomputed, not reused
    same = f"outputs/{PRODUCT}"
    assert again.outputs[same].content_sha256 == first.outputs[same].content_sha256
    assert numfloors(lake, again) == numfloors(lake, first)
    assert again.contracts.passed

    # the damaged file is kept as evidence, out of the cache's way, with a note saying why
    kept = quarantine(lake, again.build_id)
    assert not stored(lake, cached).exists()
    assert (kept / Path(cached).name).is_file()
    assert (kept / entry_record(lake, first).name).is_file()  # the record that named it
    assert f"build {again.build_id}: {message}" in (kept / "DAMAGED.txt").read_text()
    # the fresh entry is sound: the next build reuses it without a word
    third = build_quietly(lake)
    assert (
        third.all_cached
        and third.outputs[same].content_sha256 == first.outputs[same].content_sha256
    )


def test_a_cached_result_whose_file_is_gone_is_rebuilt(lake: Lakehouse) -> None:
    first = lake.build(PRODUCT)
    cached = run_of(first).cache_file
    assert cached is not None
    stored(lake, cached).unlink()
    with pytest.warns(DamagedRecordWarning, match="missing"):
        again = lake.build(PRODUCT)
    assert statuses(again) == {PRODUCT: "built"}
    assert build_quietly(lake).all_cached


def test_a_cached_result_written_before_checksums_is_recomputed_once(lake: Lakehouse) -> None:
    """An entry of an earlier lakehouse (`<fingerprint>.<8 hex>.parquet`, no sha256 in its
    name) cannot be checked: it is recomputed once, not called damaged."""
    first = lake.build(PRODUCT)
    cached = run_of(first).cache_file
    assert cached is not None
    old_name = cached.split(".sha256-")[0] + ".parquet"
    stored(lake, cached).rename(stored(lake, old_name))
    record = entry_record(lake, first)
    written = json.loads(record.read_text())
    record.write_text(json.dumps({**written, "file": old_name}))
    assert recorded_sha256(old_name) is None

    again = build_quietly(lake)
    assert statuses(again) == {PRODUCT: "built"}
    assert stored(lake, old_name).is_file()  # left where it was, like any replaced entry
    assert build_quietly(lake).all_cached


# -- a damaged cache record is ignored (rebuilt), never a failed build -----------------------------


def _json(data: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(data)
    return loaded


RECORD_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "not JSON": lambda data: b"xx",
    "cut short": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "binary": lambda data: b"\x00\xff\xfe" + data,
    "nested too deep": lambda data: b"[" * 100_000,
    "not an object": lambda data: b"[]",
    "a field of the wrong type": lambda data: json.dumps({**_json(data), "rows": "many"}).encode(),
    "rows that disagree with the file": lambda data: json.dumps(
        {**_json(data), "rows": _json(data)["rows"] + 1}
    ).encode(),
    "a file outside its model's cache": lambda data: json.dumps(
        {**_json(data), "file": "raw/dof_pts/elsewhere.parquet"}
    ).encode(),
}


@pytest.mark.parametrize("damage", list(RECORD_DAMAGE), ids=list(RECORD_DAMAGE))
def test_a_damaged_cache_record_is_rebuilt_not_an_error(lake: Lakehouse, damage: str) -> None:
    first = lake.build(PRODUCT)
    record = entry_record(lake, first)
    written = record.read_bytes()
    record.write_bytes(RECORD_DAMAGE[damage](written))

    with pytest.warns(DamagedRecordWarning) as reported:
        again = lake.build(PRODUCT)
    (message,) = [str(w.message) for w in reported]
    assert record.name in message and "damaged" in message and "lake verify" in message
    assert statuses(again) == {PRODUCT: "built"} and again.contracts.passed
    kept = quarantine(lake, again.build_id)
    assert (kept / record.name).read_bytes() == RECORD_DAMAGE[damage](written)
    assert build_quietly(lake).all_cached


def test_damaged_cached_contract_results_are_checked_again(lake: Lakehouse) -> None:
    first = lake.build(PRODUCT)
    folder = entry_record(lake, first).parent
    (results,) = folder.glob(f"{run_of(first).fingerprint}.contract-*.json")
    results.write_bytes(b"[" * 100_000)
    with pytest.warns(DamagedRecordWarning, match=rf"{results.name}.*lake verify"):
        again = lake.build(PRODUCT)
    assert statuses(again) == {PRODUCT: "cached"}  # the model's result itself is sound
    assert again.contracts.summary() == first.contracts.summary()
    assert (quarantine(lake, again.build_id) / results.name).is_file()
    assert json.loads(results.read_text())["results"]  # checked and cached again
    assert build_quietly(lake).contracts.passed


def test_a_damaged_cached_result_on_s3_is_kept_aside_and_rebuilt(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    import boto3

    lake = s3_project(tmp_path / "p", s3_endpoint, s3_bucket, lots=200)
    for dataset in ("dof_pts", "zoning_lots", "dob_jobs", "landmarks"):
        lake.ingest(dataset)
    lake.lock(PRODUCT)
    first = lake.build(PRODUCT)
    cached = run_of(first).cache_file
    assert cached is not None
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    key = f"lake/{cached}"
    data = bytearray(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    client.put_object(Bucket=s3_bucket, Key=key, Body=bytes(data))

    with pytest.warns(DamagedRecordWarning, match="sha256"):
        again = lake.build(PRODUCT)
    assert statuses(again) == {PRODUCT: "built"}
    same = f"outputs/{PRODUCT}"
    assert again.outputs[same].content_sha256 == first.outputs[same].content_sha256
    kept = f"lake/cache/{PRODUCT}/{PRODUCT}/{DAMAGED_FOLDER}/{again.build_id}/"
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix=kept).get("Contents", [])
    record = f"{run_of(first).fingerprint}.json"
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in listed) == sorted(
        ["DAMAGED.txt", Path(cached).name, record]
    )
    assert build_quietly(lake).all_cached


# -- a damaged build record: named, left out, the other builds keep working -----------------------


BUILD_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "not JSON": lambda data: b'{"build_id": "x", garbage',
    "a flipped byte": lambda data: data[:100] + bytes([data[100] ^ 0x80]) + data[101:],
    "empty": lambda data: b"",
    "nested too deep": lambda data: b"[" * 100_000,
    "not an object": lambda data: b"[]",
    "a missing field": lambda data: json.dumps(
        {k: v for k, v in _json(data).items() if k != "models"}
    ).encode(),
}


def lake_cli(lake: Lakehouse, *args: str) -> str:
    result = CliRunner().invoke(
        app,
        ["--config", str(lake.config.project_dir / "lakehouse.toml"), *args],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("damage", list(BUILD_DAMAGE), ids=list(BUILD_DAMAGE))
def test_a_damaged_build_record_is_named_and_the_other_builds_keep_working(
    lake: Lakehouse, damage: str
) -> None:
    first = lake.build(PRODUCT)
    second = lake.build(PRODUCT)
    record = stored(lake, f"{first.folder}/build.json")
    record.write_bytes(BUILD_DAMAGE[damage](record.read_bytes()))
    named = rf"{first.build_id}.*build\.json.*damaged.*lake verify"

    with pytest.warns(DamagedRecordWarning, match=named):
        assert [b.build_id for b in lake.builds(PRODUCT)] == [second.build_id]
    scan = scan_builds(lake.store, PRODUCT)
    assert [b.build_id for b in scan.builds] == [second.build_id]
    (found,) = scan.damaged
    assert found.build_id == first.build_id and found.path == f"{first.folder}/build.json"
    with pytest.raises(IntegrityError, match=named):
        find_build(lake.store, PRODUCT, first.build_id)

    listed = lake_cli(lake, "builds", PRODUCT)  # the CLI says it in a line of its own
    assert second.build_id in listed and "1 build(s)" in listed
    assert re.search(rf"Warning: .*{named}", listed)
    with pytest.warns(DamagedRecordWarning, match=named):
        assert lake.sql(PRODUCT, "SELECT count(*) FROM pluto_lite")[1] == [(400,)]
    with pytest.warns(DamagedRecordWarning, match=named):
        assert lake.check(PRODUCT)[0].build_id == second.build_id
    assert re.search(rf"Warning: .*{named}", lake_cli(lake, "catalog", PRODUCT))
    assert lake.build(PRODUCT).all_cached  # building again is not blocked either


def test_a_damaged_latest_build_leaves_the_one_before_as_latest(lake: Lakehouse) -> None:
    first = lake.build(PRODUCT)
    second = lake.build(PRODUCT)
    stored(lake, f"{second.folder}/build.json").write_bytes(b"")
    with pytest.warns(DamagedRecordWarning, match=second.build_id):
        assert find_build(lake.store, PRODUCT, None).build_id == first.build_id


def test_damaged_cache_entries_and_builds_are_listed_for_verify(lake: Lakehouse) -> None:
    """What `lake verify` can report: every damaged cache entry (hashing every cached result)
    and build record, without a build having to stumble on them first."""
    first = lake.build(PRODUCT)
    second = lake.build(PRODUCT)
    assert damaged_cache(lake.store) == [] and damaged_builds(lake.store) == []
    cached = run_of(first).cache_file
    assert cached is not None
    flip_a_byte(stored(lake, cached))
    stored(lake, f"{first.folder}/build.json").write_bytes(b"{")

    (entry,) = damaged_cache(lake.store)
    assert entry.startswith(lake.store.url(cached)) and "sha256" in entry
    (build,) = damaged_builds(lake.store)
    assert (build.build_id, build.path) == (first.build_id, f"{first.folder}/build.json")
    assert stored(lake, cached).is_file()  # listing moves nothing
    with pytest.warns(DamagedRecordWarning):
        again = lake.build(PRODUCT)
    assert quarantined(lake.store) == [
        f"cache/{PRODUCT}/{PRODUCT}/{DAMAGED_FOLDER}/{again.build_id}"
    ]
    assert damaged_cache(lake.store) == []
    assert lake.verify().set_aside == quarantined(lake.store)  # listed as a note for a person
    assert second.build_id in {b.build_id for b in scan_builds(lake.store, PRODUCT).builds}
