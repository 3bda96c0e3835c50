"""The `lake` CLI: a thin shell whose errors are one sentence, with tracebacks only on --debug."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.config import load_config

runner = CliRunner()


@pytest.fixture
def in_project(project_dir: Path) -> Path:
    cwd = os.getcwd()
    os.chdir(project_dir)
    try:
        yield project_dir
    finally:
        os.chdir(cwd)


def test_init_creates_config_and_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "lakehouse.toml").is_file()
    assert (tmp_path / "p" / ".lakehouse").is_dir()
    assert (tmp_path / "p" / "templates").is_dir()
    assert not (tmp_path / "p" / "recipes").exists()
    again = runner.invoke(app, ["init", str(tmp_path / "p")])
    assert "Found existing" in again.output


def test_ingest_versions_show_verify(in_project: Path, csv_file: Path) -> None:
    result = runner.invoke(app, ["ingest", "lots", "--file", str(csv_file), "--version", "24v1"])
    assert result.exit_code == 0, result.output
    assert "archived version 24v1 (3 rows" in result.output
    again = runner.invoke(app, ["ingest", "lots", "--file", str(csv_file)])
    assert "unchanged" in again.output and "24v1" in again.output
    listed = runner.invoke(app, ["versions", "lots"])
    assert listed.exit_code == 0 and "24v1 (latest)" in listed.output
    shown = runner.invoke(app, ["show", "lots", "--rows", "2"])
    assert shown.exit_code == 0
    assert "SMITH, JOHN" in shown.output and "sha256" in shown.output
    assert "3000030003" not in shown.output  # only two rows previewed
    verified = runner.invoke(app, ["verify"])
    assert verified.exit_code == 0 and "all checksums match" in verified.output


def test_verify_exits_non_zero_on_corruption(in_project: Path, csv_file: Path) -> None:
    runner.invoke(app, ["ingest", "lots", "--file", str(csv_file)])
    stored = next((in_project / ".lakehouse" / "raw" / "lots").rglob("lots.csv"))
    stored.write_bytes(stored.read_bytes().replace(b"SMITH", b"SMITT"))
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 1
    assert "CORRUPT" in result.output and "1 problem(s)" in result.output


def test_errors_are_one_sentence_without_traceback(in_project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["ingest", "lots", "--file", str(empty)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("Error:")
    assert "is empty" in result.output


def test_debug_shows_the_traceback(in_project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["--debug", "ingest", "lots", "--file", str(empty)])
    assert result.exit_code != 0
    assert result.exception is not None
    assert type(result.exception).__name__ == "FormatError"


def test_without_a_config_the_user_is_told_to_run_init(tmp_path: Path) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(app, ["versions", "x"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1
    assert "run `lake init` first" in result.output


def test_a_bad_config_field_is_named(in_project: Path) -> None:
    (in_project / "lakehouse.toml").write_text('[store]\nrooot = "x"\n')
    result = runner.invoke(app, ["versions", "x"])
    assert result.exit_code == 1
    assert "unknown field 'store.rooot'" in result.output


def test_path_tricks_are_refused_by_the_cli(in_project: Path, csv_file: Path) -> None:
    result = runner.invoke(app, ["ingest", "../evil", "--file", str(csv_file)])
    assert result.exit_code == 1
    assert "not allowed" in result.output
    assert not (in_project / ".lakehouse" / "evil").exists()


def test_help_starts_without_importing_heavy_modules() -> None:
    code = (
        "import sys, lakehouse.cli;"
        "heavy = [m for m in ('duckdb', 'pyarrow', 'pandas', 'deltalake', 'httpx', 'pyogrio')"
        " if m in sys.modules]; print(heavy)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
    help_text = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for verb in ("init", "ingest", "versions", "show", "verify", "demo"):
        assert verb in help_text


def test_ingest_without_names_takes_every_template_and_versions_lists_datasets(
    in_project: Path, csv_file: Path
) -> None:
    from tests.conftest import write_template

    for name in ("alpha", "beta"):
        write_template(
            in_project,
            name,
            f"name: {name}\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n",
        )
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 0, result.output
    assert "alpha: archived version" in result.output
    assert "beta: archived version" in result.output
    overview = runner.invoke(app, ["versions"])
    assert "2 archived dataset(s)" in overview.output
    assert "alpha" in overview.output and "beta" in overview.output


def test_templates_left_in_recipes_sources_are_one_sentence_not_ignored(
    tmp_path: Path, csv_file: Path
) -> None:
    old = tmp_path / "p" / "recipes" / "sources"  # the old default; lakehouse.toml says nothing
    old.mkdir(parents=True)
    (old / "lots.yml").write_text(
        f"name: lots\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n"
    )
    config = tmp_path / "p" / "lakehouse.toml"
    config.write_text('[store]\nroot = ".lakehouse"\n')
    for command in (["ingest"], ["ingest", "lots"], ["demo", "--out", str(tmp_path / "d")]):
        result = runner.invoke(app, ["--config", str(config), *command])
        assert result.exit_code == 1, result.output
        assert f"Error: This project's ingest templates are in {old}/" in result.output
        assert 'set `[paths] templates = "recipes/sources"`' in result.output
    assert not (tmp_path / "d").exists() and not (tmp_path / "p" / "templates").exists()
    assert runner.invoke(app, ["--config", str(config), "versions"]).exit_code == 0


def test_file_option_needs_exactly_one_dataset(in_project: Path, csv_file: Path) -> None:
    result = runner.invoke(app, ["ingest", "a", "b", "--file", str(csv_file)])
    assert result.exit_code == 1
    assert "name exactly one" in result.output


def test_one_failing_dataset_does_not_stop_the_others(in_project: Path, csv_file: Path) -> None:
    from tests.conftest import write_template

    write_template(
        in_project,
        "good",
        f"name: good\nsource: {{type: file, path: {csv_file}}}\nformat: {{type: csv}}\n",
    )
    write_template(
        in_project,
        "bad",
        "name: bad\nsource: {type: file, path: missing.csv}\nformat: {type: csv}\n",
    )
    result = runner.invoke(app, ["ingest", "bad", "good"])
    assert result.exit_code == 1
    assert "bad: Source file" in result.output
    assert "good: archived version" in result.output
    assert "1 of 2 dataset(s) failed: bad" in result.output


def test_lock_build_builds_and_sql_commands(in_project: Path, tmp_path: Path) -> None:
    import shutil

    from lakehouse.demo import generate_pluto_lite, write_demo_templates
    from lakehouse.demo.mappluto import generate_mappluto_lite

    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(
        repo / "transforms",
        in_project / "transforms",
        ignore=shutil.ignore_patterns("__pycache__"),
        dirs_exist_ok=True,
    )
    shutil.copy(repo / "recipes" / "pluto_lite.yml", in_project / "recipes" / "pluto_lite.yml")
    generate_pluto_lite(in_project / "data" / "pluto_lite", lots=300, seed=1)
    generate_mappluto_lite(in_project / "data" / "pluto_lite", lots=300, seed=1)
    templates_dir = load_config(in_project / "lakehouse.toml").templates_dir
    write_demo_templates(templates_dir, in_project / "data" / "pluto_lite", in_project)
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    locked = runner.invoke(app, ["lock", "pluto_lite"])
    assert locked.exit_code == 0, locked.output
    assert "wrote" in locked.output and (in_project / "recipes" / "pluto_lite.lock").is_file()
    first = runner.invoke(app, ["build", "pluto_lite"])
    assert first.exit_code == 0, first.output
    assert "pluto_lite               built" in first.output
    second = runner.invoke(app, ["build", "pluto_lite"])
    assert "every model unchanged" in second.output
    listed = runner.invoke(app, ["builds", "pluto_lite"])
    assert "2 build(s)" in listed.output
    queried = runner.invoke(app, ["sql", "pluto_lite", "SELECT count(*) AS lots FROM pluto_lite"])
    assert queried.exit_code == 0 and "300" in queried.output
    bad = runner.invoke(app, ["sql", "pluto_lite", "SELEC 1"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: The query failed")


def test_a_recipe_typo_names_the_file_and_field(in_project: Path) -> None:
    (in_project / "recipes" / "p.yml").write_text(
        "name: p\nowner: me\ninputs: {a: latest}\noutputs: [p]\nkeeep: []\n"
    )
    result = runner.invoke(app, ["build", "p"])
    assert result.exit_code == 1
    assert "p.yml: unknown field 'keeep'" in result.output


def test_init_keeps_local_state_out_of_git(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / ".gitignore").write_text("*.pyc")
    runner.invoke(app, ["init", str(tmp_path / "p")])
    assert (tmp_path / "p" / ".gitignore").read_text() == "*.pyc\n.lakehouse/\ndata/\n"


def test_show_tells_a_geometry_source_its_crs_and_invalid_shapes(
    in_project: Path, tmp_path: Path
) -> None:
    from tests.conftest import write_template

    source = tmp_path / "shapes.csv"
    source.write_text(
        'id,wkt\n1,"POLYGON((0 0,1 0,1 1,0 1,0 0))"\n2,"POLYGON((0 0,1 1,1 0,0 1,0 0))"\n'
    )
    write_template(
        in_project,
        "shapes",
        f"name: shapes\nsource: {{type: file, path: {source}}}\n"
        "format: {type: csv, geometry: {wkt: wkt, crs: 'EPSG:2263'}}\n",
    )
    ingested = runner.invoke(app, ["ingest", "shapes"])
    assert ingested.exit_code == 0, ingested.output
    told = "geometry: geom EPSG:2263, 1 invalid, 0 unparsed (archived as they came)"
    assert told in ingested.output
    shown = runner.invoke(app, ["show", "shapes", "--rows", "1"])
    assert shown.exit_code == 0, shown.output
    assert "geometry: geom EPSG:2263, 1 invalid, 0 unparsed" in shown.output
    assert "POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))" in shown.output  # the preview shows WKT
