"""The raw archive: every dataset kept by version, immutably, with its original bytes.

An ingest lands the source in a scratch folder (a local file is read where it is), checksums
the original bytes (identical bytes make no new version), converts them to Parquet (or a Delta
table version), puts everything under `raw/<dataset>/<version>/<run id>/`, and commits by
writing the manifest last, exclusively.

Concurrent ingests of one dataset commit optimistically: when another ingest commits the name
this one chose, this one removes its run folder (only its own), reads the archive again and
commits under the next free name (`-2`, `-3`...), or reports its bytes unchanged if they are
the ones just archived; a fixed name (`--version`, the template's) that another ingest took is
refused. A Delta commit is written once and kept across these attempts; if no version ends up
using it, it is undone, and only it (see delta.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakehouse.archive import delta
from lakehouse.archive.convert import Converted, convert_to_parquet
from lakehouse.archive.expect import check_expectations
from lakehouse.archive.leftovers import unreferenced_runs
from lakehouse.archive.manifest import (
    ContractWarning,
    Manifest,
    RawContractSummary,
    SourceInfo,
    StoredFile,
    VersionOrigin,
    committed_record_path,
    dataset_folder,
    manifest_path,
    version_folder,
)
from lakehouse.archive.source_qa import (
    QA_FOLDER,
    SourceQa,
    compare_manifests,
    dataset_qa_settings,
    ingest_qa,
    parquet_source,
    write_source_report,
)
from lakehouse.archive.template import IngestTemplate, load_template_for, template_for_file
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.check import check_schema
from lakehouse.contracts.contract import Contract, load_source_contract
from lakehouse.contracts.raw import check_raw
from lakehouse.contracts.report import ContractReport, store_report
from lakehouse.errors import (
    ConfigError,
    ContractFailed,
    IntegrityError,
    NewerRecordError,
    NotFoundError,
    SourceError,
    VersionExistsError,
)
from lakehouse.formats import FormatSpec
from lakehouse.names import LATEST, check_dataset_name, check_version_name, is_dataset_name
from lakehouse.progress import Progress, no_progress
from lakehouse.provenance import run_details, tool_versions
from lakehouse.qa.drift import QaSettings, SourceDrift
from lakehouse.records import DamagedRecordWarning, damage_reason
from lakehouse.sources import Fetched, fetch_source
from lakehouse.store.lease import LEASE_FILE
from lakehouse.store.storage import Store, sha256_of_file
from lakehouse.store.writers import hold, remove_abandoned

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

DATA_FILE_NAME = "data.parquet"
CONTRACT_FOLDER = "contract"  # a version's raw contract report, beside its data
REJECTED_AREA = "rejected"  # reports of ingests their raw contract stopped (no version)
MAX_VERSION_ATTEMPTS = 50  # version names an ingest tries while concurrent ingests take them
NAME_BACKOFF_SECONDS = 0.05  # times the attempt: the most an ingest waits (at random) before
MAX_NAME_BACKOFF_SECONDS = 1.0  # trying another name, up to this


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: archived a new version, or found the same bytes already archived."""

    status: Literal["archived", "unchanged"]
    manifest: Manifest
    template_changed: bool = False  # unchanged bytes, but the template differs from that version's

    @property
    def version(self) -> str:
        return self.manifest.version


@dataclass(frozen=True)
class _Original:
    """One original source file: landed in scratch by a download, or a local file in place."""

    path: Path
    sha256: str
    size: int
    landed: bool  # a private copy in scratch (moved into the store) or the user's file (copied)
    mtime_ns: int

    def check_unchanged(self) -> None:
        """A local file must not change while it is archived, or its checksum would lie."""
        status = self.path.stat()
        if (status.st_size, status.st_mtime_ns) != (self.size, self.mtime_ns):
            raise SourceError(
                f"{self.path} changed while it was being archived; nothing was archived, "
                "try again once it is complete."
            )


