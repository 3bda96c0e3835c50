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

Reading the archive back is versions.py (the Archive's reading methods delegate to it); the
draft an ingest commits, its checksums and raw contract check, is draft.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lakehouse.archive import delta
from lakehouse.archive.convert import Converted, convert_to_parquet
from lakehouse.archive.draft import (
    CONTRACT_FOLDER,
    Draft,
    Original,
    check_raw_contract,
    checksum_originals,
    content_sha256,
    format_of,
)
from lakehouse.archive.expect import check_expectations
from lakehouse.archive.leftovers import unreferenced_runs
from lakehouse.archive.manifest import (
    Manifest,
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
    check_qa_settings,
    compare_manifests,
    ingest_qa,
    key_proven_unique,
    parquet_source,
)
from lakehouse.archive.template import IngestTemplate
from lakehouse.archive.versions import (
    VersionScan,
    dataset_names,
    find_manifest,
    list_versions,
    read_manifest,
    read_version,
    readable_versions,
    scan_versions,
    version_names,
    version_pair,
    version_relation,
    versions_since,
    with_same_bytes,
)
from lakehouse.contracts.contract import Contract
from lakehouse.contracts.report import ContractReport, store_report
from lakehouse.errors import ConfigError, ContractFailed, FormatError, VersionExistsError
from lakehouse.names import LATEST, check_version_name
from lakehouse.progress import Progress, no_progress
from lakehouse.qa.drift import QaSettings, SourceDrift
from lakehouse.sources import Fetched, fetch_source
from lakehouse.store.lease import LEASE_FILE
from lakehouse.store.storage import Store
from lakehouse.store.writers import abandoned_temporaries, hold, remove_abandoned, remove_held

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

DATA_FILE_NAME = "data.parquet"
REJECTED_AREA = "rejected"  # reports of ingests their raw contract stopped (no version)
MAX_VERSION_ATTEMPTS = 50  # version names an ingest tries while concurrent ingests take them
NAME_BACKOFF_SECONDS = 0.05  # times the attempt: the most an ingest waits (at random) before
MAX_NAME_BACKOFF_SECONDS = 1.0  # trying another name, up to this


@dataclass(frozen=True)
class Checked:
    """What the template's checks found in data that was not archived: the bytes of an archived
    version, read again with the template (a dry run, or a template changed since)."""

    rows: int
    columns: list[str]
    contract: ContractReport | None


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: archived a new version, or found the same bytes already archived;
    for a dry run, what it would do (`manifest` is then the one it would commit, without files,
    when the bytes are new)."""

    status: Literal["archived", "unchanged"]
    manifest: Manifest
    template_changed: bool = False  # unchanged bytes, but the template differs from that version's
    dry_run: bool = False
    checked: Checked | None = None  # unchanged bytes checked again with the template
    fetched_details: dict[str, Any] | None = None  # what this fetch learnt (unchanged bytes)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def source_details(self) -> dict[str, Any]:
        """What the source said during this ingest (its edit date, ETag...): the new
        version's, or, for bytes already archived, this fetch's own."""
        if self.fetched_details is not None:
            return self.fetched_details
        return self.manifest.source.details


class Archive:
    """Versions of raw datasets in a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading the archive (versions.py) -----------------------------------------------------

    def datasets(self) -> list[str]:
        """Datasets with a folder in the archive (folders with other names are not datasets)."""
        return dataset_names(self.store)

    def version_names(self, dataset: str) -> list[str]:
        """Names of the version folders that hold a manifest (committed versions), unordered."""
        return version_names(self.store, dataset)

    def read_manifest(self, dataset: str, version: str) -> Manifest:
        """One committed version's manifest; an unreadable or damaged one is an IntegrityError
        that names it and says what to do (one of a newer lakehouse: NewerRecordError)."""
        return read_manifest(self.store, dataset, version)

    def scan_versions(self, dataset: str) -> VersionScan:
        """Every committed version of `dataset`: those whose manifest reads, oldest first (by
        extraction time), and the damaged ones, each with its sentence. Nothing is warned; a
        manifest of a newer lakehouse is refused (upgrade), as it cannot be placed."""
        return scan_versions(self.store, dataset)

    def versions(self, dataset: str) -> list[Manifest]:
        """Committed versions of `dataset`, oldest first (by extraction time); a damaged
        manifest is an IntegrityError that names it (`readable_versions` leaves it out)."""
        return list_versions(self.store, dataset)

    def readable_versions(self, dataset: str) -> list[Manifest]:
        """The committed versions of `dataset` whose manifest reads, oldest first; each damaged
        one is left out and named in a `DamagedRecordWarning`, so that the rest keep working."""
        return readable_versions(self.store, dataset, stacklevel=3)

    def manifest(self, dataset: str, version: str = LATEST) -> Manifest:
        """The manifest of `version` (or the newest, for 'latest': refused while a version's
        manifest is damaged, since that version could be the newest)."""
        return find_manifest(self.store, dataset, version)

    def version_pair(
        self, dataset: str, version: str = LATEST, against: str | None = None
    ) -> tuple[Manifest, Manifest]:
        """The manifests of `version` and of `against` (default: the version before it)."""
        return version_pair(self.store, dataset, version, against)

    def relation(
        self, con: duckdb.DuckDBPyConnection, dataset: str, version: str = LATEST
    ) -> duckdb.DuckDBPyRelation:
        """The archived data of a version as a DuckDB relation on `con`."""
        return version_relation(self.store, con, dataset, version)

    def read(self, dataset: str, version: str = LATEST, limit: int | None = None) -> pa.Table:
        """The archived data of a version as an Arrow table (optionally only the first rows)."""
        return read_version(self.store, dataset, version, limit)

    # -- source QA (source_qa.py) ----------------------------------------------------------------

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

    # -- ingesting -----------------------------------------------------------------------------

    def ingest(
        self,
        template: IngestTemplate,
        *,
        version: str | None = None,
        project_dir: Path | None = None,
        progress: Progress = no_progress,
        source_contract: Contract | None = None,
        dry_run: bool = False,
    ) -> IngestResult:
        """Fetch the template's source and archive it as a new version (or find it archived).
        The template's steps, `contract:`, `expect:` and `qa:` key, and the pandera
        `source_contract`, if any, gate it. Bytes already archived are read again with the
        template when it changed since, and a template that would reject them is refused.

        With `dry_run`, everything is fetched and checked the same way (the bytes already
        archived too) and nothing is written: a check that fails raises as it would, and the
        result says what would be archived."""
        if version is not None:
            check_version_name(version)
        template = _resolve_local_path(template, project_dir)
        template_sha = hashlib.sha256(template.model_dump_json().encode()).hexdigest()
        extracted_at = datetime.now(UTC)
        with self.store.scratch_dir() as scratch:
            landing = scratch / "landing"
            landing.mkdir()
            fetched = fetch_source(template.source, landing, progress)
            originals = checksum_originals(fetched.files, scratch, progress)
            source_sha = content_sha256([(o.path.name, o.sha256) for o in originals])
            existing = list_versions(self.store, template.name)
            if not dry_run:
                self._remove_abandoned_runs(template.name, existing)
            gate = _Gate(template, source_contract, existing, extracted_at, progress)
            if (same := with_same_bytes(existing, source_sha)) is not None:
                result = _unchanged(same, template_sha, fetched, dry_run)
                if not (dry_run or result.template_changed):
                    return result
                data_file = scratch / DATA_FILE_NAME
                checked = self._check_again(gate, fetched, originals, data_file, result)
                return dataclasses.replace(result, checked=checked)
            # a fixed name that is taken fails here, before any conversion
            self._choose_version(template, fetched, version, existing, extracted_at)
            data_file = scratch / DATA_FILE_NAME
            converted, report = self._convert_and_check(
                gate, fetched, originals, data_file, keep_rejected=not dry_run
            )
            draft = Draft(
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
            if dry_run:
                return self._dry_run(draft, existing, progress)
            return self._archive(draft, existing, progress)

    def _convert_and_check(
        self,
        gate: _Gate,
        fetched: Fetched,
        originals: list[Original],
        data_file: Path,
        *,
        keep_rejected: bool,
    ) -> tuple[Converted, ContractReport | None]:
        """Convert the originals with the template's steps into `data_file`, and check the
        template's `qa:` key, the raw contracts and the template's `expect:` on it (a failed
        raw contract's report is kept under `rejected/` when `keep_rejected`)."""
        template = gate.template
        converted = convert_to_parquet(
            template,
            [o.path for o in originals],
            format_of(template, fetched),
            data_file,
            gate.progress,
        )
        check_qa_settings(template, [c.name for c in converted.columns])
        report = check_raw_contract(template, data_file, gate.progress, gate.source_contract)
        if report is not None and not report.passed:
            self._reject(template.name, report, gate.extracted_at, keep=keep_rejected)
        latest = gate.existing[-1] if gate.existing else None
        check_expectations(template, converted.row_count, latest)
        return converted, report

    def _check_again(
        self,
        gate: _Gate,
        fetched: Fetched,
        originals: list[Original],
        data_file: Path,
        result: IngestResult,
    ) -> Checked:
        """Check the bytes of an archived version with the template as it is now (the same
        bytes, fetched again): a template that would reject them is refused now, not when the
        next version of the source arrives."""
        try:
            converted, report = self._convert_and_check(
                gate, fetched, originals, data_file, keep_rejected=False
            )
        except (ConfigError, FormatError, ContractFailed) as exc:
            why = "the template would reject it"
            if result.template_changed:
                why = "the template changed since and would reject it"
            raise type(exc)(
                f"{gate.template.name}: the source is identical to version {result.version} "
                f"(nothing new to archive), but {why}: {exc}"
            ) from exc
        return Checked(converted.row_count, [c.name for c in converted.columns], report)

    def _dry_run(self, draft: Draft, existing: list[Manifest], progress: Progress) -> IngestResult:
        """What committing the draft would archive: its manifest under the name it would get
        now, with the source QA it would record (no file is written)."""
        name, origin = self._choose_version(
            draft.template, draft.fetched, draft.requested, existing, draft.extracted_at
        )
        progress("source QA against the version before", 0, None)
        before = existing[-1] if existing else None
        unique = key_proven_unique(draft.template, draft.report)
        qa = ingest_qa(self.store, draft.template, name, draft.data_file, before, progress, unique)
        run_folder = f"{version_folder(draft.template.name, name)}/dry-run"
        manifest = draft.manifest(name, origin, run_folder, qa)
        return IngestResult("archived", manifest, dry_run=True)

    def _archive(self, draft: Draft, existing: list[Manifest], progress: Progress) -> IngestResult:
        """Commit the draft as a new version, optimistically: when a concurrent ingest commits
        the chosen name first, the archive is read again and the draft committed under the next
        free name (or found archived already, if its bytes are the same), up to
        MAX_VERSION_ATTEMPTS names. Its source QA is computed once, against the latest version
        when this ingest read the archive, and only relabelled for a later name. Only what this
        run wrote is ever undone."""
        dataset = draft.template.name
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
                    unique = key_proven_unique(draft.template, draft.report)
                    computed = ingest_qa(
                        self.store, draft.template, name, draft.data_file, before, progress, unique
                    )
                qa = computed.named(name)
                manifest = draft.manifest(name, origin, run_folder, qa)
                try:
                    committed = self._commit(manifest, draft, qa, progress, written, run_id)
                except _NameTaken:
                    # the others that lost this name retry too: spread them out, more and more
                    pause = min(NAME_BACKOFF_SECONDS * (attempt + 1), MAX_NAME_BACKOFF_SECONDS)
                    time.sleep(random.uniform(0, pause))
                    existing = versions_since(self.store, dataset, existing)
                    if (same := with_same_bytes(existing, draft.source_sha)) is not None:
                        self._undo_delta(dataset, written)
                        return _unchanged(same, draft.template_sha, draft.fetched)
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

    def _reject(
        self, dataset: str, report: ContractReport, extracted_at: datetime, *, keep: bool
    ) -> None:
        """Keep the failed contract's report beside the archive (not as a version) when `keep`,
        and stop."""
        where = "a dry run"
        if keep:
            run = f"{extracted_at.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"
            path = store_report(self.store, f"{REJECTED_AREA}/{dataset}/{run}", report)
            where = f"the report is at {self.store.url(path)}"
        details = "; ".join(
            f"{r.rule}: {r.failing_rows:,} row(s)"
            + (f", e.g. {', '.join(map(str, r.sample_keys[:3]))}" if r.sample_keys else "")
            for r in report.blocking
        )
        raise ContractFailed(
            f"{dataset}: the raw contract failed ({details}); nothing was archived ({where}). "
            "Fix the source or the template's contract."
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
        draft: Draft,
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
            remove_held(self.store, run_folder, lease)
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
        gone; a live ingest's are never touched), and their half-written files, so nobody has
        to."""
        names = version_names(self.store, dataset)
        remove_abandoned(unreferenced_runs(self.store, dataset, names, existing)[1])
        remove_abandoned(abandoned_temporaries(self.store, dataset_folder(dataset)))

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


class _NameTaken(Exception):
    """The version name a commit chose was committed first by a concurrent ingest."""


@dataclass
class _DeltaWritten:
    """The Delta commit this ingest wrote, while no version refers to it."""

    commit: delta.DeltaCommit | None = None


@dataclass(frozen=True)
class _Gate:
    """What an ingest's checks need besides the data: the template, the pandera source
    contract, the versions archived before and the time the ingest began."""

    template: IngestTemplate
    source_contract: Contract | None
    existing: list[Manifest]
    extracted_at: datetime
    progress: Progress


def _unchanged(
    manifest: Manifest, template_sha: str, fetched: Fetched, dry_run: bool = False
) -> IngestResult:
    changed = manifest.template_sha256 not in (None, template_sha)
    return IngestResult(
        "unchanged",
        manifest,
        template_changed=changed,
        dry_run=dry_run,
        fetched_details=dict(fetched.details),
    )


def _resolve_local_path(template: IngestTemplate, project_dir: Path | None) -> IngestTemplate:
    """Template file paths may start with ~, and relative ones are relative to the project."""
    source = template.source.relative_to_project(project_dir)
    return template if source is template.source else template.model_copy(update={"source": source})
