"""Long CSV lines: finding a file's longest record without reading it into memory, and the
sentence that names it.

DuckDB reads a CSV in buffers of at least `READ_BUFFER_BYTES` (16 times `max_line_size` when
that is more). A record longer than `max_line_size` but within a buffer gets DuckDB's own
"Maximum line size ... exceeded" (explained by `view.explain_read_error`); a record longer than
a buffer gets something else: "does not support a full read", an unterminated quote, a row
with too few fields. `longest_record` finds the record such an error is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_LINE_BYTES = 1_000_000_000  # the most a template's format.max_line_bytes may say
READ_BUFFER_BYTES = 32_000_000  # DuckDB's smallest CSV read buffer (measured with 1.5.5)
SCAN_CHUNK_BYTES = 4 * 1024 * 1024  # what the scan holds at once (with ~6x that in arrays)

QUOTE, LINE_END = 0x22, 0x0A


@dataclass(frozen=True)
class LongestRecord:
    """A CSV file's longest record, as DuckDB counts lines: the header is line 1, and a quoted
    value's line breaks do not start a new one."""

    line: int
    size: int  # its bytes, without its line end
    open_quote_line: int | None  # the file ends inside a quoted value opened on this line


def longest_record(path: Path, chunk_bytes: int = SCAN_CHUNK_BYTES) -> LongestRecord:
    """The longest record of a CSV file (utf-8 or latin-1, `"` quoting, doubled to escape),
    found in one pass of `chunk_bytes` at a time, so memory stays bounded whatever the file."""
    import numpy as np

    quoted = False  # whether the chunk starts inside a quoted value
    line, start, offset = 1, 0, 0  # the current record's line and first byte; bytes read
    best_size, best_line = -1, 1
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            data = np.frombuffer(chunk, dtype=np.uint8)
            quotes = np.cumsum(data == QUOTE, dtype=np.int64)
            outside = (quotes & 1) == (1 if quoted else 0)
            ends = np.flatnonzero((data == LINE_END) & outside) + offset
            if ends.size:
                starts = np.empty_like(ends)
                starts[0] = start
                starts[1:] = ends[:-1] + 1
                sizes = ends - starts
                index = int(np.argmax(sizes))
                if sizes[index] > best_size:
                    best_size, best_line = int(sizes[index]), line + index
                line += int(ends.size)
                start = int(ends[-1]) + 1
            quoted ^= bool(quotes[-1] & 1)
            offset += len(chunk)
    if offset > start and offset - start > best_size:  # a last record without a line end
        best_size, best_line = offset - start, line
    return LongestRecord(best_line, max(best_size, 0), line if quoted else None)


def long_line_message(name: str, line: int | None, size: int | None) -> str:
    """One sentence: the file has a line too long for format.max_line_bytes; what to do."""
    where = f" (line {line})" if line is not None else ""
    if size is None:
        return (
            f"{name} has a line longer than format.max_line_bytes allows{where}; if such lines "
            "are real (large WKT geometries), raise format.max_line_bytes in the template, else "
            "check the file's line endings and quoting."
        )
    if size >= MAX_LINE_BYTES:
        return (
            f"{name} has a line of {size:,} bytes{where}, more than format.max_line_bytes can "
            f"allow (at most {MAX_LINE_BYTES:,}); check the file's line endings and quoting, "
            "or split such values."
        )
    return (
        f"{name} has a line of {size:,} bytes{where}, longer than format.max_line_bytes allows; "
        f"if such lines are real (large WKT geometries), raise format.max_line_bytes in the "
        f"template above {size:,}, else check the file's line endings and quoting."
    )
