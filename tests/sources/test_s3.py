"""The s3 source type on moto's server (127.0.0.1): one object landed as it is, its URL checked
when the template is read, a missing object a clear error. (tests/store/test_s3_store.py ingests
from it too.)"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from lakehouse.archive.template import load_template
from lakehouse.errors import ConfigError, SourceError
from lakehouse.progress import no_progress
from lakehouse.sources.s3 import S3Source, fetch
from tests.conftest import write_template


def test_s3_source_must_name_one_object(project_dir: Path) -> None:
    path = write_template(
        project_dir,
        "s",
        "name: s\nsource: {type: s3, url: 's3://bucket/folder/'}\nformat: {type: csv}\n",
    )
    with pytest.raises(ConfigError, match="must name one object"):
        load_template(path)


def test_an_object_is_landed_byte_for_byte(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    body = b"a,b\n1,2\n"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.put_object(Bucket=s3_bucket, Key="drop/lots.csv", Body=body)
    source = S3Source(type="s3", url=f"s3://{s3_bucket}/drop/lots.csv", endpoint_url=s3_endpoint)
    fetched = fetch(source, tmp_path, no_progress)
    assert [p.name for p in fetched.files] == ["lots.csv"]
    assert fetched.files[0].read_bytes() == body
    assert fetched.location == f"s3://{s3_bucket}/drop/lots.csv"
    assert fetched.format_override is None


def test_a_missing_object_is_a_clear_error(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    source = S3Source(type="s3", url=f"s3://{s3_bucket}/nope.csv", endpoint_url=s3_endpoint)
    with pytest.raises(SourceError, match="does not exist; check the bucket and key"):
        fetch(source, tmp_path, no_progress)


def test_an_object_that_is_a_web_page_is_refused(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    from tests.fakes.faults import LOGIN_PAGE

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.put_object(Bucket=s3_bucket, Key="drop/lots.csv", Body=LOGIN_PAGE)
    source = S3Source(type="s3", url=f"s3://{s3_bucket}/drop/lots.csv", endpoint_url=s3_endpoint)
    with pytest.raises(SourceError, match=r"drop/lots\.csv sent a web page"):
        fetch(source, tmp_path, no_progress)
