"""Concurrent ingests of one dataset, on a local store and on S3 (moto on 127.0.0.1): every
writer lands or dedupes, exact counts, and no writer ever removes what another committed.

Writers are real threads (and, once, real processes) that all stop at the same point of the
commit ("storing data": after the version name is chosen, before any data or manifest is
written), so every run races for the same name and the same Delta version, deterministically.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import lakehouse.archive.archive as archive_module
from lakehouse.archive.archive import IngestResult
from lakehouse.config import LakehouseConfig, S3Settings, StoreSettings
from lakehouse.errors import VersionExistsError
from lakehouse.project import Lakehouse
from lakehouse.store.storage import Store
from tests.conftest import write_template
from tests.fakes.s3 import create_bucket

BARRIER_SECONDS = 20.0
VERSION_NAME = re.compile(r"^(?P<date>\d{8})(-(?P<n>\d+))?$")


@pytest.fixture
def atomic_moto_puts() -> Iterator[None]:
    """moto checks `If-None-Match: *` and then stores the object in two steps, so two
    concurrent conditional PUTs of one key can both succeed; S3 itself decides atomically.
    Make moto's PUT atomic too (the server runs in this process), or a race test would test
    moto."""
    from moto.s3.responses import S3Response

    original = S3Response.put_object
    lock = threading.Lock()

    def put_object(self: S3Response) -> Any:
        with lock:
            return original(self)

    S3Response.put_object = put_object  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Response.put_object = original  # type: ignore[method-assign]


@pytest.fixture(params=["local", "s3"])
def config(request: pytest.FixtureRequest, project_dir: Path) -> LakehouseConfig:
    """A project whose store is a local folder, or a prefix in a fresh bucket on moto."""
    if request.param == "local":
        return LakehouseConfig(project_dir=project_dir, store=StoreSettings(root=".lakehouse"))
    request.getfixturevalue("atomic_moto_puts")
    endpoint = request.getfixturevalue("s3_endpoint")
    # a bucket of its own (conftest's names buckets by test name, cut to 40 characters: the
    # variants of one test here would share one)
    bucket = create_bucket(endpoint, f"lake-{uuid.uuid4().hex[:12]}")
    store = StoreSettings(root=f"s3://{bucket}/lake", s3=S3Settings(endpoint_url=endpoint))
    return LakehouseConfig(project_dir=project_dir, store=store)


def _template(project_dir: Path, storage: str) -> None:
    write_template(
        project_dir,
        "d",
        f"name: d\nsource: {{type: file, path: unused.csv}}\nformat: {{type: csv}}\n"
        f"storage: {storage}\n",
    )


def _sources(folder: Path, count: int, *, same: bool = False) -> list[Path]:
    """`count` CSV files: with different rows each, or all the same bytes."""
    paths = []
    for index in range(count):
        path = folder / f"d{index}.csv"
        rows = "".join(f"{row},writer {0 if same else index}\n" for row in range(5))
        path.write_text(f"id,who\n{rows}", encoding="utf-8")
        paths.append(path)
    return paths


def _waiting_at_the_commit(barrier: threading.Barrier) -> Callable[..., None]:
    """A progress callback that holds the writer once, where it starts storing its data."""
    waited = False

    def progress(task: str, done: int, total: int | None = None) -> None:
        nonlocal waited
        if task == "storing data" and not waited:
            waited = True
            barrier.wait()

    return progress


def _ingest_concurrently(
    config: LakehouseConfig, files: list[Path], version: str | None = None
) -> list[IngestResult | BaseException]:
    """Ingest each file into dataset `d` from its own thread (its own Lakehouse), all at once."""
    barrier = threading.Barrier(len(files), timeout=BARRIER_SECONDS)

    def ingest(path: Path) -> IngestResult:
        lake = Lakehouse(config)
        return lake.ingest(
            "d", file=path, version=version, progress=_waiting_at_the_commit(barrier)
        )

    with ThreadPoolExecutor(len(files)) as pool:
        futures = [pool.submit(ingest, path) for path in files]
        return [future.exception() or future.result() for future in futures]


def _described(results: list[IngestResult | BaseException]) -> str:
    """What each writer got, with the traceback of each failure (for a failed assertion)."""
    return "\n".join(
        "".join(traceback.format_exception(result))
        if isinstance(result, BaseException)
        else f"{result.status} {result.version}"
        for result in results
    )


def _assert_same_day_names(names: list[str], count: int) -> None:
    """`count` distinct names: per run date (one, unless the test ran over midnight UTC) the
    date, then -2, -3... with none missing."""
    assert len(names) == count, names
    by_day: dict[str, list[str]] = {}
    for name in names:
        match = VERSION_NAME.match(name)
        assert match, names
        by_day.setdefault(match["date"], []).append(name)
    for day, named in by_day.items():
        expected = [day] + [f"{day}-{n}" for n in range(2, len(named) + 1)]
        assert sorted(named) == sorted(expected), names


def _assert_clean(lake: Lakehouse) -> None:
    report = lake.verify()
    assert report.corrupt == []
    assert [f for f in report.leftover_paths if not f.startswith(".tmp/")] == []


# -- Delta: the loser of a race must never remove what the winner committed (D1) -------------


@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_first_delta_ingests_of_the_same_bytes_keep_the_winners_data(
    config: LakehouseConfig, tmp_path: Path, writers: int
) -> None:
    _template(config.project_dir, "delta")
    results = _ingest_concurrently(config, _sources(tmp_path, writers, same=True))
    assert all(isinstance(r, IngestResult) for r in results), _described(results)
    statuses = sorted(r.status for r in results if isinstance(r, IngestResult))
    assert statuses == ["archived"] + ["unchanged"] * (writers - 1)
    assert {r.version for r in results if isinstance(r, IngestResult)} == {results[0].version}  # type: ignore[union-attr]
    lake = Lakehouse(config)
    (version,) = lake.versions("d")
    assert lake.read("d", version.version).column("who").to_pylist() == ["writer 0"] * 5
    _assert_clean(lake)
    # and the dataset keeps working: the next ingest lands beside it
    later = tmp_path / "later.csv"
    later.write_text("id,who\n1,later\n", encoding="utf-8")
    assert lake.ingest("d", file=later).status == "archived"
    assert len(lake.versions("d")) == 2
    assert lake.read("d", version.version).column("who").to_pylist() == ["writer 0"] * 5
    _assert_clean(lake)


def test_concurrent_first_delta_ingests_of_different_bytes_all_land(
    config: LakehouseConfig, tmp_path: Path
) -> None:
    writers = 4
    _template(config.project_dir, "delta")
    results = _ingest_concurrently(config, _sources(tmp_path, writers))
    assert [r.status for r in results if isinstance(r, IngestResult)] == ["archived"] * writers, (
        _described(results)
    )
    lake = Lakehouse(config)
    versions = lake.versions("d")
    _assert_same_day_names([m.version for m in versions], writers)
    assert len({m.delta_version for m in versions}) == writers
    for result in results:
        assert isinstance(result, IngestResult)
        who = lake.read("d", result.version).column("who").to_pylist()
        assert who == [f"writer {results.index(result)}"] * 5
    _assert_clean(lake)


def test_concurrent_delta_ingests_with_one_fixed_name_leave_the_winner_intact(
    config: LakehouseConfig, tmp_path: Path
) -> None:
    """`--version V` from several writers with different data: one V, the others refused in one
    sentence, their Delta commits undone without touching the winner's."""
    writers = 3
    _template(config.project_dir, "delta")
    results = _ingest_concurrently(config, _sources(tmp_path, writers), version="v1")
    archived = [r for r in results if isinstance(r, IngestResult)]
    refused = [r for r in results if isinstance(r, VersionExistsError)]
    assert len(archived) == 1 and len(refused) == writers - 1, results
    assert all("already archived with different content" in str(r) for r in refused)
    lake = Lakehouse(config)
    assert [m.version for m in lake.versions("d")] == ["v1"]
    winner = results.index(archived[0])
    assert lake.read("d", "v1").column("who").to_pylist() == [f"writer {winner}"] * 5
    _assert_clean(lake)