class Archive:
    """Versions of raw datasets in a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading the archive -------------------------------------------------------------------

    def datasets(self) -> list[str]:
        """Datasets with a folder in the archive (folders with other names are not datasets)."""
        return [name for name in self.store.list_folders("raw") if is_dataset_name(name)]

    def version_names(self, dataset: str) -> list[str]:
        """Names of the version folders that hold a manifest (committed versions), unordered."""
        check_dataset_name(dataset)
        return [
            version
            for version in self.store.list_folders(dataset_folder(dataset))
            if self.store.exists(manifest_path(dataset, version))
        ]

    def read_manifest(self, dataset: str, version: str) -> Manifest:
        """One committed version's manifest; an unreadable or damaged one is an IntegrityError
        that names it and says what to do (one of a newer lakehouse: NewerRecordError)."""
        try:
            return self._parse_manifest(dataset, version)
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            raise IntegrityError(self._damaged(dataset, version, str(exc))) from exc

    def _parse_manifest(self, dataset: str, version: str) -> Manifest:
        """The manifest, or an IntegrityError that says only what is wrong with it."""
        path = manifest_path(dataset, version)
        url = self.store.url(path)
        try:
            data = self.store.read_bytes(path)
        except (IsADirectoryError, PermissionError) as exc:
            reason = f"{url} cannot be read ({exc.strerror or exc.__class__.__name__})"
            raise IntegrityError(reason) from exc
        try:
            manifest = Manifest.from_json(data, url)
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            raise IntegrityError(damage_reason(exc)) from exc
        except RecursionError as exc:  # a reader that does not catch it (nested too deep)
            raise IntegrityError(f"{url} is not valid JSON (nested too deep)") from exc
        if (manifest.dataset, manifest.version) != (dataset, version):
            raise IntegrityError(
                f"{url} is the manifest of {manifest.dataset} {manifest.version}, not of "
                f"{dataset} {version}"
            )
        return manifest

    def _damaged(self, dataset: str, version: str, reason: str) -> str:
        """The sentence for a version whose manifest cannot be read: what is wrong, and where
        to restore it from (the copy its run folder keeps, when there is a sound one)."""
        copy = self._manifest_copy(dataset, version)
        source = f"its copy {self.store.url(copy)} or a backup" if copy else "a backup"
        return (
            f"{reason}, so version {version} of {dataset!r} cannot be used (its other versions "
            f"can): the manifest is unreadable or damaged; run `lake verify` and restore it "
            f"from {source}."
        )

    def _manifest_copy(self, dataset: str, version: str) -> str | None:
        """The copy of the version's manifest written into its run folder at commit
        (`committed.json`), when exactly one run folder holds a copy that reads as this
        version's manifest."""
        found = []
        for run in self.store.list_folders(version_folder(dataset, version)):
            path = committed_record_path(f"{version_folder(dataset, version)}/{run}")
            try:
                copy = Manifest.from_json(self.store.read_bytes(path), self.store.url(path))
            except (OSError, IntegrityError, RecursionError):
                continue
            if (copy.dataset, copy.version) == (dataset, version):
                found.append(path)
        return found[0] if len(found) == 1 else None

    def scan_versions(self, dataset: str) -> VersionScan:
        """Every committed version of `dataset`: those whose manifest reads, oldest first (by
        extraction time), and the damaged ones, each with its sentence. Nothing is warned; a
        manifest of a newer lakehouse is refused (upgrade), as it cannot be placed."""
        scan = VersionScan(dataset)
        for version in self.version_names(dataset):
            try:
                scan.manifests.append(self._parse_manifest(dataset, version))
            except FileNotFoundError:
                continue  # removed since it was listed
            except NewerRecordError:
                raise
            except IntegrityError as exc:
                error = IntegrityError(self._damaged(dataset, version, str(exc)))
                error.__cause__ = exc
                path = manifest_path(dataset, version)
                scan.damaged.append(DamagedVersion(dataset, version, path, str(exc), error))
        scan.manifests.sort(key=lambda m: (m.extracted_at, m.version))
        scan.damaged.sort(key=lambda damaged: damaged.version)
        return scan

    def versions(self, dataset: str) -> list[Manifest]:
        """Committed versions of `dataset`, oldest first (by extraction time); a damaged
        manifest is an IntegrityError that names it (`readable_versions` leaves it out)."""
        scan = self.scan_versions(dataset)
        if scan.damaged:
            raise scan.damaged[0].error
        return scan.manifests

    def readable_versions(self, dataset: str) -> list[Manifest]:
        """The committed versions of `dataset` whose manifest reads, oldest first; each damaged
        one is left out and named in a `DamagedRecordWarning`, so that the rest keep working."""
        scan = self.scan_versions(dataset)
        scan.warn(stacklevel=3)
        return scan.manifests

    def manifest(self, dataset: str, version: str = LATEST) -> Manifest:
        """The manifest of `version` (or the newest, for 'latest': refused while a version's
        manifest is damaged, since that version could be the newest)."""
        check_dataset_name(dataset)
        if version == LATEST:
            return self.scan_versions(dataset).latest()
        check_version_name(version)
        if not self.store.exists(manifest_path(dataset, version)):
            scan = self.scan_versions(dataset)
            known = ", ".join(m.version for m in scan.manifests) or "none"
            if scan.damaged:
                known += f" (and, damaged, {', '.join(d.version for d in scan.damaged)})"
            raise NotFoundError(
                f"Dataset {dataset!r} has no version {version!r}; archived versions: {known}."
            )
        return self.read_manifest(dataset, version)

    def relation(
        self, con: duckdb.DuckDBPyConnection, dataset: str, version: str = LATEST
    ) -> duckdb.DuckDBPyRelation:
        """The archived data of a version as a DuckDB relation on `con`."""
        found = self.manifest(dataset, version)
        if found.storage == "delta":
            assert found.delta_version is not None
            return con.from_arrow(delta.read_version(self.store, dataset, found.delta_version))
        self.store.register_in_duckdb(con)
        return con.read_parquet(self.store.url(found.data_files[0].path))

    def read(self, dataset: str, version: str = LATEST, limit: int | None = None) -> pa.Table:
        """The archived data of a version as an Arrow table (optionally only the first rows)."""
        import duckdb

        with duckdb.connect() as con:
            relation = self.relation(con, dataset, version)
            if limit is not None:
                relation = relation.limit(limit)
            return relation.to_arrow_table()

    # -- ingesting -----------------------------------------------------------------------------

    def ingest(
        self,
        template: IngestTemplate,
        *,
        version: str | None = None,
        project_dir: Path | None = None,
        progress: Progress = no_progress,
        source_contract: Contract | None = None,
    ) -> IngestResult:
        """Fetch the template's source and archive it as a new version (or find it archived).
        The template's `contract:` and the pandera `source_contract`, if any, gate it."""
        if version is not None:
            check_version_name(version)
        template = _resolve_local_path(template, project_dir)
        template_sha = hashlib.sha256(template.model_dump_json().encode()).hexdigest()
        extracted_at = datetime.now(UTC)
        with self.store.scratch_dir() as scratch:
            landing = scratch / "landing"
            landing.mkdir()
            fetched = fetch_source(template.source, landing, progress)
            originals = _checksum_originals(fetched.files, scratch, progress)
            source_sha = _content_sha256([(o.path.name, o.sha256) for o in originals])
            existing = self.versions(template.name)
            if (same := _same_bytes(existing, source_sha)) is not None:
                return _unchanged(same, template_sha)
            # a fixed name that is taken fails here, before any conversion
            self._choose_version(template, fetched, version, existing, extracted_at)
            data_file = scratch / DATA_FILE_NAME
            converted = convert_to_parquet(
                template,
                [o.path for o in originals],
                _format_of(template, fetched),
                data_file,
                progress,
            )
            report = _check_raw_contract(template, data_file, progress, source_contract)
            if report is not None and not report.passed:
                self._reject(template.name, report, extracted_at)
            check_expectations(template, converted.row_count, existing[-1] if existing else None)
            draft = _Draft(
                template=template,
                fetched=fetched,
                requested=version,
                extracted_at=extracted_at,
                template_sha=template_sha,
                source_sha=source_sha,
                originals=originals,
                data_file=data_file,
                converted=converted,
                report=report,
            )
            return self._archive(draft, existing, progress)

    def _archive(self, draft: _Draft, existing: list[Manifest], progress: Progress) -> IngestResult:
        """Commit the draft as a new version, optimistically: when a concurrent ingest commits
        the chosen name first, the archive is read again and the draft committed under the next
        free name (or found archived already, if its bytes are the same), up to
        MAX_VERSION_ATTEMPTS names. Its source QA is computed once, against the latest version
        when this ingest read the archive, and only relabelled for a later name. Only what this
        run wrote is ever undone."""
        dataset = draft.template.name
        self._remove_abandoned_runs(dataset, existing)
        run_id = uuid.uuid4().hex[:12]  # the run folder's name, under whichever version
        written = _DeltaWritten()
        name = ""
        computed: SourceQa | None = None  # against the latest version when this ingest began
        try:
            for attempt in range(MAX_VERSION_ATTEMPTS):
                name, origin = self._choose_version(
                    draft.template, draft.fetched, draft.requested, existing, draft.extracted_at
                )
                run_folder = f"{version_folder(dataset, name)}/{run_id}"
                if computed is None:
                    progress("source QA against the version before", 0, None)
                    before = existing[-1] if existing else None
                    computed = ingest_qa(self.store, draft.template, name, draft.data_file, before)
                qa = computed.named(name)
                manifest = draft.manifest(name, origin, run_folder, qa)
                try:
                    committed = self._commit(manifest, draft, qa, progress, written, run_id)
                except _NameTaken:
                    # the others that lost this name retry too: spread them out, more and more
                    pause = min(NAME_BACKOFF_SECONDS * (attempt + 1), MAX_NAME_BACKOFF_SECONDS)
                    time.sleep(random.uniform(0, pause))
                    existing = self._versions_since(dataset, existing)
                    if (same := _same_bytes(existing, draft.source_sha)) is not None:
                        self._undo_delta(dataset, written)
                        return _unchanged(same, draft.template_sha)
                    continue
                written.commit = None  # the version refers to it: never undo it now
                return IngestResult("archived", committed)
            raise VersionExistsError(
                f"{dataset}: concurrent ingests took each of the {MAX_VERSION_ATTEMPTS} version "
                f"names this one tried (the last {name!r}); nothing was archived, run it again."
            )
        except BaseException as exc:
            if written.commit is not None:
                try:
                    self._undo_delta(dataset, written)
                except Exception as undo_failed:  # the first error is the one to report
                    exc.add_note(f"(undoing its Delta commit failed too: {undo_failed})")
            raise

    def parquet_source(self, manifest: Manifest) -> str:
        """A version's data as a DuckDB `read_parquet(...)` expression (the store must be
        registered on the connection)."""
        return parquet_source(self.store, manifest)

    def compare_versions(
        self,
        dataset: str,
        version: str = LATEST,
        against: str | None = None,
        settings: QaSettings | None = None,
    ) -> SourceDrift:
        """Source QA of one archived version against another (default: the one before it)."""
        old, new = self.version_pair(dataset, version, against)
        return compare_manifests(self.store, old, new, settings or QaSettings())

    def version_pair(
        self, dataset: str, version: str = LATEST, against: str | None = None
    ) -> tuple[Manifest, Manifest]:
        """The manifests of `version` and of `against` (default: the version before it)."""
        new = self.manifest(dataset, version)
        if against is None:
            names = [m.version for m in self.versions(dataset)]
            position = names.index(new.version)
            if position == 0:
                raise NotFoundError(
                    f"{dataset} {new.version} is its first version: there is nothing before it to "
                    "compare with; pass --against VERSION."
                )
            against = names[position - 1]
        return self.manifest(dataset, against), new

    def _reject(self, dataset: str, report: ContractReport, extracted_at: datetime) -> None:
        """Keep the failed contract's report beside the archive (not as a version), and stop."""
        run = f"{extracted_at.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"
        path = store_report(self.store, f"{REJECTED_AREA}/{dataset}/{run}", report)
        details = "; ".join(
            f"{r.rule}: {r.failing_rows:,} row(s)"
            + (f", e.g. {', '.join(map(str, r.sample_keys[:3]))}" if r.sample_keys else "")
            for r in report.blocking
        )
        raise ContractFailed(
            f"{dataset}: the raw contract failed ({details}); nothing was archived (the report "
            f"is at {self.store.url(path)}). Fix the source or the template's contract."
        )

    def _choose_version(
        self,
        template: IngestTemplate,
        fetched: Fetched,
        requested: str | None,
        existing: list[Manifest],
        extracted_at: datetime,
    ) -> tuple[str, VersionOrigin]:
        """The option's, the template's, or a date (the source's or today's) with a suffix."""
        taken = {m.version for m in existing}
        fixed = (requested, "option") if requested else (template.version, "template")
        if fixed[0]:
            if fixed[0] in taken:
                raise VersionExistsError(
                    f"Version {fixed[0]!r} of {template.name!r} is already archived with "
                    "different content, and versions are never overwritten; pass --version "
                    f"with a new name (e.g. {fixed[0]}.1) to archive this data beside it."
                )
            return fixed[0], fixed[1]  # type: ignore[return-value]
        if template.version_from == "source_metadata" and fetched.source_version:
            base, origin = check_version_name(fetched.source_version), "source metadata"
        else:
            base, origin = extracted_at.strftime("%Y%m%d"), "run date"
        candidate, suffix = base, 2
        while candidate in taken:
            candidate, suffix = f"{base}-{suffix}", suffix + 1
        return candidate, origin  # type: ignore[return-value]

    def _commit(
        self,
        manifest: Manifest,
        draft: _Draft,
        qa: SourceQa,
        progress: Progress,
        written: _DeltaWritten,
        run_id: str,
    ) -> Manifest:
        """Put the files (and the contract report) into the version's run folder, then write
        the manifest, exclusively: the commit point. When the name is taken (another ingest
        committed it first) the run folder is removed and _NameTaken raised; a Delta commit
        is kept in `written` for the next attempt. The scratch files are kept for it too."""
        dataset, run_folder = manifest.dataset, manifest.run_folder
        path = manifest_path(dataset, manifest.version)
        # the lease first: a run folder this ingest is killed in is told from a live one's
        lease = hold(self.store, f"{run_folder}/{LEASE_FILE}", "ingest")
        try:
            source_files = []
            for index, original in enumerate(draft.originals):
                progress("storing original files", index, len(draft.originals))
                rel = f"{run_folder}/source/{original.path.name}"
                if original.landed:
                    self.store.put_file_kept(original.path, rel)
                else:
                    self.store.put_file(original.path, rel)
                    original.check_unchanged()
                source_files.append(
                    StoredFile(path=rel, bytes=original.size, sha256=original.sha256)
                )
            if draft.report is not None:
                store_report(self.store, f"{run_folder}/{CONTRACT_FOLDER}", draft.report)
            qa.store(self.store, f"{run_folder}/{QA_FOLDER}")
            progress("storing data", 0, None)
            delta_version = None
            if manifest.storage == "delta":
                if written.commit is None:
                    written.commit = delta.append_version(
                        self.store, dataset, draft.data_file, run_id
                    )
                data_files, delta_version = written.commit.files, written.commit.version
            else:
                rel = f"{run_folder}/{DATA_FILE_NAME}"
                sha, size = draft.data_checksum()
                self.store.put_file_kept(draft.data_file, rel)
                data_files = [StoredFile(path=rel, bytes=size, sha256=sha)]
            committed = manifest.model_copy(
                update={
                    "source_files": source_files,
                    "data_files": data_files,
                    "delta_version": delta_version,
                    "archived_at": datetime.now(UTC),
                }
            )
            payload = committed.to_json()
            try:
                self.store.create_exclusive(path, payload)
            except VersionExistsError as exc:
                if not self._holds(path, payload):  # (an S3 PUT retried after it landed)
                    raise _NameTaken(manifest.version) from exc
        except BaseException:
            lease.release()
            self.store.remove_folder(run_folder)
            raise
        # Proof, beside the data, that this run folder was committed: `lake verify` tells a
        # version whose manifest was lost (damage) from an interrupted ingest (a leftover) by
        # it. Best effort: the version is committed whatever happens to this copy. The lease
        # goes after it, so the folder always has one of the two.
        with contextlib.suppress(Exception):
            self.store.write_bytes(committed_record_path(run_folder), payload)
        lease.release()
        progress("archived", 1, 1)
        return committed

    def _remove_abandoned_runs(self, dataset: str, existing: list[Manifest]) -> None:
        """Remove the run folders of this dataset's ingests that were killed (their writer is
        gone; a live ingest's are never touched), so nobody has to."""
        names = self.version_names(dataset)
        remove_abandoned(unreferenced_runs(self.store, dataset, names, existing)[1])

    def _versions_since(self, dataset: str, known: list[Manifest]) -> list[Manifest]:
        """`versions(dataset)` again, reading only the manifests not in `known` (a manifest
        never changes once written)."""
        have = {manifest.version for manifest in known}
        added = [
            self.read_manifest(dataset, version)
            for version in self.store.list_folders(dataset_folder(dataset))
            if version not in have and self.store.exists(manifest_path(dataset, version))
        ]
        return sorted([*known, *added], key=lambda m: (m.extracted_at, m.version))

    def _holds(self, path: str, payload: bytes) -> bool:
        """Whether the manifest at `path` is exactly `payload` (ours: it names our run folder)."""
        try:
            return self.store.read_bytes(path) == payload
        except (OSError, ValueError):
            return False

    def _undo_delta(self, dataset: str, written: _DeltaWritten) -> None:
        """Undo the Delta commit this run wrote and no version uses (only while it is the
        table's newest: see delta.undo_commit)."""
        if written.commit is not None:
            commit, written.commit = written.commit, None
            delta.undo_commit(self.store, dataset, commit.version)


