"""The QA app over a store on moto's S3 server (127.0.0.1): the same pages, read from S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.test_main import run_app
from tests.projects import DATASETS, s3_project


def test_the_app_reads_a_project_on_s3(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = s3_project(tmp_path / "p", s3_endpoint, s3_bucket, lots=150)
    for dataset in DATASETS:
        lake.ingest(dataset)
    build = lake.build("pluto_lite")
    config = tmp_path / "p" / "lakehouse.toml"
    sources = run_app(monkeypatch, config, page="sources", dataset="dof_pts")
    assert [e.value for e in sources.error] == []
    versions = sources.dataframe[0].value
    assert list(versions["rows"]) == [lake.manifest("dof_pts").row_count]
    builds = run_app(monkeypatch, config, page="builds", product="pluto_lite")
    assert [e.value for e in builds.error] == []
    assert build.build_id in builds.dataframe[0].value.to_string()
