"""What the reliability suite shares: the PLUTO-lite project at two stages (built once per
session, copied by each trial), `lake` run as a separate process, and checks that say what is
wrong instead of stopping at the first problem (a trial collects them; a test reports every
failing trial at once)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse.config import load_config
from lakehouse.project import Lakehouse
from tests.conftest import write_template
from tests.projects import DATASETS, pluto_lite_project

REPO = Path(__file__).resolve().parents[2]
PRODUCT = "pluto_lite"
LOTS = 120
PROJECT_SEED = 7
CLI_TIMEOUT_SECONDS = 120

# the two small datasets the ingest trials archive: a Parquet one and a Delta one, each with a
# first version archived and new bytes waiting in its source file
INGESTED = {"kp": "parquet", "kd": "delta"}
FIRST_ROWS, SECOND_ROWS = 50, 80


def source_rows(count: int, who: str) -> str:
    return "id,who\n" + "".join(f"{i},{who} {i % 7}\n" for i in range(count))


@dataclass(frozen=True)
class Stages:
    """Project folders to copy (never to change): `locked` has PLUTO-lite's four sources and
    kp/kd archived and the product locked, nothing built; `published` has, besides, one build
    with a QA report, published as 26v1."""

    locked: Path
    published: Path


def copy_project(source: Path, target: Path) -> Lakehouse:
    """A copy of a project folder (store and workspace included) at `target`."""
    shutil.copytree(source, target, symlinks=True)
    return open_lake(target)


def open_lake(project: Path, env: str | None = None) -> Lakehouse:
    config = load_config(project / "lakehouse.toml")
    return Lakehouse(config.for_env(env) if env else config)


@pytest.fixture(scope="session")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Stages:
    base = tmp_path_factory.mktemp("reliability-stages")
    locked = base / "locked"
    lake = pluto_lite_project(locked, lots=LOTS, seed=PROJECT_SEED)
    for dataset in DATASETS:
        lake.ingest(dataset)
    for name, storage in INGESTED.items():
        write_template(
            locked,
            name,
            f"name: {name}\nsource: {{type: file, path: {name}.csv}}\nformat: {{type: csv}}\n"
            f"storage: {storage}\n",
        )
        (locked / f"{name}.csv").write_text(source_rows(FIRST_ROWS, "first"), encoding="utf-8")
        lake.ingest(name)
        (locked / f"{name}.csv").write_text(source_rows(SECOND_ROWS, "second"), encoding="utf-8")
    lake.lock(PRODUCT)
    published = base / "published"
    lake = copy_project(locked, published)
    lake.build(PRODUCT)
    lake.diff_report(PRODUCT)
    lake.publish(PRODUCT, "26v1")
    return Stages(locked, published)


def move_store_to_s3(project: Path, endpoint: str, bucket: str) -> None:
    """Upload the project's store (not its workspace or scratch) to s3://bucket/lake and point
    lakehouse.toml at it: the same store, byte for byte, on S3."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    store = project / ".lakehouse"
    for path in sorted(store.rglob("*")):
        rel = path.relative_to(store).as_posix()
        if path.is_file() and not rel.startswith(("workspace/", ".tmp/")):
            client.put_object(Bucket=bucket, Key=f"lake/{rel}", Body=path.read_bytes())
    config = project / "lakehouse.toml"
    root = f'root = "s3://{bucket}/lake"\n\n[store.s3]\nendpoint_url = "{endpoint}"'
    config.write_text(config.read_text().replace('root = ".lakehouse"', root))
    for path in sorted(store.iterdir()):
        if path.name != "workspace":
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a `lake` process: this one's, with the repo importable (the killer
    runner is in tests/), wide lines, and none of the lakehouse's own variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "250"
    env.update(extra)
    return env


def lake_process(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`lake <args>` as its own process, in the project's folder."""
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", *args],
        cwd=project,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )


