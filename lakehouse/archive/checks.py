"""The last time each dataset's source was fetched: `checks/<dataset>.json` in the store.

A source that is fetched on its cadence and found unchanged (the same bytes as its latest
version) makes no new version, yet it is as fresh as a source that did: freshness is judged
from the last fetch, which this record keeps, with what the source said then (its edit date,
ETag...: `marker`), so that `lake status` compares the source's news with what was last seen
rather than with an older version's. It is state, not history: each fetch replaces it, and
archived versions never depend on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from lakehouse.archive.archive import IngestResult
from lakehouse.errors import IntegrityError
from lakehouse.records import Timestamp, VersionedRecord
from lakehouse.store.storage import Store
from lakehouse.store.writers import abandoned_temporaries, remove_abandoned

CHECKS_AREA = "checks"


class SourceCheck(VersionedRecord):
    """One fetch of a dataset's source: when, what it gave, and what the source said."""

    DESCRIPTION = "source check"

    dataset: str
    checked_at: Timestamp
    outcome: Literal["archived", "unchanged"]
    version: str  # the version the fetch archived, or whose bytes it found again
    marker: dict[str, Any]  # the fetch's details (rowsUpdatedAt, etag, ...)


def check_path(dataset: str) -> str:
    return f"{CHECKS_AREA}/{dataset}.json"


def record_check(store: Store, dataset: str, result: IngestResult) -> SourceCheck:
    """Keep what this (not dry-run) ingest of `dataset` found, replacing the last check (and
    removing what a run killed while writing one left)."""
    remove_abandoned(abandoned_temporaries(store, CHECKS_AREA))
    check = SourceCheck(
        dataset=dataset,
        checked_at=datetime.now(UTC),
        outcome=result.status,
        version=result.version,
        marker=result.source_details,
    )
    store.write_bytes(check_path(dataset), check.to_json())
    return check


def read_check(store: Store, dataset: str) -> SourceCheck | None:
    """The last check of `dataset`, or None when there is none (or it is damaged: a check is
    only a hint, and the next fetch writes it again)."""
    try:
        data = store.read_bytes(check_path(dataset))
    except FileNotFoundError:
        return None
    try:
        return SourceCheck.from_json(data, store.url(check_path(dataset)))
    except IntegrityError:
        return None
