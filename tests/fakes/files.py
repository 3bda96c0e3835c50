"""A fake file host: registered payloads over GET/HEAD with ETag, Last-Modified, Range and
redirects."""

from __future__ import annotations

import email.utils
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tests.fakes.faults import Fault
from tests.fakes.server import LocalServer, RecordedRequest, Response, http_date, text_response


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
