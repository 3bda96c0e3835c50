"""Run one `lake` command in this process and SIGKILL it at its k-th write point.

    python -m tests.reliability.killer <k> <lake args...>     (in the project's folder)

The write points are the calls that change the store, counted in the order they are made:
the write methods of `lakehouse.store.storage.Store`, the file-system calls they make
(`os.replace`, `os.link`, `shutil.copyfile`), a Delta commit (`deltalake.write_deltalake`)
and the members of a package zip (`zipfile.ZipFile.writestr`). At the k-th one the process
kills itself with SIGKILL, as `kill -9` would: nothing is cleaned up, no handler runs.
Where the kill lands depends on the call:

- before it: a Store method that copies or moves, `os.replace`, `os.link`, a zip member;
- in the middle: `shutil.copyfile` (the target holds the first half of the bytes), and on a
  local store `Store.write_bytes` / `Store.create_exclusive` (killed inside the
  `Path.write_bytes` of their temporary file, once it holds the first half of the bytes);
- after it: a Delta commit (the commit is in the table's log, nothing of the ingest after it).

k = 0 kills nothing: the command runs to its end. With `LAKE_KILLER_REPORT=<file>` the
runner writes there, as JSON, the labels of the write points it passed (`points`), and the
one it killed at (`killed_at`, `label`), so a test first counts a command's points, then
picks k among them.

With `LAKE_KILLER_GATE=<folder>` and `LAKE_KILLER_GATE_COUNT=<n>` the runner also stops at its
first write point until n runners have reached theirs (each leaves a file in the folder), so
that concurrent commands race at the same moment: their commit, not their start-up.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPORT_ENV = "LAKE_KILLER_REPORT"
GATE_ENV, GATE_COUNT_ENV = "LAKE_KILLER_GATE", "LAKE_KILLER_GATE_COUNT"
GATE_SECONDS = 60.0

STORE_METHODS = (
    "write_bytes",
    "create_exclusive",
    "put_file",
    "put_file_kept",
    "copy",
    "share",
    "receive",
    "remove_folder",
)
HALF_WRITTEN_STORE_METHODS = ("write_bytes", "create_exclusive")


class Killer:
    """Counts write points; kills this process at the k-th (never, for k = 0)."""

    def __init__(
        self, k: int, report: Path | None, gate: Path | None = None, gate_count: int = 0
    ) -> None:
        self.k = k
        self.report = report
        self.points: list[str] = []
        self.armed = False  # the kill lands inside the next Path.write_bytes (half of it)
        self.gate, self.gate_count = gate, gate_count

    def wait_at_gate(self) -> None:
        """Wait until `gate_count` runners have reached their first write point."""
        assert self.gate is not None
        gate, self.gate = self.gate, None
        (gate / str(os.getpid())).touch()
        deadline = time.monotonic() + GATE_SECONDS
        while len(list(gate.iterdir())) < self.gate_count and time.monotonic() < deadline:
            time.sleep(0.005)

    def point(self, label: str, half_write: Callable[[], None] | None = None) -> bool:
        """One write point: count it; at the k-th leave what a kill mid-call leaves (if
        `half_write`) and die. Returns whether this is the k-th point (for a caller that arms
        the kill inside the call instead)."""
        if self.gate is not None:
            self.wait_at_gate()
        self.points.append(label)
        if len(self.points) != self.k:
            return False
        self.save(killed=True)
        if half_write is not None:
            half_write()
            self.die()
        return True

    def die(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def save(self, killed: bool = False) -> None:
        if self.report is None:
            return
        found: dict[str, Any] = {"points": self.points}
        if killed:
            found |= {"killed_at": len(self.points), "label": self.points[-1]}
        self.report.write_text(json.dumps(found), encoding="utf-8")


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 160 else "..." + text[-157:]


def _half_copy(source: object, target: object) -> Callable[[], None]:
    def write() -> None:
        data = Path(str(source)).read_bytes()
        Path(str(target)).write_bytes(data[: len(data) // 2])

    return write


def install(killer: Killer) -> None:
    """Wrap every write point (see the module's docstring)."""
    import deltalake

    from lakehouse.store.storage import Store

    real_write_bytes = Path.write_bytes

    def write_bytes(self: Path, data: Any) -> int:
        if killer.armed:  # inside Store.write_bytes / create_exclusive: its temporary file
            real_write_bytes(self, bytes(data)[: len(data) // 2])
            killer.die()
        return real_write_bytes(self, data)

    Path.write_bytes = write_bytes  # type: ignore[method-assign]

    for name in STORE_METHODS:
        original = getattr(Store, name)

        def wrapped(
            self: Store, *args: Any, __name: str = name, __original: Any = original, **kw: Any
        ) -> Any:
            label = f"Store.{__name} {' '.join(_short(a) for a in args if isinstance(a, str))}"
            if not killer.point(label):
                return __original(self, *args, **kw)
            if __name not in HALF_WRITTEN_STORE_METHODS:
                killer.die()
            killer.armed = True  # killed half-way through writing its temporary file
            result = __original(self, *args, **kw)
            killer.die()  # (an S3 store writes no local file: killed after the call)
            return result

        functools.update_wrapper(wrapped, original)
        setattr(Store, name, wrapped)

    real_replace, real_link, real_copyfile = os.replace, os.link, shutil.copyfile

    def replace(source: Any, target: Any, *args: Any, **kw: Any) -> None:
        if killer.point(f"os.replace {_short(target)}"):
            killer.die()
        real_replace(source, target, *args, **kw)

    def link(source: Any, target: Any, *args: Any, **kw: Any) -> None:
        if killer.point(f"os.link {_short(target)}"):
            killer.die()
        real_link(source, target, *args, **kw)

    def copyfile(source: Any, target: Any, *args: Any, **kw: Any) -> Any:
        killer.point(f"shutil.copyfile {_short(target)}", _half_copy(source, target))
        return real_copyfile(source, target, *args, **kw)

    os.replace, os.link, shutil.copyfile = replace, link, copyfile  # type: ignore[assignment]

    real_delta_write = deltalake.write_deltalake

    def write_deltalake(*args: Any, **kw: Any) -> Any:
        result = real_delta_write(*args, **kw)
        if killer.point(f"deltalake.write_deltalake {_short(args[0] if args else '')} (after)"):
            killer.die()
        return result

    deltalake.write_deltalake = write_deltalake

    real_writestr = zipfile.ZipFile.writestr

    def writestr(self: zipfile.ZipFile, info: Any, *args: Any, **kw: Any) -> Any:
        name = info.filename if isinstance(info, zipfile.ZipInfo) else info
        if killer.point(f"zip member {_short(name)} of {_short(self.filename)}"):
            killer.die()
        return real_writestr(self, info, *args, **kw)

    zipfile.ZipFile.writestr = writestr  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    k, args = int(argv[0]), argv[1:]
    report, gate = os.environ.get(REPORT_ENV), os.environ.get(GATE_ENV)
    killer = Killer(
        k,
        Path(report) if report else None,
        Path(gate) if gate else None,
        int(os.environ.get(GATE_COUNT_ENV, "0")),
    )
    install(killer)
    from lakehouse.cli import main as lake

    sys.argv = ["lake", *args]
    try:
        lake()
    finally:
        killer.save()


if __name__ == "__main__":
    main(sys.argv[1:])
