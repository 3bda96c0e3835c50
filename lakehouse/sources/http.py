"""HTTP(S) downloads with timeouts, retries with back-off, and checks on what came back.

A template's `source: {type: http, url: ...}`; the socrata and arcgis source types fetch with
the same helpers and take the same settings (`HttpSettings`).

What is checked, on every body: it is not a web page (an HTML content type, or a body that
starts like an HTML document whatever its content type: a login or error page); it is whole as
far as HTTP can tell (its Content-Length, the final chunk of a chunked body, the end of a gzip
or deflate stream); it arrives no slower than `min_bytes_per_second` over each
`timeout_seconds`; and the whole fetch (every request, retry and page) ends within
`deadline_seconds` (these checks, as a body arrives, are `http_body`'s). A compressed body is
decompressed a bounded step at a time, each step checked (and written) before the next: a
small body that expands a thousand times (a gzip bomb) meets the deadline, and a JSON
document `get_json`'s size limit, as it expands, in bounded memory. What HTTP cannot tell:
a body that the server ends by closing the connection (no Content-Length, not chunked, not
compressed) and cuts at a line boundary looks complete; such a download is recorded as
`framing: connection close (end unverified)` in its manifest's source details. A cut mid-row
is refused by the CSV reader (a short last row, an unterminated quote), except within the last
value of the last row. Socrata exports and pages are also counted against the dataset's own
row count (see `socrata`).

The fetch records the ETag and Last-Modified of the response that delivered the body in the
manifest's source details (`etag`, `last_modified`: only those the server sent); `probe` asks
for the same headers without the body (`read_headers`: a HEAD, or a GET whose body is never
read when the server refuses HEAD), so `lake status` can tell whether the file changed. A
server that sends neither cannot be asked; one whose Last-Modified is always "now" (a page
made on every request) always looks changed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import Field, field_validator

from lakehouse.errors import SourceError, TransientSourceError
from lakehouse.formats.json import json_error
from lakehouse.progress import Progress
from lakehouse.records import Strict
from lakehouse.redact import redact_url
from lakehouse.sources import Fetched, SourceSpec, SourceType, Upstream
from lakehouse.sources.http_body import (
    SNIFF_BYTES,
    BodyDecoder,
    Deadline,
    RateMeter,
    Received,
    change_marker,
    framing_of,
    last_modified_at,
    sniff,
    web_page_error,
)

PROGRESS_STEP_BYTES = 1024 * 1024
USER_AGENT = "lakehouse-ingest/0.1"
DEFAULT_DEADLINE_SECONDS = 3600.0
DEFAULT_MIN_BYTES_PER_SECOND = 1024.0
MAX_JSON_BYTES = 256 * 1024 * 1024  # the largest JSON document read into memory (get_json)
PROBE_RETRIES = 1  # a probe tries at most twice, whatever the template's retries
T = TypeVar("T")


def _is(default: float) -> Callable[[float], bool]:
    return lambda value: value == default


class HttpSettings(Strict):
    """How every request of an HTTP-based source type is made (template fields beside `type`).

    A spec mixes it in after `SourceSpec` (`class HttpSource(SourceSpec, HttpSettings)`), which
    puts these fields first in a dump, as they have always been: the template's hash recorded
    with every archived version stays the same. Fields added later are left out of the dump
    while they hold their default, for the same reason."""

    timeout_seconds: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    deadline_seconds: float = Field(
        default=DEFAULT_DEADLINE_SECONDS,
        gt=0,
        description="the whole fetch (every request, retry and page) ends by then",
        exclude_if=_is(DEFAULT_DEADLINE_SECONDS),
    )
    min_bytes_per_second: float = Field(
        default=DEFAULT_MIN_BYTES_PER_SECOND,
        ge=0,
        description="a body arriving slower, over any timeout_seconds, is dropped and retried",
        exclude_if=_is(DEFAULT_MIN_BYTES_PER_SECOND),
    )


class HttpSource(SourceSpec, HttpSettings):
    type: Literal["http"]
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def deadline_for(settings: HttpSettings, what: str) -> Deadline:
    """The deadline of one fetch made with `settings`; `what` names it ("the fetch of ...")."""
    return Deadline(settings.deadline_seconds, what)


Settings = TypeVar("Settings", bound=HttpSettings)


def probe_settings(settings: Settings) -> Settings:
    """`settings` (a source's spec) for a probe: the same timeouts and deadline, but at most
    `PROBE_RETRIES` retries. `lake status` asks every source in turn, and one that is down
    should cost a failed request or two, not the back-off a fetch would wait through."""
    return settings.model_copy(update={"retries": min(settings.retries, PROBE_RETRIES)})


def with_retries(
    action: Callable[[], T],
    *,
    retries: int,
    backoff_seconds: float,
    deadline: Deadline | None = None,
) -> T:
    """Run `action`, retrying transient failures with exponential back-off, and never past
    the deadline: a try it leaves no time for is not made."""
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except TransientSourceError as exc:
            if attempt == attempts:
                tried = f" (tried {attempts} times)" if attempts > 1 else ""
                raise SourceError(f"{exc}{tried}; check the source or try again later.") from exc
            pause = backoff_seconds * 2 ** (attempt - 1)
            if deadline is not None and deadline.remaining() <= pause:
                raise deadline.error(f"the last of {attempt} tries: {exc}") from exc
            time.sleep(pause)
    raise AssertionError("unreachable")


SECRET_HEADERS = ("authorization", "cookie", "x-app-token", "x-api-key", "x-esri-authorization")


def _client(timeout_seconds: float) -> httpx.Client:
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 30.0))
    # only the encodings BodyDecoder checks to their end (a cut gzip stream is an error)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    first: list[tuple[str, str, int | None]] = []  # the origin the fetch started at

    def keep_secrets_home(request: httpx.Request) -> None:
        """A redirect to another origin carries no credential (httpx drops only
        Authorization; a Socrata app token or a cookie would follow)."""
        origin = (request.url.scheme, request.url.host, request.url.port)
        if not first:
            first.append(origin)
        elif origin != first[0]:
            for name in SECRET_HEADERS:
                request.headers.pop(name, None)

    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers=headers,
        event_hooks={"request": [keep_secrets_home]},
    )


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
        raise web_page_error(shown_url, expected, f"; content type {content_type}")


def _transport_error(exc: httpx.HTTPError, shown_url: str, timeout: float) -> TransientSourceError:
    if isinstance(exc, httpx.TimeoutException):
        return TransientSourceError(f"{shown_url} did not answer within {timeout:g} s")
    if isinstance(exc, httpx.RemoteProtocolError):
        return TransientSourceError(f"the download from {shown_url} was cut off before the end")
    return TransientSourceError(f"cannot reach {shown_url} ({exc.__class__.__name__}: {exc})")


def _receive(
    url: str,
    *,
    shown: str,
    expected: str,
    settings: HttpSettings,
    deadline: Deadline,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    write: Callable[[bytes], object],
    on_bytes: Callable[[int, int | None], None] | None = None,
) -> Received:
    """GET `url` and hand its decoded body to `write`, checking it as it comes: not a web page,
    not slower than the minimum rate, not past the deadline, and whole (its Content-Length,
    its final chunk, the end of its gzip stream). Failures worth retrying are transient."""
    timeout = deadline.timeout(settings.timeout_seconds)
    try:
        with (
            _client(timeout) as client,
            client.stream("GET", url, params=params, headers=headers) as response,
        ):
            _raise_for_status(response, shown)
            _reject_html(response, shown, expected)
            framing = framing_of(response)
            declared = response.headers.get("content-length", "")
            total = int(declared) if framing == "content-length" and declared.isdigit() else None
            decoder = BodyDecoder(response.headers.get("content-encoding", ""), shown)
            meter = RateMeter(settings.min_bytes_per_second, settings.timeout_seconds, shown)
            head, sniffed, received, decoded = b"", False, 0, 0

            def check_deadline() -> None:
                if deadline.expired():
                    of_total = f" of {total:,}" if total is not None else ""
                    expanded = f", {decoded:,} decompressed" if decoder.compressed else ""
                    raise deadline.error(f"{received:,}{of_total} bytes received{expanded}")

            for raw in response.iter_raw():
                received += len(raw)
                meter.add(len(raw))
                # a step at a time: a body that expands a thousandfold meets each check
                # (the deadline here, a size limit in `write`) as it expands
                for data in decoder.pieces(raw):
                    if not sniffed:
                        head += data[: SNIFF_BYTES - len(head)]
                        if len(head) >= SNIFF_BYTES:
                            sniffed = sniff(head, shown, expected)
                    write(data)
                    decoded += len(data)
                    check_deadline()
                check_deadline()
                if on_bytes is not None:
                    on_bytes(received, total)
            decoder.finish()
            if not sniffed:
                sniff(head, shown, expected)
            if total is not None and response.num_bytes_downloaded != total:
                raise TransientSourceError(
                    f"the download from {shown} was cut off after "
                    f"{response.num_bytes_downloaded:,} of {total:,} bytes"
                )
            return Received(response.num_bytes_downloaded, framing, change_marker(response.headers))
    except httpx.HTTPError as exc:
        if deadline.expired():
            raise deadline.error(str(_transport_error(exc, shown, timeout))) from exc
        raise _transport_error(exc, shown, timeout) from exc


def download(
    url: str,
    destination: Path,
    *,
    expected: str,
    settings: HttpSettings,
    deadline: Deadline | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    progress: Progress,
    verify: Callable[[Path, Received], None] | None = None,
) -> Received:
    """Stream `url` to `destination`; a partial body never survives as the destination file.
    `verify(partial_file, received)` may refuse what arrived (a TransientSourceError retries)."""
    shown = redact_url(url)
    partial = destination.with_name(destination.name + ".part")
    deadline = deadline or deadline_for(settings, f"the fetch of {shown}")

    def attempt() -> Received:
        next_report = [0]

        def report(received: int, total: int | None) -> None:
            if received >= next_report[0]:
                next_report[0] = received + PROGRESS_STEP_BYTES
                progress(
                    f"downloading {destination.name} ({received / 1e6:,.1f} MB)", received, total
                )

        with open(partial, "wb") as out:
            received = _receive(
                url,
                shown=shown,
                expected=expected,
                settings=settings,
                deadline=deadline,
                params=params,
                headers=headers,
                write=out.write,
                on_bytes=report,
            )
        if verify is not None:
            verify(partial, received)
        partial.replace(destination)
        return received

    try:
        return with_retries(
            attempt,
            retries=settings.retries,
            backoff_seconds=settings.backoff_seconds,
            deadline=deadline,
        )
    finally:
        partial.unlink(missing_ok=True)


def get_json(
    url: str,
    *,
    params: Mapping[str, str] | None,
    settings: HttpSettings,
    deadline: Deadline | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_JSON_BYTES,
    too_large: Callable[[int], str] | None = None,
) -> tuple[Any, bytes]:
    """GET a JSON document; returns (parsed, raw bytes) so callers can archive the original.
    It is held in memory whole and then parsed (several times its size), so a body of more
    than `max_bytes` (decompressed) is refused as it arrives, with `too_large(max_bytes)` (by
    default: the URL sent too much; check it). A body that does not parse is called "not valid
    JSON" (and tried again) only when it is not: a number of thousands of digits, or arrays
    nested thousands deep, are JSON this reader refuses, and the refusal says so."""
    shown = redact_url(url)
    deadline = deadline or deadline_for(settings, f"the fetch of {shown}")

    def refusal(limit: int) -> str:
        if too_large is not None:
            return too_large(limit)
        return (
            f"{shown} sent more than {limit:,} bytes of JSON, more than is read into memory at "
            "once; check the source's URL (it should answer with a short document)."
        )

    def attempt() -> tuple[Any, bytes]:
        pieces: list[bytes] = []
        held = 0

        def hold(data: bytes) -> None:
            nonlocal held
            held += len(data)
            if held > max_bytes:
                raise SourceError(refusal(max_bytes))
            pieces.append(data)

        _receive(
            url,
            shown=shown,
            expected="JSON",
            settings=settings,
            deadline=deadline,
            params=params,
            headers=headers,
            write=hold,
        )
        body = b"".join(pieces)
        del pieces[:]  # held once, not twice, while it is parsed
        try:
            return json.loads(body), body
        except (ValueError, RecursionError) as exc:
            words, invalid = json_error(exc)
            if invalid:  # a body garbled or cut on the way: worth another try
                raise TransientSourceError(
                    f"{shown} returned a body that is not valid JSON {words}"
                ) from exc
            raise SourceError(f"{shown} returned JSON {words}; check the source.") from exc

    return with_retries(
        attempt,
        retries=settings.retries,
        backoff_seconds=settings.backoff_seconds,
        deadline=deadline,
    )


def file_name_from_url(url: str, default: str) -> str:
    """The last path segment of a URL when it is a plain file name, else `default`."""
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return name if SAFE_FILE_NAME.match(name) and "." in name.strip(".") else default


# What a server answers HEAD with when it does not serve HEAD as it serves GET: 405 and 501
# (HEAD refused), and other 4xx answers that some servers give HEAD alone (a presigned S3 URL
# is signed for GET: 403). The probe then asks with a GET, and that answer counts.
def _refuses_head(status: int) -> bool:
    return status == 501 or (400 <= status < 500 and status != 429)


def _checked_headers(response: httpx.Response, shown: str, expected: str) -> httpx.Headers:
    _raise_for_status(response, shown)
    _reject_html(response, shown, expected)
    return response.headers


def _ask_for_headers(
    url: str, *, shown: str, expected: str, settings: HttpSettings, deadline: Deadline
) -> httpx.Headers:
    """One try of `read_headers`: HEAD, or a GET closed right after its headers."""
    timeout = deadline.timeout(settings.timeout_seconds)
    try:
        with _client(timeout) as client:
            response = client.head(url)
            if not _refuses_head(response.status_code):
                return _checked_headers(response, shown, expected)
            # the body is never read: leaving the block closes the connection under it
            with client.stream("GET", url) as streamed:
                return _checked_headers(streamed, shown, expected)
    except httpx.HTTPError as exc:
        if deadline.expired():
            raise deadline.error(str(_transport_error(exc, shown, timeout))) from exc
        raise _transport_error(exc, shown, timeout) from exc


def read_headers(
    url: str, *, expected: str, settings: HttpSettings, deadline: Deadline | None = None
) -> httpx.Headers:
    """The headers `url` answers with, without its body: a HEAD request (redirects followed,
    credentials kept from other origins, as for `download`), or, when the server does not
    answer HEAD as it would GET (see `_refuses_head`), a GET whose body is never read. A web
    page's content type is refused as by `download`; a server error or timeout is retried
    at most `PROBE_RETRIES` times, and then is a SourceError."""
    shown = redact_url(url)
    checked = probe_settings(settings)
    deadline = deadline or deadline_for(checked, f"the check of {shown} for changes")
    return with_retries(
        lambda: _ask_for_headers(
            url, shown=shown, expected=expected, settings=checked, deadline=deadline
        ),
        retries=checked.retries,
        backoff_seconds=checked.backoff_seconds,
        deadline=deadline,
    )


def fetch(source: HttpSource, landing_dir: Path, progress: Progress) -> Fetched:
    """Download one file over HTTP(S); its details hold the response's `change_marker`."""
    destination = landing_dir / file_name_from_url(source.url, "download")
    received = download(
        source.url, destination, expected="a data file", settings=source, progress=progress
    )
    details: dict[str, Any] = dict(received.marker)
    if not received.end_verified:  # a body ended only by the connection closing: say so
        details["framing"] = f"{received.framing} (end unverified)"
    return Fetched(files=[destination], location=redact_url(source.url), details=details)


def probe(source: HttpSource) -> Upstream:
    """The file's ETag and Last-Modified, from its headers alone (see `read_headers`)."""
    marker = change_marker(read_headers(source.url, expected="a data file", settings=source))
    return Upstream(marker=marker, edited_at=last_modified_at(marker))


SOURCE = SourceType(name="http", spec=HttpSource, fetch=fetch, probe=probe)
