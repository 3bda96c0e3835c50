"""The records QA writes as JSON, typed and versioned: an archived version's column profile
(`ProfileRecord`, `qa/profile.json` in its run folder), its drift from the version before
(`DriftRecord`, `qa/drift.json` beside it) and a diff between two builds (`DiffRecord`,
`builds/<product>/<build id>/qa/diff-<older side>.json`).

Each has the shape the QA dataclass it records (`TableProfile`, `SourceDrift`, `BuildDiff`) has
always written, field for field with the same defaults, so that every file written before the
records were versioned reads as version 1. Sample rows hold values as `json.dumps(...,
default=str)` wrote them (dates and decimals as text; see `as_written`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from lakehouse.qa.diff import BuildDiff
from lakehouse.qa.drift import SourceDrift
from lakehouse.qa.profile import ColumnProfile, TableProfile
from lakehouse.records import WRITES_NON_FINITE, Strict, VersionedRecord, as_written


class ColumnProfileRecord(Strict):
    """One column's profile (see `ColumnProfile`); `top` is [value as text, rows] pairs."""

    name: str
    type: str
    non_null: int
    distinct: int
    numeric: bool = False
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    top: list[tuple[str, int]] = Field(default_factory=list)

    def column_profile(self) -> ColumnProfile:
        return ColumnProfile(**{name: getattr(self, name) for name in type(self).model_fields})


class ProfileRecord(VersionedRecord):
    """`qa/profile.json`: an archived version's column profile, read back as the version before
    when the next one is compared with it."""

    SCHEMA_VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = "column profile (qa/profile.json)"

    rows: int
    columns: list[ColumnProfileRecord]

    @classmethod
    def of(cls, profile: TableProfile) -> ProfileRecord:
        return cls.model_validate(profile.to_dict())

    def table_profile(self) -> TableProfile:
        return TableProfile(self.rows, {c.name: c.column_profile() for c in self.columns})


class KeyOverlapRecord(Strict):
    """Rows by key: kept, added and removed, with a few keys of each (see `KeyOverlap`)."""

    key: list[str]
    kept: int
    added: int
    removed: int
    added_sample: list[dict[str, Any]] = Field(default_factory=list)
    removed_sample: list[dict[str, Any]] = Field(default_factory=list)


class ColumnDriftRecord(Strict):
    """One column in both versions (see `ColumnDrift`); `top` is [value, old rows, new rows]."""

    column: str
    old: ColumnProfileRecord | None
    new: ColumnProfileRecord | None
    null_rate_old: float | None
    null_rate_new: float | None
    top: list[tuple[str, int, int]] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)


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
    columns: list[ColumnDriftRecord]
    keys: KeyOverlapRecord | None
    flags: list[str]

    @classmethod
    def of(cls, drift: SourceDrift) -> DriftRecord:
        return cls.model_validate(as_written(drift.to_dict()))


class NumericShiftRecord(Strict):
    """min, max and mean of a numeric column on both sides of a diff."""

    column: str
    old_min: float | None
    old_max: float | None
    old_mean: float | None
    new_min: float | None
    new_max: float | None
    new_mean: float | None


class TableDiffRecord(Strict):
    """One output on both sides of a diff (see `TableDiff`): rows added, removed and changed by
    its key, changed rows per column, schema changes, numeric shifts and sample rows."""

    table: str
    key: list[str]
    old_rows: int
    new_rows: int
    identical: bool
    added: int = 0
    removed: int = 0
    changed: int = 0
    columns: dict[str, int] = Field(default_factory=dict)
    # absent from the diffs written before schema changes were compared (read as none)
    added_columns: list[str] = Field(default_factory=list)
    removed_columns: list[str] = Field(default_factory=list)
    retyped_columns: list[str] = Field(default_factory=list)
    numeric: list[NumericShiftRecord] = Field(default_factory=list)
    added_sample: list[dict[str, Any]] = Field(default_factory=list)
    removed_sample: list[dict[str, Any]] = Field(default_factory=list)
    changed_sample: list[dict[str, Any]] = Field(default_factory=list)


class DiffRecord(VersionedRecord):
    """`qa/diff-<older side>.json`: a diff between two builds of a product (see `BuildDiff`),
    read back when the newer build is published (its rows added, removed and changed)."""

    model_config = WRITES_NON_FINITE  # merged with VersionedRecord's

    SCHEMA_VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = "build diff (qa/diff-*.json)"

    product: str
    old: str  # the older side's label
    new: str
    tables: list[TableDiffRecord]
    removed_outputs: list[str] = Field(default_factory=list)  # absent from the earliest diffs

    @classmethod
    def of(cls, diff: BuildDiff) -> DiffRecord:
        return cls.model_validate(as_written(diff.to_dict()))
