"""A fake ArcGIS REST FeatureServer: service and layer metadata, paged /query in Esri JSON and
GeoJSON."""

from __future__ import annotations

import copy
import hashlib
import html
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import LocalServer, RecordedRequest, Response, json_response, text_response
from tests.fakes.socrata import _property_key

ARCGIS_PREFIX = "/arcgis/rest/services"
DEFAULT_EDIT_MS = 1722957831575  # the real layer's dataLastEditDate (2024-08-06)
GEOJSON_TYPE = "application/geo+json; charset=utf-8"
WEB_MERCATOR = {"wkid": 102100, "latestWkid": 3857}
GEOMETRY_TYPES = {
    "Point": "esriGeometryPoint",
    "MultiPoint": "esriGeometryMultipoint",
    "LineString": "esriGeometryPolyline",
    "MultiLineString": "esriGeometryPolyline",
    "Polygon": "esriGeometryPolygon",
    "MultiPolygon": "esriGeometryPolygon",
}
_WHERE_TERM = re.compile(r"\s*(\w+)\s*(>=|<=|<>|!=|=|>|<)\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*")


@dataclass
class ArcGISLayer:
    service: str
    layer_id: int
    name: str
    features: list[dict[str, Any]]  # GeoJSON features, OBJECTID in properties and as "id"
    fields: list[dict[str, Any]]
    max_record_count: int
    data_last_edit_date: int  # epoch milliseconds
    schema_last_edit_date: int
    geometry_type: str
    object_id_field: str = "OBJECTID"
    template: dict[str, Any] = field(default_factory=dict)  # extra layer-metadata keys


