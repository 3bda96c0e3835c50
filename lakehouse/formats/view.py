"""The view every format creates, `source_data`, and what the formats share in making it:
header names checked the same way, Arrow tables registered as the view, and DuckDB's read
errors explained in one sentence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.errors import FormatError, first_line
from lakehouse.formats.long_lines import READ_BUFFER_BYTES, long_line_message, longest_record

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SOURCE_VIEW = "source_data"


def register_tables(
    con: duckdb.DuckDBPyConnection, tables: list[pa.Table], name: str = SOURCE_VIEW
) -> None:
    """Make `source_data` (or the view `name`) the rows of `tables` (one per file, in order;
    their columns united)."""
    import pyarrow as pa

    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    con.register(name, table)


def checked_column_names(header: list[Any], file_name: str) -> list[str]:
    """Header names as text, blanks named `column<N>`; a repeated name is refused, and so are
    two that differ only in case (SQL names ignore case: `a` and `A` are one column) and a
    name with a NUL character."""
    names = [
        str(name).strip() if name is not None and str(name).strip() else f"column{index}"
        for index, name in enumerate(header)
    ]
    with_nul = [name for name in names if "\0" in name]
    if with_nul:
        shown = ", ".join(repr(name) for name in with_nul)
        raise FormatError(
            f"The header of {file_name} has a NUL character in column name(s) {shown}; "
            "the file is probably not text of this encoding: check it."
        )
    folded = [name.casefold() for name in names]
    duplicates = sorted(
        {name for name, key in zip(names, folded, strict=True) if folded.count(key) > 1}
    )
    if duplicates:
        raise FormatError(
            f"The header of {file_name} repeats column(s) {', '.join(duplicates)} (names that "
            "differ only in case are one column in SQL); fix the header so every column has "
            "its own name."
        )
    return names


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_ACTUAL_SIZE = re.compile(r"Actual Size: ?(\d+) bytes")
_CSV_READER = ("CSV Error", "CSV Reader")  # in DuckDB's CSV reader's errors


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
    if "maximum line size" in message.lower():
        size = _ACTUAL_SIZE.search(message)
        return FormatError(
            long_line_message(
                name, int(line.group(1)) if line else None, int(size.group(1)) if size else None
            )
        )
    if any(mark in message for mark in _CSV_READER):
        found = _longer_than_a_read_buffer(files, int(line.group(1)) if line else None)
        if found is not None:
            return found
    if counts := _COLUMNS.search(message):
        return FormatError(
            f"{name} has a row with {counts.group(2)} fields where the header has "
            f"{counts.group(1)}{where}; the file is ragged or truncated, fix it or re-download it."
        )
    if "unterminated quote" in message.lower():
        return FormatError(f"{name} has an unterminated quoted value{where}; fix the file.")
    return FormatError(f"Cannot read {name}{where}: {first_line(exc)}.")


def _longer_than_a_read_buffer(files: list[Path], line: int | None) -> FormatError | None:
    """The error DuckDB should have given when a CSV record is longer than its read buffer
    (it then reports a failed "full read", an unterminated quote or a short row instead), or
    when the file ends inside a quoted value; None when neither is so. Each file is scanned in
    bounded chunks, only once the read has failed."""
    for path in files:
        if not path.is_file() or path.stat().st_size <= READ_BUFFER_BYTES:
            continue
        longest = longest_record(path)
        if longest.size > READ_BUFFER_BYTES and line in (None, longest.line):
            return FormatError(long_line_message(path.name, longest.line, longest.size))
        if longest.open_quote_line is not None and line is None:
            return FormatError(
                f"{path.name} has an unterminated quoted value (opened on line "
                f"{longest.open_quote_line}); fix the file."
            )
    return None
