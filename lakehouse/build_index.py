"""Where builds live and how to find them: `builds/<product>/<build id>/build.json`.

Kept apart from the build engine so that recipes can pin another product's build output as an
input without importing the engine.
"""

from __future__ import annotations

import json
from typing import Any

from lakehouse.errors import NotFoundError
from lakehouse.names import check_dataset_name
from lakehouse.storage import Store

BUILDS_AREA = "builds"
BUILD_FILE = "build.json"
LATEST_BUILD = "latest"


def build_folder(product: str, build_id: str) -> str:
    return f"{BUILDS_AREA}/{check_dataset_name(product)}/{build_id}"


def output_path(product: str, build_id: str, output: str) -> str:
    """A build's output file, relative to the store root."""
    return f"{build_folder(product, build_id)}/outputs/{output}.parquet"


def list_builds(store: Store, product: str) -> list[dict[str, Any]]:
    """Committed builds of a product (those with a build.json), oldest first."""
    builds = []
    base = f"{BUILDS_AREA}/{check_dataset_name(product)}"
    for build_id in store.list_folders(base):
        path = f"{base}/{build_id}/{BUILD_FILE}"
        if store.exists(path):
            builds.append(json.loads(store.read_bytes(path)))
    return sorted(builds, key=lambda b: b["started_at"])


def find_build(
    store: Store, product: str, build_id: str | None, *, passed_only: bool = False
) -> dict[str, Any]:
    """A build's metadata: the given build id, or the latest build (None or 'latest');
    `passed_only` skips builds that failed their contract."""
    found = list_builds(store, product)
    if passed_only:
        found = [entry for entry in found if entry.get("status", "passed") == "passed"]
    if not found:
        raise NotFoundError(f"{product!r} has no builds yet; run `lake build {product}`.")
    if build_id in (None, LATEST_BUILD):
        return found[-1]

    for entry in found:
        if entry["build_id"] == build_id:
            return entry
    raise NotFoundError(
        f"{product!r} has no build {build_id!r}; `lake builds {product}` lists them."
    )
