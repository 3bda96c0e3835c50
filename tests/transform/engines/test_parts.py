"""Results written in parts (by an engine that `writes_parts`, as Spark does), without Spark: the
toy engine writing each result as three ordered part files (tests/transform/engines/toy.py).
A build in parts has DuckDB's content hash; the cache reuses, checks and sets aside an entry
of parts; the build and published folders hold the parts, which `lake sql`, `check`, the QA
diff, publish, promote, packages and the explorer (`lh.*`) read. And the records: an output's
files listed in one place, old records read."""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from lakehouse.explore.explorer import Explorer
from lakehouse.project import Lakehouse
from lakehouse.publish.publish import promote
from lakehouse.publish.records import PublishRecord
from lakehouse.records import DamagedRecordWarning
from lakehouse.store.storage import Store
from lakehouse.transform.cache import look_up
from lakehouse.transform.engines import ENGINES
from lakehouse.transform.engines.duckdb import content_sha256
from lakehouse.transform.records import (
    BuildRecord,
    CacheEntry,
    OutputPart,
    OutputRecord,
    parts_sha256,
)
from tests.projects import make_project
from tests.transform.engines.toy import TOY_PARTS

LOTS = 300
KEY = "outputs/pluto_lite"


@pytest.fixture
def with_parts_engine() -> Iterator[None]:
    ENGINES.register(TOY_PARTS)
    try:
        yield
    finally:
        ENGINES.unregister(TOY_PARTS.name)


@pytest.fixture
def lake(tmp_path: Path, with_parts_engine: None) -> Lakehouse:
    lake = make_project(tmp_path / "p", lots=LOTS)
    lake.lock("pluto_lite")
    return lake


def cache_entry(lake: Lakehouse, build: BuildRecord) -> tuple[str, CacheEntry]:
    run = build.models["pluto_lite"]
    record = f"cache/pluto_lite/pluto_lite/{run.fingerprint}.json"
    return record, CacheEntry.from_json(lake.store.read_bytes(record), record)


def test_a_build_in_parts_has_the_content_hash_of_one_file(lake: Lakehouse) -> None:
    duck = lake.build("pluto_lite")
    parts = lake.build("pluto_lite", engine="toy_parts")
    on_duck, on_parts = (next(b for b in lake.builds("pluto_lite") if b.build_id == r.build_id)
                         for r in (duck, parts))  # fmt: skip
    assert on_duck.outputs[KEY].parts is None
    output = on_parts.outputs[KEY]
    assert output.content_sha256 == on_duck.outputs[KEY].content_sha256
    assert output.path == "outputs/pluto_lite" and output.rows == LOTS
    assert output.parts is not None
    assert [p.name for p in output.parts] == [f"part-0000{i}.parquet" for i in range(3)]
    assert [p.rows for p in output.parts] == [100, 100, 100]
    assert output.sha256 == parts_sha256(output.parts)
    assert output.bytes == sum(p.bytes for p in output.parts)
    folder = Path(lake.store.root) / parts.folder / "outputs"
    assert sorted(p.name for p in (folder / "pluto_lite").iterdir()) == [
        p.name for p in output.parts
    ]
    assert not (folder / "pluto_lite.parquet").exists()
    _, entry = cache_entry(lake, on_parts)
    assert entry.parts is not None and entry.file.endswith(".parts")
    assert [p.sha256 for p in entry.parts] == [p.sha256 for p in output.parts]  # same bytes
    assert on_parts.passed and on_parts.contracts.summary == on_duck.contracts.summary


def test_a_cached_result_in_parts_is_checked_and_reused(lake: Lakehouse) -> None:
    first = lake.build("pluto_lite", engine="toy_parts")
    again = lake.build("pluto_lite", engine="toy_parts")
    assert again.all_cached and not first.all_cached
    built = {b.build_id: b for b in lake.builds("pluto_lite")}
    assert built[again.build_id].outputs[KEY] == built[first.build_id].outputs[KEY]
    record, entry = cache_entry(lake, built[first.build_id])
    assert look_up(lake.store, record, needs_content_hash=True).entry == entry


