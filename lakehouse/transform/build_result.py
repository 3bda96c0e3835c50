"""What a build did: each model's run (`ModelRun`: built, cached or a view, its result in the
cache) and the build's result (`BuildResult`: its models, outputs, contract report, what
stopped it), as `Builder.run` returns it and the build folder records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lakehouse.contracts.report import ContractReport
from lakehouse.transform.records import OutputPart, OutputRecord
from lakehouse.transform.reuse import ModelKey


@dataclass
class ModelRun:
    name: str
    layer: str
    fingerprint: str
    status: Literal["built", "cached", "view"]
    seconds: float
    rows: int | None = None  # None for views: they are computed inside their dependents
    content_sha256: str | None = None
    cache_file: str | None = None
    schema: dict[str, str] | None = None  # column -> ibis type, for tables
    key: ModelKey | None = None  # what the fingerprint is made of, recorded in build.json
    cache_parts: list[OutputPart] | None = None  # cache_file is a folder of these parts

    @property
    def cache_files(self) -> list[str]:
        """The result's Parquet files in the cache, in order (relative to the store root)."""
        if self.cache_file is None:
            return []
        if self.cache_parts is None:
            return [self.cache_file]
        return [f"{self.cache_file}/{part.name}" for part in self.cache_parts]


@dataclass
class BuildResult:
    build_id: str
    product: str
    folder: str  # relative to the store root
    database: Path
    models: list[ModelRun] = field(default_factory=list)
    outputs: dict[str, OutputRecord] = field(default_factory=dict)  # as in build.json
    contracts: ContractReport = field(default_factory=lambda: ContractReport("build"))
    contract_seconds: float = 0.0
    stopped_at: str | None = None  # the model whose contract stopped the build
    # damaged cache entries this build found, set aside and rebuilt: one sentence each
    damaged: list[str] = field(default_factory=list)
    # the models a selection ran (`select`): then nothing but the cache is written
    selected: list[str] = field(default_factory=list)

    @property
    def all_cached(self) -> bool:
        return all(run.status != "built" for run in self.models)
