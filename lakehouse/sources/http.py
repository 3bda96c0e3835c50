"""HTTP(S) downloads with timeouts, retries with back-off, and checks on what came back.

A template's `source: {type: http, url: ...}`; the socrata and arcgis source types fetch with
the same helpers and take the same settings (`HttpSettings`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import httpx
from pydantic import Field, field_validator

from lakehouse.errors import SourceError, TransientSourceError
from lakehouse.progress import Progress
from lakehouse.records import Strict
from lakehouse.sources import Fetched, SourceSpec, SourceType

DOWNLOAD_CHUNK_BYTES = 1024 * 1024
USER_AGENT = "lakehouse-ingest/0.1"
T = TypeVar("T")


class HttpSettings(Strict):
    """How every request of an HTTP-based source type is made (template fields beside `type`).

    A spec mixes it in after `SourceSpec` (`class HttpSource(SourceSpec, HttpSettings)`), which
    puts these fields first in a dump, as they have always been: the template's hash recorded
    with every archived version stays the same."""

    timeout_seconds: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)


class HttpSource(SourceSpec, HttpSettings):
    type: Literal["http"]
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


SECRET_PARAMETER = re.compile(
    r"(token|key|secret|password|passwd|signature|credential|auth|sig)", re.IGNORECASE
)
SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def redact_url(url: str) -> str:
    """The URL without user:password and with secret-looking query values masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = urlencode(
        [
            (name, "REDACTED" if SECRET_PARAMETER.search(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="$:/",
    )
    return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


def with_retries(action: Callable[[], T], *, retries: int, backoff_seconds: float) -> T:
    """Run `action`, retrying transient failures with exponential back-off."""
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except TransientSourceError as exc:
            if attempt == attempts:
                tried = f" (tried {attempts} times)" if attempts > 1 else ""
                raise SourceError(f"{exc}{tried}; check the source or try again later.") from exc
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _client(timeout_seconds: float) -> httpx.Client:
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 30.0))
    return httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})


def _raise_for_status(response: httpx.Response, shown_url: str) -> None:
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientSourceError(f"{shown_url} answered HTTP {response.status_code}")
    if response.status_code >= 400:
        raise SourceError(
            f"{shown_url} answered HTTP {response.status_code}; check the URL and access rights."
        )


def _reject_html(response: httpx.Response, shown_url: str, expected: str) -> None:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in {"text/html", "application/xhtml+xml"}:
        raise SourceError(
            f"{shown_url} returned an HTML page (content type {content_type}) instead of "
            f"{expected}; the URL probably points at a web page or an error page, fix it."
        )


def _transport_error(exc: httpx.HTTPError, shown_url: str, timeout: float) -> TransientSourceError:
    if isinstance(exc, httpx.TimeoutException):
        return TransientSourceError(f"{shown_url} did not answer within {timeout:g} s")
    if isinstance(exc, httpx.RemoteProtocolError):
        return TransientSourceError(f"the download from {shown_url} was cut off before the end")
    return TransientSourceError(f"cannot reach {shown_url} ({exc.__class__.__name__}: {exc})")


def download(
    url: str,
    destination: Path,
    *,
    expected: str,
    timeout_seconds: float,
    retries: int,
    backoff_seconds: float,
    params: Mapping[str, str] | None = None,
    progress: Progress,
) -> Path:
    """Stream `url` to `destination`; a partial body never survives as the destination file."""
    shown = redact_url(url)
    partial = destination.with_name(destination.name + ".part")

    def attempt() -> Path:
        try:
            with (
                _client(timeout_seconds) as client,
                client.stream("GET", url, params=params) as response,
            ):
                _raise_for_status(response, shown)
                _reject_html(response, shown, expected)
                total = int(response.headers.get("content-length", 0)) or None
                received = 0
                with open(partial, "wb") as out:
                    for chunk in response.iter_bytes(DOWNLOAD_CHUNK_BYTES):
                        out.write(chunk)
                        received += len(chunk)
                        progress(
                            f"downloading {destination.name} ({received / 1e6:,.1f} MB)",
                            received,
                            total,
                        )
                if total is not None and received != total:
                    raise TransientSourceError(
                        f"the download from {shown} was cut off after {received} of {total} bytes"
                    )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, shown, timeout_seconds) from exc
        partial.replace(destination)
        return destination

    try:
        return with_retries(attempt, retries=retries, backoff_seconds=backoff_seconds)
    finally:
        partial.unlink(missing_ok=True)


def get_json(
    url: str,
    *,
    params: Mapping[str, str] | None,
    timeout_seconds: float,
    retries: int,
    backoff_seconds: float,
    headers: Mapping[str, str] | None = None,
) -> tuple[Any, bytes]:
    """GET a JSON document; returns (parsed, raw bytes) so callers can archive the original."""
    shown = redact_url(url)

    def attempt() -> tuple[Any, bytes]:
        try:
            with _client(timeout_seconds) as client:
                response = client.get(url, params=params, headers=headers)
                _raise_for_status(response, shown)
                _reject_html(response, shown, "JSON")
                body = response.content
        except httpx.HTTPError as exc:
            raise _transport_error(exc, shown, timeout_seconds) from exc
        try:
            return json.loads(body), body
        except ValueError as exc:
            raise TransientSourceError(f"{shown} returned a body that is not valid JSON") from exc

    return with_retries(attempt, retries=retries, backoff_seconds=backoff_seconds)


def file_name_from_url(url: str, default: str) -> str:
    """The last path segment of a URL when it is a plain file name, else `default`."""
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return name if SAFE_FILE_NAME.match(name) and "." in name.strip(".") else default


def fetch(source: HttpSource, landing_dir: Path, progress: Progress) -> Fetched:
    """Download one file over HTTP(S)."""
    destination = landing_dir / file_name_from_url(source.url, "download")
    download(
        source.url,
        destination,
        expected="a data file",
        timeout_seconds=source.timeout_seconds,
        retries=source.retries,
        backoff_seconds=source.backoff_seconds,
        progress=progress,
    )
    return Fetched(files=[destination], location=redact_url(source.url))


SOURCE = SourceType(name="http", spec=HttpSource, fetch=fetch)
