"""The records publishing writes as JSON, typed and versioned: a published version's
`publish.json` (`PublishRecord`, the commit point of `publish/<product>/<version>/`),
`publish/<product>/latest.json` (`LatestRecord`, which version is the latest). The claim a
publish or promote holds on a version folder while it writes it, `.claim.json`, is a writer
lease (`lakehouse.store.lease.Lease`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from lakehouse.names import DatasetName
from lakehouse.records import Migration, Strict, Timestamp, VersionedRecord
from lakehouse.transform.records import (
    ContractsSummary,
    GitState,
    LockRecord,
    OutputRecord,
    output_names,
)


def _absent(value: object) -> bool:
    return value is None


class TableChanges(Strict):
    """Rows added, removed and changed in one output, against what a QA diff compared with."""

    added: int
    removed: int
    changed: int
    identical: bool


class QASummary(Strict):
    """One QA report of the build: its file (in `qa/`) and, for a diff, what it was compared
    with and the changes per output (both absent for a report that is not a diff)."""

    report: str
    against: str | None = Field(default=None, exclude_if=_absent)
    tables: dict[str, TableChanges] | None = Field(default=None, exclude_if=_absent)


class Promotion(Strict):
    """Where a promoted copy came from: the environment, and when it was published there."""

    env: str
    published_at: Timestamp


def _single_files(raw: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: every output was one file (the shape is unchanged; the new version tells
    an older lakehouse, which would take a record with parts for a damaged one, to upgrade)."""
    return raw


class PublishRecord(VersionedRecord):
    """`publish.json`: a published version, its build and everything needed to trust it.
    Schema 2 may record an output written in parts (`OutputRecord.parts`)."""

    SCHEMA_VERSION = 2
    MIGRATIONS: ClassVar[dict[int, Migration]] = {1: _single_files}
    DESCRIPTION = "published version's record (publish.json)"

    product: DatasetName
    version: str
    build_id: str
    published_at: Timestamp
    git: GitState
    lock: LockRecord
    inputs: dict[str, str]  # alias -> "dataset version" (or "product.output build")
    contracts: ContractsSummary
    qa: list[QASummary]
    outputs: dict[str, OutputRecord]  # "outputs/<name>" or "models/<name>" -> its file
    packages: dict[str, str]
    promoted_from: Promotion | None = Field(default=None, exclude_if=_absent)

    def output_names(self) -> list[str]:
        return output_names(self.outputs)

    @property
    def first_published_at(self) -> datetime:
        """When this version was first published (a promoted copy: in its first environment)."""
        return self.promoted_from.published_at if self.promoted_from else self.published_at


class LatestRecord(VersionedRecord):
    """`latest.json`: the latest published version of a product."""

    SCHEMA_VERSION = 1
    DESCRIPTION = "latest-version pointer (latest.json)"

    version: str
