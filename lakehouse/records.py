"""Typed records: the strict base of every config and metadata model, reading a YAML file into
one (every error names the file and the field), and the versioned base of every JSON record the
lakehouse writes and reads back (build.json, publish.json, cache entries)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, TypeVar

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from lakehouse.errors import (
    ConfigError,
    IntegrityError,
    NewerRecordError,
    describe_validation_error,
)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound="VersionedRecord")


class Strict(BaseModel):
    """A record that refuses unknown fields (a misspelt key is an error, not ignored) and is
    not changed after it is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __getitem__(self, field: str) -> Any:
        """`record["version"]`, as when build and publish records were dicts (notebooks written
        then keep working); deprecated: use `record.version`."""
        if field not in type(self).model_fields:
            raise KeyError(field)
        warnings.warn(
            f"{type(self).__name__} is a typed record: use .{field} instead of [{field!r}]",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, field)


def load_yaml_model(path: Path, model: type[M], expected: str) -> M:
    """Parse `path` as a YAML mapping and validate it as `model`; `expected` names the fields a
    reader should at least write (for the message when the file is not a mapping)."""
    try:
        # libyaml's safe loader when the wheel has it (5x faster; same documents, same errors)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        text = path.read_text(encoding="utf-8")
        _refuse_alias_bombs(path, text, loader)
        raw = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({exc}); fix the file.") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a YAML mapping with at least {expected}.")
    try:
        return model(**raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc


MAX_YAML_NODES = 1_000_000  # values once aliases are expanded: no config file comes near


def _refuse_alias_bombs(path: Path, text: str, loader: Any) -> None:
    """Aliases (`*name`) stand for copies of what they name: a few hundred bytes of nested
    aliases can mean billions of values for whoever walks the result (a docs page, a dump).
    Count the values as expanded, from the event stream, before anything is built."""
    sizes: dict[str, int] = {}  # anchor -> its value's expanded size
    open_collections: list[tuple[int, str | None]] = []  # (size so far, anchor)
    total = 0

    def add(size: int) -> None:
        nonlocal total
        if open_collections:
            done, anchor = open_collections[-1]
            open_collections[-1] = (done + size, anchor)
        else:
            total += size
        if total + sum(done for done, _ in open_collections) > MAX_YAML_NODES:
            raise ConfigError(
                f"{path} expands to more than {MAX_YAML_NODES:,} values through its YAML "
                "aliases (*name); write the values out instead."
            )

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            add(sizes.get(str(event.anchor), 1))
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[str(event.anchor)] = 1
            add(1)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            open_collections.append((1, event.anchor))
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            size, anchor = open_collections.pop()
            if anchor is not None:
                sizes[str(anchor)] = size
            add(size)


Timestamp = Annotated[
    AwareDatetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str)
]
"""A time with its zone, written as `datetime.isoformat()` writes it (2026-11-24T09:07:01+00:00)."""

Migration = Callable[[dict[str, Any]], dict[str, Any]]

DAMAGED = "it is damaged: restore it or remove it"
"""How every damaged-record error ends (after `; `): what to do about the file it names."""


class DamagedRecordWarning(UserWarning):
    """A stored record (or the file it describes) is damaged and was left out or replaced, so
    that the rest of the store keeps working: the message names the file and what was done."""


def damage_reason(exc: Exception) -> str:
    """What is wrong with a damaged record, naming its file: the message of the `IntegrityError`
    `from_json` raised, without its closing advice (for a caller that says what it did
    instead)."""
    return str(exc).split(f"; {DAMAGED}", 1)[0]


def parse_stored(model: type[R], read: Callable[[], bytes], where: str) -> R:
    """The record `read()` returns (the file `where`), or an IntegrityError that says only what
    is wrong with it, without the closing advice (for a caller that says what it does instead):
    it cannot be read, is not JSON, is nested too deep, or is not a valid record. A record of a
    newer lakehouse is refused as `from_json` refuses it."""
    try:
        data = read()
    except (IsADirectoryError, PermissionError) as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise IntegrityError(f"{where} cannot be read ({reason})") from exc
    try:
        return model.from_json(data, where)
    except NewerRecordError:
        raise
    except IntegrityError as exc:
        raise IntegrityError(damage_reason(exc)) from exc
    except RecursionError as exc:  # a reader that does not catch it (nested too deep)
        raise IntegrityError(f"{where} is not valid JSON (nested too deep)") from exc


