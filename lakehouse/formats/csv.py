"""CSV (and other delimited text): every value kept as text, the header checked, read by DuckDB.

A template's `format: {type: csv, delimiter: ",", encoding: utf-8}`, with `geometry:` when
columns hold one (see `geometry`); claims .csv and .txt.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from lakehouse.errors import FormatError
from lakehouse.formats import Format, FormatSpec
from lakehouse.formats.geometry import GeometryColumns, add_geometry, geometry_field, text_view
from lakehouse.formats.long_lines import MAX_LINE_BYTES
from lakehouse.formats.view import checked_column_names
from lakehouse.sql import sql_string

if TYPE_CHECKING:
    import duckdb

MAX_HEADER_LINES = 100


class CsvFormat(FormatSpec):
    type: Literal["csv"]
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: Literal["utf-8", "latin-1", "utf-16"] = "utf-8"
    # DuckDB's default; raise it for very long lines (WKT polygons), at some cost in speed
    max_line_bytes: int = Field(default=2_097_152, ge=1024, le=MAX_LINE_BYTES)
    geometry: GeometryColumns | None = geometry_field()


def read_csv_header(path: Path, fmt: CsvFormat) -> list[str]:
    """Column names from the header row; blanks get DuckDB-style names, duplicates are refused."""
    try:
        header_text = _first_line(path, fmt.encoding, fmt.max_line_bytes)
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


def count_csv_records(path: Path, chunk_bytes: int = 1 << 20) -> int:
    """How many records (the header among them) a CSV file holds: its line ends outside
    double-quoted values, plus a last record without one. For utf-8 and latin-1 files (a quote
    or a line end is then one byte that no other character contains); in C-speed passes."""
    records, quoted, last = 0, False, b""
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            pieces = chunk.split(b'"')
            records += b"".join(pieces[1 if quoted else 0 :: 2]).count(b"\n")
            quoted ^= len(pieces) % 2 == 0  # an odd number of quotes flips the state
            last = chunk[-1:]
    return records + (1 if last and last != b"\n" else 0)


def _first_line(path: Path, encoding: str, max_bytes: int) -> str:
    """The header record only (decoding more would blame the body's encoding errors on it);
    a quoted header name may span lines. At most `max_bytes` are read (a file of one long
    line is not read into memory): a longer header is refused."""
    if encoding == "utf-16":
        with open(path, encoding="utf-16", newline="") as handle:
            text = handle.readline(max_bytes // 2 + 1)  # characters of two bytes (or four)
        if len(text) > max_bytes // 2 and not text.endswith("\n"):
            raise _header_too_long(path, max_bytes)
        return text.rstrip("\r\n")
    raw = b""
    with open(path, "rb") as handle:
        for _ in range(MAX_HEADER_LINES):
            line = handle.readline(max_bytes + 1 - len(raw))
            raw += line
            if len(raw) > max_bytes:
                raise _header_too_long(path, max_bytes)
            if not line or raw.count(b'"') % 2 == 0:
                break
    return raw.decode("utf-8-sig" if encoding == "utf-8" else encoding).rstrip("\r\n")


def _header_too_long(path: Path, max_bytes: int) -> FormatError:
    return FormatError(
        f"The header of {path.name} is longer than {max_bytes:,} bytes (format.max_line_bytes); "
        "if it really is, raise format.max_line_bytes in the template, else check that the file "
        "is CSV and its line endings."
    )


def load(con: duckdb.DuckDBPyConnection, files: list[Path], fmt: CsvFormat) -> None:
    """A view that reads the files strictly (every file with the first one's header); DuckDB
    reads them only when the view is queried (its errors: `view.explain_read_error`)."""
    names = read_csv_header(files[0], fmt)
    for other in files[1:]:
        if read_csv_header(other, fmt) != names:
            raise FormatError(f"{other.name} has a different header from {files[0].name}.")
    columns = "{" + ", ".join(f"{sql_string(n)}: 'VARCHAR'" for n in names) + "}"
    paths = "[" + ", ".join(sql_string(str(p)) for p in files) + "]"
    con.execute(
        f"CREATE OR REPLACE VIEW {text_view(fmt.geometry)} AS SELECT * FROM read_csv({paths}, "
        f"columns={columns}, header=true, auto_detect=false, delim={sql_string(fmt.delimiter)}, "
        "quote='\"', escape='\"', strict_mode=true, null_padding=false, "
        f"allow_quoted_nulls=false, max_line_size={fmt.max_line_bytes}, "
        f"encoding={sql_string(fmt.encoding)})"
    )
    add_geometry(con, fmt.geometry, files)


FORMAT = Format(name="csv", spec=CsvFormat, load=load, suffixes=(".csv", ".txt"))
