"""Killing an ingest midway leaves nothing that a reader or `lake versions` takes for a version."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lakehouse.project import Lakehouse
from tests import fakes
from tests.conftest import write_template

CSV = b"bbl,owner\n" + b"".join(b"%d,OWNER %d\n" % (1000010000 + i, i) for i in range(20000))


def _lake_cli(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", *args],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_no_version_and_recovers(lake: Lakehouse, project_dir: Path) -> None:
    assert lake.versions("lots") == []
    listed = _lake_cli(project_dir, "versions", "lots")
    assert "no archived versions yet" in listed.stdout
    report = lake.verify()
    assert report.ok
    manifests = list(Path(lake.store.root).rglob("manifest.json"))
    assert manifests == []


def test_killing_the_cli_mid_download_archives_nothing(lake: Lakehouse, project_dir: Path) -> None:
    with fakes.FileServer() as files:
        url = files.add("/lots.csv", CSV, content_type="text/csv")
        files.set_fault(
            "/lots.csv", fakes.slow_body(first_bytes=len(CSV) // 2, then_hang_seconds=30)
        )
        write_template(
            project_dir,
            "lots",
            f"name: lots\nsource: {{type: http, url: '{url}'}}\nformat: {{type: csv}}\n",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "lakehouse.cli", "ingest", "lots"],
            cwd=project_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not list(Path(lake.store.root).rglob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(Path(lake.store.root).rglob("*.part")), "the download never started"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        _assert_no_version_and_recovers(lake, project_dir)
        files.set_fault("/lots.csv", None)
        manifest = lake.ingest("lots").manifest
    assert manifest.row_count == 20000
    assert lake.verify().ok


def test_a_kill_between_storing_files_and_the_manifest_leaves_no_version(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "lots.csv"
    source.write_bytes(CSV)
    # A real SIGKILL of the ingesting process, at the moment the original bytes are already in
    # the store and the data and manifest are not: the worst place for a crash.
    script = textwrap.dedent(
        f"""
        import os, signal
        import lakehouse

        def die_while_storing(task, done, total=None):
            if task == "storing data":
                os.kill(os.getpid(), signal.SIGKILL)

        lake = lakehouse.open({str(project_dir / "lakehouse.toml")!r})
        lake.ingest("lots", file={str(source)!r}, progress=die_while_storing)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGKILL
    stored_originals = list((Path(lake.store.root) / "raw" / "lots").rglob("source/lots.csv"))
    assert len(stored_originals) == 1  # the kill really landed mid-commit
    _assert_no_version_and_recovers(lake, project_dir)
    leftovers = lake.verify().leftover_paths
    run_folder = str(stored_originals[0].parents[1].relative_to(lake.store.root))
    assert leftovers[0] == run_folder
    assert len(leftovers) == 2 and leftovers[1].startswith(".tmp/")  # the dead run's scratch
    manifest = lake.ingest("lots", file=source).manifest
    assert manifest.row_count == 20000
    assert [m.version for m in lake.versions("lots")] == [manifest.version]
    assert lake.read("lots").num_rows == 20000
