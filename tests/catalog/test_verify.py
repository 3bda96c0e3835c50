"""`lake verify`: damaged manifests and unknown datasets are reported, not crashes; the data of
a version whose manifest was lost is damage (exit 1), never a leftover "safe to delete"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lakehouse.cli import app
from lakehouse.errors import (
    IntegrityError,
    NotFoundError,
)
from lakehouse.project import Lakehouse
from tests.conftest import write_template


def test_a_damaged_manifest_is_reported_by_verify_not_a_crash(
    lake: Lakehouse, csv_file: Path
) -> None:
    manifest = lake.ingest("lots", file=csv_file).manifest
    path = Path(lake.store.root) / "raw" / "lots" / manifest.version / "manifest.json"
    path.write_text('{"broken":')
    report = lake.verify()
    assert [(p.version, p.reason) for p in report.corrupt] == [
        (manifest.version, "manifest is unreadable")
    ]
    with pytest.raises(IntegrityError, match="unreadable or damaged"):
        lake.versions("lots")


def test_verify_of_an_unknown_dataset_says_so(lake: Lakehouse) -> None:
    with pytest.raises(NotFoundError, match="not in the archive"):
        lake.verify(["nope"])


# -- a version whose manifest was removed is damage, not a leftover (D3) ----------------------


def _verify_cli(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(project_dir)
    return CliRunner().invoke(app, ["verify"])


@pytest.mark.parametrize("storage", ["parquet", "delta"])
def test_a_version_whose_manifest_was_removed_is_orphaned_data_and_fails_verify(
    lake: Lakehouse,
    project_dir: Path,
    csv_file: Path,
    storage: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: x.csv}}\nformat: {{type: csv}}\n"
        f"storage: {storage}\n",
    )
    manifest = lake.ingest("lots", file=csv_file).manifest
    assert _verify_cli(project_dir, monkeypatch).exit_code == 0
    version_folder = Path(lake.store.root) / "raw" / "lots" / manifest.version
    (version_folder / "manifest.json").unlink()
    report = lake.verify()
    assert not report.ok
    assert [(p.dataset, p.version, p.path) for p in report.corrupt] == [
        ("lots", manifest.version, manifest.run_folder)
    ]
    assert report.corrupt[0].reason.startswith("orphaned data of a damaged version")
    assert "do not delete" in report.corrupt[0].reason
    assert report.leftover_paths == []  # nothing is called safe to delete
    result = _verify_cli(project_dir, monkeypatch)
    assert result.exit_code == 1, result.output
    assert "orphaned data of a damaged version" in " ".join(result.output.split())
    assert "safe to delete" not in result.output
    # the copy written at commit restores it
    copy = Path(lake.store.root) / manifest.run_folder / "committed.json"
    (version_folder / "manifest.json").write_bytes(copy.read_bytes())
    assert lake.verify().ok
    assert lake.read("lots", manifest.version).num_rows == 3


def test_a_lost_manifest_is_found_without_the_commit_copy_when_a_later_version_names_it(
    lake: Lakehouse, csv_file: Path, tmp_path: Path
) -> None:
    """Versions archived before the copy existed: a later version's QA was compared with the
    lost one, so it was committed."""
    first = lake.ingest("lots", file=csv_file).manifest
    changed = tmp_path / "changed.csv"
    changed.write_text("bbl,Owner Name,zip\n1000010001,SMITH,10001\n", encoding="utf-8")
    second = lake.ingest("lots", file=changed).manifest
    assert second.qa is not None and second.qa.against == first.version
    root = Path(lake.store.root)
    (root / first.run_folder / "committed.json").unlink()
    (root / "raw" / "lots" / first.version / "manifest.json").unlink()
    report = lake.verify()
    assert [(p.version, p.path) for p in report.corrupt] == [(first.version, first.run_folder)]
    assert f"{second.version} was compared with it" in report.corrupt[0].reason
    assert report.leftover_paths == []


def test_interrupted_runs_stay_leftovers_beside_damage(lake: Lakehouse, csv_file: Path) -> None:
    """A run folder without the commit copy (a killed ingest, or the killed loser of a race
    beside the winner's version) is a leftover, exit 0; the runs of a version whose manifest
    is unreadable are not called leftovers."""
    manifest = lake.ingest("lots", file=csv_file).manifest
    root = Path(lake.store.root)
    killed_loser = f"raw/lots/{manifest.version}/0123456789ab"
    killed_alone = "raw/lots/20000101/ba9876543210"
    for folder in (killed_loser, killed_alone):
        (root / folder / "source").mkdir(parents=True)
        (root / folder / "source" / "lots.csv").write_bytes(csv_file.read_bytes())
    report = lake.verify()
    assert report.ok
    assert sorted(report.leftover_paths) == sorted([killed_loser, killed_alone])
    (root / "raw" / "lots" / manifest.version / "manifest.json").write_text('{"broken":')
    report = lake.verify()
    assert [p.reason for p in report.corrupt] == ["manifest is unreadable"]
    assert report.leftover_paths == [killed_alone]


def test_verify_names_a_damaged_build_record_and_a_damaged_cache_entry(
    tmp_path: Path,
) -> None:
    from tests.projects import make_project

    lake = make_project(tmp_path / "p", lots=300, seed=4)
    first = lake.build("pluto_lite")
    assert lake.build("pluto_lite").all_cached  # a second build, reusing the one cache entry
    assert lake.verify().ok
    root = Path(lake.store.root)
    (root / first.folder / "build.json").write_bytes(b"{not json")
    (cached,) = (root / "cache" / "pluto_lite" / "pluto_lite").glob("*.parquet")
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0x01
    cached.write_bytes(bytes(data))
    report = lake.verify()
    assert not report.ok
    said = [f"{p.dataset} {p.version} {p.reason}" for p in report.corrupt]
    assert any(first.build_id in line and "build.json" in line for line in said)
    assert any(line.startswith("cache entry") and cached.name in line for line in said)


def test_verify_judges_every_leftover_by_its_writer_and_repair_removes_the_dead_ones(
    lake: Lakehouse, project_dir: Path, csv_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What killed runs leave, of every kind, each with a lease whose process is gone, beside
    the same with a live writer: verify lists both (exit 0), --repair removes only the dead
    ones, and the committed version is untouched."""
    from lakehouse.store.lease import LEASE_FILE, new_lease

    manifest = lake.ingest("lots", file=csv_file).manifest
    root = Path(lake.store.root)
    workspace = lake.config.workspace_dir
    gone = new_lease("x").model_copy(update={"pid": 2**22 + 99, "process_started": None})
    alive = new_lease("publish")
    dead_things = {
        "raw/lots/20000101/deadbeef0001": LEASE_FILE,
        "builds/pluto_lite/20260101T000000Z-dead00": LEASE_FILE,
        "publish/pluto_lite/25v9": ".claim.json",
        ".tmp/lakehouse-dead": LEASE_FILE,
    }
    for folder, lease in dead_things.items():
        (root / folder).mkdir(parents=True)
        (root / folder / lease).write_bytes(gone.to_json())
        (root / folder / "part.parquet").write_bytes(b"PAR1 half")
    database = workspace / "pluto_lite" / "20260101T000000Z-dead00.duckdb"
    database.parent.mkdir(parents=True, exist_ok=True)
    database.write_bytes(b"duckdb")
    half_written = root / "raw" / "lots" / f".manifest.json.{2**22 + 99}-{'ab' * 16}.tmp"
    half_written.write_bytes(b"{")
    live = root / "publish" / "pluto_lite" / "25v8"
    live.mkdir(parents=True)
    (live / ".claim.json").write_bytes(alive.to_json())

    monkeypatch.chdir(project_dir)
    listed = CliRunner().invoke(app, ["verify"], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.output
    text = " ".join(listed.output.split())
    for folder in [*dead_things, half_written.relative_to(root).as_posix()]:
        assert f"{folder}: left by " in text and "whose writer is gone" in text
    assert f"publish/pluto_lite/25v8: being written by `lake publish` by process {os.getpid()}" in (
        text
    )
    assert "lake verify --repair" in text
    assert all((root / folder).exists() for folder in dead_things)  # listing removes nothing

    repaired = CliRunner().invoke(app, ["verify", "--repair"], env={"COLUMNS": "300"})
    assert repaired.exit_code == 0, repaired.output
    assert repaired.output.count("removed ") == len(dead_things) + 1
    assert not any((root / folder).exists() for folder in dead_things)
    assert not database.exists() and not half_written.exists()
    assert (live / ".claim.json").is_file()
    report = lake.verify()
    assert report.ok and report.leftover_paths == ["publish/pluto_lite/25v8"]
    assert lake.read("lots", manifest.version).num_rows == 3


def test_repair_removes_a_stray_claim_once_and_passes_over_folders_that_are_not_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim left in a published version by a run killed after its commit is removed (and
    stays removed); folders under publish/ that are no product's or version's stop nothing."""
    from lakehouse.store.lease import new_lease
    from tests.projects import make_project

    lake = make_project(tmp_path / "p", lots=100)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    root = Path(lake.store.root)
    gone = new_lease("publish").model_copy(update={"pid": 2**22 + 7, "process_started": None})
    (root / "publish" / "pluto_lite" / "25v1" / ".claim.json").write_bytes(gone.to_json())
    (root / "publish" / "pluto_lite" / "old").mkdir()
    (root / "publish" / "Bad Name").mkdir()
    first = lake.verify(repair=True)
    assert first.ok and [r.path for r in first.repaired] == ["publish/pluto_lite/25v1/.claim.json"]
    assert not (root / "publish" / "pluto_lite" / "25v1" / ".claim.json").exists()
    assert lake.verify(repair=True).repaired == []
