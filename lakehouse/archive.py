"""The raw archive: every dataset kept by version, immutably, with its original bytes.

An ingest lands the source in a scratch folder, checks it against what is archived (identical
bytes make no new version), converts it to Parquet (or appends a Delta table version), copies
everything under `raw/<dataset>/<version>/<run id>/`, and commits by writing the manifest last.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lakehouse.errors import FormatError, LakehouseError, NotFoundError, VersionExistsError
from lakehouse.manifest import (
    ColumnInfo,
    Manifest,
    SourceInfo,
    StoredFile,
    dataset_folder,
    delta_table_folder,
    manifest_path,
    version_folder,
)
from lakehouse.names import check_dataset_name, check_version_name
from lakehouse.progress import Progress, no_progress
from lakehouse.readers import GEOMETRY_COLUMN, SOURCE_VIEW, explain_read_error, load_source
from lakehouse.sources import Fetched, get_extractor
from lakehouse.steps import compile_steps
from lakehouse.storage import Store, sha256_of_file
from lakehouse.template import FileSource, IngestTemplate

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

LATEST = "latest"
DATA_FILE_NAME = "data.parquet"


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: archived a new version, or found the same bytes already archived."""

    status: Literal["archived", "unchanged"]
    manifest: Manifest

    @property
    def version(self) -> str:
        return self.manifest.version


