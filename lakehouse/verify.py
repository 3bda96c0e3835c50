"""`lake verify`: re-check every archived checksum and find interrupted ingests."""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.archive import Archive
from lakehouse.manifest import MANIFEST_NAME, StoredFile, dataset_folder
from lakehouse.progress import Progress, no_progress


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


def _check_file(archive: Archive, dataset: str, version: str, stored: StoredFile) -> Problem | None:
    if not archive.store.exists(stored.path):
        return Problem(dataset, version, stored.path, "file is missing")
    sha, size = archive.store.sha256(stored.path)
    if size != stored.bytes:
        return Problem(dataset, version, stored.path, f"size {size} bytes, expected {stored.bytes}")
    if sha != stored.sha256:
        return Problem(dataset, version, stored.path, "sha256 does not match the manifest")
    return None


def verify_archive(
    archive: Archive, datasets: list[str] | None = None, progress: Progress = no_progress
) -> VerifyReport:
    """Recompute the sha256 of every stored file of every version and compare with its manifest."""
    report = VerifyReport()
    names = datasets if datasets is not None else archive.datasets()
    for dataset in names:
        manifests = archive.versions(dataset)
        referenced = {manifest.run_folder for manifest in manifests}
        for manifest in manifests:
            report.versions_checked += 1
            for stored in [*manifest.source_files, *manifest.data_files]:
                report.files_checked += 1
                progress(f"verifying {dataset} {manifest.version}", report.files_checked, None)
                if problem := _check_file(archive, dataset, manifest.version, stored):
                    report.corrupt.append(problem)
        report.leftovers.extend(_interrupted_runs(archive, dataset, referenced))
    return report


def _interrupted_runs(archive: Archive, dataset: str, referenced: set[str]) -> list[str]:
    """Run folders that no manifest points to: what a killed ingest left behind."""
    leftovers = []
    base = dataset_folder(dataset)
    for version in archive.store.list_folders(base):
        if version.startswith("_"):
            continue
        for run in archive.store.list_folders(f"{base}/{version}"):
            folder = f"{base}/{version}/{run}"
            if folder not in referenced:
                leftovers.append(folder)
        if not archive.store.list_folders(f"{base}/{version}") and not archive.store.exists(
            f"{base}/{version}/{MANIFEST_NAME}"
        ):
            leftovers.append(f"{base}/{version}")
    return leftovers
