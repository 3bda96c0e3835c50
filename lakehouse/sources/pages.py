"""JSON documents read into memory whole: an API's pages (Socrata's, ArcGIS's) and the metadata
and counts asked for beside them, fetched with `http.get_json`. A body is held as it arrives
and then parsed (several times its size in memory), so it is refused as soon as it passes
`MAX_PAGE_BYTES` (256 MiB, decompressed: a gzip body is expanded a step at a time): for a page,
with advice to ask for smaller pages (`page_size`). A body that does not parse is called "not
valid JSON" only when it is not (a number of thousands of digits, or arrays nested thousands
deep, are JSON this reader refuses, and say so)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from lakehouse.sources.http import MAX_JSON_BYTES, HttpSettings, get_json
from lakehouse.sources.http_body import Deadline

MAX_PAGE_BYTES = MAX_JSON_BYTES


def json_number(value: object) -> int | float | None:
    """A JSON document's value when it is a number (an epoch date, a count), else None: JSON
    true and false are no numbers, though Python counts them as ints."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def datetime_from_epoch(seconds: float) -> datetime | None:
    """An epoch date's aware UTC datetime; None for one no datetime can hold (a server's
    nonsense must not fail a check that needs only the number)."""
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


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
    """GET a JSON document of at most `MAX_PAGE_BYTES` with `http.get_json` (its checks,
    retries and deadline): (parsed, raw bytes). A larger body is refused as it arrives, with
    `too_large(limit)` (by default: the URL sent too much; check it)."""
    return get_json(
        url,
        params=params,
        settings=settings,
        deadline=deadline,
        headers=headers,
        max_bytes=MAX_PAGE_BYTES,
        too_large=too_large,
    )
