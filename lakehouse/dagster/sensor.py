"""The upstream sensor: it asks every source whether it has something newer than what was last
fetched (`lake status`'s question: a cheap probe, never the data) and requests a run of the
sources that changed and of every product downstream of them.

Each change is requested once. A change is named by the dataset, its latest archived version
and what the source said (`UpstreamNews.detail`, which holds the new marker: an ETag, an edit
date, a file's size and time), hashed: `dof_pts@20261128-0412~1a2b3c4d`. That name is the run
request's `run_key` (Dagster's daemon launches one run per run key of a sensor) and is kept in
the sensor's cursor, a JSON object `{dataset: change}` of the changes last seen, so the next
evaluation requests only changes not in it. Once a run fetched the source, its news is
`same` and it drops out of the cursor; a later change is new again. A run that failed does not
make the sensor ask again for the same change: the next change, a schedule or a person does.

Nothing changed, a project that cannot be opened, or sources that cannot be asked: a skip with
the reason (a source that cannot be asked does not stop the others from being asked).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from lakehouse.dagster.assets import product_key, source_key
from lakehouse.dagster.outline import ProjectOutline
from lakehouse.errors import LakehouseError
from lakehouse.schedule.status import SourceStatus, source_status

SENSOR_NAME = "lakehouse_upstream_sensor"
DEFAULT_INTERVAL_SECONDS = 3600  # one cheap request per source an hour


@dataclass
class UpstreamChanges:
    """What one evaluation found: the changes upstream (dataset -> change name) and the sources
    that could not be asked (one line each)."""

    changed: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def upstream_sensor(
    outline: ProjectOutline,
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
    running: bool = False,
) -> SensorDefinition:
    """The sensor (see the module docstring), evaluated at most every `interval_seconds`;
    `running`: on as soon as the definitions load (otherwise turned on in the UI or with
    `dagster sensor start`)."""

    @sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=interval_seconds,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        asset_selection=AssetSelection.all(),
        description="Asks each source whether it has something newer than its last fetch, and "
        "requests a run of the sources that changed and of what reads them.",
    )
    def lakehouse_upstream_sensor(context: SensorEvaluationContext) -> SensorResult:
        return evaluate_upstream(outline, context.cursor)

    return lakehouse_upstream_sensor


def evaluate_upstream(outline: ProjectOutline, cursor: str | None) -> SensorResult:
    """One evaluation: a run request for the changes not in `cursor`, or a skip saying why."""
    try:
        found = ask_sources(outline)
    except LakehouseError as exc:
        return SensorResult(skip_reason=SkipReason(f"The project could not be opened: {exc}"))
    seen = read_cursor(cursor)
    new = {dataset: name for dataset, name in found.changed.items() if seen.get(dataset) != name}
    next_cursor = json.dumps(found.changed, sort_keys=True)
    if not new:
        return SensorResult(skip_reason=SkipReason(_why_no_run(found)), cursor=next_cursor)
    datasets = sorted(new)
    keys = [source_key(d) for d in datasets]
    keys += [product_key(p) for p in outline.downstream(set(datasets))]
    request = RunRequest(
        run_key="+".join(new[dataset] for dataset in datasets),
        asset_selection=keys,
        tags={"lakehouse/changed_upstream": ",".join(datasets)},
    )
    return SensorResult(run_requests=[request], cursor=next_cursor)


def ask_sources(outline: ProjectOutline) -> UpstreamChanges:
    """Ask every source of the outline what it has now, against its last fetch (a
    LakehouseError: the project could not be opened)."""
    lake = outline.open()
    found = UpstreamChanges()
    for dataset in outline.sources:
        try:
            status = source_status(lake.config, lake.archive, dataset, ask_upstream=True)
        except LakehouseError as exc:
            found.problems.append(f"{dataset}: {exc}")
            continue
        if status.error is not None:
            found.problems.append(f"{dataset}: {status.error}")
        elif status.upstream.state == "failed":
            found.problems.append(f"{dataset}: {status.upstream.detail}")
        elif status.upstream.state == "newer":
            found.changed[dataset] = change_name(status)
    return found


def change_name(status: SourceStatus) -> str:
    """The name of a change upstream: the dataset, its latest version and a hash of what the
    source said (the same change gives the same name at every evaluation)."""
    news = status.upstream
    said = json.dumps([news.detail, news.edited_at.isoformat() if news.edited_at else None])
    digest = hashlib.sha256(said.encode()).hexdigest()[:8]
    return f"{status.dataset}@{status.latest}~{digest}"


def read_cursor(cursor: str | None) -> dict[str, str]:
    """The changes the last evaluation saw; nothing for no cursor or one not of this sensor."""
    if not cursor:
        return {}
    try:
        seen = json.loads(cursor)
    except ValueError:
        return {}
    if not isinstance(seen, dict):
        return {}
    return {str(dataset): str(change) for dataset, change in seen.items()}


def _why_no_run(found: UpstreamChanges) -> str:
    if found.changed:
        reason = f"Already requested: {', '.join(sorted(found.changed.values()))}"
    else:
        reason = "No source has anything newer than its last fetch"
    if found.problems:
        reason += f"; could not ask {len(found.problems)}: {'; '.join(found.problems)}"
    return reason + "."
