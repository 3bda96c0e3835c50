"""Local files written whole (`replace_whole`): the old file or the new one, never a mix, with
writers at once in threads (`lake lock` from Dagster while `lake update` locks too), and
nothing left behind by a write that fails."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.store.storage import replace_whole
from lakehouse.transform.recipe import Lock, read_lock, write_lock

WRITERS = 8
WRITES = 25


def run_at_once(work: list[threading.Thread]) -> None:
    for thread in work:
        thread.start()
    for thread in work:
        thread.join()


def test_concurrent_lock_writes_leave_one_whole_lock(tmp_path: Path) -> None:
    """Eight writers of one product's lock file, 25 times each: none fails, the file read
    after is one of the locks written, whole, and no temporary file is left."""
    start = datetime(2026, 11, 28, tzinfo=UTC)
    written = {start + timedelta(minutes=n) for n in range(WRITERS * WRITES)}
    errors: list[BaseException] = []

    def writer(first: int) -> None:
        try:
            for n in range(first, first + WRITES):
                when = start + timedelta(minutes=n)
                write_lock(tmp_path, Lock(product="lots", locked_at=when, inputs={}))
        except BaseException as exc:  # the test reports any
            errors.append(exc)

    run_at_once([threading.Thread(target=writer, args=(i * WRITES,)) for i in range(WRITERS)])
    assert errors == []
    found = read_lock(tmp_path, "lots")
    assert found is not None and found.locked_at in written
    assert [p.name for p in tmp_path.iterdir()] == ["lots.lock"]


def test_a_write_that_fails_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "page.html"
    target.write_text("old")

    def half_written(temporary: Path) -> None:
        temporary.write_text("new, cut")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_whole(target, half_written)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path: Path) -> None:
    """A temporary of a process that is gone (pid 2**22 + 1: above Linux's highest) is
    removed by the next write of its file; a live writer's (this process's) is kept."""
    target = tmp_path / "lots.lock"
    dead = tmp_path / f".lots.lock.{2**22 + 1}-{'0' * 32}.tmp"
    live = tmp_path / f".lots.lock.{os.getpid()}-{'1' * 32}.tmp"
    other = tmp_path / f".other.lock.{2**22 + 1}-{'0' * 32}.tmp"
    for path in (dead, live, other):
        path.write_text("cut")
    replace_whole(target, lambda temporary: temporary.write_text("whole"))
    assert target.read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["lots.lock", live.name, other.name]
    )
