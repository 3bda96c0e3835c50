"""Local files: the manual inputs (spreadsheets, shared-drive exports) and generated samples.

A template's `source: {type: file, path: ...}`; a relative path is taken from the project folder.

`probe` reports the file's size and modification time in nanoseconds, `{"size": <bytes>,
"mtime_ns": <int>}`, as the fetch records them in the manifest's source details: a file
rewritten, or only touched, looks changed (the fetch then finds out whether its bytes are).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Self

from lakehouse.errors import SourceError
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType, Upstream


class FileSource(SourceSpec):
    type: Literal["file"]
    path: str

    def relative_to_project(self, project_dir: Path | None) -> Self:
        """The path with ~ expanded and, when relative, taken from the project folder."""
        path = Path(self.path).expanduser()
        if project_dir and not path.is_absolute():
            path = project_dir / path
        return self.model_copy(update={"path": str(path)})


def _existing_file(source: FileSource) -> Path:
    path = Path(os.path.expanduser(source.path))
    if not path.exists():
        raise SourceError(f"Source file {path} does not exist; check the path.")
    if not path.is_file():
        raise SourceError(f"Source path {path} is not a file; point it at one file.")
    return path


def file_marker(stat: os.stat_result) -> dict[str, int]:
    """A file's cheap state, `{"size": ..., "mtime_ns": ...}`: what the fetch records and the
    probe reports."""
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def fetch(source: FileSource, landing_dir: Path, progress: Progress) -> Fetched:
    """Point at the file where it is: it is copied into the store only once, by the archive."""
    path = _existing_file(source)
    details = file_marker(path.stat())
    progress(f"found {path.name}", 1, 1)
    return Fetched(files=[path.resolve()], location=str(path.resolve()), details=details)


def probe(source: FileSource) -> Upstream:
    """The file's size and modification time (give it the spec `relative_to_project` made:
    a relative path is otherwise taken from the working folder)."""
    stat = _existing_file(source).stat()
    edited_at = datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=UTC)
    return Upstream(marker=file_marker(stat), edited_at=edited_at)


SOURCE = SourceType(name="file", spec=FileSource, fetch=fetch, probe=probe)
