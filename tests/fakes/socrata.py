"""A fake Socrata portal (SODA 2): dataset metadata, paged JSON/CSV resources and the bulk
rows.csv export."""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.samples import SAMPLE_SOCRATA_COLUMNS, sample_socrata_rows
from tests.fakes.server import (
    JSON_TYPE,
    LocalServer,
    RecordedRequest,
    Response,
    http_date,
    json_response,
)

SODA_DEFAULT_LIMIT = 1000
SODA_MAX_LIMIT = 50000
DEFAULT_ROWS_UPDATED_AT = 1712954195  # 2024-04-12, the real DCWP dataset's rowsUpdatedAt
CSV_TYPE = "text/csv; charset=utf-8"
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?")


@dataclass
class SocrataColumn:
    name: str  # display name (the bulk export's header)
    field_name: str  # API field name (the SODA JSON keys and CSV header)
    data_type: str = "text"  # Socrata dataTypeName: text, number, calendar_date, point, ...


@dataclass
class SocrataDataset:
    dataset_id: str
    name: str
    columns: list[SocrataColumn]
    rows: list[list[Any]]  # one value per column; None/"" = null
    rows_updated_at: int  # epoch seconds
    view_last_modified: int
    metadata: dict[str, Any] = field(default_factory=dict)  # extra view-metadata keys

    @property
    def field_names(self) -> list[str]:
        return [column.field_name for column in self.columns]

    def records(self) -> list[dict[str, Any]]:
        """Every row as SODA JSON renders it (null values omitted)."""
        return [_soda_record(self.columns, row) for row in self.rows]


