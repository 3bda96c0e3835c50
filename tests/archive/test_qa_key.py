"""A template's `qa: {key: ...}` must name columns the data has (after its steps): a key column
that is not there is refused at ingest and in a dry run, never silently left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import ConfigError
from lakehouse.project import Lakehouse
from tests.conftest import write_template

MISSING = (
    r"Template of 'lots': qa\.key names column 'bedtype', which the data does not have "
    r"\(after the template's steps\); its columns are: bbl, Owner Name, zip\."
)


def template(csv_file: Path, extra: str) -> str:
    return f"name: lots\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n{extra}"


def test_a_qa_key_naming_a_missing_column_is_refused(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file, "qa: {key: [bbl, bedtype]}\n"))
    with pytest.raises(ConfigError, match=MISSING):
        lake.ingest("lots")
    assert lake.versions("lots") == []


def test_a_dry_run_refuses_a_qa_key_naming_a_missing_column(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file, "qa: {key: [bbl, bedtype]}\n"))
    with pytest.raises(ConfigError, match=MISSING):
        lake.ingest("lots", dry_run=True)


def test_a_qa_key_names_the_columns_after_the_steps(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    extra = "steps:\n  - rename_columns: {bbl: lot_id}\nqa: {key: [lot_id]}\n"
    write_template(project_dir, "lots", template(csv_file, extra))
    assert lake.ingest("lots").status == "archived"


def test_a_qa_key_added_to_the_template_of_unchanged_bytes_is_checked(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file, ""))
    lake.ingest("lots")
    write_template(project_dir, "lots", template(csv_file, "qa: {key: [bedtype]}\n"))
    with pytest.raises(ConfigError, match=r"identical to version .*qa\.key names column 'bedtype'"):
        lake.ingest("lots")
