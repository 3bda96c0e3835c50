"""The raw archive: ingest templates, conversion to Parquet or Delta, and immutable versions
with their manifests and source QA."""

from lakehouse.archive.archive import Archive, IngestResult
from lakehouse.archive.manifest import Manifest
from lakehouse.archive.source_qa import SourceQa, qa_settings
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
    "list_templates",
    "load_template",
    "load_template_for",
    "qa_settings",
]
