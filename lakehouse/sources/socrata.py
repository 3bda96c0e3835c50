"""Socrata (NYC Open Data): the bulk CSV export, or the SODA API paged with $limit/$offset.

A template's `source: {type: socrata, domain: ..., dataset_id: ...}`; it needs no `format:`
(the export is CSV, the API's pages are JSON).

Before either, the dataset is asked how many rows it has (`$select=count(*)`, recorded as
`rows_reported` in the manifest's source details; None when the portal does not say, and the
checks below are then skipped). An export with fewer rows is cut short, whatever its HTTP
framing said, and is fetched again (unless the dataset, asked again, shrank to it). API paging
stops with an error at a page equal to the one before (a server ignoring `$offset`), at more
rows than reported (with room for rows added meanwhile), and at its end with fewer. The whole
fetch (metadata, count, export or every page) has one deadline, `deadline_seconds`. A page, like
every JSON answer, is read into memory whole: one of more than `pages.MAX_PAGE_BYTES` is refused
as it arrives (lower `page_size`).

`probe` asks for the view metadata alone (one request: no count, no export, no page) and reports
its `rowsUpdatedAt` (epoch seconds), which the fetch records in the manifest's source details
under the same key: `{"rowsUpdatedAt": <int>}`. A portal that does not say gives an empty
marker (nothing to compare).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from lakehouse.errors import SourceError, TransientSourceError
from lakehouse.formats.csv import CsvFormat, count_csv_records
from lakehouse.formats.json import JsonFormat
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType, Upstream
from lakehouse.sources.http import (
    HttpSettings,
    deadline_for,
    download,
    probe_settings,
    redact_url,
)
from lakehouse.sources.http_body import Deadline, Received
from lakehouse.sources.pages import (
    datetime_from_epoch,
    get_json_page,
    json_number,
    too_large_page,
)


class SocrataSource(SourceSpec, HttpSettings):
    type: Literal["socrata"]
    domain: str = Field(description="portal base URL, e.g. https://data.cityofnewyork.us")
    dataset_id: str = Field(pattern=r"^[a-z0-9]{4}-[a-z0-9]{4}$")
    mode: Literal["export", "api"] = "export"
    page_size: int = Field(default=50_000, gt=0, le=50_000)
    app_token_env: str | None = None

    @field_validator("domain")
    @classmethod
    def _http_domain(cls, domain: str) -> str:
        if not domain.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (e.g. https://data.cityofnewyork.us)")
        return domain


def version_from_epoch_seconds(seconds: int | float) -> str:
    """A Unix timestamp's UTC date as YYYYMMDD (how rowsUpdatedAt becomes a version)."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y%m%d")


def upstream_from_metadata(metadata: dict[str, Any]) -> Upstream:
    """What the view metadata says of the dataset's last update (its `rowsUpdatedAt`)."""
    updated = json_number(metadata.get("rowsUpdatedAt"))
    if updated is None:
        return Upstream(marker={})
    return Upstream(marker={"rowsUpdatedAt": updated}, edited_at=datetime_from_epoch(updated))


def _headers(source: SocrataSource) -> dict[str, str]:
    if source.app_token_env and (token := os.environ.get(source.app_token_env)):
        return {"X-App-Token": token}
    return {}


def fetch_view_metadata(source: SocrataSource, deadline: Deadline | None = None) -> dict[str, Any]:
    """The dataset's view metadata (name, rowsUpdatedAt, columns...)."""
    url = f"{source.domain.rstrip('/')}/api/views/{source.dataset_id}.json"
    metadata, _ = get_json_page(
        url, params=None, headers=_headers(source), settings=source, deadline=deadline
    )
    if not isinstance(metadata, dict) or "id" not in metadata:
        raise SourceError(
            f"{redact_url(url)} did not return Socrata view metadata; check domain and dataset_id."
        )
    return metadata


def fetch_row_count(source: SocrataSource, deadline: Deadline | None = None) -> int | None:
    """How many rows the dataset says it has (`$select=count(*)`), or None when the portal
    does not say (the fetch then goes on without this check)."""
    try:
        answer, _ = get_json_page(
            _resource_url(source),
            params={"$select": "count(*)"},
            headers=_headers(source),
            settings=source,
            deadline=deadline,
        )
    except SourceError:
        if deadline is not None and deadline.expired():
            raise
        return None
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict):
        values = list(answer[0].values())
        if len(values) == 1 and str(values[0]).isdigit():
            return int(values[0])
    return None


def fetch(source: SocrataSource, landing_dir: Path, progress: Progress) -> Fetched:
    deadline = deadline_for(
        source,
        f"the fetch of Socrata dataset {source.dataset_id} from {redact_url(source.domain)}",
    )
    metadata = fetch_view_metadata(source, deadline)
    updated = metadata.get("rowsUpdatedAt")
    count = fetch_row_count(source, deadline)
    details: dict[str, Any] = {
        "name": metadata.get("name"),
        "rowsUpdatedAt": updated,
        "mode": source.mode,
    }
    version = version_from_epoch_seconds(updated) if isinstance(updated, int | float) else None
    if source.mode == "export":
        file, reported = _download_export(source, landing_dir, progress, deadline, count)
        details["rows_reported"] = reported
        return Fetched(
            files=[file],
            location=redact_url(_export_url(source)),
            source_version=version,
            format_override=CsvFormat(type="csv"),
            details=details,
        )
    pages = _download_pages(source, landing_dir, progress, deadline, count)
    details["pages"] = len(pages)
    details["rows_reported"] = count
    return Fetched(
        files=pages,
        location=redact_url(_resource_url(source)),
        source_version=version,
        format_override=JsonFormat(type="json"),
        details=details,
    )


