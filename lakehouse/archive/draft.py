"""An ingest's draft: the source's original files checksummed where they are, converted to
Parquet and checked by the raw contract, waiting for the version name it is committed under
(archive.py chooses the name, and writes the manifest this draft gives for it).

The original bytes identify the source: one file's sha256, or a digest of several files' names
and sums. A local file that changes while it is archived is refused, so that its checksum
never lies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lakehouse.archive.convert import Converted
from lakehouse.archive.manifest import (
    ContractWarning,
    Manifest,
    RawContractSummary,
    SourceInfo,
    VersionOrigin,
)
from lakehouse.archive.source_qa import QA_FOLDER, SourceQa
from lakehouse.archive.template import IngestTemplate
from lakehouse.contracts.check import check_schema
from lakehouse.contracts.contract import Contract
from lakehouse.contracts.raw import check_raw
from lakehouse.contracts.report import ContractReport
from lakehouse.errors import ConfigError, SourceError
from lakehouse.formats import FormatSpec
from lakehouse.progress import Progress
from lakehouse.provenance import run_details, tool_versions
from lakehouse.sources import Fetched
from lakehouse.store.storage import sha256_of_file

CONTRACT_FOLDER = "contract"  # a version's raw contract report, beside its data


@dataclass(frozen=True)
class Original:
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


@dataclass
class Draft:
    """A converted, checked source waiting for a version name: everything of the version but
    its name, run folder and source QA (which depend on the versions archived before it)."""

    template: IngestTemplate
    fetched: Fetched
    requested: str | None
    extracted_at: datetime
    template_sha: str
    source_sha: str
    originals: list[Original]
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
                format=format_of(template, self.fetched).type,
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


def checksum_originals(files: list[Path], scratch: Path, progress: Progress) -> list[Original]:
    """sha256 and size of each original file, read where it is."""
    originals = []
    for index, path in enumerate(files):
        progress("checksumming the original bytes", index, len(files))
        before = path.stat()
        sha, size = sha256_of_file(path)
        landed = path.is_relative_to(scratch)
        original = Original(path, sha, size, landed, before.st_mtime_ns)
        if not landed:
            original.check_unchanged()
        originals.append(original)
    return originals


def content_sha256(named_hashes: list[tuple[str, str]]) -> str:
    """A source's identity: its file's sha256, or a digest of several files' names and sums."""
    if len(named_hashes) == 1:
        return named_hashes[0][1]
    lines = "".join(f"{name}\t{sha}\n" for name, sha in named_hashes)
    return hashlib.sha256(lines.encode()).hexdigest()


def format_of(template: IngestTemplate, fetched: Fetched) -> FormatSpec:
    fmt = fetched.format_override or template.format
    if fmt is None:
        raise ConfigError(f"The template of {template.name!r} needs a format.")
    return fmt


def check_raw_contract(
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
