"""`definitions()`: the project's Dagster definitions, generated from its templates and recipes
when it is called (see the package docstring)."""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions

from lakehouse.dagster.assets import lakehouse_assets
from lakehouse.dagster.outline import read_outline
from lakehouse.dagster.schedules import cadence_schedules
from lakehouse.dagster.sensor import DEFAULT_INTERVAL_SECONDS, upstream_sensor


def definitions(
    project: Path | str | None = None,
    env: str | None = None,
    *,
    running: bool = False,
    sensor_interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
) -> Definitions:
    """The assets, schedules and sensor of `project` (its folder or its lakehouse.toml;
    default: LAKEHOUSE_CONFIG, else the nearest lakehouse.toml at or above the current folder)
    in the environment `env` (default: the config's or LAKEHOUSE_ENV). The schedules and the
    sensor are stopped until someone starts them, unless `running`. Only the project's files
    are read now; each run opens the project (and its store) itself."""
    outline = read_outline(project, env)
    return Definitions(
        assets=lakehouse_assets(outline),
        schedules=cadence_schedules(outline, running=running),
        sensors=[upstream_sensor(outline, sensor_interval_seconds, running=running)],
    )