class _ArcGISError(Exception):
    def __init__(self, code: int, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, list(details)

    def response(self) -> Response:
        error = {"code": self.code, "message": self.message, "details": self.details}
        return json_response({"error": error})  # HTTP 200, like the real servers


def _invalid_query(parameter: str) -> _ArcGISError:
    return _ArcGISError(
        400,
        "Cannot perform query. Invalid query parameters.",
        [f"'{parameter}' parameter is invalid"],
    )


class ArcGISServer(LocalServer):
    """ArcGIS REST FeatureServer endpoints: {prefix}/{service}/FeatureServer[/{layer}[/query]]."""

    def __init__(self, port: int = 0, *, prefix: str = ARCGIS_PREFIX) -> None:
        super().__init__(port)
        self.prefix = prefix.rstrip("/")
        self._layers: dict[tuple[str, int], ArcGISLayer] = {}
        self._service_templates: dict[str, dict[str, Any]] = {}

    # registration -------------------------------------------------------------------------------

    def add_layer(
        self,
        service: str = "Test_Service",
        layer_id: int = 0,
        features: Iterable[Mapping[str, Any]] = (),
        fields: Sequence[Mapping[str, Any]] | None = None,
        *,
        max_record_count: int = 2000,
        data_last_edit_date: int = DEFAULT_EDIT_MS,
        schema_last_edit_date: int | None = None,
        name: str | None = None,
        geometry_type: str | None = None,
        object_id_field: str = "OBJECTID",
        layer_metadata: Mapping[str, Any] | None = None,
        service_metadata: Mapping[str, Any] | None = None,
    ) -> ArcGISLayer:
        """Register a layer. Features get OBJECTID 1..n unless they carry one; fields are
        inferred from the properties when not given; *_metadata are templates (e.g. the real
        JSON) whose keys fill in everything this call does not set."""
        normalized = _normalize_features(features, object_id_field)
        layer = ArcGISLayer(
            service=service,
            layer_id=layer_id,
            name=name or f"{service.replace('_', ' ')} {layer_id}",
            features=normalized,
            fields=[dict(f) for f in fields]
            if fields
            else _infer_fields(normalized, object_id_field),
            max_record_count=max_record_count,
            data_last_edit_date=int(data_last_edit_date),
            schema_last_edit_date=int(schema_last_edit_date or data_last_edit_date),
            geometry_type=geometry_type or _geometry_type(normalized),
            object_id_field=object_id_field,
            template=copy.deepcopy(dict(layer_metadata or {})),
        )
        with self._lock:
            self._layers[(service, layer_id)] = layer
            if service_metadata is not None:
                self._service_templates[service] = copy.deepcopy(dict(service_metadata))
        return layer

    def set_features(
        self,
        service: str,
        layer_id: int,
        features: Iterable[Mapping[str, Any]],
        data_last_edit_date: int | None = None,
    ) -> None:
        """Replace a layer's features (an upstream edit); bumps dataLastEditDate if given."""
        with self._lock:
            layer = self._layers[(service, layer_id)]
            layer.features = _normalize_features(features, layer.object_id_field)
            if data_last_edit_date is not None:
                layer.data_last_edit_date = int(data_last_edit_date)

    def layer(self, service: str, layer_id: int) -> ArcGISLayer:
        with self._lock:
            return self._layers[(service, layer_id)]

    # paths and URLs -----------------------------------------------------------------------------

    def service_path(self, service: str) -> str:
        return f"{self.prefix}/{service}/FeatureServer"

    def layer_path(self, service: str, layer_id: int) -> str:
        return f"{self.service_path(service)}/{layer_id}"

    def query_path(self, service: str, layer_id: int) -> str:
        return f"{self.layer_path(service, layer_id)}/query"

    def service_url(self, service: str) -> str:
        return self.url(self.service_path(service))

    def layer_url(self, service: str, layer_id: int) -> str:
        """The layer URL an ArcGIS source is configured with (no query string)."""
        return self.url(self.layer_path(service, layer_id))

    def query_url(self, service: str, layer_id: int) -> str:
        return self.url(self.query_path(service, layer_id))

    # routing ------------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Response:
        path = request.path.rstrip("/")
        if path == self.prefix:
            return self._catalog(request.query)
        if not path.startswith(self.prefix + "/"):
            return text_response(404, f"Not Found: {request.path}\n")
        parts = path[len(self.prefix) + 1 :].split("/")
        try:
            return self._route_service(parts, request.query)
        except _ArcGISError as error:
            return error.response()

    def _route_service(self, parts: list[str], query: Mapping[str, str]) -> Response:
        if len(parts) < 2 or parts[1] != "FeatureServer" or len(parts) > 4:
            raise _ArcGISError(400, "Invalid URL", ["Invalid URL"])
        service = parts[0]
        with self._lock:
            layers = sorted(
                (layer for (name, _), layer in self._layers.items() if name == service),
                key=lambda layer: layer.layer_id,
            )
        if not layers:
            raise _ArcGISError(400, "Invalid URL", ["Invalid URL"])
        if len(parts) == 2:
            return self._document(query, lambda: self.service_metadata(service), service)
        layer = next((lyr for lyr in layers if str(lyr.layer_id) == parts[2]), None)
        if layer is None:
            raise _ArcGISError(400, "Invalid URL", ["Invalid URL"])
        if len(parts) == 3:
            return self._document(query, lambda: self.layer_metadata(layer), layer.name)
        if parts[3] != "query":
            raise _ArcGISError(400, "Invalid URL", ["Invalid URL"])
        return _query(layer, query)

    def _document(
        self, query: Mapping[str, str], build: Callable[[], dict[str, Any]], title: str
    ) -> Response:
        fmt = query.get("f", "html").lower()
        if fmt == "html":
            return _html_page(title)
        if fmt not in ("json", "pjson"):
            raise _ArcGISError(400, "Invalid format", ["'f' parameter is invalid"])
        return json_response(build())

    def _catalog(self, query: Mapping[str, str]) -> Response:
        with self._lock:
            services = sorted({service for service, _ in self._layers})
        document = {
            "currentVersion": 11.2,
            "folders": [],
            "services": [
                {"name": s, "type": "FeatureServer", "url": self.service_url(s)} for s in services
            ],
        }
        return self._document(query, lambda: document, "Services")

    def service_metadata(self, service: str) -> dict[str, Any]:
        """The {service}/FeatureServer?f=json document, shaped like the real one."""
        with self._lock:
            layers = sorted(
                (lyr for (name, _), lyr in self._layers.items() if name == service),
                key=lambda lyr: lyr.layer_id,
            )
            template = copy.deepcopy(self._service_templates.get(service, {}))
        extent = _extent([f for lyr in layers for f in lyr.features])
        document: dict[str, Any] = {
            "currentVersion": 11.2,
            "serviceItemId": _item_id(service),
            "serviceDescription": f"{service}, served by the lakehouse test server.",
            "hasVersionedData": False,
            "supportsDisconnectedEditing": False,
            "hasStaticData": False,
            "supportedQueryFormats": "JSON",
            "capabilities": "Query",
            "description": "",
            "copyrightText": "",
            "spatialReference": dict(WEB_MERCATOR),
            "initialExtent": extent,
            "fullExtent": extent,
            "allowGeometryUpdates": True,
            "units": "esriMeters",
            "syncEnabled": False,
            "tables": [],
        }
        document.update(template)
        document["maxRecordCount"] = max(lyr.max_record_count for lyr in layers)
        document["layers"] = [
            {
                "id": lyr.layer_id,
                "name": lyr.name,
                "parentLayerId": -1,
                "defaultVisibility": True,
                "subLayerIds": None,
                "minScale": 0,
                "maxScale": 0,
                "type": "Feature Layer",
                "geometryType": lyr.geometry_type,
            }
            for lyr in layers
        ]
        return document

    def layer_metadata(self, layer: ArcGISLayer) -> dict[str, Any]:
        """The {service}/FeatureServer/{layer}?f=json document, shaped like the real one."""
        oid = layer.object_id_field
        document: dict[str, Any] = {
            "currentVersion": 11.2,
            "type": "Feature Layer",
            "serviceItemId": _item_id(layer.service),
            "cacheMaxAge": 30,
            "displayField": _display_field(layer.fields, oid),
            "description": "",
            "copyrightText": "",
            "defaultVisibility": True,
            "relationships": [],
            "isDataVersioned": False,
            "supportsAppend": True,
            "supportsStatistics": True,
            "supportsAdvancedQueries": True,
            "supportsCoordinatesQuantization": True,
            "advancedQueryCapabilities": {
                "supportsPagination": True,
                "supportsOrderBy": True,
                "supportsDistinct": True,
                "supportsQueryWithResultType": True,
                "supportsReturningQueryExtent": True,
                "supportsStatistics": True,
                "supportsMaxRecordCountFactor": True,
            },
            "useStandardizedQueries": True,
            "minScale": 0,
            "maxScale": 0,
            "extent": _extent(layer.features),
            "drawingInfo": {"renderer": {"type": "simple"}, "transparency": 0},
            "allowGeometryUpdates": True,
            "hasAttachments": False,
            "htmlPopupType": "esriServerHTMLPopupTypeAsHTMLText",
            "hasMetadata": True,
            "hasM": False,
            "hasZ": False,
            "globalIdField": "",
            "typeIdField": "",
            "indexes": [],
            "dateFieldsTimeReference": {"timeZone": "UTC", "respectsDaylightSaving": False},
            "preferredTimeReference": None,
            "types": [],
            "templates": [],
            "supportedQueryFormats": "JSON, geoJSON, PBF",
            "supportedExportFormats": "csv,shapefile,geojson",
            "hasStaticData": False,
            "standardMaxRecordCount": 4000,
            "standardMaxRecordCountNoGeometry": 32000,
            "tileMaxRecordCount": 4000,
            "maxRecordCountFactor": 1,
            "capabilities": "Query",
        }
        document.update(copy.deepcopy(layer.template))
        document.update(
            id=layer.layer_id,
            name=layer.name,
            geometryType=layer.geometry_type,
            editingInfo={
                "lastEditDate": max(layer.data_last_edit_date, layer.schema_last_edit_date),
                "schemaLastEditDate": layer.schema_last_edit_date,
                "dataLastEditDate": layer.data_last_edit_date,
            },
            objectIdField=oid,
            uniqueIdField={"name": oid, "isSystemMaintained": True},
            fields=copy.deepcopy(layer.fields),
            maxRecordCount=layer.max_record_count,
        )
        return document


def _item_id(service: str) -> str:
    return hashlib.md5(service.encode()).hexdigest()


def _html_page(title: str) -> Response:
    page = (
        f"<html><head><title>{html.escape(title)} (ArcGIS REST Services Directory)</title>"
        f"</head><body><h2>{html.escape(title)}</h2></body></html>"
    )
    return text_response(200, page, "text/html; charset=utf-8")


def _display_field(fields: Sequence[Mapping[str, Any]], oid: str) -> str:
    strings = [f["name"] for f in fields if f.get("type") == "esriFieldTypeString"]
    return str(strings[0]) if strings else oid


def _normalize_features(
    features: Iterable[Mapping[str, Any]], object_id_field: str
) -> list[dict[str, Any]]:
    """Deep copies with OBJECTID (1..n unless present) in properties and as the feature id."""
    result: list[dict[str, Any]] = []
    for number, feature in enumerate(features, start=1):
        copied = copy.deepcopy(dict(feature))
        properties = dict(copied.get("properties") or {})
        oid = properties.get(object_id_field)
        if oid is None:
            oid = number
            properties = {**properties, object_id_field: oid}
        result.append(
            {
                "type": "Feature",
                "id": oid,
                "geometry": copied.get("geometry"),
                "properties": properties,
            }
        )
    return result


def _esri_field(name: str, field_type: str, length: int | None = None) -> dict[str, Any]:
    """A field definition shaped like the real layer's `fields` entries."""
    is_oid = field_type == "esriFieldTypeOID"
    document: dict[str, Any] = {
        "name": name,
        "type": field_type,
        "alias": name,
        "sqlType": "sqlTypeDouble" if field_type == "esriFieldTypeDouble" else "sqlTypeOther",
    }
    if length is not None:
        document["length"] = length
    document.update(nullable=not is_oid, editable=not is_oid, domain=None, defaultValue=None)
    return document


def _infer_fields(features: Sequence[Mapping[str, Any]], oid: str) -> list[dict[str, Any]]:
    """Esri field definitions from the property values (int, float, str, bool, null)."""
    values: dict[str, list[Any]] = {}
    for feature in features:
        for key, value in feature["properties"].items():
            values.setdefault(key, [])
            if value is not None:
                values[key].append(value)
    fields = [_esri_field(oid, "esriFieldTypeOID")]
    for key, seen in values.items():
        if key == oid:
            continue
        if seen and all(isinstance(v, bool) for v in seen):
            fields.append(_esri_field(key, "esriFieldTypeSmallInteger"))
        elif seen and all(isinstance(v, int) and not isinstance(v, bool) for v in seen):
            fields.append(_esri_field(key, "esriFieldTypeInteger"))
        elif seen and all(isinstance(v, int | float) for v in seen):
            fields.append(_esri_field(key, "esriFieldTypeDouble"))
        else:
            longest = max((len(str(v)) for v in seen), default=1)
            fields.append(_esri_field(key, "esriFieldTypeString", length=max(256, longest)))
    return fields


def _geometry_type(features: Sequence[Mapping[str, Any]]) -> str:
    for feature in features:
        geometry = feature.get("geometry")
        if geometry:
            return GEOMETRY_TYPES.get(geometry.get("type"), "esriGeometryPoint")
    return "esriGeometryPoint"


def _positions(coordinates: Any) -> Iterable[tuple[float, float]]:
    if coordinates and isinstance(coordinates[0], int | float):
        yield float(coordinates[0]), float(coordinates[1])
        return
    for part in coordinates or ():
        yield from _positions(part)


def _to_web_mercator(lon: float, lat: float) -> tuple[float, float]:
    radius = 6378137.0
    x = math.radians(lon) * radius
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * radius
    return x, y


def _extent(features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Bounding box of the features in Web Mercator, like the real layers report it."""
    points = [
        _to_web_mercator(lon, lat)
        for feature in features
        if feature.get("geometry")
        for lon, lat in _positions(feature["geometry"].get("coordinates"))
    ]
    if not points:
        points = [_to_web_mercator(-74.26, 40.49), _to_web_mercator(-73.69, 40.92)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return {
        "xmin": min(xs),
        "ymin": min(ys),
        "xmax": max(xs),
        "ymax": max(ys),
        "spatialReference": dict(WEB_MERCATOR),
    }


def _field_lookup(layer: ArcGISLayer) -> dict[str, str]:
    """Lower-case name → real name (ArcGIS field names are case-insensitive)."""
    names = {str(f["name"]).lower(): str(f["name"]) for f in layer.fields}
    names.setdefault(layer.object_id_field.lower(), layer.object_id_field)
    return names


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _query(layer: ArcGISLayer, query: Mapping[str, str]) -> Response:
    fmt = query.get("f", "html").lower()
    if fmt == "html":
        return _html_page(f"Query: {layer.name}")
    if fmt not in ("json", "pjson", "geojson"):
        raise _ArcGISError(400, "Invalid format", ["'f' parameter is invalid"])
    lookup = _field_lookup(layer)
    matched = _filter_features(layer, query, lookup)
    if _truthy(query.get("returnCountOnly")):
        return json_response({"count": len(matched)})
    matched = _order_features(matched, query.get("orderByFields", ""), lookup, layer)
    if _truthy(query.get("returnIdsOnly")):
        ids = [f["properties"][layer.object_id_field] for f in matched]
        return json_response({"objectIdFieldName": layer.object_id_field, "objectIds": ids})
    offset = _query_int(query, "resultOffset", 0)
    requested = _query_int(query, "resultRecordCount", layer.max_record_count)
    size = min(requested or layer.max_record_count, layer.max_record_count)
    page = matched[offset : offset + size]
    exceeded = offset + len(page) < len(matched)
    out_fields = _out_fields(query.get("outFields", "*"), lookup)
    with_geometry = query.get("returnGeometry", "true").strip().lower() != "false"
    selected = [_select(feature, out_fields, with_geometry) for feature in page]
    if fmt == "geojson":
        collection: dict[str, Any] = {"type": "FeatureCollection", "features": selected}
        if exceeded:
            collection["exceededTransferLimit"] = True
            collection["properties"] = {"exceededTransferLimit": True}
        return Response(200, json.dumps(collection).encode(), GEOJSON_TYPE)
    return json_response(_esri_json(layer, selected, out_fields, exceeded))


def _query_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid_query(name) from None
    if value < 0:
        raise _invalid_query(name)
    return value


def _filter_features(
    layer: ArcGISLayer, query: Mapping[str, str], lookup: Mapping[str, str]
) -> list[dict[str, Any]]:
    where = query.get("where", "").strip()
    object_ids = query.get("objectIds", "").strip()
    if not where and not object_ids:
        raise _ArcGISError(400, "Invalid or missing input parameters.", [])
    features = list(layer.features)
    if object_ids:
        try:
            wanted = {int(part) for part in object_ids.split(",") if part.strip()}
        except ValueError:
            raise _invalid_query("objectIds") from None
        features = [f for f in features if f["properties"][layer.object_id_field] in wanted]
    if where and not re.fullmatch(r"\s*1\s*=\s*1\s*", where):
        terms = [
            _parse_where_term(term, lookup) for term in re.split(r"\s+and\s+", where, flags=re.I)
        ]
        features = [f for f in features if all(_matches(f, term) for term in terms)]
    return features


def _parse_where_term(term: str, lookup: Mapping[str, str]) -> tuple[str, str, Any]:
    match = _WHERE_TERM.fullmatch(term)
    if match is None or match.group(1).lower() not in lookup:
        raise _invalid_query("where")
    name, operator, literal = match.groups()
    value: Any = literal[1:-1].replace("''", "'") if literal.startswith("'") else float(literal)
    return lookup[name.lower()], operator, value


def _matches(feature: Mapping[str, Any], term: tuple[str, str, Any]) -> bool:
    name, operator, value = term
    actual = feature["properties"].get(name)
    if actual is None:
        return False
    if isinstance(value, float):
        try:
            actual = float(actual)
        except (TypeError, ValueError):
            return False
    else:
        actual = str(actual)
    if operator == "=":
        return bool(actual == value)
    if operator in ("<>", "!="):
        return bool(actual != value)
    if operator == ">":
        return bool(actual > value)
    if operator == ">=":
        return bool(actual >= value)
    if operator == "<":
        return bool(actual < value)
    return bool(actual <= value)


def _order_features(
    features: list[dict[str, Any]], order_by: str, lookup: Mapping[str, str], layer: ArcGISLayer
) -> list[dict[str, Any]]:
    terms = [t.strip() for t in order_by.split(",") if t.strip()] or [layer.object_id_field]
    ordered = list(features)
    for term in reversed(terms):
        name, _, direction = term.partition(" ")
        direction = direction.strip().upper()
        if name.lower() not in lookup or direction not in ("", "ASC", "DESC"):
            raise _invalid_query("orderByFields")
        real = lookup[name.lower()]
        ordered.sort(key=_property_key(real), reverse=direction == "DESC")
    return ordered


def _out_fields(raw: str, lookup: Mapping[str, str]) -> list[str] | None:
    """Real field names to return; None = all ("*")."""
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names or "*" in names:
        return None
    if any(name.lower() not in lookup for name in names):
        raise _invalid_query("outFields")
    return [lookup[name.lower()] for name in names]


def _select(
    feature: Mapping[str, Any], out_fields: list[str] | None, with_geometry: bool
) -> dict[str, Any]:
    properties = feature["properties"]
    if out_fields is not None:
        properties = {name: properties.get(name) for name in out_fields}
    return {
        "type": "Feature",
        "id": feature["id"],
        "geometry": copy.deepcopy(feature["geometry"]) if with_geometry else None,
        "properties": dict(properties),
    }


def _esri_geometry(geometry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """GeoJSON geometry → Esri JSON geometry (rings clockwise, as Esri wants)."""
    if not geometry:
        return None
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        return {"x": coordinates[0], "y": coordinates[1]}
    if kind == "MultiPoint":
        return {"points": coordinates}
    if kind == "LineString":
        return {"paths": [coordinates]}
    if kind == "MultiLineString":
        return {"paths": coordinates}
    polygons = [coordinates] if kind == "Polygon" else coordinates
    return {"rings": [list(reversed(ring)) for polygon in polygons for ring in polygon]}


def _esri_json(
    layer: ArcGISLayer,
    features: Sequence[Mapping[str, Any]],
    out_fields: list[str] | None,
    exceeded: bool,
) -> dict[str, Any]:
    fields = [f for f in layer.fields if out_fields is None or f["name"] in out_fields]
    document: dict[str, Any] = {
        "objectIdFieldName": layer.object_id_field,
        "uniqueIdField": {"name": layer.object_id_field, "isSystemMaintained": True},
        "globalIdFieldName": "",
        "geometryType": layer.geometry_type,
        "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        "fields": copy.deepcopy(fields),
        "features": [
            {"attributes": f["properties"], "geometry": _esri_geometry(f["geometry"])}
            for f in features
        ],
    }
    if exceeded:
        document["exceededTransferLimit"] = True
    return document