class VersionedRecord(Strict):
    """A JSON record the lakehouse writes and later reads back, with the `schema_version` of its
    shape. Any change to the shape (a field added, removed, renamed or retyped) bumps
    `SCHEMA_VERSION` and adds to `MIGRATIONS` the step that turns a record of the version
    before into the new shape, so that every record ever written still reads. A record of a
    newer version than this code knows, or one that is not a valid record, is refused with a
    sentence that names its file. A file without `schema_version` is of version 1 (written
    before records were versioned)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    SCHEMA_VERSION: ClassVar[int] = 1
    # version n -> the function turning a version-n record (a dict) into version n + 1
    MIGRATIONS: ClassVar[dict[int, Migration]] = {}
    DESCRIPTION: ClassVar[str] = "record"

    schema_version: int = 1  # set to the class's SCHEMA_VERSION when not given

    @model_validator(mode="before")
    @classmethod
    def _current_version(cls, data: Any) -> Any:
        if isinstance(data, dict) and "schema_version" not in data:
            return {"schema_version": cls.SCHEMA_VERSION, **data}
        return data

    @model_validator(mode="after")
    def _known_version(self) -> Self:
        if self.schema_version != self.SCHEMA_VERSION:
            raise ValueError(
                f"schema_version is {self.schema_version}; a {self.DESCRIPTION} is read with "
                f"from_json(), which upgrades it to {self.SCHEMA_VERSION}"
            )
        return self

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Self:
        """The record in `data`, read from the file `where` (named in every error), upgraded
        to this code's version."""
        try:
            raw = json.loads(data)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            reason = "nested too deep" if isinstance(exc, RecursionError) else exc
            raise IntegrityError(f"{where} is not valid JSON ({reason}); {DAMAGED}.") from exc
        if not isinstance(raw, dict):
            raise IntegrityError(
                f"{where} is not a {cls.DESCRIPTION} (not a JSON object); {DAMAGED}."
            )
        version = raw.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise IntegrityError(
                f"{where} has schema_version {version!r}, not a whole number from 1; {DAMAGED}."
            )
        if version > cls.SCHEMA_VERSION:
            raise NewerRecordError(
                f"{where} was written by a newer lakehouse (schema {version}, this one reads up "
                f"to {cls.SCHEMA_VERSION}); upgrade lakehouse."
            )
        for step in range(version, cls.SCHEMA_VERSION):
            raw = {**cls.MIGRATIONS[step](raw), "schema_version": step + 1}
        try:
            return cls.model_validate({**raw, "schema_version": cls.SCHEMA_VERSION})
        except ValidationError as exc:
            raise IntegrityError(
                f"{where} is not a valid {cls.DESCRIPTION} ({describe_validation_error(exc)}); "
                f"{DAMAGED}."
            ) from exc

    def to_json(self, indent: int | None = 2) -> bytes:
        """The record as JSON (its fields in their declared order)."""
        return json.dumps(self.model_dump(mode="json"), indent=indent).encode()


STRICT_PART = ConfigDict(extra="forbid")
"""`__pydantic_config__` of a dataclass that is part of a record (a column's profile, a rule's
result): read back from JSON, a misspelt or unknown key is refused as in every record."""

WRITES_NON_FINITE = ConfigDict(ser_json_inf_nan="constants")
"""The config of a record holding values of any type (sample rows): NaN and Infinity among them
are written as `json.dumps` writes them, not as null (set on the record, not on its parts:
pydantic takes it from the model it dumps)."""


def as_written(value: Any) -> Any:
    """`value` as `json.dumps(value, default=str)` writes it, read back: the values a query
    returned (dates, decimals, bytes) become their text, as every such record has written them."""
    return json.loads(json.dumps(value, default=str))
