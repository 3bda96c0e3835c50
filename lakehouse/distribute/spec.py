"""The settings every destination has, whatever its type, and reading a credential from the
environment variable a destination names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, field_validator, model_validator

from lakehouse.errors import DistributeError
from lakehouse.names import DatasetName
from lakehouse.publish.package import FORMATS
from lakehouse.records import Strict


class DestinationSpec(Strict):
    """One destination of a product: its `name` (as `lake distribute --to` names it), its
    `type`, the package `format` it takes, and column `renames` (output column -> the name
    the destination gets, where a format or the destination limits names)."""

    name: DatasetName
    type: str
    format: str = "csv"
    renames: dict[str, str] = Field(default_factory=dict)

    # whether the type sends columns one by one (and so can rename them); a file drop sends
    # the package as `lake package` makes it
    TAKES_RENAMES: ClassVar[bool] = True

    @model_validator(mode="after")
    def _renames_where_taken(self) -> Self:
        if self.renames and not self.TAKES_RENAMES:
            raise ValueError(
                f"a {self.type} drop sends the package as `lake package` makes it, so it takes "
                "no renames; remove them (shapefile names are shortened by the package itself)"
            )
        return self

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"{value!r} is not a package format; use one of {', '.join(FORMATS)}")
        return value

    def relative_to_project(self, project_dir: Path) -> Self:
        """This spec with its local paths taken from the project folder (only file drops have
        any)."""
        return self

    def where(self) -> str:
        """Where it sends, for a person and the records: never a secret."""
        return self.type


def secret(variable: str, destination: str, what: str) -> str:
    """The value of the environment variable `variable` (a destination's credential), or a
    sentence saying which variable to set."""
    value = os.environ.get(variable, "")
    if not value:
        raise DistributeError(
            f"Destination {destination!r} needs its {what} in the environment variable "
            f"{variable}; set it (credentials are never read from files)."
        )
    return value
