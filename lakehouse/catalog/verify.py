"""`lake verify`: re-check every archived and published checksum, find the data of versions
whose manifest was lost (damage, like a checksum that differs), and list what interrupted
ingests, builds and publishes left: each with its writer, and whether that writer is gone
(then `repair` removes it; a live writer's work is never touched)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.archive.archive import Archive
from lakehouse.archive.leftovers import unreferenced_runs
from lakehouse.archive.manifest import (
    MANIFEST_NAME,
    Manifest,
    StoredFile,
    dataset_folder,
)
from lakehouse.errors import IntegrityError, NewerRecordError, NotFoundError
from lakehouse.names import is_dataset_name
from lakehouse.progress import Progress, no_progress
from lakehouse.publish.leftovers import lost_publishes, unfinished_publishes
from lakehouse.records import damage_reason
from lakehouse.store.storage import (
    SCRATCH_FOLDER,
    Store,
    abandoned_scratch,
    scratch_writer,
)
from lakehouse.store.writers import Leftover, abandoned_temporaries, remove_abandoned
from lakehouse.transform.cache import damaged_cache, quarantined
from lakehouse.transform.index import BUILDS_AREA, build_folder, damaged_builds, scan_builds
from lakehouse.transform.leftovers import lost_builds, unfinished_builds
from lakehouse.transform.records import OutputRecord
from lakehouse.transform.seeds import SEED_SUFFIX, SEEDS_AREA

SCRATCH = "an interrupted run's scratch folder"
LOST_PUBLISH = (
    "holds published files but no publish.json, and no run is writing it: its publish.json "
    "was lost; restore it from a backup; do not delete the folder"
)
LOST_BUILD = (
    "holds a build's files but no build.json, and no run is writing it: its build.json was "
    "lost; restore it from a backup (or build again); do not delete the folder"
)


@dataclass(frozen=True)
class Problem:
    dataset: str
    version: str
    path: str
    reason: str


@dataclass
class VerifyReport:
    versions_checked: int = 0  # archived and published
    builds_checked: int = 0
    files_checked: int = 0
    corrupt: list[Problem] = field(default_factory=list)  # damaged files and orphaned data
    leftovers: list[Leftover] = field(default_factory=list)  # of unfinished runs
    repaired: list[Leftover] = field(default_factory=list)  # those removed (`repair`)
    set_aside: list[str] = field(default_factory=list)  # damaged cache entries builds moved

    @property
    def leftover_paths(self) -> list[str]:
        return [leftover.path for leftover in self.leftovers]

    @property
    def ok(self) -> bool:
        return not self.corrupt


def verify_archive(
    archive: Archive,
    datasets: list[str] | None = None,
    progress: Progress = no_progress,
    *,
    workspace: Path | None = None,
    repair: bool = False,
) -> VerifyReport:
    """Recompute the sha256 of every stored file of every version and compare with its
    manifest (and the published ones with their publish.json), and find what unfinished runs
    left (with `workspace`, the databases of unfinished builds too); `repair` removes those
    whose writer is gone."""
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
        orphaned, leftovers = unreferenced_runs(archive.store, dataset, with_manifest, manifests)
        report.corrupt.extend(Problem(dataset, o.version, o.folder, o.reason) for o in orphaned)
        report.leftovers.extend(leftovers)
    if datasets is None:
        store = archive.store
        _verify_published(archive, report, progress)
        _verify_builds(archive, report, progress)
        _verify_seeds(store, report)
        for folder in lost_publishes(store):
            product, version = folder.split("/")[1:3]
            report.corrupt.append(Problem(product, version, folder, LOST_PUBLISH))
        for folder in lost_builds(store):
            product, build_id = folder.split("/")[1:3]
            report.corrupt.append(Problem(product, build_id, folder, LOST_BUILD))
        report.leftovers.extend(unfinished_publishes(store))
        report.leftovers.extend(unfinished_builds(store, workspace))
        report.leftovers.extend(_scratch(store))
        report.leftovers.extend(abandoned_temporaries(store))
    if repair:
        report.repaired = remove_abandoned(report.leftovers)
    return report


def _scratch(store: Store) -> list[Leftover]:
    """The scratch folders of unfinished runs: in a local store's .tmp, all of them; on S3
    (scratch in this machine's temp) those whose process is gone."""
    import shutil

    parent = store.scratch_parent()
    found = []
    if store.is_local:
        gone = abandoned_scratch(parent, shared=False)
        for name in store.list_folders(SCRATCH_FOLDER):
            folder = parent / name
            writer = scratch_writer(folder)
            abandoned = folder in gone
            remove = functools.partial(shutil.rmtree, folder, ignore_errors=True)
            found.append(Leftover(f"{SCRATCH_FOLDER}/{name}", SCRATCH, writer, abandoned, remove))
        return found
    for folder in abandoned_scratch(parent, shared=True):
        remove = functools.partial(shutil.rmtree, folder, ignore_errors=True)
        found.append(Leftover(str(folder), SCRATCH, scratch_writer(folder), True, remove))
    return found


def _verify_builds(archive: Archive, report: VerifyReport, progress: Progress) -> None:
    """Damaged build records, and cache entries whose record or file is damaged (every cached
    result is hashed against the sha256 its name records)."""
    store = archive.store
    for build in damaged_builds(store):
        product = build.path.split("/")[1]
        reason = damage_reason(build.error)
        report.corrupt.append(Problem(product, build.build_id, "", reason))
    for product in store.list_folders(BUILDS_AREA):
        if not is_dataset_name(product):
            continue
        for record in scan_builds(store, product).builds:
            report.builds_checked += 1
            folder = build_folder(product, record.build_id)
            for output in record.outputs.values():
                for file in output.files():  # one file, or each of its parts
                    report.files_checked += 1
                    path = f"{folder}/{file.path}"
                    progress(f"verifying build {record.build_id}", report.files_checked, None)
                    if not store.exists(path):
                        report.corrupt.append(Problem(product, record.build_id, path, "missing"))
                    elif store.sha256(path) != (file.sha256, file.bytes):
                        reason = "checksum differs from build.json"
                        report.corrupt.append(Problem(product, record.build_id, path, reason))
                for path in _unlisted_parts(store, folder, output):
                    reason = "not a part build.json records (readers of the parts would read it)"
                    report.corrupt.append(Problem(product, record.build_id, path, reason))
    progress("verifying the build cache", 0, None)
    for sentence in damaged_cache(store):
        report.corrupt.append(Problem("cache", "entry", "", sentence))
    report.set_aside = quarantined(store)


def _verify_seeds(store: Store, report: VerifyReport) -> None:
    """Each seed copy a lock pinned (`seeds/<name>/<sha256>.csv`) must hash as its name says."""
    for path in store.list_files(SEEDS_AREA):
        seed, file = path.split("/")[-2:]
        if file.startswith(".") or not file.endswith(SEED_SUFFIX):
            continue  # a temporary file of a write under way, or a leftover `verify` lists
        report.files_checked += 1
        if store.sha256(path)[0] != file.removesuffix(SEED_SUFFIX):
            reason = "does not hash as its name says; restore it, or run `lake lock` again"
            report.corrupt.append(Problem(f"seed {seed}", file[:12], path, reason))


def _verify_published(archive: Archive, report: VerifyReport, progress: Progress) -> None:
    """Every published version's outputs against the checksums its publish.json records (a
    damaged publish.json is reported; one of a newer lakehouse stops the check)."""
    from lakehouse.publish.publish import PUBLISH_AREA, PUBLISH_FILE
    from lakehouse.publish.records import PublishRecord

    store = archive.store
    for product in store.list_folders(PUBLISH_AREA):
        _verify_latest(store, product, report)
        for version in store.list_folders(f"{PUBLISH_AREA}/{product}"):
            folder = f"{PUBLISH_AREA}/{product}/{version}"
            record = f"{folder}/{PUBLISH_FILE}"
            if not store.exists(record):
                continue  # unfinished: `unfinished_publishes` judges it
            report.versions_checked += 1
            try:
                entry = PublishRecord.from_json(store.read_bytes(record), store.url(record))
            except NewerRecordError:
                raise
            except IntegrityError:
                report.corrupt.append(Problem(product, version, record, "publish.json is damaged"))
                continue
            for output in entry.outputs.values():
                for file in output.files():  # one file, or each of its parts
                    report.files_checked += 1
                    path = f"{folder}/{file.path}"
                    progress(f"verifying {product} {version}", report.files_checked, None)
                    if not store.exists(path):
                        report.corrupt.append(Problem(product, version, path, "missing"))
                    elif store.sha256(path)[0] != file.sha256:
                        report.corrupt.append(Problem(product, version, path, "checksum differs"))
                for path in _unlisted_parts(store, folder, output):
                    reason = "not a part publish.json records (readers of the parts would read it)"
                    report.corrupt.append(Problem(product, version, path, reason))


def _unlisted_parts(store: Store, folder: str, output: OutputRecord) -> list[str]:
    """The files in the folder of an output written in parts that its record does not list
    (DuckDB reads every `part-*.parquet` there)."""
    if output.parts is None:
        return []
    listed = {f"{folder}/{file.path}" for file in output.files()}
    return [path for path in store.list_files(f"{folder}/{output.path}") if path not in listed]


def _verify_latest(store: Store, product: str, report: VerifyReport) -> None:
    """A product's latest.json: damaged, or naming a version that is not published."""
    from lakehouse.names import is_dataset_name
    from lakehouse.publish.reading import LATEST_FILE, PUBLISH_AREA, PUBLISH_FILE, latest_version

    if not is_dataset_name(product):
        return
    path = f"{PUBLISH_AREA}/{product}/{LATEST_FILE}"
    try:
        named = latest_version(store, product)
    except NewerRecordError:
        raise
    except IntegrityError:
        report.corrupt.append(Problem(product, "latest", path, "latest.json is damaged"))
        return
    if named is not None and not store.exists(f"{PUBLISH_AREA}/{product}/{named}/{PUBLISH_FILE}"):
        reason = f"latest.json names {named}, which is not published"
        report.corrupt.append(Problem(product, "latest", path, reason))


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
