"""`lake update`: it fetches exactly what is due or changed upstream and builds what reads it;
one run at a time per store, and a killed run's lock is taken over."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.errors import LockError
from lakehouse.project import Lakehouse
from lakehouse.schedule.status import product_status
from lakehouse.schedule.update import UPDATE_LOCK, update
from lakehouse.transform.recipe import read_lock
from tests import fakes
from tests.conftest import write_template
from tests.projects import DATASETS, MAP_DATASETS, change_lots, pluto_lite_project


def far_cron() -> str:
    """A cadence whose next time is months away, whenever the test runs."""
    month = (datetime.now(UTC).month + 5) % 12 + 1
    return f"'0 0 1 {month} *'"


def set_cadence(lake: Lakehouse, dataset: str, cadence: str) -> None:
    path = lake.config.templates_dir / f"{dataset}.yml"
    text = re.sub(r"(?m)^cadence: .*$", f"cadence: {cadence}", path.read_text())
    path.write_text(text)


@pytest.fixture
def lake(tmp_path: Path) -> Lakehouse:
    """PLUTO-lite archived, locked and built; dof_pts is expected daily, the other sources
    months from now."""
    lake = pluto_lite_project(tmp_path / "project", lots=400, seed=5)
    for dataset in MAP_DATASETS:  # MapPLUTO-lite's sources: not this project's
        (lake.config.templates_dir / f"{dataset}.yml").unlink()
    for dataset in DATASETS:
        set_cadence(lake, dataset, "daily" if dataset == "dof_pts" else far_cron())
        lake.ingest(dataset)
    lake.lock("pluto_lite")
    lake.build("pluto_lite")
    return lake


def source_file(lake: Lakehouse, dataset: str) -> Path:
    return lake.config.project_dir / "data" / "pluto_lite" / f"{dataset}.csv"


def drop_last_row(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def latest_fetch(lake: Lakehouse) -> datetime:
    return max(lake.manifest(dataset).archived_at for dataset in DATASETS) + timedelta(seconds=1)


def test_it_fetches_exactly_what_is_due_or_changed_and_builds_what_reads_it(
    lake: Lakehouse,
) -> None:
    before = {dataset: lake.manifest(dataset).version for dataset in DATASETS}
    drop_last_row(source_file(lake, "zoning_lots"))  # upstream changed; not due for months
    report = update(lake, now=datetime.now(UTC) + timedelta(hours=25))  # dof_pts is due
    fetched = {source.dataset: (source.action, source.why) for source in report.sources}
    assert fetched.keys() == {"dof_pts", "zoning_lots"}
    assert fetched["dof_pts"] == ("unchanged", "due")  # fetched, the same bytes
    assert fetched["zoning_lots"][0] == "archived"
    assert fetched["zoning_lots"][1].startswith("changed upstream")
    assert sorted(report.current) == ["dob_jobs", "landmarks"]
    new_version = lake.manifest("zoning_lots").version
    assert new_version != before["zoning_lots"]
    assert {d: lake.manifest(d).version for d in DATASETS if d != "zoning_lots"} == {
        d: v for d, v in before.items() if d != "zoning_lots"
    }
    [built] = report.products
    assert (built.product, built.action) == ("pluto_lite", "built")
    lock = read_lock(lake.config.recipes_dir, "pluto_lite")
    assert lock is not None and lock.inputs["zoning_lots"].version == new_version
    assert lake.builds("pluto_lite")[-1].build_id == built.build_id
    assert report.locks_written == [str(lake.config.recipes_dir / "pluto_lite.lock")]
    assert product_status(lake.config, lake.store, lake.archive, "pluto_lite").state == "current"
    assert not report.failed


def test_with_nothing_due_or_changed_it_does_nothing(lake: Lakehouse) -> None:
    builds = len(lake.builds("pluto_lite"))
    report = update(lake, now=latest_fetch(lake))
    assert report.sources == [] and report.products == []
    assert sorted(report.current) == sorted(DATASETS)
    assert len(lake.builds("pluto_lite")) == builds


def test_a_dry_run_says_what_it_would_do_and_does_nothing(lake: Lakehouse) -> None:
    change_lots(source_file(lake, "dof_pts"))
    version = lake.manifest("dof_pts").version
    report = update(lake, dry_run=True, now=latest_fetch(lake))
    assert [(s.dataset, s.action) for s in report.sources] == [("dof_pts", "would fetch")]
    assert [(p.product, p.action) for p in report.products] == [("pluto_lite", "would build")]
    assert lake.manifest("dof_pts").version == version


def test_a_product_that_opts_in_is_published(lake: Lakehouse) -> None:
    recipe = lake.config.recipes_dir / "pluto_lite.yml"
    recipe.write_text(recipe.read_text() + "publish_on_update: true\n")
    change_lots(source_file(lake, "dof_pts"))
    report = update(lake, now=latest_fetch(lake))
    [product] = report.products
    assert product.action == "published" and product.published is not None
    [record] = lake.published("pluto_lite")
    assert (record.version, record.build_id) == (product.published, product.build_id)


def test_a_failed_build_is_reported_and_the_run_fails(lake: Lakehouse) -> None:
    change_lots(source_file(lake, "dof_pts"))
    broken = lake.config.transforms_dir / "pluto_lite" / "broken.py"
    broken.write_text("raise RuntimeError('this transform is broken')\n")
    report = update(lake, now=latest_fetch(lake))
    [product] = report.products
    assert product.action == "failed" and product.error
    assert report.failed
    assert report.sources[0].action == "archived"  # what was fetched stays archived


# -- one run at a time ---------------------------------------------------------------------------

HOLDER = """
import sys, time
from lakehouse.project import open_lakehouse
from lakehouse.schedule.update import UPDATE_LOCK
from lakehouse.store.writers import acquire_exclusive
lake = open_lakehouse()
acquire_exclusive(lake.store, UPDATE_LOCK, "update", wait_seconds=0)
print("holding", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(lake: Lakehouse) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the update lock, as a running update does."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        cwd=lake.config.project_dir,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "holding"
    yield process
    process.kill()
    process.wait()


def test_a_second_run_stops_while_another_holds_the_lock(
    lake: Lakehouse, holder: subprocess.Popen[str]
) -> None:
    change_lots(source_file(lake, "dof_pts"))
    version = lake.manifest("dof_pts").version
    expected = (
        rf"^Another update is running \(`lake update` by process {holder.pid} on .*\) and this "
        r"one waited 0.5 s for it; let it finish, or pass --wait SECONDS to wait for it\.$"
    )
    with pytest.raises(LockError, match=expected):
        update(lake, wait_seconds=0.5)
    assert lake.manifest("dof_pts").version == version  # it did nothing


def test_a_killed_runs_lock_is_taken_over(lake: Lakehouse, holder: subprocess.Popen[str]) -> None:
    holder.kill()
    holder.wait()
    assert lake.store.exists(UPDATE_LOCK)  # the killed run could not remove it
    change_lots(source_file(lake, "dof_pts"))
    report = update(lake)
    assert report.took_over is not None
    assert [s.action for s in report.sources] == ["archived"]
    assert not lake.store.exists(UPDATE_LOCK)  # released when done


def test_two_lake_update_commands_at_once_do_not_both_run(
    tmp_path: Path, project_dir: Path, csv_file: Path
) -> None:
    with fakes.FileServer() as server:
        url = server.add("/lots.csv", csv_file.read_bytes(), "text/csv")
        server.set_fault("/lots.csv", fakes.hang(3.0, times=1, methods=("GET",)))
        write_template(
            project_dir,
            "lots",
            f"name: lots\nsource: {{type: http, url: '{url}', timeout_seconds: 30}}\n"
            "format: {type: csv}\ncadence: daily\n",
        )
        command = [sys.executable, "-m", "lakehouse.cli", "update"]
        first = subprocess.Popen(command, cwd=project_dir, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)  # fmt: skip
        lock = project_dir / ".lakehouse" / UPDATE_LOCK
        deadline = time.monotonic() + 60
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.exists(), first.communicate()
        second = subprocess.run(command, cwd=project_dir, capture_output=True, text=True)
        out, err = first.communicate(timeout=120)
    assert second.returncode == 1
    assert "Another update is running" in second.stderr
    assert first.returncode == 0, err
    assert re.search(r"lots: archived \d{8}", out)
    assert len(server.requests_to("/lots.csv", "GET")) == 1  # one fetch, by the first run