# -- Parquet: every concurrent ingest lands, with the next same-day name ----------------------


def test_concurrent_parquet_ingests_of_different_bytes_all_land(
    config: LakehouseConfig, tmp_path: Path
) -> None:
    # each round of the race lands one name and sends the rest round again: N(N+1)/2 commits,
    # each a few requests to moto, which shares this process's interpreter with the writers
    writers = 5 if config.store.root.startswith("s3://") else 8
    _template(config.project_dir, "parquet")
    results = _ingest_concurrently(config, _sources(tmp_path, writers))
    assert [r.status for r in results if isinstance(r, IngestResult)] == ["archived"] * writers, (
        _described(results)
    )
    lake = Lakehouse(config)
    versions = lake.versions("d")
    assert len(versions) == writers
    _assert_same_day_names([m.version for m in versions], writers)
    for index, result in enumerate(results):
        assert isinstance(result, IngestResult)
        assert lake.read("d", result.version).column("who").to_pylist() == [f"writer {index}"] * 5
    _assert_clean(lake)


def test_two_dozen_concurrent_ingests_all_land(project_dir: Path, tmp_path: Path) -> None:
    """The attack's 80 writers, scaled to the test's time: every one lands, each name once."""
    writers = 24
    config = LakehouseConfig(project_dir=project_dir)
    _template(project_dir, "parquet")
    results = _ingest_concurrently(config, _sources(tmp_path, writers))
    assert [r.status for r in results if isinstance(r, IngestResult)] == ["archived"] * writers, (
        _described(results)
    )
    lake = Lakehouse(config)
    _assert_same_day_names([m.version for m in lake.versions("d")], writers)
    _assert_clean(lake)


