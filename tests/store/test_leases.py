"""Writer leases: a live writer is told from a dead one, an exclusive lease is taken over from a
dead holder by exactly one run at a time, and what killed runs left is found and removed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.store import lease as leases
from lakehouse.store.lease import LEASE_FILE, Lease, is_abandoned, new_lease
from lakehouse.store.storage import SCRATCH_FOLDER, Store, abandoned_scratch, temporary_beside
from lakehouse.store.writers import (
    LeaseBusy,
    acquire_exclusive,
    folder_leftover,
    hold,
    read_lease,
)

NO_SUCH_PID = 2**22 + 4321  # above Linux's pid_max: never a process


def dead_lease(command: str = "publish") -> Lease:
    return new_lease(command).model_copy(update={"pid": NO_SUCH_PID, "process_started": None})


def elsewhere(lease: Lease, beat_ago: float) -> Lease:
    beat = datetime.now(UTC) - timedelta(seconds=beat_ago)
    return lease.model_copy(update={"host": "another-host", "heartbeat_at": beat})


def test_a_lease_is_abandoned_only_when_its_writer_is_gone() -> None:
    mine = new_lease("ingest")
    assert not is_abandoned(mine)
    assert is_abandoned(dead_lease())
    # the pid is alive, but it is a later process than the one that wrote the lease
    reused = mine.model_copy(update={"process_started": (mine.process_started or 0) - 1})
    assert is_abandoned(reused)
    # another host: only its heartbeat tells
    assert not is_abandoned(elsewhere(mine, beat_ago=5))
    assert is_abandoned(elsewhere(mine, beat_ago=leases.STALE_SECONDS + 5))
    # a lease without a heartbeat (scratch) is never judged from another host
    assert not is_abandoned(elsewhere(mine, beat_ago=10**6), beats=False)


def test_an_exclusive_lease_waits_for_a_live_holder_and_takes_a_dead_one_over(
    tmp_path: Path,
) -> None:
    store = Store(str(tmp_path))
    path = "publish/p/25v1/.claim.json"
    held = acquire_exclusive(store, path, "publish", wait_seconds=0)
    with pytest.raises(LeaseBusy) as busy:
        acquire_exclusive(store, path, "publish", wait_seconds=0.2)
    assert busy.value.holder.writer == held.lease.writer
    held.release()
    assert not store.exists(path)
    store.write_bytes(path, dead_lease().to_json())
    taken = acquire_exclusive(store, path, "publish", wait_seconds=0)
    assert read_lease(store, path) == taken.lease
    assert store.list_files("publish/p/25v1") == [path]  # the takeover marker is gone
    taken.release()


def test_a_dead_taker_is_taken_over_too(tmp_path: Path) -> None:
    """A run killed while taking a dead claim over left its marker: the next run takes the
    marker over, then the claim."""
    store = Store(str(tmp_path))
    path = "publish/p/25v1/.claim.json"
    first = dead_lease()
    store.write_bytes(path, first.to_json())
    store.write_bytes(f"{path}.takeover-{first.writer}", dead_lease().to_json())
    held = acquire_exclusive(store, path, "publish", wait_seconds=0)
    assert read_lease(store, path) == held.lease
    held.release()
    assert store.list_files("publish") == []


def test_a_live_taker_is_waited_for(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    path = "publish/p/25v1/.claim.json"
    first = dead_lease()
    store.write_bytes(path, first.to_json())
    store.write_bytes(f"{path}.takeover-{first.writer}", new_lease("publish").to_json())
    with pytest.raises(LeaseBusy):
        acquire_exclusive(store, path, "publish", wait_seconds=0.2)
    assert read_lease(store, path) == first  # nothing removed under the live taker


def test_a_damaged_lease_is_abandoned_once_it_is_old(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    path = "publish/p/25v1/.claim.json"
    store.write_bytes(path, b'{"writer": ')
    with pytest.raises(LeaseBusy):  # written just now: it may be a live writer's
        acquire_exclusive(store, path, "publish", wait_seconds=0.2)
    old = time.time() - leases.STALE_SECONDS - 60
    os.utime(store.local_path(path), (old, old))
    held = acquire_exclusive(store, path, "publish", wait_seconds=0)
    assert read_lease(store, path) == held.lease
    held.release()


def test_runs_racing_for_a_dead_claim_hold_it_one_at_a_time(tmp_path: Path) -> None:
    """Eight threads, each taking the lease 5 times from whoever held it (first a dead run):
    never two holders at once, and every one gets it."""
    store = Store(str(tmp_path))
    path = "publish/p/25v1/.claim.json"
    store.write_bytes(path, dead_lease().to_json())
    holders: list[str] = []
    overlaps: list[int] = []
    gate = threading.Lock()
    done: list[int] = []

    def run() -> None:
        for _ in range(5):
            held = acquire_exclusive(store, path, "publish", wait_seconds=60)
            with gate:
                holders.append(held.lease.writer)
                if len(holders) > 1:
                    overlaps.append(len(holders))
            time.sleep(0.002)
            with gate:
                holders.remove(held.lease.writer)
            held.release()
        done.append(1)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert overlaps == [] and len(done) == 8
    assert store.list_files("publish") == []


def test_a_held_lease_beats_until_released(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lakehouse.store import writers

    monkeypatch.setattr(writers, "HEARTBEAT_SECONDS", 0.02)
    store = Store(str(tmp_path))
    held = hold(store, f"run/{LEASE_FILE}", "ingest")
    first = held.lease.heartbeat_at
    deadline = time.monotonic() + 30
    beat = first
    while beat == first and time.monotonic() < deadline:
        time.sleep(0.02)
        current = read_lease(store, f"run/{LEASE_FILE}")
        assert current is not None and current.writer == held.lease.writer
        beat = current.heartbeat_at
    assert beat > first
    held.release()
    assert not store.exists(f"run/{LEASE_FILE}")


def test_a_taken_over_lease_is_never_written_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer judged gone (another host's, its heartbeat late) whose lease was taken over
    stops beating instead of writing its lease over the new holder's."""
    from lakehouse.store import writers

    monkeypatch.setattr(writers, "HEARTBEAT_SECONDS", 0.02)
    store = Store(str(tmp_path))
    held = hold(store, "x/.claim.json", "publish")
    other = new_lease("publish")
    store.write_bytes("x/.claim.json", other.to_json())
    time.sleep(0.2)
    assert read_lease(store, "x/.claim.json") == other
    held.release()
    assert read_lease(store, "x/.claim.json") == other  # not the releasing run's to remove


