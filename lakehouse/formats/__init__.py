"""Formats: reading landed source files into DuckDB, as one view, `source_data`, that the
archive's steps then select from. Each format is one module that owns the typed spec of the
template's `format:` (its `type` and settings), the `load` that creates the view, and the file
suffixes it claims (for `lake ingest <dataset> --file <path>` without a template); `FORMATS`
finds them by `type`.

Built in: csv, excel, json, geojson, shapefile, filegdb, parquet. Text formats (CSV, Excel,
JSON) keep every value as text, so nothing is lost to type guessing (typing happens later, in a
build's staging layer), and can make a geometry from their columns (`geometry`: WKT, WKB or
x/y, with the template's CRS); Parquet and the geo formats keep their types and their
geometry.

Adding one, e.g. Arrow IPC files, in a package `lakehouse_arrow` (or as a module here, named
in `FORMATS` below instead):

    from pathlib import Path
    from typing import Literal

    import pyarrow as pa
    import pyarrow.feather as feather

    from lakehouse.errors import FormatError
    from lakehouse.formats import Format, FormatSpec
    from lakehouse.formats.view import register_tables


    class ArrowFormat(FormatSpec):
        # the template's `format:`; validated when the template is read, and a misspelt or
        # unknown field is an error that names the template file and the field
        type: Literal["arrow"]


    def load(con, files: list[Path], fmt: ArrowFormat) -> None:
        # make the view `source_data` (view.SOURCE_VIEW) over the files, in order, on the
        # DuckDB connection `con`: with SQL (CREATE VIEW source_data AS SELECT ... FROM
        # read_...(...)), or from Arrow tables with register_tables. A file that cannot be
        # read is a FormatError with a one-sentence fix; empty files never get here.
        try:
            tables = [feather.read_table(path) for path in files]
        except (OSError, pa.ArrowInvalid) as exc:
            raise FormatError(f"Cannot read {files[0].name} as Arrow IPC ({exc}).") from exc
        register_tables(con, tables)


    FORMAT = Format(name="arrow", spec=ArrowFormat, load=load, suffixes=(".arrow", ".feather"))

and in the package's pyproject.toml (the entry point group `lakehouse.formats`):

    [project.entry-points."lakehouse.formats"]
    arrow = "lakehouse_arrow:FORMAT"     # the Format; its name must be "arrow"

A template can then say `format: {type: arrow}`, and `lake ingest lots --file lots.arrow`
needs no template (a test or notebook can instead call `FORMATS.register(FORMAT)`, and
`FORMATS.unregister("arrow")` after). Its tests go in tests/formats/test_arrow.py (every
built-in format has its own test module there). A format that claims suffixes needs a default
for every field of its spec but `type`; a suffix that two formats claim goes to the first
(the built-ins first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import SerializeAsAny, WrapValidator

from lakehouse.errors import ConfigError, FormatError
from lakehouse.records import Strict
from lakehouse.registry import Registry, spec_validator

if TYPE_CHECKING:
    import duckdb


class FormatSpec(Strict):
    """The base of every format's spec: the template's `format:` mapping, whose `type` names
    the format."""

    type: str


Load = Callable[["duckdb.DuckDBPyConnection", list[Path], Any], None]
"""`load(con, files, spec)`: create the view `source_data` over `files` read as `spec`."""


@dataclass(frozen=True)
class Format:
    """A format, as registered in `FORMATS` (see the package's docstring)."""

    name: str  # the template's `format.type`
    spec: type[FormatSpec]  # the model of the template's `format:`, its `type` Literal[name]
    load: Load
    suffixes: tuple[str, ...] = ()  # lower case, with the dot: (".csv", ".txt"), or two: ".gdb.zip"


FORMATS = Registry[Format](
    "format",
    {
        "csv": "lakehouse.formats.csv:FORMAT",
        "excel": "lakehouse.formats.excel:FORMAT",
        "json": "lakehouse.formats.json:FORMAT",
        "geojson": "lakehouse.formats.geojson:FORMAT",
        "shapefile": "lakehouse.formats.shapefile:FORMAT",
        "filegdb": "lakehouse.formats.filegdb:FORMAT",
        "parquet": "lakehouse.formats.parquet:FORMAT",
    },
)
"""Every format by name: the built-ins, those of the entry point group `lakehouse.formats`,
and those registered at run time."""

FormatField = Annotated[
    SerializeAsAny[FormatSpec], WrapValidator(spec_validator(FORMATS, FormatSpec))
]
"""A template's `format:`: validated as the spec of the format its `type` names."""


def load_source(con: duckdb.DuckDBPyConnection, files: list[Path], spec: FormatSpec) -> None:
    """Create the view `source_data` over `files` read as `spec`, by the format it names."""
    for path in files:
        if path.stat().st_size == 0:
            raise FormatError(f"Source file {path.name} is empty; check the source or its URL.")
    FORMATS.get(spec.type).load(con, files, spec)


def format_for_file(path: Path) -> FormatSpec | None:
    """The default spec of the first format that claims the file's last two suffixes
    (".gdb.zip"), else of the first that claims its last one (".zip"), if any."""
    candidates = ["".join(path.suffixes[-2:])] if len(path.suffixes) > 1 else []
    unloadable: list[ConfigError] = []
    for suffix in [*candidates, path.suffix]:
        found = _first_claiming(suffix, unloadable)
        if found is not None:
            return found
    if unloadable:  # it may have been the one that claims the suffix
        raise unloadable[0]
    return None


def format_for_suffix(suffix: str) -> FormatSpec | None:
    """The default spec of the first format that claims the file suffix (".csv"), if any (the
    formats are loaded in order until one claims it)."""
    unloadable: list[ConfigError] = []
    found = _first_claiming(suffix, unloadable)
    if found is None and unloadable:  # it may have been the one that claims the suffix
        raise unloadable[0]
    return found


def _first_claiming(suffix: str, unloadable: list[ConfigError]) -> FormatSpec | None:
    """The default spec of the first format that claims `suffix`; the formats that cannot be
    loaded are added to `unloadable` (a broken plugin must not hide the formats that work)."""
    for name in FORMATS.names():
        try:
            member = FORMATS.get(name)
        except ConfigError as exc:
            unloadable.append(exc)
            continue
        if suffix.lower() in member.suffixes:
            return member.spec.model_validate({"type": member.name})
    return None


__all__ = [
    "FORMATS",
    "Format",
    "FormatField",
    "FormatSpec",
    "Load",
    "format_for_file",
    "format_for_suffix",
    "load_source",
]
