"""JSON documents read into memory whole: an API's pages (Socrata's, ArcGIS's) and the metadata
and counts asked for beside them. A body is held as it arrives and then parsed (several times
its size in memory), so it is refused as soon as it passes `MAX_PAGE_BYTES` (256 MiB): for a
page, with advice to ask for smaller pages (`page_size`). A body that does not parse is called
"not valid JSON" only when it is not (a number of thousands of digits, or arrays nested
thousands deep, are JSON this reader refuses, and say so)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from lakehouse.errors import SourceError, TransientSourceError
from lakehouse.formats.json import json_error
from lakehouse.sources.http import (
    Deadline,
    HttpSettings,
    _receive,
    deadline_for,
    redact_url,
    with_retries,
)

MAX_PAGE_BYTES = 256 * 1024 * 1024


def too_large_page(what: str, page_size: int | None, offset: int) -> Callable[[int], str]:
    """The refusal of a page of more than `limit` bytes: `what` sent it ("The Socrata API for
    <id>") at `offset`, asked for `page_size` rows (None when the template left it to the
    server)."""
    size = f" (it is {page_size})" if page_size is not None else " (it is the server's maximum)"

    def refusal(limit: int) -> str:
        return (
            f"{what} sent a page of more than {limit:,} bytes of JSON, more than is read into "
            f"memory at once (at offset {offset:,}); lower source.page_size in the template"
            f"{size}."
        )

    return refusal


def get_json_page(
    url: str,
    *,
    params: Mapping[str, str] | None,
    settings: HttpSettings,
    deadline: Deadline | None = None,
    headers: Mapping[str, str] | None = None,
    too_large: Callable[[int], str] | None = None,
) -> tuple[Any, bytes]:
    """GET a JSON document of at most `MAX_PAGE_BYTES` (as `http.get_json` does, with its
    checks, retries and deadline): (parsed, raw bytes). A larger body is refused as it arrives,
    with `too_large(limit)` (by default: the URL sent too much; check it)."""
    shown = redact_url(url)
    deadline = deadline or deadline_for(settings, f"the fetch of {shown}")
    limit = MAX_PAGE_BYTES

    def refusal(limit: int) -> str:
        if too_large is not None:
            return too_large(limit)
        return (
            f"{shown} sent more than {limit:,} bytes of JSON, more than is read into memory at "
            "once; check the source's URL (it should answer with a short document)."
        )

    def attempt() -> tuple[Any, bytes]:
        pieces: list[bytes] = []
        held = [0]

        def hold(data: bytes) -> None:
            held[0] += len(data)
            if held[0] > limit:
                raise SourceError(refusal(limit))
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
        del pieces[:]
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
