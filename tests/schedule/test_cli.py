"""`lake status` and `lake update` on the command line: tables, exit codes for cron and CI,
and JSON."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse
from tests.conftest import write_template

runner = CliRunner()


@pytest.fixture
def fetched(
    lake: Lakehouse, project_dir: Path, csv_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Lakehouse:
    """A source fetched once, overdue a moment later (max_age of a third of a second)."""
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: '{csv_file}'}}\nformat: {{type: csv}}\n"
        "cadence: daily\nmax_age: 0.0001h\n",
    )
    lake.ingest("lots")
    monkeypatch.chdir(project_dir)
    time.sleep(0.5)
    return lake


def test_fail_on_overdue_exits_1_and_says_which(fetched: Lakehouse) -> None:
    shown = runner.invoke(app, ["status", "--offline"])
    assert shown.exit_code == 0, shown.output  # showing is not failing
    assert "lots" in shown.output and "overdue" in shown.output
    failed = runner.invoke(app, ["status", "--offline", "--fail-on", "overdue"])
    assert failed.exit_code == 1
    assert "lots is overdue: last fetched" in failed.output
    behind = runner.invoke(app, ["status", "--offline", "--fail-on", "behind"])
    assert behind.exit_code == 0, behind.output


def test_status_json_is_the_versioned_envelope(fetched: Lakehouse) -> None:
    result = runner.invoke(app, ["status", "--json", "--fail-on", "overdue"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert (document["format"], document["format_version"], document["command"]) == (
        "lake-json",
        1,
        "status",
    )
    [source] = document["data"]["sources"]
    assert source["dataset"] == "lots" and source["state"] == "overdue"
    assert source["latest"] == fetched.manifest("lots").version
    assert source["upstream"]["state"] == "same"  # the file was asked, and has not changed
    assert (
        document["data"]["failures"]
        == [line for line in document["data"]["failures"] if line.startswith("lots is overdue")]
        and document["data"]["failures"]
    )


def test_an_unknown_name_is_one_sentence(fetched: Lakehouse) -> None:
    result = runner.invoke(app, ["status", "nope"])
    assert result.exit_code == 1
    assert "nope is neither a template" in result.output
    as_json = runner.invoke(app, ["status", "nope", "--json"])
    assert json.loads(as_json.stdout)["error"]["type"] == "NotFoundError"


def test_update_fetches_the_overdue_source_and_says_so(fetched: Lakehouse) -> None:
    result = runner.invoke(app, ["update"])
    assert result.exit_code == 0, result.output
    assert re.search(r"lots: unchanged \d{8}; overdue", result.output), result.output
    time.sleep(0.5)
    again = runner.invoke(app, ["update", "--json"])
    document = json.loads(again.stdout)["data"]
    assert document["failed"] is False
    # fetched a moment ago, but overdue again after a third of a second: fetched again
    assert [s["dataset"] for s in document["sources"]] == ["lots"]


def test_update_help_explains_itself() -> None:
    result = runner.invoke(app, ["update", "--help"])
    assert result.exit_code == 0
    for words in ("cadence", "changed upstream", "--wait", "--dry-run", "publish_on_update"):
        assert words in " ".join(result.output.split()), words


def test_a_cadence_in_a_time_zone_is_due_on_its_clock_in_the_table(
    lake: Lakehouse, project_dir: Path, csv_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table's `next due` of a cadence in New York is New York's 06:00 (EST or EDT, as
    the day falls), not UTC's."""
    write_template(
        project_dir,
        "lots",
        f"name: lots\nsource: {{type: file, path: '{csv_file}'}}\nformat: {{type: csv}}\n"
        "cadence: '0 6 * * * America/New_York'\n",
    )
    lake.ingest("lots")
    monkeypatch.chdir(project_dir)
    shown = runner.invoke(app, ["status", "--offline"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert re.search(r"\d\d-\d\d 06:00 E[SD]T", shown.output), shown.output