@dataclass(frozen=True)
class DamagedVersion:
    """A committed version whose manifest cannot be read: the manifest (relative to the store
    root) and the error saying so."""

    dataset: str
    version: str
    path: str
    reason: str  # what is wrong with it, naming the file
    error: IntegrityError  # that, and what to do

    @property
    def message(self) -> str:
        return str(self.error)


@dataclass
class VersionScan:
    """A dataset's committed versions: those whose manifest reads, oldest first, and those
    whose manifest is damaged."""

    dataset: str
    manifests: list[Manifest] = field(default_factory=list)
    damaged: list[DamagedVersion] = field(default_factory=list)

    def warn(self, stacklevel: int = 2) -> None:
        """A `DamagedRecordWarning` for each damaged version, naming its manifest."""
        for damaged in self.damaged:
            warnings.warn(damaged.message, DamagedRecordWarning, stacklevel=stacklevel + 1)

    def latest(self) -> Manifest:
        """The newest version; refused while a version is damaged (it could be the newest:
        its extraction time is in the manifest that does not read)."""
        if self.damaged:
            first = self.damaged[0]
            raise IntegrityError(
                f"{first.reason}, so the latest version of {self.dataset!r} cannot "
                f"be told (version {first.version}'s manifest is unreadable or damaged); run "
                "`lake verify` and restore it, or ask for another version by name."
            ) from first.error
        if not self.manifests:
            raise NotFoundError(
                f"Dataset {self.dataset!r} has no archived versions; run "
                f"`lake ingest {self.dataset}`."
            )
        return self.manifests[-1]


