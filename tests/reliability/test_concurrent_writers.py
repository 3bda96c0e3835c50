"""N concurrent writers, as separate `lake` processes, on a local store and on S3 (moto's
server on 127.0.0.1, its PUT made atomic as S3's is: see tests/archive/test_concurrency.py).

- per dataset: N processes ingest different bytes into one Parquet dataset, and into one
  Delta dataset: all N land, as N distinct versions each holding its writer's rows, and
  `lake verify` finds nothing wrong and nothing left over;
- per publish: N processes run `lake publish --version V` of one build at once: exactly one
  publishes, the N-1 others say in one sentence that V is already published (or being
  published), V is complete and the latest, and verify is clean.

Every process stops at its first write point until all N have reached theirs (the killer
runner's gate), so they race at their commit, not at their start-up. tests/archive/
test_concurrency.py has the thread-level races; this suite runs real processes, more of them
for the local store.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lakehouse.project import Lakehouse
from lakehouse.publish.publish import latest_version
from tests.archive.test_concurrency import atomic_moto_puts  # noqa: F401 (a fixture)
from tests.conftest import write_template
from tests.fakes.s3 import create_bucket
from tests.reliability.conftest import (
    CLI_TIMEOUT_SECONDS,
    PRODUCT,
    Stages,
    cli_env,
    copy_project,
    move_store_to_s3,
    open_lake,
    published_problems,
    said,
    verify_problems,
)

pytestmark = pytest.mark.reliability

INGEST_WRITERS = {"local": {"parquet": 4, "delta": 4}, "s3": {"parquet": 3, "delta": 3}}
PUBLISH_WRITERS = {"local": 4, "s3": 3}
PUBLISH_TRIALS = {"local": 2, "s3": 1}
ROWS_PER_WRITER = 5
RACED = re.compile(
    rf"^Error: {PRODUCT} (?P<version>\S+) (was just published by another run|is already "
    r"published|is being published by another run)\b[^\n]*$"
)


@pytest.fixture(params=["local", "s3"])
def where(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def project(where: str, stages: Stages, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A copy of the published stage; for "s3", its store moved into a fresh bucket."""
    folder = tmp_path / "p"
    copy_project(stages.published, folder)
    if where == "s3":
        request.getfixturevalue("atomic_moto_puts")
        endpoint = request.getfixturevalue("s3_endpoint")
        move_store_to_s3(folder, endpoint, create_bucket(endpoint, f"rel-{uuid.uuid4().hex[:12]}"))
    return folder


def race(
    project: Path, gate: Path, commands: list[list[str]]
) -> list[subprocess.CompletedProcess[str]]:
    """Run the `lake` commands at once, each its own process, held at its first write point
    until all have reached theirs."""
    gate.mkdir()
    env = cli_env(LAKE_KILLER_GATE=str(gate), LAKE_KILLER_GATE_COUNT=str(len(commands)))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.killer", "0", *args],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    try:
        for process, args in zip(processes, commands, strict=True):
            out, err = process.communicate(timeout=CLI_TIMEOUT_SECONDS)
            results.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    finally:
        for process in processes:  # (only if one hung)
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def leftovers(lake: Lakehouse) -> list[str]:
    """What verify lists as left by an unfinished run (every run has finished)."""
    return [str(getattr(found, "path", found)) for found in lake.verify().leftovers]


# -- per dataset ------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["parquet", "delta"])
def test_concurrent_ingests_of_different_bytes_all_land(
    where: str, project: Path, tmp_path: Path, storage: str
) -> None:
    writers = INGEST_WRITERS[where][storage]
    write_template(
        project,
        "race",
        f"name: race\nsource: {{type: file, path: unused.csv}}\nformat: {{type: csv}}\n"
        f"storage: {storage}\n",
    )
    files = []
    for index in range(writers):
        path = project / f"w{index}.csv"
        rows = "".join(f"{row},writer {index}\n" for row in range(ROWS_PER_WRITER))
        path.write_text(f"id,who\n{rows}", encoding="utf-8")
        files.append(path)
    results = race(
        project, tmp_path / "gate", [["ingest", "race", "--file", str(f)] for f in files]
    )
    outputs = "\n".join(f"writer {i}: {said(r)}" for i, r in enumerate(results))
    assert [r.returncode for r in results] == [0] * writers, outputs
    names = []
    for result in results:
        landed = re.search(r"race: archived version (\S+) ", result.stdout)
        assert landed, outputs
        names.append(landed[1])
    assert len(set(names)) == writers, outputs
    lake = open_lake(project)
    assert sorted(m.version for m in lake.versions("race")) == sorted(names)
    for index, name in enumerate(names):
        who = lake.read("race", name).column("who").to_pylist()
        assert who == [f"writer {index}"] * ROWS_PER_WRITER, (name, outputs)
    assert verify_problems(lake) == []
    assert leftovers(lake) == []


# -- per publish ------------------------------------------------------------------------------


def test_concurrent_publishes_of_one_version_publish_it_once(
    where: str, project: Path, tmp_path: Path
) -> None:
    writers, trials = PUBLISH_WRITERS[where], PUBLISH_TRIALS[where]
    lake = open_lake(project)
    for trial in range(trials):
        version = f"26v{trial + 2}"
        results = race(
            project,
            tmp_path / f"gate{trial}",
            [["publish", PRODUCT, "--version", version]] * writers,
        )
        outputs = f"trial {trial}:\n" + "\n".join(said(r) for r in results)
        won = [r for r in results if r.returncode == 0]
        lost = [r for r in results if r.returncode != 0]
        assert len(won) == 1, outputs
        assert f"published {PRODUCT} {version} from build" in won[0].stdout, outputs
        assert [r.returncode for r in lost] == [1] * (writers - 1), outputs
        for result in lost:
            said_line = (result.stdout + result.stderr).strip()
            match = RACED.match(said_line)
            assert match and match["version"] == version, outputs  # one line, that sentence
        versions, problems = published_problems(lake, require_latest=True)
        assert problems == [], outputs
        assert versions == ["26v1", *(f"26v{t + 2}" for t in range(trial + 1))], outputs
        assert latest_version(lake.store, PRODUCT) == version
    assert verify_problems(lake) == []
    assert leftovers(lake) == []
