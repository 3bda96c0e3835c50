"""`lake gc`: a dry run lists what nothing needs and removes nothing; `--apply` removes exactly
that (builds beyond the last N, stale cache entries, what dead runs left) and keeps what a
lock, a pin, a published version or a live writer needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.catalog.gc import apply_gc, plan_gc
from lakehouse.cli import app
from lakehouse.cli.gc_commands import human_bytes
from lakehouse.config import GcSettings
from lakehouse.errors import ConfigError
from lakehouse.project import Lakehouse
from lakehouse.store.lease import LEASE_FILE
from lakehouse.store.writers import hold
from lakehouse.transform.index import build_folder
from lakehouse.transform.records import BuildRecord
from tests.store.test_leases import dead_lease
from tests.transform.test_plan import edit, keyed_numbers_and_letters, write

runner = CliRunner()
HELPERS = Path("transforms") / "common" / "helpers.py"
CONSUMER = {
    "transforms/consumer/__init__.py": "",
    "transforms/consumer/models.py": (
        "from lakehouse.transform import model\n\n\n"
        '@model(layer="product")\ndef consumer(made):\n    return made\n'
    ),
    "recipes/consumer.yml": (
        "name: consumer\nowner: me\ninputs: {made: {product: prod, output: prod}}\n"
        "outputs: [consumer]\n"
    ),
}


@pytest.fixture
def prod(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    """test_plan's small product, locked, with a primary key (to publish it)."""
    return keyed_numbers_and_letters(lake, project_dir, tmp_path)


def build_with(lake: Lakehouse, project_dir: Path, step: str) -> BuildRecord:
    """A build of prod whose shared helper adds `step` (bumped and prod change with it)."""
    path = project_dir / HELPERS
    text = path.read_text()
    start = text.index("column + ")
    path.write_text(text[:start] + f"column + {step}" + text[start + len("column + ") + 1 :])
    lake.build("prod")
    return lake.builds("prod")[-1]


def four_builds(lake: Lakehouse, project_dir: Path) -> list[BuildRecord]:
    """Builds of prod with the helper adding 1 (published as 26v1), 2, 3, and 3 again."""
    first = build_with(lake, project_dir, "1")
    lake.diff_report("prod")
    lake.publish("prod", "26v1")
    return [first, *(build_with(lake, project_dir, step) for step in "233")]


def cache_files(lake: Lakehouse, build: BuildRecord, model: str) -> list[str]:
    """The files of the cache entry a build's model ran under."""
    fingerprint = build.models[model].fingerprint
    return [
        path
        for path in lake.store.list_files(f"cache/prod/{model}")
        if path.rsplit("/", 1)[1].startswith(f"{fingerprint}.")
    ]