def test_a_damaged_part_is_set_aside_and_the_model_rebuilt(lake: Lakehouse) -> None:
    first = lake.build("pluto_lite", engine="toy_parts")
    record, entry = cache_entry(lake, lake.builds("pluto_lite")[-1])
    assert entry.parts is not None
    part = Path(lake.store.root) / entry.files()[1]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    damage = look_up(lake.store, record, needs_content_hash=True).damage
    assert damage is not None and damage.files == (record, entry.file)
    assert f"{part} has sha256" in damage.reason
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = lake.build("pluto_lite", engine="toy_parts")
    assert any(issubclass(w.category, DamagedRecordWarning) for w in caught)
    assert second.damaged and not second.all_cached
    aside = Path(lake.store.root) / "cache/pluto_lite/pluto_lite/damaged" / second.build_id
    assert (aside / entry.file.rsplit("/", 1)[1] / part.name).read_bytes() == bytes(data)
    assert not (Path(lake.store.root) / entry.file).exists()
    outputs = {b.build_id: b.outputs[KEY] for b in lake.builds("pluto_lite")}
    assert outputs[second.build_id].content_sha256 == outputs[first.build_id].content_sha256


def test_an_entry_whose_part_rows_disagree_is_damaged(lake: Lakehouse) -> None:
    lake.build("pluto_lite", engine="toy_parts")
    record, entry = cache_entry(lake, lake.builds("pluto_lite")[-1])
    assert entry.parts is not None
    wrong = [entry.parts[0].model_copy(update={"rows": 99}), *entry.parts[1:]]
    lake.store.write_bytes(record, entry.model_copy(update={"parts": wrong}).to_json())
    damage = look_up(lake.store, record, needs_content_hash=True).damage
    assert damage is not None and "records 99 rows in" in damage.reason


def test_sql_check_diff_publish_promote_package_and_explorer_read_parts(
    lake: Lakehouse, tmp_path: Path
) -> None:
    duck = lake.build("pluto_lite")
    parts = lake.build("pluto_lite", engine="toy_parts")
    assert lake.sql("pluto_lite", "SELECT count(*) FROM pluto_lite")[1] == [(LOTS,)]
    _, report = lake.check("pluto_lite", build_id=parts.build_id)
    assert report.passed and report.results
    diff = lake.diff("pluto_lite", duck.build_id, parts.build_id)
    assert diff.tables[0].identical and diff.tables[0].new_rows == LOTS  # read through the glob
    lake.diff_report("pluto_lite", duck.build_id, parts.build_id)
    published = lake.publish("pluto_lite", "26v1", parts.build_id)
    output = published.outputs[KEY]
    assert output.parts is not None and len(output.parts) == 3
    version = Path(lake.store.root) / "publish/pluto_lite/26v1/outputs/pluto_lite"
    assert sorted(p.name for p in version.iterdir()) == [p.name for p in output.parts]
    written = json.loads((version.parent.parent / "publish.json").read_text())
    assert written["schema_version"] == PublishRecord.SCHEMA_VERSION == 2

    prod = Store(str(tmp_path / "prod"))
    promoted = promote(lake.store, prod, "pluto_lite", "26v1", "default")
    assert promoted.outputs[KEY] == output
    copied = Path(prod.root) / "publish/pluto_lite/26v1/outputs/pluto_lite"
    assert sorted(p.name for p in copied.iterdir()) == [p.name for p in output.parts]

    packaged = lake.package("pluto_lite", "26v1", "parquet")
    with zipfile.ZipFile(packaged.path) as archive:
        data = sorted(n for n in archive.namelist() if "/data/" in n)
        assert data == [f"pluto_lite-26v1/data/pluto_lite/part-0000{i}.parquet" for i in range(3)]
        sums = archive.read("pluto_lite-26v1/SHA256SUMS").decode()
    assert all(f"data/pluto_lite/{p.name}" in sums for p in output.parts)
    csv = lake.package("pluto_lite", "26v1", "csv")
    with zipfile.ZipFile(csv.path) as archive:
        rows = archive.read("pluto_lite-26v1/data/pluto_lite.csv").decode().splitlines()
    assert len(rows) == LOTS + 1

    explorer = Explorer(lake)
    table = explorer.published("pluto_lite", "26v1").table()
    bbls = table.bbl.execute().tolist()
    assert len(bbls) == LOTS and bbls == sorted(bbls)
    views = explorer.register_views()
    assert "published.pluto_lite_26v1" in views and "build.pluto_lite" in views
    counted = explorer.sql("SELECT count(*) AS n FROM published.pluto_lite_26v1").execute()
    assert counted["n"][0] == LOTS


