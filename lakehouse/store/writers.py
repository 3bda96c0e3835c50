"""The store's side of writer leases (`lakehouse.store.lease`): holding one with a heartbeat,
taking an exclusive one over from a dead writer, and finding what unfinished runs left.

Exclusive leases (a publish claim: one writer per published version) are taken over from a
dead holder through a marker, `<lease>.takeover-<dead writer>`, created exclusively: of several
runs that find the same dead holder, only the one that creates the marker removes its lease,
so a new holder's lease is never removed by a run that looked a moment earlier.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lakehouse.errors import IntegrityError, StorageError, VersionExistsError
from lakehouse.store.lease import (
    HEARTBEAT_SECONDS,
    LEASE_FILE,
    STALE_SECONDS,
    TAKEOVER,
    Lease,
    is_abandoned,
    new_lease,
    process_alive,
)
from lakehouse.store.storage import (
    SCRATCH_FOLDER,
    TEMPORARY,
    Store,
    abandoned_temporary,
)

MAX_TAKEOVER_DEPTH = 8  # dead takers of dead takers: a bound, never reached in practice


def read_lease(store: Store, path: str) -> Lease | None:
    """The lease at `path` (None when there is none). A damaged lease file (a writer killed by
    an older lakehouse, a disk error) reads as a lease of an unknown writer that beat last when
    the file was written, so it is abandoned once that is STALE_SECONDS ago."""
    try:
        data = store.read_bytes(path)
    except FileNotFoundError:
        return None
    try:
        return Lease.from_json(data, store.url(path))
    except IntegrityError:
        try:
            written = store.modified_at(path)
        except FileNotFoundError:
            return None
        return Lease(
            writer="damaged-" + hashlib.sha256(data).hexdigest()[:12],
            command="(unknown)",
            host="",
            pid=0,
            started_at=written,
            heartbeat_at=written,
        )


class HeldLease:
    """A lease this run holds at `path`, its heartbeat kept up by a daemon thread until
    `release()` (which removes the lease file if it is still this run's)."""

    def __init__(self, store: Store, path: str, lease: Lease, *, took_over: bool = False) -> None:
        self.store, self.path, self.lease = store, path, lease
        self.took_over = took_over  # (acquire_exclusive) whether a dead holder's was replaced
        self._abandoned = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {path}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception):  # a missed beat is only a late one
                current = read_lease(self.store, self.path)
                if current is None or current.writer != self.lease.writer:
                    return  # taken over (this run was judged gone): never write it back
                beat = self.lease.model_copy(update={"heartbeat_at": datetime.now(UTC)})
                self.store.write_bytes(self.path, beat.to_json())

    def still_held(self) -> bool:
        """Whether the lease file is still this run's (not taken over by a run that judged
        this one gone: a writer paused for longer than STALE_SECONDS, on another host)."""
        current = read_lease(self.store, self.path)
        return current is not None and current.writer == self.lease.writer

    def confirm(self) -> None:
        """Refuse to go on (before a commit) when the lease is no longer this run's."""
        if not self.still_held():
            raise StorageError(
                f"{self.store.url(self.path)} was taken over by another run, which judged this "
                "one stopped (it was paused, or its heartbeat did not reach the store), so "
                "this run committed nothing; run the command again."
            )

    def _stop_beating(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file (only if it is still this run's)."""
        if self._abandoned:
            return
        self._stop_beating()
        if self.still_held():
            remove_file(self.store, self.path)

    def abandon(self) -> None:
        """Stop the heartbeat and leave the lease file: what this run leaves is then taken for a
        dead run's, removed by the next run (not a lost commit, which a folder without a lease
        would look like)."""
        self._abandoned = True
        self._stop_beating()


def remove_lease_last(store: Store, folder: str, lease: str) -> None:
    """Remove `folder`, its lease file last, so that a removal stopped part way leaves a
    folder still judged by its (dead) writer's lease, never one that looks like a lost
    commit."""
    for path in store.list_files(folder):
        if path != lease:
            remove_file(store, path)
    remove_file(store, lease)
    store.remove_folder(folder)


def remove_held(store: Store, folder: str, held: HeldLease) -> None:
    """Remove what this run wrote in `folder` and then its lease; if that fails part way, the
    lease is left (abandoned) for the next run to find."""
    try:
        for path in store.list_files(folder):
            if path != held.path:
                remove_file(store, path)
    except BaseException:
        held.abandon()
        raise
    held.release()
    store.remove_folder(folder)


def hold(store: Store, path: str, command: str) -> HeldLease:
    """Write a lease for this run at `path` (a place only this run writes: its own run, build
    or scratch folder) and keep its heartbeat until released."""
    lease = new_lease(command)
    store.write_bytes(path, lease.to_json())
    return HeldLease(store, path, lease)


@contextlib.contextmanager
def holding(store: Store, path: str, command: str) -> Iterator[HeldLease]:
    held = hold(store, path, command)
    try:
        yield held
    finally:
        held.release()


class LeaseBusy(Exception):
    """The exclusive lease is held by a live writer (`holder`) beyond the wait."""

    def __init__(self, holder: Lease) -> None:
        super().__init__(holder.describe())
        self.holder = holder


def acquire_exclusive(
    store: Store,
    path: str,
    command: str,
    *,
    wait_seconds: float,
    check: Callable[[], None] = lambda: None,
) -> HeldLease:
    """Create the lease at `path` for this run, exclusively (atomic on a local store and on
    S3). A live holder is waited for (`LeaseBusy` after `wait_seconds`); a dead one's lease
    is taken over (`take_over`). `check` runs whenever another holder was found, and once the
    lease is ours; what it raises ends the wait (and releases the lease): e.g. "the version
    was committed meanwhile"."""
    mine = new_lease(command)
    deadline = time.monotonic() + wait_seconds
    pause = 0.01
    vanished = 0
    took_over = False
    while not took_over:
        try:
            store.create_exclusive(path, mine.to_json())
            break
        except FileNotFoundError:  # its folder went with another run's clean-up: again
            vanished += 1
            if vanished > 3:
                raise
            continue
        except VersionExistsError:
            holder = read_lease(store, path)
            check()
            if holder is None:  # released between our two looks: try again at once
                continue
            if is_abandoned(holder):
                took_over = take_over(store, path, holder, mine)
                if took_over:
                    break
            if time.monotonic() > deadline:
                raise LeaseBusy(holder) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
    held = HeldLease(store, path, mine, took_over=took_over)
    try:
        check()
    except BaseException:
        held.release()
        raise
    return held


def take_over(store: Store, path: str, dead: Lease, mine: Lease, depth: int = 0) -> bool:
    """Put this run's lease at `path` in place of the dead writer `dead`'s, if this run wins
    the marker `<path>.takeover-<dead writer>` (created exclusively, removed after), and tell
    whether it did. The lease is replaced, never removed, so there is always a holder: a run
    that finds the folder a moment later waits for this one. A marker left by a taker that
    died too is taken over the same way; a live taker's is left to it (False)."""
    marker = f"{path}{TAKEOVER}{dead.writer}"
    try:
        store.create_exclusive(marker, mine.to_json())
    except FileNotFoundError:
        return False
    except VersionExistsError:
        taker = read_lease(store, marker)
        if taker is None or not is_abandoned(taker) or depth >= MAX_TAKEOVER_DEPTH:
            return False
        if not take_over(store, marker, taker, mine, depth + 1):
            return False
    try:
        current = read_lease(store, path)
        if current is None or current.writer != dead.writer:
            return False
        store.write_bytes(path, mine.to_json())
        return True
    finally:
        remove_file(store, marker)


def remove_file(store: Store, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if store.is_local:
            store.local_path(path).unlink()
        else:
            store.fs.rm_file(store.path(path))


# -- what killed runs left ---------------------------------------------------------------------


@dataclass(frozen=True)
class Leftover:
    """Something an unfinished run left in the store (or the workspace): never a committed
    version. `abandoned`: its writer is gone, so it may be removed (by the next run of the same
    command, or `lake verify --repair`); otherwise `writer` is still at work on it."""

    path: str  # relative to the store root; an absolute path for a local file outside it
    what: str  # "an interrupted ingest", ...
    writer: Lease | None
    abandoned: bool
    remove: Callable[[], None]
    done: str = "removed"  # what `remove` does, as the repair reports it

    def describe(self) -> str:
        if self.abandoned:
            return f"left by {self.what} whose writer is gone"
        by = self.writer.describe() if self.writer else "a run"
        return f"being written by {by} ({self.what})"


def folder_writer(store: Store, folder: str) -> tuple[Lease | None, bool]:
    """The lease of a folder a run writes, and whether that run is gone. A folder without a
    lease but with temporary files (a run killed while writing its lease) is judged by the
    processes they name; one with neither (left by an older lakehouse) is abandoned once
    nothing in it changed for STALE_SECONDS."""
    lease = read_lease(store, f"{folder}/{LEASE_FILE}")
    if lease is not None:
        return lease, is_abandoned(lease)
    writers = temporary_writers(store, folder)
    if writers:
        return None, not any(process_alive(pid, None) for pid in writers)
    return None, quiet_for(store, folder, STALE_SECONDS)


def lost_commit(store: Store, folder: str, lease: str) -> bool:
    """Whether `folder` holds files but neither the lease of a run writing it (`lease`) nor a
    temporary file of one: what a committed folder whose commit record (build.json,
    publish.json) was lost looks like, since a run writes its lease first and removes it only
    after its commit. Damage, never a leftover to remove."""
    if store.exists(lease) or temporary_writers(store, folder):
        return False
    return bool(store.list_files(folder))


def temporary_writers(store: Store, folder: str) -> set[int]:
    """The processes whose temporary files (`temporary_beside`) are in `folder` (local)."""
    if not store.is_local:
        return set()
    return {
        int(match.group("pid"))
        for path in store.list_files(folder)
        if (match := TEMPORARY.fullmatch(path.rsplit("/", 1)[-1]))
    }


def abandoned_temporaries(store: Store, folder: str = "") -> list[Leftover]:
    """Temporary files below `folder` (of a write renamed into place when whole) whose process
    is gone, in a local store (S3 writes whole objects); not those of scratch folders, which
    go with their folder."""
    if not store.is_local:
        return []
    root = Path(store.root)
    base = store.local_path(folder) if folder else root
    found = []
    for directory, _, names in os.walk(base):  # (folders that go meanwhile are skipped)
        for name in names:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            path = Path(directory) / name
            rel = path.relative_to(root).as_posix()
            if rel.startswith(f"{SCRATCH_FOLDER}/") or not abandoned_temporary(path):
                continue
            remove = functools.partial(path.unlink, missing_ok=True)
            found.append(Leftover(rel, "an interrupted write", None, True, remove))
    return found


def quiet_for(store: Store, folder: str, seconds: float) -> bool:
    """Whether no file below `folder` changed in the last `seconds` (nor, on a local store, the
    folder itself: a run may have just made it, and not yet its first file)."""
    limit = datetime.now(UTC) - timedelta(seconds=seconds)
    if store.is_local:
        with contextlib.suppress(FileNotFoundError):
            made = datetime.fromtimestamp(store.local_path(folder).stat().st_mtime, UTC)
            if made > limit:
                return False
    for path in store.list_files(folder):
        with contextlib.suppress(FileNotFoundError):
            if store.modified_at(path) > limit:
                return False
    return True


def folder_leftover(store: Store, folder: str, what: str) -> Leftover:
    """A folder of an unfinished run, judged by its lease (`folder_writer`)."""
    writer, abandoned = folder_writer(store, folder)
    remove = functools.partial(remove_lease_last, store, folder, f"{folder}/{LEASE_FILE}")
    return Leftover(folder, what, writer, abandoned, remove)


def remove_abandoned(leftovers: list[Leftover]) -> list[Leftover]:
    """Remove the abandoned ones (a live writer's are left alone); those removed."""
    removed = []
    for leftover in leftovers:
        if leftover.abandoned:
            leftover.remove()
            removed.append(leftover)
    return removed
