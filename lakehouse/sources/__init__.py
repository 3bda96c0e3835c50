"""Extractors: one module per kind of source, each landing the original bytes in a local folder.

Every extractor is a function `fetch(source, landing_dir, progress) -> Fetched`, registered in
`get_extractor` by the template's `source.type`. Adding a source type is one module and one
line there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.archive.template import FormatSpec, SourceSpec
from lakehouse.progress import Progress


@dataclass(frozen=True)
class Fetched:
    """What an extractor landed: the original files in order, and what it learnt on the way."""

    files: list[Path]
    location: str  # where it came from, for the manifest: never credentials
    source_version: str | None = None  # the source's own version (e.g. YYYYMMDD of last edit)
    format_override: FormatSpec | None = None  # when the extractor decides the format (API pages)
    details: dict[str, Any] = field(default_factory=dict)


Extractor = Callable[[Any, Path, Progress], Fetched]


def get_extractor(source: SourceSpec) -> Extractor:
    """The fetch function for a source type (imported lazily: some pull in heavy clients)."""
    from lakehouse.sources import arcgis, http, local, s3, socrata

    extractors: dict[str, Extractor] = {
        "file": local.fetch,
        "http": http.fetch,
        "socrata": socrata.fetch,
        "arcgis": arcgis.fetch,
        "s3": s3.fetch,
    }
    return extractors[source.type]
