"""Schedules from the templates' cadences: one job and one schedule per distinct cron
expression, selecting the sources of that cadence and every asset downstream of them.

Named after the cadence as written where it is a word (`daily` gives the job `daily_sources`
and the schedule `daily_sources_schedule`), after the cron expression otherwise
(`'0 6 * * 1-5'` gives `cron_0_6_x_x_1_5_sources`). Times are UTC, as `lakehouse.cron`'s are.
"""

from __future__ import annotations

import re

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    define_asset_job,
)

from lakehouse.dagster.assets import source_key
from lakehouse.dagster.outline import ProjectOutline

TIMEZONE = "UTC"
WORD = re.compile(r"^@?([a-z]+)$")


def cadence_schedules(outline: ProjectOutline, running: bool = False) -> list[ScheduleDefinition]:
    """A schedule per distinct cron expression of the cadences (`running`: on as soon as the
    definitions load; otherwise someone turns it on in the UI or with `dagster schedule start`)."""
    status = DefaultScheduleStatus.RUNNING if running else DefaultScheduleStatus.STOPPED
    taken: set[str] = set()
    schedules = []
    for cron, datasets in outline.by_cron().items():
        cadence = outline.sources[datasets[0]].cadence or cron
        name = _unique(cadence_name(cadence), taken)
        schedules.append(cadence_schedule(name, cadence, cron, datasets, status))
    return schedules


def cadence_schedule(
    name: str, cadence: str, cron: str, datasets: list[str], status: DefaultScheduleStatus
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
        execution_timezone=TIMEZONE,
        default_status=status,
        description=f"Fetch the {cadence} sources ({cron}, {TIMEZONE}) and build what reads them.",
    )


def cadence_name(cadence: str) -> str:
    """`daily_sources` for `daily` or `@daily`; `cron_<the fields>_sources` for a cron
    expression (`*` written `x`, other signs `_`)."""
    word = WORD.match(cadence.strip().lower())
    if word:
        return f"{word.group(1)}_sources"
    fields = re.sub(r"[^a-z0-9]+", "_", cadence.lower().replace("*", "x")).strip("_")
    return f"cron_{fields}_sources"


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`... when two expressions give the same name."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate
