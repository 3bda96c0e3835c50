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
