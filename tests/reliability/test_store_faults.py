"""Faults injected in the store layer, under ingest (Parquet and Delta), build, publish and
promote, run as `lake` commands in this process (typer's CliRunner).

Three kinds of fault, each at the m-th call of its kind within the command (m drawn by a
seeded random.Random from the calls an unfaulted run makes, the first and last included):

- write: a Store write (write_bytes, create_exclusive, put_file, put_file_kept, copy, share,
  receive) fails after some bytes: the file-system call it makes writes the first half of its
  bytes and raises ENOSPC, leaving the half file where that call left it (a rename or a link
  that writes no bytes fails with ENOSPC outright);
- rename: an `os.replace` fails (EIO), the temporary file it would have renamed left behind;
- conditional put: a `Store.create_exclusive` fails (its `os.link`, the atomic create, raises
  EIO), as an S3 conditional PUT answered 500 would.

Each time the command must fail with a clear error (one line naming the cause, no traceback),
leave no partial version visible, leave `lake verify` with nothing CORRUPT, and the next run
of the command, without the fault and without anybody cleaning up, must succeed. (A fault in
a write a command does best effort after its commit, such as an ingest's committed.json, need
not fail it: then everything the command promises must be there.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.store.storage import Store
from tests.reliability.conftest import (
    PRODUCT,
    Stages,
    build_problems,
    copy_project,
    ingest_problems,
    open_lake,
    published_problems,
    verify_problems,
)

pytestmark = pytest.mark.reliability

SEED = 1313
TRIALS = {"write": 5, "rename": 3, "conditional put": 2}  # per command, at most
WRITE_METHODS = (
    "write_bytes",
    "create_exclusive",
    "put_file",
    "put_file_kept",
    "copy",
    "share",
    "receive",
)
CAUSES = {"write": os.strerror(errno.ENOSPC), "rename": os.strerror(errno.EIO)}
CAUSES["conditional put"] = CAUSES["rename"]
ALREADY = re.compile(r"already published|was just published by another run")


@dataclass
class Faults:
    """Counts the calls of each kind; fails the `at`-th call of `kind` (none: `at` = 0)."""

    kind: str = ""
    at: int = 0
    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TRIALS, 0))
    fired: str = ""  # what failed
    inside: str = ""  # the Store write method being run ("" outside one)
    armed: bool = False  # the current Store write call is the one to fail

    def count(self, kind: str) -> bool:
        """One more call of `kind`: whether it is the one to fail."""
        self.calls[kind] += 1
        return kind == self.kind and self.calls[kind] == self.at and not self.fired


@contextlib.contextmanager
def injected(faults: Faults) -> Iterator[Faults]:
    """Install the counting and failing wrappers for the duration."""
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, new: Any) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, new)

    def fail(kind: str, what: object) -> None:
        faults.fired = f"{kind} at {what}"
        raise OSError(errno.ENOSPC if kind == "write" else errno.EIO, CAUSES[kind], str(what))

    for name in WRITE_METHODS:
        original = getattr(Store, name)

        def wrapped(
            self: Store, *args: Any, __name: str = name, __original: Any = original, **kw: Any
        ) -> Any:
            if faults.inside:  # a write method calling another: one call
                return __original(self, *args, **kw)
            faults.inside = __name
            faults.armed = faults.count("write")
            conditional = __name == "create_exclusive" and faults.count("conditional put")
            try:
                if faults.armed and not self.is_local:
                    fail("write", args[-1])
                if conditional and not self.is_local:
                    fail("conditional put", args[0])
                faults.armed = faults.armed or conditional
                return __original(self, *args, **kw)
            finally:
                faults.inside, faults.armed = "", False

        patch(Store, name, wrapped)

    real_write_bytes, real_copyfile = Path.write_bytes, shutil.copyfile
    real_replace, real_link = os.replace, os.link

    def write_bytes(self: Path, data: Any) -> int:
        if faults.armed and faults.kind == "write" and faults.inside:
            real_write_bytes(self, bytes(data)[: len(data) // 2])
            fail("write", self)
        return real_write_bytes(self, data)

    def copyfile(source: Any, target: Any, *args: Any, **kw: Any) -> Any:
        if faults.armed and faults.kind == "write" and faults.inside:
            data = Path(source).read_bytes()
            real_write_bytes(Path(target), data[: len(data) // 2])
            fail("write", target)
        return real_copyfile(source, target, *args, **kw)

    def replace(source: Any, target: Any, *args: Any, **kw: Any) -> None:
        if faults.armed and faults.kind == "write" and faults.inside:
            fail("write", target)
        if faults.count("rename"):
            fail("rename", target)
        real_replace(source, target, *args, **kw)

    def link(source: Any, target: Any, *args: Any, **kw: Any) -> None:
        if faults.armed and faults.inside:  # an atomic create, or a link put in place of a copy
            fail("conditional put" if faults.kind == "conditional put" else "write", target)
        real_link(source, target, *args, **kw)

    patch(Path, "write_bytes", write_bytes)
    patch(shutil, "copyfile", copyfile)
    patch(os, "replace", replace)
    patch(os, "link", link)
    try:
        yield faults
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def lake_cli(project: Path, args: list[str]) -> Result:
    config = str(project / "lakehouse.toml")
    return CliRunner().invoke(app, ["--config", config, *args], env={"COLUMNS": "250"})


# -- the commands -----------------------------------------------------------------------------


def never(project: Path) -> bool:
    return False


@dataclass(frozen=True)
class Command:
    name: str
    args: list[str]
    stage: str
    state: Callable[[Path, bool], list[str]]  # problems, after the fault (False) or the rerun
    committed: Callable[[Path], bool] = never  # a publish's version was committed


def committed_in(env: str | None, version: str) -> Callable[[Path], bool]:
    def committed(project: Path) -> bool:
        return open_lake(project, env).store.exists(f"publish/{PRODUCT}/{version}/publish.json")

    return committed


def ingest_state(dataset: str) -> Callable[[Path, bool], list[str]]:
    def state(project: Path, complete: bool) -> list[str]:
        lake = open_lake(project)
        return ingest_problems(lake, dataset, complete=complete) + verify_problems(lake)

    return state


def build_state(project: Path, complete: bool) -> list[str]:
    lake = open_lake(project)
    builds, problems = build_problems(lake)
    if len(builds) != (1 if complete else 0):
        problems.append(f"{len(builds)} build(s) listed")
    return problems + verify_problems(lake)


def publishing_state(env: str | None, version: str) -> Callable[[Path, bool], list[str]]:
    def state(project: Path, complete: bool) -> list[str]:
        from lakehouse.publish.publish import latest_version

        lake = open_lake(project, env)
        versions, problems = published_problems(lake, require_latest=complete)
        expected = [] if env else ["26v1"]
        if complete:
            expected.append(version)
            if latest_version(lake.store, PRODUCT) != version:
                problems.append(f"latest is not {version}")
        if versions != expected and not (not complete and versions == [*expected, version]):
            problems.append(f"published versions {versions}, expected {expected}")
        return problems + verify_problems(lake)

    return state


COMMANDS = {
    "ingest-parquet": Command("ingest-parquet", ["ingest", "kp"], "locked", ingest_state("kp")),
    "ingest-delta": Command("ingest-delta", ["ingest", "kd"], "locked", ingest_state("kd")),
    "build": Command("build", ["build", PRODUCT], "locked", build_state),
    "publish": Command(
        "publish",
        ["publish", PRODUCT, "--version", "26v2"],
        "published",
        publishing_state(None, "26v2"),
        committed_in(None, "26v2"),
    ),
    "promote": Command(
        "promote",
        ["promote", PRODUCT, "26v1", "--to", "prod"],
        "published",
        publishing_state("prod", "26v1"),
        committed_in("prod", "26v1"),
    ),
}


def pick(n: int, trials: int, rng: random.Random) -> list[int]:
    """`trials` of the calls 1..n: the first, the last, the rest at random."""
    if n <= trials:
        return list(range(1, n + 1))
    return sorted({1, n, *rng.sample(range(2, n), max(trials - 2, 0))})[:trials]


PLAN_SUMMARY = re.compile(r"\d+ models? to rebuild.*, \d+ reused")  # `lake build` says it first


def output_problems(result: Result, cause: str) -> list[str]:
    """A failed command says so clearly: a non-zero exit, no traceback, every line an error
    line (after the plan `lake build` prints before it starts), the first naming the cause."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    if lines and PLAN_SUMMARY.fullmatch(lines[0]):
        lines = lines[1:]
    problems = []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problems.append(f"it raised {result.exception!r}")
    if "Traceback" in result.output:
        problems.append("a traceback in its output")
    if not lines or not all(line.startswith(("Error:", "Unexpected error:")) for line in lines):
        problems.append(f"not only error lines: {lines}")
    elif cause not in lines[0]:
        problems.append(f"the first line does not name the cause ({cause!r}): {lines[0]}")
    return problems


