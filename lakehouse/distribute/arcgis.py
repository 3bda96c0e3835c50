"""An ArcGIS hosted feature layer as a destination: its features replaced by the version's.

    - name: gis_layer
      type: arcgis
      layer_url: https://services.arcgis.com/ORG/arcgis/rest/services/Lots/FeatureServer/0
      token_env: ARCGIS_TOKEN     # the default; sent as the `token` form field, never in a URL
      batch_size: 1000            # features per applyEdits request
      missing_fields: add         # or `refuse`
      timeout_seconds: 120        # per request; retries: 3, backoff_seconds: 1 (doubling)

Geometry products only. Each delivered column must have a field on the layer (names matched
case-insensitively, Esri field types compatible with the dictionary's type). A missing field is
added through the layer's admin `addToDefinition` (alias = the dictionary's display name, and
its description), because adding an empty, nullable field changes nothing a reader already
uses (fields added stay when the replace then fails: they are empty and harmless); the admin
URL is the layer's with `/rest/services/` read as `/rest/admin/services/`, as on ArcGIS
Online. `missing_fields: refuse` lists them instead. A field of an incompatible type is always
refused: changing it would mean dropping the field and its values.

How the replace stays recoverable. Deleting everything and then adding in batches leaves, at
any failure, a layer holding part of the new version, which looks complete to its readers. So:

1. every check (geometry types, field types, the CRS) is made before anything is written;
2. the object ids the layer holds are noted; the new features are added in batches, each one
   `applyEdits` with `rollbackOnFailure=true` (a batch goes in whole or not at all);
3. when a batch fails, every feature that appeared since step 2 is deleted again: the layer
   holds its old features, unchanged, and the error names the batch, its failed count and the
   server's first error descriptions;
4. only when every batch went in are all other features deleted (everything but the ids the
   batches returned), in batches, and the layer is checked to hold just the new features.

Deleting by "all but what was added" rather than by the noted old ids also removes features a
retried batch left behind when the server applied it but its answer was lost (a 5xx after the
commit, a timeout), so retrying an edit never duplicates features. While a replace runs,
readers see the old features plus the new ones coming in (never a smaller layer that passes
for the whole); features someone else adds during the run are replaced too. If a clean-up
itself fails, the error says what the layer holds and gives the command that finishes the job
(running it again always converges on exactly the version's features).

Requests are POSTs with the token in the form body; 5xx and 429 answers and lost connections
are retried (Retry-After honoured, bounded), an ArcGIS token error (498/499, HTTP 401/403) is
not: the message names the environment variable to check. No URL printed or recorded has a
token, and server text is scrubbed of it.

Geometry: read from WKB with shapely, reprojected with pyproj to the layer's spatial reference
when the delivery's CRS differs, written as Esri JSON (polygon outer rings clockwise). Dates
and datetimes go as epoch milliseconds (a DateOnly field gets YYYY-MM-DD), booleans as 0/1.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import httpx
from pydantic import Field, field_validator

from lakehouse.distribute import DestinationType, Receipt
from lakehouse.distribute.delivery import DeliveredColumn, DeliveredTable, Delivery
from lakehouse.distribute.spec import DestinationSpec, secret
from lakehouse.errors import DistributeError
from lakehouse.progress import Progress
from lakehouse.redact import MASK, redact_url

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyproj

USER_AGENT = "lakehouse-distribute/0.1"
MAX_RETRY_AFTER_SECONDS = 60.0
TOKEN_ERRORS = frozenset({401, 403, 498, 499})
FIRST_ERRORS = 3  # server error descriptions quoted per failed batch
LAYER_URL = re.compile(r"^https?://[^/?#@\s]+/[^?#\s]*/FeatureServer/\d+$")
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
# layer fields the server fills in: never expected from the delivery
SYSTEM_TYPES = frozenset({"esriFieldTypeOID", "esriFieldTypeGlobalID", "esriFieldTypeGeometry"})
SYSTEM_NAMES = frozenset({"shape__area", "shape__length", "shape_area", "shape_length"})
# what each Esri geometry type takes (shapely type names)
ACCEPTED_GEOMETRIES = {
    "esriGeometryPoint": ("Point",),
    "esriGeometryMultipoint": ("Point", "MultiPoint"),
    "esriGeometryPolyline": ("LineString", "MultiLineString"),
    "esriGeometryPolygon": ("Polygon", "MultiPolygon"),
}


class ArcGISSpec(DestinationSpec):
    """A hosted feature layer whose features are replaced by the version's."""

    type: Literal["arcgis"]
    layer_url: str
    token_env: str = "ARCGIS_TOKEN"
    batch_size: int = Field(default=1000, ge=1, le=10_000)
    timeout_seconds: float = Field(default=120.0, gt=0)
    missing_fields: Literal["add", "refuse"] = "add"
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)

    @field_validator("layer_url")
    @classmethod
    def _a_layer(cls, url: str) -> str:
        url = url.rstrip("/")
        if not LAYER_URL.match(url):
            raise ValueError(
                "must be a feature layer URL ending in /FeatureServer/<layer number>, with no "
                "query string (the token comes from token_env)"
            )
        return url

    def where(self) -> str:
        return redact_url(self.layer_url)


