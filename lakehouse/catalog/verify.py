"""`lake verify`: re-check every archived and published checksum, find the data of versions
whose manifest was lost (damage, like a checksum that differs), and list what interrupted
ingests, builds and publishes left."""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.archive.archive import Archive
from lakehouse.archive.manifest import (
    COMMITTED_RECORD_NAME,
    MANIFEST_NAME,
    Manifest,
    StoredFile,
    committed_record_path,
    dataset_folder,
)
from lakehouse.errors import IntegrityError, NewerRecordError, NotFoundError
from lakehouse.progress import Progress, no_progress
from lakehouse.records import damage_reason
from lakehouse.store.storage import SCRATCH_FOLDER
from lakehouse.transform.cache import damaged_cache
from lakehouse.transform.index import damaged_builds


@dataclass(frozen=True)
class Problem:
    dataset: str
    version: str
    path: str
    reason: str


@dataclass
class VerifyReport:
    versions_checked: int = 0
    files_checked: int = 0
    corrupt: list[Problem] = field(default_factory=list)  # damaged files and orphaned data
    leftovers: list[str] = field(default_factory=list)  # folders of interrupted ingests

    @property
    def ok(self) -> bool:
        return not self.corrupt


def verify_archive(
    archive: Archive, datasets: list[str] | None = None, progress: Progress = no_progress
) -> VerifyReport:
    """Recompute the sha256 of every stored file of every version and compare with its manifest."""
    report = VerifyReport()
    known = archive.datasets()
    for name in datasets or []:
        if name not in known:
            raise NotFoundError(
                f"Dataset {name!r} is not in the archive; `lake versions` lists it."
            )
    for dataset in datasets or known:
        with_manifest = archive.version_names(dataset)  # readable or not
        manifests = _readable_manifests(archive, dataset, with_manifest, report)
        for manifest in manifests:
            report.versions_checked += 1
            for stored in [*manifest.source_files, *manifest.data_files]:
                report.files_checked += 1
                progress(f"verifying {dataset} {manifest.version}", report.files_checked, None)
                if problem := _check_file(archive, manifest, stored):
                    report.corrupt.append(problem)
        damaged, leftovers = _unreferenced_runs(archive, dataset, with_manifest, manifests)
        report.corrupt.extend(damaged)
        report.leftovers.extend(leftovers)
    if datasets is None:
        store = archive.store
        report.leftovers.extend(
            f"{SCRATCH_FOLDER}/{name}" for name in store.list_folders(SCRATCH_FOLDER)
        )
        _verify_published(archive, report, progress)
        report.leftovers.extend(_interrupted_builds(archive))
        _verify_builds(archive, report, progress)
    return report


def _verify_builds(archive: Archive, report: VerifyReport, progress: Progress) -> None:
    """Damaged build records, and cache entries whose record or file is damaged (every cached
    result is hashed against the sha256 its name records)."""
    store = archive.store
    for build in damaged_builds(store):
        product = build.path.split("/")[1]
        reason = damage_reason(build.error)
        report.corrupt.append(Problem(product, build.build_id, "", reason))
    progress("verifying the build cache", 0, None)
    for sentence in damaged_cache(store):
        report.corrupt.append(Problem("cache", "entry", "", sentence))


def _verify_published(archive: Archive, report: VerifyReport, progress: Progress) -> None:
    """Every published version's outputs against the checksums its publish.json records (a
    damaged publish.json is reported; one of a newer lakehouse stops the check)."""
    from lakehouse.publish.publish import PUBLISH_AREA, PUBLISH_FILE
    from lakehouse.publish.records import PublishRecord

    store = archive.store
    for product in store.list_folders(PUBLISH_AREA):
        for version in store.list_folders(f"{PUBLISH_AREA}/{product}"):
            folder = f"{PUBLISH_AREA}/{product}/{version}"
            record = f"{folder}/{PUBLISH_FILE}"
            if not store.exists(record):
                report.leftovers.append(folder)
                continue
            report.versions_checked += 1
            try:
                entry = PublishRecord.from_json(store.read_bytes(record), store.url(record))
            except NewerRecordError:
                raise
            except IntegrityError:
                report.corrupt.append(Problem(product, version, record, "publish.json is damaged"))
                continue
            for output in entry.outputs.values():
                report.files_checked += 1
                path = f"{folder}/{output.path}"
                progress(f"verifying {product} {version}", report.files_checked, None)
                if not store.exists(path):
                    report.corrupt.append(Problem(product, version, path, "missing"))
                elif store.sha256(path)[0] != output.sha256:
                    report.corrupt.append(Problem(product, version, path, "checksum differs"))