def trial(command: Command, stage: Path, folder: Path, kind: str, at: int) -> list[str]:
    project = folder / "p"
    copy_project(stage, project)
    with injected(Faults(kind, at)) as faults:
        result = lake_cli(project, command.args)
    where = f"{kind} fault at call {at} ({faults.fired or 'never fired'})"
    if not faults.fired:
        return [f"{where}: the fault was not injected ({result.output.strip()})"]
    # a fault in a write the command may do without (after its commit, best effort) need not
    # fail it; then what it promises must all be there
    succeeded = result.exit_code == 0
    problems = [] if succeeded else output_problems(result, CAUSES[kind])
    problems += [f"after the fault: {p}" for p in command.state(project, succeeded)]
    committed = command.committed(project)
    rerun = lake_cli(project, command.args)
    # a version committed before the fault is refused as published (never written again)
    done = committed and ALREADY.search(rerun.output) and rerun.exit_code == 1
    if rerun.exit_code != 0 and not done:
        problems.append(f"the next run failed: exit {rerun.exit_code}: {rerun.output.strip()}")
    problems += [f"after the next run: {p}" for p in command.state(project, True)]
    said = result.output.strip().replace("\n", " | ")
    return [f"{where}: {p} [the faulted run said: {said[:300]}]" for p in problems]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_failed_write_rename_or_conditional_put_fails_cleanly_and_the_next_run_succeeds(
    stages: Stages, tmp_path: Path, name: str
) -> None:
    command = COMMANDS[name]
    stage = stages.locked if command.stage == "locked" else stages.published
    counted = tmp_path / "counted"
    copy_project(stage, counted)
    with injected(Faults()) as counts:
        result = lake_cli(counted, command.args)
    assert result.exit_code == 0, result.output
    rng = random.Random(f"{SEED}-{name}")
    trials = [(kind, at) for kind, n in counts.calls.items() for at in pick(n, TRIALS[kind], rng)]
    assert {kind for kind, _ in trials} == set(TRIALS), counts.calls
    problems = []
    for kind, at in trials:
        folder = tmp_path / f"{kind.replace(' ', '-')}-{at}"
        problems += trial(command, stage, folder, kind, at)
    failed = {problem.split(":", 1)[0] for problem in problems}
    assert not problems, f"{len(failed)} of {len(trials)} trials failed:\n" + "\n".join(problems)
