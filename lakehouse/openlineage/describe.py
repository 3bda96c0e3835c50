"""What each run read and wrote, as OpenLineage datasets: an ingest's source and archived
version, a build's locked inputs and outputs (with their columns' lineage), a publish's build
and published version. Read from the records the runs leave (manifest, build.json,
publish.json), so an event says what was committed."""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.archive.archive import Archive, IngestResult
from lakehouse.config import LakehouseConfig
from lakehouse.errors import LakehouseError
from lakehouse.openlineage.columns import DatasetRef, column_lineage_facet, identity_facet
from lakehouse.openlineage.datasets import (
    Dataset,
    archived,
    build_output,
    build_output_name,
    locked_input,
    parquet_columns,
    published,
    source,
    store_namespace,
)
from lakehouse.openlineage.run import Described, guarded
from lakehouse.publish.reading import published_output_file_lists
from lakehouse.publish.records import PublishRecord
from lakehouse.store.storage import Store
from lakehouse.transform.builder import BuildResult
from lakehouse.transform.index import find_build, read_build
from lakehouse.transform.lineage import Lineage, input_schemas, product_lineage
from lakehouse.transform.models import load_models
from lakehouse.transform.products import product_lock, seed_schemas
from lakehouse.transform.recipe import Lock, load_recipe
from lakehouse.transform.records import BuildRecord


@dataclass(frozen=True)
class Project:
    """What describing a run reads: the project's folders, its store and archive."""

    config: LakehouseConfig
    archive: Archive

    @property
    def store(self) -> Store:
        return self.archive.store

    @property
    def namespace(self) -> str:
        return store_namespace(self.store)


def ingest_described(project: Project, result: IngestResult) -> Described:
    """The source an ingest read and the version it archived (or found unchanged: then the
    version it already had, without outputStatistics, as nothing was written)."""
    manifest = result.manifest
    written = result.status == "archived"
    output = archived(project.namespace, manifest, written=written)
    return [source(manifest.source.location)], [output]


def lock_inputs(project: Project, product: str, *, latest: bool) -> list[Dataset]:
    """The inputs a build of `product` is about to read: its lock (or the latest versions).
    Empty when the lock cannot be read: the build then fails for that reason, which FAIL says."""
    try:
        recipe = load_recipe(project.config.recipes_dir, product)
        lock = product_lock(project.config, project.archive, recipe, latest=latest)
    except LakehouseError:
        return []
    return [locked_input(project.store, project.archive, p) for p in lock.inputs.values()]


def build_described(project: Project, result: BuildResult) -> Described:
    """A committed build's inputs (its build.json's lock) and its outputs, each with its
    columns and their lineage."""
    record = read_build(project.store, result.product, result.build_id)
    pinned = record.lock.inputs
    inputs = [locked_input(project.store, project.archive, p) for p in pinned.values()]
    refs = {alias: (d["namespace"], d["name"]) for alias, d in zip(pinned, inputs, strict=True)}
    lineage = guarded(lambda: build_lineage(project, record), None, f"{record.product}'s columns")
    schemas = {run.name: run.schema for run in result.models if run.schema is not None}
    outputs = [
        _build_output(project, record, name, schemas.get(name), lineage, refs)
        for name in record.output_names()
    ]
    return inputs, outputs


def _build_output(
    project: Project,
    record: BuildRecord,
    name: str,
    schema: dict[str, str] | None,
    lineage: Lineage | None,
    refs: dict[str, DatasetRef],
) -> Dataset:
    output = build_output(
        project.namespace,
        record.product,
        name,
        record.build_id,
        columns=schema.items() if schema is not None else None,
        written=record.outputs[f"outputs/{name}"],
    )
    if lineage is not None and (found := column_lineage_facet(lineage, name, refs)):
        output["facets"]["columnLineage"] = found
    return output


def build_lineage(project: Project, record: BuildRecord) -> Lineage:
    """The column lineage of a build's outputs, traced from the inputs its lock pinned (as
    `Lakehouse.lineage()` traces it from the lock file)."""
    lock = Lock.model_validate(record.lock.model_dump(exclude_none=True))
    models = load_models(project.config.transforms_dir, record.product)
    archived_inputs = {alias: p for alias, p in lock.inputs.items() if p.seed is None}
    schemas = input_schemas(
        project.archive, project.store, lock.model_copy(update={"inputs": archived_inputs})
    )
    schemas.update(seed_schemas(project.config, project.store, lock))
    return product_lineage(record.product, models, lock, record.recipe.outputs, schemas)


def publish_inputs(project: Project, product: str, build_id: str | None) -> list[Dataset]:
    """The outputs of the build a publish is about to copy (default: the latest); none when
    there is no such build (the publish fails, and its FAIL says so)."""
    try:
        entry = find_build(project.store, product, build_id)
    except LakehouseError:
        return []
    return [
        build_output(project.namespace, product, name, entry.build_id)
        for name in entry.output_names()
    ]


def publish_described(project: Project, record: PublishRecord) -> Described:
    """The build outputs a publish copied and the published outputs, each of whose columns is
    its build output's column, unchanged."""
    namespace, product = project.namespace, record.product
    inputs, outputs = [], []
    for name in record.output_names():
        inputs.append(build_output(namespace, product, name, record.build_id))
        first = published_output_file_lists(record)[name][0]  # (parts: the same columns)
        columns = parquet_columns(project.store, first)
        output = published(
            namespace,
            product,
            name,
            record.version,
            columns=columns,
            written=record.outputs[f"outputs/{name}"],
        )
        source_name = build_output_name(product, name)
        output["facets"]["columnLineage"] = identity_facet(
            [column for column, _ in columns], namespace, source_name
        )
        outputs.append(output)
    return inputs, outputs
