"""The README's main job, small: generate PLUTO-lite and archive it with the repo's templates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app
from lakehouse.config import load_config
from lakehouse.demo import SOURCE_FILES
from lakehouse.project import Lakehouse
from lakehouse.template import load_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "recipes" / "sources"


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yml")), ids=lambda p: p.stem)
def test_every_template_in_the_repo_is_valid(path: Path) -> None:
    assert load_template(path).name == path.stem


def test_demo_sources_are_archived_with_the_repo_templates(tmp_path: Path) -> None:
    runner = CliRunner()
    project = tmp_path / "project"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    shutil.copytree(TEMPLATES, project / "recipes" / "sources", dirs_exist_ok=True)
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
    assert first.output.count("archived version") == len(SOURCE_FILES)
    assert again.output.count("unchanged") == len(SOURCE_FILES)
    assert "4 archived dataset(s)" in listed.output
    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    for file_name in SOURCE_FILES:
        dataset = file_name.removesuffix(".csv")
        lines = (project / "data" / "pluto_lite" / file_name).read_bytes().count(b"\n")
        assert lake.manifest(dataset).row_count == lines - 1
    assert lake.read("dof_pts").column_names[:4] == ["bbl", "boro", "block", "lot"]