def _interrupted_builds(archive: Archive) -> list[str]:
    """Build folders without a build.json: a build that was killed before it finished."""
    from lakehouse.transform.index import BUILD_FILE, BUILDS_AREA

    store = archive.store
    return [
        f"{BUILDS_AREA}/{product}/{build}"
        for product in store.list_folders(BUILDS_AREA)
        for build in store.list_folders(f"{BUILDS_AREA}/{product}")
        if not store.exists(f"{BUILDS_AREA}/{product}/{build}/{BUILD_FILE}")
    ]


def _readable_manifests(
    archive: Archive, dataset: str, versions: list[str], report: VerifyReport
) -> list[Manifest]:
    manifests = []
    for version in sorted(versions):
        try:
            manifests.append(archive.read_manifest(dataset, version))
        except NewerRecordError:
            raise  # this lakehouse cannot judge it: the message says to upgrade
        except IntegrityError:
            path = f"{dataset_folder(dataset)}/{version}/{MANIFEST_NAME}"
            report.corrupt.append(Problem(dataset, version, path, "manifest is unreadable"))
    return manifests


def _check_file(archive: Archive, manifest: Manifest, stored: StoredFile) -> Problem | None:
    def problem(reason: str) -> Problem:
        return Problem(manifest.dataset, manifest.version, stored.path, reason)

    if not archive.store.exists(stored.path):
        return problem("file is missing")
    sha, size = archive.store.sha256(stored.path)
    if size != stored.bytes:
        return problem(f"size {size} bytes, expected {stored.bytes}")
    if sha != stored.sha256:
        return problem("sha256 does not match the manifest")
    return None


def _unreferenced_runs(
    archive: Archive, dataset: str, with_manifest: list[str], manifests: list[Manifest]
) -> tuple[list[Problem], list[str]]:
    """Run folders that no readable manifest points to, in two kinds: the data of a committed
    version whose manifest is gone or replaced (damage: the run folder holds the copy of its
    manifest written after the commit, or a later version's QA was compared with the
    version), and what an interrupted ingest left (a leftover, safe to delete). The runs of a
    version whose manifest is there but unreadable are neither: that version is reported."""
    store = archive.store
    base = dataset_folder(dataset)
    referenced = {manifest.run_folder for manifest in manifests}
    readable = {manifest.version for manifest in manifests}
    unreadable = set(with_manifest) - readable
    compared_with = {
        manifest.qa.against: manifest.version
        for manifest in manifests
        if manifest.qa is not None and manifest.qa.against is not None
    }
    damaged: list[Problem] = []
    leftovers: list[str] = []

    def orphaned(version: str, folder: str, why: str, restore: str) -> None:
        reason = f"orphaned data of a damaged version: {why}; {restore}; do not delete the folder"
        damaged.append(Problem(dataset, version, folder, reason))

    from_copy = (
        f"restore it from {COMMITTED_RECORD_NAME} in this folder (the copy written at commit)"
    )
    for version in store.list_folders(base):
        if version.startswith("_") or version in unreadable:
            continue
        for run in store.list_folders(f"{base}/{version}"):
            folder = f"{base}/{version}/{run}"
            if folder in referenced:
                continue
            if store.exists(committed_record_path(folder)):
                if version in readable:
                    why = f"it was committed, but its {MANIFEST_NAME} names another run folder"
                else:
                    why = f"its {MANIFEST_NAME} is missing"
                orphaned(version, folder, why, f"{from_copy} or from a backup")
            elif version in compared_with and version not in readable:
                why = (
                    f"its {MANIFEST_NAME} is missing ({compared_with[version]} was compared with "
                    "it, so it was committed)"
                )
                orphaned(version, folder, why, "restore the manifest from a backup")
            else:
                leftovers.append(folder)
    return damaged, leftovers
