"""CSV: every value kept as text, the header checked, DuckDB's read errors explained. Each through
a real ingest."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import FormatError
from lakehouse.project import Lakehouse
from tests.conftest import realdata, write_template


@pytest.mark.realdata
def test_real_wkt_csv_stays_text(lake: Lakehouse) -> None:
    manifest = lake.ingest("counties", file=realdata("census_counties_nyc.csv")).manifest
    assert manifest.row_count == 5
    assert {c.type for c in manifest.columns} == {"VARCHAR"}


def test_a_quoted_header_name_may_span_lines(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text('id,"Owner\nName"\n1,A\n')
    manifest = lake.ingest("h", file=path).manifest
    assert [c.name for c in manifest.columns] == ["id", "Owner\nName"]
    assert manifest.row_count == 1


def test_utf16_without_bom_and_cr_only_lines_are_clear_errors(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"a,b\r1,2\r")
    write_template(
        project_dir, "u", f"name: u\nsource: {{type: file, path: {path}}}\nformat: {{type: csv}}\n"
    )
    with pytest.raises(FormatError):
        lake.ingest("u")
    path.write_bytes(b"\xff")
    write_template(
        project_dir,
        "u",
        f"name: u\nsource: {{type: file, path: {path}}}\nformat: {{type: csv, encoding: utf-16}}\n",
    )
    with pytest.raises(FormatError, match="not valid utf-16"):
        lake.ingest("u")


def test_a_quoted_empty_string_is_kept_apart_from_an_empty_field(
    lake: Lakehouse, tmp_path: Path
) -> None:
    path = tmp_path / "q.csv"
    path.write_text('a,b\n"",\n')
    lake.ingest("q", file=path)
    assert lake.read("q").to_pydict() == {"a": [""], "b": [None]}


def test_very_long_lines_need_max_line_bytes(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wkt.csv"
    polygon = "POLYGON((" + ", ".join(f"{i} {i}" for i in range(300_000)) + "))"
    path.write_text(f'name,wkt\nbig,"{polygon}"\n')
    text = f"name: wkt\nsource: {{type: file, path: {path}}}\nformat: {{type: csv"
    write_template(project_dir, "wkt", text + "}\n")
    with pytest.raises(FormatError, match=r"raise format\.max_line_bytes"):
        lake.ingest("wkt")
    write_template(project_dir, "wkt", text + ", max_line_bytes: 10000000}\n")
    lake.ingest("wkt")
    assert lake.read("wkt").column("wkt").to_pylist() == [polygon]
    assert lake.versions("wkt")[0].row_count == 1


@pytest.mark.parametrize(
    ("header", "said"),
    [
        (b"a,A\n1,2\n", r"repeats column\(s\) A, a \(names that differ only in case"),
        (b"a\0b,c\n1,2\n", r"has a NUL character in column name\(s\) 'a\\x00b'"),
    ],
)
def test_a_header_sql_cannot_take_is_refused_in_one_sentence(
    lake: Lakehouse, tmp_path: Path, header: bytes, said: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(header)
    with pytest.raises(FormatError, match=said):
        lake.ingest("bad", file=source)
    assert lake.datasets() == []


# issue 13: a line longer than DuckDB's read buffer (32 MB, whatever max_line_bytes says) made
# DuckDB say something else ("does not support a full read", an unterminated quote on the wrong
# line); the error must name the line, its size and the template option, as for shorter ones.

LONG = 40_000_000  # longer than DuckDB's CSV read buffer


def _long_line_file(path: Path, quoted: bool) -> None:
    with open(path, "wb") as out:
        out.write(b"a,b\n" + b"1,2\n" * 1000)  # the long record is line 1002
        if quoted:  # a value with line breaks in it: one record of many short lines
            out.write(b'"' + b"x\n" * (LONG // 2) + b'",3\n')
        else:
            out.write(b"x" * LONG + b",3\n")
        out.write(b"4,5\n" * 10)


@pytest.mark.parametrize("quoted", [False, True], ids=["one line", "quoted line breaks"])
def test_a_line_longer_than_the_read_buffer_names_the_line_and_max_line_bytes(
    lake: Lakehouse, project_dir: Path, tmp_path: Path, quoted: bool
) -> None:
    path = tmp_path / "long.csv"
    _long_line_file(path, quoted)
    write_template(
        project_dir,
        "long",
        f"name: long\nsource: {{type: file, path: {path}}}\n"
        "format: {type: csv, max_line_bytes: 1024}\n",
    )
    size = f"{LONG + (4 if quoted else 2):,}"
    with pytest.raises(FormatError) as raised:
        lake.ingest("long")
    message = str(raised.value)
    assert f"long.csv has a line of {size} bytes (line 1002)" in message
    assert f"raise format.max_line_bytes in the template above {size}" in message
    assert "full read" not in message and "unterminated" not in message
    assert lake.datasets() == []


def test_a_line_over_max_line_bytes_says_how_long_it_is(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"a,b\n1,2\n" + b"x" * 5000 + b",3\n")
    write_template(
        project_dir,
        "long",
        f"name: long\nsource: {{type: file, path: {path}}}\n"
        "format: {type: csv, max_line_bytes: 1024}\n",
    )
    with pytest.raises(
        FormatError,
        match=r"a line of 5,002 bytes \(line 3\).*format\.max_line_bytes in the template above",
    ):
        lake.ingest("long")


def test_an_unterminated_quote_is_still_called_so(lake: Lakehouse, tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_bytes(b"a,b\n1,2\n" + b'"3,4\n' * 20_000)
    with pytest.raises(FormatError, match="unterminated quoted value"):
        lake.ingest("open", file=path)


def test_a_header_longer_than_max_line_bytes_is_refused_unread(
    lake: Lakehouse, project_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(b",".join(b"column_%d" % i for i in range(1000)) + b"\n" + b"1\n")
    write_template(
        project_dir,
        "wide",
        f"name: wide\nsource: {{type: file, path: {path}}}\n"
        "format: {type: csv, max_line_bytes: 1024}\n",
    )
    with pytest.raises(
        FormatError, match=r"The header of wide\.csv is longer than 1,024 bytes .*max_line_bytes"
    ):
        lake.ingest("wide")


def _longest_by_hand(data: bytes) -> tuple[int, int, int | None]:
    """The longest record of CSV bytes, a byte at a time (the reference for the chunked scan)."""
    records, current, quoted, opened = [], b"", False, 1
    for byte in data:
        if byte == ord("\n") and not quoted:
            records.append(current)
            current = b""
            continue
        if byte == ord('"'):
            quoted = not quoted
            opened = len(records) + 1
        current += bytes([byte])
    if current:
        records.append(current)
    sizes = [len(r) for r in records] or [0]
    longest = max(range(len(sizes)), key=lambda i: (sizes[i], -i))
    return longest + 1, sizes[longest], opened if quoted else None


@pytest.mark.parametrize("seed", range(20))
def test_the_longest_record_is_found_across_chunk_boundaries(tmp_path: Path, seed: int) -> None:
    import random

    from lakehouse.formats.long_lines import longest_record

    rng = random.Random(seed)
    data = bytes(rng.choice(b'ab,"\n\r') for _ in range(rng.randrange(0, 400)))
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    for chunk in (1, 3, 7, 64, 1 << 20):
        found = longest_record(path, chunk_bytes=chunk)
        assert (found.line, found.size, found.open_quote_line) == _longest_by_hand(data)
