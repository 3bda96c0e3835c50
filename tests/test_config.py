"""lakehouse.toml: written valid, and S3 keys refused in the file."""

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
