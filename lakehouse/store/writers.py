"""The store's side of writer leases (`lakehouse.store.lease`): holding one with a heartbeat,
taking an exclusive one over from a dead writer, and finding what unfinished runs left.

Exclusive leases (a publish claim: one writer per published version) are taken over from a
dead holder through a marker, `<lease>.takeover-<dead writer>`, created exclusively: of several
runs that find the same dead holder, only the one that creates the marker removes its lease,
so a new holder's lease is never removed by a run that looked a moment earlier.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lakehouse.errors import IntegrityError, VersionExistsError
from lakehouse.store.lease import (
    HEARTBEAT_SECONDS,
    LEASE_FILE,
    STALE_SECONDS,
    TAKEOVER,
    Lease,
    is_abandoned,
    new_lease,
)
from lakehouse.store.storage import Store

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

    def __init__(self, store: Store, path: str, lease: Lease) -> None:
        self.store, self.path, self.lease = store, path, lease
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

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file (only if it is still this run's)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        current = read_lease(self.store, self.path)
        if current is not None and current.writer == self.lease.writer:
            remove_file(self.store, self.path)


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
    while True:
        try:
            store.create_exclusive(path, mine.to_json())
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
            if is_abandoned(holder) and take_over(store, path, holder, mine):
                continue  # (else another run is taking it over: wait for that)
            if time.monotonic() > deadline:
                raise LeaseBusy(holder) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
            continue
        held = HeldLease(store, path, mine)
        try:
            check()
        except BaseException:
            held.release()
            raise
        return held


def take_over(store: Store, path: str, dead: Lease, mine: Lease, depth: int = 0) -> bool:
    """Remove the lease at `path` of the dead writer `dead`, if this run wins the marker
    `<path>.takeover-<dead writer>` (created exclusively); a marker left by a taker that died
    too is taken over the same way (then this returns True: look again). False when a live
    run holds the marker (it is doing the same)."""
    marker = f"{path}{TAKEOVER}{dead.writer}"
    try:
        store.create_exclusive(marker, mine.to_json())
    except FileNotFoundError:
        return True
    except VersionExistsError:
        taker = read_lease(store, marker)
        if taker is None:
            return True
        if is_abandoned(taker) and depth < MAX_TAKEOVER_DEPTH:
            return take_over(store, marker, taker, mine, depth + 1)
        return False
    try:
        current = read_lease(store, path)
        if current is not None and current.writer == dead.writer:
            remove_file(store, path)
    finally:
        remove_file(store, marker)
    return True


def remove_file(store: Store, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
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

    def describe(self) -> str:
        if self.abandoned:
            return f"left by {self.what} whose writer is gone"
        by = self.writer.describe() if self.writer else "a run"
        return f"being written by {by} ({self.what})"


def folder_writer(store: Store, folder: str) -> tuple[Lease | None, bool]:
    """The lease of a folder a run writes, and whether that run is gone. A folder without a
    lease (left by an older lakehouse, or emptied) is abandoned once nothing in it changed for
    STALE_SECONDS."""
    lease = read_lease(store, f"{folder}/{LEASE_FILE}")
    if lease is not None:
        return lease, is_abandoned(lease)
    return None, quiet_for(store, folder, STALE_SECONDS)


def quiet_for(store: Store, folder: str, seconds: float) -> bool:
    """Whether no file below `folder` changed in the last `seconds`."""
    limit = datetime.now(UTC) - timedelta(seconds=seconds)
    for path in store.list_files(folder):
        with contextlib.suppress(FileNotFoundError):
            if store.modified_at(path) > limit:
                return False
    return True


def folder_leftover(store: Store, folder: str, what: str) -> Leftover:
    """A folder of an unfinished run, judged by its lease (`folder_writer`)."""
    writer, abandoned = folder_writer(store, folder)
    return Leftover(folder, what, writer, abandoned, lambda: store.remove_folder(folder))


def remove_abandoned(leftovers: list[Leftover]) -> list[Leftover]:
    """Remove the abandoned ones (a live writer's are left alone); those removed."""
    removed = []
    for leftover in leftovers:
        if leftover.abandoned:
            leftover.remove()
            removed.append(leftover)
    return removed
