"""The base of every fake HTTP service: a real threaded server on 127.0.0.1 that records the
requests it receives and injects faults."""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import json
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.fakes.faults import (
    HOST,
    JSON_TYPE,
    STOP_JOIN_SECONDS,
    Fault,
)


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

    def do_PUT(self) -> None:
        self._owner()._serve(self, "PUT")

    def do_PATCH(self) -> None:
        self._owner()._serve(self, "PATCH")

    def do_DELETE(self) -> None:
        self._owner()._serve(self, "DELETE")

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
            self._write(handler, request, response, stop_at=_cut_at(response.body, fault))
        elif kind == "reframe":
            self._write_reframed(handler, request, self._safe_route(request), fault)
        elif kind == "drip":
            self._write_drip(handler, request, self._safe_route(request), fault)
        elif kind == "ignore_params":
            kept = {k: v for k, v in request.query.items() if k not in fault.params}
            raw = urlencode(kept, safe="$:/(),*")
            unparsed = replace(request, query=kept, raw_query=raw)
            self._write(handler, request, self._safe_route(unparsed))
        else:  # slow_body
            response = self._safe_route(request)
            self._write(handler, request, response, stop_at=fault.first_bytes, stall=fault.seconds)

    def _write_reframed(
        self, handler: _Handler, request: RecordedRequest, response: Response, fault: Fault
    ) -> None:
        """The body (gzip-encoded if asked), cut, then framed cleanly as the fault says."""
        body = gzip.compress(response.body) if fault.gzip else response.body
        body = body[: _cut_at(body, fault)]
        headers = dict(response.headers)
        if fault.gzip:
            headers["Content-Encoding"] = "gzip"
        if fault.framing == "close":
            headers["Connection"] = "close"
        reframed = replace(response, body=body, headers=headers, chunked=fault.framing == "chunked")
        self._write(handler, request, reframed, close_delimited=fault.framing == "close")

    def _write_drip(
        self, handler: _Handler, request: RecordedRequest, response: Response, fault: Fault
    ) -> None:
        """The headers with the full Content-Length, then the body a few bytes at a time."""
        self._write(handler, request, replace(response, chunked=False), stop_at=0, stall=0)
        body = response.body
        for start in range(0, len(body), fault.first_bytes):
            if self._release.wait(fault.interval):
                handler.close_connection = True
                return
            handler.wfile.write(body[start : start + fault.first_bytes])
            handler.wfile.flush()

    def _write(
        self,
        handler: _Handler,
        request: RecordedRequest,
        response: Response,
        *,
        stop_at: int | None = None,
        stall: float | None = None,
        close_delimited: bool = False,
    ) -> None:
        """Write `response`; with stop_at, send only that many body bytes then stall or close
        (with stall=0, return after them: the caller sends the rest); close_delimited sends
        neither Content-Length nor chunks: the body ends when the connection closes."""
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        if close_delimited:
            handler.close_connection = True
        elif response.chunked:
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
        if stall == 0:
            return
        if stall is None or self._release.wait(stall):
            handler.close_connection = True  # the client sees the body cut off
            return
        _send_body(handler, body[stop_at:], chunked, final=True)


def _cut_at(body: bytes, fault: Fault) -> int:
    """Where a fault cuts `body`: its `fraction`, back to the end of a line with `at_line`."""
    if fault.fraction >= 1.0:
        return len(body)
    stop = int(len(body) * fault.fraction)
    if fault.at_line and b"\n" in body[:stop]:
        stop = body.rindex(b"\n", 0, stop) + 1
    return stop


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
