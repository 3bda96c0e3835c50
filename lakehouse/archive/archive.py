"""The raw archive: every dataset kept by version, immutably, with its original bytes.

An ingest lands the source in a scratch folder (a local file is read where it is), checksums
the original bytes (identical bytes make no new version), converts them to Parquet (or a Delta
table version), puts everything under `raw/<dataset>/<version>/<run id>/`, and commits by
writing the manifest last.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakehouse.archive import delta
from lakehouse.archive.convert import convert_to_parquet
from lakehouse.archive.manifest import (
    ContractWarning,
    Manifest,
    RawContractSummary,
    SourceInfo,
    StoredFile,
    VersionOrigin,
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
from lakehouse.sources import Fetched, fetch_source
from lakehouse.store.storage import Store, sha256_of_file

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

DATA_FILE_NAME = "data.parquet"
CONTRACT_FOLDER = "contract"  # a version's raw contract report, beside its data
REJECTED_AREA = "rejected"  # reports of ingests their raw contract stopped (no version)


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
        """One committed version's manifest; an unreadable one is an IntegrityError."""
        path = manifest_path(dataset, version)
        try:
            return Manifest.from_json(self.store.read_bytes(path), self.store.url(path))
        except NewerRecordError:
            raise
        except IntegrityError as exc:
            raise IntegrityError(
                f"The manifest {self.store.url(path)} is unreadable or damaged; run `lake verify` "
                "and restore it from a backup."
            ) from exc

    def versions(self, dataset: str) -> list[Manifest]:
        """Committed versions of `dataset`, oldest first (by extraction time)."""
        manifests = [self.read_manifest(dataset, v) for v in self.version_names(dataset)]
        return sorted(manifests, key=lambda m: (m.extracted_at, m.version))

    def manifest(self, dataset: str, version: str = LATEST) -> Manifest:
        """The manifest of `version` (or the newest, for 'latest')."""
        check_dataset_name(dataset)
        if version == LATEST:
            versions = self.versions(dataset)
            if not versions:
                raise NotFoundError(
                    f"Dataset {dataset!r} has no archived versions; run `lake ingest {dataset}`."
                )
            return versions[-1]
        check_version_name(version)
        if not self.store.exists(manifest_path(dataset, version)):
            known = ", ".join(m.version for m in self.versions(dataset)) or "none"
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
            for manifest in existing:
                if manifest.source_sha256 == source_sha:
                    changed = manifest.template_sha256 not in (None, template_sha)
                    return IngestResult("unchanged", manifest, template_changed=changed)
            name, origin = self._choose_version(template, fetched, version, existing, extracted_at)
            data_file = scratch / DATA_FILE_NAME
            converted = convert_to_parquet(
                template,
                [o.path for o in originals],
                _format_of(template, fetched),
                data_file,
                progress,
            )
            report = _check_raw_contract(template, data_file, progress, source_contract)
            run_folder = f"{version_folder(template.name, name)}/{uuid.uuid4().hex[:12]}"
            if report is not None and not report.passed:
                self._reject(template.name, report, extracted_at)
            progress("source QA against the version before", 0, None)
            before = existing[-1] if existing else None
            qa = ingest_qa(self.store, template, name, data_file, before)
            manifest = Manifest(
                dataset=template.name,
                version=name,
                version_origin=origin,
                source=SourceInfo(
                    type=template.source.type,
                    location=fetched.location,
                    format=_format_of(template, fetched).type,
                    details=fetched.details,
                ),
                extracted_at=extracted_at,
                archived_at=extracted_at,  # set again at commit
                run_folder=run_folder,
                source_files=[],
                source_sha256=source_sha,
                storage=template.storage,
                data_files=[],
                row_count=converted.row_count,
                columns=converted.columns,
                geometry_column=converted.geometry_column,
                geometry_crs=converted.geometry_crs,
                invalid_geometries=converted.invalid_geometries,
                unparsed_geometries=converted.unparsed_geometries,
                steps=converted.step_summaries,
                template_sha256=template_sha,
                contract=_contract_summary(report, f"{run_folder}/{CONTRACT_FOLDER}"),
                qa=qa.summary(f"{run_folder}/{QA_FOLDER}"),
                tool=tool_versions(),
                run=run_details(),
            )
            return IngestResult(
                "archived", self._commit(manifest, originals, data_file, report, qa, progress)
            )

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
        originals: list[_Original],
        data_file: Path,
        report: ContractReport | None,
        qa: SourceQa,
        progress: Progress,
    ) -> Manifest:
        """Move the files (and the contract report) into the store, then write the manifest:
        the commit point."""
        dataset, run_folder = manifest.dataset, manifest.run_folder
        delta_before: int | None = None
        delta_written = False
        try:
            source_files = []
            for index, original in enumerate(originals):
                progress("storing original files", index, len(originals))
                rel = f"{run_folder}/source/{original.path.name}"
                self.store.put_file(original.path, rel, move=original.landed)
                if not original.landed:
                    original.check_unchanged()
                source_files.append(
                    StoredFile(path=rel, bytes=original.size, sha256=original.sha256)
                )
            if report is not None:
                store_report(self.store, f"{run_folder}/{CONTRACT_FOLDER}", report)
            qa.store(self.store, f"{run_folder}/{QA_FOLDER}")
            progress("storing data", 0, None)
            delta_version = None
            if manifest.storage == "delta":
                delta_before = delta.current_version(self.store, dataset)
                delta_written = True
                data_files, delta_version = delta.append_version(self.store, dataset, data_file)
            else:
                rel = f"{run_folder}/{DATA_FILE_NAME}"
                sha, size = sha256_of_file(data_file)
                self.store.put_file(data_file, rel, move=True)
                data_files = [StoredFile(path=rel, bytes=size, sha256=sha)]
            committed = manifest.model_copy(
                update={
                    "source_files": source_files,
                    "data_files": data_files,
                    "delta_version": delta_version,
                    "archived_at": datetime.now(UTC),
                }
            )
            self.store.create_exclusive(
                manifest_path(dataset, manifest.version), committed.to_json()
            )
        except BaseException:
            self.store.remove_folder(run_folder)
            if delta_written:
                delta.undo_version(self.store, dataset, delta_before)
            raise
        progress("archived", 1, 1)
        return committed


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
