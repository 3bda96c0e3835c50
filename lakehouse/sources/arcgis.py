"""ArcGIS FeatureServer layers: `/query` paged with resultOffset, as GeoJSON.

A template's `source: {type: arcgis, url: .../FeatureServer/<n>}`; it needs no `format:`. A
page, like every JSON answer, is read into memory whole: one of more than
`pages.MAX_PAGE_BYTES` is refused as it arrives (lower `page_size`).

`probe` asks for the layer's metadata alone (`<layer url>?f=json`: no query, no page) and
reports its `editingInfo.lastEditDate` (epoch milliseconds; the last edit of the data or of the
schema: a new field changes what a fetch lands too) as `{"lastEditDate": <ms>}`. A layer whose
metadata has no `lastEditDate` is reported by its `dataLastEditDate`, under that key:
`{"dataLastEditDate": <ms>}`. The fetch records both keys in the manifest's source details
(None when the layer does not say), so either marker has its recorded value to be compared
with; a layer that says neither gives an empty marker (nothing to compare). The version stays
the YYYYMMDD of `dataLastEditDate`, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from lakehouse.errors import SourceError
from lakehouse.formats.geojson import GeoJsonFormat
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType, Upstream
from lakehouse.sources.http import HttpSettings, deadline_for, probe_settings, redact_url
from lakehouse.sources.http_body import Deadline
from lakehouse.sources.pages import (
    datetime_from_epoch,
    get_json_page,
    json_number,
    too_large_page,
)

DEFAULT_MAX_RECORD_COUNT = 1000
EDIT_DATE_KEYS = ("lastEditDate", "dataLastEditDate")  # the probe's marker: the first present


class ArcgisSource(SourceSpec, HttpSettings):
    type: Literal["arcgis"]
    url: str = Field(description="a FeatureServer layer URL ending in /FeatureServer/<n>")
    where: str = "1=1"
    page_size: int | None = Field(default=None, gt=0)

    @field_validator("url")
    @classmethod
    def _layer_url(cls, url: str) -> str:
        tail = url.rstrip("/").rsplit("/", 2)
        if len(tail) < 3 or tail[-2] != "FeatureServer" or not tail[-1].isdigit():
            raise ValueError("must be a layer URL ending in /FeatureServer/<layer number>")
        return url.rstrip("/")


def version_from_epoch_millis(millis: int | float) -> str:
    """ArcGIS dates are epoch milliseconds; a version is their UTC date as YYYYMMDD."""
    return datetime.fromtimestamp(millis / 1000, tz=UTC).strftime("%Y%m%d")


def editing_info(metadata: dict[str, Any]) -> dict[str, Any]:
    """The layer metadata's `editingInfo` (an empty mapping when it has none)."""
    info = metadata.get("editingInfo")
    return info if isinstance(info, dict) else {}


def upstream_from_metadata(metadata: dict[str, Any]) -> Upstream:
    """What the layer metadata says of its last edit: `lastEditDate`, or `dataLastEditDate`
    when it lacks that (see the module's docstring)."""
    info = editing_info(metadata)
    for key in EDIT_DATE_KEYS:
        millis = json_number(info.get(key))
        if millis is not None:
            return Upstream(marker={key: millis}, edited_at=datetime_from_epoch(millis / 1000))
    return Upstream(marker={})


def _get(
    source: ArcgisSource,
    url: str,
    params: dict[str, str],
    deadline: Deadline | None = None,
    too_large: Callable[[int], str] | None = None,
) -> tuple[dict[str, Any], bytes]:
    document, body = get_json_page(
        url, params=params, settings=source, deadline=deadline, too_large=too_large
    )
    if not isinstance(document, dict):
        raise SourceError(f"{redact_url(url)} did not return a JSON object; check the layer URL.")
    if "error" in document:  # ArcGIS reports errors with HTTP 200
        error = document["error"] or {}
        raise SourceError(
            f"ArcGIS server at {redact_url(url)} reported error {error.get('code')}: "
            f"{error.get('message')}; check the layer URL and query."
        )
    return document, body


def fetch_layer_metadata(source: ArcgisSource, deadline: Deadline | None = None) -> dict[str, Any]:
    metadata, _ = _get(source, source.url, {"f": "json"}, deadline)
    return metadata


def _more_pages(page: dict[str, Any]) -> bool:
    properties = page.get("properties") or {}
    return bool(page.get("exceededTransferLimit") or properties.get("exceededTransferLimit"))


def fetch(source: ArcgisSource, landing_dir: Path, progress: Progress) -> Fetched:
    deadline = deadline_for(source, f"the fetch of ArcGIS layer {redact_url(source.url)}")
    metadata = fetch_layer_metadata(source, deadline)
    max_records = int(metadata.get("maxRecordCount") or DEFAULT_MAX_RECORD_COUNT)
    page_size = min(source.page_size or max_records, max_records)
    order_field = metadata.get("objectIdField") or "OBJECTID"
    edited = editing_info(metadata).get("dataLastEditDate")
    pages: list[Path] = []
    offset = 0
    while True:
        page, body = _get(
            source,
            f"{source.url}/query",
            {
                "where": source.where,
                "outFields": "*",
                "f": "geojson",
                "orderByFields": order_field,
                "resultOffset": str(offset),
                "resultRecordCount": str(page_size),
            },
            deadline,
            too_large_page(f"The ArcGIS layer {redact_url(source.url)}", page_size, offset),
        )
        features = page.get("features")
        if page.get("type") != "FeatureCollection" or not isinstance(features, list):
            raise SourceError(
                f"{redact_url(source.url)}/query did not return a GeoJSON FeatureCollection; "
                "check that the server supports f=geojson."
            )
        if not features and pages:
            break
        if pages and body == pages[-1].read_bytes():
            raise SourceError(
                f"{redact_url(source.url)} returned the same page twice; the server seems to "
                "ignore resultOffset (paging unsupported), so the layer cannot be read whole."
            )
        path = landing_dir / f"page-{len(pages) + 1:05d}.geojson"
        path.write_bytes(body)
        pages.append(path)
        offset += len(features)
        progress(f"arcgis {metadata.get('name', 'layer')}: {offset} features", offset, None)
        if not _more_pages(page) or not features:
            break
    return Fetched(
        files=pages,
        location=redact_url(source.url),
        source_version=version_from_epoch_millis(edited)
        if isinstance(edited, int | float)
        else None,
        format_override=GeoJsonFormat(type="geojson"),
        details={
            "name": metadata.get("name"),
            "lastEditDate": editing_info(metadata).get("lastEditDate"),
            "dataLastEditDate": edited,
            "pages": len(pages),
        },
    )


def probe(source: ArcgisSource) -> Upstream:
    """The layer's last edit date, from its metadata alone (retried at most
    `http.PROBE_RETRIES` times)."""
    checked = probe_settings(source)
    deadline = deadline_for(
        checked, f"the check of ArcGIS layer {redact_url(source.url)} for changes"
    )
    return upstream_from_metadata(fetch_layer_metadata(checked, deadline))


SOURCE = SourceType(name="arcgis", spec=ArcgisSource, fetch=fetch, decides_format=True, probe=probe)
