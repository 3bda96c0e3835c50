"""Local files: the manual inputs (spreadsheets, shared-drive exports) and generated samples."""

from __future__ import annotations

import os
from pathlib import Path

from lakehouse.archive.template import FileSource
from lakehouse.errors import SourceError
from lakehouse.progress import Progress
from lakehouse.sources import Fetched


def fetch(source: FileSource, landing_dir: Path, progress: Progress) -> Fetched:
    """Point at the file where it is: it is copied into the store only once, by the archive."""
    path = Path(os.path.expanduser(source.path))
    if not path.exists():
        raise SourceError(f"Source file {path} does not exist; check the path.")
    if not path.is_file():
        raise SourceError(f"Source path {path} is not a file; point it at one file.")
    progress(f"found {path.name}", 1, 1)
    return Fetched(files=[path.resolve()], location=str(path.resolve()))
