"""Real local HTTP servers shaped like the public APIs the lakehouse extracts from.

Every server binds 127.0.0.1 on an OS-assigned port, runs in a daemon thread, records the
requests it received and can inject faults per path. Standard library only.

    with FileServer() as files:
        url = files.add("/data/x.csv", b"a,b\\n1,2\\n", content_type="text/csv")
        files.set_fault("/data/x.csv", status500(times=2))   # two 500s, then the body

Servers:
- FileServer: registered payloads (GET/HEAD, ETag, Last-Modified, Range, redirects).
- SocrataServer: SODA 2 (`/api/views/{id}.json`, `/resource/{id}.json|csv`, bulk `rows.csv`).
- ArcGISServer: ArcGIS REST FeatureServer (service/layer metadata, `/query` paging, f=geojson).

Faults (see `Fault` and its constructors) fire on GET and POST by default, on the requests to
one path (or "*" for every path), optionally only `times` times after letting `after` through.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import email.utils
import hashlib
import html
import io
import json
import math
import random
import re
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

HOST = "127.0.0.1"
REALDATA = Path(__file__).parents[2] / "shared" / "realdata"
MAX_HANG_SECONDS = 30.0
STOP_JOIN_SECONDS = 5.0
JSON_TYPE = "application/json; charset=utf-8"
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Something went wrong</h1><p>The portal is down for maintenance. "
    b"Please try again later.</p></body></html>\n"
)

# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------

FaultKind = Literal[
    "http_error",
    "hang",
    "truncate",
    "wrong_content_type",
    "slow_body",
    "disconnect",
    "replace_body",
]
BODY_METHODS: tuple[str, ...] = ("GET", "POST")


@dataclass(frozen=True)
class Fault:
    """What goes wrong on a path. Build one with the constructors below."""

    kind: FaultKind
    times: int | None = None  # fire on this many matching requests; None = always
    after: int = 0  # let this many matching requests through before firing
    methods: tuple[str, ...] = BODY_METHODS
    status: int = 500
    seconds: float = MAX_HANG_SECONDS
    first_bytes: int = 0
    fraction: float = 0.5
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    def fires_on(self, index: int) -> bool:
        """Whether the `index`-th (0-based) matching request gets this fault."""
        if index < self.after:
            return False
        return self.times is None or index < self.after + self.times


def http_error(
    status: int = 500,
    times: int | None = None,
    *,
    after: int = 0,
    retry_after: int | None = None,
    body: bytes | None = None,
    content_type: str = "text/plain; charset=utf-8",
    methods: tuple[str, ...] = BODY_METHODS,
) -> Fault:
    """Answer HTTP `status` (e.g. 500, 503, 429 with Retry-After) instead of the real body."""
    headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
    text = body if body is not None else f"HTTP {status} injected by the test server\n".encode()
    return Fault(
        "http_error",
        times,
        after,
        methods,
        status=status,
        body=text,
        content_type=content_type,
        headers=headers,
    )


def status500(
    times: int | None = None, *, after: int = 0, methods: tuple[str, ...] = BODY_METHODS
) -> Fault:
    """HTTP 500 for the first `times` matching requests (then the real body), or always."""
    return http_error(500, times, after=after, methods=methods)


def hang(
    seconds: float = MAX_HANG_SECONDS,
    times: int | None = None,
    *,
    after: int = 0,
    methods: tuple[str, ...] = BODY_METHODS,
) -> Fault:
    """Send nothing for `seconds` (capped at 30, released by stop()), then the real response."""
    return Fault("hang", times, after, methods, seconds=min(seconds, MAX_HANG_SECONDS))


def truncate(
    times: int | None = None,
    *,
    after: int = 0,
    fraction: float = 0.5,
    methods: tuple[str, ...] = BODY_METHODS,
) -> Fault:
    """Announce the full Content-Length, send `fraction` of the body, close the connection."""
    return Fault("truncate", times, after, methods, fraction=fraction)


def wrong_content_type(
    times: int | None = None, *, after: int = 0, methods: tuple[str, ...] = BODY_METHODS
) -> Fault:
    """HTTP 200 with an HTML error page as text/html (what portals do when they are down)."""
    return Fault(
        "wrong_content_type",
        times,
        after,
        methods,
        status=200,
        body=HTML_ERROR_PAGE,
        content_type="text/html; charset=utf-8",
    )


def slow_body(
    first_bytes: int,
    then_hang_seconds: float = MAX_HANG_SECONDS,
    times: int | None = None,
    *,
    after: int = 0,
    methods: tuple[str, ...] = BODY_METHODS,
) -> Fault:
    """Send headers and `first_bytes` of the body, stall, then the rest (nothing if stopped)."""
    return Fault(
        "slow_body",
        times,
        after,
        methods,
        first_bytes=first_bytes,
        seconds=min(then_hang_seconds, MAX_HANG_SECONDS),
    )


def disconnect(
    times: int | None = None, *, after: int = 0, methods: tuple[str, ...] = BODY_METHODS
) -> Fault:
    """Close the connection without sending any response."""
    return Fault("disconnect", times, after, methods)


def replace_body(
    body: bytes,
    content_type: str = JSON_TYPE,
    *,
    status: int = 200,
    times: int | None = None,
    after: int = 0,
    methods: tuple[str, ...] = BODY_METHODS,
) -> Fault:
    """Serve `body` (e.g. invalid JSON) instead of the real one."""
    return Fault(
        "replace_body", times, after, methods, status=status, body=body, content_type=content_type
    )


def arcgis_error(
    code: int = 500,
    message: str = "Error performing query operation",
    times: int | None = None,
    *,
    after: int = 0,
) -> Fault:
    """HTTP 200 with an ArcGIS `{"error": ...}` body (how ArcGIS reports transient failures)."""
    error = {"error": {"code": code, "message": message, "details": []}}
    return replace_body(json.dumps(error).encode(), times=times, after=after)


# --------------------------------------------------------------------------------------------
# Requests, responses and the server base class
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request a server received; `fault` is the kind of fault injected into it, if any."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: bytes = b""
    fault: str | None = None
    received_at: float = 0.0


@dataclass
class Response:
    """What a route answers; the base class writes it (and applies faults)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