class _SodaError(Exception):
    def __init__(self, status: int, code: str, message: str, data: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, dict(data)

    def response(self) -> Response:
        document = {"code": self.code, "error": True, "message": self.message, "data": self.data}
        return json_response(document, self.status)


@dataclass
class _SodaQuery:
    limit: int
    offset: int
    order: list[tuple[int, bool]]  # (column index, descending); empty = :id order
    select: list[int] | None  # column indexes; None = all
    count_alias: str | None  # "$select=count(*)" → the alias of the count
    filters: list[tuple[int, str]]


class SocrataServer(LocalServer):
    """SODA 2 endpoints of a Socrata portal such as data.cityofnewyork.us."""

    def __init__(
        self, port: int = 0, *, max_limit: int | None = SODA_MAX_LIMIT, chunked_export: bool = True
    ) -> None:
        super().__init__(port)
        self.max_limit = max_limit  # None = no cap (SODA 2.1 behaviour)
        self.chunked_export = chunked_export  # the real bulk export has no Content-Length
        self._datasets: dict[str, SocrataDataset] = {}

    # registration -------------------------------------------------------------------------------

    def add_dataset(
        self,
        dataset_id: str = "abcd-1234",
        columns: Sequence[str] = (),
        rows: Iterable[Sequence[Any]] = (),
        rows_updated_at: int = DEFAULT_ROWS_UPDATED_AT,
        *,
        name: str = "Test Dataset",
        field_names: Sequence[str] | None = None,
        field_types: Mapping[str, str] | None = None,
        view_last_modified: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SocrataDataset:
        """Register a dataset. `columns` are display names; field names default to snake_case.

        field_types maps a display or field name to a Socrata type (default "text").
        """
        fields = list(field_names) if field_names is not None else _field_names(columns)
        if len(fields) != len(columns):
            raise ValueError("field_names must have one entry per column")
        types = dict(field_types or {})
        cols = [
            SocrataColumn(display, fname, types.get(fname, types.get(display, "text")))
            for display, fname in zip(columns, fields, strict=True)
        ]
        table = [list(row) for row in rows]
        for number, row in enumerate(table):
            if len(row) != len(cols):
                raise ValueError(f"row {number} has {len(row)} values for {len(cols)} columns")
        dataset = SocrataDataset(
            dataset_id,
            name,
            cols,
            table,
            int(rows_updated_at),
            int(view_last_modified if view_last_modified is not None else rows_updated_at),
            dict(metadata or {}),
        )
        with self._lock:
            self._datasets[dataset_id] = dataset
        return dataset

    def add_sample_dataset(
        self,
        dataset_id: str = "abcd-1234",
        n: int = 2500,
        seed: int = 0,
        rows_updated_at: int = DEFAULT_ROWS_UPDATED_AT,
        *,
        name: str = "Legally Operating Businesses (sample)",
    ) -> SocrataDataset:
        """A dataset of `n` synthetic NYC business licenses (see sample_socrata_rows)."""
        return self.add_dataset(
            dataset_id,
            [display for display, _, _ in SAMPLE_SOCRATA_COLUMNS],
            sample_socrata_rows(n, seed),
            rows_updated_at,
            name=name,
            field_names=[fname for _, fname, _ in SAMPLE_SOCRATA_COLUMNS],
            field_types={fname: dtype for _, fname, dtype in SAMPLE_SOCRATA_COLUMNS},
        )

    def set_rows(
        self, dataset_id: str, rows: Iterable[Sequence[Any]], rows_updated_at: int | None = None
    ) -> None:
        """Replace a dataset's rows (an upstream update); bumps rowsUpdatedAt if given."""
        with self._lock:
            dataset = self._datasets[dataset_id]
            dataset.rows = [list(row) for row in rows]
            if rows_updated_at is not None:
                dataset.rows_updated_at = int(rows_updated_at)

    def dataset(self, dataset_id: str) -> SocrataDataset:
        with self._lock:
            return self._datasets[dataset_id]

    # paths and URLs -----------------------------------------------------------------------------

    @staticmethod
    def view_path(dataset_id: str) -> str:
        return f"/api/views/{dataset_id}.json"

    @staticmethod
    def resource_path(dataset_id: str, fmt: str = "json") -> str:
        return f"/resource/{dataset_id}.{fmt}"

    @staticmethod
    def export_path(dataset_id: str) -> str:
        return f"/api/views/{dataset_id}/rows.csv"

    def view_url(self, dataset_id: str) -> str:
        return self.url(self.view_path(dataset_id))

    def resource_url(self, dataset_id: str, fmt: str = "json") -> str:
        return self.url(self.resource_path(dataset_id, fmt))

    def export_url(self, dataset_id: str) -> str:
        return self.url(self.export_path(dataset_id), {"accessType": "DOWNLOAD"})

    # routing ------------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Response:
        path = request.path
        if match := re.fullmatch(r"/api/views/([^/]+)/rows\.csv", path):
            return self._with_dataset(match.group(1), self._export)
        if match := re.fullmatch(r"/api/views/([^/]+)\.json", path):
            dataset_id = match.group(1)
            with self._lock:
                dataset = self._datasets.get(dataset_id)
            if dataset is None:
                message = f"Cannot find view with id {dataset_id}"
                return json_response({"code": "not_found", "error": True, "message": message}, 404)
            return json_response(self.view_metadata(dataset))
        if match := re.fullmatch(r"/resource/([^/]+)\.(json|csv)", path):
            fmt = match.group(2)
            return self._with_dataset(
                match.group(1), lambda dataset: self._resource(dataset, fmt, request.query)
            )
        return json_response(
            {"code": "not_found", "error": True, "message": f"Not found: {path}"}, 404
        )

    def _with_dataset(
        self, dataset_id: str, render: Callable[[SocrataDataset], Response]
    ) -> Response:
        with self._lock:
            dataset = self._datasets.get(dataset_id)
        if dataset is None:
            return _SodaError(
                404, "dataset.missing", f"Not found: dataset {dataset_id}", {"id": dataset_id}
            ).response()
        return render(dataset)

    def view_metadata(self, dataset: SocrataDataset) -> dict[str, Any]:
        """The /api/views/{id}.json document, shaped like the real one."""
        document: dict[str, Any] = {
            "id": dataset.dataset_id,
            "name": dataset.name,
            "assetType": "dataset",
            "attribution": "Test Agency",
            "averageRating": 0,
            "category": "Business",
            "createdAt": dataset.view_last_modified - 86400 * 365,
            "description": f"{dataset.name}, served by the lakehouse test server.",
            "displayType": "table",
            "downloadCount": 0,
            "hideFromCatalog": False,
            "hideFromDataJson": False,
            "indexUpdatedAt": dataset.rows_updated_at,
            "newBackend": True,
            "numberOfComments": 0,
            "oid": 28304865,
            "provenance": "official",
            "publicationAppendEnabled": False,
            "publicationDate": dataset.view_last_modified,
            "publicationGroup": 2429938,
            "publicationStage": "published",
            "rowClass": "",
            "rowsUpdatedBy": "abcd-efgh",
            "tableId": 14962478,
            "totalTimesRated": 0,
            "viewCount": 0,
            "viewType": "tabular",
            "metadata": {},
            "owner": {"id": "abcd-efgh", "displayName": "NYC OpenData", "type": "interactive"},
            "flags": ["default", "restorable", "restorePossibleForType"],
            "tags": [],
        }
        document.update(copy.deepcopy(dataset.metadata))
        document.update(
            id=dataset.dataset_id,
            name=dataset.name,
            rowsUpdatedAt=dataset.rows_updated_at,
            viewLastModified=dataset.view_last_modified,
            columns=[_column_metadata(column, i) for i, column in enumerate(dataset.columns)],
        )
        return document

    def _export(self, dataset: SocrataDataset) -> Response:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([column.name for column in dataset.columns])
        for row in dataset.rows:
            writer.writerow(
                [_export_value(v, c.data_type) for v, c in zip(row, dataset.columns, strict=True)]
            )
        filename = re.sub(r"[^A-Za-z0-9]+", "_", dataset.name).strip("_") or dataset.dataset_id
        headers = {
            "Content-Disposition": f"attachment; filename={filename}.csv",
            "Last-Modified": http_date(dataset.rows_updated_at),
        }
        body = buffer.getvalue().encode("utf-8")
        return Response(200, body, CSV_TYPE, headers, chunked=self.chunked_export)

    def _resource(self, dataset: SocrataDataset, fmt: str, params: Mapping[str, str]) -> Response:
        try:
            query = _parse_soda_query(params, dataset.columns, self.max_limit)
        except _SodaError as error:
            return error.response()
        headers = _soda_headers(dataset, query)
        rows = [
            row
            for row in dataset.rows
            if all(_soda_text(row[i]) == value for i, value in query.filters)
        ]
        if query.count_alias is not None:
            return _soda_count(query.count_alias, len(rows), fmt, headers)
        for index, descending in reversed(query.order):
            rows.sort(key=_row_key(index), reverse=descending)
        page = rows[query.offset : query.offset + query.limit]
        indexes = query.select if query.select is not None else list(range(len(dataset.columns)))
        columns = [dataset.columns[i] for i in indexes]
        picked = [[row[i] for i in indexes] for row in page]
        if fmt == "csv":
            return Response(200, _soda_csv(columns, picked), CSV_TYPE, headers)
        body = json.dumps([_soda_record(columns, row) for row in picked]).encode()
        return Response(200, body, JSON_TYPE, headers)


def _field_names(columns: Sequence[str]) -> list[str]:
    """Socrata-style API field names for display names: lower snake_case, unique."""
    names: list[str] = []
    for display in columns:
        base = re.sub(r"[^a-z0-9]+", "_", display.lower()).strip("_") or "column"
        candidate, n = base, 1
        while candidate in names:
            candidate, n = f"{base}_{n}", n + 1
        names.append(candidate)
    return names


def _column_metadata(column: SocrataColumn, position: int) -> dict[str, Any]:
    return {
        "id": 500000000 + position,
        "name": column.name,
        "dataTypeName": column.data_type,
        "description": "",
        "fieldName": column.field_name,
        "position": position + 1,
        "renderTypeName": column.data_type,
        "tableColumnId": 60000000 + position,
        "format": {},
    }


def _is_null(value: Any) -> bool:
    return value is None or value == ""


def _soda_value(value: Any) -> Any:
    """How SODA JSON renders a value: strings, except booleans and GeoJSON geometries."""
    if isinstance(value, bool | dict | list):
        return value
    return str(value)


def _soda_record(columns: Sequence[SocrataColumn], row: Sequence[Any]) -> dict[str, Any]:
    return {
        column.field_name: _soda_value(value)
        for column, value in zip(columns, row, strict=True)
        if not _is_null(value)
    }


def _soda_text(value: Any) -> str:
    """A value as SODA CSV (and equality filters) show it."""
    if _is_null(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and value.get("type") == "Point":
        x, y = value["coordinates"][:2]
        return f"POINT ({x} {y})"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _export_value(value: Any, data_type: str) -> str:
    """A value as the bulk export shows it (dates as MM/DD/YYYY, like the real export)."""
    text = _soda_text(value)
    match = ISO_DATE.fullmatch(text) if data_type == "calendar_date" else None
    if match:
        year, month, day = match.groups()
        return f"{month}/{day}/{year}"
    return text


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Nulls last; numbers numerically, everything else as text."""
    if _is_null(value):
        return (1, 0.0, "")
    text = _soda_text(value)
    try:
        return (0, float(text), "")
    except ValueError:
        return (0, math.inf, text)


def _row_key(index: int) -> Callable[[list[Any]], tuple[int, float, str]]:
    return lambda row: _sort_key(row[index])


def _property_key(name: str) -> Callable[[dict[str, Any]], tuple[int, float, str]]:
    return lambda feature: _sort_key(feature["properties"].get(name))


def _soda_csv(columns: Sequence[SocrataColumn], rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([column.field_name for column in columns])
    writer.writerows([[_soda_text(value) for value in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def _soda_count(alias: str, count: int, fmt: str, headers: dict[str, str]) -> Response:
    if fmt == "csv":
        return Response(200, f'"{alias}"\n"{count}"\n'.encode(), CSV_TYPE, headers)
    return Response(200, json.dumps([{alias: str(count)}]).encode(), JSON_TYPE, headers)


def _soda_headers(dataset: SocrataDataset, query: _SodaQuery) -> dict[str, str]:
    if query.count_alias is not None:
        fields, types = [query.count_alias], ["number"]
    else:
        picked = query.select if query.select is not None else range(len(dataset.columns))
        fields = [dataset.columns[i].field_name for i in picked]
        types = [dataset.columns[i].data_type for i in picked]
    modified = http_date(dataset.rows_updated_at)
    return {
        "X-SODA2-Fields": json.dumps(fields, separators=(",", ":")),
        "X-SODA2-Types": json.dumps(types, separators=(",", ":")),
        "X-SODA2-Truth-Last-Modified": modified,
        "Last-Modified": modified,
    }


def _soql_error(message: str, params: Mapping[str, str]) -> _SodaError:
    return _SodaError(400, "query.compiler.malformed", message, {"query": dict(params)})


def _parse_int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _soql_error(f"Invalid {name}: {raw!r} is not an integer", params) from None
    if value < 0:
        raise _soql_error(f"Invalid {name}: {value} is negative", params)
    return value


def _parse_soda_query(
    params: Mapping[str, str], columns: Sequence[SocrataColumn], max_limit: int | None
) -> _SodaQuery:
    index = {column.field_name: i for i, column in enumerate(columns)}
    limit = _parse_int(params, "$limit", SODA_DEFAULT_LIMIT)
    if max_limit is not None and limit > max_limit:
        raise _SodaError(
            400,
            "query.execution.queryTooLarge",
            f"$limit of {limit} is greater than the maximum of {max_limit}",
            {"limit": limit, "max": max_limit},
        )
    offset = _parse_int(params, "$offset", 0)
    order = _parse_order(params, index)
    select, count_alias = _parse_select(params, index)
    filters: list[tuple[int, str]] = []
    for name, value in params.items():
        if name.startswith("$$"):
            continue  # $$app_token, $$exclude_system_fields, ...
        if name.startswith("$"):
            if name not in ("$limit", "$offset", "$order", "$select"):
                raise _soql_error(f"{name} is not supported by the test server", params)
        elif name in index:
            filters.append((index[name], value))
        else:
            raise _SodaError(
                400, "query.soql.no-such-column", f"No such column: {name}", {"column": name}
            )
    return _SodaQuery(limit, offset, order, select, count_alias, filters)


def _parse_order(params: Mapping[str, str], index: Mapping[str, int]) -> list[tuple[int, bool]]:
    order: list[tuple[int, bool]] = []
    for term in filter(None, (t.strip() for t in params.get("$order", "").split(","))):
        name, _, direction = term.partition(" ")
        direction = direction.strip().upper()
        if direction not in ("", "ASC", "DESC"):
            raise _soql_error(f"Invalid $order direction: {term!r}", params)
        if name == ":id":
            if direction == "DESC":
                raise _soql_error(":id DESC is not supported by the test server", params)
            continue
        if name not in index:
            raise _SodaError(
                400, "query.soql.no-such-column", f"No such column: {name}", {"column": name}
            )
        order.append((index[name], direction == "DESC"))
    return order


def _parse_select(
    params: Mapping[str, str], index: Mapping[str, int]
) -> tuple[list[int] | None, str | None]:
    raw = params.get("$select", "").strip()
    if not raw or raw == "*":
        return None, None
    count = re.fullmatch(r"count\(\s*\*\s*\)(?:\s+as\s+(\w+))?", raw, re.IGNORECASE)
    if count:
        return None, count.group(1) or "count"
    names = [name.strip() for name in raw.split(",")]
    missing = [name for name in names if name not in index]
    if missing:
        raise _SodaError(
            400,
            "query.soql.no-such-column",
            f"No such column: {missing[0]}",
            {"column": missing[0]},
        )
    return [index[name] for name in names], None
