"""Faults a fake server injects per path: HTTP errors, hangs, truncated or slow bodies,
disconnects, replaced bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

HOST = "127.0.0.1"
MAX_HANG_SECONDS = 30.0
STOP_JOIN_SECONDS = 5.0
JSON_TYPE = "application/json; charset=utf-8"
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Something went wrong</h1><p>The portal is down for maintenance. "
    b"Please try again later.</p></body></html>\n"
)
LOGIN_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>'
    b'</head>\n<body><form method="post" action="/login"><label>User name, or e-mail'
    b'</label><input name="user"><label>Password</label><input name="password" '
    b'type="password"><button>Sign in</button></form></body></html>\n'
)
Framing = Literal["length", "chunked", "close"]

FaultKind = Literal[
    "http_error",
    "hang",
    "truncate",
    "wrong_content_type",
    "slow_body",
    "disconnect",
    "replace_body",
    "reframe",
    "drip",
    "ignore_params",
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
    framing: Framing = "length"  # reframe: how the (cut) body is delimited
    gzip: bool = False  # reframe: send the body gzip-encoded (Content-Encoding: gzip)
    at_line: bool = False  # reframe: cut back to the end of a line
    interval: float = 0.0  # drip: seconds between pieces of `first_bytes` bytes
    params: tuple[str, ...] = ()  # ignore_params: query parameters the server ignores

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
    at_line: bool = False,
) -> Fault:
    """Announce the full Content-Length (or send chunks), send `fraction` of the body (back to
    the end of a line with at_line), close the connection (no terminating chunk)."""
    return Fault("truncate", times, after, methods, fraction=fraction, at_line=at_line)


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
    headers: Mapping[str, str] | None = None,
) -> Fault:
    """Serve `body` (e.g. invalid JSON) instead of the real one, with `headers` if given (e.g.
    Content-Encoding: gzip for a body that is already compressed)."""
    return Fault(
        "replace_body",
        times,
        after,
        methods,
        status=status,
        body=body,
        content_type=content_type,
        headers=tuple((headers or {}).items()),
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


def reframe(
    framing: Framing = "length",
    *,
    cut: float | None = None,
    at_line: bool = False,
    gzip: bool = False,
    times: int | None = None,
    after: int = 0,
    methods: tuple[str, ...] = BODY_METHODS,
) -> Fault:
    """Serve the real body, gzip-encoded if asked, cut to its first `cut` fraction (back to the
    end of a line with at_line), and framed cleanly as `framing`: "length" (a Content-Length of
    what is sent: a server that announces the short length), "chunked" (with the terminating
    chunk) or "close" (no length: the end is the connection closing). Nothing in the HTTP
    framing then tells the client that anything is missing."""
    return Fault(
        "reframe",
        times,
        after,
        methods,
        fraction=1.0 if cut is None else cut,
        framing=framing,
        gzip=gzip,
        at_line=at_line,
    )


def drip(
    piece_bytes: int = 1,
    interval: float = 0.05,
    times: int | None = None,
    *,
    after: int = 0,
    methods: tuple[str, ...] = BODY_METHODS,
) -> Fault:
    """Send the headers (with the full Content-Length), then the body `piece_bytes` at a time
    every `interval` seconds: a trickle that never trips a read timeout; stop() ends it."""
    return Fault(
        "drip", times, after, methods, first_bytes=max(1, piece_bytes), interval=max(0.0, interval)
    )


def ignore_params(
    *names: str, times: int | None = None, after: int = 0, methods: tuple[str, ...] = BODY_METHODS
) -> Fault:
    """Answer as if the request had not sent the query parameters `names` (a server that
    ignores `$offset` or `resultOffset` serves its first page forever)."""
    return Fault("ignore_params", times, after, methods, params=tuple(names))
