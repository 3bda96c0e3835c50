"""A fake editable ArcGIS hosted feature layer: layer info, query (count, ids, features),
addFeatures, deleteFeatures, applyEdits (all-or-nothing with rollbackOnFailure, as the real
servers do), the admin addToDefinition, and token checks (error 499 without a token, 498 with a
wrong one, answered as HTTP 200 with an error document, as ArcGIS does).

Faults beyond the base server's per-path ones (`set_fault`): `fail_adds(predicate)` makes the
adds a predicate picks fail with its description, and `lose_answers(path, times, after)` applies
an edit and then answers 502, as when a response is lost after the commit."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.arcgis import ARCGIS_PREFIX, DEFAULT_EDIT_MS, WEB_MERCATOR, _esri_field
from tests.fakes.server import LocalServer, RecordedRequest, Response, json_response, text_response

ADMIN_PREFIX = "/arcgis/rest/admin/services"
EDIT_STEP_MS = 1000  # each committed edit moves lastEditDate on by this
ROLLED_BACK = {"code": 1003, "description": "Operation rolled back."}
INTEGER_TYPES = {"esriFieldTypeSmallInteger", "esriFieldTypeInteger", "esriFieldTypeBigInteger"}
DOUBLE_TYPES = {"esriFieldTypeDouble", "esriFieldTypeSingle"}
GEOMETRY_KEYS = {
    "esriGeometryPoint": ("x", "y"),
    "esriGeometryMultipoint": ("points",),
    "esriGeometryPolyline": ("paths",),
    "esriGeometryPolygon": ("rings",),
}
AddFailure = Callable[[Mapping[str, Any]], str | None]  # a feature -> why it fails, or None


@dataclass
class EditableLayer:
    service: str
    layer_id: int
    name: str
    geometry_type: str
    spatial_reference: dict[str, Any]
    fields: list[dict[str, Any]]
    features: dict[int, dict[str, Any]]  # object id -> Esri JSON feature
    next_oid: int
    last_edit_date: int
    max_record_count: int = 2000
    object_id_field: str = "OBJECTID"
    added_fields: list[dict[str, Any]] = field(default_factory=list)  # by addToDefinition

    def field_named(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["name"].lower() == name.lower()), None)

    def info(self) -> dict[str, Any]:
        """The layer's ?f=json document, the parts an editor reads."""
        return {
            "currentVersion": 11.2,
            "id": self.layer_id,
            "name": self.name,
            "type": "Feature Layer",
            "geometryType": self.geometry_type,
            "objectIdField": self.object_id_field,
            "globalIdField": "",
            "fields": copy.deepcopy(self.fields),
            "spatialReference": dict(self.spatial_reference),
            "extent": {"spatialReference": dict(self.spatial_reference)},
            "maxRecordCount": self.max_record_count,
            "capabilities": "Create,Delete,Query,Update,Editing",
            "supportsRollbackOnFailureParameter": True,
            "supportsApplyEditsWithGlobalIds": False,
            "editingInfo": {
                "lastEditDate": self.last_edit_date,
                "dataLastEditDate": self.last_edit_date,
                "schemaLastEditDate": self.last_edit_date,
            },
            "hasZ": False,
            "hasM": False,
        }


