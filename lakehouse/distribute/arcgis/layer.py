"""A feature layer as its `?f=json` description gives it: name, fields, geometry type,
spatial reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakehouse.errors import DistributeError

# layer fields the server fills in: never expected from the delivery
SYSTEM_TYPES = frozenset({"esriFieldTypeOID", "esriFieldTypeGlobalID", "esriFieldTypeGeometry"})
SYSTEM_NAMES = frozenset({"shape__area", "shape__length", "shape_area", "shape_length"})


@dataclass(frozen=True)
class Layer:
    """What the layer's `?f=json` says, as far as a replace needs."""

    name: str
    fields: list[dict[str, Any]]
    geometry_type: str
    spatial_reference: dict[str, Any]
    object_id_field: str
    max_record_count: int
    last_edit_date: int | None

    @classmethod
    def from_info(cls, info: dict[str, Any], shown: str) -> Layer:
        fields = list(info.get("fields") or [])
        oid = info.get("objectIdField") or next(
            (f["name"] for f in fields if f.get("type") == "esriFieldTypeOID"), None
        )
        geometry_type = info.get("geometryType")
        if not geometry_type or oid is None:
            raise DistributeError(
                f"{shown} is not a feature layer with geometry (its description has no "
                "geometryType or object id field); point layer_url at the layer itself."
            )
        editing = info.get("editingInfo") or {}
        return cls(
            name=str(info.get("name") or shown),
            fields=fields,
            geometry_type=str(geometry_type),
            spatial_reference=dict(info.get("spatialReference") or {}),
            object_id_field=str(oid),
            max_record_count=int(info.get("maxRecordCount") or 1000),
            last_edit_date=editing.get("lastEditDate"),
        )

    def field_named(self, name: str) -> dict[str, Any] | None:
        """The layer's field of that name, matched case-insensitively."""
        return next((f for f in self.fields if str(f["name"]).lower() == name.lower()), None)

    def data_fields(self) -> list[dict[str, Any]]:
        """The fields a delivery fills (not the ones the server maintains)."""
        return [
            f
            for f in self.fields
            if f.get("type") not in SYSTEM_TYPES
            and str(f["name"]).lower() not in SYSTEM_NAMES
            and f.get("editable", True)
        ]
