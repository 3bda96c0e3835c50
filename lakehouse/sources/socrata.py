"""Socrata (NYC Open Data): the bulk CSV export, or the SODA API paged with $limit/$offset.

A template's `source: {type: socrata, domain: ..., dataset_id: ...}`; it needs no `format:`
(the export is CSV, the API's pages are JSON).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from lakehouse.errors import SourceError
from lakehouse.formats.csv import CsvFormat
from lakehouse.formats.json import JsonFormat
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType
from lakehouse.sources.http import HttpSettings, download, get_json, redact_url


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


def _headers(source: SocrataSource) -> dict[str, str]:
    if source.app_token_env and (token := os.environ.get(source.app_token_env)):
        return {"X-App-Token": token}
    return {}


def fetch_view_metadata(source: SocrataSource) -> dict[str, Any]:
    """The dataset's view metadata (name, rowsUpdatedAt, columns...)."""
    url = f"{source.domain.rstrip('/')}/api/views/{source.dataset_id}.json"
    metadata, _ = get_json(
        url,
        params=None,
        headers=_headers(source),
        timeout_seconds=source.timeout_seconds,
        retries=source.retries,
        backoff_seconds=source.backoff_seconds,
    )
    if not isinstance(metadata, dict) or "id" not in metadata:
        raise SourceError(
            f"{redact_url(url)} did not return Socrata view metadata; check domain and dataset_id."
        )
    return metadata


def fetch(source: SocrataSource, landing_dir: Path, progress: Progress) -> Fetched:
    metadata = fetch_view_metadata(source)
    updated = metadata.get("rowsUpdatedAt")
    details = {
        "name": metadata.get("name"),
        "rowsUpdatedAt": updated,
        "mode": source.mode,
    }
    version = version_from_epoch_seconds(updated) if isinstance(updated, int | float) else None
    if source.mode == "export":
        files = [_download_export(source, landing_dir, progress)]
        return Fetched(
            files=files,
            location=redact_url(_export_url(source)),
            source_version=version,
            format_override=CsvFormat(type="csv"),
            details=details,
        )
    pages = _download_pages(source, landing_dir, progress)
    details["pages"] = len(pages)
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


def _download_export(source: SocrataSource, landing_dir: Path, progress: Progress) -> Path:
    return download(
        _export_url(source),
        landing_dir / f"{source.dataset_id}.csv",
        params={"accessType": "DOWNLOAD"},
        expected="CSV data",
        timeout_seconds=source.timeout_seconds,
        retries=source.retries,
        backoff_seconds=source.backoff_seconds,
        progress=progress,
    )


def _download_pages(source: SocrataSource, landing_dir: Path, progress: Progress) -> list[Path]:
    """Page through the SODA API in a stable order (`:id`) until a short page."""
    pages: list[Path] = []
    offset = 0
    while True:
        records, body = get_json(
            _resource_url(source),
            params={
                "$limit": str(source.page_size),
                "$offset": str(offset),
                "$order": ":id",
            },
            headers=_headers(source),
            timeout_seconds=source.timeout_seconds,
            retries=source.retries,
            backoff_seconds=source.backoff_seconds,
        )
        if not isinstance(records, list):
            message = records.get("message") if isinstance(records, dict) else None
            raise SourceError(
                f"Socrata API for {source.dataset_id} returned an error at offset {offset}"
                f"{f' ({message})' if message else ''}; check the dataset id and page_size."
            )
        page = landing_dir / f"page-{len(pages) + 1:05d}.json"
        page.write_bytes(body)
        pages.append(page)
        offset += len(records)
        progress(f"socrata {source.dataset_id}: {offset} rows", offset, None)
        if len(records) < source.page_size:
            return pages


SOURCE = SourceType(name="socrata", spec=SocrataSource, fetch=fetch, decides_format=True)
