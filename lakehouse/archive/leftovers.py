"""The run folders of a dataset that no manifest refers to, in two kinds: the data of a
committed version whose manifest is gone or replaced (damage: the run folder holds the copy of
its manifest written after the commit, or a later version's QA was compared with the version),
and what an unfinished ingest left (a leftover, judged by the writer lease an ingest writes
first into its run folder and removes after its commit)."""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.archive.manifest import (
    COMMITTED_RECORD_NAME,
    MANIFEST_NAME,
    Manifest,
    committed_record_path,
    dataset_folder,
    manifest_path,
)
from lakehouse.store.storage import Store
from lakehouse.store.writers import Leftover, folder_leftover

INTERRUPTED_INGEST = "an interrupted ingest"


@dataclass(frozen=True)
class OrphanedRun:
    """The data of a committed version whose manifest is lost: damage, never removed."""

    version: str
    folder: str
    reason: str


def unreferenced_runs(
    store: Store, dataset: str, with_manifest: list[str], manifests: list[Manifest]
) -> tuple[list[OrphanedRun], list[Leftover]]:
    """Run folders no readable manifest points to: orphaned data, and leftovers. The runs of a
    version whose manifest is there but unreadable are neither (that version is damaged)."""
    base = dataset_folder(dataset)
    referenced = {manifest.run_folder for manifest in manifests}
    readable = {manifest.version for manifest in manifests}
    unreadable = set(with_manifest) - readable
    compared_with = {
        manifest.qa.against: manifest.version
        for manifest in manifests
        if manifest.qa is not None and manifest.qa.against is not None
    }
    orphaned: list[OrphanedRun] = []
    leftovers: list[Leftover] = []
    from_copy = (
        f"restore it from {COMMITTED_RECORD_NAME} in this folder (the copy written at commit)"
    )

    def orphan(version: str, folder: str, why: str, restore: str) -> None:
        reason = f"orphaned data of a damaged version: {why}; {restore}; do not delete the folder"
        orphaned.append(OrphanedRun(version, folder, reason))

    for version in store.list_folders(base):
        if version.startswith("_") or version in unreadable:
            continue
        if version not in with_manifest and store.exists(manifest_path(dataset, version)):
            continue  # committed since the manifests were read: judged next time
        for run in store.list_folders(f"{base}/{version}"):
            folder = f"{base}/{version}/{run}"
            if folder in referenced:
                continue
            if store.exists(committed_record_path(folder)):
                if version in readable:
                    why = f"it was committed, but its {MANIFEST_NAME} names another run folder"
                else:
                    why = f"its {MANIFEST_NAME} is missing"
                orphan(version, folder, why, f"{from_copy} or from a backup")
            elif version in compared_with and version not in readable:
                why = (
                    f"its {MANIFEST_NAME} is missing ({compared_with[version]} was compared with "
                    "it, so it was committed)"
                )
                orphan(version, folder, why, "restore the manifest from a backup")
            else:
                leftovers.append(folder_leftover(store, folder, INTERRUPTED_INGEST))
    return orphaned, leftovers