class _NameTaken(Exception):
    """The version name a commit chose was committed first by a concurrent ingest."""


@dataclass
class _DeltaWritten:
    """The Delta commit this ingest wrote, while no version refers to it."""

    commit: delta.DeltaCommit | None = None


@dataclass
class _Draft:
    """A converted, checked source waiting for a version name: everything of the version but
    its name, run folder and source QA (which depend on the versions archived before it)."""

    template: IngestTemplate
    fetched: Fetched
    requested: str | None
    extracted_at: datetime
    template_sha: str
    source_sha: str
    originals: list[_Original]
    data_file: Path
    converted: Converted
    report: ContractReport | None
    _data_checksum: tuple[str, int] | None = field(default=None, repr=False)

    def data_checksum(self) -> tuple[str, int]:
        if self._data_checksum is None:
            self._data_checksum = sha256_of_file(self.data_file)
        return self._data_checksum

    def manifest(self, name: str, origin: VersionOrigin, run_folder: str, qa: SourceQa) -> Manifest:
        """The manifest of this draft as version `name` (files and commit time set at commit)."""
        template, converted = self.template, self.converted
        return Manifest(
            dataset=template.name,
            version=name,
            version_origin=origin,
            source=SourceInfo(
                type=template.source.type,
                location=self.fetched.location,
                format=_format_of(template, self.fetched).type,
                details=self.fetched.details,
            ),
            extracted_at=self.extracted_at,
            archived_at=self.extracted_at,  # set again at commit
            run_folder=run_folder,
            source_files=[],
            source_sha256=self.source_sha,
            storage=template.storage,
            data_files=[],
            row_count=converted.row_count,
            columns=converted.columns,
            geometry_column=converted.geometry_column,
            geometry_crs=converted.geometry_crs,
            invalid_geometries=converted.invalid_geometries,
            unparsed_geometries=converted.unparsed_geometries,
            steps=converted.step_summaries,
            template_sha256=self.template_sha,
            contract=_contract_summary(self.report, f"{run_folder}/{CONTRACT_FOLDER}"),
            qa=qa.summary(f"{run_folder}/{QA_FOLDER}"),
            tool=tool_versions(),
            run=run_details(),
        )


