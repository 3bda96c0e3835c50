"""The same transforms on Spark (local[2], bound to 127.0.0.1) and on DuckDB, from one lock:
the outputs are identical. Marked `spark` (about 20 s): `-m 'not spark'` skips it locally; CI
runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
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
    from tests.projects import DATASETS, s3_project

    lake = s3_project(tmp_path / "p", s3_endpoint, s3_bucket, lots=200)
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.lock("pluto_lite")
    duck = lake.build("pluto_lite")
    spark = lake.build("pluto_lite", engine="spark")  # inputs copied from S3 to scratch
    hashes = {
        b.engine: b.outputs["outputs/pluto_lite"].content_sha256 for b in lake.builds("pluto_lite")
    }
    assert hashes["spark"] == hashes["duckdb"]
    assert spark.folder != duck.folder and lake.store.exists(f"{spark.folder}/build.json")
