"""The records QA writes as JSON, typed and versioned: an archived version's column profile
(`ProfileRecord`, `qa/profile.json` in its run folder), its drift from the version before
(`DriftRecord`, `qa/drift.json` beside it) and a diff between two builds (`DiffRecord`,
`builds/<product>/<build id>/qa/diff-<older side>.json`).

Each has the shape the QA dataclass it records (`TableProfile`, `SourceDrift`, `BuildDiff`) has
always written, so that every file written before the records were versioned reads as version
1; their parts are those dataclasses' own (`ColumnProfile`, `ColumnDrift`, `TableDiff`...),
validated strictly (`STRICT_PART`). Sample rows hold values as `json.dumps(...,
default=str)` wrote them (dates and decimals as text; see `as_written`).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from lakehouse.qa.diff import BuildDiff, TableDiff
from lakehouse.qa.drift import ColumnDrift, KeyOverlap, SourceDrift
from lakehouse.qa.profile import ColumnProfile, TableProfile
from lakehouse.records import WRITES_NON_FINITE, VersionedRecord, as_written


class ProfileRecord(VersionedRecord):
    """`qa/profile.json`: an archived version's column profile, read back as the version before
    when the next one is compared with it."""

    SCHEMA_VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = "column profile (qa/profile.json)"

    rows: int
    columns: list[ColumnProfile]

    @classmethod
    def of(cls, profile: TableProfile) -> ProfileRecord:
        return cls.model_validate(profile.to_dict())

    def table_profile(self) -> TableProfile:
        return TableProfile(self.rows, {c.name: c for c in self.columns})


class DriftRecord(VersionedRecord):
    """`qa/drift.json`: what changed between an archived version and the version before (see
    `SourceDrift`); `renamed` holds [old, new] names, `retyped` [column, old type, new type]."""

    model_config = WRITES_NON_FINITE  # merged with VersionedRecord's

    SCHEMA_VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = "source drift (qa/drift.json)"

    dataset: str
    old_version: str
    new_version: str
    old_rows: int
    new_rows: int
    added: list[str]
    removed: list[str]
    renamed: list[tuple[str, str]]
    retyped: list[tuple[str, str, str]]
    columns: list[ColumnDrift]
    keys: KeyOverlap | None
    flags: list[str]

    @classmethod
    def of(cls, drift: SourceDrift) -> DriftRecord:
        return cls.model_validate(as_written(drift.to_dict()))


class DiffRecord(VersionedRecord):
    """`qa/diff-<older side>.json`: a diff between two builds of a product (see `BuildDiff`),
    read back when the newer build is published (its rows added, removed and changed)."""

    model_config = WRITES_NON_FINITE  # merged with VersionedRecord's

    SCHEMA_VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = "build diff (qa/diff-*.json)"

    product: str
    old: str  # the older side's label
    new: str
    tables: list[TableDiff]
    removed_outputs: list[str] = Field(default_factory=list)  # absent from the earliest diffs

    @classmethod
    def of(cls, diff: BuildDiff) -> DiffRecord:
        return cls.model_validate(as_written(diff.to_dict()))