def _same_bytes(existing: list[Manifest], source_sha: str) -> Manifest | None:
    """The archived version with these exact original bytes, if there is one."""
    return next((m for m in existing if m.source_sha256 == source_sha), None)


def _unchanged(manifest: Manifest, template_sha: str) -> IngestResult:
    changed = manifest.template_sha256 not in (None, template_sha)
    return IngestResult("unchanged", manifest, template_changed=changed)


def _check_raw_contract(
    template: IngestTemplate,
    data_file: Path,
    progress: Progress,
    source_contract: Contract | None = None,
) -> ContractReport | None:
    if template.contract is None and source_contract is None:
        return None
    progress("checking the raw contract", 0, None)
    report = ContractReport("raw")
    if template.contract is not None:
        import duckdb

        with duckdb.connect() as con:
            report.results += check_raw(con, data_file, template.name, template.contract).results
    if source_contract is not None:
        import ibis

        con = ibis.duckdb.connect()
        try:
            table = con.read_parquet(data_file)
            checked = check_schema(table, template.name, source_contract.schema, "raw")
        finally:
            con.disconnect()
        report.results += checked.results
    return report


def _contract_summary(report: ContractReport | None, folder: str) -> RawContractSummary | None:
    if report is None:
        return None
    return RawContractSummary(
        summary=report.summary(),
        report=f"{folder}/report.txt",
        warnings=[
            ContractWarning(rule=r.rule, failing_rows=r.failing_rows, sample_keys=r.sample_keys)
            for r in report.warnings
        ],
    )


