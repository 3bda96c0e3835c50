"""A store holding results written in parts (the toy engine writing three ordered part files per
result, as Spark does): `lake verify` checks every part and names a file in a parts folder that
no record lists, `lake gc` removes a replaced result's folder of parts as one item, another
product reads a build output in parts, and a folder drop sends an output published in parts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.project import Lakehouse
from lakehouse.transform.engines import ENGINES
from tests.projects import MAP_DATASETS, REPO, make_project
from tests.transform.engines.toy import TOY_PARTS

KEY = "outputs/pluto_lite"


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lakehouse]:
    ENGINES.register(TOY_PARTS)
    try:
        lake = make_project(tmp_path / "p", lots=300)
        lake.lock("pluto_lite")
        yield lake
    finally:
        ENGINES.unregister(TOY_PARTS.name)


def test_verify_checks_each_part_and_names_one_no_record_lists(lake: Lakehouse) -> None:
    built = lake.build("pluto_lite", engine="toy_parts")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "26v1")
    report = lake.verify()
    assert report.corrupt == [] and report.files_checked >= 6  # 3 parts built, 3 published
    root = Path(lake.store.root)
    part = root / built.folder / "outputs" / "pluto_lite" / "part-00001.parquet"
    part.write_bytes(part.read_bytes()[:-1] + b"\0")
    stray = root / "publish/pluto_lite/26v1/outputs/pluto_lite/part-00003.parquet"
    shutil.copyfile(part, stray)
    found = {(p.version, p.path, p.reason) for p in lake.verify().corrupt}
    assert found == {
        (built.build_id, f"{built.folder}/outputs/pluto_lite/part-00001.parquet",
         "checksum differs from build.json"),
        ("26v1", "publish/pluto_lite/26v1/outputs/pluto_lite/part-00003.parquet",
         "not a part publish.json records (readers of the parts would read it)"),
    }  # fmt: skip


def test_gc_removes_a_replaced_folder_of_parts_as_one_item(lake: Lakehouse) -> None:
    lake.build("pluto_lite", engine="toy_parts")
    first = lake.builds("pluto_lite")[-1].models["pluto_lite"].fingerprint
    folders = lake.store.list_folders("cache/pluto_lite/pluto_lite")
    lake.build("pluto_lite", engine="toy_parts", full_refresh=True)  # a new result replaces it
    (old,) = [f for f in folders if f.endswith(".parts")]
    plan = lake.gc_plan(keep=5)
    (item,) = [i for i in plan.items if i.kind == "cache"]
    assert item.path == f"cache/pluto_lite/pluto_lite/{old}" and first in old
    assert sorted(item.files) == sorted(lake.store.list_files(item.path))
    assert len(item.files) == 3
    lake.gc(plan)
    assert not lake.store.list_files(item.path)
    assert old not in lake.store.list_folders("cache/pluto_lite/pluto_lite")  # nor its folder
    assert lake.build("pluto_lite", engine="toy_parts").all_cached  # the current entry stays


def test_another_product_reads_a_build_output_in_parts(lake: Lakehouse) -> None:
    project = lake.config.project_dir
    shutil.copytree(REPO / "contracts" / "mappluto_lite", project / "contracts" / "mappluto_lite")
    shutil.copy(REPO / "recipes" / "mappluto_lite.yml", project / "recipes" / "mappluto_lite.yml")
    for dataset in MAP_DATASETS:
        lake.ingest(dataset)
    lake.build("pluto_lite", engine="toy_parts")
    assert lake.builds("pluto_lite")[-1].outputs[KEY].parts is not None
    lake.lock("mappluto_lite")
    built = lake.build("mappluto_lite")
    assert built.contracts.passed
    assert lake.builds("mappluto_lite")[-1].outputs["outputs/mappluto_lite"].rows == 300
    assert lake.lineage("mappluto_lite").columns  # the input's columns, from its first part


def test_a_folder_drop_sends_an_output_published_in_parts(lake: Lakehouse) -> None:
    lake.build("pluto_lite", engine="toy_parts")
    lake.diff_report("pluto_lite")
    version = lake.publish("pluto_lite").version
    project = lake.config.project_dir
    (project / "recipes" / "pluto_lite.destinations.yml").write_text(
        "destinations:\n  - {name: drop, type: folder, format: parquet, path: drops/pl}\n"
    )
    (outcome,) = list(lake.distribute("pluto_lite"))
    assert outcome.status == "sent"  # type: ignore[attr-defined]
    data = project / "drops" / "pl" / version / "data" / "pluto_lite"
    assert sorted(p.name for p in data.iterdir()) == [f"part-0000{i}.parquet" for i in range(3)]
