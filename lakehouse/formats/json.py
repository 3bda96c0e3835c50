"""JSON documents holding a list of records (an API's pages): every value kept as text
(nested values as compact JSON), the columns the union of the records' keys.

A template's `format: {type: json, records_path: [data, rows]}` (the keys leading to the list,
if nested), with `geometry:` when columns hold one (see `geometry`); claims .json. A file is
parsed whole, in memory (several times its size), so one larger than `max_file_bytes` (default
`MAX_JSON_FILE_BYTES`, 256 MiB) is refused before it is read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from lakehouse.errors import FormatError
from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.geometry import GeometryColumns, add_geometry, geometry_field, text_view
from lakehouse.formats.view import register_tables

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

MAX_JSON_FILE_BYTES = 256 * 1024 * 1024


def _is(default: int) -> Callable[[int], bool]:
    return lambda value: value == default


class JsonFormat(FormatSpec):
    type: Literal["json"]
    records_path: list[str] = Field(
        default_factory=list, description="keys leading to the list of records, if nested"
    )
    geometry: GeometryColumns | None = geometry_field()
    max_file_bytes: int = Field(
        default=MAX_JSON_FILE_BYTES,
        gt=0,
        description="the largest file read (each is parsed whole, in memory)",
        exclude_if=_is(MAX_JSON_FILE_BYTES),
    )


def json_error(exc: Exception) -> tuple[str, bool]:
    """What a failed `json.loads` says about a document: the words that follow "JSON" in a
    sentence about it, and whether it is in fact not valid JSON ("<name> is not valid JSON
    (<words>)"); a number of too many digits (Python takes at most 4,300) or arrays nested too
    deep are JSON that cannot be taken, not invalid JSON ("<name> is JSON <words>")."""
    if isinstance(exc, json.JSONDecodeError):
        return f"({exc.msg}: line {exc.lineno} column {exc.colno})", True
    if isinstance(exc, UnicodeDecodeError):
        return f"(not UTF-8 text: {exc.reason} at byte {exc.start:,})", True
    if isinstance(exc, RecursionError):
        return "that nests arrays or objects too deeply to be data", False
    if "integer string conversion" in str(exc):
        digits = sys.get_int_max_str_digits()
        return f"with a number of more than {digits:,} digits, which no data has", False
    return f"that cannot be read ({exc})", False


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: JsonFormat) -> None:
    tables = [t for path in files if (t := _read_json_records(path, fmt)) is not None]
    if not tables:
        raise FormatError(
            f"{files[0].name if len(files) == 1 else 'The source'} holds no records; "
            "nothing was archived."
        )
    register_tables(con, tables, text_view(fmt.geometry))
    add_geometry(con, fmt.geometry, files)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _read_json_records(path: Path, fmt: JsonFormat) -> pa.Table | None:
    import pyarrow as pa

    size = path.stat().st_size
    if size > fmt.max_file_bytes:
        raise FormatError(
            f"{path.name} is {size:,} bytes of JSON, more than the {fmt.max_file_bytes:,} read "
            "into memory at once (format.max_file_bytes); if there is memory for it, raise "
            "format.max_file_bytes in the template, else get the data in smaller files (pages) "
            "or as CSV."
        )
    try:
        document = json.loads(path.read_bytes())
    except RecursionError as exc:
        raise FormatError(
            f"{path.name} nests arrays or objects too deeply to be records; check the file."
        ) from exc
    except ValueError as exc:
        words, invalid = json_error(exc)
        said = "is not valid JSON" if invalid else "is JSON"
        raise FormatError(f"{path.name} {said} {words}; check the file.") from exc
    for key in fmt.records_path:
        if not isinstance(document, dict) or key not in document:
            raise FormatError(
                f"{path.name} has no key {key!r} on the records_path {fmt.records_path}."
            )
        document = document[key]
    if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
        raise FormatError(
            f"{path.name} is not a list of records; set format.records_path to where the list is."
        )
    names: dict[str, None] = {}
    for record in document:
        names.update(dict.fromkeys(record))
    if not names:  # an empty page, e.g. the last page of an API listing
        return None
    columns = {name: [_as_text(r.get(name)) for r in document] for name in names}
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


FORMAT = Format(name="json", spec=JsonFormat, load=load, suffixes=(".json",))
