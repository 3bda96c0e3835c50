"""Publishing, environments and handoff packages."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.errors import (
    ContractError,
    InvalidNameError,
    NotFoundError,
    PackageError,
    PublishError,
    VersionExistsError,
)
from lakehouse.project import Lakehouse
from lakehouse.publish.gis_formats import shapefile_names
from lakehouse.publish.publish import published_output
from lakehouse.publish.records import PublishRecord
from tests.projects import make_project


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lake = make_project(tmp_path_factory.mktemp("publish") / "p", lots=300)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    return lake


def stored(lake: Lakehouse, rel: str) -> Path:
    return Path(lake.store.root) / rel


def test_a_published_version_copies_the_build_files_with_its_metadata(lake: Lakehouse) -> None:
    (entry,) = lake.published("pluto_lite")
    build = lake.builds("pluto_lite")[0]
    assert (entry.version, entry.build_id) == ("25v1", build.build_id)
    assert entry.inputs == {
        alias: f"{pinned.dataset} {pinned.version}" for alias, pinned in build.lock.inputs.items()
    }
    assert entry.contracts == build.contracts
    assert entry.qa[0].against == "nothing (the first build)"
    assert entry.qa[0].tables is not None and entry.qa[0].tables["pluto_lite"].added == 300
    assert set(entry.git.model_dump()) == {"commit", "dirty"}
    assert entry.promoted_from is None
    output = stored(lake, published_output("pluto_lite", "25v1", "pluto_lite"))
    built = stored(lake, f"builds/pluto_lite/{build.build_id}")
    # an independent copy, not a hard link: a stray write to the build cannot change it
    assert output.stat().st_ino != (built / "outputs" / "pluto_lite.parquet").stat().st_ino
    assert output.read_bytes() == (built / "outputs" / "pluto_lite.parquet").read_bytes()
    assert (
        hashlib.sha256(output.read_bytes()).hexdigest()
        == entry.outputs["outputs/pluto_lite"].sha256
    )
    written = json.loads(stored(lake, "publish/pluto_lite/25v1/publish.json").read_text())
    assert written["schema_version"] == PublishRecord.SCHEMA_VERSION
    assert "promoted_from" not in written
    folder = output.parents[1]
    assert (folder / "pluto_lite.lock").is_file() and (
        folder / "contracts" / "report.txt"
    ).is_file()
    assert any(p.suffix == ".html" for p in (folder / "qa").iterdir())


def test_a_version_is_never_published_twice(lake: Lakehouse) -> None:
    output = stored(lake, published_output("pluto_lite", "25v1", "pluto_lite"))
    before = output.read_bytes()
    with pytest.raises(VersionExistsError, match="already published"):
        lake.publish("pluto_lite", "25v1")
    assert output.read_bytes() == before


@pytest.mark.parametrize("version", ["../25v9", "v1", "25v1/x", "latest", ""])
def test_version_names_are_checked(lake: Lakehouse, version: str) -> None:
    with pytest.raises(InvalidNameError, match="25v1, 25v2"):
        lake.publish("pluto_lite", version)


def test_unknown_builds_and_versions_are_named(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError, match="has no build 'nope'"):
        lake.publish("pluto_lite", "25v5", build_id="nope")
    with pytest.raises(NotFoundError, match=r"no published version '24v1'; published versions: "):
        lake.diff("pluto_lite", "24v1")


def test_a_build_without_a_qa_report_or_with_failed_contracts_is_refused(
    tmp_path: Path,
) -> None:
    lake = make_project(tmp_path / "p", lots=150)
    lake.build("pluto_lite")
    with pytest.raises(PublishError, match="has no QA report; `lake qa report diff pluto_lite`"):
        lake.publish("pluto_lite", "25v1")
    path = tmp_path / "p" / "contracts" / "pluto_lite" / "dictionary.yml"
    rule = "range: [{}, 2025]\n        source: dof_pts.year_built"
    path.write_text(path.read_text().replace(rule.format(0), rule.format(1)))
    with pytest.raises(ContractError):
        lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    with pytest.raises(PublishError, match=r"failed its contracts \(pluto_lite.yearbuilt: range"):
        lake.publish("pluto_lite", "25v1")
    assert lake.published("pluto_lite") == []


def test_the_latest_pointer_moves_and_versions_can_be_diffed(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=200)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    lake.build("pluto_lite", full_refresh=True)
    lake.diff_report("pluto_lite")  # against the latest published version
    second = lake.publish("pluto_lite", "25v2")
    assert (second.qa[0].against or "").startswith("published 25v1")
    assert [e.version for e in lake.published("pluto_lite")] == ["25v1", "25v2"]
    from datetime import datetime

    from lakehouse.publish.publish import next_version

    assert next_version(lake.store, "pluto_lite", datetime(2025, 6, 1)) == "25v3"
    assert next_version(lake.store, "pluto_lite", datetime(2026, 1, 2)) == "26v1"
    assert '"25v2"' in stored(lake, "publish/pluto_lite/latest.json").read_text()
    diff = lake.diff("pluto_lite", "25v1", "25v2")
    assert diff.identical
    runner = CliRunner()
    result = runner.invoke(app, ["--config", str(tmp_path / "p" / "lakehouse.toml"),
                                 "published", "pluto_lite"], env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "25v1" in result.output and "25v2" in result.output and "identical" in result.output


def test_promote_copies_a_version_to_another_environment_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path / "p", lots=100)  # archived in the default environment
    monkeypatch.chdir(tmp_path / "p")
    runner = CliRunner()

    def lake_cli(*args: str) -> str:
        result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    for dataset in ("dof_pts", "zoning_lots", "dob_jobs", "landmarks"):
        lake_cli("--env", "dev", "ingest", dataset)
    lake_cli("--env", "dev", "build", "pluto_lite")
    lake_cli("--env", "dev", "qa", "report", "diff", "pluto_lite")
    assert "published pluto_lite 25v1" in lake_cli("--env", "dev", "publish", "pluto_lite",
                                                   "--version", "25v1")  # fmt: skip
    assert "promoted pluto_lite 25v1 from dev to prod" in lake_cli(
        "--env", "dev", "promote", "pluto_lite", "25v1", "--to", "prod"
    )
    dev = tmp_path / "p" / ".lakehouse" / "dev" / "publish" / "pluto_lite" / "25v1"
    prod = tmp_path / "p" / ".lakehouse" / "prod" / "publish" / "pluto_lite" / "25v1"
    for path in dev.rglob("*.parquet"):
        assert (prod / path.relative_to(dev)).read_bytes() == path.read_bytes()
    assert not (tmp_path / "p" / ".lakehouse" / "prod" / "builds").exists()  # nothing rebuilt
    assert "promoted from dev" in lake_cli("--env", "prod", "published", "pluto_lite")
    result = runner.invoke(app, ["--env", "dev", "promote", "pluto_lite", "25v1", "--to", "prod"])
    assert result.exit_code == 1 and "already published in the target" in result.output
    result = runner.invoke(app, ["--env", "Prod!", "published", "pluto_lite"])
    assert result.exit_code == 1 and "not a valid name" in result.output


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "xlsx"])
def test_packages_are_complete_and_the_same_every_time(
    lake: Lakehouse, tmp_path: Path, fmt: str
) -> None:
    first = lake.package("pluto_lite", "25v1", fmt, tmp_path / "a.zip")
    second = lake.package("pluto_lite", "latest", fmt, tmp_path / "b.zip")
    assert first.path.read_bytes() == second.path.read_bytes()
    files = members(first.path)
    top = "pluto_lite-25v1/"
    suffix = {"parquet": ".parquet", "csv": ".csv", "xlsx": ".xlsx"}[fmt]
    assert sorted(files) == sorted(
        [
            f"{top}DICTIONARY.md",
            f"{top}README.md",
            f"{top}SHA256SUMS",
            f"{top}data/pluto_lite{suffix}",
        ]
    )
    sums = dict(
        reversed(line.split("  ")) for line in files[f"{top}SHA256SUMS"].decode().splitlines()
    )
    for name, data in files.items():
        if not name.endswith("SHA256SUMS"):
            assert sums[name.removeprefix(top)] == hashlib.sha256(data).hexdigest()
    readme = files[f"{top}README.md"].decode()
    entry = lake.published("pluto_lite")[0]
    for pinned in entry.inputs.values():
        assert pinned in readme
    assert entry.build_id in readme and "300 rows" in readme
    assert f"- Published: {entry.published_at.isoformat()}" in readme
    dictionary = files[f"{top}DICTIONARY.md"].decode()
    assert "| bbl | int64 | no | Borough-block-lot" in dictionary
    # what the docs site shows of the values: allowed ones, ranges, patterns, examples
    assert "between 1000000001 and 5999999999; unique; e.g. 1000010001 |" in dictionary
    assert "| one of MN, BX, BK, QN, SI; e.g. BK |" in dictionary
    assert "matches ^[0-9]{5}$" in dictionary
    data = files[f"{top}data/pluto_lite{suffix}"]
    if fmt == "parquet":
        assert (
            data == stored(lake, published_output("pluto_lite", "25v1", "pluto_lite")).read_bytes()
        )
    elif fmt == "csv":
        assert data.decode().count("\n") == 301
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data), read_only=True)["pluto_lite"]
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 301 and rows[0][:3] == ("bbl", "borough", "block")


def test_a_format_that_cannot_hold_the_data_is_refused(lake: Lakehouse, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="has no geometry column"):
        lake.package("pluto_lite", "25v1", "shapefile", tmp_path / "x.zip")
    with pytest.raises(PackageError, match="Unknown package format 'pdf'"):
        lake.package("pluto_lite", "25v1", "pdf", tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_shapefile_names_are_shortened_uniquely() -> None:
    names = ["bbl", "assessed_total", "assessed_land", "assessed_t", "assessed_tax", "geometry"]
    assert shapefile_names(names) == {
        "bbl": "bbl", "assessed_total": "assessed_t", "assessed_land": "assessed_l",
        "assessed_t": "assessed_1", "assessed_tax": "assessed_2", "geometry": "geometry",
    }  # fmt: skip


def test_a_shapefile_package_says_how_names_were_shortened(tmp_path: Path) -> None:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    from lakehouse.contracts.dictionary import Dictionary
    from lakehouse.publish.package import build_package
    from lakehouse.publish.records import PublishRecord
    from lakehouse.store.storage import Store

    store = Store(str(tmp_path / "store"))
    rel = "publish/lots/25v1/outputs/lots.parquet"
    path = store.local_path(rel)
    path.parent.mkdir(parents=True)
    points = [shapely.to_wkb(shapely.Point(x, 2 * x)) for x in range(3)]
    pq.write_table(pa.table({"bbl": [1, 2, 3], "assessed_total": [10, 20, 30],
                             "geom": points}), path)  # fmt: skip
    dictionary = Dictionary(product="lots", tables={"lots": {
        "description": "lots", "primary_key": ["bbl"], "columns": [
            {"name": "bbl", "type": "bbl", "description": "key"},
            {"name": "assessed_total", "type": "integer", "description": "value"},
            {"name": "geom", "type": "geometry", "description": "where",
             "crs": "EPSG:2263"}]}})  # fmt: skip
    entry = PublishRecord.model_validate({
        "product": "lots", "version": "25v1", "build_id": "b",
        "published_at": "2026-11-24T10:00:00+00:00", "git": {"commit": None, "dirty": None},
        "lock": {"product": "lots", "locked_at": "2026-11-24T09:00:00Z", "inputs": {}},
        "inputs": {}, "qa": [], "packages": {},
        "contracts": {"summary": "none", "seconds": 0, "failed": [], "stopped_at": None},
        "outputs": {"outputs/lots": {"path": "outputs/lots.parquet", "rows": 3, "bytes": 1,
                                     "sha256": "x", "content_sha256": "y"}},
    })  # fmt: skip
    made = [
        build_package(
            duckdb.connect(),
            store,
            entry,
            {"lots": rel},
            dictionary,
            "shapefile",
            tmp_path / f"{n}.zip",
        )
        for n in (1, 2)
    ]
    assert made[0].path.read_bytes() == made[1].path.read_bytes()
    files = members(made[0].path)
    assert {n.rsplit(".", 1)[-1] for n in files if "/data/" in n} >= {"shp", "shx", "dbf"}
    readme = files["lots-25v1/README.md"].decode()
    assert "renamed: assessed_total -> assessed_t" in readme
    # the file declares no CRS (plain WKB): the dictionary's is written into the .prj
    (prj,) = [data for name, data in files.items() if name.endswith(".prj")]
    assert b"Long_Island" in prj or b"Long Island" in prj
    assert "declares no coordinate reference system" not in readme


def test_verify_checks_published_versions_and_lists_leftovers(tmp_path: Path) -> None:
    lake = make_project(tmp_path / "p", lots=100)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    report = lake.verify()
    assert report.ok and report.leftover_paths == []
    killed = stored(lake, "builds/pluto_lite/20260101T000000Z-dead00/outputs")
    killed.mkdir(parents=True)
    output = stored(lake, published_output("pluto_lite", "25v1", "pluto_lite"))
    data = bytearray(output.read_bytes())
    data[len(data) // 2] ^= 0xFF
    output.write_bytes(bytes(data))
    report = lake.verify()
    assert [(p.dataset, p.version, p.reason) for p in report.corrupt] == [
        ("pluto_lite", "25v1", "checksum differs")
    ]
    assert "builds/pluto_lite/20260101T000000Z-dead00" in report.leftover_paths


def test_without_a_version_a_build_is_published_as_the_next_number_of_the_year(
    tmp_path: Path,
) -> None:
    from lakehouse.publish.publish import next_version, publish_build

    lake = make_project(tmp_path / "p", lots=100)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    expected = next_version(lake.store, "pluto_lite")
    assert publish_build(lake.store, "pluto_lite", None).version == expected
    assert [e.version for e in lake.published("pluto_lite")] == [expected]
    assert next_version(lake.store, "pluto_lite") != expected
