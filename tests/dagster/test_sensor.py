"""The upstream sensor, evaluated as the daemon would (`build_sensor_context`): a run of the
sources that changed upstream and of what reads them, requested once per change; a skip with
the reason otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import Definitions

from lakehouse.dagster import product_key, source_key
from lakehouse.project import Lakehouse
from tests.dagster.conftest import evaluate_sensor, run, source_file
from tests.projects import change_lots


@pytest.fixture
def materialized(pluto: Lakehouse, defs: Definitions) -> Definitions:
    """Every source archived and PLUTO-lite built, through the assets."""
    assert run(defs).success
    return defs


def drop_last_row(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def test_with_nothing_changed_upstream_it_skips_and_requests_no_run(
    materialized: Definitions,
) -> None:
    result = evaluate_sensor(materialized)
    assert result.run_requests == []
    assert result.skip_reason is not None
    assert result.skip_reason.skip_message == "No source has anything newer than its last fetch."


def test_a_changed_source_requests_it_and_what_reads_it_and_the_run_brings_them_up_to_date(
    pluto: Lakehouse, materialized: Definitions
) -> None:
    before = pluto.manifest("dof_pts").version
    change_lots(source_file(pluto, "dof_pts"))
    result = evaluate_sensor(materialized)
    [request] = result.run_requests
    assert request.asset_selection == [source_key("dof_pts"), product_key("pluto_lite")]
    assert request.run_key is not None and request.run_key.startswith(f"dof_pts@{before}~")
    assert request.tags["lakehouse/changed_upstream"] == "dof_pts"
    assert result.cursor is not None and json.loads(result.cursor) == {"dof_pts": request.run_key}

    done = run(materialized, request.asset_selection)  # what the daemon would launch
    assert done.success
    assert len(pluto.versions("dof_pts")) == 2
    [first, second] = pluto.builds("pluto_lite")
    assert first.lock.inputs["dof_pts"].version == before
    assert second.lock.inputs["dof_pts"].version == pluto.manifest("dof_pts").version != before
    after = evaluate_sensor(materialized, result.cursor)
    assert after.run_requests == [] and after.cursor == "{}"


def test_the_same_change_is_requested_once(pluto: Lakehouse, materialized: Definitions) -> None:
    drop_last_row(source_file(pluto, "landmarks"))
    first = evaluate_sensor(materialized)
    [request] = first.run_requests
    # the cursor: the next evaluation knows this change was requested, and skips
    again = evaluate_sensor(materialized, first.cursor)
    assert again.run_requests == []
    assert again.skip_reason is not None
    assert again.skip_reason.skip_message == f"Already requested: {request.run_key}."
    assert again.cursor == first.cursor
    # the run key: without the cursor the request is the same, and Dagster's daemon launches
    # one run per run key of a sensor
    [repeated] = evaluate_sensor(materialized).run_requests
    assert repeated.run_key == request.run_key
    # a further change to the same source is a new change
    drop_last_row(source_file(pluto, "landmarks"))
    [next_request] = evaluate_sensor(materialized, first.cursor).run_requests
    assert next_request.run_key != request.run_key
    assert next_request.asset_selection == [source_key("landmarks"), product_key("pluto_lite")]


def test_only_the_changes_not_yet_requested_are_requested(
    pluto: Lakehouse, materialized: Definitions
) -> None:
    drop_last_row(source_file(pluto, "landmarks"))
    first = evaluate_sensor(materialized)
    drop_last_row(source_file(pluto, "dob_jobs"))
    [request] = evaluate_sensor(materialized, first.cursor).run_requests
    assert request.asset_selection == [source_key("dob_jobs"), product_key("pluto_lite")]


def test_a_source_read_by_nothing_requests_only_itself(
    pluto: Lakehouse, materialized: Definitions
) -> None:
    drop_last_row(source_file(pluto, "zoning_lots"))
    (pluto.config.project_dir / "data" / "pluto_lite" / "dtm_lots.zip").write_bytes(b"changed")
    [request] = evaluate_sensor(materialized).run_requests
    assert request.asset_selection == [
        source_key("dtm_lots"),
        source_key("zoning_lots"),
        product_key("pluto_lite"),
    ]


def test_a_source_that_cannot_be_asked_is_a_reason_and_the_others_are_still_asked(
    pluto: Lakehouse, materialized: Definitions
) -> None:
    source_file(pluto, "dob_jobs").unlink()
    skipped = evaluate_sensor(materialized)
    assert skipped.run_requests == []
    assert skipped.skip_reason is not None
    message = skipped.skip_reason.skip_message or ""
    assert message.startswith("No source has anything newer than its last fetch; could not ask 1:")
    assert f"dob_jobs: Source file {source_file(pluto, 'dob_jobs')} does not exist" in message
    drop_last_row(source_file(pluto, "landmarks"))
    [request] = evaluate_sensor(materialized).run_requests
    assert request.asset_selection == [source_key("landmarks"), product_key("pluto_lite")]


def test_a_project_that_cannot_be_opened_is_a_skip_not_a_crash(
    pluto: Lakehouse, materialized: Definitions
) -> None:
    config = pluto.config.project_dir / "lakehouse.toml"
    config.write_text(config.read_text() + "\n[store\n")
    result = evaluate_sensor(materialized)
    assert result.run_requests == []
    assert result.skip_reason is not None
    message = result.skip_reason.skip_message or ""
    assert message.startswith(f"The project could not be opened: {config} is not valid TOML")


def test_sources_never_fetched_are_left_to_the_schedules(defs: Definitions) -> None:
    result = evaluate_sensor(defs)
    assert result.run_requests == []
