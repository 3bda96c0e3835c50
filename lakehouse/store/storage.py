"""One storage abstraction over fsspec: a local folder (default) or an s3:// prefix.

Paths given to a Store are relative to its root and use '/' separators. Writes of single
objects are atomic (local: write a temp file, then rename; S3: a PUT is atomic), so the last
object written for a version (its manifest) can serve as the commit point.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import random
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.config import S3Settings
from lakehouse.errors import ConfigError, IntegrityError, StorageError, VersionExistsError
from lakehouse.store.lease import (
    LEASE_FILE,
    QUIET_SECONDS,
    STALE_SECONDS,
    Lease,
    is_abandoned,
    is_here,
    new_lease,
    process_alive,
)

if TYPE_CHECKING:
    import duckdb
    import fsspec
    import pyarrow.parquet as pq

HASH_CHUNK_BYTES = 8 * 1024 * 1024
SCRATCH_FOLDER = ".tmp"
SCRATCH_PREFIX = "lakehouse-"
TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{32}\.tmp")  # temporary_beside
CONDITIONAL_PUT_ATTEMPTS = 5  # of an S3 conditional PUT that raced another (409)
CONDITIONAL_PUT_BACKOFF_SECONDS = 0.05


def sha256_of_file(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a local file, read in large chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def temporary_beside(target: Path) -> Path:
    """A temporary file beside `target`, named for this process (`TEMPORARY`) so that one a
    killed process left can be told from one being written."""
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")


def replace_whole(target: Path, write: Callable[[Path], object]) -> None:
    """Write the local file `target` by `write(path)` into a temporary file beside it, then
    move that into place: readers see the old file or the new one whole, two writers at once
    never write into one temporary file, and a write that fails leaves no temporary behind
    (one a killed writer left is removed by the next write of the file)."""
    for left in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if abandoned_temporary(left):
            left.unlink(missing_ok=True)
    temporary = temporary_beside(target)
    try:
        write(temporary)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def abandoned_temporary(path: Path) -> bool:
    """Whether `path` is a temporary file (`temporary_beside`) of a process that is gone (or
    untouched for QUIET_SECONDS: its pid may have been reused, or be another machine's)."""
    match = TEMPORARY.fullmatch(path.name)
    if match is None:
        return False
    if not process_alive(int(match.group("pid")), None):
        return True
    try:
        return path.stat().st_mtime < time.time() - QUIET_SECONDS
    except OSError:
        return False


def scratch_writer(folder: Path) -> Lease | None:
    """The lease of a scratch folder (None: none, or unreadable)."""
    try:
        return Lease.from_json((folder / LEASE_FILE).read_bytes(), str(folder / LEASE_FILE))
    except (OSError, IntegrityError):
        return None


def abandoned_scratch(parent: Path, *, shared: bool) -> list[Path]:
    """The scratch folders under `parent` whose process is gone. In the store's own `.tmp`
    (not `shared`) a folder without a readable lease counts once nothing in it changed for
    STALE_SECONDS (an older lakehouse's); in the system's temp only this lakehouse's count."""
    found = []
    with contextlib.suppress(OSError):
        for folder in parent.iterdir():
            if (shared and not folder.name.startswith(SCRATCH_PREFIX)) or not folder.is_dir():
                continue
            lease = scratch_writer(folder)
            if lease is not None and is_abandoned(lease, beats=False):
                found.append(folder)
            elif (
                lease is not None
                and not shared
                and not is_here(lease)
                and _quiet(folder, QUIET_SECONDS)
            ):
                found.append(folder)  # another machine's (a container's), quiet for long
            elif lease is None and not shared and _quiet(folder, STALE_SECONDS):
                found.append(folder)
    return found


def _quiet(folder: Path, seconds: float) -> bool:
    limit = time.time() - seconds
    try:
        return all(p.lstat().st_mtime < limit for p in [folder, *folder.rglob("*")])
    except OSError:
        return False


def remove_abandoned_scratch(parent: Path, *, shared: bool) -> list[Path]:
    """Remove the scratch folders of processes that are gone; those removed."""
    removed = abandoned_scratch(parent, shared=shared)
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def _conditional_conflict(exc: BaseException) -> bool:
    """Whether S3 refused a conditional PUT because another one for the same key was in flight
    (409 ConditionalRequestConflict: retry), as s3fs raises it (an OSError caused by botocore's
    ClientError)."""
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return False
    error = response.get("Error") or {}
    return bool(error.get("Code") == "ConditionalRequestConflict")


ENDPOINT_PROBE_SECONDS = 5.0


def make_s3_filesystem(settings: S3Settings) -> fsspec.AbstractFileSystem:
    """An s3fs filesystem for these settings (credentials from the environment)."""
    import s3fs

    client_kwargs: dict[str, Any] = {}
    if settings.endpoint_url:
        client_kwargs["endpoint_url"] = settings.endpoint_url
    if settings.region:
        client_kwargs["region_name"] = settings.region
    return s3fs.S3FileSystem(
        key=settings.access_key_id,
        secret=settings.secret_access_key,
        client_kwargs=client_kwargs,
        use_listings_cache=False,
    )


class Store:
    """The lakehouse root: where every archived and built file lives."""

    def __init__(self, root: str, s3: S3Settings | None = None) -> None:
        self.is_local = "://" not in root or root.startswith("file://")
        self.s3 = (s3 or S3Settings()).resolved()
        if self.is_local:
            local_root = root.removeprefix("file://")
            self.root = str(Path(local_root).resolve())
        elif root.startswith("s3://"):
            self.root = root.rstrip("/")
        else:
            raise ConfigError(
                f"Store root {root!r} is not supported; use a local folder or an s3://bucket/prefix."
            )
        self._fs: fsspec.AbstractFileSystem | None = None

    def __repr__(self) -> str:
        return f"Store({self.root!r})"

    # -- locations -------------------------------------------------------------------------

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        if self._fs is None:
            self._fs = self._make_filesystem()
        return self._fs

    def _make_filesystem(self) -> fsspec.AbstractFileSystem:
        if self.is_local:
            from fsspec.implementations.local import LocalFileSystem

            return LocalFileSystem()
        return make_s3_filesystem(self.s3)

    def check_reachable(self) -> None:
        """Fail early, in one sentence, when an S3 store's bucket is missing or unreachable."""
        if self.is_local:
            return
        bucket = self.path().split("/", 1)[0]
        if self.s3.endpoint_url:
            self._check_endpoint(self.s3.endpoint_url)
        try:
            found = self.fs.exists(bucket)
        except Exception as exc:
            raise StorageError(
                f"Cannot reach the store at {self.root} ({exc.__class__.__name__}: {exc}); check "
                "endpoint_url, region and the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables."
            ) from exc
        if not found:
            raise StorageError(
                f"Bucket {bucket!r} of the store {self.root} does not exist; create it or fix "
                "[store] root in lakehouse.toml."
            )

    def _check_endpoint(self, endpoint: str) -> None:
        """An endpoint that does not answer at all is said so at once (s3fs retries for a
        while, then reports the bucket as missing); any HTTP answer, even an error, is fine."""
        import httpx

        try:
            httpx.head(endpoint, timeout=ENDPOINT_PROBE_SECONDS)
        except httpx.TransportError as exc:
            raise StorageError(
                f"Cannot reach the S3 endpoint {endpoint} of the store {self.root} "
                f"({exc.__class__.__name__}); check endpoint_url in lakehouse.toml and that the "
                "server is running."
            ) from exc

    def path(self, rel: str = "") -> str:
        """The filesystem path of `rel` (for s3fs: 'bucket/prefix/rel', no protocol)."""
        base = self.root.removeprefix("s3://")
        return f"{base}/{rel}" if rel else base

    def url(self, rel: str = "") -> str:
        """A full location of `rel` that DuckDB and deltalake understand."""
        return f"{self.root}/{rel}" if rel else self.root

    def local_path(self, rel: str) -> Path:
        """The local path of `rel`; only for local stores."""
        if not self.is_local:
            raise TypeError("local_path() is only available on a local store")
        return Path(self.path(rel))

    # -- reading ---------------------------------------------------------------------------

    # (a local store reads its folder directly: fsspec's import alone costs every command
    # tens of milliseconds)

    def exists(self, rel: str) -> bool:
        if self.is_local:
            return self.local_path(rel).exists()
        return bool(self.fs.exists(self.path(rel)))

    def read_bytes(self, rel: str) -> bytes:
        if self.is_local:
            return self.local_path(rel).read_bytes()
        return bytes(self.fs.cat_file(self.path(rel)))

    def list_folders(self, rel: str) -> list[str]:
        """Names of the folders directly under `rel` (empty when `rel` does not exist)."""
        if self.is_local:
            folder = self.local_path(rel)
            return sorted(e.name for e in folder.iterdir() if e.is_dir()) if folder.is_dir() else []
        try:
            entries = self.fs.ls(self.path(rel), detail=True)
        except FileNotFoundError:
            return []
        return sorted(
            entry["name"].rstrip("/").rsplit("/", 1)[-1]
            for entry in entries
            if entry["type"] == "directory"
        )

    def list_files(self, rel: str) -> list[str]:
        """Paths (relative to the root) of every file below `rel`."""
        base = self.path(rel)
        prefix_len = len(self.path()) + 1
        if self.is_local:
            found = Path(base)
            if found.is_file():
                return [base[prefix_len:]]
            files = (str(f) for f in found.rglob("*") if f.is_file()) if found.is_dir() else ()
            return sorted(name[prefix_len:] for name in files)
        if not self.fs.exists(base):
            return []
        return sorted(name[prefix_len:] for name in self.fs.find(base))

    def modified_at(self, rel: str) -> datetime:
        """When a stored file was last written (FileNotFoundError when it is not there)."""
        if self.is_local:
            seconds = self.local_path(rel).stat().st_mtime
            return datetime.fromtimestamp(seconds, UTC)
        info = self.fs.info(self.path(rel))
        stamp = info.get("LastModified") or info.get("mtime")
        if isinstance(stamp, datetime):
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        return datetime.fromtimestamp(float(stamp or 0), UTC)

    def parquet_metadata(self, rel: str) -> pq.FileMetaData:
        """The footer of a stored Parquet file (its rows, schema and key-value metadata), read
        without its data."""
        import pyarrow.parquet as pq

        if self.is_local:
            return pq.read_metadata(self.local_path(rel))
        with self.fs.open(self.path(rel), "rb") as handle:
            return pq.read_metadata(handle)

    def sha256(self, rel: str) -> tuple[str, int]:
        """sha256 hex digest and size of a stored file."""
        if self.is_local:
            return sha256_of_file(self.local_path(rel))
        digest = hashlib.sha256()
        size = 0
        with self.fs.open(self.path(rel), "rb", block_size=HASH_CHUNK_BYTES) as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    # -- writing ---------------------------------------------------------------------------

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write one object so that readers see either nothing or all of it."""
        if not self.is_local:
            self.fs.pipe_file(self.path(rel), data)
            return
        target = self.local_path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = temporary_beside(target)
        temp.write_bytes(data)
        os.replace(temp, target)

    def copy(self, source_rel: str, target_rel: str) -> None:
        """Copy one stored file to another place in the store."""
        if self.is_local:
            target = self.local_path(target_rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.local_path(source_rel), target)
        else:
            self.fs.copy(self.path(source_rel), self.path(target_rel))

    def share(self, source_rel: str, target_rel: str) -> None:
        """Make `target_rel` hold the same bytes as `source_rel` without copying when the store
        allows it: a hard link on a local store (stored files are never changed in place),
        a server-side copy on S3."""
        if not self.is_local:
            self.fs.copy(self.path(source_rel), self.path(target_rel))
            return
        target = self.local_path(target_rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self.local_path(source_rel), target)
        except OSError:  # another filesystem, or links not supported
            shutil.copyfile(self.local_path(source_rel), target)

    def receive(self, other: Store, source_rel: str, target_rel: str) -> None:
        """Copy a file of another store (another environment) into this one."""
        if self.is_local and other.is_local:
            target = self.local_path(target_rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(other.local_path(source_rel), target)
            except OSError:
                shutil.copyfile(other.local_path(source_rel), target)
            return
        if not self.is_local and not other.is_local and self.s3 == other.s3:
            self.fs.copy(other.path(source_rel), self.path(target_rel))
            return
        with self.scratch_dir() as scratch:
            local = scratch / "file"
            other.fs.get_file(other.path(source_rel), str(local))
            self.put_file(local, target_rel, move=True)

    def create_exclusive(self, rel: str, data: bytes) -> None:
        """Write one object atomically, refusing if it already exists (the commit point).

        Of concurrent writers of one `rel`, exactly one succeeds; the others get a
        VersionExistsError. (S3 answers a conditional PUT racing another one for the same key
        with 409 ConditionalRequestConflict, "retry": it is retried, and then either lands or
        finds the object.)"""
        if not self.is_local:
            for attempt in range(1, CONDITIONAL_PUT_ATTEMPTS + 1):
                try:
                    self.fs.pipe_file(self.path(rel), data, mode="create")
                    return
                except FileExistsError as exc:
                    raise VersionExistsError(f"{self.url(rel)} already exists.") from exc
                except OSError as exc:
                    if attempt == CONDITIONAL_PUT_ATTEMPTS or not _conditional_conflict(exc):
                        raise
                    time.sleep(random.uniform(0, CONDITIONAL_PUT_BACKOFF_SECONDS * attempt))
            return
        target = self.local_path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = temporary_beside(target)
        temp.write_bytes(data)
        try:
            os.link(temp, target)  # atomic create-if-absent, unlike os.replace
        except FileExistsError as exc:
            raise VersionExistsError(f"{target} already exists.") from exc
        finally:
            temp.unlink()

    def put_file_kept(self, local: Path, rel: str) -> None:
        """Put a local scratch file (one of `scratch_dir()`'s) into the store and keep it, so
        that a commit that has to be retried (its version name taken by a concurrent ingest)
        can put it again elsewhere: a hard link on a local store (no bytes copied; the scratch
        name goes with its folder, the stored file is never changed), an upload on S3."""
        if not self.is_local:
            self.fs.put_file(str(local), self.path(rel))
            return
        target = self.local_path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(local, target)
        except OSError:  # another filesystem, or links not supported
            shutil.copyfile(local, target)

    def put_file(self, local: Path, rel: str, *, move: bool = False) -> None:
        """Copy (or, on a local store, move) a local file into the store."""
        if not self.is_local:
            self.fs.put_file(str(local), self.path(rel))
            return
        target = self.local_path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(local, target)
        else:
            shutil.copyfile(local, target)

    def remove_folder(self, rel: str) -> None:
        """Delete an uncommitted work folder; never used on a committed version."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self.path(rel), recursive=True)

    @contextlib.contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        """A local temporary folder, on the same disk as a local store so moves are renames.
        It holds this process's lease (`.writer.json`), so that the scratch folders of killed
        runs are told from live ones and removed: here, before a new one is made."""
        parent = self.scratch_parent()
        parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_scratch(parent, shared=not self.is_local)
        folder = Path(tempfile.mkdtemp(dir=parent, prefix=SCRATCH_PREFIX))
        (folder / LEASE_FILE).write_bytes(new_lease("scratch").to_json())
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def scratch_parent(self) -> Path:
        """Where scratch folders are made: `.tmp` in a local store, else the system's temp."""
        if self.is_local:
            return self.local_path(SCRATCH_FOLDER)
        return Path(tempfile.gettempdir())

    # -- engines ---------------------------------------------------------------------------

    def register_in_duckdb(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB read s3:// paths of this store through fsspec (no httpfs needed)."""
        if not self.is_local:
            con.register_filesystem(self.fs)

    def delta_storage_options(self) -> dict[str, str]:
        """Options for deltalake to reach this store."""
        if self.is_local:
            return {}
        options = {
            "AWS_ACCESS_KEY_ID": self.s3.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret_access_key,
            "AWS_REGION": self.s3.region or "us-east-1",
            "AWS_ENDPOINT_URL": self.s3.endpoint_url,
            "AWS_ALLOW_HTTP": "true" if self.s3.allow_http else None,
        }
        return {key: value for key, value in options.items() if value}
