"""Objects in S3 (or an S3-compatible store), fetched with s3fs.

A template's `source: {type: s3, url: s3://bucket/key}`; credentials come from the environment.

`probe` asks for the object's metadata alone (s3fs `info`: a HEAD request) and reports its ETag
without the quotes S3 puts around it: `{"etag": "<hex>"}` (a multipart object's `<hex>-<parts>`
too), and its LastModified. The fetch takes the same `info` before it downloads, and records
the ETag so in the manifest's source details: were the object replaced in between, the next
check finds it changed and fetches again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import fsspec
from pydantic import field_validator

from lakehouse.config import S3Settings
from lakehouse.errors import SourceError
from lakehouse.progress import Progress
from lakehouse.sources import Fetched, SourceSpec, SourceType, Upstream
from lakehouse.sources.http import file_name_from_url
from lakehouse.sources.http_body import refuse_web_page
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


def _filesystem(source: S3Source) -> fsspec.AbstractFileSystem:
    return make_s3_filesystem(S3Settings(endpoint_url=source.endpoint_url).resolved())


@contextmanager
def _reading(source: S3Source) -> Iterator[None]:
    """Turn what s3fs raises while `source` is read into SourceErrors that say what to check."""
    try:
        yield
    except SourceError:
        raise
    except FileNotFoundError as exc:
        raise SourceError(f"{source.url} does not exist; check the bucket and key.") from exc
    except PermissionError as exc:
        raise SourceError(f"Access to {source.url} was denied; check the S3 credentials.") from exc
    except Exception as exc:  # botocore's connection errors are not OSErrors
        raise SourceError(
            f"Cannot read {source.url} ({exc.__class__.__name__}: {exc}); check the endpoint."
        ) from exc


def _object_info(fs: fsspec.AbstractFileSystem, source: S3Source) -> dict[str, Any]:
    """The object's metadata (size, ETag, LastModified), from one HEAD request."""
    with _reading(source):
        info: dict[str, Any] = fs.info(source.url.removeprefix("s3://"))
    if info.get("type") != "file":
        raise SourceError(
            f"{source.url} is a folder, not an object; name one object, like "
            "s3://bucket/folder/file.csv."
        )
    return info


def etag_marker(info: dict[str, Any]) -> dict[str, str]:
    """`{"etag": ...}` from the object's metadata, without S3's quotes; empty when the store
    sends no ETag."""
    etag = str(info.get("ETag") or "").strip('"')
    return {"etag": etag} if etag else {}


def _last_modified(info: dict[str, Any]) -> datetime | None:
    when = info.get("LastModified")
    if not isinstance(when, datetime):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def fetch(source: S3Source, landing_dir: Path, progress: Progress) -> Fetched:
    fs = _filesystem(source)
    destination = landing_dir / file_name_from_url(source.url, "object")
    info = _object_info(fs, source)
    with _reading(source):
        fs.get_file(source.url.removeprefix("s3://"), str(destination))
    refuse_web_page(destination, source.url, "a data file")
    size = int(info.get("size") or 0)
    progress(f"downloaded {destination.name}", size, size)
    return Fetched(files=[destination], location=source.url, details=etag_marker(info))


def probe(source: S3Source) -> Upstream:
    """The object's ETag and LastModified, from its metadata alone (s3fs retries as it does
    for every request)."""
    info = _object_info(_filesystem(source), source)
    return Upstream(marker=etag_marker(info), edited_at=_last_modified(info))


SOURCE = SourceType(name="s3", spec=S3Source, fetch=fetch, probe=probe)
