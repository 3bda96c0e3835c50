"""Typed records: the strict base of every config and metadata model, and reading a YAML file
into one (every error names the file and the field)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from lakehouse.errors import ConfigError, describe_validation_error

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A record that refuses unknown fields (a misspelt key is an error, not ignored) and is
    not changed after it is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_yaml_model(path: Path, model: type[M], expected: str) -> M:
    """Parse `path` as a YAML mapping and validate it as `model`; `expected` names the fields a
    reader should at least write (for the message when the file is not a mapping)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({exc}); fix the file.") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a YAML mapping with at least {expected}.")
    try:
        return model(**raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc
