"""PLUTO-lite built by `lake build --engine spark` on a Spark standalone cluster of two workers
(tests/transform/engines/cluster.py: a master and two workers on 127.0.0.1, each worker with its
own work directory), from a store every worker sees (a folder of this machine, as a shared
filesystem is on a real cluster): the same content hash as DuckDB's build, written by the
executors straight into the store as several ordered parts. Marked `spark` (about a minute:
the cluster and the application start in ~25 s)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.explore.explorer import Explorer
from lakehouse.project import Lakehouse
from lakehouse.transform.engines.spark import MASTER_ENV_VAR
from lakehouse.transform.records import BuildRecord, CacheEntry
from tests.projects import make_project
from tests.transform.engines.cluster import LocalCluster, local_cluster

pytestmark = pytest.mark.spark

LOTS = 400
DRIVER_SETTINGS = {  # the driver's spark-defaults.conf (SPARK_CONF_DIR), as a team would write it
    "spark.ui.enabled": "false",
    "spark.executor.memory": "512m",
    # several parts even from 400 lots: three range partitions, not merged by size
    "spark.sql.shuffle.partitions": "3",
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
}


@dataclass
class ClusterBuilds:
    lake: Lakehouse
    cluster: LocalCluster
    on_duckdb: BuildRecord
    on_spark: BuildRecord
    output: str  # what `lake build` printed


def lake_command(
    cluster: LocalCluster, project: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """`lake <args>` in its own process (its own JVM), driving the cluster."""
    env = {
        **os.environ,
        MASTER_ENV_VAR: cluster.master_url,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_CONF_DIR": str(cluster.conf_dir(DRIVER_SETTINGS)),
    }
    lake = Path(sys.executable).parent / "lake"
    return subprocess.run(
        [str(lake), *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterBuilds]:
    folder = tmp_path_factory.mktemp("cluster")
    lake = make_project(folder / "p", lots=LOTS)
    lake.lock("pluto_lite")
    lake.build("pluto_lite")
    with local_cluster(folder / "spark") as cluster:
        done = lake_command(cluster, folder / "p", "build", "pluto_lite", "--engine", "spark")
        assert done.returncode == 0, done.stdout + done.stderr
        built = {b.engine: b for b in lake.builds("pluto_lite")}
        yield ClusterBuilds(lake, cluster, built["duckdb"], built["spark"], done.stdout)


def test_the_cluster_build_has_duckdbs_content_hash_and_contracts(builds: ClusterBuilds) -> None:
    duck, spark = builds.on_duckdb, builds.on_spark
    assert (duck.engine, spark.engine) == ("duckdb", "spark")
    key = "outputs/pluto_lite"
    assert spark.outputs[key].content_sha256 == duck.outputs[key].content_sha256
    assert spark.outputs[key].rows == duck.outputs[key].rows == LOTS
    assert spark.passed and spark.contracts.summary == duck.contracts.summary
    assert spark.contracts.failed == [] and "checks passed" in spark.contracts.summary


def test_the_output_is_several_ordered_parts(builds: ClusterBuilds) -> None:
    store = builds.lake.store
    output = builds.on_spark.outputs["outputs/pluto_lite"]
    assert output.parts is not None and len(output.parts) >= 2
    names = [part.name for part in output.parts]
    assert names == [f"part-{i:05d}.parquet" for i in range(len(names))]
    assert sum(part.rows for part in output.parts) == LOTS
    build = Path(store.root) / "builds" / "pluto_lite" / builds.on_spark.build_id
    assert sorted(p.name for p in (build / "outputs" / "pluto_lite").iterdir()) == names
    # read part by part, in order, the rows are DuckDB's, in DuckDB's order
    duck_file = build.parent / builds.on_duckdb.build_id / "outputs" / "pluto_lite.parquet"
    with duckdb.connect() as con:
        expected = con.execute(f"SELECT bbl FROM read_parquet('{duck_file}')").fetchall()
        parts = [str(build / "outputs" / "pluto_lite" / name) for name in names]
        found = [row for part in parts for row in con.execute(
            f"SELECT bbl FROM read_parquet('{part}')").fetchall()]  # fmt: skip
    assert found == expected and found == sorted(found)


def test_the_executors_read_and_wrote_the_store_themselves(builds: ClusterBuilds) -> None:
    store = Path(builds.lake.store.root)
    run = builds.on_spark.models["pluto_lite"]
    record = store / "cache" / "pluto_lite" / "pluto_lite" / f"{run.fingerprint}.json"
    entry = CacheEntry.from_json(record.read_bytes(), str(record))
    assert entry.parts is not None and len(entry.parts) >= 2
    cached = store / entry.file
    # the folder holds Spark's parts and nothing else (markers and checksums are removed)
    assert sorted(p.name for p in cached.iterdir()) == [part.name for part in entry.parts]
    assert all(p.name.startswith("part-0") and ".zstd." in p.name for p in cached.iterdir())
    logs = builds.cluster.executor_logs()
    assert len(logs) == 2  # one executor on each worker, each logging in its own work directory
    lines = "\n".join(logs.values()).splitlines()
    # the executors (the driver runs no task on a cluster) read the archived Parquet where it
    # lies, and saved their tasks' output into the cache folder, in the store
    read = [line for line in lines if "Reading File path: file://" in line]
    assert any(f"file://{store}/raw/" in line for line in read)
    saved = [line for line in lines if "Saved output of task" in line]
    assert len(saved) >= len(entry.parts) and all(f"file:{cached}/" in line for line in saved)
    assert f"build {builds.on_spark.build_id}" in builds.output  # what `lake build` said
    # nothing of the build in the driver's scratch (`.tmp` of the store)
    assert not list((store / ".tmp").rglob("*.parquet"))


def test_sql_explorer_and_views_read_the_parts(
    builds: ClusterBuilds, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, spark = builds.lake, builds.on_spark
    monkeypatch.chdir(lake.config.project_dir)
    result = CliRunner().invoke(
        app,
        ["sql", "pluto_lite", "SELECT count(*) AS n FROM pluto_lite", "--build", spark.build_id],
    )
    assert result.exit_code == 0 and str(LOTS) in result.output
    explorer = Explorer(lake)
    table = explorer.build("pluto_lite", spark.build_id).table()
    assert table.count().execute() == LOTS
    assert table.bbl.execute().tolist() == sorted(table.bbl.execute().tolist())
    views = explorer.register_views()
    view = f"build.pluto_lite_{spark.build_id.replace('-', '_')}"
    assert view in views
    assert explorer.sql(f"SELECT count(*) AS n FROM {view}").execute()["n"][0] == LOTS
