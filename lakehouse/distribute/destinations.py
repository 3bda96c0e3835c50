"""A product's destinations: `recipes/<product>.destinations.yml`, next to its recipe.

    destinations:
      - name: city_drop                 # `lake distribute pluto_lite --to city_drop`
        type: folder                    # folder | s3 | socrata | arcgis (DESTINATION_TYPES)
        format: csv                     # a package format (csv, parquet, xlsx, shapefile, ...)
        path: data/drops/pluto_lite     # the type's own settings
      - name: open_data
        type: socrata
        domain: https://data.cityofnewyork.us
        dataset_id: abcd-1234
        username_env: SOCRATA_USERNAME  # credentials: the environment variables to read
        password_env: SOCRATA_PASSWORD
        renames: {zonedist1: zoning_district_1}

Validated when read: an unknown type or field names the file and the field.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import Field, field_validator

from lakehouse.distribute import DestinationField
from lakehouse.distribute.spec import DestinationSpec
from lakehouse.errors import ConfigError, NotFoundError
from lakehouse.names import check_dataset_name
from lakehouse.records import Strict, load_yaml_model

SUFFIX = ".destinations.yml"


class DestinationsFile(Strict):
    destinations: list[DestinationField] = Field(min_length=1)

    @field_validator("destinations")
    @classmethod
    def _names_once(cls, found: list[DestinationSpec]) -> list[DestinationSpec]:
        names = [spec.name for spec in found]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"destinations named twice: {', '.join(twice)}")
        return found


def destinations_path(recipes_dir: Path, product: str) -> Path:
    return recipes_dir / f"{check_dataset_name(product)}{SUFFIX}"


def load_destinations(recipes_dir: Path, project_dir: Path, product: str) -> list[DestinationSpec]:
    """The product's destinations (none when it has no destinations file), with local paths
    taken from the project folder."""
    path = destinations_path(recipes_dir, product)
    if not path.is_file():
        return []
    found = load_yaml_model(path, DestinationsFile, "destinations")
    return [spec.relative_to_project(project_dir) for spec in found.destinations]


def choose(
    destinations: list[DestinationSpec], names: list[str], product: str, recipes_dir: Path
) -> list[DestinationSpec]:
    """The destinations `names` asks for (all of them when none are named)."""
    if not destinations:
        raise NotFoundError(
            f"{product} has no destinations; declare them in "
            f"{destinations_path(recipes_dir, product)} (see docs/distribute.md)."
        )
    by_name = {spec.name: spec for spec in destinations}
    for name in names:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"it has {', '.join(by_name)}."
            raise ConfigError(f"{product} has no destination {name!r}; {hint}")
    return [by_name[name] for name in names] if names else destinations
