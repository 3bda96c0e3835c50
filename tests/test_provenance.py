"""What manifests and builds record about where they came from: package versions, the run,
the git state of the project."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from lakehouse.provenance import (
    ARCHIVE_PACKAGES,
    git_state,
    package_versions,
    run_details,
    tool_versions,
)


def test_package_versions_in_the_order_given_unknown_when_absent() -> None:
    versions = package_versions(["pyarrow", "no-such-package-here", "duckdb"])
    assert list(versions) == ["pyarrow", "no-such-package-here", "duckdb"]
    assert versions["pyarrow"] == metadata.version("pyarrow")
    assert versions["no-such-package-here"] == "unknown"


def test_the_archive_records_the_tools_that_shape_its_bytes() -> None:
    assert ARCHIVE_PACKAGES == ("lakehouse", "duckdb", "pyarrow", "deltalake", "pyogrio")
    assert tool_versions() == package_versions(ARCHIVE_PACKAGES)


def test_run_details_say_how_the_run_was_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LAKEHOUSE_RUN_URL", raising=False)
    manual = run_details()
    assert set(manual) == {"trigger", "user"} and manual["trigger"] == "manual"
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LAKEHOUSE_RUN_URL", "https://ci.example/runs/7")
    assert run_details() == {
        "trigger": "ci",
        "user": manual["user"],
        "run_url": "https://ci.example/runs/7",
    }


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_git_state_is_dirty_only_for_transforms_and_recipes(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {"commit": None, "dirty": None}  # not a work tree
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "test@example.org")
    git(tmp_path, "config", "user.name", "Test")
    (tmp_path / "transforms").mkdir()
    (tmp_path / "transforms" / "model.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("hello\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "notes.txt").write_text("changed\n")
    assert git_state(tmp_path) == {"commit": head, "dirty": False}  # not a transform
    (tmp_path / "transforms" / "model.py").write_text("x = 2\n")
    assert git_state(tmp_path) == {"commit": head, "dirty": True}