class Archive:
    """Versions of raw datasets in a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading the archive -------------------------------------------------------------------

    def datasets(self) -> list[str]:
        return [name for name in self.store.list_folders("raw") if not name.startswith((".", "_"))]

    def versions(self, dataset: str) -> list[Manifest]:
        """Committed versions of `dataset`, oldest first (by extraction time)."""
        check_dataset_name(dataset)
        manifests = []
        for version in self.store.list_folders(dataset_folder(dataset)):
            path = manifest_path(dataset, version)
            if self.store.exists(path):
                manifests.append(Manifest.from_json(self.store.read_bytes(path)))
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
        path = manifest_path(dataset, version)
        if not self.store.exists(path):
            known = ", ".join(m.version for m in self.versions(dataset)) or "none"
            raise NotFoundError(
                f"Dataset {dataset!r} has no version {version!r}; archived versions: {known}."
            )
        return Manifest.from_json(self.store.read_bytes(path))

    def relation(
        self, con: duckdb.DuckDBPyConnection, dataset: str, version: str = LATEST
    ) -> duckdb.DuckDBPyRelation:
        """The archived data of a version as a DuckDB relation on `con`."""
        found = self.manifest(dataset, version)
        if found.storage == "delta":
            from deltalake import DeltaTable

            table = DeltaTable(
                self.store.url(delta_table_folder(dataset)),
                version=found.delta_version,
                storage_options=self.store.delta_storage_options(),
            )
            return con.from_arrow(table.to_pyarrow_dataset())
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
    ) -> IngestResult:
        """Fetch the template's source and archive it as a new version (or find it archived)."""
        if version is not None:
            check_version_name(version)
        template = _resolve_local_path(template, project_dir)
        extracted_at = datetime.now(UTC)
        with self.store.scratch_dir() as scratch:
            landing = scratch / "landing"
            landing.mkdir()
            fetched = get_extractor(template.source)(template.source, landing, progress)
            progress("checksumming source", 0, None)
            source_hashes = [(path, *sha256_of_file(path)) for path in fetched.files]
            source_sha = _content_sha256([(p.name, sha) for p, sha, _ in source_hashes])
            existing = self.versions(template.name)
            for manifest in existing:
                if manifest.source_sha256 == source_sha:
                    return IngestResult("unchanged", manifest)
            name, origin = self._choose_version(template, fetched, version, existing, extracted_at)
            data_file = scratch / DATA_FILE_NAME
            converted = _convert_to_parquet(template, fetched, data_file, progress)
            return IngestResult(
                "archived",
                self._commit(
                    template,
                    fetched,
                    name,
                    origin,
                    extracted_at,
                    source_hashes,
                    source_sha,
                    data_file,
                    converted,
                    progress,
                ),
            )

    def _choose_version(
        self,
        template: IngestTemplate,
        fetched: Fetched,
        requested: str | None,
        existing: list[Manifest],
        extracted_at: datetime,
    ) -> tuple[str, Literal["option", "template", "source metadata", "run date"]]:
        taken = {m.version for m in existing}
        chosen: tuple[str, Literal["option", "template", "source metadata"]] | None = None
        if requested:
            chosen = (requested, "option")
        elif template.version:
            chosen = (template.version, "template")
        elif template.version_from == "source_metadata" and fetched.source_version:
            chosen = (check_version_name(fetched.source_version), "source metadata")
        if chosen is not None:
            if chosen[0] in taken:
                raise VersionExistsError(
                    f"Version {chosen[0]!r} of {template.name!r} is already archived with "
                    "different content, and versions are never overwritten; pass --version "
                    "with a new name (e.g. "
                    f"{chosen[0]}.1) to archive this data beside it."
                )
            return chosen
        day = extracted_at.strftime("%Y%m%d")
        candidate, suffix = day, 2
        while candidate in taken:
            candidate, suffix = f"{day}-{suffix}", suffix + 1
        return candidate, "run date"

    def _commit(
        self,
        template: IngestTemplate,
        fetched: Fetched,
        version: str,
        origin: Literal["option", "template", "source metadata", "run date"],
        extracted_at: datetime,
        source_hashes: list[tuple[Path, str, int]],
        source_sha: str,
        data_file: Path,
        converted: _Converted,
        progress: Progress,
    ) -> Manifest:
        run_folder = f"{version_folder(template.name, version)}/{uuid.uuid4().hex[:12]}"
        moving = not isinstance(template.source, FileSource)
        try:
            source_files = []
            for index, (path, sha, size) in enumerate(source_hashes):
                progress("storing original files", index, len(source_hashes))
                rel = f"{run_folder}/source/{path.name}"
                self.store.put_file(path, rel, move=moving)
                source_files.append(StoredFile(path=rel, bytes=size, sha256=sha))
            progress("storing data", 0, None)
            if template.storage == "delta":
                data_files, delta_version = self._append_delta_version(template.name, data_file)
            else:
                rel = f"{run_folder}/{DATA_FILE_NAME}"
                sha, size = sha256_of_file(data_file)
                self.store.put_file(data_file, rel, move=True)
                data_files, delta_version = [StoredFile(path=rel, bytes=size, sha256=sha)], None
            manifest = Manifest(
                dataset=template.name,
                version=version,
                version_origin=origin,
                source=SourceInfo(
                    type=template.source.type,
                    location=fetched.location,
                    format=(fetched.format_override or template.format).type,
                    details=fetched.details,
                ),
                extracted_at=extracted_at,
                archived_at=datetime.now(UTC),
                run_folder=run_folder,
                source_files=source_files,
                source_sha256=source_sha,
                storage=template.storage,
                data_files=data_files,
                delta_version=delta_version,
                row_count=converted.row_count,
                columns=converted.columns,
                geometry_column=converted.geometry_column,
                steps=converted.step_summaries,
                template_sha256=hashlib.sha256(template.model_dump_json().encode()).hexdigest(),
                tool=tool_versions(),
                run=run_details(),
            )
            self.store.create_exclusive(manifest_path(template.name, version), manifest.to_json())
        except BaseException:
            self.store.remove_folder(run_folder)
            raise
        progress("archived", 1, 1)
        return manifest

    def _append_delta_version(self, dataset: str, data_file: Path) -> tuple[list[StoredFile], int]:
        """Write the data as the next version of the dataset's Delta table (for time travel)."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        from deltalake import DeltaTable, WriterProperties, write_deltalake

        uri = self.store.url(delta_table_folder(dataset))
        options = self.store.delta_storage_options()
        write_deltalake(
            uri,
            pq.read_table(data_file),
            mode="overwrite",
            schema_mode="overwrite",
            storage_options=options,
            writer_properties=WriterProperties(compression="ZSTD"),
        )
        table = DeltaTable(uri, storage_options=options)
        delta_version = table.version()
        actions = pa.table(table.get_add_actions(flatten=True))
        prefix = delta_table_folder(dataset)
        files = []
        for relative in sorted(actions.column("path").to_pylist()):
            rel = f"{prefix}/{relative}"
            sha, size = self.store.sha256(rel)
            files.append(StoredFile(path=rel, bytes=size, sha256=sha))
        return files, delta_version


@dataclass(frozen=True)
class _Converted:
    row_count: int
    columns: list[ColumnInfo]
    geometry_column: str | None
    step_summaries: list[dict[str, object]]


def _convert_to_parquet(
    template: IngestTemplate, fetched: Fetched, target: Path, progress: Progress
) -> _Converted:
    """Read the landed files, apply the template's steps, write one zstd Parquet file."""
    import duckdb

    fmt = fetched.format_override or template.format
    progress(f"converting {len(fetched.files)} file(s) to Parquet", 0, None)
    with duckdb.connect() as con:
        load_source(con, fetched.files, fmt)
        source_columns = [row[0] for row in con.execute(f"DESCRIBE {SOURCE_VIEW}").fetchall()]
        compiled = compile_steps(source_columns, template.steps)
        try:
            rows_in = (
                con.execute(f"SELECT count(*) FROM {SOURCE_VIEW}").fetchone()[0]  # type: ignore[index]
                if compiled.has_filter
                else None
            )
            written = con.execute(
                f"COPY ({compiled.sql}) TO '{target}' "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
            ).fetchone()
        except duckdb.Error as exc:
            raise explain_read_error(exc, fetched.files) from exc
        row_count = int(written[0]) if written else 0
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{target}')").fetchall()
    if row_count == 0 and not template.allow_empty:
        raise FormatError(
            f"The source of {template.name!r} has no data rows"
            f"{' after the filter steps' if compiled.has_filter else ''}; nothing was archived "
            "(set allow_empty: true in the template if an empty source is expected)."
        )
    summaries: list[dict[str, object]] = list(compiled.summaries)
    if rows_in is not None:
        summaries.append({"step": "row_count", "rows_in": rows_in, "rows_out": row_count})
    columns = [ColumnInfo(name=row[0], type=str(row[1])) for row in described]
    geometry = (
        GEOMETRY_COLUMN
        if GEOMETRY_COLUMN in compiled.columns
        and any(c.name == GEOMETRY_COLUMN and c.type.startswith("GEOMETRY") for c in columns)
        else None
    )
    return _Converted(row_count, columns, geometry, summaries)


