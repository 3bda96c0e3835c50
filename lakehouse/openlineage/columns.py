"""The columnLineage facet of an output: for each column, the input columns it is computed from
(DIRECT) and those that decide which rows it has (INDIRECT: JOIN, FILTER, GROUP_BY), as
`Lakehouse.lineage()` and `lake lineage` trace them (transform/lineage.py). The conditions
every column of an output shares (the table's rows) go once into the facet's `dataset` list.

A value made from a table's rows rather than a column (a count: "dob_jobs (rows)") and what
the SQL could not follow ("(not traced)") name no input column, so they are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lakehouse.openlineage.events import facet
from lakehouse.transform.lineage import ROWS, UNTRACED, Lineage, RowCondition

DIRECT: dict[str, Any] = {"type": "DIRECT"}  # the lineage does not tell a copy from a formula
IDENTITY: dict[str, Any] = {"type": "DIRECT", "subtype": "IDENTITY"}
INDIRECT_SUBTYPES = {
    "join key": "JOIN",
    "filter": "FILTER",
    "group by": "GROUP_BY",
    "distinct": "GROUP_BY",  # one row per distinct value: a grouping
}

DatasetRef = tuple[str, str]  # (namespace, name)


class InputFields:
    """Input fields by (namespace, name, field), each with its transformations, in the order
    they were first met."""

    def __init__(self, inputs: dict[str, DatasetRef]) -> None:
        self.inputs = inputs  # the lock's alias -> its dataset
        self.found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def add(self, source: str, transformation: dict[str, Any]) -> None:
        """Add `source` ("alias.column", as the lineage names it) unless it names no column of
        an input."""
        if source == UNTRACED or source.endswith(f" {ROWS}"):
            return
        alias, dot, column = source.partition(".")
        if not dot or alias not in self.inputs:
            return
        namespace, name = self.inputs[alias]
        transformations = self.found.setdefault((namespace, name, column), [])
        if transformation not in transformations:
            transformations.append(transformation)

    def listed(self) -> list[dict[str, Any]]:
        return [
            {"namespace": namespace, "name": name, "field": field, "transformations": found}
            for (namespace, name, field), found in self.found.items()
        ]


def indirect(condition: RowCondition) -> dict[str, Any]:
    return {
        "type": "INDIRECT",
        "subtype": INDIRECT_SUBTYPES.get(condition.kind, "FILTER"),
        "description": condition.how,
    }


def column_lineage_facet(
    lineage: Lineage, output: str, inputs: dict[str, DatasetRef]
) -> dict[str, Any] | None:
    """The facet of one output of a build; `inputs` maps each lock alias to its dataset. None
    when nothing could be traced."""
    fields = {}
    for column, sources in lineage.columns.get(output, {}).items():
        found = InputFields(inputs)
        for source in sources:
            found.add(source, DIRECT)
        for condition in lineage.own_rows(output, column):
            found.add(condition.source, indirect(condition))
        if found.found:
            fields[column] = {"inputFields": found.listed()}
    shared = InputFields(inputs)
    for condition in lineage.shared_rows(output):
        shared.add(condition.source, indirect(condition))
    if not fields and not shared.found:
        return None
    return facet("columnLineage", fields=fields, dataset=shared.listed() or None)


def identity_facet(columns: Iterable[str], namespace: str, name: str) -> dict[str, Any]:
    """Each column copied as it is from the same column of one dataset (a published copy of a
    build's output)."""
    fields = {
        column: {
            "inputFields": [
                {
                    "namespace": namespace,
                    "name": name,
                    "field": column,
                    "transformations": [IDENTITY],
                }
            ]
        }
        for column in columns
    }
    return facet("columnLineage", fields=fields)