def test_an_output_lists_its_files_in_one_place() -> None:
    one = OutputRecord(
        path="outputs/lots.parquet", rows=3, bytes=10, sha256="a" * 64, content_sha256="c"
    )
    assert one.files() == [("outputs/lots.parquet", "a" * 64, 10)]
    assert one.source() == "outputs/lots.parquet"
    parts = [OutputPart(name=f"part-0000{i}.parquet", rows=i, bytes=5, sha256=f"{i}" * 64)
             for i in range(2)]  # fmt: skip
    split = one.model_copy(
        update={"path": "outputs/lots", "parts": parts, "sha256": parts_sha256(parts)}
    )
    assert [f.path for f in split.files()] == [
        "outputs/lots/part-00000.parquet",
        "outputs/lots/part-00001.parquet",
    ]
    assert [f.sha256 for f in split.files()] == ["0" * 64, "1" * 64]
    assert split.source() == "outputs/lots/part-*.parquet"
    swapped = parts_sha256([parts[1], parts[0]])
    assert swapped != split.sha256  # the order is part of what the sha256 stands for
    assert "parts" not in json.loads(one.model_dump_json())  # a one-file record as ever


def test_records_of_the_schema_before_parts_read_as_one_file() -> None:
    output = {"path": "outputs/lots.parquet", "rows": 3, "bytes": 10, "sha256": "a",
              "content_sha256": "b"}  # fmt: skip
    entry = {"model": "lots", "file": "cache/p/lots/f.1.parquet", "rows": 3,
             "content_sha256": None, "schema": {"bbl": "int64"}}  # fmt: skip
    read = CacheEntry.from_json(json.dumps(entry).encode(), "e.json")
    assert read.schema_version == 2 and read.parts is None
    assert read.files() == ["cache/p/lots/f.1.parquet"]
    assert json.loads(read.to_json()) == {"schema_version": 2, **entry}
    assert OutputRecord.model_validate(output).files()[0].path == "outputs/lots.parquet"


def test_parts_hash_as_the_one_file_of_the_same_rows(tmp_path: Path) -> None:
    with duckdb.connect() as con:
        whole = tmp_path / "whole.parquet"
        con.execute(
            "COPY (SELECT range AS id, 'x' || range AS name, range % 3 = 0 AS flag "
            f"FROM range(1000) ORDER BY id) TO '{whole}' (FORMAT parquet)"
        )
        cuts = [(0, 0), (0, 10), (10, 600), (600, 1000)]  # an empty part too
        parts = []
        for index, (start, end) in enumerate(cuts):
            part = tmp_path / f"part-{index}.parquet"
            con.execute(
                f"COPY (SELECT * FROM '{whole}' WHERE id >= {start} AND id < {end} ORDER BY id) "
                f"TO '{part}' (FORMAT parquet)"
            )
            parts.append(str(part))
        assert content_sha256(con, parts) == content_sha256(con, whole)
        assert content_sha256(con, [parts[0], parts[2], parts[1], parts[3]]) != content_sha256(
            con, whole
        )  # the same rows in another order
        other = tmp_path / "other.parquet"
        con.execute(f"COPY (SELECT id FROM '{whole}') TO '{other}' (FORMAT parquet)")
        with pytest.raises(ValueError, match="do not all have the same columns"):
            content_sha256(con, [parts[1], str(other)])