def test_concurrent_parquet_ingests_of_the_same_bytes_dedupe_to_one_version(
    config: LakehouseConfig, tmp_path: Path
) -> None:
    writers = 6
    _template(config.project_dir, "parquet")
    results = _ingest_concurrently(config, _sources(tmp_path, writers, same=True))
    assert all(isinstance(r, IngestResult) for r in results), _described(results)
    statuses = sorted(r.status for r in results if isinstance(r, IngestResult))
    assert statuses == ["archived"] + ["unchanged"] * (writers - 1)
    lake = Lakehouse(config)
    assert len(lake.versions("d")) == 1
    _assert_clean(lake)


def test_a_name_lost_too_many_times_archives_nothing_and_says_so(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retries are bounded: a writer that loses every name it tries stops with one sentence
    and leaves nothing behind (its run folders and its Delta commit undone)."""
    _template(project_dir, "delta")
    lake = Lakehouse(LakehouseConfig(project_dir=project_dir))
    (first,) = _sources(tmp_path, 1)
    lake.ingest("d", file=first)
    attempts = 0

    def always_taken(self: Store, rel: str, data: bytes) -> None:
        nonlocal attempts
        attempts += 1
        raise VersionExistsError(f"{rel} already exists.")

    monkeypatch.setattr(Store, "create_exclusive", always_taken)
    monkeypatch.setattr(archive_module, "NAME_BACKOFF_SECONDS", 0.0)  # nobody to wait for
    other = tmp_path / "other.csv"
    other.write_text("id,who\n1,other\n", encoding="utf-8")
    with pytest.raises(VersionExistsError, match="nothing was archived"):
        lake.ingest("d", file=other)
    monkeypatch.undo()
    assert attempts == archive_module.MAX_VERSION_ATTEMPTS
    assert len(lake.versions("d")) == 1
    _assert_clean(lake)
    from deltalake import DeltaTable

    table = DeltaTable(lake.store.url("raw/d/_delta"))
    assert table.to_pyarrow_table().column("who").to_pylist() == ["writer 0"] * 5


# -- real processes, as the CLI runs them ---------------------------------------------------


def test_concurrent_delta_ingests_in_separate_processes_all_land(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    """Four processes (not threads: no shared interpreter, fsspec or delta-rs state), held at
    the same point by a barrier of files."""
    writers = 4
    _template(project_dir, "delta")
    files = _sources(tmp_path, writers)
    gate = tmp_path / "gate"
    gate.mkdir()
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        import lakehouse

        index, writers = int(sys.argv[1]), int(sys.argv[2])
        gate, path = Path(sys.argv[3]), Path(sys.argv[4])
        waited = False

        def progress(task, done, total=None):
            global waited
            if task == "storing data" and not waited:
                waited = True
                (gate / str(index)).touch()
                deadline = time.monotonic() + 20
                while len(list(gate.iterdir())) < writers and time.monotonic() < deadline:
                    time.sleep(0.005)

        lake = lakehouse.open(Path("lakehouse.toml"))
        result = lake.ingest("d", file=path, progress=progress)
        print(result.status, result.version)
        """
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i), str(writers), str(gate), str(path)],
            cwd=project_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, path in enumerate(files)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0] * writers, outputs
    assert all(out.startswith("archived ") for out, _ in outputs), outputs
    versions = lake.versions("d")
    _assert_same_day_names([m.version for m in versions], writers)
    for index, (out, _) in enumerate(outputs):
        name = out.split()[1]
        assert lake.read("d", name).column("who").to_pylist() == [f"writer {index}"] * 5
    _assert_clean(lake)


