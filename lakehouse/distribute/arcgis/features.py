"""The delivery as Esri JSON features, a batch at a time: attributes converted to their
fields' types, geometry from `geometry.py`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse.distribute.arcgis.geometry import Geometries
from lakehouse.distribute.arcgis.layer import Layer
from lakehouse.distribute.arcgis.schema import FieldPlan, attribute_columns, column_kind
from lakehouse.distribute.delivery import DeliveredTable

if TYPE_CHECKING:
    import pyarrow as pa


def _epoch_ms(value: dt.date | dt.datetime) -> int:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return int(aware.timestamp() * 1000)
    return int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp() * 1000)


def _number(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _converter(kind: str, esri_type: str) -> Callable[[Any], Any]:
    """How one column's values are written to a field of `esri_type` (nulls stay null)."""
    if kind == "date" and esri_type == "esriFieldTypeDateOnly":
        return lambda value: value.isoformat()
    if kind in ("date", "datetime"):
        return _epoch_ms
    if kind == "bool":
        return lambda value: int(bool(value))
    if kind in ("float", "decimal") or esri_type in ("esriFieldTypeDouble", "esriFieldTypeSingle"):
        return _number
    if kind in ("integer", "bbl"):
        return int
    return str


@dataclass(frozen=True)
class Features:
    """The delivery as Esri JSON features, made a batch at a time."""

    data: pa.Table
    geometries: Geometries
    columns: list[tuple[str, str, Callable[[Any], Any]]]  # column, layer field name, converter
    geometry_type: str

    @classmethod
    def prepare(
        cls, table: DeliveredTable, data: pa.Table, layer: Layer, plan: FieldPlan
    ) -> Features:
        columns = [
            (
                column.name,
                str(plan.matched[column.name]["name"]),
                _converter(column_kind(column.type), str(plan.matched[column.name]["type"])),
            )
            for column in attribute_columns(table)
        ]
        geometries = Geometries.read(table, data, layer)
        return cls(data, geometries, columns, layer.geometry_type)

    def __len__(self) -> int:
        return self.data.num_rows

    def batch(self, start: int, stop: int) -> list[dict[str, Any]]:
        rows = self.data.slice(start, stop - start)
        values = {name: rows.column(name).to_pylist() for name, _, _ in self.columns}
        shapes = self.geometries.esri(start, stop, self.geometry_type)
        features = []
        for index, shape in enumerate(shapes):
            attributes = {
                target: None if values[name][index] is None else convert(values[name][index])
                for name, target, convert in self.columns
            }
            feature: dict[str, Any] = {"attributes": attributes}
            if shape is not None:
                feature["geometry"] = shape
            features.append(feature)
        return features
