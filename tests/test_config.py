"""lakehouse.toml: written valid, S3 keys refused in the file, the templates folder found."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.config import init_project, load_config
from lakehouse.errors import (
    ConfigError,
)


def test_init_with_a_quote_in_the_root_writes_valid_toml(tmp_path: Path) -> None:
    config_path, created = init_project(tmp_path / "p", root="st'o\"re")
    assert created
    assert load_config(config_path).store.root == "st'o\"re"


def test_s3_keys_in_the_config_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "lakehouse.toml"
    path.write_text('[store]\nroot = "s3://b/p"\n[store.s3]\nsecret_access_key = "x"\n')
    with pytest.raises(ConfigError, match=r"must not be written in lakehouse\.toml"):
        load_config(path)


def test_a_new_project_keeps_its_templates_in_templates(tmp_path: Path) -> None:
    config_path, _ = init_project(tmp_path / "p")
    assert 'templates = "templates"' in config_path.read_text()
    assert load_config(config_path).templates_dir == (tmp_path / "p" / "templates").resolve()


def _project_with_old_templates(folder: Path, config_text: str) -> Path:
    """A project whose one template is in recipes/sources/, the old default folder."""
    (folder / "recipes" / "sources").mkdir(parents=True)
    (folder / "recipes" / "sources" / "lots.yml").write_text(
        "name: lots\nsource: {type: file, path: lots.csv}\nformat: {type: csv}\n"
    )
    (folder / "lakehouse.toml").write_text(config_text)
    return folder / "lakehouse.toml"


def test_templates_named_in_the_config_are_read_from_recipes_sources(tmp_path: Path) -> None:
    config_path = _project_with_old_templates(tmp_path, '[paths]\ntemplates = "recipes/sources"\n')
    config = load_config(config_path)
    assert config.templates_dir == (tmp_path / "recipes" / "sources").resolve()


def test_templates_left_in_recipes_sources_without_the_key_are_an_error(tmp_path: Path) -> None:
    config_path = _project_with_old_templates(tmp_path, '[store]\nroot = ".lakehouse"\n')
    config = load_config(config_path)  # the rest of the project still opens
    assert config.recipes_dir == (tmp_path / "recipes").resolve()
    with pytest.raises(ConfigError) as raised:
        _ = config.templates_dir
    message = str(raised.value)
    assert f"{tmp_path / 'recipes' / 'sources'}/, which is no longer the default" in message
    assert 'move that folder to templates/ or set `[paths] templates = "recipes/sources"`' in (
        message
    )
    (tmp_path / "recipes" / "sources").rename(tmp_path / "templates")  # moved: no error
    assert load_config(config_path).templates_dir == (tmp_path / "templates").resolve()