def lake_cli(project_dir: Path, *args: str) -> str:
    config = project_dir / "lakehouse.toml"
    result = runner.invoke(app, ["--config", str(config), *args], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_dry_run_lists_old_builds_and_stale_cache_entries_and_removes_nothing(
    prod: Lakehouse, project_dir: Path
) -> None:
    first, second, third, fourth = four_builds(prod, project_dir)
    before = prod.store.list_files("")

    found = plan_gc(prod.config, prod.store, prod.archive, keep=2)

    stale = {
        f"cache/prod/{model}/{build.models[model].fingerprint}.json"
        for build in (first, second)
        for model in ("bumped", "prod")
    }
    assert {(i.kind, i.path) for i in found.items} == {
        ("build", build_folder("prod", first.build_id)),
        ("build", build_folder("prod", second.build_id)),
    } | {("cache", path) for path in stale}
    assert {(k.build_id, k.reasons) for k in found.kept} == {
        (third.build_id, ("one of the last 2 builds",)),
        (fourth.build_id, ("one of the last 2 builds", "the newest passed build",
                           "the build of its current lock and code")),
    }  # fmt: skip
    # a stale entry goes whole, its record first: the result and the contract results too
    record = f"cache/prod/prod/{first.models['prod'].fingerprint}.json"
    (entry,) = [item for item in found.items if item.path == record]
    assert entry.files[0] == record and set(entry.files) == set(cache_files(prod, first, "prod"))
    contract, result = sorted(entry.files[1:], key=lambda f: ".contract-" not in f)
    assert ".contract-" in contract and result.endswith(".parquet")
    assert all(item.bytes > 0 for item in found.items)
    freed = found.freed()["prod"]
    assert (freed.builds, freed.cache_entries, freed.bytes) == (2, 4, found.bytes)

    output = lake_cli(project_dir, "gc", "--keep", "2")
    assert f"would remove {build_folder('prod', first.build_id)} (" in output
    assert "prod: 2 builds, 4 cache entries, " in output
    assert "Dry run: nothing was removed" in output
    assert prod.store.list_files("") == before


def test_apply_removes_exactly_the_plan_and_the_published_version_verifies_and_rebuilds(
    prod: Lakehouse, project_dir: Path
) -> None:
    first, _, third, fourth = four_builds(prod, project_dir)
    before = set(prod.store.list_files(""))
    found = plan_gc(prod.config, prod.store, prod.archive, keep=2)
    planned = {f for item in found.items for f in item.files}
    # (this project's workspace is inside its store: a build's database goes with it)
    planned |= {
        item.database.relative_to(prod.store.root).as_posix()
        for item in found.items
        if item.database is not None and item.database.exists()
    }

    result = apply_gc(found, prod.store)

    assert result.removed == found.items and result.skipped == []
    assert result.bytes == found.bytes
    assert set(prod.store.list_files("")) == before - planned
    assert [b.build_id for b in prod.builds("prod")] == [third.build_id, fourth.build_id]
    for model in ("bumped", "lettered", "prod"):
        assert cache_files(prod, third, model), model
    assert not (prod.config.workspace_dir / "prod" / f"{first.build_id}.duckdb").exists()
    assert (prod.config.workspace_dir / "prod" / f"{third.build_id}.duckdb").exists()
    assert prod.verify().ok
    assert [p.version for p in prod.published("prod")] == ["26v1"]
    # the lock and code reuse the kept cache: nothing to rebuild
    assert prod.plan("prod").rebuild == []
    assert {r.name: r.status for r in prod.build("prod").models if r.status != "view"} == {
        "bumped": "cached", "lettered": "cached", "prod": "cached"
    }  # fmt: skip

    # a full gc, then the published version's code again: rebuilt from the archived inputs
    apply_gc(plan_gc(prod.config, prod.store, prod.archive, keep=0), prod.store)
    edit(project_dir / HELPERS, "column + 3", "column + 1")
    rebuilt = prod.build("prod")
    assert sorted(r.name for r in rebuilt.models if r.status == "built") == ["bumped", "prod"]
    (published,) = prod.published("prod")
    again = prod.builds("prod")[-1]
    assert again.outputs["outputs/prod"].content_sha256 == (
        published.outputs["outputs/prod"].content_sha256
    )
    assert prod.verify().ok


def test_a_build_pinned_by_another_products_lock_stays(prod: Lakehouse, project_dir: Path) -> None:
    pinned = build_with(prod, project_dir, "1")
    write(project_dir, CONSUMER)
    prod.lock("consumer")
    later = [build_with(prod, project_dir, step) for step in "234"]

    found = plan_gc(prod.config, prod.store, prod.archive, keep=1)

    going = {i.path for i in found.items if i.kind == "build"}
    assert going == {build_folder("prod", b.build_id) for b in later[:2]}
    kept = {k.build_id: k.reasons for k in found.kept}
    assert kept[pinned.build_id] == ("pinned by consumer.lock (input made)",)
    output = lake_cli(project_dir, "gc", "--keep", "1", "--apply")
    assert f"removed {build_folder('prod', later[0].build_id)} (" in output
    assert f"freed {human_bytes(found.bytes)} in {len(found.items)} items" in output
    assert [b.build_id for b in prod.builds("prod")] == [pinned.build_id, later[-1].build_id]
    # the pinned build's cache goes (no build from prod's lock reuses it); its folder serves
    assert prod.plan("consumer").models[0].action == "rebuild"
    assert prod.build("consumer").models[0].status == "built"


def test_a_live_writers_build_folder_and_its_products_cache_are_left_alone(
    prod: Lakehouse, project_dir: Path
) -> None:
    first, second, _, _ = four_builds(prod, project_dir)
    held_folder = build_folder("prod", first.build_id)
    found = plan_gc(prod.config, prod.store, prod.archive, keep=2)

    # a run takes one planned folder (as a build holds its own) after the plan was made
    held = hold(prod.store, f"{held_folder}/{LEASE_FILE}", "build")
    try:
        files = prod.store.list_files(held_folder)
        result = apply_gc(found, prod.store)
        assert [i.path for i in result.removed] == [build_folder("prod", second.build_id)]
        left = f"{held_folder} was left: `lake build` by process"
        assert any(sentence.startswith(left) for sentence in result.skipped)
        assert prod.store.list_files(held_folder) == files  # its lease and build untouched
        assert all(cache_files(prod, first, model) for model in ("bumped", "prod"))

        again = plan_gc(prod.config, prod.store, prod.archive, keep=2)
        assert again.items == []
        assert any("a build of it is under way" in note for note in again.notes)
        left = f"build {first.build_id} of 'prod' is left: a live run holds its folder"
        assert any(note.startswith(left) for note in again.notes)
    finally:
        held.release()
    last = plan_gc(prod.config, prod.store, prod.archive, keep=2)
    assert {i.path for i in last.items if i.kind == "build"} == {held_folder}


def test_what_a_dead_run_left_goes_and_a_live_runs_leftover_stays(
    prod: Lakehouse, project_dir: Path
) -> None:
    build_with(prod, project_dir, "1")
    store = prod.store
    dead = "builds/prod/20260101T000000000000-dead"
    store.write_bytes(f"{dead}/{LEASE_FILE}", dead_lease("build").to_json())
    store.write_bytes(f"{dead}/outputs/prod.parquet", b"half a file")
    live = "builds/prod/20260101T000000000000-live"
    held = hold(store, f"{live}/{LEASE_FILE}", "build")
    try:
        found = plan_gc(prod.config, store, prod.archive)
        assert [(i.kind, i.path, i.product) for i in found.items] == [("leftover", dead, "builds")]
        assert found.items[0].reason == "left by an interrupted build whose writer is gone"
        left = f"{live} is left: being written by `lake build`"
        assert any(note.startswith(left) for note in found.notes)
        apply_gc(found, store)
        assert store.list_files(dead) == [] and store.exists(f"{live}/{LEASE_FILE}")
    finally:
        held.release()


def test_a_negative_number_of_builds_to_keep_is_refused(prod: Lakehouse) -> None:
    with pytest.raises(ConfigError, match=r"^Keep -1 builds\? Give 0 or more"):
        plan_gc(prod.config, prod.store, prod.archive, keep=-1)


def test_the_number_of_builds_kept_comes_from_the_config_unless_given(prod: Lakehouse) -> None:
    assert plan_gc(prod.config, prod.store, prod.archive).keep == 5
    config = prod.config.model_copy(update={"gc": GcSettings(keep_builds=2)})
    assert plan_gc(config, prod.store, prod.archive).keep == 2
    assert plan_gc(config, prod.store, prod.archive, keep=7).keep == 7
