"""Ingest templates: one YAML per source dataset (where from, which format, light preprocessing).

A template lives at `<templates dir>/<dataset>.yml` and is validated when loaded; every error
names the file and the field and says what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from lakehouse.cadence import CadenceField, DurationField
from lakehouse.contracts.raw import RawContract
from lakehouse.errors import ConfigError, NotFoundError, describe_validation_error
from lakehouse.formats import FormatField, format_for_file
from lakehouse.names import DatasetName, VersionName, check_dataset_name
from lakehouse.qa.drift import QaSettings
from lakehouse.records import Strict, load_yaml_model
from lakehouse.sources import SOURCE_TYPES, SourceField
from lakehouse.sources.file import FileSource

TEMPLATE_SUFFIXES = (".yml", ".yaml")


# -- light preprocessing ---------------------------------------------------------------------


class CleanColumnNames(Strict):
    step: Literal["clean_column_names"] = "clean_column_names"


class RenameColumns(Strict):
    step: Literal["rename_columns"] = "rename_columns"
    columns: dict[str, str]


class SelectColumns(Strict):
    step: Literal["select_columns"] = "select_columns"
    columns: list[str] = Field(min_length=1)


class DropColumns(Strict):
    step: Literal["drop_columns"] = "drop_columns"
    columns: list[str] = Field(min_length=1)


class FilterRows(Strict):
    """Keep the rows where `column` satisfies exactly one condition."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    step: Literal["filter_rows"] = "filter_rows"
    column: str
    equals: str | None = None
    not_equals: str | None = None
    one_of: list[str] | None = None
    not_one_of: list[str] | None = None
    is_null: bool | None = None

    def model_post_init(self, __context: Any) -> None:
        given = [
            name
            for name in ("equals", "not_equals", "one_of", "not_one_of", "is_null")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, not_equals, one_of, not_one_of, is_null")


Step = CleanColumnNames | RenameColumns | SelectColumns | DropColumns | FilterRows
STEP_TYPES: dict[str, type[BaseModel]] = {
    "clean_column_names": CleanColumnNames,
    "rename_columns": RenameColumns,
    "select_columns": SelectColumns,
    "drop_columns": DropColumns,
    "filter_rows": FilterRows,
}

# -- the template ----------------------------------------------------------------------------


class Expect(Strict):
    """What a healthy download of this source looks like, checked before anything is archived
    (`lakehouse.archive.expect`): a version that breaks it is refused, not archived."""

    min_rows: int | None = Field(default=None, ge=0, description="at least this many rows")
    max_change: float | None = Field(
        default=None,
        gt=0,
        description="the row count differs from the latest version's by at most this fraction "
        "(0.2: 20%)",
    )


class IngestTemplate(Strict):
    name: DatasetName
    description: str = ""
    # where the data comes from and how to read it: each validated by the source type or the
    # format its `type` names (lakehouse.sources, lakehouse.formats: one module each)
    source: SourceField
    format: FormatField | None = Field(
        default=None,
        description="required, except for the source types that decide it (socrata, arcgis)",
    )
    storage: Literal["parquet", "delta"] = "parquet"
    version: VersionName | None = Field(
        default=None, description="a fixed version name for what the source holds now, e.g. 25v1"
    )
    version_from: Literal["source_metadata", "run_date"] = "source_metadata"
    allow_empty: bool = False
    steps: list[Step] = Field(default_factory=list)
    contract: RawContract | None = None
    expect: Expect | None = Field(
        default=None, description="min_rows, max_change: what a healthy download looks like"
    )
    qa: QaSettings | None = Field(
        default=None, description="source QA: the key and the drift thresholds"
    )
    # when to look for a new version (lakehouse.cadence); how to read the data does not depend
    # on them, so they are left out of the template's hash recorded with each version
    cadence: CadenceField | None = Field(
        default=None,
        exclude=True,
        description="daily, weekly, monthly, quarterly or a cron expression, then a time zone "
        "if not UTC (daily America/New_York)",
    )
    max_age: DurationField | None = Field(
        default=None,
        exclude=True,
        description="overdue when the last fetch is older: 36h, 2d, 1w (default 1.5 cadences)",
    )

    @model_validator(mode="after")
    def _format_given_where_needed(self) -> IngestTemplate:
        if self.format is None and not SOURCE_TYPES.get(self.source.type).decides_format:
            raise ValueError(f"field 'format' is required for a {self.source.type} source")
        return self

    @field_validator("steps", mode="before")
    @classmethod
    def _parse_steps(cls, steps: Any) -> list[BaseModel]:
        if steps is None:
            return []
        if not isinstance(steps, list):
            raise ValueError("must be a list of steps")
        return [_parse_step(index, item) for index, item in enumerate(steps)]


def _parse_step(index: int, item: Any) -> BaseModel:
    """A step is written `- <step name>: <arguments>`; `- clean_column_names` alone also works."""
    if isinstance(item, BaseModel):
        return item
    if isinstance(item, str):
        item = {item: None}
    if not isinstance(item, dict) or len(item) != 1:
        raise ValueError(f"step {index + 1} must be one '<step name>: <arguments>' entry")
    ((name, arguments),) = item.items()
    model = STEP_TYPES.get(name)
    if model is None:
        raise ValueError(
            f"step {index + 1}: unknown step {name!r}; allowed: {', '.join(STEP_TYPES)}"
        )
    if arguments is None or arguments is True:
        arguments = {}
    elif isinstance(arguments, list) or (
        isinstance(arguments, dict) and name == "rename_columns" and "columns" not in arguments
    ):
        arguments = {"columns": arguments}
    if not isinstance(arguments, dict):
        raise ValueError(f"step {index + 1} ({name}): arguments must be a mapping or a list")
    try:
        return model(**arguments)
    except ValidationError as exc:
        raise ValueError(f"step {index + 1} ({name}): {describe_validation_error(exc)}") from exc


def template_path(templates_dir: Path, dataset: str) -> Path | None:
    """The template file of `dataset`, if there is one."""
    check_dataset_name(dataset)
    for suffix in TEMPLATE_SUFFIXES:
        candidate = templates_dir / f"{dataset}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_template(path: Path) -> IngestTemplate:
    """Read and validate one template file."""
    template = load_yaml_model(path, IngestTemplate, "name, source and format")
    if template.name != path.stem:
        raise ConfigError(
            f"{path}: field 'name' is {template.name!r} but the file is named {path.name}; "
            "make them match."
        )
    return template


def load_template_for(templates_dir: Path, dataset: str) -> IngestTemplate:
    """The validated template of `dataset`, or a NotFoundError that says where it was looked for."""
    path = template_path(templates_dir, dataset)
    if path is None:
        raise NotFoundError(
            f"No ingest template for dataset {dataset!r} in {templates_dir}; "
            f"create {dataset}.yml there, or pass --file to archive a local file."
        )
    return load_template(path)


def list_templates(templates_dir: Path) -> list[str]:
    """Dataset names that have a template."""
    if not templates_dir.is_dir():
        return []
    return sorted({p.stem for p in templates_dir.iterdir() if p.suffix in TEMPLATE_SUFFIXES})


def template_for_local_file(
    dataset: str, path: Path, templates_dir: Path | None = None
) -> IngestTemplate:
    """A template for archiving a local file that has none: the format comes from its suffix
    (`templates_dir`, the project's templates folder, is named in the error when it cannot)."""
    fmt = format_for_file(path)
    if fmt is None:
        folder = templates_dir or "the templates folder"
        raise ConfigError(
            f"Cannot tell the format of {path.name} from its suffix (zip a Shapefile with its "
            f".dbf, .shx and .prj); or write a template {dataset}.yml in {folder} that "
            "names the format."
        )
    return IngestTemplate.model_validate(
        {"name": dataset, "source": {"type": "file", "path": str(path)}, "format": fmt}
    )


def template_for_file(templates_dir: Path, dataset: str, file: Path) -> IngestTemplate:
    """The dataset's template with its source replaced by a local file (its format and steps
    kept); without a template, one whose format comes from the file's suffix."""
    path = template_path(templates_dir, dataset)
    if path is None:
        return template_for_local_file(dataset, file.resolve(), templates_dir)
    source = FileSource(type="file", path=str(file.resolve()))
    return load_template(path).model_copy(update={"source": source})
