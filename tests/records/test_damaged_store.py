"""One damaged file must not break the whole store (issue 13): a damaged manifest of one dataset
version, a damaged publish.json or latest.json of one product, a latest.json naming a version
that is not there, a published or built file that is missing. Each is reported for the thing
damaged (a `DamagedRecordWarning`, a `Warning:` line, or one sentence when it is asked for by
name), and every other dataset, version and product keeps working: `lake versions`, `lock`,
`build`, `sql -c`, `catalog`, `docs`, the explorer.

Each test damages a copy of one PLUTO-lite project, archived once per module: four datasets
with one version, dof_pts with two (the lock pins the second), a dataset no recipe reads
(`extra`), two builds, published as 25v1 and 25v2 (the latest)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lakehouse.catalog.catalog import DatasetEntry, dataset_entry, lookup
from lakehouse.cli import app
from lakehouse.config import load_config
from lakehouse.errors import IntegrityError, NotFoundError
from lakehouse.explore.explorer import Explorer, view_name
from lakehouse.project import Lakehouse
from lakehouse.publish.reading import find_published, list_published, scan_published
from lakehouse.records import DamagedRecordWarning
from tests.projects import change_lots, make_project

PRODUCT = "pluto_lite"


@dataclass(frozen=True)
class Names:
    """The versions and builds of the module's project."""

    old: str  # dof_pts's first version
    new: str  # dof_pts's second version, the one the lock pins
    extra: str  # the only version of `extra`, which no recipe reads
    first_build: str  # published as 25v1
    second_build: str  # published as 25v2, the latest


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Names]:
    folder = tmp_path_factory.mktemp("damaged-store") / "project"
    lake = make_project(folder, lots=200)
    old = lake.versions("dof_pts")[0].version
    lake.lock(PRODUCT)
    first = lake.build(PRODUCT)
    lake.diff_report(PRODUCT)
    lake.publish(PRODUCT, "25v1")
    (folder / "extra.csv").write_text("id,name\n1,a\n2,b\n")
    extra = lake.ingest("extra", file=folder / "extra.csv").version
    change_lots(folder / "data" / "pluto_lite" / "dof_pts.csv")
    new = lake.ingest("dof_pts").version
    lake.lock(PRODUCT)
    second = lake.build(PRODUCT)
    lake.diff_report(PRODUCT)
    lake.publish(PRODUCT, "25v2")
    return folder, Names(old, new, extra, first.build_id, second.build_id)


@pytest.fixture
def lake(archived: tuple[Path, Names], tmp_path: Path) -> Lakehouse:
    folder = tmp_path / "project"
    shutil.copytree(archived[0], folder)
    return Lakehouse(load_config(folder / "lakehouse.toml"))


@pytest.fixture
def names(archived: tuple[Path, Names]) -> Names:
    return archived[1]


def stored(lake: Lakehouse, rel: str) -> Path:
    return Path(lake.store.root) / rel


def manifest_file(lake: Lakehouse, dataset: str, version: str) -> Path:
    return stored(lake, f"raw/{dataset}/{version}/manifest.json")


def lake_cli(lake: Lakehouse, *args: str, code: int | None = 0) -> str:
    """The command's output; its exit code must be `code` (None: any)."""
    result: Result = CliRunner().invoke(
        app, ["--config", str(lake.config.project_dir / "lakehouse.toml"), *args],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert code is None or result.exit_code == code, result.output
    assert "Unexpected error" not in result.output and "Traceback" not in result.output
    return result.output


def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Warning: ")]


def error_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith("Error: ")]
    return line


def one_sentence(message: str) -> bool:
    """What is wrong and what to do, in one sentence (paths and parentheses aside)."""
    plain = re.sub(r"\([^()]*\)", "", re.sub(r"\S*[/\\]\S*", "PATH", message))
    return plain.rstrip().endswith(".") and plain.count(". ") == 0


