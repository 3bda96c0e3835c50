"""Local file sources: a file that changes while it is archived is refused."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_local_file_changing_while_archived_is_refused(tmp_path: Path) -> None:
    import os

    from lakehouse.archive.archive import _checksum_originals
    from lakehouse.errors import SourceError
    from lakehouse.progress import no_progress

    path = tmp_path / "growing.csv"
    path.write_text("a\n1\n")
    (original,) = _checksum_originals([path], tmp_path / "scratch", no_progress)
    original.check_unchanged()
    path.write_text("a\n1\n2\n")
    os.utime(path, ns=(original.mtime_ns + 1_000_000, original.mtime_ns + 1_000_000))
    with pytest.raises(SourceError, match="changed while it was being archived"):
        original.check_unchanged()
