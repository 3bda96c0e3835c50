"""Objects in S3 (or an S3-compatible store), fetched with s3fs.

A template's `source: {type: s3, url: s3://bucket/key}`; credentials come from the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import field_validator

from lakehouse.config import S3Settings
from lakehouse.errors import SourceError
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType
from lakehouse.sources.http import file_name_from_url, refuse_web_page
from lakehouse.store.storage import make_s3_filesystem


class S3Source(SourceSpec):
    type: Literal["s3"]
    url: str
    endpoint_url: str | None = None

    @field_validator("url")
    @classmethod
    def _s3_url(cls, url: str) -> str:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        if not url.startswith("s3://") or not bucket or not key or key.endswith("/"):
            raise ValueError("must name one object, like s3://bucket/folder/file.csv")
        return url


def fetch(source: S3Source, landing_dir: Path, progress: Progress) -> Fetched:
    fs = make_s3_filesystem(S3Settings(endpoint_url=source.endpoint_url).resolved())
    key = source.url.removeprefix("s3://")
    destination = landing_dir / file_name_from_url(source.url, "object")
    try:
        size = fs.size(key)
        fs.get_file(key, str(destination))
    except FileNotFoundError as exc:
        raise SourceError(f"{source.url} does not exist; check the bucket and key.") from exc
    except PermissionError as exc:
        raise SourceError(f"Access to {source.url} was denied; check the S3 credentials.") from exc
    except Exception as exc:  # botocore's connection errors are not OSErrors
        raise SourceError(
            f"Cannot read {source.url} ({exc.__class__.__name__}: {exc}); check the endpoint."
        ) from exc
    refuse_web_page(destination, source.url, "a data file")
    progress(f"downloaded {destination.name}", size, size)
    return Fetched(files=[destination], location=source.url)


SOURCE = SourceType(name="s3", spec=S3Source, fetch=fetch)