def said(result: subprocess.CompletedProcess[str]) -> str:
    """A process's exit code and output, for a failure message."""
    text = (result.stdout + result.stderr).strip().replace("\n", " | ")
    return f"exit {result.returncode}: {text[:600]}"


# -- checks that collect problems ----------------------------------------------------------------


def verify_problems(lake: Lakehouse) -> list[str]:
    """What `lake verify` calls damaged (CORRUPT lines), or how it failed."""
    try:
        report = lake.verify()
    except Exception as exc:
        return [f"lake verify failed: {exc.__class__.__name__}: {exc}"]
    return [
        f"lake verify: CORRUPT {p.dataset} {p.version}: {p.path}: {p.reason}"
        for p in report.corrupt
    ]


def published_problems(
    lake: Lakehouse, product: str = PRODUCT, *, require_latest: bool = False
) -> tuple[list[str], list[str]]:
    """The versions `lake published` lists, and what is wrong with them: an output missing or
    not the bytes its publish.json records, `latest` naming a version that is not there (or,
    with `require_latest`, no latest at all beside published versions)."""
    from lakehouse.publish.publish import latest_version, published_output

    try:
        entries = lake.published(product)
        latest = latest_version(lake.store, product)
    except Exception as exc:
        return [], [f"lake published failed: {exc.__class__.__name__}: {exc}"]
    problems = []
    versions = [entry.version for entry in entries]
    for entry in entries:
        for name in entry.output_names():
            rel = published_output(product, entry.version, name)
            output = entry.outputs[f"outputs/{name}"]
            if not lake.store.exists(rel):
                problems.append(f"published {entry.version}: {rel} is missing")
            elif lake.store.sha256(rel)[0] != output.sha256:
                problems.append(f"published {entry.version}: {rel} is not what publish.json says")
    if latest is not None and latest not in versions:
        problems.append(f"latest.json names {latest}, which is not a published version")
    if require_latest and versions and latest is None:
        problems.append(f"{len(versions)} version(s) published and no latest.json")
    return versions, problems


def ingest_problems(lake: Lakehouse, dataset: str, *, complete: bool) -> list[str]:
    """The dataset lists its first version and, if committed, the second (required when
    `complete`), each whole; nothing else."""
    try:
        versions = lake.versions(dataset)
    except Exception as exc:
        return [f"lake versions {dataset} failed: {exc.__class__.__name__}: {exc}"]
    expected = [("first", FIRST_ROWS), ("second", SECOND_ROWS)]
    if len(versions) > 2 or (complete and len(versions) != 2):
        return [f"{dataset} lists {len(versions)} version(s): {[m.version for m in versions]}"]
    problems = []
    for manifest, (who, rows) in zip(versions, expected, strict=False):
        try:
            names = lake.read(dataset, manifest.version).column("who").to_pylist()
        except Exception as exc:
            problems.append(f"{dataset} {manifest.version} does not read: {exc}")
            continue
        if len(names) != rows or {n.split()[0] for n in names} != {who}:
            problems.append(
                f"{dataset} {manifest.version} reads {len(names)} rows of {set(names)}, "
                f"expected {rows} of {who!r}"
            )
    return problems


def build_problems(lake: Lakehouse) -> tuple[list[str], list[str]]:
    """The builds `lake builds` lists, and what is wrong with them (an output missing or not
    the bytes build.json records)."""
    from lakehouse.transform.index import build_folder

    try:
        builds = lake.builds(PRODUCT)
    except Exception as exc:
        return [], [f"lake builds failed: {exc.__class__.__name__}: {exc}"]
    problems = []
    for build in builds:
        for output in build.outputs.values():
            rel = f"{build_folder(PRODUCT, build.build_id)}/{output.path}"
            if not lake.store.exists(rel):
                problems.append(f"build {build.build_id}: {rel} is missing")
            elif lake.store.sha256(rel)[0] != output.sha256:
                problems.append(f"build {build.build_id}: {rel} is not what build.json says")
    return [b.build_id for b in builds], problems
