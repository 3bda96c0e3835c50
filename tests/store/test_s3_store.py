"""S3 specifics on moto's server (127.0.0.1): DuckDB reading archived Parquet through s3fs, the
exclusive manifest write, S3 objects as sources, a missing bucket. (tests/test_archive.py runs
every archive test on S3 as well.)"""

from __future__ import annotations

from pathlib import Path

import boto3
import duckdb
import pytest

from lakehouse.config import LakehouseConfig, S3Settings, StoreSettings
from lakehouse.errors import SourceError, VersionExistsError
from lakehouse.project import Lakehouse
from lakehouse.store.storage import Store
from tests.conftest import write_template


@pytest.fixture
def s3_lake(project_dir: Path, s3_endpoint: str, s3_bucket: str) -> Lakehouse:
    config = LakehouseConfig(
        project_dir=project_dir,
        store=StoreSettings(root=f"s3://{s3_bucket}/lake", s3=S3Settings(endpoint_url=s3_endpoint)),
    )
    return Lakehouse(config)


def _keys(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_ingest_to_s3_and_read_back_through_duckdb(
    s3_lake: Lakehouse, csv_file: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    manifest = s3_lake.ingest("lots", file=csv_file).manifest
    keys = _keys(s3_endpoint, s3_bucket)
    assert f"lake/raw/lots/{manifest.version}/manifest.json" in keys
    assert f"lake/{manifest.source_files[0].path}" in keys
    con = duckdb.connect()
    s3_lake.store.register_in_duckdb(con)
    url = s3_lake.store.url(manifest.data_files[0].path)
    assert url.startswith(f"s3://{s3_bucket}/lake/raw/lots/")
    rows = con.execute(f"SELECT bbl, zip FROM read_parquet('{url}') ORDER BY bbl").fetchall()
    assert rows == [("1000010001", "10001"), ("2000020002", "00123"), ("3000030003", "11201")]
    assert s3_lake.read("lots").num_rows == 3


def test_the_manifest_commit_refuses_an_existing_object(s3_lake: Lakehouse) -> None:
    s3_lake.store.create_exclusive("x/manifest.json", b"one")
    with pytest.raises(VersionExistsError):
        s3_lake.store.create_exclusive("x/manifest.json", b"two")
    assert s3_lake.store.read_bytes("x/manifest.json") == b"one"


def test_s3_object_as_a_source(
    lake: Lakehouse, project_dir: Path, s3_endpoint: str, s3_bucket: str, csv_file: Path
) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.put_object(Bucket=s3_bucket, Key="drop/lots.csv", Body=csv_file.read_bytes())
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: s3, url: 's3://{s3_bucket}/drop/lots.csv', "
        f"endpoint_url: '{s3_endpoint}'}}\nformat: {{type: csv}}\n",
    )
    manifest = lake.ingest("lots").manifest
    assert manifest.source.location == f"s3://{s3_bucket}/drop/lots.csv"
    assert manifest.row_count == 3
    stored = Path(lake.store.root) / manifest.source_files[0].path
    assert stored.read_bytes() == csv_file.read_bytes()
    write_template(
        project_dir,
        "gone",
        f"name: gone\nsource: {{type: s3, url: 's3://{s3_bucket}/nope.csv', "
        f"endpoint_url: '{s3_endpoint}'}}\nformat: {{type: csv}}\n",
    )
    with pytest.raises(SourceError, match="does not exist"):
        lake.ingest("gone")


def test_store_rejects_unknown_schemes() -> None:
    from lakehouse.errors import ConfigError

    with pytest.raises(ConfigError, match="not supported"):
        Store("gs://bucket/x")


def test_a_missing_bucket_is_one_clear_error(project_dir: Path, s3_endpoint: str) -> None:
    from lakehouse.errors import StorageError

    (project_dir / "lakehouse.toml").write_text(
        f'[store]\nroot = "s3://no-such-bucket/lake"\n[store.s3]\nendpoint_url = "{s3_endpoint}"\n'
    )
    from lakehouse.project import open_lakehouse

    with pytest.raises(StorageError, match=r"'no-such-bucket' of the store .* does not exist"):
        open_lakehouse(project_dir / "lakehouse.toml")


def test_an_endpoint_nothing_answers_at_is_said_at_once(project_dir: Path) -> None:
    import socket

    from lakehouse.errors import StorageError
    from lakehouse.project import open_lakehouse

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (project_dir / "lakehouse.toml").write_text(
        f'[store]\nroot = "s3://lake/data"\n[store.s3]\nendpoint_url = "http://127.0.0.1:{port}"\n'
    )
    with pytest.raises(
        StorageError, match=rf"Cannot reach the S3 endpoint http://127.0.0.1:{port}"
    ):
        open_lakehouse(project_dir / "lakehouse.toml")
