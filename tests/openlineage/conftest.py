"""Projects with lineage on, and their events: test_plan's small product `prod` (numbers and
letters, with a primary key so that it can be published)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import load_config
from lakehouse.project import Lakehouse
from tests.openlineage.validation import check_event
from tests.transform.test_plan import keyed_numbers_and_letters

LINEAGE_FILE = "lineage.jsonl"
TO_FILE = f'file = "{LINEAGE_FILE}"'


def with_lineage(project_dir: Path, settings: str) -> Lakehouse:
    """The project with `settings` (lines of `[openlineage]`) added to its lakehouse.toml."""
    config = project_dir / "lakehouse.toml"
    config.write_text(config.read_text() + f"\n[openlineage]\n{settings}\n")
    return Lakehouse(load_config(config))


def read_events(project_dir: Path) -> list[dict[str, Any]]:
    """The events of the project's lineage file, each checked against the client's models."""
    lines = (project_dir / LINEAGE_FILE).read_text().splitlines()
    events = [json.loads(line) for line in lines]
    for event in events:
        check_event(event)
    return events


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(event type, job name) of each event, in order."""
    return [(event["eventType"], event["job"]["name"]) for event in events]


def make_prod(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    """test_plan's `prod` (two ingests, locked, not built), with a primary key."""
    return keyed_numbers_and_letters(lake, project_dir, tmp_path)


@pytest.fixture
def prod(project_dir: Path, tmp_path: Path) -> Lakehouse:
    """`prod` with its events written to lineage.jsonl (its two ingests' already there)."""
    return make_prod(with_lineage(project_dir, TO_FILE), project_dir, tmp_path)
