"""`lake verify`: re-check every archived and published checksum, and find what interrupted
ingests, builds and publishes left."""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.archive.archive import Archive
from lakehouse.archive.manifest import MANIFEST_NAME, Manifest, StoredFile, dataset_folder
from lakehouse.errors import IntegrityError, NewerRecordError, NotFoundError
from lakehouse.progress import Progress, no_progress
from lakehouse.store.storage import SCRATCH_FOLDER


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
    corrupt: list[Problem] = field(default_factory=list)
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
        manifests = _readable_manifests(archive, dataset, report)
        for manifest in manifests:
            report.versions_checked += 1
            for stored in [*manifest.source_files, *manifest.data_files]:
                report.files_checked += 1
                progress(f"verifying {dataset} {manifest.version}", report.files_checked, None)
                if problem := _check_file(archive, manifest, stored):
                    report.corrupt.append(problem)
        referenced = {manifest.run_folder for manifest in manifests}
        report.leftovers.extend(_interrupted_runs(archive, dataset, referenced))
    if datasets is None:
        store = archive.store
        report.leftovers.extend(
            f"{SCRATCH_FOLDER}/{name}" for name in store.list_folders(SCRATCH_FOLDER)
        )
        _verify_published(archive, report, progress)
        report.leftovers.extend(_interrupted_builds(archive))
    return report


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


def _readable_manifests(archive: Archive, dataset: str, report: VerifyReport) -> list[Manifest]:
    manifests = []
    for version in sorted(archive.version_names(dataset)):
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


def _interrupted_runs(archive: Archive, dataset: str, referenced: set[str]) -> list[str]:
    """Run folders that no manifest points to: what a killed ingest left behind."""
    leftovers: list[str] = []
    base = dataset_folder(dataset)
    for version in archive.store.list_folders(base):
        if version.startswith("_"):
            continue
        runs = archive.store.list_folders(f"{base}/{version}")
        leftovers.extend(
            f"{base}/{version}/{run}" for run in runs if f"{base}/{version}/{run}" not in referenced
        )
    return leftovers
