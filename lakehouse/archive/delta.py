"""Delta storage for a raw dataset: each archived version is one version of a Delta table.

Versions are written with `mode="overwrite"`, so Delta time travel to version N gives exactly
that archived version's rows. Old files and logs are never removed: no vacuum, and the expired
log clean-up is switched off, or time travel to old versions would break.

Concurrent ingests of one dataset follow delta-rs's conflict rules: each commit is its own log
file, created only if absent, and an overwrite that another commit beat is refused
(`CommitFailedError`), so it is written again on the new table, a bounded number of times.
Which version is ours is read from the log (our commit carries the ingest's run id), never
assumed to be the newest, and it must hold exactly the files our commit added: two overwrites
racing on a table that has no files yet are both let through, the second keeping the first's
files, and such a version is written again.

An ingest that cannot use its commit (its manifest could not be written, or its bytes turned
out to be archived already) undoes only that commit, and only while it is still the table's
newest: a commit of the rows of the version before it (no rows when it was the first), which
delta-rs refuses if another commit came in between. No file of the table is ever removed.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from lakehouse.archive.manifest import StoredFile, delta_table_folder
from lakehouse.errors import IntegrityError, StorageError
from lakehouse.store.storage import Store

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

KEEP_HISTORY: dict[str, str | None] = {
    "delta.enableExpiredLogCleanup": "false",
    "delta.logRetentionDuration": "interval 36500 days",
}
RUN_KEY = "lakehouse.run"  # commit info: the ingest (run id) and attempt that wrote the commit
WRITE_ATTEMPTS = 20  # writes of one version beaten by concurrent commits before giving up
BACKOFF_SECONDS = 0.05  # the most a retry waits, times the attempt number (jittered)
COMMIT_FILE = re.compile(r"(\d{20})\.json")  # a commit in _delta_log: its version, 20 digits


@dataclass(frozen=True)
class DeltaCommit:
    """One table version written by an ingest: its number and its files (data, then log)."""

    version: int
    files: list[StoredFile]


def append_version(store: Store, dataset: str, data_file: Path, run: str) -> DeltaCommit:
    """Write the Parquet file's rows as a new version of the table (an overwrite), retrying
    when a concurrent commit wins; return our version and its files. `run` identifies the
    ingest in the commit (its run id). The version is checked to hold exactly our rows."""
    import pyarrow.parquet as pq
    from deltalake import (
        CommitProperties,
        PostCommitHookProperties,
        WriterProperties,
        write_deltalake,
    )
    from deltalake.exceptions import CommitFailedError

    rows = pq.read_table(data_file)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        mark = f"{run}/{attempt}"  # this write's commit, among this run's others
        try:
            write_deltalake(
                store.url(delta_table_folder(dataset)),
                rows,
                mode="overwrite",
                schema_mode="overwrite",
                configuration=KEEP_HISTORY,
                storage_options=store.delta_storage_options(),
                writer_properties=WriterProperties(compression="ZSTD"),
                commit_properties=CommitProperties(custom_metadata={RUN_KEY: mark}),
                post_commithook_properties=PostCommitHookProperties(cleanup_expired_logs=False),
            )
        except CommitFailedError as exc:  # another ingest committed first: write it again
            if attempt == WRITE_ATTEMPTS:
                raise _beaten(dataset, exc) from exc
            time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))
            continue
        version, added = _commit_of(store, dataset, mark)
        data_paths = _data_paths(_table(store, dataset, version))
        if {unquote(path) for path in data_paths} == set(added):
            return DeltaCommit(version, _commit_files(store, dataset, data_paths, version))
        # Our overwrite kept another commit's files: writes racing on a table without files
        # (being created, or emptied) are both taken as appends. Write again on the table as it
        # is now; that commit stays in the history, and no version refers to it.
    raise _beaten(dataset, None)


def _beaten(dataset: str, exc: Exception | None) -> StorageError:
    why = f" ({exc})" if exc is not None else ""
    return StorageError(
        f"{dataset}: {WRITE_ATTEMPTS} concurrent commits to its Delta table beat this ingest's"
        f"{why}; nothing was archived, run it again."
    )


def undo_commit(store: Store, dataset: str, version: int) -> None:
    """After a failed or unneeded commit: make the table hold what it held before our
    `version`, if that is still the newest (a later commit replaced it already: nothing to
    undo). A new commit on the snapshot where ours is the newest, so delta-rs refuses it if
    another commit came in between; no file is removed, history is kept."""
    from deltalake import PostCommitHookProperties, WriterProperties, write_deltalake
    from deltalake.exceptions import CommitFailedError

    table = _table(store, dataset)
    if table.version() != version:
        return
    keep_logs = PostCommitHookProperties(cleanup_expired_logs=False)
    try:
        if version == 0:  # nothing before it: the same table without rows
            table.delete(post_commithook_properties=keep_logs)
        else:  # the rows of the version before (what `restore` does, without holding the GIL)
            before = _table(store, dataset, version - 1).to_pyarrow_dataset()
            write_deltalake(
                table,
                before.scanner().to_reader(),
                mode="overwrite",
                schema_mode="overwrite",
                configuration=KEEP_HISTORY,
                writer_properties=WriterProperties(compression="ZSTD"),
                post_commithook_properties=keep_logs,
            )
    except CommitFailedError:
        return  # a concurrent commit came first: it is the table's newest version now


def read_version(
    store: Store, dataset: str, version: int, recorded: list[StoredFile]
) -> ds.Dataset:
    """The rows of one table version, as a pyarrow dataset, once the table's log is found to
    give it exactly the files its manifest records (`recorded`), its own log entry unchanged:
    a damaged log never serves other rows as the version."""
    table = _table(store, dataset, version)
    prefix = delta_table_folder(dataset)
    given = {f"{prefix}/{path}" for path in _data_paths(table)}
    expected = {f.path for f in recorded if f.path.endswith(".parquet")}
    entries = [f for f in recorded if "/_delta_log/" in f.path]
    changed = [f.path for f in entries if store.sha256(f.path) != (f.sha256, f.bytes)]
    if given != expected or changed:
        raise IntegrityError(
            f"{store.url(prefix)}: the Delta log does not give {dataset} version {version} the "
            "files its manifest records (the log was changed or damaged), so it is not read; "
            "run `lake verify`, and restore the log from a backup."
        )
    return table.to_pyarrow_dataset()


def _table(store: Store, dataset: str, version: int | None = None) -> DeltaTable:
    from deltalake import DeltaTable

    return DeltaTable(
        store.url(delta_table_folder(dataset)),
        version=version,
        storage_options=store.delta_storage_options(),
    )


def _commit_of(store: Store, dataset: str, mark: str) -> tuple[int, list[str]]:
    """The version whose commit carries `mark`, and the files that commit added, read from the
    log's commit files (newest first: ours is among the last few; each is named by its
    version)."""
    log = f"{delta_table_folder(dataset)}/_delta_log"
    commits = sorted(
        (int(match[1]), rel)
        for rel in store.list_files(log)
        if (match := COMMIT_FILE.fullmatch(rel.rsplit("/", 1)[-1]))
    )
    for version, rel in reversed(commits):
        actions = [json.loads(line) for line in store.read_bytes(rel).splitlines() if line.strip()]
        info: dict[str, Any] = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        if info.get(RUN_KEY) == mark:
            return version, [unquote(a["add"]["path"]) for a in actions if "add" in a]
    raise StorageError(
        f"{dataset}: the commit this ingest wrote is not in its Delta table's log; nothing was "
        "archived, run `lake verify` and the ingest again."
    )


def _data_paths(table: DeltaTable) -> list[str]:
    """The data files of a table version, relative to the table's folder."""
    import pyarrow as pa

    return [str(path) for path in pa.table(table.get_add_actions(flatten=True)).column("path")]


def _commit_files(
    store: Store, dataset: str, data_paths: list[str], version: int
) -> list[StoredFile]:
    """The data files of table version `version` and its log entry, with their checksums."""
    prefix = delta_table_folder(dataset)
    stored = [f"{prefix}/{path}" for path in sorted(data_paths)]
    stored.append(f"{prefix}/_delta_log/{version:020d}.json")  # the commit itself
    files = []
    for rel in stored:
        sha, size = store.sha256(rel)
        files.append(StoredFile(path=rel, bytes=size, sha256=sha))
    return files
