"""OpenLineage run events as plain dicts (spec 2-0-2), so that writing them needs no
OpenLineage package: the event, its job, and the standard facets the lakehouse fills in.

Each facet carries `_producer` (this lakehouse) and `_schemaURL` (the version of the facet's
schema it follows, as the OpenLineage client of the `openlineage` extra names it; the tests
check every event against that client's models).
"""

from __future__ import annotations

import os
import time
import traceback
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

SPEC = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_URLS = {  # facet key -> the schema it follows
    "schema": f"{SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "version": f"{SPEC}/facets/1-0-1/DatasetVersionDatasetFacet.json"
    "#/$defs/DatasetVersionDatasetFacet",
    "columnLineage": f"{SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json"
    "#/$defs/ColumnLineageDatasetFacet",
    "outputStatistics": f"{SPEC}/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"
    "#/$defs/OutputStatisticsOutputDatasetFacet",
    "errorMessage": f"{SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "jobType": f"{SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
}
INTEGRATION = "LAKEHOUSE"  # the jobType facet's integration

EventType = Literal["START", "COMPLETE", "FAIL", "ABORT"]
JobKind = Literal["ingest", "build", "publish"]


@cache
def producer() -> str:
    """Who wrote the events: this lakehouse and its version, as a URN."""
    from lakehouse.provenance import package_versions

    return f"urn:lakehouse:{package_versions(['lakehouse'])['lakehouse']}"


def facet(key: str, **fields: Any) -> dict[str, Any]:
    """A standard facet (`key` as in SCHEMA_URLS), fields without a value left out."""
    return {
        "_producer": producer(),
        "_schemaURL": SCHEMA_URLS[key],
        **{name: value for name, value in fields.items() if value is not None},
    }


def new_run_id() -> str:
    """A UUIDv7 (the ids OpenLineage recommends): milliseconds since the epoch first, so run
    ids sort by start, then random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def now() -> datetime:
    return datetime.now(UTC)


def job(namespace: str, kind: JobKind, subject: str) -> dict[str, Any]:
    """The job of a run: `ingest.<dataset>`, `build.<product>` or `publish.<product>` in the
    jobs' namespace (`[openlineage] namespace`)."""
    job_type = facet(
        "jobType", processingType="BATCH", integration=INTEGRATION, jobType=kind.upper()
    )
    return {"namespace": namespace, "name": f"{kind}.{subject}", "facets": {"jobType": job_type}}


def error_facet(exc: BaseException) -> dict[str, Any]:
    """The errorMessage run facet of a failed run: the error's sentence and its traceback."""
    trace = "".join(traceback.format_exception(exc))
    return facet("errorMessage", message=str(exc), programmingLanguage="python", stackTrace=trace)


def run_event(
    event_type: EventType,
    run_id: str,
    job_dict: dict[str, Any],
    *,
    at: datetime,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One run event: `event_type` of the run `run_id` of `job_dict`, at `at`."""
    return {
        "eventType": event_type,
        "eventTime": at.isoformat(),
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": job_dict,
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": producer(),
        "schemaURL": RUN_EVENT_SCHEMA,
    }
