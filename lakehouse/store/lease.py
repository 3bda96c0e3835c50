"""Writer leases: who is writing an unfinished thing in the store, so that what a killed run
left can be told from what a live run is writing, and removed by the next run without a
person.

A lease (`Lease`, a small JSON record) is written first into whatever a run writes that is not
committed yet: an ingest's run folder, a build folder, a scratch folder, a publish claim. While
the run lives, a daemon thread rewrites its `heartbeat_at` every `HEARTBEAT_SECONDS`; the run
removes the lease when it commits or cleans up. A lease is abandoned when its process has
ended (on this host: the pid is gone, or now belongs to a process started later) or, for a
writer on another host, when its heartbeat is older than `STALE_SECONDS`. Only abandoned
things are ever removed; a live writer's are never touched.

The store's side (holding a lease, taking one over, finding leftovers) is
`lakehouse.store.writers`.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from lakehouse.records import Migration, Timestamp, VersionedRecord

LEASE_FILE = ".writer.json"  # in a folder a run is writing
TAKEOVER = ".takeover-"  # `<lease>.takeover-<writer>`: who is removing a dead holder's lease
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 120.0  # a heartbeat older than this: the writer (on another host) is gone
QUIET_SECONDS = 24 * 3600.0  # what has no heartbeat and is another machine's: gone after this


def _migrate_publish_claim(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 was the publish claim (`claimed_at`, no heartbeat)."""
    raw = dict(raw)
    claimed = raw.pop("claimed_at", None)
    return {**raw, "started_at": claimed, "heartbeat_at": claimed}


def _without_machine(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2 had no `machine`: such a lease is judged by its host name alone."""
    return {**raw, "machine": None}


class Lease(VersionedRecord):
    """Who is writing: a random id of the run, its command, host (and the machine and pid
    namespace its pid belongs to), process and heartbeat."""

    SCHEMA_VERSION = 3
    MIGRATIONS: ClassVar[dict[int, Migration]] = {
        1: _migrate_publish_claim,
        2: _without_machine,
    }
    DESCRIPTION = "writer lease"

    writer: str
    command: str
    host: str
    machine: str | None = None  # boot id and pid namespace (`this_machine`): where pid means
    pid: int
    process_started: int | None = None  # the process's start time (clock ticks after boot)
    started_at: Timestamp
    heartbeat_at: Timestamp

    def describe(self) -> str:
        """`lake publish by process 123 on host, since 2026-...`"""
        return (
            f"`lake {self.command}` by process {self.pid} on {self.host or 'an unknown host'}, "
            f"since {self.started_at.isoformat(timespec='seconds')}"
        )


def new_lease(command: str) -> Lease:
    """A lease for this process, running `command`."""
    now = datetime.now(UTC)
    pid = os.getpid()
    return Lease(
        writer=uuid.uuid4().hex,
        command=command,
        host=socket.gethostname(),
        machine=this_machine(),
        pid=pid,
        process_started=process_start_time(pid),
        started_at=now,
        heartbeat_at=now,
    )


def this_machine() -> str | None:
    """This kernel's boot id and this process's pid namespace: two containers (or a container
    and its host) may share a host name, never both of these; None where unknown."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot}/{namespace}"


def process_start_time(pid: int) -> int | None:
    """When process `pid` started, in clock ticks after boot (Linux /proc), to tell a process
    from a later one that got the same pid; None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])  # field 22 of stat; fields[0] is field 3
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, started: int | None) -> bool:
    """Whether process `pid` (that started at `started`, if known) still runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but another user's
        return True
    if started is None:
        return True
    now_started = process_start_time(pid)
    return now_started is None or now_started == started


def is_here(lease: Lease) -> bool:
    """Whether the lease's pid is one of this machine's (same host name, and the same boot and
    pid namespace when the lease says which)."""
    if lease.host != socket.gethostname():
        return False
    return lease.machine is None or lease.machine == this_machine()


def is_abandoned(lease: Lease, *, beats: bool = True, now: datetime | None = None) -> bool:
    """Whether the lease's writer is gone: its process ended (on this host: the pid is gone or
    is a process started later), or, for a writer elsewhere, its heartbeat stopped more than
    STALE_SECONDS ago. A lease without a heartbeat (`beats=False`: a scratch folder, local to
    its writer) is judged only on its own host."""
    if is_here(lease):
        return not process_alive(lease.pid, lease.process_started)
    if not beats:
        return False  # another host's: only that host can tell
    age = (now or datetime.now(UTC)) - lease.heartbeat_at
    return age > timedelta(seconds=STALE_SECONDS)