# -- S3: a conditional PUT that raced another one (409) ---------------------------------------


def _conflict() -> OSError:
    """What s3fs raises when S3 answers 409 ConditionalRequestConflict ("try again")."""
    from botocore.exceptions import ClientError
    from s3fs.errors import translate_boto_error

    error = ClientError(
        {
            "Error": {
                "Code": "ConditionalRequestConflict",
                "Message": "A conflicting conditional operation is currently in progress "
                "against this resource. Please try again.",
            },
            "ResponseMetadata": {"HTTPStatusCode": 409},
        },
        "PutObject",
    )
    translated = translate_boto_error(error)
    assert isinstance(translated, OSError)
    return translated


def test_an_s3_conditional_put_that_raced_another_is_retried(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = create_bucket(s3_endpoint, f"lake-{uuid.uuid4().hex[:12]}")
    store = Store(f"s3://{bucket}/lake", S3Settings(endpoint_url=s3_endpoint))
    real_pipe = store.fs.pipe_file
    conflicts = 0

    def pipe_file(path: str, data: bytes, **kwargs: object) -> None:
        nonlocal conflicts
        if conflicts < 2:  # the other PUT is still in flight
            conflicts += 1
            raise _conflict()
        real_pipe(path, data, **kwargs)

    monkeypatch.setattr(store.fs, "pipe_file", pipe_file)
    store.create_exclusive("x/manifest.json", b"one")
    assert conflicts == 2
    assert store.read_bytes("x/manifest.json") == b"one"
    conflicts = 0  # the other PUT landed: ours is refused as taken, not as an error
    with pytest.raises(VersionExistsError):
        store.create_exclusive("x/manifest.json", b"two")
    assert store.read_bytes("x/manifest.json") == b"one"


def test_a_manifest_put_that_landed_before_it_failed_is_a_commit(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PUT retried after the first one landed finds the object there: when that object is
    our own manifest the version is committed, and its run folder must not be removed."""
    _template(project_dir, "parquet")
    real_create = Store.create_exclusive

    def landed_then_refused(self: Store, rel: str, data: bytes) -> None:
        real_create(self, rel, data)
        raise VersionExistsError(f"{rel} already exists.")

    monkeypatch.setattr(Store, "create_exclusive", landed_then_refused)
    (source,) = _sources(tmp_path, 1)
    result = lake.ingest("d", file=source)
    monkeypatch.undo()
    assert result.status == "archived"
    assert lake.read("d", result.version).num_rows == 5
    _assert_clean(lake)
