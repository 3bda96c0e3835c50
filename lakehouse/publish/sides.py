"""The two sides of a diff: a build or a published version, named by a reference a person types
(a build id, `latest`, a published version, or `<product>/<reference>`)."""

from __future__ import annotations

from typing import Any

from lakehouse.publish.publish import (
    VERSION_PATTERN,
    find_published,
    latest_version,
    published_output_file_lists,
    published_output_files,
)
from lakehouse.publish.records import PublishRecord
from lakehouse.qa.diff import Side
from lakehouse.store.storage import Store
from lakehouse.transform.index import find_build, list_builds, output_file_lists, output_files
from lakehouse.transform.records import BuildRecord


def build_side(
    store: Store, reference: str | None, product: str, *, before: str | None = None
) -> Side:
    """One side of a diff. `reference` is a build id, `latest` (the latest build), a published
    version (25v1, a date), or any of these as `<product>/<reference>`. None with `before`
    (a build id) is the latest published version if it is another build, else the build
    before; with nothing before, an empty side (every row is then added)."""
    if reference and "/" in reference:
        product, reference = reference.split("/", 1)
    if reference is None and before is not None:
        latest = find_published(store, product) if latest_version(store, product) else None
        if latest is not None and latest.build_id != before:
            reference = latest.version
        else:
            builds = [b.build_id for b in list_builds(store, product)]
            position = builds.index(before)
            if position == 0:
                return Side(product, "nothing (the first build)", {})
            reference = builds[position - 1]
    if reference is not None and VERSION_PATTERN.fullmatch(reference):
        published = find_published(store, product, reference)
        label = f"published {published.version} (build {published.build_id})"
        outputs = _side_outputs(store, published)
        return Side(product, label, outputs, published.version, published.build_id)
    entry = find_build(store, product, reference)
    outputs = _side_outputs(store, entry)
    return Side(product, entry.build_id, outputs, entry.build_id, entry.build_id)


def entry_output_files(entry: BuildRecord | PublishRecord) -> dict[str, str]:
    """Output name -> what DuckDB's `read_parquet` reads for it (its file, or the glob of its
    parts), relative to the store root, for a build or a published version: a side's `url`."""
    if isinstance(entry, PublishRecord):
        return published_output_files(entry)
    return output_files(entry)


def entry_output_file_lists(entry: BuildRecord | PublishRecord) -> dict[str, list[str]]:
    """Output name -> its Parquet files in order (one, or its parts), relative to the store
    root, for a build or a published version."""
    if isinstance(entry, PublishRecord):
        return published_output_file_lists(entry)
    return output_file_lists(entry)


def _side_outputs(store: Store, entry: BuildRecord | PublishRecord) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "url": store.url(path),
            "content_sha256": entry.outputs[f"outputs/{name}"].content_sha256,
            "rows": entry.outputs[f"outputs/{name}"].rows,
        }
        for name, path in entry_output_files(entry).items()
    }
