"""What an HTTP body is checked for as it arrives, whoever asked for it (`http`, `socrata`,
`arcgis`): not a web page (a body that starts like an HTML document, whatever its content
type: a login or error page); whole as far as HTTP can tell (the end of each gzip or deflate
stream it was compressed with; `Received.framing` says how the server marked its end); no
slower than a minimum rate (`RateMeter`); within the fetch's `Deadline`. A compressed body is
decompressed at most `DECODE_STEP_BYTES` at a time (`BodyDecoder`), each step checked (and
written) before the next, so a small body that expands a thousand times (a gzip bomb) meets
the deadline and any size limit as it expands, in bounded memory. Also: the headers that tell
one version of a file from the next (`change_marker`, `last_modified_at`)."""

from __future__ import annotations

import email.utils
import re
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx

from lakehouse.errors import SourceError, TransientSourceError

SNIFF_BYTES = 1024
DECODE_STEP_BYTES = 1024 * 1024  # the most a compressed body expands by in one step
GZIP_MAGIC = b"\x1f\x8b"


class Deadline:
    """The time a whole fetch may take: every request, retry, back-off and page of it. It is
    checked as each piece of a body arrives and bounds each request's timeouts, so a fetch
    ends at most one read (`timeout_seconds`) after it, however slowly a server sends."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        self.what = what  # "the fetch of <masked URL or dataset>"
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def timeout(self, seconds: float) -> float:
        """`seconds`, or less when the deadline is nearer."""
        return max(min(seconds, self.remaining()), 0.001)

    def error(self, detail: str) -> SourceError:
        return SourceError(
            f"{self.what[:1].upper()}{self.what[1:]} did not finish within its deadline of "
            f"{self.seconds:g} s ({detail}); raise source.deadline_seconds in the template if "
            "the source is really this slow, or try again later."
        )


def web_page_error(shown_url: str, expected: str, why: str = "") -> SourceError:
    """The refusal of a web page served instead of data (a login page, a portal's error page)."""
    return SourceError(
        f"{shown_url} sent a web page (an HTML login or error page, perhaps{why}) instead of "
        f"{expected}; open that URL in a browser to see it, then point the template at the data "
        "itself (a direct download link that needs no login)."
    )


_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body)[\s>/]", re.IGNORECASE)
_PROLOGUE = re.compile(rb"\s*(?:<\?xml[^>]*>\s*|<!--.*?-->\s*)*", re.DOTALL)


def looks_like_a_web_page(head: bytes) -> bool:
    """Whether a body's first bytes are an HTML document (after a BOM, white space, an XML
    declaration and comments), whatever its content type said. Data never starts so: CSV,
    JSON, GeoJSON, Excel, zip and Parquet files all start otherwise."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    head = head.removeprefix(b"\xef\xbb\xbf")
    prologue = _PROLOGUE.match(head)
    start = prologue.end() if prologue else 0
    return _HTML_START.match(head, start) is not None


def refuse_web_page(path: Path, shown_url: str, expected: str) -> None:
    """Refuse a landed file that is a web page (for sources that land files without HTTP)."""
    with open(path, "rb") as handle:
        if looks_like_a_web_page(handle.read(SNIFF_BYTES)):
            raise web_page_error(shown_url, expected)


def sniff(head: bytes, shown: str, expected: str) -> bool:
    """True once a body's first bytes (`head`) are known not to be a web page; a web page is
    refused (`expected` names what should have come, `shown` the masked URL)."""
    if looks_like_a_web_page(head):
        raise web_page_error(shown, expected)
    return True


class _Stage:
    """One gzip or deflate layer of a body: decompressed as it comes, at most
    `DECODE_STEP_BYTES` at a time, and known to be whole only when its stream reached its end
    marker."""

    def __init__(self, gzip: bool) -> None:
        self.gzip = gzip
        self.fed = False
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        # bytes not yet decompressed: the start of a deflate stream, until its first two bytes
        # tell a zlib header from raw deflate, or a lone first byte of a further gzip member
        self._held = b""

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decompressed pieces of `data` (the next bytes of the stream), each at most
        `DECODE_STEP_BYTES`: the next piece is made only when the one before was taken."""
        data, self._held = self._held + data, b""
        if not (self.gzip or self.fed) and len(data) < 2:
            self._held = data
            return
        step = DECODE_STEP_BYTES
        more = bool(data)  # input not yet taken, or output not yet given
        while more:
            if self._z.eof:
                if not (self.gzip and data.startswith(GZIP_MAGIC)):
                    # anything but a further gzip member after the end is ignored, as by httpx
                    if self.gzip and data == GZIP_MAGIC[:1]:
                        self._held = data
                    return
                self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
            first = not self.fed
            self.fed = True
            try:
                out = self._z.decompress(data, step)
            except zlib.error:
                if self.gzip or not first:
                    raise
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without its zlib header
                continue
            if out:
                yield out
            if self._z.eof:
                data = self._z.unused_data
                more = bool(data)
            else:
                data = self._z.unconsumed_tail
                more = bool(data) or len(out) == step  # a full step may leave output held

    def whole(self) -> bool:
        """Whether the stream ended properly (an empty body counts as whole). Nothing else is
        held back once `decode` has given its last piece."""
        return self._z.eof or not (self.fed or self._held)


