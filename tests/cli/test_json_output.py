"""`--json` on versions, builds, published, check, diff and verify: one JSON document on stdout
in the versioned envelope (lakehouse/cli/json_output.py), errors as JSON with exit code 1, and
the text output as it was without --json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.cli.shell import _json_mode, _run
from lakehouse.project import Lakehouse
from lakehouse.publish.records import PublishRecord
from tests.projects import DATASETS, MAP_DATASETS, make_project
from tests.transform.test_plan import numbers_and_letters

runner = CliRunner()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    """PLUTO-lite on 200 lots: built once, its QA report written, published as 25v1."""
    lake = make_project(tmp_path_factory.mktemp("json") / "p", lots=200)
    lake.build("pluto_lite")
    lake.diff_report("pluto_lite")
    lake.publish("pluto_lite", "25v1")
    return lake


def lake_json(lake: Lakehouse, *args: str, code: int = 0) -> dict[str, Any]:
    """The command's JSON document (stdout holds nothing else), after checking its exit code
    and envelope."""
    result = runner.invoke(
        app, ["--config", str(lake.config.project_dir / "lakehouse.toml"), *args, "--json"]
    )
    assert result.exit_code == code, result.output
    document = json.loads(result.stdout)
    assert document["format"] == "lake-json" and document["format_version"] == 1
    assert document["command"] == args[0]
    return document


def data_of(lake: Lakehouse, *args: str, code: int = 0) -> dict[str, Any]:
    document = lake_json(lake, *args, code=code)
    assert "error" not in document
    data: dict[str, Any] = document["data"]
    return data


def error_of(lake: Lakehouse, *args: str) -> dict[str, str]:
    document = lake_json(lake, *args, code=1)
    assert "data" not in document
    error: dict[str, str] = document["error"]
    return error


@pytest.fixture
def small(lake: Lakehouse, project_dir: Path, tmp_path: Path) -> Lakehouse:
    """Numbers and letters (tests/transform/test_plan.py), built once."""
    numbers_and_letters(lake, project_dir, tmp_path)
    lake.build("prod")
    return lake


def test_versions_json_lists_every_archived_dataset_with_its_latest(
    published: Lakehouse,
) -> None:
    data = data_of(published, "versions")
    assert [entry["dataset"] for entry in data["datasets"]] == sorted(DATASETS)
    (dof,) = [entry for entry in data["datasets"] if entry["dataset"] == "dof_pts"]
    manifest = published.manifest("dof_pts")
    assert dof == {
        "dataset": "dof_pts",
        "versions": [manifest.version],
        "damaged": [],
        "latest": manifest.version,
        "rows": 200,
        "extracted_at": manifest.extracted_at.isoformat(),
    }
    assert dof["extracted_at"].endswith("+00:00")


def test_versions_json_of_a_dataset_gives_each_version_with_its_manifest(
    published: Lakehouse,
) -> None:
    data = data_of(published, "versions", "dof_pts")
    manifest = published.manifest("dof_pts")
    assert data["dataset"] == "dof_pts" and data["damaged"] == []
    (version,) = data["versions"]
    record = version.pop("record")
    assert version == {
        "version": manifest.version,
        "latest": True,
        "extracted_at": manifest.extracted_at.isoformat(),
        "archived_at": manifest.archived_at.isoformat(),
        "rows": 200,
        "storage": "parquet",
        "source_sha256": manifest.source_sha256,
        "version_origin": manifest.version_origin,
    }
    assert record["schema_version"] == 2 and record["dataset"] == "dof_pts"
    assert record["row_count"] == 200
    assert record["columns"][0]["name"] == "bbl"


def test_versions_json_of_a_dataset_not_ingested_yet_has_no_versions(
    published: Lakehouse,
) -> None:
    data = data_of(published, "versions", MAP_DATASETS[0])
    assert data == {"dataset": MAP_DATASETS[0], "versions": [], "damaged": []}


def test_builds_json_gives_each_build_its_inputs_and_record(published: Lakehouse) -> None:
    (build,) = published.builds("pluto_lite")
    data = data_of(published, "builds", "pluto_lite")
    assert data["product"] == "pluto_lite"
    (entry,) = data["builds"]
    assert entry["build_id"] == build.build_id and entry["status"] == "passed"
    assert entry["engine"] == "duckdb"
    assert entry["started_at"] == build.started_at.isoformat()
    assert entry["inputs"] == {
        "dof_pts": published.manifest("dof_pts").version,
        "zoning_lots": published.manifest("zoning_lots").version,
        "dob_jobs": published.manifest("dob_jobs").version,
        "landmarks": published.manifest("landmarks").version,
    }
    assert entry["models"] == len(build.models) and 1 <= entry["models_built"] <= entry["models"]
    assert set(entry["git"]) == {"commit", "dirty"}
    assert entry["record"]["build_id"] == build.build_id
    assert entry["record"]["outputs"]["outputs/pluto_lite"]["rows"] == 200


def test_builds_json_of_a_product_never_built_is_empty(published: Lakehouse) -> None:
    assert data_of(published, "builds", "nope") == {"product": "nope", "builds": []}


def test_published_json_gives_the_version_its_build_and_qa(published: Lakehouse) -> None:
    (build,) = published.builds("pluto_lite")
    data = data_of(published, "published", "pluto_lite")
    (entry,) = data["published"]
    assert entry["version"] == "25v1" and entry["build_id"] == build.build_id
    assert entry["inputs"]["dof_pts"] == f"dof_pts {published.manifest('dof_pts').version}"
    assert entry["qa"] == [
        {
            "report": "diff-first.html",
            "against": "nothing (the first build)",
            "tables": {"pluto_lite": {"added": 200, "removed": 0, "changed": 0,
                                      "identical": False}},
        }
    ]  # fmt: skip
    assert entry["promoted_from"] is None
    assert entry["published_at"].endswith("+00:00")
    assert entry["record"]["version"] == "25v1"
    assert entry["record"]["schema_version"] == PublishRecord.SCHEMA_VERSION


def test_check_json_gives_every_rule_of_a_passing_build(published: Lakehouse) -> None:
    (build,) = published.builds("pluto_lite")
    data = data_of(published, "check", "pluto_lite")
    assert data["product"] == "pluto_lite" and data["build_id"] == build.build_id
    assert data["passed"] is True and data["advice"] is None
    rules = data["rules"]
    assert data["summary"] == f"{len(rules)}/{len(rules)} checks passed"
    assert all(rule["passed"] for rule in rules)
    assert {"table": "pluto_lite", "rule": "pluto_lite: columns", "passed": True}.items() <= (
        rules[0].items()
    )
    assert data["rule_files"] == ["contracts/pluto_lite/dictionary.yml"]


def test_check_json_of_a_failing_build_gives_its_data_and_exit_code_1(
    small: Lakehouse, project_dir: Path
) -> None:
    dictionary = project_dir / "contracts" / "prod" / "dictionary.yml"
    dictionary.write_text(
        dictionary.read_text().replace(
            "description: a number plus one",
            "description: a number plus one\n        range: [3, 9]",
        )
    )
    data = data_of(small, "check", "prod", code=1)
    assert data["passed"] is False
    assert data["summary"] == "2/3 checks passed, 1 blocking"
    (failed,) = [rule for rule in data["rules"] if not rule["passed"]]
    assert (failed["rule"], failed["failing_rows"]) == ("n: range", 2)
    assert failed["sample_keys"] == [{"n": 2}, {"n": 2}]
    assert data["advice"].endswith(
        "or the rule in contracts/prod/dictionary.yml if the rule is wrong"
    )


def test_diff_json_is_the_build_diff_in_the_envelope(published: Lakehouse) -> None:
    (build,) = published.builds("pluto_lite")
    data = data_of(published, "diff", "pluto_lite")
    assert (data["product"], data["old"], data["new"]) == (
        "pluto_lite",
        "nothing (the first build)",
        build.build_id,
    )
    assert data["identical"] is False and data["removed_outputs"] == []
    (table,) = data["tables"]
    assert table["table"] == "pluto_lite" and table["key"] == ["bbl"]
    assert (table["old_rows"], table["new_rows"], table["added"], table["removed"]) == (
        0,
        200,
        200,
        0,
    )
    assert len(table["added_sample"]) == 10 and set(table["added_sample"][0]) == {"bbl"}


def test_verify_json_counts_what_it_checked(published: Lakehouse) -> None:
    data = data_of(published, "verify")
    assert data == {
        "ok": True,
        "versions_checked": len(DATASETS) + 1,  # the archived versions and the published one
        "builds_checked": 1,
        "files_checked": data["files_checked"],
        "corrupt": [],
        "leftovers": [],
        "set_aside": [],
    }
    assert data["files_checked"] >= 2 * len(DATASETS)  # each version's source and data


def test_verify_json_names_a_corrupt_file_with_exit_code_1(small: Lakehouse) -> None:
    manifest = small.manifest("numbers")
    damaged = Path(small.store.root) / manifest.data_files[0].path
    damaged.write_bytes(damaged.read_bytes() + b"!")
    data = data_of(small, "verify", "numbers", code=1)
    assert data["ok"] is False
    (problem,) = data["corrupt"]
    assert (problem["dataset"], problem["version"], problem["path"]) == (
        "numbers",
        manifest.version,
        manifest.data_files[0].path,
    )


def test_errors_in_json_mode_are_json_on_stdout_with_exit_code_1(
    published: Lakehouse, tmp_path: Path
) -> None:
    error = error_of(published, "versions", "dof_ptz")
    assert error["type"] == "NotFoundError"
    assert error["message"].startswith("No dataset 'dof_ptz'; did you mean 'dof_pts'?")
    error = error_of(published, "check", "nope")
    assert error["type"] == "NotFoundError" and "'nope' has no data dictionary" in error["message"]
    assert error_of(published, "diff", "nope") == {
        "type": "NotFoundError",
        "message": "'nope' has no builds yet; run `lake build nope`.",
    }
    missing = tmp_path / "none.toml"
    result = runner.invoke(app, ["--config", str(missing), "published", "x", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == {
        "type": "ConfigError",
        "message": f"Config file {missing} does not exist; run `lake init` to create it.",
    }


def test_without_json_the_output_and_errors_are_text_as_before(published: Lakehouse) -> None:
    lake_json(published, "versions", "dof_ptz", code=1)  # JSON mode ends with its command
    config = str(published.config.project_dir / "lakehouse.toml")
    result = runner.invoke(app, ["--config", config, "versions", "dof_ptz"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: No dataset 'dof_ptz'; did you mean 'dof_pts'?")
    result = runner.invoke(
        app, ["--config", config, "builds", "pluto_lite"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    assert "pluto_lite: 1 build(s)" in result.stdout and "{" not in result.stdout


def test_an_unexpected_error_in_json_mode_is_json_with_exit_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def divide() -> float:
        return 1 / 0

    _json_mode("verify", True)
    try:
        with pytest.raises(typer.Exit) as stopped:
            _run(divide)
    finally:
        _json_mode("verify", False)
    assert stopped.value.exit_code == 2
    printed = capsys.readouterr()
    assert printed.err == ""
    assert json.loads(printed.out)["error"] == {
        "type": "ZeroDivisionError",
        "message": "division by zero (run again with --debug for the traceback, and report it).",
    }


def test_a_plan_error_in_json_mode_is_json(published: Lakehouse) -> None:
    found = error_of(published, "plan", "no_such_product")
    assert found["type"] == "NotFoundError" and "no_such_product" in found["message"]