class _Error(Exception):
    def __init__(self, code: int, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.document = {"error": {"code": code, "message": message, "details": list(details)}}


@dataclass
class _LostAnswers:
    times: int
    after: int
    seen: int = 0

    def fires(self) -> bool:
        index, self.seen = self.seen, self.seen + 1
        return self.after <= index < self.after + self.times


class FeatureServiceEditor(LocalServer):
    """Editable layers at {prefix}/{service}/FeatureServer/{n}, admin at {admin_prefix}/..."""

    def __init__(self, token: str, port: int = 0, *, prefix: str = ARCGIS_PREFIX) -> None:
        super().__init__(port)
        self.token = token
        self.prefix = prefix.rstrip("/")
        self.admin_prefix = ADMIN_PREFIX
        self._layers: dict[tuple[str, int], EditableLayer] = {}
        self._add_failures: list[AddFailure] = []
        self._lost: dict[str, _LostAnswers] = {}
        self._edit_lock = threading.Lock()
        self.committed: list[str] = []  # "applyEdits: 3 adds, 0 deletes", in order

    # setting up ---------------------------------------------------------------------------------

    def add_layer(
        self,
        service: str = "Lots",
        layer_id: int = 0,
        *,
        fields: Sequence[Mapping[str, Any]],
        features: Sequence[Mapping[str, Any]] = (),
        geometry_type: str = "esriGeometryPoint",
        spatial_reference: Mapping[str, Any] | None = None,
        max_record_count: int = 2000,
    ) -> EditableLayer:
        """A layer with an OBJECTID field and `fields`; features (Esri JSON) get ids 1..n."""
        layer = EditableLayer(
            service=service,
            layer_id=layer_id,
            name=service.replace("_", " "),
            geometry_type=geometry_type,
            spatial_reference=dict(spatial_reference or WEB_MERCATOR),
            fields=[_esri_field("OBJECTID", "esriFieldTypeOID"), *map(dict, fields)],
            features={},
            next_oid=1,
            last_edit_date=DEFAULT_EDIT_MS,
            max_record_count=max_record_count,
        )
        for feature in features:
            _store(layer, feature)
        with self._lock:
            self._layers[(service, layer_id)] = layer
        return layer

    def fail_adds(self, failure: AddFailure) -> None:
        """Adds for which `failure(feature)` gives a text fail with that description."""
        self._add_failures.append(failure)

    def lose_answers(self, operation: str, times: int = 1, after: int = 0) -> None:
        """Apply the `operation` (applyEdits, addFeatures...) requests after `after`, `times`
        of them, then answer 502 as if the answer were lost."""
        self._lost[operation] = _LostAnswers(times, after)

    def layer(self, service: str = "Lots", layer_id: int = 0) -> EditableLayer:
        return self._layers[(service, layer_id)]

    def features(self, service: str = "Lots", layer_id: int = 0) -> list[dict[str, Any]]:
        """The layer's features in object id order, each with its OBJECTID attribute."""
        layer = self.layer(service, layer_id)
        with self._edit_lock:
            return [copy.deepcopy(layer.features[oid]) for oid in sorted(layer.features)]

    def layer_url(self, service: str = "Lots", layer_id: int = 0) -> str:
        return self.url(f"{self.prefix}/{service}/FeatureServer/{layer_id}")

    # routing ----------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Response:
        admin = request.path.startswith(self.admin_prefix + "/")
        base = self.admin_prefix if admin else self.prefix
        match = re.fullmatch(
            re.escape(base) + r"/([^/]+)/FeatureServer/(\d+)(?:/(\w+))?/?", request.path
        )
        if match is None:
            return text_response(404, f"Not Found: {request.path}\n")
        layer = self._layers.get((match.group(1), int(match.group(2))))
        operation = match.group(3) or ""
        try:
            self._check_token(request.query)
            if layer is None:
                raise _Error(400, "Invalid URL", ["Invalid URL"])
            answer = self._operate(layer, operation, request, admin)
        except _Error as error:
            return json_response(error.document)
        lost = self._lost.get(operation)
        if lost is not None and lost.fires():
            return text_response(502, "Bad Gateway\n")
        return json_response(answer)

    def _check_token(self, query: Mapping[str, str]) -> None:
        given = query.get("token", "")
        if not given:
            raise _Error(499, "Token Required")
        if given != self.token:
            raise _Error(498, "Invalid Token")

    def _operate(
        self, layer: EditableLayer, operation: str, request: RecordedRequest, admin: bool
    ) -> dict[str, Any]:
        query = request.query
        if admin:
            if operation != "addToDefinition":
                raise _Error(400, "Invalid URL", ["Invalid URL"])
            return self._add_to_definition(layer, query)
        if request.method != "POST" and operation in {
            "addFeatures",
            "deleteFeatures",
            "applyEdits",
        }:
            raise _Error(405, "This operation is only supported via POST.")
        with self._edit_lock:
            if operation == "":
                return layer.info()
            if operation == "query":
                return _query(layer, query)
            if operation == "addFeatures":
                adds = _json_list(query, "features")
                return {"addResults": self._adds(layer, adds, _rollback(query))}
            if operation == "deleteFeatures":
                ids = _delete_ids(layer, query)
                return {"deleteResults": self._deletes(layer, ids, _rollback(query))}
            if operation == "applyEdits":
                return self._apply_edits(layer, query)
        raise _Error(400, "Invalid URL", ["Invalid URL"])

    # edits ------------------------------------------------------------------------------------

    def _apply_edits(self, layer: EditableLayer, query: Mapping[str, str]) -> dict[str, Any]:
        rollback = _rollback(query)
        adds = _json_list(query, "adds") if query.get("adds") else []
        deletes = _id_list(query.get("deletes", ""))
        add_errors = [self._add_error(layer, feature) for feature in adds]
        delete_errors = [None if oid in layer.features else "Object is missing." for oid in deletes]
        failed = any(add_errors) or any(delete_errors)
        if failed and rollback:
            return {
                "addResults": _rolled_back(add_errors),
                "updateResults": [],
                "deleteResults": _rolled_back(delete_errors, deletes),
            }
        add_results = [
            _failure(error) if error else _success(_store(layer, feature))
            for feature, error in zip(adds, add_errors, strict=True)
        ]
        delete_results = []
        for oid, error in zip(deletes, delete_errors, strict=True):
            if error is None:
                del layer.features[oid]
            delete_results.append(_failure(error, oid) if error else _success(oid))
        self._committed(layer, f"applyEdits: {len(adds)} adds, {len(deletes)} deletes")
        return {"addResults": add_results, "updateResults": [], "deleteResults": delete_results}

    def _adds(
        self, layer: EditableLayer, adds: list[dict[str, Any]], rollback: bool
    ) -> list[dict[str, Any]]:
        errors = [self._add_error(layer, feature) for feature in adds]
        if any(errors) and rollback:
            return _rolled_back(errors)
        results = [
            _failure(error) if error else _success(_store(layer, feature))
            for feature, error in zip(adds, errors, strict=True)
        ]
        self._committed(layer, f"addFeatures: {len(adds)} adds")
        return results

    def _deletes(
        self, layer: EditableLayer, ids: list[int], rollback: bool
    ) -> list[dict[str, Any]]:
        for oid in ids:
            del layer.features[oid]
        self._committed(layer, f"deleteFeatures: {len(ids)} deletes")
        return [_success(oid) for oid in ids]

    def _committed(self, layer: EditableLayer, what: str) -> None:
        layer.last_edit_date += EDIT_STEP_MS
        self.committed.append(what)

    def _add_error(self, layer: EditableLayer, feature: Mapping[str, Any]) -> str | None:
        for failure in self._add_failures:
            why = failure(feature)
            if why:
                return why
        for name, value in (feature.get("attributes") or {}).items():
            why = _attribute_error(layer, name, value)
            if why:
                return why
        return _geometry_error(layer, feature.get("geometry"))

    def _add_to_definition(self, layer: EditableLayer, query: Mapping[str, str]) -> dict[str, Any]:
        try:
            definition = json.loads(query.get("addToDefinition", ""))
        except ValueError:
            raise _Error(400, "Invalid definition", ["'addToDefinition' is not JSON"]) from None
        new = list(definition.get("fields") or [])
        with self._edit_lock:
            taken = [f["name"] for f in new if layer.field_named(f["name"]) is not None]
            if taken:
                raise _Error(
                    400,
                    "Unable to add feature service layer definition.",
                    [f"Field '{name}' already exists." for name in taken],
                )
            layer.fields.extend(copy.deepcopy(new))
            layer.added_fields.extend(copy.deepcopy(new))
            layer.last_edit_date += EDIT_STEP_MS
        return {"success": True}


# helpers ------------------------------------------------------------------------------------


def _store(layer: EditableLayer, feature: Mapping[str, Any]) -> int:
    oid = layer.next_oid
    layer.next_oid += 1
    attributes = {
        name: value
        for name, value in (feature.get("attributes") or {}).items()
        if name.lower() != layer.object_id_field.lower()
    }
    stored = {"attributes": {layer.object_id_field: oid, **attributes}}
    if feature.get("geometry") is not None:
        stored["geometry"] = copy.deepcopy(dict(feature["geometry"]))
    layer.features[oid] = stored
    return oid


def _success(oid: int) -> dict[str, Any]:
    return {"objectId": oid, "uniqueId": oid, "globalId": None, "success": True}


def _failure(description: str, oid: int | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"objectId": oid, "globalId": None, "success": False}
    result["error"] = {"code": 1000, "description": description}
    return result


def _rolled_back(
    errors: Sequence[str | None], ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Every edit failed: the refused with their reason, the rest rolled back with them."""
    results = []
    for index, error in enumerate(errors):
        oid = ids[index] if ids is not None else None
        result: dict[str, Any] = {"objectId": oid, "globalId": None, "success": False}
        result["error"] = {"code": 1000, "description": error} if error else dict(ROLLED_BACK)
        results.append(result)
    return results


def _rollback(query: Mapping[str, str]) -> bool:
    return query.get("rollbackOnFailure", "true").strip().lower() != "false"


def _json_list(query: Mapping[str, str], name: str) -> list[dict[str, Any]]:
    try:
        found = json.loads(query.get(name, ""))
    except ValueError:
        raise _Error(400, "Unable to complete operation.", [f"'{name}' is not JSON"]) from None
    if not isinstance(found, list):
        raise _Error(400, "Unable to complete operation.", [f"'{name}' is not a list"])
    return found


def _id_list(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise _Error(400, "Unable to complete operation.", ["invalid object ids"]) from None


def _delete_ids(layer: EditableLayer, query: Mapping[str, str]) -> list[int]:
    where = query.get("where", "").strip()
    if re.fullmatch(r"1\s*=\s*1", where):
        return sorted(layer.features)
    if where:
        raise _Error(400, "Unable to complete operation.", ["only where=1=1 is supported here"])
    return [oid for oid in _id_list(query.get("objectIds", "")) if oid in layer.features]


def _attribute_error(layer: EditableLayer, name: str, value: Any) -> str | None:
    found = layer.field_named(name)
    if found is None:
        return f"Invalid column name '{name}'."
    if value is None or found["type"] == "esriFieldTypeOID":
        return None
    kind = found["type"]
    if kind in INTEGER_TYPES | {"esriFieldTypeDate"}:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and kind == "esriFieldTypeInteger":
            ok = -(2**31) <= value < 2**31
    elif kind in DOUBLE_TYPES:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "esriFieldTypeString":
        ok = isinstance(value, str) and len(value) <= int(found.get("length") or 256)
    elif kind == "esriFieldTypeDateOnly":
        ok = isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
    else:
        ok = True
    return None if ok else f"Setting of value for {found['name']} failed."


def _geometry_error(layer: EditableLayer, geometry: Mapping[str, Any] | None) -> str | None:
    if geometry is None:
        return None
    keys = GEOMETRY_KEYS[layer.geometry_type]
    if not all(key in geometry for key in keys) or set(geometry) - {*keys, "spatialReference"}:
        return "Geometry type does not match the layer's."
    return None


def _query(layer: EditableLayer, query: Mapping[str, str]) -> dict[str, Any]:
    if not re.fullmatch(r"1\s*=\s*1", query.get("where", "").strip()):
        raise _Error(400, "Cannot perform query. Invalid query parameters.", ["'where'"])
    ids = sorted(layer.features)
    if query.get("returnCountOnly", "").lower() == "true":
        return {"count": len(ids)}
    if query.get("returnIdsOnly", "").lower() == "true":
        # ArcGIS answers null, not [], for no features
        return {"objectIdFieldName": layer.object_id_field, "objectIds": ids or None}
    offset = int(query.get("resultOffset") or 0)
    size = min(
        int(query.get("resultRecordCount") or layer.max_record_count), layer.max_record_count
    )
    page = ids[offset : offset + size]
    document: dict[str, Any] = {
        "objectIdFieldName": layer.object_id_field,
        "geometryType": layer.geometry_type,
        "spatialReference": dict(layer.spatial_reference),
        "fields": copy.deepcopy(layer.fields),
        "features": [copy.deepcopy(layer.features[oid]) for oid in page],
    }
    if offset + len(page) < len(ids):
        document["exceededTransferLimit"] = True
    return document