def json_response(document: Any, status: int = 200, content_type: str = JSON_TYPE) -> Response:
    return Response(status, json.dumps(document).encode(), content_type)


def text_response(
    status: int, text: str, content_type: str = "text/plain; charset=utf-8"
) -> Response:
    return Response(status, text.encode(), content_type)


def http_date(epoch_seconds: float) -> str:
    return email.utils.formatdate(epoch_seconds, usegmt=True)


@dataclass
class _FaultSlot:
    fault: Fault
    seen: int = 0
    hits: int = 0


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # LocalServer.stop() joins the handler threads with a bound
    owner: LocalServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can stall on DNS; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out or go away are expected here; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lakehouse-test-server/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections give up after this
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    def _owner(self) -> LocalServer:
        return cast(_HTTPServer, self.server).owner

    def setup(self) -> None:
        super().setup()
        self._owner()._register(self)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self._owner()._unregister(self)

    def do_GET(self) -> None:
        self._owner()._serve(self, "GET")

    def do_HEAD(self) -> None:
        self._owner()._serve(self, "HEAD")

    def do_POST(self) -> None:
        self._owner()._serve(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""


class LocalServer:
    """Base class: lifecycle, request recording, fault injection. Subclasses implement route()."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._faults: dict[str, _FaultSlot] = {}
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of exceptions raised by route()

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind 127.0.0.1 (OS-assigned port unless one was given) and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._release = threading.Event()
        httpd = _HTTPServer((HOST, self._port), _Handler)
        httpd.owner = self
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}-{httpd.server_port}",
            daemon=True,
        )
        thread.start()
        self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Release hanging faults, close every connection and the socket; bounded, idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._release.set()
        httpd.shutdown()
        with self._lock:
            connections, workers = list(self._connections), list(self._workers)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        thread.join(STOP_JOIN_SECONDS)
        deadline = time.monotonic() + STOP_JOIN_SECONDS
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running; call start() or use it in a with block")
        return self._httpd.server_port

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """Absolute URL of `path` (which starts with "/"), with an optional query string."""
        query = f"?{urlencode(dict(params))}" if params else ""
        return f"{self.base_url}{path}{query}"

    # faults -----------------------------------------------------------------------------------

    def set_fault(self, path: str, fault: Fault | None) -> None:
        """Inject `fault` into requests to `path` ("*" = any path without its own); None clears."""
        with self._lock:
            if fault is None:
                self._faults.pop(path, None)
            else:
                self._faults[path] = _FaultSlot(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def fault_hits(self, path: str) -> int:
        """How many requests the fault on `path` has fired on so far."""
        with self._lock:
            slot = self._faults.get(path)
            return slot.hits if slot else 0

    # recorded requests ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests for one path (and method, if given)."""
        return [
            r for r in self.requests if r.path == path and (method is None or r.method == method)
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # subclass hook ----------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Response:
        raise NotImplementedError

    # internals ----------------------------------------------------------------------------------

    def _register(self, handler: _Handler) -> None:
        with self._lock:
            self._connections.add(handler.connection)
            self._workers.add(threading.current_thread())

    def _unregister(self, handler: _Handler) -> None:
        with self._lock:
            self._connections.discard(handler.connection)
            self._workers.discard(threading.current_thread())

    def _serve(self, handler: _Handler, method: str) -> None:
        request = _parse_request(handler, method)
        fault = self._take_fault(request)
        with self._lock:
            self._requests.append(replace(request, fault=fault.kind if fault else None))
        try:
            self._respond(handler, request, fault)
        except (OSError, ValueError):  # client gone, socket shut down by stop(), ...
            handler.close_connection = True

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            slot = self._faults.get(request.path) or self._faults.get("*")
            if slot is None or request.method not in slot.fault.methods:
                return None
            index = slot.seen
            slot.seen += 1
            if not slot.fault.fires_on(index):
                return None
            slot.hits += 1
            return slot.fault

    def _safe_route(self, request: RecordedRequest) -> Response:
        try:
            return self.route(request)
        except Exception:
            self.errors.append(traceback.format_exc())
            return text_response(500, "test server error; see server.errors\n")

    def _respond(self, handler: _Handler, request: RecordedRequest, fault: Fault | None) -> None:
        if fault is None:
            self._write(handler, request, self._safe_route(request))
            return
        kind = fault.kind
        if kind == "hang":
            if self._release.wait(fault.seconds):
                handler.close_connection = True
                return
            self._write(handler, request, self._safe_route(request))
        elif kind == "disconnect":
            handler.close_connection = True
        elif kind in ("http_error", "wrong_content_type", "replace_body"):
            response = Response(fault.status, fault.body, fault.content_type, dict(fault.headers))
            self._write(handler, request, response)
        elif kind == "truncate":
            response = self._safe_route(request)
            self._write(
                handler, request, response, stop_at=int(len(response.body) * fault.fraction)
            )
        else:  # slow_body
            response = self._safe_route(request)
            self._write(handler, request, response, stop_at=fault.first_bytes, stall=fault.seconds)

    def _write(
        self,
        handler: _Handler,
        request: RecordedRequest,
        response: Response,
        *,
        stop_at: int | None = None,
        stall: float | None = None,
    ) -> None:
        """Write `response`; with stop_at, send only that many body bytes then stall or close."""
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        if response.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        if request.method == "HEAD" or response.status in (204, 304):
            return
        body, chunked = response.body, response.chunked
        if stop_at is None:
            _send_body(handler, body, chunked, final=True)
            return
        _send_body(handler, body[:stop_at], chunked, final=False)
        if stall is None or self._release.wait(stall):
            handler.close_connection = True  # the client sees the body cut off
            return
        _send_body(handler, body[stop_at:], chunked, final=True)


def _send_body(handler: _Handler, body: bytes, chunked: bool, *, final: bool) -> None:
    if not chunked:
        handler.wfile.write(body)
    else:
        step = 64 * 1024
        for start in range(0, len(body), step):
            piece = body[start : start + step]
            handler.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
        if final:
            handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def _parse_request(handler: _Handler, method: str) -> RecordedRequest:
    parts = urlsplit(handler.path)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    content_type = handler.headers.get("Content-Type", "")
    if method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        query.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return RecordedRequest(
        method=method,
        path=unquote(parts.path),
        query=query,
        raw_query=parts.query,
        headers={name.lower(): value for name, value in handler.headers.items()},
        body=body,
        received_at=time.time(),
    )


# --------------------------------------------------------------------------------------------
# FileServer
# --------------------------------------------------------------------------------------------


@dataclass
class FileEntry:
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    redirect_to: str | None = None
    redirect_status: int = 302


class FileServer(LocalServer):
    """Serves registered payloads by path, like a plain web server or a portal's download link."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self._files: dict[str, FileEntry] = {}

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/octet-stream",
        *,
        fault: Fault | None = None,
        etag: bool | str = True,
        last_modified: float | None = None,
        headers: Mapping[str, str] | None = None,
        chunked: bool = False,
    ) -> str:
        """Register (or replace) a payload and return its absolute URL once started.

        etag=True derives a strong ETag from the bytes, a str is used as-is, False sends none;
        last_modified (epoch seconds) adds Last-Modified; chunked drops Content-Length.
        """
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        tag = etag if isinstance(etag, str) else _etag(body) if etag else None
        entry = FileEntry(body, content_type, tag, last_modified, dict(headers or {}), chunked)
        with self._lock:
            self._files[path] = entry
        if fault is not None:
            self.set_fault(path, fault)
        return self.url(path) if self._httpd is not None else path

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer `path` with a redirect to `location` (a path on this server or a URL)."""
        entry = FileEntry(b"", "text/html", redirect_to=location, redirect_status=status)
        with self._lock:
            self._files[path] = entry

    def remove(self, path: str) -> None:
        with self._lock:
            self._files.pop(path, None)

    def route(self, request: RecordedRequest) -> Response:
        with self._lock:
            entry = self._files.get(request.path)
        if entry is None:
            return text_response(404, f"Not Found: {request.path}\n")
        if entry.redirect_to is not None:
            return Response(
                entry.redirect_status, b"", "text/html", {"Location": entry.redirect_to}
            )
        headers = {"Accept-Ranges": "bytes", **entry.headers}
        if entry.etag:
            headers["ETag"] = entry.etag
        if entry.last_modified is not None:
            headers["Last-Modified"] = http_date(entry.last_modified)
        if _not_modified(request, entry):
            return Response(304, b"", entry.content_type, headers)
        ranged = _range_response(request, entry, headers)
        if ranged is not None:
            return ranged
        return Response(200, entry.body, entry.content_type, headers, entry.chunked)


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _not_modified(request: RecordedRequest, entry: FileEntry) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip() for tag in if_none_match.split(",")}
        return bool(entry.etag) and (entry.etag in tags or "*" in tags)
    since = request.headers.get("if-modified-since")
    if since and entry.last_modified is not None:
        parsed = email.utils.parsedate_to_datetime(since)
        return parsed is not None and int(entry.last_modified) <= parsed.timestamp()
    return False


def _range_response(
    request: RecordedRequest, entry: FileEntry, headers: dict[str, str]
) -> Response | None:
    """A 206/416 answer for a single `bytes=a-b` Range header, or None to send the whole body."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers.get("range", "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    size = len(entry.body)
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return Response(
            416, b"", entry.content_type, {**headers, "Content-Range": f"bytes */{size}"}
        )
    part_headers = {**headers, "Content-Range": f"bytes {start}-{end}/{size}"}
    return Response(206, entry.body[start : end + 1], entry.content_type, part_headers)


# --------------------------------------------------------------------------------------------
# SocrataServer (SODA 2)
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# ArcGISServer (ArcGIS REST FeatureServer)
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Sample payloads (no external files)
# --------------------------------------------------------------------------------------------

# (display name, API field name, Socrata type), modelled on DCWP "Legally Operating Businesses"
SAMPLE_SOCRATA_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("DCA License Number", "license_nbr", "text"),
    ("License Type", "license_type", "text"),
    ("License Expiration Date", "lic_expir_dd", "calendar_date"),
    ("License Status", "license_status", "text"),
    ("Industry", "industry", "text"),
    ("Business Name", "business_name", "text"),
    ("Business Name 2", "business_name_2", "text"),
    ("Address Building", "address_building", "text"),
    ("Address Street Name", "address_street_name", "text"),
    ("Address City", "address_city", "text"),
    ("Address ZIP", "address_zip", "text"),
    ("Address Borough", "address_borough", "text"),
    ("Community Board", "community_board", "number"),
    ("Longitude", "longitude", "number"),
    ("Latitude", "latitude", "number"),
    ("Location", "location", "point"),
)
NYC_BOROUGHS = (
    ("Manhattan", "NEW YORK", "100", "1"),
    ("Brooklyn", "BROOKLYN", "112", "3"),
    ("Queens", "JAMAICA", "114", "4"),
    ("Bronx", "BRONX", "104", "2"),
    ("Staten Island", "STATEN ISLAND", "103", "5"),
)
NYC_BOUNDS = (-74.25, 40.50, -73.70, 40.91)  # lon/lat box
_INDUSTRIES = (
    "Home Improvement Contractor",
    "Sightseeing Guide",
    "Tobacco Retail Dealer",
    "Electronics Store",
    "Laundries",
    "Secondhand Dealer - General",
    "Garage",
    "Sidewalk Cafe",
)
_NAME_PARTS = (
    "JOE'S",
    "BEST",
    "GOLDEN",
    "EMPIRE",
    "CAFÉ",
    "BROOKLYN",
    "ACME",
    "SUNRISE",
    "DELI",
    "HARDWARE",
    "LAUNDROMAT",
    "GROCERY",
    "MOTORS",
    "BAGELS",
    "NEWSSTAND",
)
_STREETS = ("BROADWAY", "ATLANTIC AVE", "MAIN ST", "GRAND CONCOURSE", "HYLAN BLVD", "5TH AVE")


def _business_name(rng: random.Random) -> str:
    name = " ".join(rng.sample(_NAME_PARTS, rng.randint(1, 3)))
    suffix = rng.choice(("", " INC.", " LLC", ", INC.", ' "THE SHOP"', " CORP"))
    return f"{name}{suffix}"


def _random_date(rng: random.Random, start_year: int, end_year: int) -> str:
    return f"{rng.randint(start_year, end_year)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def sample_socrata_row(rng: random.Random, number: int) -> list[Any]:
    """One synthetic license row in SAMPLE_SOCRATA_COLUMNS order (None = null)."""
    individual = rng.random() < 0.3
    outside = rng.random() < 0.08
    borough, city, zip_prefix, board_prefix = rng.choice(NYC_BOROUGHS)
    lon = round(rng.uniform(NYC_BOUNDS[0], NYC_BOUNDS[2]), 6)
    lat = round(rng.uniform(NYC_BOUNDS[1], NYC_BOUNDS[3]), 6)
    return [
        f"{1000000 + number:07d}-DCA",
        "Individual" if individual else "Business",
        f"{_random_date(rng, 2017, 2027)}T00:00:00.000",
        rng.choice(("Active", "Active", "Inactive", "Expired")),
        rng.choice(_INDUSTRIES),
        _business_name(rng),
        _business_name(rng) if rng.random() < 0.4 else None,
        None if individual else str(rng.randint(1, 3999)),
        None if individual else rng.choice(_STREETS),
        "MANALAPAN" if outside else city,
        "07726" if outside else f"{zip_prefix}{rng.randint(1, 99):02d}",
        "Outside NYC" if outside else borough,
        None if outside or individual else f"{board_prefix}{rng.randint(1, 12):02d}",
        None if outside or individual else str(lon),
        None if outside or individual else str(lat),
        None if outside or individual else {"type": "Point", "coordinates": [lon, lat]},
    ]


def sample_socrata_rows(n: int, seed: int = 0) -> list[list[Any]]:
    """`n` synthetic NYC business-license rows (commas, quotes, accents, nulls, leading zeros)."""
    rng = random.Random(seed)
    return [sample_socrata_row(rng, number) for number in range(n)]


def _square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [round(lon - half, 7), round(lat - half, 7)],
        [round(lon + half, 7), round(lat - half, 7)],
        [round(lon + half, 7), round(lat + half, 7)],
        [round(lon - half, 7), round(lat + half, 7)],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}  # counter-clockwise, closed


def _sample_geometry(rng: random.Random, kind: str) -> dict[str, Any]:
    lon = round(rng.uniform(NYC_BOUNDS[0], NYC_BOUNDS[2]), 6)
    lat = round(rng.uniform(NYC_BOUNDS[1], NYC_BOUNDS[3]), 6)
    if kind == "mixed":
        kind = rng.choice(("point", "polygon"))
    if kind == "polygon":
        return _square(lon, lat, rng.uniform(0.0001, 0.001))
    return {"type": "Point", "coordinates": [lon, lat]}


def sample_features(
    n: int, seed: int = 0, geometry: Literal["point", "polygon", "mixed"] = "point"
) -> list[dict[str, Any]]:
    """`n` GeoJSON features in NYC lon/lat with int, float, str, epoch-ms and null properties.

    No OBJECTID: ArcGISServer.add_layer numbers them 1..n.
    """
    rng = random.Random(seed)
    features = []
    for number in range(n):
        borough = rng.choice(NYC_BOROUGHS)
        properties = {
            "name": _business_name(rng),
            "borough": borough[0],
            "boro_code": int(borough[3]),
            "bin": rng.randint(1000000, 5999999),
            "lot_area": round(rng.uniform(500, 50000), 2),
            "num_floors": rng.choice((None, rng.randint(1, 60))),
            "landmark": rng.choice((None, None, f"Landmark #{number}")),
            "listed_date": rng.choice((None, rng.randint(-631152000, 1700000000) * 1000)),
        }
        features.append(
            {
                "type": "Feature",
                "geometry": _sample_geometry(rng, geometry),
                "properties": properties,
            }
        )
    return features


def features_for_fields(
    fields: Sequence[Mapping[str, Any]],
    n: int,
    seed: int = 0,
    geometry: Literal["point", "polygon", "mixed"] = "polygon",
) -> list[dict[str, Any]]:
    """`n` features whose properties match Esri `fields` (e.g. the real layer's); OIDs 1..n."""
    rng = random.Random(seed)
    features = []
    for number in range(1, n + 1):
        properties = {str(f["name"]): _value_for_field(f, rng, number) for f in fields}
        features.append(
            {
                "type": "Feature",
                "geometry": _sample_geometry(rng, geometry),
                "properties": properties,
            }
        )
    return features


def _value_for_field(esri_field: Mapping[str, Any], rng: random.Random, number: int) -> Any:
    kind = esri_field.get("type")
    if kind == "esriFieldTypeOID":
        return number
    if esri_field.get("nullable", True) and rng.random() < 0.1:
        return None
    if kind == "esriFieldTypeDate":
        return rng.randint(-631152000, 1700000000) * 1000
    if kind in ("esriFieldTypeDouble", "esriFieldTypeSingle"):
        return round(rng.uniform(10, 100000), 3)
    if kind in ("esriFieldTypeInteger", "esriFieldTypeSmallInteger", "esriFieldTypeBigInteger"):
        return rng.randint(0, 30000)
    text = f"{esri_field.get('alias') or esri_field['name']} {number}"
    return text[: int(esri_field.get("length") or 256)]


# --------------------------------------------------------------------------------------------
# Real files from ../shared/realdata (None when absent)
# --------------------------------------------------------------------------------------------

DCA_CSV = "dca_operatingbusinesses.csv"
DCA_METADATA = "dca_operatingbusinesses_metadata.json"
ARCFS_SERVICE = "arcfs_metadata.json"
ARCFS_LAYER = "arcfs_layer_metadata.json"


def realdata_missing(*names: str) -> str | None:
    """None when every named file exists in REALDATA, else a skip reason naming what is absent."""
    missing = [name for name in names if not (REALDATA / name).is_file()]
    if not REALDATA.is_dir():
        return f"real data directory {REALDATA} is absent (CI provides ../shared/realdata)"
    if missing:
        return f"real data file(s) {', '.join(missing)} absent from {REALDATA}"
    return None


def require_realdata(*names: str) -> Path:
    """REALDATA, or pytest.skip() with a clear reason when a named file is absent."""
    reason = realdata_missing(*names)
    if reason is not None:
        import pytest  # only the caller's test needs pytest; this module stays stdlib-only

        pytest.skip(reason)
    return REALDATA


def load_json(name: str) -> Any:
    """A JSON file from REALDATA, or None when absent."""
    path = REALDATA / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_dca_dataset(server: SocrataServer, dataset_id: str | None = None) -> SocrataDataset | None:
    """Register the real DCWP rows + view metadata (id w7w3-xahh); None when absent."""
    if realdata_missing(DCA_CSV, DCA_METADATA) is not None:
        return None
    metadata: dict[str, Any] = load_json(DCA_METADATA)
    with (REALDATA / DCA_CSV).open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    types = {"Longitude": "number", "Latitude": "number"}
    return server.add_dataset(
        dataset_id or str(metadata["id"]),
        header,
        [[value or None for value in row] for row in rows],
        int(metadata["rowsUpdatedAt"]),
        name=str(metadata["name"]),
        field_types=types,
        view_last_modified=int(metadata.get("viewLastModified") or metadata["rowsUpdatedAt"]),
        metadata=metadata,
    )


def load_arcgis_metadata() -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(service metadata, layer metadata) of the real FeatureServer, or None when absent."""
    if realdata_missing(ARCFS_SERVICE, ARCFS_LAYER) is not None:
        return None
    return load_json(ARCFS_SERVICE), load_json(ARCFS_LAYER)


def add_realdata_layer(
    server: ArcGISServer,
    n: int = 25,
    seed: int = 0,
    service: str = "National_Register_Building_Listings",
) -> ArcGISLayer | None:
    """A layer with the real service/layer metadata (id 13, fields, maxRecordCount 2000,
    editingInfo) and `n` synthetic polygons matching its fields; None when absent."""
    loaded = load_arcgis_metadata()
    if loaded is None:
        return None
    service_doc, layer_doc = loaded
    fields = layer_doc["fields"]
    return server.add_layer(
        service,
        int(layer_doc["id"]),
        features_for_fields(fields, n, seed),
        fields,
        max_record_count=int(layer_doc["maxRecordCount"]),
        data_last_edit_date=int(layer_doc["editingInfo"]["dataLastEditDate"]),
        schema_last_edit_date=int(layer_doc["editingInfo"]["schemaLastEditDate"]),
        name=str(layer_doc["name"]),
        geometry_type=str(layer_doc["geometryType"]),
        object_id_field=str(layer_doc["objectIdField"]),
        layer_metadata=layer_doc,
        service_metadata=service_doc,
    )
