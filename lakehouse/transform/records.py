"""The records a build writes as JSON, typed and versioned: `build.json` (`BuildRecord`, the
commit point of `builds/<product>/<build id>/`) and a model's cache entry
(`CacheEntry`, `cache/<product>/<model>/<fingerprint>.json`).

Their shapes are frozen here, apart from the recipe and lock models they record, so that a
record written by any earlier version of the lakehouse still reads (see `VersionedRecord`).
The sub-models (`ContractsSummary`, `GitState`, `LockRecord`, `OutputRecord`) are shared with
the published version's record.

An output (or a cached result) is one Parquet file, or, written by an engine in parallel, a
folder of ordered parts that its record lists (`OutputRecord.parts`, `CacheEntry.parts`).
Every reader takes an output's files from `OutputRecord.files()`, in order (DuckDB may read
them all through `OutputRecord.source()`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, ClassVar, Literal, NamedTuple

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


class StoredFile(NamedTuple):
    """One Parquet file of an output or a cache entry, as its record says it must be: its path
    (relative to the folder of the record, or the store root for a cache entry), sha256 and
    size."""

    path: str
    sha256: str
    bytes: int


class OutputPart(Strict):
    """One part file of a result written in parts (by an engine that writes in parallel, such
    as Spark): its file name in the result's folder, rows, size and sha256. The rows of the
    result are those of its parts taken in the order they are recorded."""

    name: str
    rows: int
    bytes: int
    sha256: str


PART_GLOB = "part-*.parquet"
"""The parts of an output in a build or published folder, in order: `part-00000.parquet`, ..."""


def part_name(index: int) -> str:
    """The name of an output's part `index` in a build or published folder (ordered by name)."""
    return f"part-{index:05d}.parquet"


def parts_sha256(parts: list[OutputPart]) -> str:
    """The sha256 that stands for a result written in parts: of its parts' names and sha256s,
    in order (so it changes when any part's bytes, name or place changes)."""
    listing = "".join(f"{part.name} {part.sha256}\n" for part in parts)
    return hashlib.sha256(listing.encode()).hexdigest()


class OutputRecord(Strict):
    """One output a build wrote (path relative to its build or published folder): one Parquet
    file, or, with `parts`, a folder of ordered part files (`files()` lists them: every reader
    goes through it). `sha256` is of the file's bytes (with parts: `parts_sha256`),
    `content_sha256` of its rows (equal for equal data, whatever wrote it and in how many
    files)."""

    path: str
    rows: int
    bytes: int
    sha256: str
    content_sha256: str
    # the parts, in order (absent for one file, as in every record before parts)
    parts: list[OutputPart] | None = Field(default=None, exclude_if=_absent)

    def files(self) -> list[StoredFile]:
        """Its Parquet files in order, relative to the folder its record is in."""
        if self.parts is None:
            return [StoredFile(self.path, self.sha256, self.bytes)]
        return [StoredFile(f"{self.path}/{p.name}", p.sha256, p.bytes) for p in self.parts]

    def source(self) -> str:
        """What DuckDB's `read_parquet` reads for all its rows in order, relative to the folder
        its record is in: its file, or the glob of its parts (named in order, `PART_GLOB`, and
        alone in their folder: `lake verify` says so when another file is there)."""
        return self.path if self.parts is None else f"{self.path}/{PART_GLOB}"


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


def _single_files(raw: dict[str, Any]) -> dict[str, Any]:
    """A record of the schema before outputs could be written in parts: every output is one
    file (the shape is unchanged; the new version tells an older lakehouse, which would take
    a record with parts for a damaged one, to upgrade)."""
    return raw


class BuildRecord(VersionedRecord):
    """`build.json`: what a build read, ran and wrote; written last, it commits the build.
    Schema 2 records each model's fingerprint parts; schema 3 may record an output written in
    parts (`OutputRecord.parts`)."""

    SCHEMA_VERSION = 3
    MIGRATIONS: ClassVar[dict[int, Migration]] = {1: _record_no_parts, 2: _single_files}
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
    root) or, with `parts`, the folder of its ordered part files (as an engine that writes in
    parallel wrote them there), its rows, its content hash (for published models) and its
    columns' ibis types. Schema 2 may record parts."""

    SCHEMA_VERSION = 2
    MIGRATIONS: ClassVar[dict[int, Migration]] = {1: _single_files}
    DESCRIPTION = "cache entry"

    model: str
    file: str
    rows: int
    content_sha256: str | None
    columns: dict[str, str] = Field(alias="schema")  # column -> ibis type
    parts: list[OutputPart] | None = Field(default=None, exclude_if=_absent)

    def files(self) -> list[str]:
        """Its Parquet files in order, relative to the store root."""
        if self.parts is None:
            return [self.file]
        return [f"{self.file}/{part.name}" for part in self.parts]
