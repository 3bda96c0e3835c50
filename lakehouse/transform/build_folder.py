"""The build folder, `builds/<product>/<build id>/`: a finished build's outputs copied from the
cache (a result in parts as `<output>/part-00000.parquet`...), each copy checked against the
sha256 its cache entry records; the lock it was built from; its contract report; and
build.json, created last as the commit point (a folder without it is an unfinished build)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.contracts.report import store_report
from lakehouse.errors import IntegrityError
from lakehouse.store.storage import Store
from lakehouse.transform.build_result import BuildResult, ModelRun
from lakehouse.transform.cache import recorded_sha256
from lakehouse.transform.index import BUILD_FILE
from lakehouse.transform.recipe import Lock, Recipe
from lakehouse.transform.records import (
    BuildRecord,
    ContractsSummary,
    FingerprintParts,
    GitState,
    LockRecord,
    ModelRunRecord,
    OutputPart,
    OutputRecord,
    RecipeRecord,
    part_name,
    parts_sha256,
)
from lakehouse.transform.reuse import ModelKey


@dataclass(frozen=True)
class BuildProvenance:
    """What build.json records of how a build was made: the recipe and lock it read, the
    engine and package versions it ran with, the project's git state."""

    recipe: Recipe
    lock: Lock
    engine: str
    packages: dict[str, str]
    git: dict[str, Any]


def _copy_parts(store: Store, result: BuildResult, run: ModelRun, key: str) -> OutputRecord:
    """Copy a result written in parts into the build folder as `<key>/part-00000.parquet`,
    ... (their order), each copy checked against the sha256 its cache entry records."""
    assert run.cache_parts is not None and run.rows is not None
    assert run.content_sha256 is not None
    parts = []
    for index, (source, part) in enumerate(zip(run.cache_files, run.cache_parts, strict=True)):
        target = f"{result.folder}/{key}/{part_name(index)}"
        store.copy(source, target)
        sha, size = store.sha256(target)
        if sha != part.sha256:
            raise IntegrityError(_changed(store.url(source), result, sha, part.sha256))
        parts.append(OutputPart(name=part_name(index), rows=part.rows, bytes=size, sha256=sha))
    return OutputRecord(
        path=key,
        rows=run.rows,
        bytes=sum(part.bytes for part in parts),
        sha256=parts_sha256(parts),
        content_sha256=run.content_sha256,
        parts=parts,
    )


def write_build_folder(
    store: Store, result: BuildResult, made: BuildProvenance, order: list[str], started: datetime
) -> None:
    """Fill the build's folder: each output (and kept model) copied from the cache, each copy
    checked against the sha256 it was written with; the lock; the contract report; and
    build.json, created last (exclusively): the build exists once it does."""
    runs = {run.name: run for run in result.models}
    for group, names in (("outputs", made.recipe.outputs), ("models", made.recipe.keep)):
        for name in names:
            if name not in runs:  # a contract stopped the build before this model
                continue
            run = runs[name]
            assert run.cache_file is not None and run.rows is not None
            assert run.content_sha256 is not None  # a written model's result is hashed
            if run.cache_parts is not None:
                output = _copy_parts(store, result, run, f"{group}/{name}")
                result.outputs[f"{group}/{name}"] = output
                continue
            target = f"{result.folder}/{group}/{name}.parquet"
            store.copy(run.cache_file, target)
            sha, size = store.sha256(target)
            written = recorded_sha256(run.cache_file)
            if written is not None and sha != written:
                url = store.url(run.cache_file)
                raise IntegrityError(_changed(url, result, sha, written))
            result.outputs[f"{group}/{name}"] = OutputRecord(
                path=f"{group}/{name}.parquet",
                rows=run.rows,
                bytes=size,
                sha256=sha,
                content_sha256=run.content_sha256,
            )
    store.write_bytes(f"{result.folder}/{made.recipe.name}.lock", made.lock.to_yaml().encode())
    if result.contracts.results:
        store_report(store, f"{result.folder}/contracts", result.contracts)
    record = BuildRecord(
        build_id=result.build_id,
        status="passed" if result.contracts.passed else "failed",
        contracts=ContractsSummary(
            summary=result.contracts.summary(),
            seconds=round(result.contract_seconds, 4),
            failed=[f"{r.table}.{r.rule}" for r in result.contracts.results if not r.passed],
            stopped_at=result.stopped_at,
        ),
        product=made.recipe.name,
        engine=made.engine,
        recipe=RecipeRecord.model_validate(made.recipe.model_dump(mode="json")),
        lock=LockRecord.model_validate(made.lock.model_dump(mode="json")),
        git=GitState.model_validate(made.git),
        packages=made.packages,
        started_at=started,
        finished_at=datetime.now(UTC),
        order=order,
        models={
            run.name: ModelRunRecord(
                layer=run.layer,
                fingerprint=run.fingerprint,
                status=run.status,
                seconds=round(run.seconds, 4),
                rows=run.rows,
                parts=_parts(run.key),
            )
            for run in result.models
        },
        outputs=result.outputs,
        database=str(result.database),
    )
    store.create_exclusive(f"{result.folder}/{BUILD_FILE}", record.to_json())


def _changed(url: str, result: BuildResult, sha: str, written: str) -> str:
    return (
        f"{url} changed while build {result.build_id} read it (sha256 {sha[:12]}..., written "
        f"as {written[:12]}...); run `lake verify`, then build again."
    )


def _parts(key: ModelKey | None) -> FingerprintParts | None:
    if key is None:
        return None
    return FingerprintParts(code=dict(key.code), inputs=key.inputs, engine=key.engine, crs=key.crs)
