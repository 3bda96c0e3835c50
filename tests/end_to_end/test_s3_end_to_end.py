"""The whole path on an S3 store (moto's server on 127.0.0.1): ingest, build with contracts,
QA, publish, package, explore, promote, a second version's source QA, the docs site."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import boto3

from lakehouse.explore.explorer import Explorer
from lakehouse.project import Lakehouse
from tests.projects import DATASETS, change_lots, s3_project


def test_the_whole_path_runs_on_s3(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    lake = s3_project(tmp_path / "p", s3_endpoint, s3_bucket, lots=300)
    assert lake.store.root == f"s3://{s3_bucket}/lake"
    for dataset in DATASETS:
        assert lake.ingest(dataset).status == "archived"
    lake.lock("pluto_lite")
    first = lake.build("pluto_lite")
    assert first.contracts.passed and len(first.contracts.results) == 60
    assert lake.build("pluto_lite").all_cached  # the cache works on S3 too
    assert lake.check("pluto_lite")[1].passed  # `lake check` re-reads the output from S3
    report, _ = lake.diff_report("pluto_lite")
    assert report.startswith(f"s3://{s3_bucket}/lake/builds/pluto_lite/")
    entry = lake.publish("pluto_lite", "25v1")
    keys = sorted(
        o["Key"]
        for o in boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
        .list_objects_v2(Bucket=s3_bucket, Prefix="lake/publish/")
        .get("Contents", [])
    )
    assert "lake/publish/pluto_lite/25v1/publish.json" in keys
    assert "lake/publish/pluto_lite/latest.json" in keys

    package = lake.package("pluto_lite", "25v1", "parquet", tmp_path / "a.zip")
    again = lake.package("pluto_lite", "25v1", "parquet", tmp_path / "b.zip")
    assert package.path.read_bytes() == again.path.read_bytes()
    with zipfile.ZipFile(package.path) as archive:
        data = archive.read("pluto_lite-25v1/data/pluto_lite.parquet")
    assert hashlib.sha256(data).hexdigest() == entry.outputs["outputs/pluto_lite"].sha256

    explorer = Explorer(lake)
    assert explorer.published("pluto_lite", "25v1").table().count().execute() == 300
    assert explorer.source("dof_pts").count().execute() == lake.versions("dof_pts")[0].row_count
    views = explorer.register_views()
    assert "published.pluto_lite_25v1" in views
    assert explorer.sql("SELECT count(*) AS n FROM build.pluto_lite").execute()["n"][0] == 300

    prod = lake.promote("pluto_lite", "25v1", "prod")
    assert prod.outputs == entry.outputs
    assert prod.promoted_from is not None and prod.promoted_from.env == "default"
    prod_lake = Lakehouse(lake.config.for_env("prod"))
    assert prod_lake.store.root == f"s3://{s3_bucket}/lake/prod"
    assert [e.version for e in prod_lake.published("pluto_lite")] == ["25v1"]

    removed, doubled = change_lots(tmp_path / "p" / "data" / "pluto_lite" / "dof_pts.csv")
    manifest = lake.ingest("dof_pts").manifest
    assert manifest.qa is not None and manifest.qa.against == lake.versions("dof_pts")[0].version
    assert f"keys removed: {len(removed)}" in " ".join(manifest.qa.flags)
    lake.build("pluto_lite", latest=True)
    diff = lake.diff("pluto_lite")  # against the published 25v1
    (table,) = diff.tables
    assert diff.old.startswith("published 25v1")
    assert (table.removed, table.changed) == (len(removed), len(doubled))

    site = lake.docs(tmp_path / "site")
    assert "25v1" in (site.folder / "product-pluto_lite.html").read_text()