class BodyDecoder:
    """Undoes the gzip or deflate Content-Encoding of a body (the only ones asked for) a
    bounded step at a time, and knows whether each compressed stream reached its end: the one
    sign of a cut that a body without Content-Length or chunks carries. Other codings pass
    through, as with httpx."""

    def __init__(self, content_encoding: str, shown_url: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        self._stages = [
            _Stage(gzip=c != "deflate")
            for c in reversed(codings)
            if c in ("gzip", "x-gzip", "deflate")
        ]
        self.shown = shown_url

    @property
    def compressed(self) -> bool:
        return bool(self._stages)

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next bytes of the body, each at most `DECODE_STEP_BYTES`
        (through every layer: gzip inside gzip expands no further in one step)."""
        try:
            yield from _through(self._stages, data)
        except zlib.error as exc:
            raise TransientSourceError(
                f"the download from {self.shown} is not valid compressed data ({exc})"
            ) from exc

    def decode(self, data: bytes) -> bytes:
        """All the decoded bytes of `data` at once: only for bodies known to be small (a
        download is decoded with `pieces`)."""
        return b"".join(self.pieces(data))

    def finish(self) -> bytes:
        """The rest of the body, which is nothing (every piece was given as it came); a
        compressed stream that stopped short is a cut-off body."""
        for stage in self._stages:
            if not stage.whole():
                raise TransientSourceError(
                    f"the download from {self.shown} was cut off before the end of its "
                    f"{'gzip' if stage.gzip else 'deflate'} data"
                )
        return b""


def _through(stages: Sequence[_Stage], data: bytes) -> Iterator[bytes]:
    """`data` decoded by each stage in turn, a piece at a time."""
    if not stages:
        if data:
            yield data
        return
    for piece in stages[0].decode(data):
        yield from _through(stages[1:], piece)


class RateMeter:
    """Fails a body that arrives slower than `min_rate` bytes/s over each `window` seconds
    (a trickle never trips the per-read timeout)."""

    def __init__(self, min_rate: float, window: float, shown_url: str) -> None:
        self.min_rate, self.window, self.shown = min_rate, window, shown_url
        self._start, self._bytes = time.monotonic(), 0

    def add(self, count: int) -> None:
        if self.min_rate <= 0:
            return
        self._bytes += count
        elapsed = time.monotonic() - self._start
        if elapsed < self.window:
            return
        rate = self._bytes / elapsed
        if rate < self.min_rate:
            raise TransientSourceError(
                f"{self.shown} sent {rate:,.0f} bytes/s over {elapsed:.1f} s, slower than the "
                f"{self.min_rate:,.0f} bytes/s the template allows (min_bytes_per_second)"
            )
        self._start, self._bytes = time.monotonic(), 0


Framing = Literal["content-length", "chunked", "connection close"]


@dataclass(frozen=True)
class Received:
    """What one request's body was: its size as sent, how its end was marked, and the
    response's `change_marker` (its ETag and Last-Modified)."""

    raw_bytes: int  # as sent (compressed, if it was)
    framing: Framing
    marker: dict[str, str] = field(default_factory=dict)

    @property
    def end_verified(self) -> bool:
        """False when the server marked the end only by closing the connection: then a cut
        at a line boundary cannot be told from the end (unless the body was compressed)."""
        return self.framing != "connection close"


def framing_of(response: httpx.Response) -> Framing:
    """How the server marked the end of the response's body."""
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        return "chunked"
    if "content-length" in response.headers:
        return "content-length"
    return "connection close"


MARKER_HEADERS = {"etag": "etag", "last_modified": "last-modified"}


def change_marker(headers: httpx.Headers) -> dict[str, str]:
    """The headers that tell one version of a file from the next, as the fetch records them
    and the probe reports them: `{"etag": ..., "last_modified": ...}`, holding only those the
    server sent, as it sent them (a weak `W/` ETag included)."""
    return {key: headers[name] for key, name in MARKER_HEADERS.items() if name in headers}


def last_modified_at(marker: Mapping[str, str]) -> datetime | None:
    """The marker's Last-Modified as an aware UTC datetime; None when it has none or it is not
    an HTTP date."""
    value = marker.get("last_modified")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
