"""Reading a YAML config file into a validated model; every error names the file and field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from lakehouse.errors import ConfigError, describe_validation_error

M = TypeVar("M", bound=BaseModel)


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
