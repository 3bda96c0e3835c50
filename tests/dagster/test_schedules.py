"""A job and a schedule per distinct cadence of the templates, in UTC, selecting the sources of
that cadence and everything downstream of them; stopped until someone starts them."""

from __future__ import annotations

import re

from dagster import AssetKey, DefaultScheduleStatus, DefaultSensorStatus, Definitions

from lakehouse.dagster import definitions, product_key, source_key
from lakehouse.dagster.schedules import cadence_name
from lakehouse.project import Lakehouse
from tests.projects import DATASETS


def selections(defs: Definitions) -> dict[str, tuple[str, set[AssetKey]]]:
    """Each schedule's cron expression and the assets its job selects."""
    assets = list(defs.assets or [])
    return {
        schedule.name: (str(schedule.cron_schedule), schedule.job.selection.resolve(assets))
        for schedule in defs.schedules or []
    }


def test_a_schedule_per_cadence_selects_its_sources_and_what_reads_them(
    pluto: Lakehouse, defs: Definitions
) -> None:
    by_cadence: dict[str, set[str]] = {}
    for dataset in pluto.templates():
        cadence = pluto.template(dataset).cadence
        assert cadence is not None
        by_cadence.setdefault(cadence.text, set()).add(dataset)
    assert by_cadence == {
        "daily": {"dof_pts", "dob_jobs"},
        "weekly": {"dtm_lots"},
        "monthly": {"zoning_lots", "landmarks", "zoning_districts"},
    }
    crons = {"daily": "0 0 * * *", "weekly": "0 0 * * 1", "monthly": "0 0 1 * *"}
    expected = {}
    for cadence, datasets in by_cadence.items():
        keys = {source_key(dataset) for dataset in datasets}
        if datasets & set(DATASETS):  # PLUTO-lite reads it
            keys.add(product_key("pluto_lite"))
        expected[f"{cadence}_sources_schedule"] = (crons[cadence], keys)
    assert selections(defs) == expected
    for schedule in defs.schedules or []:
        assert schedule.execution_timezone == "UTC"
        assert schedule.job.name == schedule.name.removesuffix("_schedule")


def test_cadences_with_one_cron_expression_share_a_schedule_and_cron_ones_get_their_own(
    pluto: Lakehouse,
) -> None:
    templates = pluto.config.templates_dir
    for dataset, cadence in [
        ("dob_jobs", "'@daily'"),  # the same times as daily: dof_pts's schedule
        ("landmarks", "'30 6 * * mon-fri'"),
        ("dtm_lots", "'@weekly'"),  # Monday, as lakehouse.cron reads it (cron's is Sunday)
    ]:
        path = templates / f"{dataset}.yml"
        path.write_text(re.sub(r"(?m)^cadence: .*$", f"cadence: {cadence}", path.read_text()))
    found = selections(definitions(pluto.config.project_dir))
    assert found["daily_sources_schedule"] == (
        "0 0 * * *",
        {source_key("dob_jobs"), source_key("dof_pts"), product_key("pluto_lite")},
    )
    assert found["weekly_sources_schedule"] == ("0 0 * * 1", {source_key("dtm_lots")})
    assert found["cron_30_6_x_x_mon_fri_sources_schedule"] == (
        "30 6 * * mon-fri",
        {source_key("landmarks"), product_key("pluto_lite")},
    )
    assert len(found) == 4


def test_a_cadence_in_a_time_zone_runs_on_that_zones_clock(pluto: Lakehouse) -> None:
    """The same expression in another zone is another schedule, named for the zone, run by
    Dagster on that zone's clock."""
    path = pluto.config.templates_dir / "landmarks.yml"
    text = re.sub(r"(?m)^cadence: .*$", "cadence: daily America/New_York", path.read_text())
    path.write_text(text)
    defs = definitions(pluto.config.project_dir)
    zones = {schedule.name: schedule.execution_timezone for schedule in defs.schedules or []}
    assert zones["daily_america_new_york_sources_schedule"] == "America/New_York"
    assert zones["daily_sources_schedule"] == "UTC"
    found = selections(defs)
    assert found["daily_america_new_york_sources_schedule"] == (
        "0 0 * * *",
        {source_key("landmarks"), product_key("pluto_lite")},
    )


def test_a_source_without_a_cadence_has_no_schedule(pluto: Lakehouse) -> None:
    for dataset in ("dtm_lots",):
        path = pluto.config.templates_dir / f"{dataset}.yml"
        path.write_text(re.sub(r"(?m)^cadence: .*\n", "", path.read_text()))
    found = selections(definitions(pluto.config.project_dir))
    assert "weekly_sources_schedule" not in found
    assert all(source_key("dtm_lots") not in keys for _, keys in found.values())


def test_schedules_and_sensor_are_stopped_unless_asked_to_run(pluto: Lakehouse) -> None:
    stopped = definitions(pluto.config.project_dir)
    running = definitions(pluto.config.project_dir, running=True, sensor_interval_seconds=600)
    assert {s.default_status for s in stopped.schedules or []} == {DefaultScheduleStatus.STOPPED}
    assert {s.default_status for s in running.schedules or []} == {DefaultScheduleStatus.RUNNING}
    [stopped_sensor] = stopped.sensors or []
    [running_sensor] = running.sensors or []
    assert stopped_sensor.default_status == DefaultSensorStatus.STOPPED
    assert stopped_sensor.minimum_interval_seconds == 3600
    assert running_sensor.default_status == DefaultSensorStatus.RUNNING
    assert running_sensor.minimum_interval_seconds == 600


def test_names_come_from_the_cadence_word_or_its_cron_fields() -> None:
    assert cadence_name("daily") == "daily_sources"
    assert cadence_name("@hourly") == "hourly_sources"
    assert cadence_name("*/15 9-17 * * 1-5") == "cron_x_15_9_17_x_x_1_5_sources"
