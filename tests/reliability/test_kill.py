"""kill -9 at seeded points of every writing command: ingest (Parquet and Delta), build,
publish, promote and package.

Each command is first run once to its end under the killer runner (`killer.py`), which counts
its write points (n); then TRIALS[command] points k are drawn from 1..n by a seeded
random.Random (the first and the last always among them), and for each k a fresh copy of the
project runs the command under the runner, which SIGKILLs itself at the k-th point. After
the kill:

- no partial version is visible: `versions` / `published` list only complete versions, each
  of which reads whole (its rows, or the sha256 its record names), and `latest` never names a
  version that is not there;
- `lake verify` reports nothing CORRUPT;
- the next run of the same command, with nobody removing anything first, succeeds (or, when
  the killed run had already committed, says the version is already there), leaves the
  version complete (and, for publish and promote, the latest), and nothing the killed run left
  is listed by `lake verify` any more (as left by a run whose writer is gone);
- every other trial repairs before the next run (`Lakehouse.verify(repair=True)`, what
  `lake verify --repair` runs): it finds nothing CORRUPT, and nothing left by the killed run
  remains listed.

Trials run two at a time (each in its own project copy); a test reports every failing trial,
with the write point it was killed at.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import (
    CLI_TIMEOUT_SECONDS,
    PRODUCT,
    Stages,
    build_problems,
    cli_env,
    copy_project,
    ingest_problems,
    lake_process,
    open_lake,
    published_problems,
    said,
    verify_problems,
)

pytestmark = pytest.mark.reliability

SEED = 20261127
TRIALS = {
    "ingest-parquet": 6,
    "ingest-delta": 6,
    "build": 5,
    "publish": 6,
    "promote": 5,
    "package": 3,
}
PARALLEL_TRIALS = 2
PACKAGE = ".lakehouse/workspace/packages/pluto_lite-26v1-csv.zip"


@dataclass
class Run:
    """One run of a command under the killer runner."""

    k: int
    result: subprocess.CompletedProcess[str]
    points: list[str] = field(default_factory=list)
    label: str = ""
    committed: bool = False  # the killed run had committed its version (set after the kill)


def run_killed(project: Path, k: int, args: list[str]) -> Run:
    report = project.parent / f"killer-{k}.json"
    result = subprocess.run(
        [sys.executable, "-m", "tests.reliability.killer", str(k), *args],
        cwd=project,
        env=cli_env(LAKE_KILLER_REPORT=str(report)),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )
    found = json.loads(report.read_text()) if report.is_file() else {}
    return Run(k, result, found.get("points", []), found.get("label", ""))


def pick_points(n: int, trials: int, rng: random.Random) -> list[int]:
    """`trials` write points of 1..n: the first, the last, and the rest drawn at random."""
    if n <= trials:
        return list(range(1, n + 1))
    return sorted({1, n, *rng.sample(range(2, n), trials - 2)})


@dataclass(frozen=True)
class Command:
    """A writing command, the stage it runs on, and its checks: `after_kill` and `after_rerun`
    return the problems they find in the project (the killed run, the next run's result)."""

    name: str
    args: list[str]
    stage: str  # "locked" or "published"
    after_kill: Callable[[Path, Run], list[str]]
    after_rerun: Callable[[Path, Run, subprocess.CompletedProcess[str]], list[str]]
    env: str | None = None  # the environment it writes (promote: prod)


# -- ingest -----------------------------------------------------------------------------------


def ingest_command(dataset: str) -> Command:
    def after_kill(project: Path, run: Run) -> list[str]:
        lake = open_lake(project)
        return ingest_problems(lake, dataset, complete=False) + verify_problems(lake)

    def after_rerun(project: Path, run: Run, rerun: subprocess.CompletedProcess[str]) -> list[str]:
        problems = []
        landed = re.search(rf"{dataset}: (archived version|unchanged)", rerun.stdout)
        if rerun.returncode != 0 or not landed:
            problems.append(f"the next `lake ingest {dataset}` failed ({said(rerun)})")
        lake = open_lake(project)
        return problems + ingest_problems(lake, dataset, complete=True) + verify_problems(lake)

    storage = "parquet" if dataset == "kp" else "delta"
    return Command(f"ingest-{storage}", ["ingest", dataset], "locked", after_kill, after_rerun)


# -- build ------------------------------------------------------------------------------------


def build_command(reference: dict[str, Any]) -> Command:
    """`reference` gets the content hash of the uninterrupted build's output."""

    def after_kill(project: Path, run: Run) -> list[str]:
        lake = open_lake(project)
        builds, problems = build_problems(lake)
        if len(builds) > 1:
            problems.append(f"{len(builds)} builds listed after one killed build")
        return problems + verify_problems(lake)

    def after_rerun(project: Path, run: Run, rerun: subprocess.CompletedProcess[str]) -> list[str]:
        problems = []
        if rerun.returncode != 0:
            problems.append(f"the next `lake build` failed ({said(rerun)})")
        lake = open_lake(project)
        builds, found = build_problems(lake)
        problems += found
        if not builds:
            return [*problems, "no build listed after the next build"]
        latest = lake.builds(PRODUCT)[-1]
        content = latest.outputs[f"outputs/{PRODUCT}"].content_sha256
        if content != reference["content"]:
            problems.append("the next build's output differs from an uninterrupted build's")
        if not latest.passed:
            problems.append(f"the next build failed its contracts: {latest.contracts.summary}")
        return problems + verify_problems(lake)

    return Command("build", ["build", PRODUCT], "locked", after_kill, after_rerun)


# -- publish and promote ----------------------------------------------------------------------

ALREADY = re.compile(r"already published|was just published by another run")


def publishing_command(name: str) -> Command:
    """publish 26v2 of the published stage's build, or promote its 26v1 to prod."""
    env = "prod" if name == "promote" else None
    version = "26v1" if name == "promote" else "26v2"
    allowed = {version} if name == "promote" else {"26v1", "26v2"}
    args = ["promote", PRODUCT, "26v1", "--to", "prod"] if env else ["publish", PRODUCT]
    if not env:
        args += ["--version", version]

    def state(project: Path, *, complete: bool) -> list[str]:
        """After the kill: only complete versions, latest on one of them. After the next run
        also what the command promises: the version published, and now the latest."""
        from lakehouse.publish.publish import latest_version

        lake = open_lake(project, env)
        versions, problems = published_problems(lake, require_latest=complete)
        if not set(versions) <= allowed or (complete and version not in versions):
            problems.append(f"published versions {versions}")
        if complete and versions and (latest := latest_version(lake.store, PRODUCT)) != version:
            problems.append(f"latest is {latest}, not {version}")
        if env:  # the environment promoted from is only read
            problems += verify_problems(open_lake(project))
        return problems + verify_problems(lake)

    def after_kill(project: Path, run: Run) -> list[str]:
        lake = open_lake(project, env)
        run.committed = lake.store.exists(f"publish/{PRODUCT}/{version}/publish.json")
        return state(project, complete=False)

    def after_rerun(project: Path, run: Run, rerun: subprocess.CompletedProcess[str]) -> list[str]:
        problems = []
        # a version the killed run committed is refused as published: published versions are
        # never written again
        done = run.committed and ALREADY.search(rerun.stderr + rerun.stdout)
        if rerun.returncode != 0 and not (rerun.returncode == 1 and done):
            problems.append(f"the next `lake {' '.join(args)}` failed ({said(rerun)})")
        return problems + state(project, complete=True)

    return Command(name, args, "published", after_kill, after_rerun, env)


# -- package ----------------------------------------------------------------------------------


def package_command(reference: dict[str, Any]) -> Command:
    """`reference` gets the bytes of the uninterrupted run's zip."""

    def zip_problems(project: Path, *, required: bool) -> list[str]:
        path = project / PACKAGE
        if not path.is_file():
            return [f"{PACKAGE} is missing"] if required else []
        data = path.read_bytes()
        if data != reference["zip"]:
            try:
                with zipfile.ZipFile(path) as archive:
                    bad = archive.testzip()
                why = (
                    f"member {bad} is damaged" if bad else "other bytes than an uninterrupted run's"
                )
            except zipfile.BadZipFile as exc:
                why = f"not a zip ({exc})"
            return [f"{PACKAGE} is there, {why}"]
        return []

    def after_kill(project: Path, run: Run) -> list[str]:
        return zip_problems(project, required=False) + verify_problems(open_lake(project))

    def after_rerun(project: Path, run: Run, rerun: subprocess.CompletedProcess[str]) -> list[str]:
        problems = []
        if rerun.returncode != 0:
            problems.append(f"the next `lake package` failed ({said(rerun)})")
        return problems + zip_problems(project, required=True)

    args = ["package", PRODUCT, "--version", "26v1", "--format", "csv"]
    return Command("package", args, "published", after_kill, after_rerun)


# -- the trials -------------------------------------------------------------------------------


def reference_of(command: str, project: Path) -> dict[str, Any]:
    """What an uninterrupted run produced, for the checks after a rerun."""
    if command == "build":
        build = open_lake(project).builds(PRODUCT)[-1]
        return {"content": build.outputs[f"outputs/{PRODUCT}"].content_sha256}
    if command == "package":
        return {"zip": (project / PACKAGE).read_bytes()}
    return {}


def make_command(name: str, reference: dict[str, Any]) -> Command:
    if name.startswith("ingest"):
        return ingest_command("kp" if name == "ingest-parquet" else "kd")
    if name == "build":
        return build_command(reference)
    if name == "package":
        return package_command(reference)
    return publishing_command(name)


def abandoned(project: Path, env: str | None) -> list[str]:
    """What `lake verify` still lists as left by a run whose writer is gone, in the
    environment the command wrote."""
    found = []
    for leftover in open_lake(project, env).verify().leftovers:
        if getattr(leftover, "abandoned", True):
            path = getattr(leftover, "path", leftover)
            found.append(f"verify still lists {path}, left by the killed run")
    return found


def trial(command: Command, stage: Path, folder: Path, k: int, n: int, repair: bool) -> list[str]:
    """Kill the command at its k-th write point, check, (`repair`: run `lake verify --repair`
    and check that it removed what the killed run left), run the command again, check that
    it succeeded and that nothing the killed run left remains."""
    try:
        return _trial(command, stage, folder, k, n, repair)
    except Exception as exc:  # one trial's surprise is reported with the others
        return [f"k={k}/{n}: the trial failed: {exc.__class__.__name__}: {exc}"]


def _trial(command: Command, stage: Path, folder: Path, k: int, n: int, repair: bool) -> list[str]:
    project = folder / "p"
    copy_project(stage, project)
    run = run_killed(project, k, command.args)
    where = f"k={k}/{n} ({run.label or 'no write point reached'})"
    if run.result.returncode != -9:
        return [f"{where}: the run was not killed ({said(run.result)})"]
    problems = [f"after the kill: {p}" for p in command.after_kill(project, run)]
    if repair:  # `lake verify --repair`, in the environment the command wrote
        report = open_lake(project, command.env).verify(repair=True)
        problems += [f"lake verify --repair: CORRUPT {p.path}: {p.reason}" for p in report.corrupt]
        problems += [f"after lake verify --repair: {p}" for p in abandoned(project, command.env)]
    rerun = lake_process(project, *command.args)
    problems += [f"after the next run: {p}" for p in command.after_rerun(project, run, rerun)]
    problems += [f"after the next run: {p}" for p in abandoned(project, command.env)]
    return [f"{where}{' with --repair' if repair else ''}: {p}" for p in problems]


@pytest.mark.parametrize("name", list(TRIALS))
def test_a_kill_at_any_write_point_leaves_no_partial_version_and_the_next_run_succeeds(
    stages: Stages, tmp_path: Path, name: str
) -> None:
    command = make_command(name, {})
    stage = stages.locked if command.stage == "locked" else stages.published
    counted = tmp_path / "counted" / "p"
    copy_project(stage, counted)
    uninterrupted = run_killed(counted, 0, command.args)
    assert uninterrupted.result.returncode == 0, said(uninterrupted.result)
    n = len(uninterrupted.points)
    assert n >= 2, uninterrupted.points
    command = make_command(name, reference_of(name, counted))
    ks = pick_points(n, TRIALS[name], random.Random(f"{SEED}-{name}"))
    with ThreadPoolExecutor(PARALLEL_TRIALS) as pool:
        found = pool.map(
            lambda i: trial(command, stage, tmp_path / f"k{ks[i]}", ks[i], n, repair=i % 2 == 1),
            range(len(ks)),
        )
        problems = [problem for trial_problems in found for problem in trial_problems]
    failed = {problem.split(":", 1)[0] for problem in problems}
    assert not problems, f"{len(failed)} of {len(ks)} trials failed:\n" + "\n".join(problems)
