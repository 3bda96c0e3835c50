"""The records a build writes as JSON, typed and versioned: `build.json` (`BuildRecord`, the
commit point of `builds/<product>/<build id>/`) and a model's cache entry
(`CacheEntry`, `cache/<product>/<model>/<fingerprint>.json`).

Their shapes are frozen here, apart from the recipe and lock models they record, so that a
record written by any earlier version of the lakehouse still reads (see `VersionedRecord`).
The sub-models (`ContractsSummary`, `GitState`, `LockRecord`, `OutputRecord`) are shared with
the published version's record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from lakehouse.names import DatasetName
from lakehouse.records import Migration, Strict, Timestamp, VersionedRecord
from lakehouse.transform.seeds import seed_display_name

OUTPUTS_GROUP = "outputs"  # a recipe's outputs; `models/<name>` holds the models it keeps


class ContractsSummary(Strict):
    """The contract checks of a build: one line of counts, the checks that failed, and the
    model whose contract stopped the build (None if it ran to the end)."""

    summary: str
    seconds: float
    failed: list[str]
    stopped_at: str | None


UNCHECKED = ContractsSummary(summary="no contract checked", seconds=0.0, failed=[], stopped_at=None)


class GitState(Strict):
    """The commit the transforms came from and whether they had uncommitted changes (both None
    outside a git work tree)."""

    commit: str | None
    dirty: bool | None


class DatasetInputRecord(Strict):
    dataset: str
    version: str


class ProductInputRecord(Strict):
    product: str
    output: str
    build: str


def _absent(value: object) -> bool:
    return value is None


class SeedInputRecord(Strict):
    seed: str
    types: dict[str, str]


class RecipeRecord(Strict):
    """The recipe a build ran, as it was then."""

    name: str
    description: str
    owner: str
    inputs: dict[str, DatasetInputRecord | ProductInputRecord | SeedInputRecord]
    outputs: list[str]
    keep: list[str]
    # the product's metadata for destinations (absent from records without it)
    title: str | None = Field(default=None, exclude_if=_absent)
    tags: list[str] | None = Field(default=None, exclude_if=_absent)
    cadence: str | None = Field(default=None, exclude_if=_absent)
    attribution: str | None = Field(default=None, exclude_if=_absent)
    license: str | None = Field(default=None, exclude_if=_absent)


class LockedInputRecord(Strict):
    dataset: str | None
    product: str | None
    output: str | None
    version: str
    sha256: str
    # a seed's (absent from records without one, which keep their bytes)
    seed: str | None = Field(default=None, exclude_if=_absent)
    types: dict[str, str] | None = Field(default=None, exclude_if=_absent)

    @property
    def name(self) -> str:
        if self.seed is not None:
            return seed_display_name(self.seed)
        return self.dataset or f"{self.product}.{self.output}"


class LockRecord(Strict):
    """The lock a build read: every input's exact version and sha256."""

    product: str
    locked_at: datetime
    inputs: dict[str, LockedInputRecord]


class FingerprintParts(Strict):
    """What a model's fingerprint was made of (see transform/reuse.py): a digest of each part
    of its code (a function, class or module of the project's transforms, by dotted name),
    each input's fingerprint, the engine text and the CRS the dictionary declared. `lake plan`
    compares them with the current ones to say why a model is rebuilt."""

    code: dict[str, str]
    inputs: dict[str, str]
    engine: str
    crs: dict[str, str]


class ModelRunRecord(Strict):
    """How one model ran in a build (rows is None for a view; parts is None in a build.json of
    schema 1, written before fingerprint parts were recorded)."""

    layer: str
    fingerprint: str
    status: Literal["built", "cached", "view"]
    seconds: float
    rows: int | None
    parts: FingerprintParts | None = None


class OutputRecord(Strict):
    """One Parquet file a build wrote (path relative to its build or published folder):
    `sha256` of its bytes, `content_sha256` of its rows (equal for equal data, whatever wrote
    it)."""

    path: str
    rows: int
    bytes: int
    sha256: str
    content_sha256: str


def output_names(outputs: dict[str, OutputRecord]) -> list[str]:
    """The recipe's outputs among a record's files (`outputs/<name>`), in order."""
    return [key.split("/", 1)[1] for key in outputs if key.split("/", 1)[0] == OUTPUTS_GROUP]


def _record_no_parts(raw: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: each model's fingerprint parts were not recorded."""
    models = raw.get("models")
    if isinstance(models, dict):
        raw = {
            **raw,
            "models": {
                name: {**run, "parts": None} if isinstance(run, dict) else run
                for name, run in models.items()
            },
        }
    return raw


class BuildRecord(VersionedRecord):
    """`build.json`: what a build read, ran and wrote; written last, it commits the build.
    Schema 2 records each model's fingerprint parts."""

    SCHEMA_VERSION = 2
    MIGRATIONS: ClassVar[dict[int, Migration]] = {1: _record_no_parts}
    DESCRIPTION = "build record (build.json)"

    build_id: str
    # builds from before contracts (and engines) were recorded: passed, unchecked, on DuckDB
    status: Literal["passed", "failed"] = "passed"
    contracts: ContractsSummary = Field(default_factory=lambda: UNCHECKED)
    product: DatasetName
    engine: str = "duckdb"
    recipe: RecipeRecord
    lock: LockRecord
    git: GitState
    packages: dict[str, str]
    started_at: Timestamp
    finished_at: Timestamp
    order: list[str]
    models: dict[str, ModelRunRecord]
    outputs: dict[str, OutputRecord]  # "outputs/<name>" or "models/<name>" -> its file
    database: str  # the build's DuckDB database file, in the workspace where it ran

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def output_names(self) -> list[str]:
        return output_names(self.outputs)


class CacheEntry(VersionedRecord):
    """A model's result kept under its fingerprint: the Parquet file (relative to the store
    root), its rows, its content hash (for published models) and its columns' ibis types."""

    SCHEMA_VERSION = 1
    DESCRIPTION = "cache entry"

    model: str
    file: str
    rows: int
    content_sha256: str | None
    columns: dict[str, str] = Field(alias="schema")  # column -> ibis type
