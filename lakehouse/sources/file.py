"""Local files: the manual inputs (spreadsheets, shared-drive exports) and generated samples.

A template's `source: {type: file, path: ...}`; a relative path is taken from the project folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Self

from lakehouse.errors import SourceError
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType


class FileSource(SourceSpec):
    type: Literal["file"]
    path: str

    def relative_to_project(self, project_dir: Path | None) -> Self:
        """The path with ~ expanded and, when relative, taken from the project folder."""
        path = Path(self.path).expanduser()
        if project_dir and not path.is_absolute():
            path = project_dir / path
        return self.model_copy(update={"path": str(path)})


def fetch(source: FileSource, landing_dir: Path, progress: Progress) -> Fetched:
    """Point at the file where it is: it is copied into the store only once, by the archive."""
    path = Path(os.path.expanduser(source.path))
    if not path.exists():
        raise SourceError(f"Source file {path} does not exist; check the path.")
    if not path.is_file():
        raise SourceError(f"Source path {path} is not a file; point it at one file.")
    progress(f"found {path.name}", 1, 1)
    return Fetched(files=[path.resolve()], location=str(path.resolve()))


SOURCE = SourceType(name="file", spec=FileSource, fetch=fetch)
