"""Where events go: a JSON lines file, an HTTP endpoint (a receiver on 127.0.0.1), or nowhere
(the default); a file or an endpoint that fails warns once and the run goes on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.config import load_config
from lakehouse.openlineage import LineageWarning
from lakehouse.openlineage.emit import URL_ENV_VAR, Emitter, FileTransport, open_emitter
from lakehouse.openlineage.events import job, new_run_id, now, run_event
from lakehouse.project import Lakehouse
from tests.fakes import hang, http_error
from tests.openlineage.conftest import LINEAGE_FILE, TO_FILE, kinds, make_prod, with_lineage
from tests.openlineage.receiver import LINEAGE_PATH, LineageReceiver
from tests.openlineage.validation import check_event
from tests.projects import REPO

PROD_EVENTS = [
    (kind, job_name)
    for job_name in ("ingest.numbers", "ingest.letters", "build.prod")
    for kind in ("START", "COMPLETE")
]


@pytest.fixture(autouse=True)
def no_url_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV_VAR, raising=False)


@pytest.fixture
def receiver() -> Iterator[LineageReceiver]:
    with LineageReceiver() as server:
        yield server


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def lineage_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, LineageWarning)]


def test_the_file_gets_one_json_line_per_event_after_what_it_had(tmp_path: Path) -> None:
    path = tmp_path / "events" / "lineage.jsonl"
    path.parent.mkdir()
    path.write_text('{"earlier": true}\n')
    run_id, build = new_run_id(), job("lakehouse", "build", "p")
    events = [run_event(kind, run_id, build, at=now()) for kind in ("START", "COMPLETE")]
    emitter = Emitter([FileTransport(path)])
    for event in events:
        emitter.emit(event)
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"earlier": True}, *events]
    assert all(check_event(json.loads(line)) for line in lines[1:])


@pytest.mark.parametrize("where", ["lakehouse.toml", URL_ENV_VAR])
def test_events_are_posted_to_the_endpoint(
    where: str,
    receiver: LineageReceiver,
    refused_url: str,
    project_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if where == URL_ENV_VAR:  # it replaces the file's url
        monkeypatch.setenv(URL_ENV_VAR, receiver.base_url)
        lake = with_lineage(project_dir, f'url = "{refused_url}"')
    else:
        lake = with_lineage(project_dir, f'url = "{receiver.base_url}"')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_prod(lake, project_dir, tmp_path).build("prod")
    assert lineage_warnings(caught) == []
    assert kinds(receiver.events) == PROD_EVENTS
    for event in receiver.events:
        check_event(event)
    posted = receiver.requests_to(LINEAGE_PATH, "POST")[0]
    assert posted.headers["content-type"] == "application/json"
    assert not (project_dir / LINEAGE_FILE).exists()


def test_a_refused_endpoint_warns_once_and_the_file_and_the_build_go_on(
    refused_url: str, project_dir: Path, tmp_path: Path
) -> None:
    lake = with_lineage(project_dir, f'{TO_FILE}\nurl = "{refused_url}"\ntimeout_seconds = 2')
    with pytest.warns(LineageWarning) as caught:
        make_prod(lake, project_dir, tmp_path)
        result = lake.build("prod")
    (said,) = lineage_warnings(list(caught))  # one for the Lakehouse: not per event or run
    assert f"could not be sent to {refused_url}/api/v1/lineage (ConnectError" in said
    assert [build.build_id for build in lake.builds("prod")] == [result.build_id]
    lines = (project_dir / LINEAGE_FILE).read_text().splitlines()
    assert kinds([json.loads(line) for line in lines]) == PROD_EVENTS


def test_an_endpoint_that_does_not_answer_in_time_is_given_up_once(
    receiver: LineageReceiver, project_dir: Path, csv_file: Path
) -> None:
    receiver.set_fault(LINEAGE_PATH, hang())
    lake = with_lineage(project_dir, f'url = "{receiver.base_url}"\ntimeout_seconds = 0.2')
    with pytest.warns(LineageWarning) as caught:
        result = lake.ingest("lots", file=csv_file)
    assert result.status == "archived"
    (said,) = lineage_warnings(list(caught))
    assert "ReadTimeout" in said
    assert len(receiver.requests_to(LINEAGE_PATH)) == 1  # COMPLETE was not tried


def test_an_error_status_warns_once(
    receiver: LineageReceiver, project_dir: Path, csv_file: Path
) -> None:
    receiver.set_fault(LINEAGE_PATH, http_error(500))
    lake = with_lineage(project_dir, f'url = "{receiver.base_url}"')
    with pytest.warns(LineageWarning) as caught:
        assert lake.ingest("lots", file=csv_file).status == "archived"
    (said,) = lineage_warnings(list(caught))
    assert "HTTPStatusError" in said and "500" in said
    assert len(receiver.requests_to(LINEAGE_PATH)) == 1


def test_a_file_that_cannot_be_written_warns_once(project_dir: Path, csv_file: Path) -> None:
    (project_dir / "blocker").write_text("a file, not a folder\n")
    lake = with_lineage(project_dir, 'file = "blocker/lineage.jsonl"')
    with pytest.warns(LineageWarning) as caught:
        assert lake.ingest("lots", file=csv_file).status == "archived"
    (said,) = lineage_warnings(list(caught))
    assert str(project_dir / "blocker" / "lineage.jsonl") in said


def test_lineage_is_off_by_default_and_writes_nothing(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    assert open_emitter(lake.config) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_prod(lake, project_dir, tmp_path).build("prod")
    assert lineage_warnings(caught) == []
    assert not list(project_dir.rglob("*.jsonl")) and not list(tmp_path.rglob("*.jsonl"))


def test_off_it_imports_none_of_what_describes_a_run(project_dir: Path, csv_file: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom lakehouse.config import load_config\n"
        "from lakehouse.project import Lakehouse\n"
        f"lake = Lakehouse(load_config(Path({str(project_dir / 'lakehouse.toml')!r})))\n"
        f"lake.ingest('lots', file=Path({str(csv_file)!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('lakehouse.openlineage.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=REPO,
    )
    loaded = [
        "lakehouse.openlineage.emit",
        "lakehouse.openlineage.events",
        "lakehouse.openlineage.observe",
    ]
    assert done.stdout.strip() == str(loaded)


def test_the_namespace_of_jobs_comes_from_lakehouse_toml(project_dir: Path, csv_file: Path) -> None:
    lake = with_lineage(project_dir, f'{TO_FILE}\nnamespace = "planning"')
    lake.ingest("lots", file=csv_file)
    assert load_config(project_dir / "lakehouse.toml").openlineage.namespace == "planning"
    lines = (project_dir / LINEAGE_FILE).read_text().splitlines()
    assert {json.loads(line)["job"]["namespace"] for line in lines} == {"planning"}
