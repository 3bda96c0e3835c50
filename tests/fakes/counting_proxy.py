"""A counting front for moto's S3 server: a plain HTTP server on 127.0.0.1 that passes every
request on to moto as it came (method, path, headers, body), passes the answer back, and
records the method and path of each, so a test can tell a HEAD of an object from a GET of its
bytes. (moto itself keeps no log of the requests it served.)"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self, cast
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # without the query string


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: CountingProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        proxy = cast(_Server, self.server).proxy
        proxy.record(Seen(self.command, urlsplit(self.path).path))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            content = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            declared = answer.getheader("Content-Length")
            sent_length = declared if self.command == "HEAD" and declared else str(len(content))
            self.send_header("Content-Length", sent_length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)
        finally:
            upstream.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr log."""


class CountingProxy:
    """`with CountingProxy("http://127.0.0.1:<moto port>") as proxy:` use `proxy.url` as the
    S3 endpoint; `proxy.seen` lists what was asked."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"the proxy passes requests on to 127.0.0.1 only, not {target}")
        self.target_host, self.target_port = parts.hostname, parts.port
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
