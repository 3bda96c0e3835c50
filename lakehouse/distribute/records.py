"""What every distribution did, kept in the store: one record per attempt, never changed,
`distributions/<product>/<destination>/<started>-<id>.json` (`lake distributions <product>`
lists them). A record names the version, when it started and finished, the checksum of what
was sent (`Delivery.checksum`) and each file's sha256, where it went (no secrets), the
destination's own id of what it made (a Socrata revision, ...), and the result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from lakehouse.records import Timestamp, VersionedRecord, parse_stored
from lakehouse.store.storage import Store

DISTRIBUTIONS_AREA = "distributions"


class DistributionRecord(VersionedRecord):
    SCHEMA_VERSION = 1
    DESCRIPTION = "distribution record"

    product: str
    version: str
    build_id: str
    destination: str
    type: str
    format: str
    location: str
    started_at: Timestamp
    finished_at: Timestamp
    result: Literal["sent", "failed"]
    message: str  # what happened, in one sentence (the error for a failure)
    checksum: str
    files: dict[str, str]  # path in the package -> sha256
    remote_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def record_path(product: str, destination: str, started: datetime) -> str:
    stamp = started.strftime("%Y%m%dT%H%M%S%fZ")
    return f"{DISTRIBUTIONS_AREA}/{product}/{destination}/{stamp}-{uuid.uuid4().hex[:6]}.json"


def keep_record(store: Store, record: DistributionRecord) -> str:
    path = record_path(record.product, record.destination, record.started_at)
    store.create_exclusive(path, record.to_json())
    return path


def distributions(store: Store, product: str) -> list[DistributionRecord]:
    """Every distribution of the product, oldest first (a damaged record is left out, with a
    warning naming it)."""
    import warnings

    from lakehouse.errors import IntegrityError, NewerRecordError
    from lakehouse.records import DamagedRecordWarning

    found = []
    for path in store.list_files(f"{DISTRIBUTIONS_AREA}/{product}"):
        if not path.endswith(".json") or path.rsplit("/", 1)[-1].startswith("."):
            continue
        try:
            found.append(_read(store, path))
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            warnings.warn(str(exc), DamagedRecordWarning, stacklevel=2)
    return sorted(found, key=lambda record: record.started_at)


def _read(store: Store, path: str) -> DistributionRecord:
    return parse_stored(DistributionRecord, lambda: store.read_bytes(path), store.url(path))


def already_sent(
    store: Store, product: str, destination: str, version: str, checksum: str
) -> DistributionRecord | None:
    """The last successful distribution of exactly this delivery to the destination."""
    for record in reversed(distributions(store, product)):
        if record.destination != destination or record.result != "sent":
            continue
        if record.version == version and record.checksum == checksum:
            return record
    return None
