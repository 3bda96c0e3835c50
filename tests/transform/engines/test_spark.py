"""The same transforms on Spark (local[2], bound to 127.0.0.1) and on DuckDB, from one lock:
the outputs are identical, Spark's written as ordered parts; an S3 store in local mode, and
refused on a cluster without hadoop-aws. Marked `spark` (about a minute): `-m 'not spark'`
skips it locally; CI runs it. On a two-worker cluster: test_spark_cluster.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.errors import BuildError
from lakehouse.transform.engines.spark import MASTER_ENV_VAR, NO_HADOOP_AWS
from tests.projects import make_project

pytestmark = pytest.mark.spark


def test_pluto_lite_on_spark_equals_duckdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = make_project(tmp_path / "p", lots=400)
    lake.lock("pluto_lite")
    duck = lake.build("pluto_lite")
    spark = lake.build("pluto_lite", engine="spark")
    assert duck.contracts.passed and spark.contracts.passed
    assert len(spark.contracts.results) == len(duck.contracts.results)  # staging + product
    assert not spark.all_cached  # another engine: nothing reused from the DuckDB build
    built = {b.build_id: b for b in lake.builds("pluto_lite")}
    on_duck, on_spark = built[duck.build_id], built[spark.build_id]
    assert (on_duck.engine, on_spark.engine) == ("duckdb", "spark")
    assert on_duck.lock == on_spark.lock
    key = "outputs/pluto_lite"
    assert on_spark.outputs[key].content_sha256 == on_duck.outputs[key].content_sha256
    assert on_spark.outputs[key].rows == 400
    parts = on_spark.outputs[key].parts  # written by Spark in parts, in order
    assert parts is not None and sum(part.rows for part in parts) == 400
    assert "pyspark" in on_spark.packages
    # the same layout: a DuckDB database for `lake sql`, the contract report, the lock
    folder = Path(lake.store.root) / spark.folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "build.json", "contracts", "outputs", "pluto_lite.lock"
    ]  # fmt: skip
    monkeypatch.chdir(tmp_path / "p")
    result = CliRunner().invoke(
        app,
        ["sql", "pluto_lite", "SELECT count(*) AS n FROM pluto_lite", "--build", spark.build_id],
    )
    assert result.exit_code == 0 and "400" in result.output
    assert json.loads((folder / "build.json").read_text())["status"] == "passed"


def test_spark_builds_from_an_s3_store(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    from pyspark.sql import SparkSession

    from tests.projects import DATASETS, s3_project

    lake = s3_project(tmp_path / "p", s3_endpoint, s3_bucket, lots=200)
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.lock("pluto_lite")
    duck = lake.build("pluto_lite")
    # local mode without hadoop-aws: inputs copied from S3 to scratch, parts uploaded from it
    spark = lake.build("pluto_lite", engine="spark")
    hashes = {
        b.engine: b.outputs["outputs/pluto_lite"].content_sha256 for b in lake.builds("pluto_lite")
    }
    assert hashes["spark"] == hashes["duckdb"]
    assert spark.folder != duck.folder and lake.store.exists(f"{spark.folder}/build.json")
    on_spark = next(b for b in lake.builds("pluto_lite") if b.engine == "spark")
    output = on_spark.outputs["outputs/pluto_lite"]
    assert output.parts is not None and sum(part.rows for part in output.parts) == 200
    for file in output.files():
        assert lake.store.sha256(f"{spark.folder}/{file.path}")[0] == file.sha256
    # the session was given the store's s3a settings (used as they are where hadoop-aws is)
    conf = SparkSession.builder.getOrCreate().conf
    assert conf.get("spark.hadoop.fs.s3a.endpoint") == s3_endpoint
    assert conf.get("spark.hadoop.fs.s3a.path.style.access") == "true"
    assert conf.get("spark.hadoop.fs.s3a.connection.ssl.enabled") == "false"
    assert conf.get("spark.hadoop.fs.s3a.access.key") == os.environ["AWS_ACCESS_KEY_ID"]


def test_an_s3_store_on_a_cluster_without_hadoop_aws_is_refused(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.projects import DATASETS, s3_project

    lake = s3_project(tmp_path / "p", s3_endpoint, s3_bucket, lots=200)
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.lock("pluto_lite")
    monkeypatch.setenv(MASTER_ENV_VAR, "spark://127.0.0.1:9")  # refused before any connection
    with pytest.raises(BuildError) as refused:
        lake.build("pluto_lite", engine="spark")
    assert str(refused.value) == NO_HADOOP_AWS
    assert lake.builds("pluto_lite") == [] and not lake.store.exists("cache/pluto_lite")


def test_a_session_this_process_runs_on_another_master_is_left_alone(tmp_path: Path) -> None:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    lake = make_project(tmp_path / "p", lots=100)
    lake.lock("pluto_lite")
    running = SparkContext._active_spark_context
    if running is not None:
        running.stop()  # (a session of the tests before, started by a build)
    notebook = (
        SparkSession.builder.master("local[1]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )  # as a notebook would have started one
    try:
        with pytest.raises(BuildError) as refused:
            lake.build("pluto_lite", engine="spark")  # on local[2], the default
        assert str(refused.value) == (
            "This process already runs a Spark session on local[1], not on local[2]; set "
            f"{MASTER_ENV_VAR}=local[1] to build on it, or stop it."
        )
        assert notebook.range(3).count() == 3  # still running
    finally:
        notebook.stop()
