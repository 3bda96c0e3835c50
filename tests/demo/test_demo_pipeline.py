"""The README's main job, small: generate PLUTO-lite and archive it with the repo's templates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.archive.template import load_template
from lakehouse.cli import app
from lakehouse.config import load_config
from lakehouse.demo import SOURCE_FILES
from lakehouse.demo.mappluto import MAP_FILES
from lakehouse.demo.templates import demo_dataset
from lakehouse.project import Lakehouse

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = load_config(REPO / "lakehouse.toml").templates_dir  # the repo's own project


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yml")), ids=lambda p: p.stem)
def test_every_template_in_the_repo_is_valid(path: Path) -> None:
    assert load_template(path).name == path.stem


def test_demo_sources_are_archived_with_the_repo_templates(tmp_path: Path) -> None:
    runner = CliRunner()
    project = tmp_path / "project"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    templates_dir = load_config(project / "lakehouse.toml").templates_dir
    shutil.copytree(TEMPLATES, templates_dir, dirs_exist_ok=True)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        generated = runner.invoke(app, ["demo", "--lots", "2000"])
        assert generated.exit_code == 0, generated.output
        first = runner.invoke(app, ["ingest"])
        assert first.exit_code == 0, first.output
        again = runner.invoke(app, ["ingest"])
        listed = runner.invoke(app, ["versions"])
    finally:
        os.chdir(cwd)
    assert first.output.count("archived version") == len(SOURCE_FILES + MAP_FILES)
    assert again.output.count("unchanged") == len(SOURCE_FILES + MAP_FILES)
    assert "6 archived dataset(s)" in listed.output
    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    for file_name in SOURCE_FILES:
        dataset = file_name.removesuffix(".csv")
        lines = (project / "data" / "pluto_lite" / file_name).read_bytes().count(b"\n")
        assert lake.manifest(dataset).row_count == lines - 1
    assert lake.read("dof_pts").column_names[:4] == ["bbl", "boro", "block", "lot"]
    assert lake.manifest("dtm_lots").row_count == lake.read("dtm_lots").num_rows > 2000 * 0.99


def test_the_repo_templates_are_what_lake_demo_writes() -> None:
    from lakehouse.demo import demo_template_text

    for file_name in SOURCE_FILES + MAP_FILES:
        dataset = demo_dataset(file_name)
        expected = demo_template_text(dataset, f"data/pluto_lite/{file_name}")
        assert (TEMPLATES / f"{dataset}.yml").read_text() == expected


def test_lake_demo_in_a_fresh_project_writes_the_templates_it_needs(tmp_path: Path) -> None:
    runner = CliRunner()
    project = tmp_path / "fresh"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    cwd = os.getcwd()
    os.chdir(project)
    try:
        generated = runner.invoke(app, ["demo", "--lots", "500"])
        ingested = runner.invoke(app, ["ingest", "dof_pts"])
        again = runner.invoke(app, ["demo", "--lots", "500"])
    finally:
        os.chdir(cwd)
    assert generated.exit_code == 0, generated.output
    assert generated.output.count("wrote template") == len(SOURCE_FILES + MAP_FILES)
    assert "archived version" in ingested.output
    assert "wrote template" not in again.output  # never overwritten
    assert (project / "templates").is_dir() and not (project / "recipes" / "sources").exists()
    text = (project / "templates" / "dof_pts.yml").read_text()
    assert "path: data/pluto_lite/dof_pts.csv" in text