def _format_of(template: IngestTemplate, fetched: Fetched) -> FormatSpec:
    fmt = fetched.format_override or template.format
    if fmt is None:
        raise ConfigError(f"The template of {template.name!r} needs a format.")
    return fmt


def _checksum_originals(files: list[Path], scratch: Path, progress: Progress) -> list[_Original]:
    """sha256 and size of each original file, read where it is."""
    originals = []
    for index, path in enumerate(files):
        progress("checksumming the original bytes", index, len(files))
        before = path.stat()
        sha, size = sha256_of_file(path)
        landed = path.is_relative_to(scratch)
        original = _Original(path, sha, size, landed, before.st_mtime_ns)
        if not landed:
            original.check_unchanged()
        originals.append(original)
    return originals


def _resolve_local_path(template: IngestTemplate, project_dir: Path | None) -> IngestTemplate:
    """Template file paths may start with ~, and relative ones are relative to the project."""
    source = template.source.relative_to_project(project_dir)
    return template if source is template.source else template.model_copy(update={"source": source})


def _content_sha256(named_hashes: list[tuple[str, str]]) -> str:
    """A source's identity: its file's sha256, or a digest of several files' names and sums."""
    if len(named_hashes) == 1:
        return named_hashes[0][1]
    lines = "".join(f"{name}\t{sha}\n" for name, sha in named_hashes)
    return hashlib.sha256(lines.encode()).hexdigest()


