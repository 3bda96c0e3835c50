"""`lake ingest`, `lake build` and `lake publish` send run events when lakehouse.toml turns
lineage on: the CLI needs nothing of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.project import Lakehouse
from tests.openlineage.conftest import kinds, read_events

runner = CliRunner()


def test_lake_commands_send_their_runs_events(
    prod: Lakehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir = prod.config.project_dir
    monkeypatch.chdir(project_dir)
    before = len(read_events(project_dir))
    more = tmp_path / "more.csv"
    more.write_text("n\n1\n2\n3\n")
    for command in (
        ["ingest", "numbers", "--file", str(more)],
        ["build", "prod"],
        ["qa", "report", "diff", "prod"],
        ["publish", "prod", "--version", "26v1"],
        ["build", "--all"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    events = read_events(project_dir)[before:]
    assert kinds(events) == [
        (kind, job)
        for job in ("ingest.numbers", "build.prod", "publish.prod", "build.prod")
        for kind in ("START", "COMPLETE")
    ]
    published = events[5]["outputs"][0]
    assert published["name"] == "published/prod/prod"
    assert published["facets"]["version"]["datasetVersion"] == "26v1"
