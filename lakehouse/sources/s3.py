"""Objects in S3 (or an S3-compatible store), fetched with s3fs."""

from __future__ import annotations

from pathlib import Path

from lakehouse.config import S3Settings
from lakehouse.errors import SourceError
from lakehouse.progress import Progress
from lakehouse.sources import Fetched
from lakehouse.template import S3Source


def fetch(source: S3Source, landing_dir: Path, progress: Progress) -> Fetched:
    import s3fs

    settings = S3Settings(endpoint_url=source.endpoint_url).resolved()
    client_kwargs = {"endpoint_url": settings.endpoint_url, "region_name": settings.region}
    fs = s3fs.S3FileSystem(
        key=settings.access_key_id,
        secret=settings.secret_access_key,
        client_kwargs={k: v for k, v in client_kwargs.items() if v},
        use_listings_cache=False,
    )
    key = source.url.removeprefix("s3://")
    destination = landing_dir / key.rsplit("/", 1)[-1]
    try:
        size = fs.size(key)
        fs.get_file(key, str(destination))
    except FileNotFoundError as exc:
        raise SourceError(f"{source.url} does not exist; check the bucket and key.") from exc
    except PermissionError as exc:
        raise SourceError(f"Access to {source.url} was denied; check the S3 credentials.") from exc
    except OSError as exc:
        raise SourceError(f"Cannot read {source.url} ({exc}); check the endpoint.") from exc
    progress(f"downloaded {destination.name}", size, size)
    return Fetched(files=[destination], location=source.url)
