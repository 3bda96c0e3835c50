"""The manifest of an archived version: what was archived, from where, when, and its checksums.

`raw/<dataset>/<version>/manifest.json` is written last and exclusively: it is the commit point.
A version folder without one is an interrupted ingest, never a version. Once it is written, a
copy goes into the run folder (`committed.json`): a run folder with that copy and no manifest
above it is a committed version whose manifest was lost (damage), not an interrupted ingest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from lakehouse.records import Migration, Strict, VersionedRecord

RAW_AREA = "raw"
MANIFEST_NAME = "manifest.json"
COMMITTED_RECORD_NAME = "committed.json"  # the manifest's copy in its run folder, after commit


class StoredFile(Strict):
    """One stored file: path relative to the store root, size and sha256."""

    path: str
    bytes: int
    sha256: str


class ColumnInfo(Strict):
    name: str
    type: str


class SourceInfo(Strict):
    type: str
    location: str  # URL or path, never credentials
    format: str
    details: dict[str, Any] = Field(default_factory=dict)


VersionOrigin = Literal["option", "template", "source metadata", "run date"]


class ContractWarning(Strict):
    """A rule of the raw contract that failed without stopping the ingest (severity warn)."""

    rule: str
    failing_rows: int
    sample_keys: list[dict[str, Any]]


class RawContractSummary(Strict):
    """The raw contract's check of the version: one line of counts, its report (`report.txt`
    in the run folder's `contract/`) and the warnings."""

    summary: str
    report: str | None = None  # absent from the manifests written before reports were kept
    warnings: list[ContractWarning]


class SourceQaSummary(Strict):
    """The source QA of the version: the version it was compared with and what was flagged, its
    drift as text and HTML (in the run folder's `qa/`); all None for a first version, and `html`
    absent from the manifests written before the HTML report."""

    against: str | None
    flags: list[str]
    report: str | None
    html: str | None = None


def _absent(value: Any) -> bool:
    return value is None


def _geometry_count(description: str) -> Any:
    """A count about the version's geometry: None (and left out of the record, so the records
    written before it read and write back as they were) when it does not apply."""
    return Field(default=None, ge=0, description=description, exclude_if=_absent)


def _without_manifest_format(record: dict[str, Any]) -> dict[str, Any]:
    """Version 1 named its shape `manifest_format: 1`; `schema_version` says it now."""
    return {key: value for key, value in record.items() if key != "manifest_format"}


class Manifest(VersionedRecord):
    SCHEMA_VERSION: ClassVar[int] = 2
    MIGRATIONS: ClassVar[dict[int, Migration]] = {1: _without_manifest_format}
    DESCRIPTION: ClassVar[str] = "manifest"

    dataset: str
    version: str
    version_origin: VersionOrigin
    source: SourceInfo
    extracted_at: datetime
    archived_at: datetime
    run_folder: str  # where this version's files live, below the version folder
    source_files: list[StoredFile]
    source_sha256: str  # identity of the original bytes, used for dedupe
    storage: Literal["parquet", "delta"]
    data_files: list[StoredFile]
    delta_version: int | None = None
    row_count: int
    columns: list[ColumnInfo]
    geometry_column: str | None = None
    geometry_crs: str | None = None  # e.g. EPSG:2263, as the source declared it
    invalid_geometries: int | None = _geometry_count(
        "geometries archived as they came that are not valid (a self-intersecting polygon...)"
    )
    unparsed_geometries: int | None = _geometry_count(
        "rows of a text source whose geometry value is not empty but did not parse (their "
        "geometry is NULL; the text is archived as it came)"
    )
    steps: list[dict[str, Any]] = Field(default_factory=list)
    template_sha256: str | None = None
    contract: RawContractSummary | None = None  # when the template has a raw contract
    qa: SourceQaSummary | None = None  # source QA against the version before
    tool: dict[str, str]
    run: dict[str, str]

    def to_json(self, indent: int | None = 2) -> bytes:
        return super().to_json(indent) + b"\n"

    def geometry_summary(self) -> str | None:
        """One line on the version's geometry, for listings (None without one):
        'geometry EPSG:4326, 1 invalid, 2 unparsed'."""
        if self.geometry_column is None:
            return None
        parts = [f"{self.geometry_column} {self.geometry_crs or '(no CRS)'}"]
        if self.invalid_geometries is not None:
            parts.append(f"{self.invalid_geometries:,} invalid")
        if self.unparsed_geometries is not None:
            parts.append(f"{self.unparsed_geometries:,} unparsed")
        return ", ".join(parts)


def dataset_folder(dataset: str) -> str:
    return f"{RAW_AREA}/{dataset}"


def version_folder(dataset: str, version: str) -> str:
    return f"{RAW_AREA}/{dataset}/{version}"


def manifest_path(dataset: str, version: str) -> str:
    return f"{version_folder(dataset, version)}/{MANIFEST_NAME}"


def delta_table_folder(dataset: str) -> str:
    return f"{RAW_AREA}/{dataset}/_delta"


def committed_record_path(run_folder: str) -> str:
    """Where the copy of a committed version's manifest lies in its run folder."""
    return f"{run_folder}/{COMMITTED_RECORD_NAME}"
