"""Schedules from the templates' cadences: one job and one schedule per distinct cron
expression, selecting the sources of that cadence and every asset downstream of them.

Named after the cadence as written where it is a word (`daily` gives the job `daily_sources`
and the schedule `daily_sources_schedule`), after the cron expression otherwise
(`'0 6 * * 1-5'` gives `cron_0_6_x_x_1_5_sources`). A schedule runs on the clock of its
cadence's time zone (`daily America/New_York`; UTC when the cadence names none), as
`lakehouse.cron` reads it; the same expression in two zones is two schedules.
"""

from __future__ import annotations

import re

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    define_asset_job,
)

from lakehouse.cadence import split_zone
from lakehouse.dagster.assets import source_key
from lakehouse.dagster.outline import ProjectOutline

WORD = re.compile(r"^@?([a-z]+)$")


def cadence_schedules(outline: ProjectOutline, running: bool = False) -> list[ScheduleDefinition]:
    """A schedule per distinct cron expression of the cadences (`running`: on as soon as the
    definitions load; otherwise someone turns it on in the UI or with `dagster schedule start`)."""
    status = DefaultScheduleStatus.RUNNING if running else DefaultScheduleStatus.STOPPED
    taken: set[str] = set()
    schedules = []
    for (cron, zone), datasets in outline.by_cron().items():
        cadence = outline.sources[datasets[0]].cadence or cron
        name = _unique(cadence_name(cadence), taken)
        schedules.append(cadence_schedule(name, cadence, cron, zone, datasets, status))
    return schedules


def cadence_schedule(
    name: str,
    cadence: str,
    cron: str,
    zone: str,
    datasets: list[str],
    status: DefaultScheduleStatus,
) -> ScheduleDefinition:
    """The schedule of one cadence, and its job: its sources and everything downstream."""
    selection = AssetSelection.assets(*[source_key(dataset) for dataset in datasets])
    job = define_asset_job(
        name=name,
        selection=selection.downstream(),
        description=f"Fetch {', '.join(datasets)} (cadence {cadence}) and build every product "
        "that reads them.",
    )
    return ScheduleDefinition(
        name=f"{name}_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone=zone,
        default_status=status,
        description=f"Fetch the {cadence} sources ({cron}, {zone}) and build what reads them.",
    )


def cadence_name(cadence: str) -> str:
    """`daily_sources` for `daily` or `@daily`; `cron_<the fields>_sources` for a cron
    expression (`*` written `x`, other signs `_`); a time zone's name before `_sources`
    (`daily_america_new_york_sources`)."""
    schedule, zone = split_zone(cadence)
    word = WORD.match(schedule.lower())
    name = word.group(1) if word else f"cron_{_snake(schedule.replace('*', 'x'))}"
    if zone != "UTC":
        name += f"_{_snake(zone)}"
    return f"{name}_sources"


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`... when two expressions give the same name."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate
