"""A small PLUTO-lite project (nothing archived) and its Dagster definitions, and how to run
them in-process: Dagster's own `materialize` on an ephemeral instance, no daemon."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    SensorResult,
    build_sensor_context,
    materialize,
)

from lakehouse.dagster import SENSOR_NAME, definitions
from lakehouse.project import Lakehouse
from tests.projects import pluto_lite_project

LOTS = 300


@pytest.fixture
def pluto(tmp_path: Path) -> Lakehouse:
    """The repo's PLUTO-lite recipe on generated sources with their templates (six sources,
    one product), nothing archived."""
    return pluto_lite_project(tmp_path / "project", lots=LOTS, seed=3)


@pytest.fixture
def defs(pluto: Lakehouse) -> Definitions:
    return definitions(pluto.config.project_dir)


def run(defs: Definitions, selection: Sequence[AssetKey] | None = None) -> ExecuteInProcessResult:
    """Materialize the definitions' assets (or `selection` of them) in this process; a failed
    step is a result, not an exception."""
    return materialize(
        list(defs.assets or []),
        selection=selection,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def evaluate_sensor(defs: Definitions, cursor: str | None = None) -> SensorResult:
    """One evaluation of the upstream sensor, as the daemon's tick would make it."""
    [sensor] = [found for found in defs.sensors or [] if found.name == SENSOR_NAME]
    result = sensor(build_sensor_context(cursor=cursor))
    assert isinstance(result, SensorResult)
    return result


def source_file(lake: Lakehouse, dataset: str) -> Path:
    return lake.config.project_dir / "data" / "pluto_lite" / f"{dataset}.csv"
