"""Every file a build reads is checked before it is used: an archived version's data files
against the sha256s its manifest records, another product's build output against the sha256
its build.json records. A file replaced in the store, even by another valid Parquet file, stops
the build in one sentence instead of going into a product."""

from __future__ import annotations

from lakehouse.archive.manifest import Manifest
from lakehouse.errors import IntegrityError
from lakehouse.progress import Progress
from lakehouse.store.storage import Store
from lakehouse.transform.index import build_folder, find_build

ADVICE = "nothing was built: run `lake verify`, and restore it from a backup or ingest again"


def check_dataset_input(store: Store, manifest: Manifest, progress: Progress) -> None:
    """Each data file of the version is there, of its size and sha256."""
    for index, stored in enumerate(manifest.data_files):
        progress(f"checking {manifest.dataset} {manifest.version}", index, None)
        _check(store, stored.path, stored.sha256, stored.bytes,
               f"{manifest.dataset} {manifest.version}'s manifest")  # fmt: skip


def check_product_input(store: Store, product: str, build_id: str, output: str) -> None:
    """The build output (its file, or each of its parts) is there, of the size and sha256 its
    build.json records."""
    record = find_build(store, product, build_id)
    recorded = record.outputs.get(f"outputs/{output}")
    if recorded is None:
        raise IntegrityError(
            f"build {build_id} of {product!r} records no output {output!r}; {ADVICE}."
        )
    folder = build_folder(product, build_id)
    for file in recorded.files():  # one file, or each of its parts
        path = f"{folder}/{file.path}"
        _check(store, path, file.sha256, file.bytes, f"build {build_id}'s build.json")


def _check(store: Store, path: str, sha256: str, size: int, recorder: str) -> None:
    try:
        found, found_size = store.sha256(path)
    except FileNotFoundError:
        raise IntegrityError(f"{store.url(path)} is missing; {ADVICE}.") from None
    if found_size != size or found != sha256:
        raise IntegrityError(
            f"{store.url(path)} does not match the sha256 {recorder} records (the stored file "
            f"was changed or replaced); {ADVICE}."
        )
