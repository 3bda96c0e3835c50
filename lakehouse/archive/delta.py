"""Delta storage for a raw dataset: each archived version is one version of a Delta table.

Versions are written with `mode="overwrite"`, so Delta time travel to version N gives exactly
that archived version's rows. Old files and logs are never removed: no vacuum, and the expired
log clean-up is switched off, or time travel to old versions would break.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.archive.manifest import StoredFile, delta_table_folder
from lakehouse.store.storage import Store

if TYPE_CHECKING:
    import pyarrow.dataset as ds

KEEP_HISTORY: dict[str, str | None] = {
    "delta.enableExpiredLogCleanup": "false",
    "delta.logRetentionDuration": "interval 36500 days",
}


def current_version(store: Store, dataset: str) -> int | None:
    """The Delta table's newest version, or None when there is no table yet."""
    from deltalake import DeltaTable

    if not store.list_files(f"{delta_table_folder(dataset)}/_delta_log"):
        return None
    uri = store.url(delta_table_folder(dataset))
    return DeltaTable(uri, storage_options=store.delta_storage_options()).version()


def append_version(store: Store, dataset: str, data_file: Path) -> tuple[list[StoredFile], int]:
    """Write the Parquet file's rows as the table's next version; return its files and number."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import (
        DeltaTable,
        PostCommitHookProperties,
        WriterProperties,
        write_deltalake,
    )

    uri = store.url(delta_table_folder(dataset))
    options = store.delta_storage_options()
    write_deltalake(
        uri,
        pq.read_table(data_file),
        mode="overwrite",
        schema_mode="overwrite",
        configuration=KEEP_HISTORY,
        storage_options=options,
        writer_properties=WriterProperties(compression="ZSTD"),
        post_commithook_properties=PostCommitHookProperties(cleanup_expired_logs=False),
    )
    table = DeltaTable(uri, storage_options=options)
    version = table.version()
    prefix = delta_table_folder(dataset)
    data_paths = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
    stored = [f"{prefix}/{path}" for path in sorted(data_paths)]
    stored.append(f"{prefix}/_delta_log/{version:020d}.json")  # the commit itself
    files = []
    for rel in stored:
        sha, size = store.sha256(rel)
        files.append(StoredFile(path=rel, bytes=size, sha256=sha))
    return files, version


def undo_version(store: Store, dataset: str, previous: int | None) -> None:
    """After a failed commit: make the table current at `previous` again (history is kept)."""
    from deltalake import DeltaTable

    if previous is None:  # the failed ingest created the table: nothing refers to it
        store.remove_folder(delta_table_folder(dataset))
        return
    uri = store.url(delta_table_folder(dataset))
    from deltalake import PostCommitHookProperties

    DeltaTable(uri, storage_options=store.delta_storage_options()).restore(
        previous, post_commithook_properties=PostCommitHookProperties(cleanup_expired_logs=False)
    )


def read_version(store: Store, dataset: str, version: int) -> ds.Dataset:
    """The rows of one table version, as a pyarrow dataset."""
    from deltalake import DeltaTable

    table = DeltaTable(
        store.url(delta_table_folder(dataset)),
        version=version,
        storage_options=store.delta_storage_options(),
    )
    return table.to_pyarrow_dataset()
