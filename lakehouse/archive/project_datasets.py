"""A project's datasets in the archive: ingest and source QA with the templates and source
contracts read from the project's folders (an Archive itself knows only its store)."""

from __future__ import annotations

from pathlib import Path

from lakehouse.archive.archive import Archive, IngestResult
from lakehouse.archive.checks import record_check
from lakehouse.archive.source_qa import dataset_qa_settings, write_source_report
from lakehouse.archive.template import load_template_for, template_for_file
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.contract import load_source_contract
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.progress import Progress, no_progress
from lakehouse.qa.drift import QaSettings, SourceDrift


def ingest_dataset(
    config: LakehouseConfig,
    archive: Archive,
    dataset: str,
    *,
    file: Path | None = None,
    version: str | None = None,
    progress: Progress = no_progress,
    dry_run: bool = False,
) -> IngestResult:
    """Archive the dataset's source (or `file`, a local copy of it) as a new version, with the
    project's template (or, for a file without one, a template from its suffix) and its
    pandera source contract, if any; with `dry_run`, fetch and check it the same way and
    archive nothing (see Archive.ingest). A fetch of the template's own source is kept as the
    dataset's last check (`lakehouse.archive.checks`), from which freshness is judged."""
    check_dataset_name(dataset)
    if file is not None:
        template = template_for_file(config.templates_dir, dataset, Path(file))
    else:
        template = load_template_for(config.templates_dir, dataset)
    result = archive.ingest(
        template,
        version=version,
        project_dir=config.project_dir,
        progress=progress,
        source_contract=load_source_contract(config.contracts_dir, dataset),
        dry_run=dry_run,
    )
    if file is None and not dry_run:
        record_check(archive.store, dataset, result)
    return result


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