# -- a project's datasets: its templates and source contracts, read from its folders ------------


def ingest_dataset(
    config: LakehouseConfig,
    archive: Archive,
    dataset: str,
    *,
    file: Path | None = None,
    version: str | None = None,
    progress: Progress = no_progress,
) -> IngestResult:
    """Archive the dataset's source (or `file`, a local copy of it) as a new version, with the
    project's template (or, for a file without one, a template from its suffix) and its
    pandera source contract, if any."""
    check_dataset_name(dataset)
    if file is not None:
        template = template_for_file(config.templates_dir, dataset, Path(file))
    else:
        template = load_template_for(config.templates_dir, dataset)
    return archive.ingest(
        template,
        version=version,
        project_dir=config.project_dir,
        progress=progress,
        source_contract=load_source_contract(config.contracts_dir, dataset),
    )


def compare_dataset_versions(
    config: LakehouseConfig,
    archive: Archive,
    dataset: str,
    version: str = LATEST,
    against: str | None = None,
) -> SourceDrift:
    """Source QA of a dataset version against another (default: the version before), with
    its template's QA settings (the defaults without a template)."""
    settings = dataset_qa_settings(config.templates_dir, dataset)
    return archive.compare_versions(dataset, version, against, settings)


def write_dataset_report(
    config: LakehouseConfig,
    archive: Archive,
    dataset: str,
    version: str = LATEST,
    against: str | None = None,
    out: Path | None = None,
) -> Path:
    """Write the source QA of a version as an HTML report at `out` (default: into the
    workspace, `qa/<dataset>/<version>-against-<other>.html`; archived versions are never
    touched)."""
    old, new = archive.version_pair(dataset, version, against)
    name = f"{new.version}-against-{old.version}.html"
    path = out or config.workspace_dir / "qa" / dataset / name
    settings = dataset_qa_settings(config.templates_dir, dataset) or QaSettings()
    return write_source_report(archive.store, old, new, settings, path)
