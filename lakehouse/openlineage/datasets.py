"""The datasets of run events: how the archive, builds, published versions, seeds and sources
are named (see the package's docstring), with their version, schema and statistics facets."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lakehouse.archive.archive import Archive
from lakehouse.archive.manifest import Manifest
from lakehouse.openlineage.events import facet
from lakehouse.store.storage import Store
from lakehouse.transform.index import product_output_files
from lakehouse.transform.recipe import LockedInput
from lakehouse.transform.records import LockedInputRecord, OutputRecord
from lakehouse.transform.seeds import seed_display_name

ARCHIVE = "archive"
BUILDS = "builds"
PUBLISHED = "published"
LOCAL_FILES = "file"  # the namespace of a local source file (OpenLineage's naming for them)

Dataset = dict[str, Any]
Pinned = LockedInput | LockedInputRecord  # an input of a lock file, or of a build's record


def store_namespace(store: Store) -> str:
    """The namespace of everything in the store: its root as a URL (file:///abs/path for a
    local store, s3://bucket/prefix), so that two stores (or environments) never mix."""
    return Path(store.root).as_uri() if store.is_local else store.root


def dataset(
    namespace: str,
    name: str,
    facets: dict[str, Any] | None = None,
    output_facets: dict[str, Any] | None = None,
) -> Dataset:
    found: Dataset = {"namespace": namespace, "name": name, "facets": facets or {}}
    if output_facets:
        found["outputFacets"] = output_facets
    return found


def schema_facet(columns: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return facet("schema", fields=[{"name": name, "type": kind} for name, kind in columns])


def version_facet(version: str) -> dict[str, Any]:
    return facet("version", datasetVersion=version)


def statistics_facet(rows: int, size: int, files: int) -> dict[str, Any]:
    return facet("outputStatistics", rowCount=rows, size=size, fileCount=files)


def archived(namespace: str, manifest: Manifest, *, written: bool = False) -> Dataset:
    """`archive/<dataset>` at a version, with the manifest's columns; `written`: the ingest
    that archived it (its rows, bytes and files as outputStatistics)."""
    facets = {
        "version": version_facet(manifest.version),
        "schema": schema_facet((column.name, column.type) for column in manifest.columns),
    }
    statistics = None
    if written:
        size = sum(stored.bytes for stored in manifest.data_files)
        statistics = {
            "outputStatistics": statistics_facet(manifest.row_count, size, len(manifest.data_files))
        }
    return dataset(namespace, f"{ARCHIVE}/{manifest.dataset}", facets, statistics)


def source(location: str) -> Dataset:
    """Where an ingest read its source: a URL as `scheme://host` and its path (with its query:
    the manifest's location never holds a credential), a local file as `file` and its path."""
    parts = urlsplit(location)
    if parts.scheme and parts.netloc:
        name = parts.path or "/"
        if parts.query:
            name = f"{name}?{parts.query}"
        return dataset(f"{parts.scheme}://{parts.netloc}", name)
    return dataset(LOCAL_FILES, location)


def build_output_name(product: str, output: str) -> str:
    return f"{BUILDS}/{product}/{output}"


def build_output(
    namespace: str,
    product: str,
    output: str,
    build_id: str,
    columns: Iterable[tuple[str, str]] | None = None,
    written: OutputRecord | None = None,
) -> Dataset:
    """`builds/<product>/<output>` at a build (its id the version)."""
    facets = {"version": version_facet(build_id)}
    if columns is not None:
        facets["schema"] = schema_facet(columns)
    return dataset(namespace, build_output_name(product, output), facets, _statistics(written))


def published(
    namespace: str,
    product: str,
    output: str,
    version: str,
    columns: Iterable[tuple[str, str]] | None = None,
    written: OutputRecord | None = None,
) -> Dataset:
    """`published/<product>/<output>` at a published version."""
    facets = {"version": version_facet(version)}
    if columns is not None:
        facets["schema"] = schema_facet(columns)
    return dataset(namespace, f"{PUBLISHED}/{product}/{output}", facets, _statistics(written))


def _statistics(written: OutputRecord | None) -> dict[str, Any] | None:
    if written is None:
        return None
    return {"outputStatistics": statistics_facet(written.rows, written.bytes, len(written.files()))}


def locked_input(store: Store, archive: Archive, pinned: Pinned) -> Dataset:
    """A build's input as its lock pins it: an archived dataset version (with the manifest's
    columns), another product's build output (with its Parquet file's columns), or a seed
    (`seeds/<name>.csv` at the version the lock gives its bytes)."""
    namespace = store_namespace(store)
    if pinned.dataset is not None:
        return archived(namespace, archive.manifest(pinned.dataset, pinned.version))
    if pinned.product is not None and pinned.output is not None:
        file = product_output_files(store, pinned.product, pinned.version, pinned.output)[0]
        return build_output(
            namespace,
            pinned.product,
            pinned.output,
            pinned.version,
            columns=parquet_columns(store, file),
        )
    name = seed_display_name(pinned.seed or "")
    return dataset(namespace, name, {"version": version_facet(pinned.version)})


def parquet_columns(store: Store, rel: str) -> list[tuple[str, str]]:
    """The columns (name, Arrow type) of a Parquet file of the store, from its footer."""
    schema = store.parquet_metadata(rel).schema.to_arrow_schema()
    return [(field.name, str(field.type)) for field in schema]
