"""A fake Socrata portal that takes writes: the publishing API (DSMAPI) a destination uses to
replace a dataset through a revision, with the read calls a dry run makes.

It follows the real API's shape (see lakehouse/distribute/socrata/__init__.py and the
sources): a replace revision opened on a dataset, an upload source created on it, the file's
bytes parsed into an input schema and a guessed output schema, a new output schema from the
client's columns (field names, labels, descriptions, SoQL transforms), revision metadata patched,
the revision applied as a job whose status goes `initializing` -> `in_progress` -> `successful`
or `failure`. The live dataset (rows, columns, metadata) changes only when a job succeeds.

    with SocrataPublisher() as portal:
        portal.add_dataset("abcd-1234", columns=[LiveColumn("n", "N", "a number")], rows=[...])
        portal.credentials = ("user", "secret")
        portal.fail_next_job("Column 'n' has 3 values that are not numbers")
        portal.set_fault(portal.upload_path(), status500(times=1))

Faults beyond the base server's per-path ones: `expire_credentials()` (401 on everything),
`fail_next_job(message)`, `stall_jobs()` (a job that never finishes), `fail_parse(message)`.
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import (
    LocalServer,
    RecordedRequest,
    Response,
    json_response,
)

HOST = "127.0.0.1"
API = "/api/publishing/v1"
FIRST_SOURCE_ID = 501
FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
TRANSFORM = re.compile(r"^(?:(?P<function>[a-z_]+)\()?`(?P<column>[^`]+)`\)?$")
SOQL_TYPES = {
    None: "text",
    "to_text": "text",
    "to_number": "number",
    "to_boolean": "checkbox",
    "to_floating_timestamp": "calendar_date",
    "to_point": "point",
    "to_multipolygon": "multipolygon",
}
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


@dataclass
class LiveColumn:
    field_name: str
    name: str  # the display name
    description: str = ""
    data_type: str = "text"


@dataclass
class LiveDataset:
    dataset_id: str
    name: str
    columns: list[LiveColumn]
    rows: list[dict[str, str]]  # field name -> value as text
    description: str = ""
    attribution: str = ""
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, dict[str, str]] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """Everything a reader sees, for before/after comparisons."""
        return copy.deepcopy(self.__dict__)

    def view(self) -> dict[str, Any]:
        """`/api/views/{id}.json`, the parts a destination reads (with a system column)."""
        columns = [
            {"id": 100 + i, "fieldName": c.field_name, "name": c.name,
             "description": c.description, "dataTypeName": c.data_type, "position": i + 1}
            for i, c in enumerate(self.columns)
        ]  # fmt: skip
        columns.append(
            {"id": 99, "fieldName": ":@computed_region_efsh_h5xi", "name": "Zip Codes",
             "dataTypeName": "number", "position": len(columns) + 1}
        )  # fmt: skip
        return {
            "id": self.dataset_id,
            "name": self.name,
            "description": self.description,
            "attribution": self.attribution,
            "tags": list(self.tags),
            "metadata": {"custom_fields": copy.deepcopy(self.custom_fields)},
            "columns": columns,
        }


@dataclass
class _Source:
    id: int
    revision: tuple[str, int]
    filename: str
    content_type: str | None = None
    header: list[str] = field(default_factory=list)
    records: list[list[str]] = field(default_factory=list)
    uploaded: bool = False
    polls_left: int = 1  # GETs before the parse is finished
    failure: str | None = None
    input_schema_id: int | None = None
    output_schemas: list[dict[str, Any]] = field(default_factory=list)

    def input_columns(self) -> list[dict[str, Any]]:
        return [
            {"id": self.id * 100 + i, "field_name": name, "position": i, "soql_type": "text"}
            for i, name in enumerate(self.header)
        ]


@dataclass
class _Job:
    id: int
    output_schema_id: int
    status: str = "initializing"
    polls: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    finished_at: str | None = None

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "log": list(self.log),
            "output_schema_id": self.output_schema_id,
            "finished_at": self.finished_at,
        }


@dataclass
class _Revision:
    dataset_id: str
    seq: int
    action: str
    metadata: dict[str, Any] = field(default_factory=dict)
    closed_at: str | None = None
    discarded: bool = False
    jobs: list[_Job] = field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        return {
            "revision_seq": self.seq,
            "fourfour": self.dataset_id,
            "action": {"type": self.action},
            "metadata": copy.deepcopy(self.metadata),
            "closed_at": self.closed_at,
            "task_sets": [job.resource() for job in self.jobs],
        }

    def links(self) -> dict[str, str]:
        base = f"{API}/revision/{self.dataset_id}/{self.seq}"
        return {"show": base, "apply": f"{base}/apply", "create_source": f"{base}/source"}


class SocrataPublisher(LocalServer):
    """Socrata's publishing API over live datasets that only a successful job changes."""

    def __init__(self, port: int = 0, *, job_polls: int = 2, schema_polls: int = 1) -> None:
        super().__init__(port)
        self.datasets: dict[str, LiveDataset] = {}
        self.credentials: tuple[str, str] | None = None  # Basic auth the API requires
        self.app_token: str | None = None  # X-App-Token the API requires, if set
        self.job_polls = job_polls  # revision GETs while a job is in progress
        self.schema_polls = schema_polls  # GETs before a source / output schema is finished
        self.revisions: dict[tuple[str, int], _Revision] = {}
        self.sources: dict[int, _Source] = {}
        self.output_schemas: dict[int, dict[str, Any]] = {}
        self._state = threading.Lock()
        self._expired = False
        self._job_failure: str | None = None
        self._stall = False
        self._parse_failure: str | None = None
        self._next = {"source": FIRST_SOURCE_ID, "output": 701, "job": 901}

    # setup and faults -----------------------------------------------------------------------

    def add_dataset(
        self,
        dataset_id: str,
        columns: list[LiveColumn],
        rows: list[dict[str, str]],
        **metadata: Any,
    ) -> LiveDataset:
        dataset = LiveDataset(dataset_id, metadata.pop("name", "Test Dataset"), columns, rows,
                              **metadata)  # fmt: skip
        self.datasets[dataset_id] = dataset
        return dataset

    def expire_credentials(self) -> None:
        """Every request is refused with 401, as with a password changed or a key revoked."""
        self._expired = True

    def fail_next_job(self, message: str) -> None:
        """The next job ends in `failure` with this message in its log."""
        self._job_failure = message

    def stall_jobs(self) -> None:
        """Jobs stay `in_progress` for ever."""
        self._stall = True

    def fail_parse(self, message: str) -> None:
        """Uploads are not parsed: the source gets `failed_at` and these failure details."""
        self._parse_failure = message

    def upload_path(self, number: int = 0) -> str:
        """The path the `number`-th source's bytes are posted to (a path to set faults on)."""
        return f"{API}/source/{FIRST_SOURCE_ID + number}"

    def open_revisions(self, dataset_id: str) -> list[int]:
        return [
            seq
            for (fourfour, seq), revision in self.revisions.items()
            if fourfour == dataset_id and revision.closed_at is None
        ]

    # routing ------------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Response:
        refusal = self._refused(request)
        if refusal is not None:
            return refusal
        with self._state:
            return self._route(request)

    def _refused(self, request: RecordedRequest) -> Response | None:
        if self._expired:
            return _error(401, "Invalid username or password, or an expired API key")
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if request.headers.get("authorization") != expected:
                return _error(401, "Authentication required")
        if self.app_token is not None and request.headers.get("x-app-token") != self.app_token:
            return _error(403, "Invalid app token")
        return None

    def _route(self, request: RecordedRequest) -> Response:
        method, parts = request.method, request.path.strip("/").split("/")
        if method == "GET" and request.path.startswith("/api/views/"):
            return self._view(request.path.removeprefix("/api/views/").removesuffix(".json"))
        if method == "GET" and request.path.startswith("/resource/"):
            return self._count(request)
        if parts[:3] != ["api", "publishing", "v1"]:
            return _error(404, "not found")
        rest = parts[3:]
        if rest[:1] == ["revision"]:
            return self._revision_route(method, rest[1:], request)
        if rest[:1] == ["source"]:
            return self._source_route(method, rest[1:], request)
        return _error(404, "not found")

    def _revision_route(self, method: str, rest: list[str], request: RecordedRequest) -> Response:
        if len(rest) == 1 and method == "POST":
            return self._open_revision(rest[0], _body(request))
        revision = self.revisions.get((rest[0], int(rest[1]))) if len(rest) >= 2 else None
        if revision is None:
            return _error(404, "no such revision")
        if len(rest) == 2 and method == "GET":
            self._advance_jobs(revision)
            return _resource(revision.resource(), revision.links())
        if len(rest) == 2 and method == "PATCH":
            return self._patch_revision(revision, _body(request))
        if len(rest) == 2 and method == "DELETE":
            revision.closed_at, revision.discarded = "2026-11-01T00:00:00", True
            return _resource(revision.resource(), revision.links())
        if rest[2:] == ["source"] and method == "POST":
            return self._create_source(revision, _body(request))
        if rest[2:] == ["apply"] and method == "PUT":
            return self._apply(revision, _body(request))
        return _error(405, "method not allowed")

    def _source_route(self, method: str, rest: list[str], request: RecordedRequest) -> Response:
        source = self.sources.get(int(rest[0])) if rest else None
        if source is None:
            return _error(404, "no such source")
        if len(rest) == 1 and method == "POST":
            return self._upload(source, request)
        if len(rest) == 1 and method == "GET":
            return _resource(self._show_source(source))
        if len(rest) == 3 and rest[1] == "schema" and method == "POST":
            return self._transform(source, int(rest[2]), _body(request))
        if len(rest) == 5 and rest[3] == "output" and method == "GET":
            return self._show_output(source, rest[4])
        return _error(405, "method not allowed")

    # reads --------------------------------------------------------------------------------------

    def _view(self, dataset_id: str) -> Response:
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            return _error(404, f"Cannot find view with id {dataset_id}")
        return json_response(dataset.view())

    def _count(self, request: RecordedRequest) -> Response:
        dataset_id = request.path.removeprefix("/resource/").removesuffix(".json")
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            return _error(404, "not found")
        match = re.fullmatch(r"count\(\*\)(?: as (\w+))?", request.query.get("$select", ""), re.I)
        if match is None:
            return _error(400, "only $select=count(*) is implemented here")
        return json_response([{match.group(1) or "count": str(len(dataset.rows))}])

    # revisions --------------------------------------------------------------------------------

    def _open_revision(self, dataset_id: str, body: dict[str, Any]) -> Response:
        if dataset_id not in self.datasets:
            return _error(404, f"Cannot find view with id {dataset_id}")
        action = (body.get("action") or {}).get("type")
        if action not in ("replace", "update", "delete"):
            return _error(400, "action.type must be replace, update or delete")
        seq = 1 + max((s for (d, s) in self.revisions if d == dataset_id), default=0)
        revision = _Revision(dataset_id, seq, action, dict(body.get("metadata") or {}))
        self.revisions[(dataset_id, seq)] = revision
        return _resource(revision.resource(), revision.links(), status=201)

    def _patch_revision(self, revision: _Revision, body: dict[str, Any]) -> Response:
        if revision.closed_at is not None:
            return _error(400, "this revision is closed")
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            return _error(400, "metadata must be an object")
        revision.metadata.update(metadata)
        return _resource(revision.resource(), revision.links())

    def _apply(self, revision: _Revision, body: dict[str, Any]) -> Response:
        if revision.closed_at is not None or revision.jobs:
            return _error(400, "this revision is already applied or closed")
        output = self.output_schemas.get(int(body.get("output_schema_id") or 0))
        if output is None:
            return _error(400, "output_schema_id names no output schema")
        source = self.sources[output["source_id"]]
        if source.revision != (revision.dataset_id, revision.seq):
            return _error(400, "the output schema is not from this revision")
        job = _Job(self._take("job"), output["id"])
        revision.jobs.append(job)
        return _resource(job.resource())

    def _advance_jobs(self, revision: _Revision) -> None:
        for job in revision.jobs:
            if job.status in ("successful", "failure"):
                continue
            job.polls += 1
            if job.polls == 1 or self._stall or job.polls <= self.job_polls:
                job.status = "in_progress"
                job.log.append({"stage": "started", "details": None})
            elif self._job_failure is not None:
                job.status, job.finished_at = "failure", "2026-11-01T00:00:00"
                job.log.append({"stage": "failure", "details": {"message": self._job_failure}})
                self._job_failure = None
            else:
                rows = self._replace_live(revision, self.output_schemas[job.output_schema_id])
                job.status, job.finished_at = "successful", "2026-11-01T00:00:00"
                job.log.append({"stage": "upsert_complete", "details": {"Rows Created": rows}})
                revision.closed_at = job.finished_at

    def _replace_live(self, revision: _Revision, output: dict[str, Any]) -> int:
        dataset = self.datasets[revision.dataset_id]
        source = self.sources[output["source_id"]]
        columns = sorted(output["output_columns"], key=lambda c: c["position"])
        dataset.columns = [
            LiveColumn(c["field_name"], c["display_name"], c.get("description") or "",
                       c["transform"]["output_soql_type"])
            for c in columns
        ]  # fmt: skip
        positions = {f"`{name}`": i for i, name in enumerate(source.header)}
        dataset.rows = [
            {c["field_name"]: record[positions[_input_of(c)]] for c in columns}
            for record in source.records
        ]
        metadata = revision.metadata
        for key in ("name", "description", "attribution", "tags"):
            if key in metadata:
                setattr(dataset, key, copy.deepcopy(metadata[key]))
        custom = (metadata.get("metadata") or {}).get("custom_fields") or {}
        for section, fields in custom.items():
            dataset.custom_fields.setdefault(section, {}).update(fields)
        return len(dataset.rows)

    # sources and schemas ------------------------------------------------------------------------

    def _create_source(self, revision: _Revision, body: dict[str, Any]) -> Response:
        source_type = body.get("source_type") or {}
        if source_type.get("type") != "upload" or not source_type.get("filename"):
            return _error(400, "source_type must be {type: upload, filename: ...}")
        source = _Source(self._take("source"), (revision.dataset_id, revision.seq),
                         source_type["filename"], polls_left=self.schema_polls)  # fmt: skip
        self.sources[source.id] = source
        links = {"show": f"{API}/source/{source.id}", "bytes": f"{API}/source/{source.id}"}
        return _resource(self._show_source(source, poll=False), links, status=201)

    def _upload(self, source: _Source, request: RecordedRequest) -> Response:
        if source.uploaded:
            return _error(400, "this source already has its bytes")
        source.content_type = request.headers.get("content-type")
        if source.content_type != "text/csv":
            return _error(400, "this fake parses text/csv uploads only")
        rows = list(csv.reader(io.StringIO(request.body.decode("utf-8"))))
        source.header = [_field_name(name) for name in (rows[0] if rows else [])]
        source.records = rows[1:]
        source.uploaded = True
        source.failure = self._parse_failure
        return _resource(self._show_source(source, poll=False))

    def _show_source(self, source: _Source, *, poll: bool = True) -> dict[str, Any]:
        if poll and source.uploaded and source.polls_left > 0:
            source.polls_left -= 1
        parsed = source.uploaded and source.polls_left == 0
        if parsed and source.failure is None and source.input_schema_id is None:
            self._parse(source)
        schemas = []
        if source.input_schema_id is not None:
            schemas.append({
                "id": source.input_schema_id,
                "total_rows": len(source.records),
                "input_columns": source.input_columns(),
                "output_schemas": [copy.deepcopy(o) for o in source.output_schemas],
            })  # fmt: skip
        failed = parsed and source.failure is not None
        return {
            "id": source.id,
            "source_type": {"type": "upload", "filename": source.filename},
            "content_type": source.content_type,
            "finished_at": "2026-11-01T00:00:00" if parsed and not failed else None,
            "failed_at": "2026-11-01T00:00:00" if failed else None,
            "failure_details": {"message": source.failure} if failed else None,
            "schemas": schemas,
        }

    def _parse(self, source: _Source) -> None:
        """The input schema, and the output schema Socrata guesses: every column as text."""
        source.input_schema_id = source.id + 100
        guessed = [
            {"field_name": column["field_name"], "display_name": column["field_name"],
             "description": "", "position": column["position"] + 1, "is_primary_key": False,
             "transform": {"transform_expr": f"`{column['field_name']}`",
                           "transform_input_columns": [{"input_column_id": column["id"]}]}}
            for column in source.input_columns()
        ]  # fmt: skip
        self._new_output(source, guessed, finished=True)

    def _transform(self, source: _Source, input_schema_id: int, body: dict[str, Any]) -> Response:
        if input_schema_id != source.input_schema_id:
            return _error(404, "no such input schema")
        columns = body.get("output_columns")
        if not isinstance(columns, list) or not columns:
            return _error(400, "output_columns must be a list of columns")
        names = [c.get("field_name") for c in columns]
        for name in names:
            if not isinstance(name, str) or not FIELD_NAME.match(name) or names.count(name) > 1:
                return _error(400, f"field_name {name!r} is not valid or is not unique")
        inputs = {f"`{name}`" for name in source.header}
        for column in columns:
            if _input_of(column) not in inputs:
                return _error(400, f"transform {column.get('transform')} names no input column")
        output = self._new_output(source, copy.deepcopy(columns), finished=False)
        return _resource(output, status=201)

    def _new_output(
        self, source: _Source, columns: list[dict[str, Any]], *, finished: bool
    ) -> dict[str, Any]:
        positions = {f"`{name}`": i for i, name in enumerate(source.header)}
        errors = 0
        for column in columns:
            function = TRANSFORM.match(column["transform"]["transform_expr"]).group("function")  # type: ignore[union-attr]
            column["transform"]["output_soql_type"] = SOQL_TYPES.get(function, "text")
            index = positions[_input_of(column)]
            bad = sum(not _converts(function, record[index]) for record in source.records)
            column["transform"]["failed_at"] = None
            column["transform"]["error_count"] = bad
            errors += bad
        output: dict[str, Any] = {
            "id": self._take("output"),
            "source_id": source.id,
            "input_schema_id": source.input_schema_id,
            "output_columns": columns,
            "error_count": errors,
            "finished_at": "2026-11-01T00:00:00" if finished else None,
            "polls_left": 0 if finished else self.schema_polls,
        }
        source.output_schemas.append(output)
        self.output_schemas[output["id"]] = output
        return _public(output)

    def _show_output(self, source: _Source, which: str) -> Response:
        outputs = source.output_schemas
        output = outputs[-1] if which == "latest" and outputs else self.output_schemas.get(
            int(which) if which.isdigit() else -1
        )  # fmt: skip
        if output is None or output["source_id"] != source.id:
            return _error(404, "no such output schema")
        if output["polls_left"] > 0:
            output["polls_left"] -= 1
        if output["polls_left"] == 0:
            output["finished_at"] = "2026-11-01T00:00:00"
        return _resource(_public(output))

    def _take(self, kind: str) -> int:
        number = self._next[kind]
        self._next[kind] += 1
        return number


def _input_of(column: dict[str, Any]) -> str:
    match = TRANSFORM.match(str((column.get("transform") or {}).get("transform_expr", "")))
    return f"`{match.group('column')}`" if match else ""


def _converts(function: str | None, value: str) -> bool:
    if value == "" or function in (None, "to_text", "to_point", "to_multipolygon"):
        return True
    if function == "to_number":
        return bool(NUMBER.match(value))
    if function == "to_boolean":
        return value.lower() in ("true", "false", "1", "0", "yes", "no")
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", value))


def _field_name(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def _public(output: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in output.items() if k != "polls_left"}


def _body(request: RecordedRequest) -> dict[str, Any]:
    try:
        found = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _resource(resource: dict[str, Any], links: dict[str, str] | None = None, *,
              status: int = 200) -> Response:  # fmt: skip
    return json_response({"resource": resource, "links": links or {}}, status)


def _error(status: int, message: str) -> Response:
    return json_response({"code": f"http_{status}", "error": True, "message": message}, status)
