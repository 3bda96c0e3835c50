"""A fake S3: moto's S3 server on 127.0.0.1, with test credentials in the environment while it
runs (moto implements S3's conditional writes, so concurrency tests are meaningful)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from tests.fakes.faults import HOST

TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """Run the server; yields its endpoint URL. The environment is restored afterwards."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = {key: os.environ.get(key) for key in TEST_CREDENTIALS}
    os.environ.update(TEST_CREDENTIALS)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def create_bucket(endpoint: str, name: str) -> str:
    """A new, empty bucket named from `name` (made S3-safe); returns the bucket's name."""
    import boto3

    bucket = "".join(ch for ch in name.lower().replace("_", "-") if ch.isalnum() or ch == "-")
    bucket = bucket[:40].strip("-")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    return bucket