def _resolve_local_path(template: IngestTemplate, project_dir: Path | None) -> IngestTemplate:
    """Relative file paths in a template are relative to the project folder."""
    source = template.source
    if isinstance(source, FileSource) and project_dir and not Path(source.path).is_absolute():
        resolved = source.model_copy(update={"path": str(project_dir / source.path)})
        return template.model_copy(update={"source": resolved})
    return template


def _content_sha256(named_hashes: list[tuple[str, str]]) -> str:
    """A source's identity: its file's sha256, or a digest of several files' names and sums."""
    if len(named_hashes) == 1:
        return named_hashes[0][1]
    lines = "".join(f"{name}\t{sha}\n" for name, sha in named_hashes)
    return hashlib.sha256(lines.encode()).hexdigest()


def tool_versions() -> dict[str, str]:
    """Versions of the tools that shaped the archived bytes."""
    versions = {}
    for package in ("lakehouse", "duckdb", "pyarrow", "deltalake", "pyogrio"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def run_details() -> dict[str, str]:
    """Who ran the ingest and how (manual or CI); nothing secret."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    details = {"trigger": "ci" if os.environ.get("CI") else "manual", "user": user}
    if run_url := os.environ.get("LAKEHOUSE_RUN_URL"):
        details["run_url"] = run_url
    return details


__all__ = ["LATEST", "Archive", "IngestResult", "LakehouseError"]
