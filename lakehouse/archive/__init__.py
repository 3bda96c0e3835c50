"""The raw archive: ingest templates, conversion to Parquet or Delta, and immutable versions
with their manifests and source QA."""

from lakehouse.archive.archive import Archive, IngestResult
from lakehouse.archive.manifest import Manifest
from lakehouse.archive.project_datasets import (
    compare_dataset_versions,
    ingest_dataset,
    write_dataset_report,
)
from lakehouse.archive.source_qa import SourceQa, dataset_qa_settings, qa_settings
from lakehouse.archive.template import (
    IngestTemplate,
    list_templates,
    load_template,
    load_template_for,
)

__all__ = [
    "Archive",
    "IngestResult",
    "IngestTemplate",
    "Manifest",
    "SourceQa",
    "compare_dataset_versions",
    "dataset_qa_settings",
    "ingest_dataset",
    "list_templates",
    "load_template",
    "load_template_for",
    "qa_settings",
    "write_dataset_report",
]
