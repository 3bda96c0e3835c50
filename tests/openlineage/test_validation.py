"""The check the event tests rely on: the OpenLineage client's models accept a well-formed
event of every facet the lakehouse writes, and refuse a broken one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from lakehouse.openlineage.columns import identity_facet
from lakehouse.openlineage.datasets import build_output, published, source
from lakehouse.openlineage.events import error_facet, job, new_run_id, now, run_event
from lakehouse.transform.records import OutputRecord
from tests.openlineage.validation import InvalidEvent, check_event

Event = dict[str, Any]


def full_event() -> Event:
    """A FAIL event with every kind of facet the lakehouse writes."""
    columns = [("bbl", "int64"), ("borough", "string")]
    output = published("file:///s", "p", "p", "25v1", columns=columns)
    output["facets"]["columnLineage"] = identity_facet(["bbl", "borough"], "file:///s", "x")
    written = OutputRecord(path="p.parquet", rows=3, bytes=10, sha256="a", content_sha256="b")
    output["outputFacets"] = build_output("file:///s", "p", "p", "b1", written=written)[
        "outputFacets"
    ]
    try:
        raise ValueError("the transform raised")
    except ValueError as exc:
        error = error_facet(exc)
    return run_event(
        "FAIL",
        new_run_id(),
        job("lakehouse", "build", "p"),
        at=now(),
        inputs=[source("https://data.example.org/api/x.csv?limit=5")],
        outputs=[output],
        run_facets={"errorMessage": error},
    )


def test_a_well_formed_event_with_every_facet_is_accepted() -> None:
    event = full_event()
    model = check_event(event)
    assert model.eventType is not None and model.eventType.value == "FAIL"
    assert model.run.facets is not None
    assert model.run.facets["errorMessage"].message == "the transform raised"
    assert model.outputs is not None and model.outputs[0].outputFacets is not None
    assert model.outputs[0].outputFacets["outputStatistics"].rowCount == 3


def _drop_run_id(event: Event) -> None:
    del event["run"]["runId"]


def _set(path: list[Any], value: Any) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        target = event
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


SCHEMA_FIELD = ["outputs", 0, "facets", "schema", "fields", 0]
BROKEN = {
    "no run id": _drop_run_id,
    "a run id that is no UUID": _set(["run", "runId"], "run-1"),
    "an unknown event type": _set(["eventType"], "FINISHED"),
    "a time without its time of day": _set(["eventTime"], "2026-11-28"),
    "an unknown field in a facet": _set([*SCHEMA_FIELD, "nullable"], True),
    "a row count that is text": _set(
        ["outputs", 0, "outputFacets", "outputStatistics", "rowCount"], "3"
    ),
    "a facet of another schema version": _set(
        ["outputs", 0, "facets", "version", "_schemaURL"],
        "https://openlineage.io/spec/facets/9-9-9/DatasetVersionDatasetFacet.json",
    ),
    "an unknown facet": _set(["run", "facets", "myFacet"], {"_producer": "x", "_schemaURL": "y"}),
    "an input field without its field": _set(
        ["outputs", 0, "facets", "columnLineage", "fields", "bbl", "inputFields", 0],
        {"namespace": "file:///s", "name": "x"},
    ),
    "inputs that are not a list": _set(["inputs"], {"namespace": "n", "name": "x"}),
    "a job without a name": _set(["job"], {"namespace": "lakehouse"}),
}


@pytest.mark.parametrize("change", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_event_is_refused(change: Callable[[Event], None]) -> None:
    event = full_event()
    check_event(copy.deepcopy(event))  # whole, it passes
    change(event)
    with pytest.raises(InvalidEvent):
        check_event(event)