# -- a damaged manifest ---------------------------------------------------------------------------


def _json(path: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(path.read_bytes())
    return loaded


def _replace_with_another(path: Path) -> None:
    """A sound manifest, but another version's (a copy gone wrong)."""
    other = next(p for p in path.parent.parent.glob("*/manifest.json") if p != path)
    shutil.copy(other, path)


def _unreadable(path: Path) -> None:
    """A manifest.json that cannot be read at all (a folder where the file was)."""
    path.unlink()
    path.mkdir()


MANIFEST_DAMAGE: dict[str, Callable[[Path], object]] = {
    "not JSON": lambda p: p.write_bytes(b'{"dataset": "dof_pts", garbage'),
    "cut short": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "binary": lambda p: p.write_bytes(b"\x00\xff\xfe" + p.read_bytes()),
    "nested too deep": lambda p: p.write_bytes(b"[" * 100_000),
    "nested deep but parsable": lambda p: p.write_text(
        json.dumps({**_json(p), "columns": json.loads("[" * 900 + "]" * 900)})
    ),
    "not an object": lambda p: p.write_bytes(b"[]"),
    "a missing field": lambda p: p.write_text(
        json.dumps({k: v for k, v in _json(p).items() if k != "data_files"})
    ),
    "a field of the wrong type": lambda p: p.write_text(
        json.dumps({**_json(p), "row_count": "many"})
    ),
    "another version's manifest": _replace_with_another,
    "unreadable": _unreadable,
}


@pytest.mark.parametrize("damage", list(MANIFEST_DAMAGE), ids=list(MANIFEST_DAMAGE))
def test_a_damaged_manifest_is_listed_as_damaged_and_the_other_versions_keep_working(
    lake: Lakehouse, names: Names, damage: str
) -> None:
    path = manifest_file(lake, "dof_pts", names.old)
    MANIFEST_DAMAGE[damage](path)
    archive = lake.archive
    named = rf"{re.escape(str(path))}.*version {names.old} of 'dof_pts'.*lake verify"

    scan = archive.scan_versions("dof_pts")
    assert [m.version for m in scan.manifests] == [names.new]
    (found,) = scan.damaged
    assert (found.version, found.path) == (names.old, f"raw/dof_pts/{names.old}/manifest.json")
    assert re.search(named, found.message) and one_sentence(found.message)
    # the restore hint names the copy the run folder keeps, when it is sound
    assert "committed.json" in found.message

    with pytest.warns(DamagedRecordWarning, match=named):
        assert [m.version for m in archive.readable_versions("dof_pts")] == [names.new]
    with pytest.raises(IntegrityError, match=named):  # asked for by name: refused
        archive.manifest("dof_pts", names.old)
    with pytest.raises(IntegrityError, match="latest version of 'dof_pts' cannot be told"):
        archive.manifest("dof_pts")  # the damaged one could be the newest
    assert archive.manifest("dof_pts", names.new).row_count > 0
    with pytest.raises(NotFoundError, match=rf"{names.new} \(and, damaged, {names.old}\)"):
        archive.manifest("dof_pts", "19990101")
    # every other dataset is as it was
    for dataset in ("zoning_lots", "dob_jobs", "landmarks", "extra"):
        assert len(archive.versions(dataset)) == 1


def test_lake_versions_lists_every_dataset_and_the_damaged_version_as_damaged(
    lake: Lakehouse, names: Names
) -> None:
    path = manifest_file(lake, "dof_pts", names.old)
    path.write_bytes(b"[" * 100_000)

    listed = lake_cli(lake, "versions")
    for dataset in ("dob_jobs", "zoning_lots", "landmarks", "extra"):
        assert re.search(rf"│ {dataset} +│ 1 +│ \d{{8}}", listed), listed
    assert re.search(r"│ dof_pts +│ 1 \(1 damaged\) +│ unknown", listed)
    (warning,) = warning_lines(listed)
    assert str(path) in warning and "nested too deep" in warning

    one = lake_cli(lake, "versions", "dof_pts")
    assert "dof_pts: 1 version(s), 1 damaged" in one
    assert re.search(rf"│ {names.new} +│", one) and f"{names.old} (damaged)" in one
    assert "(latest)" not in one  # which one is the latest cannot be told
    assert len(warning_lines(one)) == 1
    error = error_line(lake_cli(lake, "show", "dof_pts", "--version", names.old, code=1))
    assert str(path) in error and one_sentence(error)
    assert "Warning" not in lake_cli(lake, "show", "dof_pts", "--version", names.new)


def test_a_dataset_whose_only_version_is_damaged_is_still_listed(
    lake: Lakehouse, names: Names
) -> None:
    manifest_file(lake, "extra", names.extra).write_bytes(b"")
    one = lake_cli(lake, "versions", "extra")
    assert "extra: 0 version(s), 1 damaged" in one and f"{names.extra} (damaged)" in one
    assert re.search(r"│ extra +│ 0 \(1 damaged\) +│ unknown", lake_cli(lake, "versions"))
    with pytest.warns(DamagedRecordWarning):
        entry = dataset_entry("extra", lake.archive)
    assert (entry.versions, entry.damaged, entry.latest) == ([], [names.extra], None)


def test_a_product_that_does_not_read_a_damaged_dataset_locks_and_builds_without_a_word(
    lake: Lakehouse, names: Names
) -> None:
    manifest_file(lake, "extra", names.extra).write_bytes(b"{")
    locked = lake_cli(lake, "lock", PRODUCT)
    built = lake_cli(lake, "build", PRODUCT)
    assert "contracts: 60/60 checks passed" in built
    assert not warning_lines(locked + built)


def test_a_product_pinned_to_a_damaged_version_is_refused_naming_the_manifest(
    lake: Lakehouse, names: Names
) -> None:
    path = manifest_file(lake, "dof_pts", names.new)  # the version the lock pins
    path.write_bytes(b'{"dataset": "dof_pts"')
    error = error_line(lake_cli(lake, "build", PRODUCT, code=1))
    assert "pluto_lite.lock: input 'dof_pts'" in error and str(path) in error
    assert "lake verify" in error and one_sentence(error)
    error = error_line(lake_cli(lake, "lock", PRODUCT, code=1))
    assert "input 'dof_pts'" in error and str(path) in error and "cannot be told" in error
    assert one_sentence(error)


def test_a_product_pinned_to_a_sound_version_builds_while_another_version_is_damaged(
    lake: Lakehouse, names: Names
) -> None:
    manifest_file(lake, "dof_pts", names.old).write_bytes(b"xx")
    built = lake_cli(lake, "build", PRODUCT)
    assert "contracts: 60/60 checks passed" in built and not warning_lines(built)
    # locking again needs the latest version of dof_pts, which cannot be told now
    error = error_line(lake_cli(lake, "lock", PRODUCT, code=1))
    assert f"version {names.old}'s manifest is unreadable or damaged" in error


def test_lake_sql_leaves_out_a_damaged_version_and_keeps_every_other_view(
    lake: Lakehouse, names: Names
) -> None:
    path = manifest_file(lake, "dof_pts", names.old)
    path.write_bytes(b"[]")
    kept = f"source.{view_name('dof_pts', 'v' + names.new)}"
    query = (
        f"SELECT (SELECT count(*) FROM {kept}) AS dof, (SELECT count(*) FROM source.dob_jobs) "
        "AS jobs, (SELECT count(*) FROM published.pluto_lite) AS published"
    )
    shown = lake_cli(lake, "sql", "-c", query)
    assert re.search(r"│ 196 +│ \d+ +│ 196 +│", shown), shown
    said = warning_lines(shown)
    assert len(said) == 2 and str(path) in said[0]
    assert "There is no view source.dof_pts of the latest version of 'dof_pts'" in said[1]

    explorer = Explorer(lake)
    with pytest.warns(DamagedRecordWarning) as reported:
        views = explorer.register_views()
    assert len(reported) == 2
    assert kept in views and "source.dob_jobs" in views and "source.extra" in views
    assert "source.dof_pts" not in views
    assert f"source.{view_name('dof_pts', 'v' + names.old)}" not in views
    with pytest.warns(DamagedRecordWarning, match=str(path)):
        assert explorer.versions("dof_pts") == [names.new]
    assert explorer.source("dof_pts", names.new).count().execute() == 196
    with pytest.raises(IntegrityError, match="cannot be told"):
        explorer.source("dof_pts")


def test_the_catalog_and_the_docs_name_a_damaged_version_and_show_the_rest(
    lake: Lakehouse, names: Names
) -> None:
    path = manifest_file(lake, "dof_pts", names.old)
    path.write_bytes(b"\x00")
    with pytest.warns(DamagedRecordWarning, match=str(path)):
        entry = lookup("dof_pts", lake.archive, lake.config.recipes_dir, lake.config.contracts_dir)
    assert isinstance(entry, DatasetEntry)
    assert (entry.versions, entry.damaged, entry.latest) == ([names.new], [names.old], None)

    listed = lake_cli(lake, "catalog")
    assert "1 product(s)" in listed and "5 dataset(s)" in listed
    assert re.search(r"│ landmarks +│ 1 +│ \d{8}", listed)
    assert any(str(path) in line for line in warning_lines(listed))
    shown = lake_cli(lake, "catalog", "dof_pts")
    assert f"versions: {names.new}" in shown
    assert f"damaged (manifest unreadable): {names.old}; latest: unknown" in shown

    out = lake.config.project_dir / "site"
    written = lake_cli(lake, "docs", "--out", str(out))
    assert any(str(path) in line for line in warning_lines(written))
    page = (out / "dataset-dof_pts.html").read_text()
    assert f"Version <code>{names.old}</code> is damaged" in page and names.new in page
    assert "landmarks" in (out / "index.html").read_text()
    assert (out / "product-pluto_lite.html").is_file()


# -- a damaged publish.json -----------------------------------------------------------------------


def _another_versions_record(path: Path) -> None:
    shutil.copy(path.parent.parent / "25v2" / "publish.json", path)


PUBLISH_DAMAGE: dict[str, Callable[[Path], object]] = {
    "not JSON": lambda p: p.write_bytes(b"{x"),
    "empty": lambda p: p.write_bytes(b""),
    "nested too deep": lambda p: p.write_bytes(b"[" * 100_000),
    "not an object": lambda p: p.write_bytes(b'"25v1"'),
    "a missing field": lambda p: p.write_text(
        json.dumps({k: v for k, v in _json(p).items() if k != "outputs"})
    ),
    "another version's record": _another_versions_record,
    "unreadable": _unreadable,
}


def publish_file(lake: Lakehouse, version: str) -> Path:
    return stored(lake, f"publish/{PRODUCT}/{version}/publish.json")


@pytest.mark.parametrize("damage", list(PUBLISH_DAMAGE), ids=list(PUBLISH_DAMAGE))
def test_a_damaged_publish_json_is_named_and_the_other_versions_keep_working(
    lake: Lakehouse, damage: str
) -> None:
    path = publish_file(lake, "25v1")
    PUBLISH_DAMAGE[damage](path)
    store = lake.store
    named = rf"{re.escape(str(path))}.*published version 25v1 of 'pluto_lite'.*lake verify"

    scan = scan_published(store, PRODUCT)
    assert [e.version for e in scan.published] == ["25v2"]
    (found,) = scan.damaged
    assert found.version == "25v1" and re.search(named, found.message)
    assert one_sentence(found.message)
    assert scan.latest is not None and scan.latest.version == "25v2"
    assert scan.latest_problem is None
    with pytest.warns(DamagedRecordWarning, match=named):
        assert [e.version for e in list_published(store, PRODUCT)] == ["25v2"]
    with pytest.raises(IntegrityError, match=named):
        find_published(store, PRODUCT, "25v1")
    assert find_published(store, PRODUCT).version == "25v2"
    with pytest.raises(NotFoundError, match=r"published versions: 25v2 \(and, damaged, 25v1\)"):
        find_published(store, PRODUCT, "24v9")

    explorer = Explorer(lake)
    with pytest.warns(DamagedRecordWarning, match=named):
        views = explorer.register_views()
    assert {"published.pluto_lite", "published.pluto_lite_25v2"} <= set(views)
    assert "published.pluto_lite_25v1" not in views
    assert explorer.published(PRODUCT).table().count().execute() == 196


def test_the_catalog_the_docs_and_lake_sql_name_a_damaged_published_version(
    lake: Lakehouse,
) -> None:
    path = publish_file(lake, "25v1")
    path.write_bytes(b"{x")

    shown = lake_cli(lake, "catalog", PRODUCT)
    assert "published 25v2: build" in shown and "(latest)" in shown
    assert "published 25v1: damaged (publish.json unreadable)" in shown
    assert any(str(path) in line for line in warning_lines(shown))
    assert "1 product(s)" in lake_cli(lake, "catalog")

    out = lake.config.project_dir / "site"
    lake_cli(lake, "docs", "--out", str(out))
    page = (out / "product-pluto_lite.html").read_text()
    assert "Published version <code>25v1</code> is damaged" in page
    assert "<code>25v2</code>" in page

    counted = lake_cli(lake, "sql", "-c", "SELECT count(*) AS n FROM published.pluto_lite_25v2")
    assert re.search(r"│ 196 +│", counted) and len(warning_lines(counted)) == 1


def test_a_damaged_latest_version_leaves_no_latest_view_and_the_others_work(
    lake: Lakehouse,
) -> None:
    path = publish_file(lake, "25v2")  # the one latest.json names
    path.write_bytes(b"")
    with pytest.raises(IntegrityError, match=re.escape(str(path))):
        find_published(lake.store, PRODUCT)
    explorer = Explorer(lake)
    with pytest.warns(DamagedRecordWarning) as reported:
        views = explorer.register_views()
    said = [str(w.message) for w in reported]
    assert any(str(path) in message for message in said)
    assert any("no view of the latest published version of 'pluto_lite'" in m for m in said)
    assert "published.pluto_lite_25v1" in views and "published.pluto_lite" not in views
    assert "build.pluto_lite" in views  # builds are another matter


# -- a damaged latest.json ------------------------------------------------------------------------


LATEST_DAMAGE: dict[str, bytes] = {
    "not JSON": b"{x",
    "empty": b"",
    "nested too deep": b"[" * 100_000,
    "not a record": b'{"latest": "25v2"}',
    "a version that is not published": b'{"schema_version": 1, "version": "25v9"}',
    "a path trick": b'{"schema_version": 1, "version": "../../raw"}',
}


@pytest.mark.parametrize("damage", list(LATEST_DAMAGE), ids=list(LATEST_DAMAGE))
def test_a_damaged_latest_json_leaves_the_product_without_a_latest_and_nothing_else(
    lake: Lakehouse, damage: str
) -> None:
    path = stored(lake, f"publish/{PRODUCT}/latest.json")
    path.write_bytes(LATEST_DAMAGE[damage])
    store = lake.store
    named = rf"{re.escape(str(path))}.*'pluto_lite' has no latest published version"

    scan = scan_published(store, PRODUCT)
    assert [e.version for e in scan.published] == ["25v1", "25v2"] and not scan.damaged
    assert scan.latest is None
    assert scan.latest_problem is not None and re.search(named, scan.latest_problem)
    assert one_sentence(scan.latest_problem)
    with pytest.raises(IntegrityError, match=named):
        find_published(store, PRODUCT)
    assert find_published(store, PRODUCT, "25v1").version == "25v1"
    with pytest.warns(DamagedRecordWarning, match=named):
        assert len(list_published(store, PRODUCT)) == 2

    shown = lake_cli(lake, "sql", "-c", "SELECT count(*) AS n FROM published.pluto_lite_25v1")
    assert re.search(r"│ 200 +│", shown)
    (warning,) = warning_lines(shown)
    assert str(path) in warning
    missing = lake_cli(lake, "sql", "-c", "SELECT count(*) FROM published.pluto_lite", code=None)
    assert "does not exist" in missing  # no latest view: the warning said why

    catalogued = lake_cli(lake, "catalog", PRODUCT)
    assert "published 25v1: build" in catalogued and "published 25v2: build" in catalogued
    assert "(latest)" not in catalogued and any(str(path) in w for w in warning_lines(catalogued))


def test_a_removed_latest_json_is_said_as_such(lake: Lakehouse) -> None:
    stored(lake, f"publish/{PRODUCT}/latest.json").unlink()
    with pytest.raises(NotFoundError, match=r"has published versions but no latest\.json"):
        find_published(lake.store, PRODUCT)


# -- a missing or unreadable file under a sound record --------------------------------------------


def test_a_missing_published_file_leaves_out_only_its_views(lake: Lakehouse) -> None:
    gone = stored(lake, f"publish/{PRODUCT}/25v1/outputs/pluto_lite.parquet")
    gone.unlink()
    shown = lake_cli(
        lake, "sql", "-c",
        "SELECT (SELECT count(*) FROM published.pluto_lite) AS latest, "
        "(SELECT count(*) FROM source.landmarks) AS landmarks",
    )  # fmt: skip
    assert re.search(r"│ 196 +│ 1 +│", shown), shown
    (warning,) = warning_lines(shown)
    assert f"{gone} is missing" in warning and "published.pluto_lite_25v1 is left out" in warning
    assert "lake verify" in warning

    explorer = Explorer(lake)
    with pytest.raises(IntegrityError, match=rf"{re.escape(str(gone))} is missing.*25v1"):
        explorer.published(PRODUCT, "25v1")
    assert explorer.published(PRODUCT, "25v2").table().count().execute() == 196


def test_a_missing_latest_file_names_both_views_it_leaves_out(lake: Lakehouse) -> None:
    gone = stored(lake, f"publish/{PRODUCT}/25v2/outputs/pluto_lite.parquet")
    gone.unlink()
    with pytest.warns(DamagedRecordWarning) as reported:
        views = Explorer(lake).register_views()
    (message,) = [str(w.message) for w in reported]
    assert f"{gone} is missing" in message
    assert "published.pluto_lite_25v2, published.pluto_lite is left out" in message
    assert "published.pluto_lite_25v1" in views and "published.pluto_lite" not in views


def test_an_unreadable_built_file_and_a_missing_raw_file_leave_out_only_their_views(
    lake: Lakehouse, names: Names
) -> None:
    built = stored(lake, f"builds/{PRODUCT}/{names.second_build}/outputs/pluto_lite.parquet")
    built.write_bytes(b"not parquet at all")
    raw = lake.archive.manifest("landmarks").data_files[0].path
    stored(lake, raw).unlink()
    with pytest.warns(DamagedRecordWarning) as reported:
        views = Explorer(lake).register_views()
    said = sorted(str(w.message) for w in reported)
    assert len(said) == 2
    assert any(f"{built} cannot be read" in m and "build.pluto_lite" in m for m in said)
    assert any(f"{stored(lake, raw)} is missing" in m and "source.landmarks" in m for m in said)
    assert f"build.pluto_lite_{view_name(names.first_build)}" in views
    assert "build.pluto_lite" not in views and "source.landmarks" not in views
    assert "source.dob_jobs" in views and "published.pluto_lite" in views
