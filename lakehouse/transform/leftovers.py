"""What killed builds left: build folders without a `build.json` (the build's writer lease,
`.writer.json`, is the first thing written into its folder; its workspace database the second)
and the workspace databases of those builds."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

from lakehouse.store.lease import LEASE_FILE, Lease, is_abandoned
from lakehouse.store.storage import Store
from lakehouse.store.writers import (
    Leftover,
    folder_writer,
    lost_commit,
    read_lease,
    remove_file,
    remove_lease_last,
)
from lakehouse.transform.index import BUILD_FILE, BUILDS_AREA, build_folder

INTERRUPTED_BUILD = "an interrupted build"


def workspace_database(workspace: Path, product: str, build_id: str) -> Path:
    """The DuckDB database of a build (`lake sql` opens it)."""
    return workspace / product / f"{build_id}.duckdb"


def unfinished_builds(
    store: Store, workspace: Path | None, product: str | None = None
) -> list[Leftover]:
    """Build folders without a build.json (with their workspace database), and the lease a
    killed build left in a finished folder; each judged by its lease."""
    found = []
    products = [product] if product else store.list_folders(BUILDS_AREA)
    for name in products:
        for build_id in store.list_folders(f"{BUILDS_AREA}/{name}"):
            folder = build_folder(name, build_id)
            lease = f"{folder}/{LEASE_FILE}"
            if store.exists(f"{folder}/{BUILD_FILE}"):
                writer = read_lease(store, lease)
                if writer is not None:  # killed between its build.json and the lease's removal
                    found.append(_stray_lease(store, lease, writer))
                continue
            if lost_commit(store, folder, lease):
                continue  # damage: `lost_builds`
            writer, abandoned = folder_writer(store, folder)
            database = workspace_database(workspace, name, build_id) if workspace else None
            remove = functools.partial(_remove_build, store, folder, database)
            found.append(Leftover(folder, INTERRUPTED_BUILD, writer, abandoned, remove))
    return found


def lost_builds(store: Store) -> list[str]:
    """Build folders that hold files but no build.json and no lease of a run writing them: a
    finished build whose build.json was lost (damage, see `lost_commit`)."""
    return [
        folder
        for product in store.list_folders(BUILDS_AREA)
        for build_id in store.list_folders(f"{BUILDS_AREA}/{product}")
        if not store.exists(f"{(folder := build_folder(product, build_id))}/{BUILD_FILE}")
        and lost_commit(store, folder, f"{folder}/{LEASE_FILE}")
    ]


def _stray_lease(store: Store, path: str, writer: Lease) -> Leftover:
    return Leftover(path, "a finished build's lease", writer, is_abandoned(writer),
                    lambda: remove_file(store, path))  # fmt: skip


def _remove_build(store: Store, folder: str, database: Path | None) -> None:
    if database is not None:
        for path in (database, database.with_name(database.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    remove_lease_last(store, folder, f"{folder}/{LEASE_FILE}")
