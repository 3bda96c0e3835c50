"""Publishing and packaging under races, damage and hostile values (issue 13: D2, D4, W2, S2).

- D2: concurrent publishes (and promotes) of one version: one wins, the others say so in one
  sentence and never touch what the winner wrote.
- D4: a published version, and its promoted copy, are independent copies of the build's files
  (not hard links), checked against their checksums after copying.
- W2: `lake package` checks the published files' checksums before packaging.
- S2: text that a spreadsheet would run as a formula is neutralised in csv and xlsx packages.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import socket
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.errors import IntegrityError, PackageError, PublishError, VersionExistsError
from lakehouse.project import Lakehouse
from lakehouse.publish.publish import (
    CLAIM_FILE,
    latest_version,
    promote,
    publish_build,
    published_output,
)
from lakehouse.store.storage import Store
from tests.projects import DATASETS, pluto_lite_project

FORMULAS = [
    '=HYPERLINK("http://evil.example/x","click me")',
    "=1+2",
    "@SUM(1,2)",
    "+1-2",
    "-2+3",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    """PLUTO-lite with a few owner names that a spreadsheet would take for formulas, built
    with a QA report, not published."""
    folder = tmp_path_factory.mktemp("safety") / "p"
    lake = pluto_lite_project(folder, lots=120, seed=7)
    source = folder / "data" / "pluto_lite" / "dof_pts.csv"
    rows = list(csv.DictReader(io.StringIO(source.read_text())))
    for row, formula in zip(rows[::7], FORMULAS, strict=False):
        row["owner_name"] = formula
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    source.write_text(out.getvalue())
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    return lake


def stored(lake: Lakehouse, rel: str) -> Path:
    return Path(lake.store.root) / rel


def flip_a_byte(path: Path) -> None:
    """Change one byte of a file in place (the same inode, as a stray write would)."""
    with open(path, "r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, io.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once, one thread each; each one's result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = calls[index]()
        except BaseException as exc:  # the outcome under test
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def assert_intact(store: Store, product: str, version: str) -> None:
    """The version is committed with every file its publish.json names, whole."""
    from lakehouse.publish.publish import read_published

    entry = read_published(store, product, version)
    folder = f"publish/{product}/{version}"
    for output in entry.outputs.values():
        assert store.exists(f"{folder}/{output.path}"), f"{version}: {output.path} is missing"
        assert store.sha256(f"{folder}/{output.path}")[0] == output.sha256
    assert [f for f in store.list_files(folder) if "/." in f] == []  # no claim left behind


# -- D2: concurrent publishes of one version --------------------------------------------------


def test_concurrent_publishes_of_one_version_leave_the_winner_intact(lake: Lakehouse) -> None:
    """Two (then three) publishes of the same version at once, 24 times: each time exactly one
    publishes, the others say in one sentence that another run just published it, and the
    version is whole with latest.json on it (before: SameFileError, and the loser's clean-up
    deleted the winner's outputs 1 time in 20-30)."""
    build_id = lake.builds("pluto_lite")[0].build_id
    root = lake.store.root
    for trial in range(24):
        version = f"24v{trial + 1}"
        writers = 2 if trial % 3 else 3
        outcomes = race(
            [lambda v=version: publish_build(Store(root), "pluto_lite", build_id, v)] * writers
        )
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1, f"trial {trial}: {outcomes}"
        for exc in lost:
            assert isinstance(exc, VersionExistsError), f"trial {trial}: {exc!r}"
            assert re.fullmatch(
                rf"pluto_lite {version} (was just published by another run|is already "
                rf"published) \(build {build_id}\)[,;] [^.]*\.",
                str(exc).replace("e.g.", "eg"),
            ), str(exc)
        assert won[0].version == version
        assert_intact(lake.store, "pluto_lite", version)
        assert latest_version(lake.store, "pluto_lite") == version
    assert lake.verify().ok


def test_a_publish_that_finds_another_run_writing_the_version_waits_and_says_so(
    lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lake publish --version V` while another run is still writing V (its copies slowed
    down): it waits, touches nothing, and ends with one sentence, exit 1 (before: it wrote
    into the same folder, `Unexpected error: SameFileError`, and removed the other's files)."""
    build_id = lake.builds("pluto_lite")[0].build_id
    root = lake.store.root
    real_copy = Store.copy
    copying = threading.Event()

    def slow_copy(self: Store, source_rel: str, target_rel: str) -> None:
        copying.set()
        time.sleep(0.2)
        real_copy(self, source_rel, target_rel)

    monkeypatch.setattr(Store, "copy", slow_copy)
    winner = threading.Thread(
        target=publish_build, args=(Store(root), "pluto_lite", build_id, "23v1")
    )
    winner.start()
    assert copying.wait(30)
    config = str(Path(root).parent / "lakehouse.toml")
    result = CliRunner().invoke(
        app, ["--config", config, "publish", "pluto_lite", "--version", "23v1"],
        env={"COLUMNS": "400"},
    )  # fmt: skip
    winner.join(timeout=60)
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert f"pluto_lite 23v1 was just published by another run (build {build_id})" in line
    assert "Unexpected" not in line
    assert_intact(lake.store, "pluto_lite", "23v1")
    assert latest_version(lake.store, "pluto_lite") == "23v1"


def test_a_publish_waits_for_a_live_claim_and_takes_a_dead_one_over(
    lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim whose writer is alive is waited for, then named, nothing touched; a claim (of
    the old shape, too) left by a process that is gone (killed) is taken over: what that run
    wrote is removed and the version published, without a person."""
    from lakehouse.publish import publish as publishing

    build_id = lake.builds("pluto_lite")[0].build_id
    claim = stored(lake, f"publish/pluto_lite/22v1/{CLAIM_FILE}")
    claim.parent.mkdir(parents=True)
    live = {"writer": "x", "command": "publish", "host": socket.gethostname(),
            "pid": os.getpid(), "claimed_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    claim.write_text(json.dumps(live))
    half_copied = claim.parent / "outputs" / "pluto_lite.parquet"
    half_copied.parent.mkdir()
    half_copied.write_bytes(b"PAR1 half")
    monkeypatch.setattr(publishing, "CLAIM_WAIT_SECONDS", 0.3)
    with pytest.raises(PublishError, match=r"is being published by another run \(`lake publish` "):
        publish_build(lake.store, "pluto_lite", build_id, "22v1")
    assert claim.is_file() and half_copied.read_bytes() == b"PAR1 half"
    assert lake.published("pluto_lite")[-1].version != "22v1"
    claim.write_text(json.dumps(live | {"pid": 2**22 + 12345}))  # above pid_max: no such process
    entry = publish_build(lake.store, "pluto_lite", build_id, "22v1")
    assert entry.version == "22v1" and not claim.exists()
    assert_intact(lake.store, "pluto_lite", "22v1")


def test_concurrent_promotes_of_one_version_leave_the_winner_intact(lake: Lakehouse) -> None:
    """The same for promote: two copies of one version into prod at once, 12 times."""
    build_id = lake.builds("pluto_lite")[0].build_id
    publish_build(lake.store, "pluto_lite", build_id, "21v1")
    root = lake.store.root
    for trial in range(12):
        prod = f"{root}/race{trial}"
        outcomes = race(
            [lambda p=prod: promote(Store(root), Store(p), "pluto_lite", "21v1", "default")] * 2
        )
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1 and len(lost) == 1, f"trial {trial}: {outcomes}"
        assert isinstance(lost[0], VersionExistsError), f"trial {trial}: {lost[0]!r}"
        assert re.search(r"was just published by another run|is already published", str(lost[0]))
        assert_intact(Store(prod), "pluto_lite", "21v1")
        assert latest_version(Store(prod), "pluto_lite") == "21v1"


# -- D4: published versions are independent copies ---------------------------------------------


def test_a_published_version_and_its_promoted_copy_are_independent_copies(
    lake: Lakehouse,
) -> None:
    """Flipping a byte of the build's output damages neither the published version nor the
    prod copy (before: all three were one file, hard links)."""
    entry = lake.publish("pluto_lite", "25v1")
    prod = lake.promote("pluto_lite", "25v1", "prod")
    prod_store = Lakehouse(lake.config.for_env("prod")).store
    built = stored(lake, f"builds/pluto_lite/{entry.build_id}/outputs/pluto_lite.parquet")
    published = stored(lake, published_output("pluto_lite", "25v1", "pluto_lite"))
    promoted = Path(prod_store.root) / published_output("pluto_lite", "25v1", "pluto_lite")
    for path in (built, published, promoted):
        assert path.stat().st_nlink == 1
    assert len({built.stat().st_ino, published.stat().st_ino, promoted.stat().st_ino}) == 3
    for folder in (published.parents[1], promoted.parents[1]):  # every file, not just outputs
        assert all(p.stat().st_nlink == 1 for p in folder.rglob("*") if p.is_file())
    digest = entry.outputs["outputs/pluto_lite"].sha256
    assert prod.outputs["outputs/pluto_lite"].sha256 == digest
    original = built.read_bytes()
    try:
        flip_a_byte(built)
        assert hashlib.sha256(published.read_bytes()).hexdigest() == digest
        assert hashlib.sha256(promoted.read_bytes()).hexdigest() == digest
        flip_a_byte(published)
        assert hashlib.sha256(promoted.read_bytes()).hexdigest() == digest
    finally:
        built.write_bytes(original)
        published.write_bytes(original)
    assert lake.verify().ok


def test_a_copy_that_does_not_match_its_checksum_publishes_nothing(
    lake: Lakehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy whose bytes differ from the build's recorded checksum (a damaged copy, or a
    build file changed since) stops the publish and leaves nothing; the same for promote."""
    build_id = lake.builds("pluto_lite")[0].build_id
    real_copy = Store.copy

    def damaging_copy(self: Store, source_rel: str, target_rel: str) -> None:
        real_copy(self, source_rel, target_rel)
        if target_rel.endswith(".parquet"):
            flip_a_byte(self.local_path(target_rel))

    latest = latest_version(lake.store, "pluto_lite")
    with monkeypatch.context() as patched:
        patched.setattr(Store, "copy", damaging_copy)
        with pytest.raises(IntegrityError, match=r"does not match the checksum"):
            publish_build(lake.store, "pluto_lite", build_id, "20v1")
    assert not stored(lake, "publish/pluto_lite/20v1").exists()
    assert latest_version(lake.store, "pluto_lite") == latest

    publish_build(lake.store, "pluto_lite", build_id, "20v2")
    prod = Store(f"{lake.store.root}/damaged-prod")
    real_put = Store.put_file

    def damaging_put(self: Store, local: Path, rel: str, *, move: bool = False) -> None:
        real_put(self, local, rel, move=move)
        if rel.endswith(".parquet"):
            flip_a_byte(self.local_path(rel))

    with monkeypatch.context() as patched:
        patched.setattr(Store, "put_file", damaging_put)
        with pytest.raises(IntegrityError, match=r"differs from the published file"):
            promote(lake.store, prod, "pluto_lite", "20v2", "default")
    assert prod.list_files("publish") == []


# -- W2: packages check the published checksums -------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv", "xlsx"])
def test_a_published_file_changed_after_publishing_is_not_packaged(
    lake: Lakehouse, tmp_path: Path, fmt: str
) -> None:
    """A published output replaced by another valid Parquet file (292 changed rows went into a
    CSV zip before) or removed: the package is refused in one sentence naming the file and
    `lake verify`, and no zip is written."""
    version = {"parquet": "19v1", "csv": "19v2", "xlsx": "19v3"}[fmt]
    lake.publish("pluto_lite", version)
    path = stored(lake, published_output("pluto_lite", version, "pluto_lite"))
    table = pq.read_table(path)
    changed = table.set_column(
        table.schema.get_field_index("numfloors"),
        "numfloors",
        pa.array([99.0] * table.num_rows, table.schema.field("numfloors").type),
    )
    pq.write_table(changed, path)
    out = tmp_path / "x.zip"
    with pytest.raises(PackageError) as raised:
        lake.package("pluto_lite", version, fmt, out)
    message = str(raised.value)
    assert f"publish/pluto_lite/{version}/outputs/pluto_lite.parquet" in message
    assert "`lake verify`" in message and message.count(". ") == 0
    assert not out.exists() and not list(tmp_path.iterdir())
    path.unlink()
    with pytest.raises(PackageError, match=r"outputs/pluto_lite.parquet is missing"):
        lake.package("pluto_lite", version, fmt, out)


# -- S2: formula injection -------------------------------------------------------------------

DANGEROUS = [*FORMULAS, "\tcmd", "\r=1+2", "=cmd|' /C calc'!A0"]
HARMLESS = ["plain", "-5", "+3.25", "a=b", "", None]


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Store, Any, dict[str, str]]:
    """A published-like version whose text column holds formulas, beside numbers (negative
    ones too) and harmless text."""
    from lakehouse.publish.records import PublishRecord

    store = Store(str(tmp_path / "store"))
    rel = "publish/notes/25v1/outputs/notes.parquet"
    path = store.local_path(rel)
    path.parent.mkdir(parents=True)
    texts = DANGEROUS + HARMLESS
    n = len(texts)
    pq.write_table(
        pa.table({
            "id": list(range(n)),
            "note": texts,
            "delta": [-(i + 1) for i in range(n)],
            "ratio": [-0.5 * i for i in range(n)],
        }),
        path,
    )  # fmt: skip
    digest, size = store.sha256(rel)
    entry = PublishRecord.model_validate({
        "product": "notes", "version": "25v1", "build_id": "b",
        "published_at": "2026-11-24T10:00:00+00:00", "git": {"commit": None, "dirty": None},
        "lock": {"product": "notes", "locked_at": "2026-11-24T09:00:00Z", "inputs": {}},
        "inputs": {}, "qa": [], "packages": {},
        "contracts": {"summary": "none", "seconds": 0, "failed": [], "stopped_at": None},
        "outputs": {"outputs/notes": {"path": "outputs/notes.parquet", "rows": n, "bytes": size,
                                      "sha256": digest, "content_sha256": "y"}},
    })  # fmt: skip
    return store, entry, {"notes": rel}


def package_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_csv_package_neutralises_formulas(
    hostile: tuple[Store, Any, dict[str, str]], tmp_path: Path
) -> None:
    """Text starting with = + - @ tab or CR gets a leading apostrophe (OWASP); numbers, and
    text that is a plain number, are left alone; the README says so."""
    import duckdb

    from lakehouse.publish.package import build_package

    store, entry, outputs = hostile
    made = build_package(duckdb.connect(), store, entry, outputs, None, "csv", tmp_path / "a.zip")
    files = package_members(made.path)
    rows = list(csv.DictReader(io.StringIO(files["notes-25v1/data/notes.csv"].decode())))
    notes = [row["note"] for row in rows]
    assert notes == [f"'{t}" for t in DANGEROUS] + ["plain", "-5", "+3.25", "a=b", "", ""]
    assert [row["delta"] for row in rows] == [str(-(i + 1)) for i in range(len(rows))]
    assert rows[3]["ratio"] == "-1.5"
    readme = files["notes-25v1/README.md"].decode()
    assert "notes: 8 text values that a spreadsheet would take for formulas were prefixed" in readme
    assert "## Formulas" in readme and "OWASP" in readme


def test_an_xlsx_package_writes_formulas_as_text(
    hostile: tuple[Store, Any, dict[str, str]], tmp_path: Path
) -> None:
    """In xlsx every text is a text cell (a value starting with = too, never a formula), the
    dangerous ones marked with Excel's quote prefix so editing them keeps them text; numbers
    stay numbers, negative ones too."""
    import duckdb
    from openpyxl import load_workbook

    from lakehouse.publish.package import build_package

    store, entry, outputs = hostile
    made = build_package(duckdb.connect(), store, entry, outputs, None, "xlsx", tmp_path / "a.zip")
    files = package_members(made.path)
    data = files["notes-25v1/data/notes.xlsx"]
    with zipfile.ZipFile(io.BytesIO(data)) as workbook_zip:
        sheet_xml = workbook_zip.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    sheet = load_workbook(io.BytesIO(data))["notes"]
    rows = list(sheet.iter_rows(min_row=2))
    for row, text in zip(rows, DANGEROUS, strict=False):
        # (an XML reader reads a bare carriage return as a line feed)
        assert (row[1].value, row[1].data_type) == (text.replace("\r", "\n"), "s")
        assert row[1].quotePrefix
    assert [r[2].value for r in rows] == [-(i + 1) for i in range(len(rows))]
    assert all(r[2].data_type == "n" and r[3].data_type == "n" for r in rows)
    assert rows[len(DANGEROUS)][1].value == "plain" and not rows[len(DANGEROUS)][1].quotePrefix
    readme = files["notes-25v1/README.md"].decode()
    assert (
        "notes: 8 text values that a spreadsheet would take for formulas were written as text"
        in readme
    )
    assert "## Formulas" in readme and "quote prefix" in readme


def test_a_source_value_that_is_a_formula_stays_text_in_every_package(
    lake: Lakehouse, tmp_path: Path
) -> None:
    """End to end: owner names written as formulas in the source come out as text in csv and
    xlsx packages of the published product."""
    from openpyxl import load_workbook

    version = "18v1"
    lake.publish("pluto_lite", version)
    top = f"pluto_lite-{version}"
    csv_files = package_members(lake.package("pluto_lite", version, "csv", tmp_path).path)
    rows = list(csv.DictReader(io.StringIO(csv_files[f"{top}/data/pluto_lite.csv"].decode())))
    owners = {row["ownername"] for row in rows}
    upper = [f.upper() for f in FORMULAS]
    assert {f"'{f}" for f in upper} <= owners
    assert not [o for o in owners if o[:1] in ("=", "+", "-", "@")]
    xlsx_files = package_members(lake.package("pluto_lite", version, "xlsx", tmp_path).path)
    data = xlsx_files[f"{top}/data/pluto_lite.xlsx"]
    with zipfile.ZipFile(io.BytesIO(data)) as workbook_zip:
        assert "<f>" not in workbook_zip.read("xl/worksheets/sheet1.xml").decode()
    sheet = load_workbook(io.BytesIO(data), read_only=True)["pluto_lite"]
    header, *values = list(sheet.iter_rows(values_only=True))
    column = header.index("ownername")
    assert set(upper) <= {row[column] for row in values}


def test_concurrent_publishes_of_one_version_on_s3_leave_the_winner_intact(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    """The same race on an S3 store (moto's server): the claim is a conditional PUT, and the
    loser waits for the winner's commit and says so."""
    from tests.projects import s3_project

    lake = s3_project(tmp_path / "p", s3_endpoint, s3_bucket, lots=300)
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    build_id = lake.builds("pluto_lite")[0].build_id
    root, settings = lake.store.root, lake.store.s3
    for trial in range(6):
        version = f"24v{trial + 1}"
        outcomes = race(
            [lambda v=version: publish_build(Store(root, settings), "pluto_lite", build_id, v)] * 2
        )
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1 and len(lost) == 1, f"trial {trial}: {outcomes}"
        assert isinstance(lost[0], VersionExistsError), f"trial {trial}: {lost[0]!r}"
        assert_intact(lake.store, "pluto_lite", version)
        assert latest_version(lake.store, "pluto_lite") == version


def test_a_claim_is_a_typed_record() -> None:
    """`.claim.json` (a writer lease) reads back as it was written, a claim of the first shape
    is upgraded, and a damaged one is refused naming it."""
    from datetime import UTC, datetime

    from lakehouse.store.lease import Lease, new_lease

    claim = new_lease("publish")
    assert Lease.from_json(claim.to_json(), "c") == claim
    first = b'{"writer": "ab", "command": "publish", "host": "h", "pid": 4, "claimed_at": ' \
        b'"2026-01-01T00:00:00Z", "schema_version": 1}'  # fmt: skip
    upgraded = Lease.from_json(first, "c")
    assert upgraded.heartbeat_at == upgraded.started_at == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(IntegrityError, match=r"x/\.claim\.json is not a valid writer lease"):
        Lease.from_json(b'{"writer": "ab12"}', "x/.claim.json")
