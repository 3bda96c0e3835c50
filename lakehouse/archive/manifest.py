"""The manifest of an archived version: what was archived, from where, when, and its checksums.

`raw/<dataset>/<version>/manifest.json` is written last and exclusively: it is the commit point.
A version folder without one is an interrupted ingest, never a version.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

RAW_AREA = "raw"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


class StoredFile(BaseModel):
    """One stored file: path relative to the store root, size and sha256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    bytes: int
    sha256: str


class ColumnInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str


class SourceInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    location: str  # URL or path, never credentials
    format: str
    details: dict[str, Any] = {}


VersionOrigin = Literal["option", "template", "source metadata", "run date"]


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    manifest_format: int = MANIFEST_FORMAT
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
    steps: list[dict[str, Any]] = []
    template_sha256: str | None = None
    contract: dict[str, Any] | None = None  # the raw contract's summary, when the template has one
    qa: dict[str, Any] | None = None  # source QA against the version before: summary and flags
    tool: dict[str, str]
    run: dict[str, str]

    def to_json(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls.model_validate_json(data)


def dataset_folder(dataset: str) -> str:
    return f"{RAW_AREA}/{dataset}"


def version_folder(dataset: str, version: str) -> str:
    return f"{RAW_AREA}/{dataset}/{version}"


def manifest_path(dataset: str, version: str) -> str:
    return f"{version_folder(dataset, version)}/{MANIFEST_NAME}"


def delta_table_folder(dataset: str) -> str:
    return f"{RAW_AREA}/{dataset}/_delta"
