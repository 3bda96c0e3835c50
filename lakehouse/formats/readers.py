"""Readers: turn landed source files into one DuckDB view, `source_data`, of the declared format.

Text formats (CSV, Excel, JSON) keep every value as text, so nothing is lost to type guessing;
typing happens later, in a build's staging layer. Geo formats keep their geometry (as a DuckDB
GEOMETRY column named `geom`, written out as GeoParquet) and the attribute types GDAL reports.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.archive.template import (
    CsvFormat,
    ExcelFormat,
    FormatSpec,
    JsonFormat,
    ParquetFormat,
)
from lakehouse.errors import FormatError
from lakehouse.sql import sql_string

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SOURCE_VIEW = "source_data"
MAX_HEADER_LINES = 100
GEOMETRY_COLUMN_NAMES = ("geom", "geometry", "geom_wkb")  # the first one no attribute uses


def load_source(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: FormatSpec) -> None:
    """Create the view `source_data` over `files` read as `fmt`."""
    for path in files:
        if path.stat().st_size == 0:
            raise FormatError(f"Source file {path.name} is empty; check the source or its URL.")
    if isinstance(fmt, CsvFormat):
        _load_csv(con, files, fmt)
    elif isinstance(fmt, ParquetFormat):
        _load_parquet(con, files)
    else:
        con.register(SOURCE_VIEW, _read_to_arrow(files, fmt))


def _read_to_arrow(files: list[Path], fmt: FormatSpec) -> pa.Table:
    import pyarrow as pa

    if isinstance(fmt, ExcelFormat):
        tables = [_read_excel(path, fmt) for path in files]
    elif isinstance(fmt, JsonFormat):
        tables = [t for path in files if (t := _read_json_records(path, fmt)) is not None]
        if not tables:
            raise FormatError(
                f"{files[0].name if len(files) == 1 else 'The source'} holds no records; "
                "nothing was archived."
            )
    else:
        tables = [_read_geo(path, getattr(fmt, "layer", None)) for path in files]
    return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]


# -- CSV ---------------------------------------------------------------------------------------


def read_csv_header(path: Path, fmt: CsvFormat) -> list[str]:
    """Column names from the header row; blanks get DuckDB-style names, duplicates are refused."""
    try:
        header_text = _first_line(path, fmt.encoding)
    except UnicodeError as exc:
        raise FormatError(
            f"The header of {path.name} is not valid {fmt.encoding} text; set format.encoding "
            "in the template (utf-8, latin-1 or utf-16)."
        ) from exc
    try:
        header = next(csv.reader([header_text], delimiter=fmt.delimiter), None)
    except csv.Error as exc:
        raise FormatError(
            f"The header of {path.name} cannot be parsed as CSV ({exc}); check the file's "
            "line endings and quoting."
        ) from exc
    if not header:
        raise FormatError(f"Source file {path.name} has no header row; check the file.")
    return checked_column_names(header, path.name)


def checked_column_names(header: list[Any], file_name: str) -> list[str]:
    """Header names as text, blanks named `column<N>`; a repeated name is refused."""
    names = [
        str(name).strip() if name is not None and str(name).strip() else f"column{index}"
        for index, name in enumerate(header)
    ]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise FormatError(
            f"The header of {file_name} repeats column(s) {', '.join(duplicates)}; "
            "fix the header so every column has its own name."
        )
    return names


def _first_line(path: Path, encoding: str) -> str:
    """The header record only (decoding more would blame the body's encoding errors on it);
    a quoted header name may span lines."""
    if encoding == "utf-16":
        with open(path, encoding="utf-16", newline="") as handle:
            return handle.readline().rstrip("\r\n")
    text = ""
    with open(path, "rb") as handle:
        for _ in range(MAX_HEADER_LINES):
            line = handle.readline()
            text += line.decode("utf-8-sig" if encoding == "utf-8" and not text else encoding)
            if not line or text.count('"') % 2 == 0:
                break
    return text.rstrip("\r\n")


def _load_csv(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: CsvFormat) -> None:
    names = read_csv_header(files[0], fmt)
    for other in files[1:]:
        if read_csv_header(other, fmt) != names:
            raise FormatError(f"{other.name} has a different header from {files[0].name}.")
    columns = "{" + ", ".join(f"{sql_string(n)}: 'VARCHAR'" for n in names) + "}"
    paths = "[" + ", ".join(sql_string(str(p)) for p in files) + "]"
    con.execute(
        f"CREATE OR REPLACE VIEW {SOURCE_VIEW} AS SELECT * FROM read_csv({paths}, "
        f"columns={columns}, header=true, auto_detect=false, delim={sql_string(fmt.delimiter)}, "
        "quote='\"', escape='\"', strict_mode=true, null_padding=false, "
        f"allow_quoted_nulls=false, max_line_size={fmt.max_line_bytes}, "
        f"encoding={sql_string(fmt.encoding)})"
    )


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def explain_read_error(exc: Exception, files: list[Path]) -> FormatError:
    """Turn a DuckDB read error into one sentence a person can act on."""
    message = str(exc)
    name = files[0].name if len(files) == 1 else f"{len(files)} files"
    line = _LINE.search(message)
    where = f" on line {line.group(1)}" if line else ""
    if "Invalid unicode" in message or "byte sequence" in message:
        return FormatError(
            f"{name} is not valid text in the declared encoding{where}; set format.encoding "
            "in the template (utf-8, latin-1 or utf-16) or fix the file."
        )
    if counts := _COLUMNS.search(message):
        return FormatError(
            f"{name} has a row with {counts.group(2)} fields where the header has "
            f"{counts.group(1)}{where}; the file is ragged or truncated, fix it or re-download it."
        )
    if "unterminated quote" in message.lower():
        return FormatError(f"{name} has an unterminated quoted value{where}; fix the file.")
    if "maximum line size" in message.lower():
        return FormatError(
            f"{name} has a line longer than the maximum{where}; if such lines are real (large "
            "WKT geometries), raise format.max_line_bytes in the template, else check the "
            "file's line endings and quoting."
        )
    first_line = message.splitlines()[0] if message else exc.__class__.__name__
    return FormatError(f"Cannot read {name}{where}: {first_line}.")


# -- Parquet, Excel, JSON, geo -------------------------------------------------------------------


def _load_parquet(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    paths = "[" + ", ".join(sql_string(str(p)) for p in files) + "]"
    try:
        con.execute(f"CREATE OR REPLACE VIEW {SOURCE_VIEW} AS SELECT * FROM read_parquet({paths})")
    except Exception as exc:
        raise FormatError(f"{files[0].name} is not a readable Parquet file ({exc}).") from exc


def _read_excel(path: Path, fmt: ExcelFormat) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    try:
        sheet = pd.read_excel(path, sheet_name=fmt.sheet, dtype=str, header=None, engine="openpyxl")
    except ValueError as exc:
        raise FormatError(f"{path.name}: {exc}; set format.sheet to an existing sheet.") from exc
    except Exception as exc:
        raise FormatError(f"{path.name} is not a readable .xlsx workbook ({exc}).") from exc
    if sheet.empty:
        raise FormatError(f"The sheet {fmt.sheet!r} of {path.name} is empty; check format.sheet.")
    header = [None if pd.isna(value) else value for value in sheet.iloc[0]]
    names = checked_column_names(header, f"{path.name} (sheet {fmt.sheet!r})")
    rows = sheet.iloc[1:].astype(object)
    rows = rows.where(rows.notna(), None)
    return pa.table(
        {
            name: pa.array(rows[column].tolist(), pa.string())
            for name, column in zip(names, rows, strict=True)
        }
    )


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

    try:
        document = json.loads(path.read_bytes())
    except ValueError as exc:
        raise FormatError(f"{path.name} is not valid JSON ({exc}); check the file.") from exc
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


def _geo_path(path: Path) -> str:
    return f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)


def _read_geo(path: Path, layer: str | None) -> pa.Table:
    """Features with their geometry as WKB (tagged geoarrow.wkb, so DuckDB sees GEOMETRY)."""
    import pyarrow as pa
    from pyogrio.errors import DataLayerError, DataSourceError
    from pyogrio.raw import read_arrow

    try:
        meta, table = read_arrow(_geo_path(path), layer=layer)
    except (DataSourceError, DataLayerError) as exc:
        raise FormatError(f"{path.name} is not a readable geo file ({exc}).") from exc
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    if geometry_name not in table.column_names:
        return table
    taken = set(table.column_names) - {geometry_name}
    new_name = next(name for name in GEOMETRY_COLUMN_NAMES if name not in taken)
    fields = [
        field.with_name(new_name) if field.name == geometry_name else field
        for field in table.schema
    ]
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, table.schema.metadata))