def test_a_folder_is_judged_by_its_lease_or_by_how_long_it_was_quiet(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    store.write_bytes(f"live/{LEASE_FILE}", new_lease("ingest").to_json())
    store.write_bytes(f"dead/{LEASE_FILE}", dead_lease("ingest").to_json())
    store.write_bytes("old/data.parquet", b"x")
    store.write_bytes("new/data.parquet", b"x")
    old = time.time() - leases.STALE_SECONDS - 60
    os.utime(store.local_path("old/data.parquet"), (old, old))
    os.utime(store.local_path("old"), (old, old))
    (tmp_path / "empty").mkdir()  # just made: a run may be about to write its lease in it
    assert not folder_leftover(store, "empty", "an ingest").abandoned
    judged = {name: folder_leftover(store, name, "an ingest").abandoned
              for name in ("live", "dead", "old", "new")}  # fmt: skip
    assert judged == {"live": False, "dead": True, "old": True, "new": False}
    leftover = folder_leftover(store, "dead", "an ingest")
    assert "whose writer is gone" in leftover.describe()
    assert "by process" in folder_leftover(store, "live", "an ingest").describe()
    leftover.remove()
    assert not store.exists(f"dead/{LEASE_FILE}")


def test_scratch_folders_of_dead_processes_go_with_the_next_one(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    parent = store.local_path(SCRATCH_FOLDER)
    dead = parent / "lakehouse-dead"
    dead.mkdir(parents=True)
    (dead / LEASE_FILE).write_bytes(dead_lease("scratch").to_json())
    (dead / "landing.csv").write_bytes(b"a" * 1000)
    live = parent / "lakehouse-live"
    live.mkdir()
    (live / LEASE_FILE).write_bytes(new_lease("scratch").to_json())
    assert abandoned_scratch(parent, shared=False) == [dead]
    with store.scratch_dir() as scratch:
        assert scratch.parent == parent and (scratch / LEASE_FILE).is_file()
        assert not dead.exists() and live.exists()
    assert not scratch.exists()


def test_a_temporary_file_names_its_process(tmp_path: Path) -> None:
    """A killed process's half-written temporary file is told from a live one's."""
    from lakehouse.store.storage import abandoned_temporary

    mine = temporary_beside(tmp_path / "manifest.json")
    mine.write_bytes(b"{")
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = tmp_path / mine.name.replace(f".{os.getpid()}-", f".{child.stdout.strip()}-")
    gone.write_bytes(b"{")
    assert not abandoned_temporary(mine) and abandoned_temporary(gone)
    assert not abandoned_temporary(tmp_path / "manifest.json")


def test_a_lease_names_its_writer() -> None:
    lease = new_lease("publish")
    assert lease.host == socket.gethostname() and lease.pid == os.getpid()
    assert f"`lake publish` by process {os.getpid()} on {socket.gethostname()}" in (
        lease.describe()
    )


def test_on_s3_a_dead_claim_is_taken_over_and_a_killed_ingest_removed(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    """The same on moto's S3 (conditional PUT, LastModified): a dead claim is taken over; a
    run folder whose writer is gone is judged abandoned, one with a live lease is not."""
    from lakehouse.config import S3Settings

    store = Store(f"s3://{s3_bucket}/lake", S3Settings(endpoint_url=s3_endpoint))
    path = "publish/p/25v1/.claim.json"
    store.write_bytes(path, dead_lease().to_json())
    held = acquire_exclusive(store, path, "publish", wait_seconds=0)
    assert read_lease(store, path) == held.lease
    with pytest.raises(LeaseBusy):
        acquire_exclusive(store, path, "publish", wait_seconds=0.2)
    held.release()
    assert store.list_files("publish") == []
    store.write_bytes(f"raw/a/v1/run1/{LEASE_FILE}", dead_lease("ingest").to_json())
    store.write_bytes(f"raw/a/v1/run2/{LEASE_FILE}", new_lease("ingest").to_json())
    store.write_bytes("raw/a/v1/run3/data.parquet", b"x")  # no lease, just written
    judged = [folder_leftover(store, f"raw/a/v1/{run}", "an ingest").abandoned
              for run in ("run1", "run2", "run3")]  # fmt: skip
    assert judged == [True, False, False]
    assert store.modified_at("raw/a/v1/run3/data.parquet") > datetime.now(UTC) - timedelta(
        minutes=5
    )


def test_a_lease_from_another_machine_with_this_host_name_is_judged_by_its_heartbeat() -> None:
    """A container sharing the host's name has pids of its own: its lease is never judged by
    this machine's processes, only by its heartbeat."""
    theirs = dead_lease().model_copy(update={"machine": "another-boot/pid:[4026531836]"})
    assert not is_abandoned(theirs)  # its pid is not ours to look up: its heartbeat is fresh
    old = datetime.now(UTC) - timedelta(seconds=leases.STALE_SECONDS + 5)
    assert is_abandoned(theirs.model_copy(update={"heartbeat_at": old}))
    assert new_lease("x").machine == leases.this_machine() is not None


def test_a_run_whose_claim_was_taken_over_commits_and_removes_nothing(tmp_path: Path) -> None:
    """A writer judged gone while it was only paused finds, at its commit, that the claim is
    another run's: it stops, and its clean-up leaves the folder to that run."""
    from lakehouse.errors import StorageError
    from lakehouse.publish.publish import _undo

    store = Store(str(tmp_path))
    folder = "publish/p/25v1"
    held = acquire_exclusive(store, f"{folder}/.claim.json", "publish", wait_seconds=0)
    store.write_bytes(f"{folder}/outputs/p.parquet", b"the new holder's copy")
    store.write_bytes(f"{folder}/.claim.json", new_lease("publish").to_json())
    with pytest.raises(StorageError, match=r"was taken over by another run.*committed nothing"):
        held.confirm()
    _undo(store, folder, [f"{folder}/outputs/p.parquet"], held)
    assert store.read_bytes(f"{folder}/outputs/p.parquet") == b"the new holder's copy"
    assert read_lease(store, f"{folder}/.claim.json") != held.lease


def test_another_machines_scratch_goes_once_it_was_quiet_for_a_day(tmp_path: Path) -> None:
    """A killed container's scratch folder in the store's .tmp (another machine: its pid says
    nothing here) is removed once nothing in it changed for QUIET_SECONDS, not before."""
    store = Store(str(tmp_path))
    parent = store.local_path(SCRATCH_FOLDER)
    folder = parent / "lakehouse-container"
    folder.mkdir(parents=True)
    theirs = new_lease("scratch").model_copy(update={"machine": "other-boot/pid:[1]"})
    (folder / LEASE_FILE).write_bytes(theirs.to_json())
    assert abandoned_scratch(parent, shared=False) == []
    old = time.time() - leases.QUIET_SECONDS - 60
    for path in [folder / LEASE_FILE, folder]:
        os.utime(path, (old, old))
    assert abandoned_scratch(parent, shared=False) == [folder]
