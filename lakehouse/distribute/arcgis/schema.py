"""The delivery's columns against the layer's fields: which match, which are missing (and
their definitions for `addToDefinition`), which refuse the send."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.distribute.arcgis.layer import SYSTEM_TYPES, Layer
from lakehouse.distribute.arcgis.spec import ArcGISSpec
from lakehouse.distribute.delivery import DeliveredColumn, DeliveredTable

if TYPE_CHECKING:
    import pyarrow as pa

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
INT32 = 2**31 - 1

# the Esri field types that hold each dictionary type
COMPATIBLE: dict[str, frozenset[str]] = {
    "text": frozenset({"esriFieldTypeString"}),
    "integer": frozenset(
        {
            "esriFieldTypeSmallInteger",
            "esriFieldTypeInteger",
            "esriFieldTypeBigInteger",
            "esriFieldTypeDouble",
        }
    ),
    "bbl": frozenset({"esriFieldTypeBigInteger", "esriFieldTypeDouble"}),
    "decimal": frozenset({"esriFieldTypeDouble", "esriFieldTypeSingle"}),
    "float": frozenset({"esriFieldTypeDouble", "esriFieldTypeSingle"}),
    "bool": frozenset(
        {"esriFieldTypeSmallInteger", "esriFieldTypeInteger", "esriFieldTypeBigInteger"}
    ),
    "date": frozenset({"esriFieldTypeDate", "esriFieldTypeDateOnly"}),
    "datetime": frozenset({"esriFieldTypeDate"}),
}
# the type a missing field is added with (integers: Integer when every value fits)
ADDED_TYPE = {
    "text": "esriFieldTypeString",
    "integer": "esriFieldTypeBigInteger",
    "bbl": "esriFieldTypeDouble",
    "decimal": "esriFieldTypeDouble",
    "float": "esriFieldTypeDouble",
    "bool": "esriFieldTypeSmallInteger",
    "date": "esriFieldTypeDate",
    "datetime": "esriFieldTypeDate",
}


def column_kind(type_name: str) -> str:
    """A dictionary type, or the one closest to a Parquet type (outputs without a dictionary)."""
    name = type_name.lower()
    if name in COMPATIBLE or name == "geometry":
        return name
    for prefixes, kind in (
        (("string", "large_string", "utf8"), "text"),
        (("int", "uint"), "integer"),
        (("double", "float", "halffloat"), "float"),
        (("decimal",), "decimal"),
        (("bool",), "bool"),
        (("date",), "date"),
        (("timestamp",), "datetime"),
    ):
        if name.startswith(prefixes):
            return kind
    return "text"


@dataclass
class FieldPlan:
    """How the delivered columns meet the layer's fields."""

    matched: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> layer field
    missing: list[dict[str, Any]] = field(default_factory=list)  # field definitions to add
    extra: list[str] = field(default_factory=list)  # layer fields the delivery leaves empty
    problems: list[str] = field(default_factory=list)  # what refuses the send

    def refusal(self, spec: ArcGISSpec, layer: Layer) -> str | None:
        problems = list(self.problems)
        if self.missing and spec.missing_fields == "refuse":
            problems.append(
                f"it has no field for {', '.join(f['name'] for f in self.missing)} (add them, "
                "or set missing_fields: add)"
            )
        if not problems:
            return None
        return (
            f"Destination {spec.name!r} cannot replace the features of layer {layer.name!r}: "
            f"{'; '.join(problems)}; nothing was changed."
        )


def plan_fields(table: DeliveredTable, data: pa.Table, layer: Layer) -> FieldPlan:
    plan = FieldPlan()
    for column in attribute_columns(table):
        _plan_column(plan, column, layer, data)
    sent = {c.name.lower() for c in attribute_columns(table)}
    plan.extra = [f["name"] for f in layer.data_fields() if str(f["name"]).lower() not in sent]
    return plan


def _plan_column(plan: FieldPlan, column: DeliveredColumn, layer: Layer, data: pa.Table) -> None:
    """Match one column to its layer field, plan the field it lacks, or note why it can't."""
    kind = column_kind(column.type)
    found = layer.field_named(column.name)
    if kind == "geometry":
        plan.problems.append(
            f"column {column.name!r} is a second geometry column, and a feature has one"
        )
    elif found is None:
        _plan_new_field(plan, column, kind, data)
    elif found.get("type") in SYSTEM_TYPES or not found.get("editable", True):
        plan.problems.append(
            f"column {column.name!r} meets the layer's field {found['name']!r}, which the "
            "server fills in (rename the column with renames)"
        )
    elif found.get("type") not in COMPATIBLE.get(kind, frozenset()):
        plan.problems.append(
            f"column {column.name!r} is {kind} and the layer's field {found['name']!r} is "
            f"{str(found.get('type')).removeprefix('esriFieldType')}"
        )
    else:
        plan.matched[column.name] = found


def _plan_new_field(plan: FieldPlan, column: DeliveredColumn, kind: str, data: pa.Table) -> None:
    if not FIELD_NAME.match(column.name):
        plan.problems.append(
            f"column {column.name!r} is missing and is not a valid field name (letters, digits "
            "and _, starting with a letter; rename it with renames)"
        )
        return
    definition: dict[str, Any] = {
        "name": column.name,
        "type": _added_type(kind, data.column(column.name)),
        "alias": column.display_name or column.name,
        "nullable": True,
        "editable": True,
        "domain": None,
        "defaultValue": None,
    }
    if column.description:
        # ArcGIS keeps a field's description as a JSON text
        definition["description"] = json.dumps({"value": column.description, "fieldValueType": ""})
    if definition["type"] == "esriFieldTypeString":
        definition["length"] = max(256, _longest_text(data.column(column.name)))
    plan.missing.append(definition)
    plan.matched[column.name] = definition


def _added_type(kind: str, values: pa.ChunkedArray) -> str:
    if kind == "integer":
        import pyarrow.compute as pc

        bounds = pc.min_max(values).as_py()
        low, high = bounds["min"], bounds["max"]
        if low is None or (low >= -INT32 - 1 and high <= INT32):
            return "esriFieldTypeInteger"
    return ADDED_TYPE.get(kind, "esriFieldTypeString")


def _longest_text(values: pa.ChunkedArray) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    longest = pc.max(pc.utf8_length(values.cast(pa.string()))).as_py()
    return int(longest or 0)


def attribute_columns(table: DeliveredTable) -> list[DeliveredColumn]:
    return [c for c in table.columns if c.name != table.geometry]