# the layer ----------------------------------------------------------------------------------


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


# the service client -------------------------------------------------------------------------


class ServiceError(DistributeError):
    """A request to the layer failed; `reason` says why in a few words, for the message of
    the step it was part of."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _why(exc: DistributeError) -> str:
    return exc.reason if isinstance(exc, ServiceError) else str(exc).rstrip(".")


class _Transient(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class FeatureService:
    """The layer's REST operations, every one a POST with the token in its form body."""

    def __init__(self, spec: ArcGISSpec, token: str) -> None:
        self.spec = spec
        self.layer_url = spec.layer_url
        self.shown = redact_url(spec.layer_url)
        self._token = token
        timeout = httpx.Timeout(spec.timeout_seconds, connect=min(spec.timeout_seconds, 30.0))
        # no redirects: a POST carrying the token goes only where the spec says
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FeatureService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        """`text` without the token (server messages may echo what they were sent)."""
        return text.replace(self._token, MASK) if self._token else text

    # operations -----------------------------------------------------------------------------

    def layer(self) -> Layer:
        return Layer.from_info(self.call(self.layer_url, "read the layer", {}), self.shown)

    def count(self) -> int:
        found = self.call(
            f"{self.layer_url}/query",
            "count the features",
            {"where": "1=1", "returnCountOnly": "true"},
        )
        return int(found.get("count") or 0)

    def object_ids(self) -> set[int]:
        found = self.call(
            f"{self.layer_url}/query",
            "list the features",
            {"where": "1=1", "returnIdsOnly": "true"},
        )
        return {int(oid) for oid in found.get("objectIds") or []}

    def apply_edits(
        self, what: str, *, adds: Sequence[dict[str, Any]] = (), deletes: Sequence[int] = ()
    ) -> list[dict[str, Any]]:
        """The edit results of one all-or-nothing applyEdits (adds or deletes)."""
        form = {"rollbackOnFailure": "true"}
        if adds:
            form["adds"] = json.dumps(adds, separators=(",", ":"))
        if deletes:
            form["deletes"] = ",".join(str(oid) for oid in deletes)
        answer = self.call(f"{self.layer_url}/applyEdits", what, form)
        results = answer.get("addResults" if adds else "deleteResults")
        if not isinstance(results, list) or len(results) != len(adds or deletes):
            raise ServiceError(
                f"{self.shown} answered applyEdits ({what}) without a result for each edit; "
                "check the layer in ArcGIS and run the distribution again.",
                "its answer lacked a result for each edit",
            )
        return results

    def add_fields(self, fields: list[dict[str, Any]]) -> None:
        answer = self.call(
            _admin_url(self.layer_url, "addToDefinition"),
            "add fields",
            {"addToDefinition": json.dumps({"fields": fields})},
        )
        if answer.get("success") is not True:
            raise DistributeError(
                f"{self.shown} did not confirm adding the fields "
                f"{', '.join(f['name'] for f in fields)}; add them in ArcGIS or set "
                "missing_fields: refuse."
            )

    # requests -------------------------------------------------------------------------------

    def call(self, url: str, what: str, form: dict[str, str]) -> dict[str, Any]:
        """One operation's JSON answer, retrying what is worth retrying."""
        data = {**form, "f": "json", "token": self._token}
        attempts = self.spec.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._post(url, what, data)
            except _Transient as exc:
                if attempt == attempts:
                    reason = f"{exc} (tried {attempts} times)"
                    raise ServiceError(
                        f"Could not {what} at {self.shown}: {reason}; check that ArcGIS is up "
                        "and run the distribution again.",
                        reason,
                    ) from None
                pause = self.spec.backoff_seconds * 2 ** (attempt - 1)
                time.sleep(min(exc.wait, MAX_RETRY_AFTER_SECONDS) if exc.wait else pause)
        raise AssertionError("unreachable")

    def _post(self, url: str, what: str, data: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._client.post(url, data=data)
        except httpx.TimeoutException:
            raise _Transient(f"no answer within {self.spec.timeout_seconds:g} s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}", _retry_after(response))
        if status in TOKEN_ERRORS:
            raise self._token_error(what, f"HTTP {status}")
        if status >= 300:
            raise ServiceError(
                f"{self.shown} answered HTTP {status} when asked to {what}; check layer_url "
                "(it must be the layer's own https address).",
                f"HTTP {status}",
            )
        return self._answer(response, what)

    def _answer(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            raise ServiceError(
                f"{self.shown} did not answer with JSON when asked to {what}; check layer_url.",
                "the answer was not JSON",
            ) from None
        if not isinstance(answer, dict):
            raise ServiceError(
                f"{self.shown} sent an unexpected answer when asked to {what}.",
                "the answer was not a JSON object",
            )
        error = answer.get("error")
        if isinstance(error, dict):
            code = int(error.get("code") or 0)
            message = self.scrub(_error_text(error))
            if code in TOKEN_ERRORS:
                raise self._token_error(what, f"{message}, code {code}")
            if code == 429 or code >= 500:
                raise _Transient(f"{message} (code {code})")
            raise ServiceError(f"ArcGIS could not {what} at {self.shown}: {message}.", message)
        return answer

    def _token_error(self, what: str, reason: str) -> ServiceError:
        variable = self.spec.token_env
        rights = "administer" if what == "add fields" else "edit"
        return ServiceError(
            f"ArcGIS refused the token in {variable} when asked to {what} ({reason}); set "
            f"{variable} to a current token of a user who may {rights} {self.shown} (it is read "
            "only from the environment).",
            f"ArcGIS refused the token in {variable} ({reason})",
        )


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return None


def _error_text(error: dict[str, Any]) -> str:
    message = str(error.get("message") or "an error").rstrip(".")
    details = [str(d).rstrip(".") for d in error.get("details") or [] if str(d).strip()]
    return f"{message} ({'; '.join(details)})" if details else message


def _admin_url(layer_url: str, operation: str) -> str:
    """The layer's admin operation: `/rest/services/` becomes `/rest/admin/services/`, as for
    hosted feature services."""
    head, found, tail = layer_url.partition("/rest/services/")
    if not found:
        raise DistributeError(
            f"{redact_url(layer_url)} is not under /rest/services/, so its admin endpoint (to "
            "add fields) is unknown; add the missing fields in ArcGIS or set "
            "missing_fields: refuse."
        )
    return f"{head}/rest/admin/services/{tail}/{operation}"


# the schema ---------------------------------------------------------------------------------


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
    for column in _attribute_columns(table):
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
    sent = {c.name.lower() for c in _attribute_columns(table)}
    plan.extra = [f["name"] for f in layer.data_fields() if str(f["name"]).lower() not in sent]
    return plan


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


def _attribute_columns(table: DeliveredTable) -> list[DeliveredColumn]:
    return [c for c in table.columns if c.name != table.geometry]


# geometry -----------------------------------------------------------------------------------


def delivery_crs(table: DeliveredTable) -> pyproj.CRS:
    """The delivery's CRS: the dictionary's, else the GeoParquet file's own."""
    import pyarrow.parquet as pq
    import pyproj

    if table.crs:
        return pyproj.CRS.from_user_input(table.crs)
    metadata = pq.read_schema(table.parquet).metadata or {}
    geo = json.loads(metadata.get(b"geo", b"{}"))
    source = next((c.source for c in table.columns if c.name == table.geometry), table.geometry)
    column = (geo.get("columns") or {}).get(source)
    if column is None or ("crs" in column and column["crs"] is None):
        raise DistributeError(
            f"The geometry of {table.name!r} has no CRS (neither in the data dictionary nor in "
            "its GeoParquet metadata); declare the column's crs in the dictionary."
        )
    if "crs" not in column:
        return pyproj.CRS.from_user_input("OGC:CRS84")  # GeoParquet's default
    found = column["crs"]
    return pyproj.CRS.from_json_dict(found) if isinstance(found, dict) else pyproj.CRS(found)


def layer_crs(layer: Layer) -> pyproj.CRS:
    import pyproj

    reference = layer.spatial_reference
    for code in (reference.get("latestWkid"), reference.get("wkid")):
        for authority in ("EPSG", "ESRI"):
            if code:
                try:
                    return pyproj.CRS.from_user_input(f"{authority}:{code}")
                except pyproj.exceptions.CRSError:
                    continue
    if reference.get("wkt"):
        return pyproj.CRS.from_wkt(reference["wkt"])
    raise DistributeError(
        f"Layer {layer.name!r} gives no spatial reference PROJ knows ({reference}); check the "
        "layer in ArcGIS."
    )


def crs_label(crs: pyproj.CRS) -> str:
    found = crs.to_authority()
    return f"{found[0]}:{found[1]}" if found else crs.name


@dataclass(frozen=True)
class Geometries:
    """The delivery's geometry column, parsed, checked against the layer, and the reprojection
    to the layer's spatial reference (None when they are the same)."""

    shapes: np.ndarray
    transformer: pyproj.Transformer | None
    source: str
    target: str

    @classmethod
    def read(cls, table: DeliveredTable, data: pa.Table, layer: Layer) -> Geometries:
        import pyproj

        shapes = _shapes(data.column(str(table.geometry)))
        _check_geometry_types(shapes, layer)
        source, target = delivery_crs(table), layer_crs(layer)
        same = source.equals(target, ignore_axis_order=True)
        transformer = None if same else pyproj.Transformer.from_crs(source, target, always_xy=True)
        return cls(shapes, transformer, crs_label(source), crs_label(target))

    def describe(self) -> str:
        if self.transformer is None:
            return f"geometry in {self.target}, as the layer"
        return (
            f"geometry reprojected from {self.source} to {self.target} (the layer's spatial "
            "reference)"
        )

    def esri(self, start: int, stop: int, geometry_type: str) -> list[dict[str, Any] | None]:
        import numpy as np
        import shapely

        shapes = self.shapes[start:stop]
        if self.transformer is not None:
            transformer = self.transformer

            def reproject(xy: np.ndarray) -> np.ndarray:
                x, y = transformer.transform(xy[:, 0], xy[:, 1])
                return np.column_stack([x, y])

            shapes = shapely.transform(shapes, reproject)
        if geometry_type == "esriGeometryPolygon":
            shapes = shapely.orient_polygons(shapes, exterior_cw=True)
        return [_esri_geometry(shape, geometry_type) for shape in shapes]


def _shapes(column: pa.ChunkedArray) -> np.ndarray:
    import pyarrow as pa
    import shapely

    array = column.combine_chunks()
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    return shapely.from_wkb(array.to_numpy(zero_copy_only=False))


def _check_geometry_types(shapes: np.ndarray, layer: Layer) -> None:
    import numpy as np
    import shapely

    accepted = ACCEPTED_GEOMETRIES.get(layer.geometry_type)
    if accepted is None:
        raise DistributeError(
            f"Layer {layer.name!r} has geometry type {layer.geometry_type}, which this "
            "destination does not write; use a point, multipoint, polyline or polygon layer."
        )
    present = shapes[~shapely.is_missing(shapes) & ~shapely.is_empty(shapes)]
    kinds = {int(kind) for kind in np.unique(shapely.get_type_id(present))}
    names = {_TYPE_NAMES.get(kind, "GeometryCollection") for kind in kinds}
    wrong = sorted(names - set(accepted))
    if wrong:
        raise DistributeError(
            f"Layer {layer.name!r} holds {layer.geometry_type.removeprefix('esriGeometry')} "
            f"features and the delivery has {', '.join(wrong)} geometries; send it to a layer of "
            "its own geometry type."
        )


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
}


def _xy(coords: Any) -> list[list[float]]:
    return [[float(c[0]), float(c[1])] for c in coords]


def _esri_geometry(shape: Any, geometry_type: str) -> dict[str, Any] | None:
    if shape is None or shape.is_empty:
        return None
    kind = shape.geom_type
    if geometry_type == "esriGeometryPoint":
        return {"x": float(shape.x), "y": float(shape.y)}
    if geometry_type == "esriGeometryMultipoint":
        points = [shape] if kind == "Point" else list(shape.geoms)
        return {"points": [[float(p.x), float(p.y)] for p in points]}
    if geometry_type == "esriGeometryPolyline":
        lines = [shape] if kind == "LineString" else list(shape.geoms)
        return {"paths": [_xy(line.coords) for line in lines]}
    polygons = [shape] if kind == "Polygon" else list(shape.geoms)
    rings = [
        _xy(ring.coords) for polygon in polygons for ring in (polygon.exterior, *polygon.interiors)
    ]
    return {"rings": rings}


# attributes ---------------------------------------------------------------------------------


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
            for column in _attribute_columns(table)
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


# the replace --------------------------------------------------------------------------------


@dataclass
class Replaced:
    batches: int
    added: int
    deleted: int


@dataclass(frozen=True)
class BatchFailure:
    number: int
    size: int
    failed: int
    errors: list[str]

    def describe(self, batches: int) -> str:
        quoted = "; ".join(repr(e) for e in self.errors[:FIRST_ERRORS])
        return (
            f"batch {self.number} of {batches} failed ({self.failed} of its {self.size} features "
            f"refused: {quoted})"
        )


def _refusals(results: list[dict[str, Any]], scrub: Callable[[str], str]) -> list[str]:
    """The error descriptions of the edits the server refused (not those only rolled back
    with them); every failed edit's when all say "rolled back"."""
    failed = [
        scrub(str((r.get("error") or {}).get("description") or "no reason given"))
        for r in results
        if not r.get("success")
    ]
    refused = [text for text in failed if "rolled back" not in text.lower()]
    return refused or failed


def _ranges(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def replace_features(
    service: FeatureService, features: Features, rerun: str, progress: Progress
) -> Replaced:
    """The layer's features replaced by `features` (see the module's docstring)."""
    size = service.spec.batch_size
    batches = max(1, math.ceil(len(features) / size))
    before = service.object_ids()
    added: list[int] = []
    progress("adding the new features", 0, len(features))
    for number, (start, stop) in enumerate(_ranges(len(features), size), start=1):
        what = f"add batch {number} of {batches}"
        try:
            results = service.apply_edits(what, adds=features.batch(start, stop))
        except DistributeError as exc:
            _undo(service, before, f"{what} failed: {_why(exc)}", len(before), rerun)
        errors = _refusals(results, service.scrub)
        if errors:
            failure = BatchFailure(number, stop - start, len(errors), errors)
            _undo(service, before, failure.describe(batches), len(before), rerun)
        added.extend(int(r["objectId"]) for r in results)
        progress("adding the new features", stop, len(features))
    deleted = _delete_all_but(service, set(added), rerun, progress)
    return Replaced(batches=batches if len(features) else 0, added=len(added), deleted=deleted)


def _delete(service: FeatureService, ids: Sequence[int], what: str) -> None:
    """Delete `ids` in batches; failures are judged afterwards, from what the layer holds."""
    size = service.spec.batch_size
    for start, stop in _ranges(len(ids), size):
        service.apply_edits(what, deletes=ids[start:stop])


def _undo(
    service: FeatureService, before: set[int], failure: str, old: int, rerun: str
) -> NoReturn:
    """After a failed add: delete every feature that appeared since the replace began."""
    try:
        appeared = sorted(service.object_ids() - before)
        _delete(service, appeared, "remove this run's features")
        left = service.object_ids() - before
    except DistributeError as exc:
        raise DistributeError(
            f"Replacing the features of {service.shown} stopped ({failure}), and removing the "
            f"features this run had added failed too ({_why(exc)}): the layer may hold its "
            f"{old} old features plus some of the new ones; run `{rerun}` to finish the replace."
        ) from None
    if left:
        raise DistributeError(
            f"Replacing the features of {service.shown} stopped ({failure}), and {len(left)} of "
            f"the features this run added are still there beside the {old} old ones; run "
            f"`{rerun}` to finish the replace."
        )
    raise DistributeError(
        f"Replacing the features of {service.shown} stopped: {failure}; the features added "
        f"before were removed again, so the layer holds its {old} old features unchanged; fix "
        f"the cause and run `{rerun}` again."
    )


def _delete_all_but(service: FeatureService, keep: set[int], rerun: str, progress: Progress) -> int:
    """Delete every feature but `keep` (the new ones); the number deleted."""
    try:
        old = sorted(service.object_ids() - keep)
        progress("removing the old features", 0, len(old))
        _delete(service, old, "remove the old features")
        left = service.object_ids() - keep
    except DistributeError as exc:
        raise DistributeError(
            f"All {len(keep)} new features are in {service.shown}, but removing the old ones "
            f"failed ({_why(exc)}): the layer holds the new features and some old ones; run "
            f"`{rerun}` to finish the replace."
        ) from None
    if left:
        raise DistributeError(
            f"All {len(keep)} new features are in {service.shown}, but {len(left)} old ones "
            f"could not be removed; run `{rerun}` to finish the replace."
        )
    progress("removing the old features", len(old), len(old))
    return len(old)


# preview and send ---------------------------------------------------------------------------


def _geometry_table(spec: ArcGISSpec, delivery: Delivery) -> DeliveredTable:
    table = delivery.only_table(spec.name)
    if table.geometry is None:
        raise DistributeError(
            f"Destination {spec.name!r} is an ArcGIS feature layer, which needs geometry, and "
            f"{delivery.product}'s output {table.name!r} has no geometry column; send it to a "
            "table destination (socrata, a file drop) instead."
        )
    return table


def _rerun(spec: ArcGISSpec, delivery: Delivery) -> str:
    return (
        f"lake distribute {delivery.product} --version {delivery.version} --to {spec.name} --force"
    )


@dataclass
class _Prepared:
    data: pa.Table
    layer: Layer
    plan: FieldPlan


def _prepare(service: FeatureService, spec: ArcGISSpec, table: DeliveredTable) -> _Prepared:
    data = table.read()
    layer = service.layer()
    return _Prepared(data, layer, plan_fields(table, data, layer))


def preview(spec: ArcGISSpec, delivery: Delivery) -> list[str]:
    """What sending would change in the layer, read from it without writing."""
    table = _geometry_table(spec, delivery)
    token = secret(spec.token_env, spec.name, "ArcGIS token")
    with FeatureService(spec, token) as service:
        ready = _prepare(service, spec, table)
        count = service.count()
    layer, plan = ready.layer, ready.plan
    batches = math.ceil(table.rows / spec.batch_size)
    lines = [
        f"ArcGIS layer {layer.name!r} ({service.shown}): would delete its {count} features and "
        f"add {table.rows} ({batches} batches of up to {spec.batch_size})"
    ]
    lines += _field_lines(spec, delivery, table, plan)
    try:
        lines.append(Geometries.read(table, ready.data, layer).describe())
    except DistributeError as exc:
        lines.append(f"refused: {exc}")
    refusal = plan.refusal(spec, layer)
    if refusal:
        lines.append(f"refused: {refusal}")
    return lines


def _field_lines(
    spec: ArcGISSpec, delivery: Delivery, table: DeliveredTable, plan: FieldPlan
) -> list[str]:
    lines = []
    if plan.missing:
        listed = ", ".join(
            f"{f['name']} ({f['type'].removeprefix('esriFieldType')})" for f in plan.missing
        )
        action = "would be added" if spec.missing_fields == "add" else "are missing (refused)"
        lines.append(f"fields that {action}: {listed}")
    if plan.extra:
        lines.append(
            f"layer fields {delivery.product} does not fill (left empty): {', '.join(plan.extra)}"
        )
    renamed = [f"{c.source} -> {c.name}" for c in table.columns if c.source != c.name]
    if renamed:
        lines.append(f"columns renamed for this destination: {', '.join(renamed)}")
    return lines


def send(spec: ArcGISSpec, delivery: Delivery, progress: Progress) -> Receipt:
    """Replace the layer's features with the version's."""
    table = _geometry_table(spec, delivery)
    token = secret(spec.token_env, spec.name, "ArcGIS token")
    with FeatureService(spec, token) as service:
        ready = _prepare(service, spec, table)
        refusal = ready.plan.refusal(spec, ready.layer)
        if refusal:
            raise DistributeError(refusal)
        features = Features.prepare(table, ready.data, ready.layer, ready.plan)
        if ready.plan.missing:
            progress("adding fields to the layer", 0, len(ready.plan.missing))
            service.add_fields(ready.plan.missing)
            _check_fields_added(service, ready.plan)
        replaced = replace_features(service, features, _rerun(spec, delivery), progress)
        edited = service.layer().last_edit_date
    geometries = features.geometries
    return Receipt(
        location=spec.where(),
        remote_id=f"{replaced.added} features"
        + (f", lastEditDate {edited}" if edited is not None else ""),
        details={
            "layer": ready.layer.name,
            "batches": replaced.batches,
            "added": replaced.added,
            "deleted": replaced.deleted,
            "fields_added": [f["name"] for f in ready.plan.missing],
            "crs": f"{geometries.source} -> {geometries.target}",
            "last_edit_date": edited,
        },
    )


def _check_fields_added(service: FeatureService, plan: FieldPlan) -> None:
    layer = service.layer()
    absent = [f["name"] for f in plan.missing if layer.field_named(f["name"]) is None]
    if absent:
        raise DistributeError(
            f"{service.shown} accepted the new fields but does not list {', '.join(absent)}; "
            "check the layer's fields in ArcGIS, then run the distribution again."
        )


DESTINATION = DestinationType(
    name="arcgis", spec=ArcGISSpec, preview=preview, send=send, geometry_only=True
)