def _export_url(source: SocrataSource) -> str:
    return f"{source.domain.rstrip('/')}/api/views/{source.dataset_id}/rows.csv"


def _resource_url(source: SocrataSource) -> str:
    return f"{source.domain.rstrip('/')}/resource/{source.dataset_id}.json"


def _download_export(
    source: SocrataSource,
    landing_dir: Path,
    progress: Progress,
    deadline: Deadline,
    count: int | None,
) -> tuple[Path, int | None]:
    """The bulk CSV, refused (and fetched again) when it holds fewer rows than the dataset
    reports: how an export cut at a row boundary shows, whatever its HTTP framing said. A
    dataset that shrank meanwhile is asked for its count again before the export is refused.
    Returns the file and the count it was checked against."""
    url = _export_url(source)
    reported = [count]

    def verify(partial: Path, received: Received) -> None:
        if reported[0] is None:
            return
        rows = max(count_csv_records(partial) - 1, 0)  # the header is no row
        if rows >= reported[0]:
            return
        again = fetch_row_count(source, deadline)
        if again is not None and rows >= again:
            reported[0] = again
            return
        raise TransientSourceError(
            f"{redact_url(url)}?accessType=DOWNLOAD has {rows:,} rows where the dataset reports "
            f"{reported[0]:,}: it was cut short"
        )

    destination = landing_dir / f"{source.dataset_id}.csv"
    download(
        url,
        destination,
        params={"accessType": "DOWNLOAD"},
        expected="CSV data",
        settings=source,
        deadline=deadline,
        progress=progress,
        verify=verify,
    )
    return destination, reported[0]


def _download_pages(
    source: SocrataSource,
    landing_dir: Path,
    progress: Progress,
    deadline: Deadline,
    count: int | None,
) -> list[Path]:
    """Page through the SODA API in a stable order (`:id`) until a short page. A page equal to
    the one before (a server ignoring $offset), more rows than the dataset reported (with room
    for rows added meanwhile) or fewer rows than it reported is an error."""
    pages: list[Path] = []
    offset = 0
    previous: list[Any] | None = None
    limit = None if count is None else count + source.page_size + count // 10
    while True:
        records, body = get_json_page(
            _resource_url(source),
            params={
                "$limit": str(source.page_size),
                "$offset": str(offset),
                "$order": ":id",
            },
            headers=_headers(source),
            settings=source,
            deadline=deadline,
            too_large=too_large_page(
                f"The Socrata API for {source.dataset_id}", source.page_size, offset
            ),
        )
        if not isinstance(records, list):
            message = records.get("message") if isinstance(records, dict) else None
            raise SourceError(
                f"Socrata API for {source.dataset_id} returned an error at offset {offset}"
                f"{f' ({message})' if message else ''}; check the dataset id and page_size."
            )
        if records and records == previous:
            raise SourceError(
                f"The Socrata API for {source.dataset_id} returned the same page of "
                f"{len(records):,} rows at offsets {offset - len(records):,} and {offset:,}: the "
                "server ignores $offset, so the dataset cannot be paged; use mode: export."
            )
        page = landing_dir / f"page-{len(pages) + 1:05d}.json"
        page.write_bytes(body)
        pages.append(page)
        offset += len(records)
        previous = records
        if limit is not None and offset > limit:
            raise SourceError(
                f"The Socrata API for {source.dataset_id} returned {offset:,} rows in "
                f"{len(pages)} pages, more rows than the {count:,} the dataset reports: the "
                "server does not page as asked; use mode: export."
            )
        progress(f"socrata {source.dataset_id}: {offset} rows", offset, count)
        if len(records) < source.page_size:
            break
    if count is not None and offset < count:
        raise SourceError(
            f"The Socrata API for {source.dataset_id} returned {offset:,} rows in {len(pages)} "
            f"pages where the dataset reports {count:,} (rows deleted while paging, or pages cut "
            "short); try again, and if it happens again, use mode: export."
        )
    return pages


def probe(source: SocrataSource) -> Upstream:
    """The dataset's `rowsUpdatedAt`, from its view metadata alone (retried at most
    `http.PROBE_RETRIES` times)."""
    checked = probe_settings(source)
    deadline = deadline_for(
        checked,
        f"the check of Socrata dataset {source.dataset_id} at {redact_url(source.domain)} "
        "for changes",
    )
    return upstream_from_metadata(fetch_view_metadata(checked, deadline))


SOURCE = SourceType(
    name="socrata", spec=SocrataSource, fetch=fetch, decides_format=True, probe=probe
)
