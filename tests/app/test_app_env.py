"""The QA app in an environment (`lake --env dev app`): it reads `<store>/dev/`, not the
store's root."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.app.main import ENV_VARIABLE
from lakehouse.config import init_project, load_config
from lakehouse.project import Lakehouse
from tests.app.test_main import run_app


def test_the_app_reads_the_environment_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "p"
    init_project(folder)
    config = load_config(folder / "lakehouse.toml")
    config.templates_dir.mkdir(parents=True)
    source = tmp_path / "lots.csv"
    source.write_text("id,name\n1,a\n2,b\n")
    Lakehouse(config.for_env("dev")).ingest("lots", file=source)

    monkeypatch.setenv(ENV_VARIABLE, "dev")
    in_dev = run_app(monkeypatch, folder / "lakehouse.toml", page="sources")
    assert [e.value for e in in_dev.error] == []
    assert list(in_dev.dataframe[0].value["rows"]) == [2]

    monkeypatch.delenv(ENV_VARIABLE)
    at_root = run_app(monkeypatch, folder / "lakehouse.toml", page="sources")
    assert "The archive has no dataset yet" in " ".join(i.value for i in at_root.info)
