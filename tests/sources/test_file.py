"""The file source type: a local file archived where it is; its path may start with ~ or be
relative to the project, and a file that changes while it is archived is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakehouse.errors import SourceError
from lakehouse.progress import no_progress
from lakehouse.project import Lakehouse
from lakehouse.sources.file import FileSource, fetch
from tests.conftest import write_template


def test_a_local_file_changing_while_archived_is_refused(tmp_path: Path) -> None:
    from lakehouse.archive.draft import checksum_originals as _checksum_originals

    path = tmp_path / "growing.csv"
    path.write_text("a\n1\n")
    (original,) = _checksum_originals([path], tmp_path / "scratch", no_progress)
    original.check_unchanged()
    path.write_text("a\n1\n2\n")
    os.utime(path, ns=(original.mtime_ns + 1_000_000, original.mtime_ns + 1_000_000))
    with pytest.raises(SourceError, match="changed while it was being archived"):
        original.check_unchanged()


def test_a_home_relative_template_path_is_expanded(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "h.csv").write_text("a\n1\n")
    write_template(
        project_dir, "h", "name: h\nsource: {type: file, path: '~/h.csv'}\nformat: {type: csv}\n"
    )
    assert lake.ingest("h").manifest.source.location == str(tmp_path / "h.csv")


def test_a_relative_path_is_taken_from_the_project_folder(
    lake: Lakehouse, project_dir: Path
) -> None:
    (project_dir / "data").mkdir()
    (project_dir / "data" / "r.csv").write_text("a\n1\n")
    write_template(
        project_dir, "r", "name: r\nsource: {type: file, path: data/r.csv}\nformat: {type: csv}\n"
    )
    assert lake.ingest("r").manifest.source.location == str(project_dir / "data" / "r.csv")
    spec = FileSource(type="file", path="/abs/r.csv")
    assert spec.relative_to_project(project_dir) == spec


def test_a_missing_file_or_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist; check the path"):
        fetch(FileSource(type="file", path=str(tmp_path / "nope.csv")), tmp_path, no_progress)
    with pytest.raises(SourceError, match="is not a file; point it at one file"):
        fetch(FileSource(type="file", path=str(tmp_path)), tmp_path, no_progress)
