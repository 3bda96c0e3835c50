"""Checks a run event (a dict, as the lakehouse writes it) against the OpenLineage client's own
models (openlineage-python, the `openlineage` extra).

The client ships attrs models but no parser, so `check_event` builds the models from the dict
itself, field by field from their type annotations: an unknown field, a missing required one, a
value of the wrong type, an unknown facet or one whose `_schemaURL` is not the one its model
follows is an `InvalidEvent`; the models' own validators (a UUID run id, an ISO time with its
time of day) run as they are built. Last, the client's serializer (`Serde.to_dict`) must give
the event back as it was (up to the empty and null values it drops).
"""

from __future__ import annotations

import types
from enum import Enum
from typing import Any, Union, get_args, get_origin

import attr
from openlineage.client.event_v2 import RunEvent
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
)
from openlineage.client.serde import Serde

# the facets the lakehouse writes, by where they go and their key
FACETS: dict[type, dict[str, type]] = {
    RunFacet: {"errorMessage": error_message_run.ErrorMessageRunFacet},
    JobFacet: {"jobType": job_type_job.JobTypeJobFacet},
    DatasetFacet: {
        "schema": schema_dataset.SchemaDatasetFacet,
        "version": dataset_version_dataset.DatasetVersionDatasetFacet,
        "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
    },
    InputDatasetFacet: {},
    OutputDatasetFacet: {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet
    },
}


class InvalidEvent(AssertionError):
    """The event does not fit the client's models; the message names where."""


def check_event(event: dict[str, Any]) -> RunEvent:
    """The client's RunEvent for `event`, or InvalidEvent."""
    model = _build(RunEvent, event, "event")
    assert isinstance(model, RunEvent)
    again = _without_empty(Serde.to_dict(model))
    if again != _without_empty(event):
        raise InvalidEvent(f"the client's models do not give the event back: {again} != {event}")
    return model


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise InvalidEvent(f"{where}: expected an object, got {data!r}")
    attr.resolve_types(cls)
    fields = {field.name: field for field in attr.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise InvalidEvent(f"{where}: unknown fields {sorted(unknown)} for {cls.__name__}")
    arguments = {
        field.alias: _value(field.type, data[name], f"{where}.{name}")
        for name, field in fields.items()
        if field.init and name in data
    }
    try:
        model = cls(**arguments)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"{where}: {cls.__name__} refuses it: {exc}") from exc
    for name, field in fields.items():  # the schema URLs the models set themselves
        if not field.init and name in data and data[name] != getattr(model, name):
            raise InvalidEvent(
                f"{where}.{name} is {data[name]!r}, {cls.__name__} follows {getattr(model, name)!r}"
            )
    return model


def _value(kind: Any, value: Any, where: str) -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _value(inner, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise InvalidEvent(f"{where}: expected a list, got {value!r}")
        return [_value(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InvalidEvent(f"{where}: expected an object, got {value!r}")
        if args[1] in FACETS:
            return {
                key: _facet(args[1], key, item, f"{where}.{key}") for key, item in value.items()
            }
        return {key: _value(args[1], item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError as exc:
            raise InvalidEvent(f"{where}: {exc}") from exc
    if attr.has(kind):
        return _build(kind, value, where)
    if kind in (str, bool, float) and not isinstance(value, kind):
        raise InvalidEvent(f"{where}: expected {kind.__name__}, got {value!r}")
    if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise InvalidEvent(f"{where}: expected an integer, got {value!r}")
    return value


def _facet(place: type, key: str, value: Any, where: str) -> Any:
    known = FACETS[place]
    if key not in known:
        raise InvalidEvent(f"{where}: no standard {place.__name__} is named {key!r}")
    return _build(known[key], value, where)


def _without_empty(value: Any) -> Any:
    """`value` without the null, empty-list and empty-object members the serializer drops."""
    if isinstance(value, dict):
        kept = {key: _without_empty(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, [], {})}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value
