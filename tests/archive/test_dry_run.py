"""`lake ingest --dry-run`: everything an ingest checks, nothing archived; and unchanged bytes
checked again when the template changed, so that a broken template is caught before the next
release is rejected by it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.errors import ConfigError, ContractFailed, VersionExistsError
from lakehouse.project import Lakehouse
from tests.conftest import write_template

runner = CliRunner()

BROKEN_CONTRACT = "contract:\n  parse:\n    zip: {as: integer}\n    Owner Name: {as: integer}\n"


def template(csv_file: Path, extra: str = "") -> str:
    return f"name: lots\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n{extra}"


def archived_files(lake: Lakehouse) -> list[Path]:
    root = Path(lake.store.root)
    return [p for area in ("raw", "rejected") for p in (root / area).rglob("*") if p.is_file()]


def test_a_dry_run_says_what_it_would_archive_and_archives_nothing(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    contract = "contract:\n  columns: [bbl, zip]\n  parse:\n    bbl: {as: integer}\n"
    write_template(project_dir, "lots", template(csv_file, contract))
    result = lake.ingest("lots", dry_run=True, version="24v1")
    assert (result.status, result.dry_run, result.version) == ("archived", True, "24v1")
    assert result.manifest.row_count == 3
    assert [c.name for c in result.manifest.columns] == ["bbl", "Owner Name", "zip"]
    assert result.manifest.contract is not None
    assert result.manifest.contract.summary == "2/2 checks passed"
    assert lake.versions("lots") == []
    assert archived_files(lake) == []
    assert lake.ingest("lots", version="24v1").version == "24v1"  # the name is still free


def test_a_dry_run_of_a_broken_contract_fails_and_keeps_no_report(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file, BROKEN_CONTRACT))
    with pytest.raises(ContractFailed, match=r"Owner Name: parses as integer: 2 row\(s\)") as e:
        lake.ingest("lots", dry_run=True)
    assert "a dry run" in str(e.value)
    assert archived_files(lake) == []


def test_a_dry_run_checks_the_templates_expectations(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file, "expect: {min_rows: 10}\n"))
    with pytest.raises(ContractFailed, match=r"3 rows, fewer than the template's expect\.min_rows"):
        lake.ingest("lots", dry_run=True)


def test_a_dry_run_checks_the_steps(lake: Lakehouse, project_dir: Path, csv_file: Path) -> None:
    write_template(
        project_dir, "lots", template(csv_file, "steps:\n  - select_columns: [bbl, boro]\n")
    )
    with pytest.raises(ConfigError, match=r"'boro'.*columns are: bbl, Owner Name, zip"):
        lake.ingest("lots", dry_run=True)


def test_a_dry_run_refuses_a_version_name_already_taken(
    lake: Lakehouse, project_dir: Path, csv_file: Path, tmp_path: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file))
    lake.ingest("lots", version="24v1")
    csv_file.write_text(csv_file.read_text() + "4000040004,NEW,10002\n")
    with pytest.raises(VersionExistsError, match="24v1"):
        lake.ingest("lots", dry_run=True, version="24v1")


def test_a_dry_run_of_unchanged_bytes_still_checks_them_with_the_template(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file))
    first = lake.ingest("lots")
    checked = lake.ingest("lots", dry_run=True)
    assert (checked.status, checked.dry_run, checked.version) == ("unchanged", True, first.version)
    assert checked.checked is not None and checked.checked.rows == 3
    write_template(project_dir, "lots", template(csv_file, BROKEN_CONTRACT))
    with pytest.raises(ContractFailed) as error:
        lake.ingest("lots", dry_run=True)
    message = str(error.value)
    assert f"identical to version {first.version}" in message
    assert "Owner Name: parses as integer: 2 row(s)" in message
    assert len(lake.versions("lots")) == 1


def test_unchanged_bytes_under_a_changed_template_that_would_reject_them_fail_the_ingest(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file))
    first = lake.ingest("lots")
    write_template(project_dir, "lots", template(csv_file, BROKEN_CONTRACT))
    with pytest.raises(ContractFailed) as error:
        lake.ingest("lots")
    message = str(error.value)
    assert f"identical to version {first.version}" in message
    assert "the template changed since and would reject it" in message
    assert "zip: parses as integer" not in message  # '00123' is an integer: only the names fail
    assert not (Path(lake.store.root) / "rejected").exists()  # not a new version's rejection
    assert [m.version for m in lake.versions("lots")] == [first.version]


def test_unchanged_bytes_under_a_changed_template_that_passes_are_checked_and_unchanged(
    lake: Lakehouse, project_dir: Path, csv_file: Path
) -> None:
    write_template(project_dir, "lots", template(csv_file))
    lake.ingest("lots")
    assert lake.ingest("lots").checked is None  # same template: nothing to check again
    write_template(project_dir, "lots", template(csv_file, "steps: [clean_column_names]\n"))
    again = lake.ingest("lots")
    assert (again.status, again.template_changed, again.dry_run) == ("unchanged", True, False)
    assert again.checked is not None
    assert again.checked.columns == ["bbl", "owner_name", "zip"]


@pytest.fixture
def in_project(project_dir: Path):
    cwd = os.getcwd()
    os.chdir(project_dir)
    try:
        yield project_dir
    finally:
        os.chdir(cwd)


def test_lake_ingest_dry_run_prints_what_it_would_archive(in_project: Path, csv_file: Path) -> None:
    contract = "contract:\n  parse:\n    bbl: {as: integer}\n"
    write_template(in_project, "lots", template(csv_file, contract))
    result = runner.invoke(app, ["ingest", "lots", "--dry-run", "--version", "24v1"])
    assert result.exit_code == 0, result.output
    assert "dry run: would archive version 24v1 (3 rows, 3 columns, parquet)" in result.output
    assert "raw contract: 2/2 checks passed" in result.output
    assert "nothing was archived" in result.output
    assert "24v1" not in runner.invoke(app, ["versions"]).output


def test_lake_ingest_dry_run_exits_1_on_a_check_that_fails(
    in_project: Path, csv_file: Path
) -> None:
    write_template(in_project, "lots", template(csv_file))
    assert runner.invoke(app, ["ingest", "lots"]).exit_code == 0
    unchanged = runner.invoke(app, ["ingest", "lots", "--dry-run"])
    assert unchanged.exit_code == 0, unchanged.output
    assert "unchanged" in unchanged.output and "the template's checks pass" in unchanged.output
    write_template(in_project, "lots", template(csv_file, BROKEN_CONTRACT))
    result = runner.invoke(app, ["ingest", "lots", "--dry-run"])
    assert result.exit_code == 1
    assert "would reject it" in result.output and "Owner Name: parses as integer" in result.output
